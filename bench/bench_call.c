/* One public loss call, timed in a loop: dice or bce-logits, forward or
 * forward+backward, 16x1x512x512 float32 logits with a 0/1 float32 target
 * (64-byte aligned, as PyTorch allocates), N threads; prints the best and
 * the mean of R rounds after two warm-up rounds, ns per element. Used for
 * the A/B figures of docs/benchmarks-kernels.md: build it against two libraries and
 * alternate the two binaries (their best rounds are the least disturbed
 * by other tenants of the machine):
 *
 *   make bench && build/bench/bench_call dice fb 1 11
 *   cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_call.c \
 *      OLD/build/libsegloss.a -lm -fopenmp -o /tmp/bench_call_old
 *
 * Arguments: kind (dice | bce-logits), what (fwd | fb), threads, rounds. */
#include <segloss.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "dice") && strcmp(argv[1], "bce-logits")) ||
        (strcmp(argv[2], "fwd") && strcmp(argv[2], "fb"))) {
        fprintf(stderr, "usage: bench_call dice|bce-logits fwd|fb THREADS ROUNDS\n");
        return 2;
    }
    int dice = !strcmp(argv[1], "dice"), fb = !strcmp(argv[2], "fb");
    int threads = atoi(argv[3]), rounds = atoi(argv[4]);
    if (threads < 1 || rounds < 1) {
        fprintf(stderr, "bench_call: THREADS and ROUNDS must be at least 1\n");
        return 2;
    }
    const size_t n = (size_t)16 * 512 * 512;
    float *x = aligned_alloc(64, n * sizeof *x), *y = aligned_alloc(64, n * sizeof *y);
    float *g = aligned_alloc(64, n * sizeof *g);
    if (!x || !y || !g) {
        fprintf(stderr, "bench_call: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((i * 2654435761u) % 1000) / 100.0f - 5.0f;
        y[i] = (float)((i * 40503u >> 7) % 3 == 0);
        g[i] = 0.0f;
    }
    segloss_set_num_threads(threads);
    segloss_shape shape = {4, {16, 1, 512, 512}};
    segloss_target t = {y, SEGLOSS_F32};
    segloss_dice_opts dopts = segloss_dice_opts_default();
    segloss_bce_opts bopts = segloss_bce_opts_default();
    double best = 1e30, total = 0.0, loss = 0.0;
    for (int r = 0; r < rounds + 2; r++) {
        double t0 = now();
        segloss_status st;
        if (dice)
            st = fb ? segloss_dice_forward_backward(&loss, NULL, g, x, &t, &shape, &dopts, NULL)
                    : segloss_dice_forward(&loss, NULL, x, &t, &shape, &dopts);
        else
            st = fb ? segloss_bce_logits_forward_backward(&loss, NULL, g, x, &t, &shape, &bopts,
                                                          NULL)
                    : segloss_bce_logits_forward(&loss, NULL, x, &t, &shape, &bopts);
        double dt = now() - t0;
        if (st != SEGLOSS_OK) {
            fprintf(stderr, "bench_call: %s\n", segloss_strerror(st));
            return 1;
        }
        if (r >= 2) {
            if (dt < best) best = dt;
            total += dt;
        }
    }
    printf("%s %s, %d thread%s: best %.4f mean %.4f ns/element (loss %.6f)\n", argv[1], argv[2],
           threads, threads == 1 ? "" : "s", best * 1e9 / (double)n,
           total / rounds * 1e9 / (double)n, loss);
    free(x);
    free(y);
    free(g);
    return 0;
}
