/* Private helpers of the label-map metrics (src/metric/). */
#ifndef SEGLOSS_METRIC_H
#define SEGLOSS_METRIC_H

#include "core/internal.h"

/* A rank-1..3 grid seen as 3-D: leading unit axes are added, so a rank-r
 * array of dims (d0..d{r-1}) becomes (1,..,1,d0,..,d{r-1}). Axis a of the
 * padded grid is real axis a - (3 - ndim). */
typedef struct segloss__grid {
    int ndim;        /* real rank, 1..3 */
    int64_t n[3];    /* padded dims */
    double sp[3];    /* padded spacing (1 on added axes) */
    int64_t numel;
} segloss__grid;

/* Validates shape (rank 1..3, no zero dims) and spacing (NULL: 1 everywhere;
 * else spacing[0..ndim) with 0 meaning 1; negative or non-finite ->
 * SEGLOSS_ERR_ARG). */
segloss_status segloss__grid_init(segloss__grid *g, const segloss_shape *shape,
                                  const double *spacing);

/* Checks a label array's pointer and dtype (integers and bool only). */
segloss_status segloss__label_array_check(const segloss_label_array *a);

/* dst[i] = value at src[off + i] as int64, i < n. U64 values above
 * INT64_MAX give SEGLOSS_ERR_DOMAIN; bool: nonzero byte -> 1. */
segloss_status segloss__load_labels(int64_t *dst, const void *src, segloss_dtype dtype,
                                    int64_t off, int64_t n);

/* dst[i] |= bit where the element src[off + i] matches: equals `label`
 * (match_nonzero == 0, values read as segloss__load_labels does) or is
 * nonzero (match_nonzero != 0). */
void segloss__mask_row(uint8_t *dst, const void *src, segloss_dtype dtype, int64_t off,
                       int64_t n, int64_t label, int match_nonzero, uint8_t bit);

/* Squared EDT on a box of dims m[3] (C order) with spacing sp[3]: features
 * are the voxels with (flags[i] & feat) != 0; d receives the squared
 * distance to the nearest feature (+inf if none). When query != 0, values
 * are guaranteed only at voxels with (flags[i] & query) != 0 (lines of the
 * last pass without such a voxel are skipped). work:
 * segloss__edt_work_doubles(max(m)) doubles, iwork: max(m) int64. */
#define SEGLOSS__EDT_BLOCK 16
static inline size_t segloss__edt_work_doubles(int64_t mx) {
    return (size_t)(2 * SEGLOSS__EDT_BLOCK + 1) * (size_t)mx + 2;
}
void segloss__edt_box(double *d, const uint8_t *flags, uint8_t feat, uint8_t query,
                      const int64_t m[3], const double sp[3], double *work, int64_t *iwork);

/* k-th smallest (0-based) of x[0..n) moved to x[k]; x[0..k) <= x[k] <=
 * x[k+1..n). Expected O(n); worst case O(n log n) (falls back to sorting). */
void segloss__select(double *x, int64_t n, int64_t k);

/* numpy.percentile(x, p), 'linear' method; n >= 1; reorders x. */
double segloss__percentile(double *x, int64_t n, double p);

/* Resolved metric options. */
typedef struct segloss__mopts {
    double percentile;
    double tolerance;
    segloss_hd95_variant variant;
    segloss_empty_score empty_score;
    segloss_empty_distance empty_distance;
} segloss__mopts;

segloss_status segloss__mopts_init(segloss__mopts *m, const segloss_metric_opts *opts);

/* Value for a 0/0 score under the empty-score rule. */
double segloss__empty_value(segloss_empty_score e);

/* Surface metrics of one label on grid g inside the padded half-open box
 * [lo, hi) that contains every voxel of A and B. */
segloss_status segloss__surface_box(segloss_surface_metrics *out, const segloss__grid *g,
                                    const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo);

#endif
