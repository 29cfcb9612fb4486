/* Private helpers shared by the library's translation units (not installed). */
#ifndef SEGLOSS_INTERNAL_H
#define SEGLOSS_INTERNAL_H

#include <segloss.h>

#include <stdint.h>
#include <string.h>

/* Fixed block size for deterministic reductions: the partition depends only
 * on n, never on the thread count. */
#define SEGLOSS_BLOCK 8192

/* Most partial sums one block may produce. */
#define SEGLOSS_MAX_PARTIALS 4

/* Per-block worker for segloss__reduce_blocks: processes [begin, end) and
 * writes npart partial sums. A non-OK status aborts the reduction; the
 * status of the lowest-numbered failing block is returned (deterministic). */
typedef segloss_status (*segloss_block_fn)(void *ctx, int64_t begin, int64_t end,
                                           double *partial);

/* Runs fn over the blocks of [0, n) (in parallel when OpenMP is enabled) and
 * writes the npart totals, each summed over blocks in block order. */
segloss_status segloss__reduce_blocks(int64_t n, int npart, segloss_block_fn fn, void *ctx,
                                      double *totals);

/* Runs fn(ctx, i) for i in [0, n) in parallel; items must be independent.
 * Returns the status of the lowest failing i. */
typedef segloss_status (*segloss_item_fn)(void *ctx, int64_t i);
segloss_status segloss__for_items(int64_t n, segloss_item_fn fn, void *ctx);

/* Validates a shape (0 <= ndim <= MAX, dims >= 0, no overflow) and returns
 * numel; zero elements -> SEGLOSS_ERR_EMPTY. */
segloss_status segloss__checked_numel(const segloss_shape *shape, int64_t *numel);

/* Broadcasting view of an farray against a full shape: element i of the
 * full array maps to data[offset(i)]. */
typedef struct segloss_bcast {
    const float *data;
    int ndim;                           /* = full shape's ndim */
    int64_t dim[SEGLOSS_MAX_DIMS];      /* full shape */
    int64_t stride[SEGLOSS_MAX_DIMS];   /* 0 on broadcast axes */
    int contiguous;                     /* same shape as full: offset(i) = i */
} segloss_bcast;

/* Prepares a broadcast of a (right-aligned, NumPy rules) against full.
 * a->data == NULL gives a view with data == NULL (absent). */
segloss_status segloss__bcast_init(segloss_bcast *b, const segloss_farray *a,
                                   const segloss_shape *full);
/* out[k] = value at flat index begin+k, for k < end-begin. */
void segloss__bcast_load(float *out, const segloss_bcast *b, int64_t begin, int64_t end);
/* Elements [begin, end) of b: NULL when absent, b's own data when it has
 * the full shape, else buf (filled). */
const float *segloss__bcast_view(float *buf, const segloss_bcast *b, int64_t begin, int64_t end);

/* Checks a reduction enum. */
static inline int segloss__valid_reduction(segloss_reduction r) {
    return r == SEGLOSS_REDUCTION_MEAN || r == SEGLOSS_REDUCTION_SUM ||
           r == SEGLOSS_REDUCTION_NONE;
}

/* Upstream gradient value for element i: grad_out NULL -> 1; MEAN/SUM ->
 * grad_out[0]; NONE -> grad_out[i]. */
static inline float segloss__upstream(const float *grad_out, segloss_reduction r, int64_t i) {
    if (!grad_out) return 1.0f;
    return r == SEGLOSS_REDUCTION_NONE ? grad_out[i] : grad_out[0];
}

#endif
