/* Benchmark of the label-map metrics on a realistic synthetic 3-D volume.
 *
 * Build (from the repository root, after `make`):
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -fopenmp -DSEGLOSS_OPENMP=1 \
 *      -Iinclude -Isrc bench/bench_metric.c build/libsegloss.a -lm -fopenmp \
 *      -o build/bench_metric
 * Run:
 *   build/bench_metric [OUTDIR [REPEATS [all]]]      (OUTDIR "" writes nothing)
 * The volume is 180x220x180 (axis 0 first), spacing (1.2, 0.9, 0.9): a
 * reference label map with ellipsoids of labels 1..120 drawn in random order
 * (they overlap and cut each other), and a prediction drawn from the same
 * ellipsoids with perturbed centres and radii. Each of REPEATS rounds
 * (default 7) times the label scan, then dice + hd95 + assd (+ hd, nsd and
 * the other distance metrics, from the same distances) over all labels
 * single-threaded, then with all threads (segloss_get_num_threads: every
 * core unless set). With "all", every metric of `segloss eval --metrics all`
 * in stages: the default metrics alone, then with boundary_iou, com_dist and
 * mahalanobis, then with cldice as well (each 1 thread, then all threads).
 * It prints the median and the minimum over the rounds of the wall time and
 * the median process CPU time (every thread), in seconds; the totals are
 * the scan plus the last stage. With OUTDIR it also writes OUTDIR/pred.npy,
 * OUTDIR/ref.npy (int32), OUTDIR/segloss.txt (label dice hd95 assd hd
 * cldice, %.17g; cldice NaN unless "all") and OUTDIR/timing.txt (the
 * medians) for bench/metric_ref.py.
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

/* CPU time of the whole process (every thread), seconds. */
static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double s[64];
    if (n > 64) n = 64;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double minimum(const double *v, int n) {
    double x = v[0];
    for (int i = 1; i < n; i++) x = v[i] < x ? v[i] : x;
    return x;
}

