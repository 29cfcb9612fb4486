/* Deterministic parallel reductions.
 *
 * [0, n) is cut into blocks of SEGLOSS_BLOCK elements — a partition that
 * depends only on n. Each block writes its own partial sums; the totals are
 * the partials added in block order, in double. Which thread ran which block
 * cannot change a bit of the result.
 *
 * Scheduling: one parallel region per call; the threads take blocks (or
 * items) from a shared atomic counter, one at a time, until none is left.
 * On a busy machine a thread that the OS deschedules holds up at most the
 * block it is running: the others take the rest, where a static split
 * would leave its whole slice waiting at the region's barrier. */
#include "core/internal.h"

#include <stdatomic.h>
#include <stdlib.h>

#ifdef SEGLOSS_OPENMP
#include <omp.h>
#endif

static int g_threads; /* 0: all available */

void segloss_set_num_threads(int n) { g_threads = n > 0 ? n : 0; }

int segloss_get_num_threads(void) {
#ifdef SEGLOSS_OPENMP
    return g_threads > 0 ? g_threads : omp_get_num_procs();
#else
    return 1;
#endif
}

/* One task: run(ctx, k) for k in [0, count), each k exactly once, in any
 * order and on any thread. */
typedef void (*task_fn)(void *ctx, int64_t k);

static void run_tasks(int64_t count, task_fn run, void *ctx) {
    atomic_int_fast64_t next;
    atomic_init(&next, 0);
    int nt = 1;
#ifdef SEGLOSS_OPENMP
    nt = segloss_get_num_threads();
    if (nt > count) nt = (int)count;
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        for (;;) {
            int64_t k = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
            if (k >= count) break;
            run(ctx, k);
        }
    }
    (void)nt;
}

typedef struct block_job {
    int64_t n;
    int npart;
    segloss_block_fn fn;
    void *ctx;
    double *partial;
    segloss_status *status;
} block_job;

static void run_block(void *ctx, int64_t b) {
    block_job *j = ctx;
    int64_t begin = b * SEGLOSS_BLOCK;
    int64_t end = begin + SEGLOSS_BLOCK < j->n ? begin + SEGLOSS_BLOCK : j->n;
    double *p = j->partial + b * SEGLOSS_MAX_PARTIALS;
    for (int k = 0; k < j->npart; k++) p[k] = 0.0;
    j->status[b] = j->fn(j->ctx, begin, end, p);
}

segloss_status segloss__reduce_blocks(int64_t n, int npart, segloss_block_fn fn, void *ctx,
                                      double *totals) {
    if (npart < 1 || npart > SEGLOSS_MAX_PARTIALS) return SEGLOSS_ERR_INTERNAL;
    for (int k = 0; k < npart; k++) totals[k] = 0.0;
    if (n <= 0) return SEGLOSS_OK;
    int64_t nblocks = (n + SEGLOSS_BLOCK - 1) / SEGLOSS_BLOCK;
    if (nblocks == 1) return fn(ctx, 0, n, totals);

    double *partial = malloc((size_t)nblocks * SEGLOSS_MAX_PARTIALS * sizeof *partial);
    segloss_status *status = malloc((size_t)nblocks * sizeof *status);
    if (!partial || !status) {
        free(partial);
        free(status);
        return SEGLOSS_ERR_NOMEM;
    }
    block_job job = {n, npart, fn, ctx, partial, status};
    run_tasks(nblocks, run_block, &job);
    segloss_status st = SEGLOSS_OK;
    for (int64_t b = 0; b < nblocks && st == SEGLOSS_OK; b++) {
        st = status[b];
        for (int k = 0; k < npart; k++) totals[k] += partial[b * SEGLOSS_MAX_PARTIALS + k];
    }
    free(partial);
    free(status);
    return st;
}

typedef struct item_job {
    segloss_item_fn fn;
    void *ctx;
    segloss_status *status;
} item_job;

static void run_item(void *ctx, int64_t i) {
    item_job *j = ctx;
    j->status[i] = j->fn(j->ctx, i);
}

segloss_status segloss__for_items(int64_t n, segloss_item_fn fn, void *ctx) {
    if (n <= 0) return SEGLOSS_OK;
    if (n == 1) return fn(ctx, 0);
    segloss_status *status = malloc((size_t)n * sizeof *status);
    if (!status) return SEGLOSS_ERR_NOMEM;
    item_job job = {fn, ctx, status};
    run_tasks(n, run_item, &job);
    segloss_status st = SEGLOSS_OK;
    for (int64_t i = 0; i < n && st == SEGLOSS_OK; i++) st = status[i];
    free(status);
    return st;
}
