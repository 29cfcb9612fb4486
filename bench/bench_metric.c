/* Benchmark of the label-map metrics on a realistic synthetic 3-D volume.
 *
 * Build (from the repository root, after `make`):
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -fopenmp -DSEGLOSS_OPENMP=1 \
 *      -Iinclude -Isrc bench/bench_metric.c build/libsegloss.a -lm -fopenmp \
 *      -o build/bench_metric
 * Run:
 *   build/bench_metric [OUTDIR [REPEATS]]      (OUTDIR "" writes nothing)
 * The volume is 180x220x180 (axis 0 first), spacing (1.2, 0.9, 0.9): a
 * reference label map with ellipsoids of labels 1..120 drawn in random order
 * (they overlap and cut each other), and a prediction drawn from the same
 * ellipsoids with perturbed centres and radii. It times the label scan and
 * dice + hd95 + assd (+ hd, nsd, computed from the same transforms) over all
 * labels, single-threaded and with all threads, and prints seconds. With
 * OUTDIR it also writes OUTDIR/pred.npy, OUTDIR/ref.npy (int32) and
 * OUTDIR/segloss.txt (label dice hd95 assd hd, %.17g) for bench/metric_ref.py.
 */
#include <segloss.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define D0 180
#define D1 220
#define D2 180
#define NLAB 120

static uint64_t rng = 0x1234567887654321ULL;
static double unit(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct blob {
    double c[3], r[3];
    int32_t label;
} blob;

static void draw(int32_t *v, const blob *b) {
    int64_t lo[3], hi[3], dims[3] = {D0, D1, D2};
    for (int a = 0; a < 3; a++) {
        lo[a] = (int64_t)floor(b->c[a] - b->r[a]);
        hi[a] = (int64_t)ceil(b->c[a] + b->r[a]) + 1;
        if (lo[a] < 0) lo[a] = 0;
        if (hi[a] > dims[a]) hi[a] = dims[a];
    }
    for (int64_t i = lo[0]; i < hi[0]; i++)
        for (int64_t j = lo[1]; j < hi[1]; j++)
            for (int64_t k = lo[2]; k < hi[2]; k++) {
                double x = ((double)i - b->c[0]) / b->r[0], y = ((double)j - b->c[1]) / b->r[1],
                       z = ((double)k - b->c[2]) / b->r[2];
                if (x * x + y * y + z * z <= 1.0) v[(i * D1 + j) * D2 + k] = b->label;
            }
}

static int write_npy(const char *path, const int32_t *v) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<i4', 'fortran_order': False, 'shape': (%d, %d, %d), }", D0,
                     D1, D2);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xFF, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t w = fwrite(v, sizeof *v, (size_t)D0 * D1 * D2, f);
    return fclose(f) == 0 && w == (size_t)D0 * D1 * D2 ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *outdir = argc > 1 && argv[1][0] ? argv[1] : NULL; /* "" = none */
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    if (repeats < 1) repeats = 1;
    const int64_t n = (int64_t)D0 * D1 * D2;
    int32_t *ref = calloc((size_t)n, sizeof *ref), *pred = calloc((size_t)n, sizeof *pred);
    if (!ref || !pred) return 3;
    for (int l = 0; l < NLAB; l++) {
        blob b, p;
        b.label = p.label = 1 + l;
        b.c[0] = unit() * D0;
        b.c[1] = unit() * D1;
        b.c[2] = unit() * D2;
        double rs = 6.0 + 30.0 * unit() * unit();
        for (int a = 0; a < 3; a++) {
            b.r[a] = rs * (0.6 + 0.8 * unit());
            p.c[a] = b.c[a] + (unit() - 0.5) * 4.0;
            p.r[a] = b.r[a] * (0.85 + 0.3 * unit());
        }
        draw(ref, &b);
        draw(pred, &p);
    }

    segloss_shape shape = {3, {D0, D1, D2}};
    segloss_label_array pa = {pred, SEGLOSS_I32}, ra = {ref, SEGLOSS_I32};
    segloss_metric_opts o = {0};
    o.spacing[0] = 1.2;
    o.spacing[1] = 0.9;
    o.spacing[2] = 0.9;
    o.distances = 1;

    segloss_label_set set;
    segloss_label_metrics *m = NULL;
    double best_scan = 1e30, best1 = 1e30, bestn = 1e30;
    int nthreads = segloss_get_num_threads();
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        if (segloss_label_scan(&set, &pa, &ra, &shape) != SEGLOSS_OK) return 3;
        double t1 = now();
        if (!m) m = malloc((size_t)set.count * sizeof *m);
        o.threads = 1;
        if (segloss_label_metrics_compute(m, NULL, set.count, &set, &pa, &ra, &shape, &o) !=
            SEGLOSS_OK)
            return 3;
        double t2 = now();
        o.threads = 0;
        if (segloss_label_metrics_compute(m, NULL, set.count, &set, &pa, &ra, &shape, &o) !=
            SEGLOSS_OK)
            return 3;
        double t3 = now();
        if (t1 - t0 < best_scan) best_scan = t1 - t0;
        if (t2 - t1 < best1) best1 = t2 - t1;
        if (t3 - t2 < bestn) bestn = t3 - t2;
        if (r + 1 < repeats) segloss_label_set_free(&set);
    }
    int64_t box_vox = 0;
    for (int64_t i = 0; i < set.count; i++) {
        int64_t b = 1;
        for (int d = 0; d < 3; d++) b *= m[i].stats.box_hi[d] - m[i].stats.box_lo[d];
        box_vox += b;
    }
    printf("volume %dx%dx%d, %lld labels, sum of label boxes %.2f x volume\n", D0, D1, D2,
           (long long)set.count, (double)box_vox / (double)n);
    printf("scan (counts + boxes, all labels):        %.4f s\n", best_scan);
    printf("dice+hd95+assd, all labels, 1 thread:     %.4f s\n", best1);
    printf("dice+hd95+assd, all labels, %2d threads:   %.4f s\n", nthreads, bestn);
    printf("total single-threaded (scan + metrics):   %.4f s\n", best_scan + best1);

    if (outdir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/pred.npy", outdir);
        if (write_npy(path, pred)) return 2;
        snprintf(path, sizeof path, "%s/ref.npy", outdir);
        if (write_npy(path, ref)) return 2;
        snprintf(path, sizeof path, "%s/segloss.txt", outdir);
        FILE *f = fopen(path, "w");
        if (!f) return 2;
        fprintf(f, "# label dice hd95 assd hd; spacing 1.2 0.9 0.9\n");
        for (int64_t i = 0; i < set.count; i++)
            fprintf(f, "%lld %.17g %.17g %.17g %.17g\n", (long long)m[i].stats.label,
                    m[i].overlap.dice, m[i].surface.hd95, m[i].surface.assd, m[i].surface.hd);
        if (fclose(f)) return 2;
        printf("wrote %s/{pred.npy,ref.npy,segloss.txt}\n", outdir);
    }
    segloss_label_set_free(&set);
    free(m);
    free(pred);
    free(ref);
    return 0;
}
