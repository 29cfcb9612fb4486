/* DRAFT — to be merged into segloss.h (section "Label-map metrics"). */
#ifndef SEGLOSS_METRIC_DRAFT_H
#define SEGLOSS_METRIC_DRAFT_H
#include <segloss.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Label-map metrics: per-label counts, overlap scores, surface distances    */
/* ------------------------------------------------------------------------ */
/* Volumes are label maps of spatial rank 1, 2 or 3 (C order, axis 0 first);
 * label 0 is background, every other value (negative ones included) is a
 * label. For one label L, A = {pred == L} (prediction) and B = {ref == L}
 * (reference). Definitions (SPEC §4):
 *  - surface S(X): voxels of X with a face-neighbour (2 in 1-D, 4 in 2-D, 6
 *    in 3-D) outside X; voxels on the image border are surface (X XOR
 *    erosion(X) with a zero border, as MedPy).
 *  - d(a, S): Euclidean distance between voxel centres, in physical units
 *    (spacing per axis), from an exact Euclidean distance transform.
 *  - hd   = max(max_a d(a,S(B)), max_b d(b,S(A)))  over a in S(A), b in S(B)
 *  - hd95 = P-th percentile Hausdorff (P = 95 by default), numpy.percentile
 *    'linear' interpolation: default max of the two directed percentiles
 *    (Metrics Reloaded / MONAI); POOLED: percentile of the pooled distances
 *    (MedPy's hd95).
 *  - assd = (sum_a d(a,S(B)) + sum_b d(b,S(A))) / (|S(A)| + |S(B)|) (pooled
 *    mean; MedPy's assd is the mean of the two directed means, reported as
 *    (mean_pred_to_ref + mean_ref_to_pred)/2 from the fields below).
 *  - nsd  = (#{a: d(a,S(B)) <= tau} + #{b: d(b,S(A)) <= tau}) / (|S(A)|+|S(B)|).
 * Empty masks: hd, hd95, assd and the directed means are NaN when A or B is
 * empty; with SEGLOSS_EMPTY_DISTANCE_DIAG they are the image diagonal
 * sqrt(sum_d (dim[d]*spacing[d])^2) when exactly one is empty. nsd is 0 when
 * exactly one is empty (the formula: no surface voxel is within tau of an
 * empty surface) and follows empty_score when both are.
 */

/* Integer label array: pred and ref may have different dtypes. Accepted:
 * BOOL, U8, I8, I16, U16, I32, U32, I64, U64 (U64 values above INT64_MAX give
 * SEGLOSS_ERR_DOMAIN); float dtypes give SEGLOSS_ERR_DTYPE (threshold scores
 * into a uint8 mask first). */
typedef struct segloss_label_array {
    const void *data;
    segloss_dtype dtype;
} segloss_label_array;

/* Counts and extent of one label. box_lo/box_hi: half-open bounding box of
 * the union A u B, axis 0 first; axes >= ndim have [0,1). An absent label has
 * an empty box (box_hi = box_lo = 0) and tn = numel. */
typedef struct segloss_label_stats {
    int64_t label;
    segloss_confusion conf;    /* tp, fp, fn; tn = numel - tp - fp - fn */
    int64_t box_lo[3];
    int64_t box_hi[3];
} segloss_label_stats;

/* All labels (nonzero) present in pred or ref, ascending. */
typedef struct segloss_label_set {
    segloss_label_stats *items;  /* owned; release with segloss_label_set_free */
    int64_t count;
    int64_t numel;               /* voxels scanned (summed by merges) */
} segloss_label_set;

/* One pass over pred and ref (shape rank 1..3, same shape for both): counts
 * and union bounding box of every label. *out is overwritten (call
 * segloss_label_set_free on it afterwards, also on failure). */
segloss_status segloss_label_scan(segloss_label_set *out, const segloss_label_array *pred,
                                  const segloss_label_array *ref, const segloss_shape *shape);
/* acc += other: union of the labels, counts and numel added, boxes united
 * (meaningful when both describe the same grid), tn recomputed. */
segloss_status segloss_label_set_merge(segloss_label_set *acc, const segloss_label_set *other);
/* Stats of `label` (label 0 allowed); a label absent from the set gives zero
 * counts, tn = numel and an empty box. */
void segloss_label_set_get(segloss_label_stats *out, const segloss_label_set *set,
                           int64_t label);
void segloss_label_set_free(segloss_label_set *set);

typedef enum segloss_empty_score {
    SEGLOSS_EMPTY_SCORE_NAN = 0,   /* default: a 0/0 score is NaN */
    SEGLOSS_EMPTY_SCORE_ONE = 1,
    SEGLOSS_EMPTY_SCORE_ZERO = 2
} segloss_empty_score;

typedef enum segloss_empty_distance {
    SEGLOSS_EMPTY_DISTANCE_NAN = 0,  /* default */
    SEGLOSS_EMPTY_DISTANCE_DIAG = 1  /* exactly one mask empty: image diagonal */
} segloss_empty_distance;

