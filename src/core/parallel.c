/* Deterministic parallel reductions.
 *
 * [0, n) is cut into blocks of SEGLOSS_BLOCK elements — a partition that
 * depends only on n. Each block writes its own partial sums; the totals are
 * the partials added in block order, in double. Which thread ran which block
 * cannot change a bit of the result. */
#include "core/internal.h"

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
#ifdef SEGLOSS_OPENMP
    int nt = segloss_get_num_threads();
    if (nt > nblocks) nt = (int)nblocks;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t begin = b * SEGLOSS_BLOCK;
        int64_t end = begin + SEGLOSS_BLOCK < n ? begin + SEGLOSS_BLOCK : n;
        double *p = partial + b * SEGLOSS_MAX_PARTIALS;
        for (int k = 0; k < npart; k++) p[k] = 0.0;
        status[b] = fn(ctx, begin, end, p);
    }
    segloss_status st = SEGLOSS_OK;
    for (int64_t b = 0; b < nblocks && st == SEGLOSS_OK; b++) {
        st = status[b];
        for (int k = 0; k < npart; k++) totals[k] += partial[b * SEGLOSS_MAX_PARTIALS + k];
    }
    free(partial);
    free(status);
    return st;
}

segloss_status segloss__for_items(int64_t n, segloss_item_fn fn, void *ctx) {
    if (n <= 0) return SEGLOSS_OK;
    if (n == 1) return fn(ctx, 0);
    segloss_status *status = malloc((size_t)n * sizeof *status);
    if (!status) return SEGLOSS_ERR_NOMEM;
#ifdef SEGLOSS_OPENMP
    int nt = segloss_get_num_threads();
    if (nt > n) nt = (int)n;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t i = 0; i < n; i++) status[i] = fn(ctx, i);
    segloss_status st = SEGLOSS_OK;
    for (int64_t i = 0; i < n && st == SEGLOSS_OK; i++) st = status[i];
    free(status);
    return st;
}
