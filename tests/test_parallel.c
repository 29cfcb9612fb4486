/* core/parallel.c's scheduler: every task runs exactly once, whatever the
 * thread count and the number of tasks (fewer tasks than threads, one
 * task, ranges that do not divide evenly), with one thread slowed down so
 * that the others take its range; the first failing status is returned;
 * reduce_blocks adds its partials in block order (the same bits for any
 * thread count).
 *
 *  parallel_items_once      segloss__for_items, 1-5 threads, 0-1000 items
 *  parallel_blocks_order    segloss__reduce_blocks, 1-5 threads
 */
#include "tf.h"

#include "core/internal.h"

#include <segloss.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

typedef struct items_ctx {
    _Atomic int *runs;
    int64_t slow; /* this item sleeps a little (-1: none) */
    int64_t fail; /* this item returns SEGLOSS_ERR_ARG (-1: none) */
} items_ctx;

static segloss_status count_item(void *ctx, int64_t i) {
    items_ctx *c = ctx;
    atomic_fetch_add(&c->runs[i], 1);
    if (i == c->slow) {
        struct timespec ts = {0, 2000000}; /* 2 ms: the others take the rest */
        nanosleep(&ts, NULL);
    }
    return i == c->fail ? SEGLOSS_ERR_ARG : SEGLOSS_OK;
}

TEST(parallel_items_once) {
    enum { MAXN = 1000 };
    static _Atomic int runs[MAXN];
    static const int64_t counts[] = {1, 2, 3, 5, 7, 64, 999, MAXN};
    for (int nt = 1; nt <= 5; nt++) {
        segloss_set_num_threads(nt);
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            int64_t n = counts[ci];
            for (int mode = 0; mode < 3; mode++) {
                for (int64_t i = 0; i < n; i++) atomic_store(&runs[i], 0);
                /* mode 1: the first task of the last range is slow; 2: one fails */
                items_ctx c = {runs, mode == 1 ? n * (nt - 1) / nt : -1, mode == 2 ? n / 2 : -1};
                segloss_status st = segloss__for_items(n, count_item, &c);
                CHECK_EQ_INT(st, mode == 2 ? SEGLOSS_ERR_ARG : SEGLOSS_OK);
                int bad = 0;
                for (int64_t i = 0; i < n; i++) bad += atomic_load(&runs[i]) != 1;
                CHECK_MSG(bad == 0, "%d threads, %lld items, mode %d: %d items not run once", nt,
                          (long long)n, mode, bad);
            }
        }
    }
    CHECK_EQ_INT(segloss__for_items(0, count_item, NULL), SEGLOSS_OK);
    segloss_set_num_threads(0);
}

static segloss_status block_sum(void *ctx, int64_t begin, int64_t end, double *p) {
    const double *v = ctx;
    for (int64_t i = begin; i < end; i++) p[0] += v[i], p[1] += 1.0;
    return SEGLOSS_OK;
}

TEST(parallel_blocks_order) {
    enum { N = 5 * SEGLOSS_BLOCK + 77 };
    static double v[N];
    for (int i = 0; i < N; i++) v[i] = 1.0 / (1.0 + i) * ((i % 3) ? 1.0 : -1e3);
    double ref[2] = {0, 0};
    for (int64_t b = 0; b < N; b += SEGLOSS_BLOCK) {
        double p[2] = {0, 0};
        block_sum(v, b, b + SEGLOSS_BLOCK < N ? b + SEGLOSS_BLOCK : N, p);
        ref[0] += p[0], ref[1] += p[1];
    }
    for (int nt = 1; nt <= 5; nt++) {
        segloss_set_num_threads(nt);
        double tot[2];
        CHECK_EQ_INT(segloss__reduce_blocks(N, 2, block_sum, v, tot), SEGLOSS_OK);
        CHECK_MSG(memcmp(tot, ref, sizeof ref) == 0, "%d threads: %.17g %.17g", nt, tot[0], tot[1]);
    }
    segloss_set_num_threads(0);
}
