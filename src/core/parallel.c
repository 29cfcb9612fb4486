/* Deterministic parallel reductions.
 *
 * [0, n) is cut into blocks of SEGLOSS_BLOCK elements — a partition that
 * depends only on n. Each block writes its own partial sums; the totals are
 * the partials added in block order, in double. Which thread ran which block
 * cannot change a bit of the result.
 *
 * Scheduling: one parallel region per call. The blocks (or items) are cut
 * into one contiguous range per thread; each thread runs its own range
 * front to back, then moves the back half of another thread's remaining
 * range into its own, until none is left. On a busy machine a thread that
 * the OS deschedules holds up at most the block it is running: the others
 * take the rest of its range, where a static split would leave its whole
 * slice waiting at the region's barrier.
 */
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

/* Thread t's range of tasks [lo, hi), packed in one word (lo in the high
 * half) so that its owner taking the front and a thief taking the back
 * half never take the same task; one cache line per range. */
typedef struct task_range {
    _Alignas(64) _Atomic uint64_t lohi;
} task_range;

static int64_t take_front(task_range *r) {
    uint64_t v = atomic_load_explicit(&r->lohi, memory_order_relaxed);
    for (;;) {
        uint64_t lo = v >> 32, hi = v & 0xffffffffu;
        if (lo >= hi) return -1;
        if (atomic_compare_exchange_weak_explicit(&r->lohi, &v, v + ((uint64_t)1 << 32),
                                                  memory_order_relaxed, memory_order_relaxed))
            return (int64_t)lo;
    }
}

/* Moves the back half of from's tasks (all of them if one is left) into
 * `to`, whose own range is empty; 0 if from has none. */
static int steal_half(task_range *from, task_range *to) {
    uint64_t v = atomic_load_explicit(&from->lohi, memory_order_relaxed);
    for (;;) {
        uint64_t lo = v >> 32, hi = v & 0xffffffffu;
        if (lo >= hi) return 0;
        uint64_t mid = lo + (hi - lo) / 2;
        if (atomic_compare_exchange_weak_explicit(&from->lohi, &v, (lo << 32) | mid,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            atomic_store_explicit(&to->lohi, (mid << 32) | hi, memory_order_relaxed);
            return 1;
        }
    }
}

/* Thread t runs its own range front to back; when it is empty, it moves
 * the back half of the next non-empty range (thread t+1's first) into its
 * own and goes on, until no range has tasks. Each thread thus streams
 * through contiguous parts of the arrays, front to back: threads taking
 * alternate blocks from one shared counter were 25-30% slower at 2
 * threads on the same bytes (the hardware prefetchers follow one stream
 * per thread), and a thread that is descheduled holds up only the task it
 * is running (a range in transit between two threads is run by the
 * thread that took it). */
static void run_ranges(task_range *rg, int nt, int t, task_fn run, void *ctx) {
    for (;;) {
        int64_t k;
        while ((k = take_front(&rg[t])) >= 0) run(ctx, k);
        int stolen = 0;
        for (int i = 1; i < nt && !stolen; i++) stolen = steal_half(&rg[(t + i) % nt], &rg[t]);
        if (!stolen) return;
    }
}

static void run_tasks(int64_t count, task_fn run, void *ctx) {
    int nt = 1;
#ifdef SEGLOSS_OPENMP
    nt = segloss_get_num_threads();
    if (nt > count) nt = (int)count;
#endif
    task_range *rg = NULL;
    if (nt > 1 && count <= (int64_t)UINT32_MAX)
        rg = aligned_alloc(sizeof *rg, (size_t)nt * sizeof *rg);
    if (!rg) {
        /* one thread, or one counter shared by all (past 2^32 tasks, or
         * without memory for the ranges) */
        atomic_int_fast64_t next;
        atomic_init(&next, 0);
#ifdef SEGLOSS_OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
        for (;;) {
            int64_t k = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
            if (k >= count) break;
            run(ctx, k);
        }
        return;
    }
    for (int t = 0; t < nt; t++)
        atomic_init(&rg[t].lohi,
                    ((uint64_t)(count * t / nt) << 32) | (uint64_t)(count * (t + 1) / nt));
#ifdef SEGLOSS_OPENMP
#pragma omp parallel num_threads(nt)
    {
        /* with a smaller team than asked for, the missing threads' ranges
         * are taken over, half by half, by steal_half */
        int t = omp_get_thread_num();
        if (t < nt) run_ranges(rg, nt, t, run, ctx);
    }
#else
    run_ranges(rg, nt, 0, run, ctx);
#endif
    free(rg);
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
