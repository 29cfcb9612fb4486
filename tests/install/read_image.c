/* A user of libsegloss_io, built against an installed segloss by
 * `make install-check` (pkg-config segloss-io and CMake segloss::segloss_io):
 * reads an image and prints "PATH: DTYPE D0xD1...". */
#include <segloss.h>

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: read_image PATH\n");
        return 1;
    }
    char err[256] = "";
    segloss_image img;
    segloss_status st = segloss_image_read(&img, argv[1], 0, err, sizeof err);
    if (st != SEGLOSS_OK) {
        fprintf(stderr, "%s: %s (%s)\n", argv[1], err, segloss_strerror(st));
        return 2;
    }
    printf("%s: %s ", argv[1], segloss_dtype_name(img.array.dtype));
    for (int d = 0; d < img.array.shape.ndim; d++)
        printf("%s%lld", d ? "x" : "", (long long)img.array.shape.dim[d]);
    printf("\n");
    segloss_image_free(&img);
    return 0;
}
