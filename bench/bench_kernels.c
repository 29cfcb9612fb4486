/* Micro-benchmark of the float32 element kernels (src/kernels/vec.h),
 * single-threaded, ns per element, every table this CPU has.
 *
 * Build and run from the repository root (the kernels only, no OpenMP):
 *
 *   cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
 *      bench/bench_kernels.c build/libsegloss.a -lm -o build/bench_kernels && \
 *      build/bench_kernels
 * (or `make bench`: build/bench/bench_kernels)
 *
 * Options: build/bench_kernels [n] [repeats] [case] [isa]   (defaults
 * 4194304 and 15; case: run only the cases whose name contains this
 * string; isa: only this table, e.g. avx512)
 *
 * Data: n logits uniform in [-8, 8], targets 0/1 (as float and as bytes), no
 * weights, gscale = 1/n (a mean). The arrays are processed in blocks of 8192
 * as the library's driver does; each figure is the best of `repeats` runs.
 * The pass-2 cases (in place) start each run from pass 1's output again
 * (copied in before the timer starts).
 * Baselines over the same bytes as the fused kernel with float target (read
 * x and y, write grad: 12 bytes per element): memcpy of x to grad (8 bytes
 * per element) and a streaming SSE2 loop grad = x - y (12 bytes). */
#include "kernels/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#endif

#define BLOCK 8192

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct bench_data {
    int64_t n;
    float *x, *yf, *grad, *elems;
    uint8_t *yb;
    double sum;
} bench_data;

typedef void (*bench_fn)(bench_data *d, const segloss_vec_ops *o);

static void run_fused_f32(bench_data *d, const segloss_vec_ops *o) {
    double total = 0.0, gs = 1.0 / (double)d->n;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        double part;
        o->bcel_fused(&part, NULL, d->grad + b, d->x + b, d->yf + b, NULL, NULL, NULL, gs, m);
        total += part;
    }
    d->sum = total;
}

static void run_fused_u8(bench_data *d, const segloss_vec_ops *o) {
    double total = 0.0, gs = 1.0 / (double)d->n;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        double part;
        o->bcel_fused_u8(&part, NULL, d->grad + b, d->x + b, d->yb + b, NULL, NULL, NULL, gs, m);
        total += part;
    }
    d->sum = total;
}

static void run_fwd_f32(bench_data *d, const segloss_vec_ops *o) {
    double total = 0.0;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        double part;
        o->bcel_fwd(&part, NULL, d->x + b, d->yf + b, NULL, NULL, m);
        total += part;
    }
    d->sum = total;
}

static void run_bwd_f32(bench_data *d, const segloss_vec_ops *o) {
    double gs = 1.0 / (double)d->n;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        o->bcel_bwd(d->grad + b, d->x + b, d->yf + b, NULL, NULL, NULL, gs, m);
    }
}

/* Dice + BCE: pass 1 (loss, Dice sums, signed small sigmoid into grad)
 * and pass 2 (BCE + Dice gradient from it), each over all n elements. */
static void run_dbce1(bench_data *d, const segloss_vec_ops *o, int bytes) {
    double total = 0.0;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        double part[4];
        if (bytes) o->dbce_u8(part, d->grad + b, d->x + b, d->yb + b, NULL, m, SEGLOSS_DBCE_LOSS);
        else o->dbce(part, d->grad + b, d->x + b, d->yf + b, NULL, m, SEGLOSS_DBCE_LOSS);
        total += part[0] + part[1];
    }
    d->sum = total;
}

static void run_dbce1_u8(bench_data *d, const segloss_vec_ops *o) { run_dbce1(d, o, 1); }
static void run_dbce1_f32(bench_data *d, const segloss_vec_ops *o) { run_dbce1(d, o, 0); }

/* Dice alone: pass 1 without the loss term, with a byte or float target
 * (flags: 0, or SEGLOSS_DBCE_YSIGN as the Dice gradient alone runs it). */
static void run_dice1(bench_data *d, const segloss_vec_ops *o, int bytes, unsigned fl) {
    double total = 0.0;
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        double part[4];
        if (bytes) o->dbce_u8(part, d->grad + b, d->x + b, d->yb + b, NULL, m, fl);
        else o->dbce(part, d->grad + b, d->x + b, d->yf + b, NULL, m, fl);
        total += part[1] + part[2];
    }
    d->sum = total;
}