int main(int argc, char **argv) {
    const char *outdir = argc > 1 && argv[1][0] ? argv[1] : NULL; /* "" = none */
    int repeats = argc > 2 ? atoi(argv[2]) : 7;
    if (repeats > 64) repeats = 64;
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
    segloss_metric_opts o = segloss_metric_opts_default();
    o.spacing[0] = 1.2;
    o.spacing[1] = 0.9;
    o.spacing[2] = 0.9;
    o.distances = 1;
    /* ROUNDS then "all": every metric (what `segloss eval --metrics all`
     * computes: the mask metrics too, on the same box pass), timed in
     * stages: the default metrics alone, then with the mask metrics but
     * cldice, then all of them */
    const int all = argc > 3 && strcmp(argv[3], "all") == 0;
    const unsigned masks[3] = {0,
                               SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST |
                                   SEGLOSS_MASK_MAHALANOBIS,
                               SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST |
                                   SEGLOSS_MASK_MAHALANOBIS | SEGLOSS_MASK_CLDICE};
    const char *stage[3] = {"dice+hd95+assd (+hd, nsd)", "+ boundary_iou, com_dist, mahal",
                            "all (+ cldice)"};
    const int s0 = all ? 0 : 0, s1 = all ? 3 : 1;
    if (all) printf("every metric (--metrics all), timed in stages\n");

    segloss_label_set set;
    segloss_label_metrics *m = NULL;
    int nthreads = segloss_get_num_threads();
    /* per round: scan; per stage, 1 thread and all threads: wall and CPU */
    double *t = malloc((size_t)repeats * 14 * sizeof *t);
    if (!t) return 3;
    double *tscan = t, *cscan = t + repeats;
    for (int r = 0; r < repeats; r++) {
        double t0 = now(), c0 = cpu();
        if (segloss_label_scan(&set, &pa, &ra, &shape) != SEGLOSS_OK) return 3;
        tscan[r] = now() - t0;
        cscan[r] = cpu() - c0;
        if (!m) m = malloc((size_t)set.count * sizeof *m);
        if (!m) return 3;
        for (int s = s0; s < s1; s++)
            for (int th = 0; th < 2; th++) {
                o.mask_metrics = masks[all ? s : 0];
                o.threads = th ? 0 : 1;
                double a = now(), ca = cpu();
                if (segloss_label_metrics_compute(m, NULL, set.count, &set, &pa, &ra, &shape,
                                                  &o) != SEGLOSS_OK)
                    return 3;
                t[(2 + 4 * s + 2 * th) * repeats + r] = now() - a;
                t[(3 + 4 * s + 2 * th) * repeats + r] = cpu() - ca;
            }
        if (r + 1 < repeats) segloss_label_set_free(&set);
    }
    int64_t box_vox = 0;
    for (int64_t i = 0; i < set.count; i++) {
        int64_t b = 1;
        for (int d = 0; d < 3; d++) b *= m[i].stats.box_hi[d] - m[i].stats.box_lo[d];
        box_vox += b;
    }
    printf("volume %dx%dx%d, spacing (1.2, 0.9, 0.9), %lld labels, sum of label boxes %.2f x "
           "volume\n",
           D0, D1, D2, (long long)set.count, (double)box_vox / (double)n);
    printf("seconds, median (min) of %d rounds; cpu = process CPU time (median)\n", repeats);
    printf("%-38s %16s %8s\n", "stage", "wall", "cpu");
    printf("%-38s %7.4f (%.4f) %8.4f\n", "scan (counts + boxes, 1 pass)", median(tscan, repeats),
           minimum(tscan, repeats), median(cscan, repeats));
    double totc[2] = {0, 0};
    for (int s = s0; s < s1; s++)
        for (int th = 0; th < 2; th++) {
            const double *w = t + (2 + 4 * s + 2 * th) * repeats, *c = w + repeats;
            char name[80];
            snprintf(name, sizeof name, "%s, %d thr", stage[s], th ? nthreads : 1);
            printf("%-38s %7.4f (%.4f) %8.4f\n", name, median(w, repeats), minimum(w, repeats),
                   median(c, repeats));
            totc[th] = median(c, repeats);
        }
    /* the totals: scan + the last stage (the one asked for) */
    double *tot1 = malloc((size_t)repeats * 2 * sizeof *tot1);
    if (!tot1) return 3;
    double *totn = tot1 + repeats;
    for (int r = 0; r < repeats; r++) {
        tot1[r] = tscan[r] + t[(2 + 4 * (s1 - 1)) * repeats + r];
        totn[r] = tscan[r] + t[(4 + 4 * (s1 - 1)) * repeats + r];
    }
    printf("total (scan + %s), 1 thread:   %.4f (%.4f), cpu %.4f\n", all ? "all" : "metrics",
           median(tot1, repeats), minimum(tot1, repeats), median(cscan, repeats) + totc[0]);
    printf("total (scan + %s), %2d threads: %.4f (%.4f), cpu %.4f\n", all ? "all" : "metrics",
           nthreads, median(totn, repeats), minimum(totn, repeats),
           median(cscan, repeats) + totc[1]);

    if (outdir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/pred.npy", outdir);
        if (write_npy(path, pred)) return 2;
        snprintf(path, sizeof path, "%s/ref.npy", outdir);
        if (write_npy(path, ref)) return 2;
        snprintf(path, sizeof path, "%s/segloss.txt", outdir);
        FILE *f = fopen(path, "w");
        if (!f) return 2;
        fprintf(f, "# label dice hd95 assd hd cldice (nan unless all); spacing 1.2 0.9 0.9\n");
        for (int64_t i = 0; i < set.count; i++)
            fprintf(f, "%lld %.17g %.17g %.17g %.17g %.17g\n", (long long)m[i].stats.label,
                    m[i].overlap.dice, m[i].surface.hd95, m[i].surface.assd, m[i].surface.hd,
                    all ? m[i].mask.cldice : NAN);
        if (fclose(f)) return 2;
        snprintf(path, sizeof path, "%s/timing.txt", outdir);
        f = fopen(path, "w");
        if (!f) return 2;
        fprintf(f, "# medians of %d rounds, seconds\n", repeats);
        fprintf(f, "rounds %d\nthreads %d\nscan %.6f\nmetrics_1 %.6f\nmetrics_n %.6f\n"
                   "total_1 %.6f\ntotal_n %.6f\ncpu_1 %.6f\ncpu_n %.6f\n",
                repeats, nthreads, median(tscan, repeats),
                median(t + (2 + 4 * (s1 - 1)) * repeats, repeats),
                median(t + (4 + 4 * (s1 - 1)) * repeats, repeats), median(tot1, repeats),
                median(totn, repeats), median(cscan, repeats) + totc[0],
                median(cscan, repeats) + totc[1]);
        if (fclose(f)) return 2;
        printf("wrote %s/{pred.npy,ref.npy,segloss.txt,timing.txt}\n", outdir);
    }
    free(t);
    free(tot1);
    segloss_label_set_free(&set);
    free(m);
    free(pred);
    free(ref);
    return 0;
}
