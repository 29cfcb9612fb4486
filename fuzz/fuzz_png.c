/* Fuzz target: the PNG reader (libpng underneath, segloss's own checks and
 * grey-in-disguise compaction on top).
 *
 * Input: the bytes of a PNG file. Properties checked:
 *  - segloss_png_read_mem with a 64 MiB cap returns a status; on error the
 *    message is set and the image is cleared (data NULL, spacing 1); on
 *    success the array is (rows, cols) of uint8 or uint16, numel matches;
 *  - the dispatcher (segloss_image_read_mem) and the file reader
 *    (segloss_image_read on a .png path) give the same status and pixels;
 *  - the cap is honoured: max_bytes below the output size is
 *    SEGLOSS_ERR_LIMIT (the cap counts all decoded channels, at least the
 *    output). */
#include "fuzz.h"

#include <segloss.h>

#include <string.h>

static void check_cleared(segloss_status st, const segloss_image *img, const char *err) {
    FUZZ_CHECK(st != SEGLOSS_OK);
    FUZZ_CHECK_MSG(err[0] != '\0', "status %d without a message", (int)st);
    FUZZ_CHECK(img->array.data == NULL && img->has_spacing == 0);
    for (int k = 0; k < SEGLOSS_MAX_DIMS; k++) FUZZ_CHECK(img->spacing[k] == 1.0);
}

static size_t image_bytes(const segloss_image *img) {
    return (size_t)img->array.numel * segloss_dtype_size(img->array.dtype);
}

static int same_image(const segloss_image *a, const segloss_image *b) {
    if (a->array.dtype != b->array.dtype || a->array.numel != b->array.numel ||
        a->array.shape.ndim != b->array.shape.ndim || a->has_spacing != b->has_spacing)
        return 0;
    for (int k = 0; k < a->array.shape.ndim; k++)
        if (a->array.shape.dim[k] != b->array.shape.dim[k] || a->spacing[k] != b->spacing[k])
            return 0;
    size_t n = image_bytes(a);
    return n == 0 || memcmp(a->array.data, b->array.data, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256], err2[256];
    segloss_image img, img2;
    segloss_status st = segloss_png_read_mem(&img, data, size, FUZZ_MAX_BYTES, err, sizeof err);
    /* Below a 64 MiB cap, running out of memory means an allocation the
     * cap did not bound (replay_main.c limits memory to 1 GiB). */
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "out of memory below a %zu-byte cap: %s",
                   FUZZ_MAX_BYTES, err);
    if (st != SEGLOSS_OK) {
        check_cleared(st, &img, err);
    } else {
        const segloss_npy *a = &img.array;
        FUZZ_CHECK(a->data != NULL);
        FUZZ_CHECK(a->dtype == SEGLOSS_U8 || a->dtype == SEGLOSS_U16);
        FUZZ_CHECK(a->shape.ndim == 2 && a->shape.dim[0] >= 1 && a->shape.dim[1] >= 1);
        FUZZ_CHECK(a->numel == a->shape.dim[0] * a->shape.dim[1]);
        FUZZ_CHECK(image_bytes(&img) <= FUZZ_MAX_BYTES);
        FUZZ_CHECK(img.has_spacing == 0);
    }

    /* Same bytes through the dispatcher and through a file. */
    segloss_status st2 = segloss_image_read_mem(&img2, SEGLOSS_IMAGE_PNG, data, size,
                                                FUZZ_MAX_BYTES, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == st, "png_read_mem %d, image_read_mem %d", (int)st, (int)st2);
    FUZZ_CHECK(st != SEGLOSS_OK || same_image(&img, &img2));
    segloss_image_free(&img2);
    char path[4096];
    fuzz_tmp_path(path, sizeof path, "in.png");
    FUZZ_CHECK(fuzz_write_file(path, data, size) == 0);
    st2 = segloss_image_read(&img2, path, FUZZ_MAX_BYTES, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == st, "memory reader: %d (%s), file reader: %d (%s)", (int)st, err,
                   (int)st2, err2);
    if (st != SEGLOSS_OK) {
        check_cleared(st2, &img2, err2);
        return 0;
    }
    FUZZ_CHECK(same_image(&img, &img2));
    segloss_image_free(&img2);

    size_t bytes = image_bytes(&img);
    if (bytes > 1) {
        st2 = segloss_png_read_mem(&img2, data, size, bytes - 1, err2, sizeof err2);
        FUZZ_CHECK_MSG(st2 == SEGLOSS_ERR_LIMIT, "cap %zu below %zu output bytes: status %d",
                       bytes - 1, bytes, (int)st2);
        check_cleared(st2, &img2, err2);
    }
    segloss_image_free(&img);
    return 0;
}