static void run_dice1_u8(bench_data *d, const segloss_vec_ops *o) { run_dice1(d, o, 1, 0); }
static void run_dice1_f32(bench_data *d, const segloss_vec_ops *o) { run_dice1(d, o, 0, 0); }
static void run_dice1_ys_f32(bench_data *d, const segloss_vec_ops *o) {
    run_dice1(d, o, 0, SEGLOSS_DBCE_YSIGN);
}

/* Pass 2 works in place on pass 1's output: before each timed run (not
 * timed) grad gets the signed small sigmoids of x again (kept in elems),
 * else the repeated in-place runs drive grad into denormals. */
static void prep_dice2(bench_data *d, const segloss_vec_ops *o) {
    (void)o;
    memcpy(d->grad, d->elems, (size_t)d->n * sizeof *d->grad);
}

static void run_dice2_u8(bench_data *d, const segloss_vec_ops *o) {
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        o->dice_grad_u8(d->grad + b, d->yb + b, NULL, 2.4e-7f, 1e-7f, -2e-7f, 0, m);
    }
}

/* Dice alone (no BCE term: gb = 0), byte or float target. */
static void run_dice2d_u8(bench_data *d, const segloss_vec_ops *o) {
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        o->dice_grad_u8(d->grad + b, d->yb + b, NULL, 0.0f, 1e-7f, -2e-7f, 0, m);
    }
}

static void run_dice2d_f32(bench_data *d, const segloss_vec_ops *o) {
    for (int64_t b = 0; b < d->n; b += BLOCK) {
        int64_t m = d->n - b < BLOCK ? d->n - b : BLOCK;
        o->dice_grad(d->grad + b, d->yf + b, NULL, 0.0f, 1e-7f, -2e-7f, 0, m);
    }
}

/* Dice fwd+bwd as loss/region_fast.c schedules it with a gradient: per
 * image of 512x512 elements, pass 1 (sums, signed small sigmoid into grad)
 * over its blocks, then pass 2 over its blocks, which finds the image's s
 * and target in L2/L3. Against the in-cache cases above, with the arrays
 * out of cache (n = 4194304: 16 images, 48 MiB), it shows what streaming
 * adds. */
#define IMAGE ((int64_t)512 * 512)
static void run_dice_image(bench_data *d, const segloss_vec_ops *o) {
    double total = 0.0;
    for (int64_t i0 = 0; i0 < d->n; i0 += IMAGE) {
        int64_t i1 = d->n - i0 < IMAGE ? d->n : i0 + IMAGE;
        for (int64_t b = i0; b < i1; b += BLOCK) {
            int64_t m = i1 - b < BLOCK ? i1 - b : BLOCK;
            double part[4];
            o->dbce(part, d->grad + b, d->x + b, d->yf + b, NULL, m, 0);
            total += part[1] + part[2];
        }
        for (int64_t b = i0; b < i1; b += BLOCK) {
            int64_t m = i1 - b < BLOCK ? i1 - b : BLOCK;
            o->dice_grad(d->grad + b, d->yf + b, NULL, 0.0f, 1e-7f, -2e-7f, 0, m);
        }
    }
    d->sum = total;
}

static void run_sigmoid(bench_data *d, const segloss_vec_ops *o) {
    o->sigmoid(d->grad, d->x, d->n);
}

static void run_memcpy(bench_data *d, const segloss_vec_ops *o) {
    (void)o;
    memcpy(d->grad, d->x, (size_t)d->n * sizeof *d->x);
}

static void run_stream(bench_data *d, const segloss_vec_ops *o) {
    (void)o;
    int64_t i = 0;
#if defined(__x86_64__) || defined(__i386__)
    for (; i + 4 <= d->n; i += 4)
        _mm_storeu_ps(d->grad + i, _mm_sub_ps(_mm_loadu_ps(d->x + i), _mm_loadu_ps(d->yf + i)));
#endif
    for (; i < d->n; i++) d->grad[i] = d->x[i] - d->yf[i];
}