typedef enum segloss_hd95_variant {
    SEGLOSS_HD95_MAX = 0,     /* default: max of the two directed percentiles */
    SEGLOSS_HD95_POOLED = 1   /* percentile of the pooled distances (MedPy) */
} segloss_hd95_variant;

typedef struct segloss_metric_opts {
    double spacing[3];          /* per axis, axis 0 first; 0 means 1.0; must be
                                   finite and >= 0 */
    int custom_percentile;      /* 0: P = 95; nonzero: `percentile` in [0,100] */
    double percentile;
    int custom_tolerance;       /* 0: tau = 1; nonzero: `tolerance` >= 0 */
    double tolerance;
    segloss_hd95_variant hd95_variant;
    segloss_empty_score empty_score;
    segloss_empty_distance empty_distance;
    int distances;              /* segloss_label_metrics only: nonzero also
                                   computes the surface metrics (default:
                                   overlap only, surface fields NaN) */
    int threads;                /* segloss_label_metrics only: 0 = the
                                   library setting (segloss_set_num_threads),
                                   n > 0 = n; results never depend on it */
} segloss_metric_opts;

/* Overlap scores from counts (SPEC §4). A 0 denominator gives empty_score:
 *   dice = 2TP/(2TP+FP+FN)  iou = TP/(TP+FP+FN)  precision = TP/(TP+FP)
 *   recall = TP/(TP+FN)  specificity = TN/(TN+FP)
 *   accuracy = (TP+TN)/(TP+FP+FN+TN)  vs = 1 - |FP-FN|/(2TP+FP+FN) */
typedef struct segloss_overlap_scores {
    double dice, iou, precision, recall, specificity, accuracy, vs;
} segloss_overlap_scores;

/* Negative counts give SEGLOSS_ERR_ARG. opts may be NULL. */
segloss_status segloss_overlap_from_counts(segloss_overlap_scores *out,
                                           const segloss_confusion *c,
                                           const segloss_metric_opts *opts);

typedef struct segloss_surface_metrics {
    double hd, hd95, assd, nsd;
    double max_pred_to_ref;      /* max_a d(a,S(B)) (directed Hausdorff) */
    double max_ref_to_pred;
    double mean_pred_to_ref;     /* mean_a d(a,S(B)) */
    double mean_ref_to_pred;
    int64_t n_surface_pred;      /* |S(A)| */
    int64_t n_surface_ref;       /* |S(B)| */
} segloss_surface_metrics;

/* Surface metrics of one label. `stats` comes from segloss_label_scan of the
 * same pred/ref/shape (its box bounds the work: cost scales with the box,
 * not the volume). Thread-safe: independent labels may run in parallel. */
segloss_status segloss_surface_distances(segloss_surface_metrics *out,
                                         const segloss_label_array *pred,
                                         const segloss_label_array *ref,
                                         const segloss_shape *shape,
                                         const segloss_label_stats *stats,
                                         const segloss_metric_opts *opts);
/* The same for two binary masks (nonzero byte = foreground) of n elements. */
segloss_status segloss_surface_distances_binary(segloss_surface_metrics *out,
                                                const uint8_t *pred, const uint8_t *ref,
                                                const segloss_shape *shape,
                                                const segloss_metric_opts *opts);

typedef struct segloss_label_metrics {
    segloss_label_stats stats;
    segloss_overlap_scores overlap;
    segloss_surface_metrics surface;   /* all NaN (counts -1) unless opts->distances */
} segloss_label_metrics;

/* Metrics of n_labels labels (labels == NULL: every label of `set`, n_labels
 * must be set->count) into out[0..n_labels). `set` is the scan of the same
 * pred/ref/shape. Labels run in parallel (opts->threads); results do not
 * depend on the thread count. */
segloss_status segloss_label_metrics_compute(segloss_label_metrics *out, const int64_t *labels,
                                             int64_t n_labels, const segloss_label_set *set,
                                             const segloss_label_array *pred,
                                             const segloss_label_array *ref,
                                             const segloss_shape *shape,
                                             const segloss_metric_opts *opts);

/* Squared Euclidean distance transform: out[i] = min over nonzero feat[j] of
 * sum_d (spacing[d]*(i_d - j_d))^2, +inf when feat has no nonzero element.
 * Exact (Felzenszwalb-Huttenlocher lower envelope, linear time), rank 1..3;
 * spacing NULL means 1 on every axis. */
segloss_status segloss_edt_squared(double *out, const uint8_t *feat, const segloss_shape *shape,
                                   const double *spacing);

/* numpy.percentile(values, p) with the default 'linear' method, same bits,
 * by selection (expected O(n)); reorders values. n < 1 gives
 * SEGLOSS_ERR_EMPTY, p outside [0,100] SEGLOSS_ERR_ARG, a NaN value
 * SEGLOSS_ERR_NONFINITE (drop NaNs first, as nanpercentile would). */
segloss_status segloss_percentile_inplace(double *result, double *values, int64_t n, double p);

#ifdef __cplusplus
}
#endif
#endif