static double best_ns(bench_fn fn, bench_fn prep, bench_data *d, const segloss_vec_ops *o,
                      int reps) {
    double best = 1e30;
    if (prep) prep(d, o);
    fn(d, o); /* warm up: page faults, caches */
    for (int r = 0; r < reps; r++) {
        if (prep) prep(d, o);
        double t0 = now();
        fn(d, o);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best * 1e9 / (double)d->n;
}

int main(int argc, char **argv) {
    bench_data d;
    d.n = argc > 1 ? atoll(argv[1]) : 4194304;
    int reps = argc > 2 ? atoi(argv[2]) : 15;
    const char *only = argc > 3 ? argv[3] : NULL, *isa = argc > 4 ? argv[4] : NULL;
    if (d.n <= 0 || reps <= 0) {
        fprintf(stderr, "usage: %s [n > 0] [repeats > 0]\n", argv[0]);
        return 2;
    }
    size_t fb = (size_t)d.n * sizeof(float);
    d.x = malloc(fb), d.yf = malloc(fb), d.grad = malloc(fb), d.elems = malloc(fb);
    d.yb = malloc((size_t)d.n);
    if (!d.x || !d.yf || !d.grad || !d.elems || !d.yb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t s = 0x243F6A8885A308D3ull;
    for (int64_t i = 0; i < d.n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        d.x[i] = -8.0f + 16.0f * (float)((double)(s >> 40) / 16777216.0);
        d.yb[i] = (uint8_t)((s >> 20) & 1);
        d.yf[i] = (float)d.yb[i];
        d.grad[i] = d.elems[i] = 0.0f;
    }

    const segloss_vec_ops *tabs[SEGLOSS__VEC_MAX_TABLES];
    int ntab = segloss__vec_tables(tabs);
    /* pass 2's input (prep_dice2): pass 1's signed small sigmoids */
    for (int64_t b = 0; b < d.n; b += BLOCK) {
        double part[4];
        tabs[0]->dbce_u8(part, d.elems + b, d.x + b, d.yb + b, NULL,
                         d.n - b < BLOCK ? d.n - b : BLOCK, 0);
    }
    printf("n = %lld, blocks of %d, best of %d, single thread; ns per element\n",
           (long long)d.n, BLOCK, reps);
    printf("  %-32s %8.3f\n", "memcpy x -> grad (8 B/elem)",
           best_ns(run_memcpy, NULL, &d, NULL, reps));
    printf("  %-32s %8.3f\n", "stream grad = x - y (12 B/elem)",
           best_ns(run_stream, NULL, &d, NULL, reps));
    static const struct {
        const char *name;
        bench_fn fn, prep;
    } cases[] = {
        {"bce-logits fused, f32 target", run_fused_f32, NULL},
        {"bce-logits fused, u8 target", run_fused_u8, NULL},
        {"bce-logits forward, f32", run_fwd_f32, NULL},
        {"bce-logits backward, f32", run_bwd_f32, NULL},
        {"dice-bce pass 1, u8", run_dbce1_u8, NULL},
        {"dice-bce pass 1, f32", run_dbce1_f32, NULL},
        {"dice pass 1 (sums only), u8", run_dice1_u8, NULL},
        {"dice pass 1 (sums only), f32", run_dice1_f32, NULL},
        {"dice pass 1 ysign, f32", run_dice1_ys_f32, NULL},
        {"dice-bce pass 2, u8", run_dice2_u8, prep_dice2},
        {"dice pass 2, u8", run_dice2d_u8, prep_dice2},
        {"dice pass 2, f32", run_dice2d_f32, prep_dice2},
        {"dice per image, pass 1 + 2, f32", run_dice_image, NULL},
        {"sigmoid", run_sigmoid, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (only && !strstr(cases[c].name, only)) continue;
        for (int t = 0; t < ntab; t++) {
            if (isa && strcmp(isa, tabs[t]->name) != 0) continue;
            double ns = best_ns(cases[c].fn, cases[c].prep, &d, tabs[t],
                                tabs[t]->width == 1 ? 1 + reps / 5 : reps);
            printf("  %-32s %-6s %8.3f\n", cases[c].name, tabs[t]->name, ns);
        }
    }
    /* keep the results alive */
    printf("(checksum %.6g %.6g)\n", d.sum, (double)d.grad[d.n / 2]);
    free(d.x), free(d.yf), free(d.grad), free(d.elems), free(d.yb);
    return 0;
}
