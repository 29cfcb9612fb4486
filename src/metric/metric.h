/* Private helpers of the label-map metrics (src/metric/). */
#ifndef SEGLOSS_METRIC_H
#define SEGLOSS_METRIC_H

#include "core/internal.h"

/* Sum over the 8 bytes of x, each 0 or 1 (the product gathers the byte sum
 * in the top byte, whatever the byte order). */
static inline int64_t segloss__byte_count(uint64_t x) {
    return (int64_t)((x * 0x0101010101010101ULL) >> 56);
}

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
/* dst[i] = (pred matches) | (ref matches) << 1, both arrays of `dtype`
 * (the same as two segloss__mask_row calls on a zeroed row, in one pass). */
void segloss__mask_row2(uint8_t *dst, const void *pred, const void *ref, segloss_dtype dtype,
                        int64_t off, int64_t n, int64_t label, int match_nonzero);

/* Squared EDT on a box of dims m[3] (C order) with spacing sp[3], in
 * pieces; features are the voxels with (flags[i] & feat) != 0, and
 * rowor[i0*m[1] + i1] must be the OR of the flags of row (i0, i1). work:
 * segloss__edt_work_doubles(mx) doubles, iwork: segloss__edt_iwork(mx)
 * int64, mx = segloss__edt_mx(m) (the same scratch serves every piece).
 *
 * segloss__edt_rows: axis 2. Every row holding a feature receives the
 * squared distance to the nearest feature of the row (rows without one are
 * not written: they stand for +inf). pfeat[i0] = 1 if plane i0 holds a
 * feature, else 0; planes[] lists those planes, prows[i0] (if not NULL)
 * counts their rows with a feature. Returns the number of such planes.
 *
 * segloss__edt_plane: axis 1 of one plane dp = d + i0*m1*m2 holding a
 * feature (ro = rowor + i0*m1, s1 = sp[1]), after segloss__edt_rows: every
 * value of the plane becomes the squared distance to the nearest feature
 * of that plane (the 2-D transform).
 *
 * With every plane so done, the full transform at (i0, i1, i2) is
 *   min over planes i0' with a feature of d[i0', i1, i2] + (sp[0]*(i0-i0'))^2
 * (segloss__edt_column below, or a search). segloss__edt_box does all of it:
 * d[i] = squared distance to the nearest feature (+inf if none). */
#define SEGLOSS__EDT_BLOCK 16
static inline int64_t segloss__edt_mx(const int64_t m[3]) {
    int64_t mx = m[0] > m[1] ? m[0] : m[1];
    return m[2] > mx ? m[2] : mx;
}
static inline size_t segloss__edt_work_doubles(int64_t mx) {
    return (size_t)(SEGLOSS__EDT_BLOCK + 6) * (size_t)mx + 2;
}
static inline size_t segloss__edt_iwork(int64_t mx) { return 4 * (size_t)mx + 3; }
int64_t segloss__edt_rows(double *d, uint8_t *pfeat, int64_t *planes, int64_t *prows,
                          const uint8_t *flags, uint8_t feat, const int64_t m[3],
                          const double sp[3], const uint8_t *rowor, double *work,
                          int64_t *iwork);
void segloss__edt_plane(double *dp, const uint8_t *ro, uint8_t feat, int64_t m1, int64_t m2,
                        double s1, double *work, int64_t *iwork);
void segloss__edt_box(double *d, const uint8_t *flags, uint8_t feat, const int64_t m[3],
                      const double sp[3], const uint8_t *rowor, double *work, int64_t *iwork);
/* Axis 0 by the lower envelope for one column, every plane with a feature
 * done by segloss__edt_plane: col[i0*stride] (i0 < m0) is the column of d,
 * planes[0..np) the planes with a feature (np >= 1), s = sp[0]; for every i0 in [from, m0) with
 * (fcol[i0*stride] & query) != 0, col[i0*stride] becomes the full squared
 * distance (those entries are no longer 2-D values afterwards). work:
 * 5*np + 1 doubles. */
void segloss__edt_column(double *col, const uint8_t *fcol, uint8_t query, int64_t from,
                         int64_t m0, int64_t stride, const int64_t *planes, int64_t np, double s,
                         double *work);

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
    double beta;
    double boundary_width;
    unsigned mask_metrics;  /* SEGLOSS_MASK_* */
    int distances;          /* the surface distances are wanted */
    segloss_surface_kind surface;
    segloss_convention conv; /* whose empty-mask values (convention.c) */
} segloss__mopts;

segloss_status segloss__mopts_init(segloss__mopts *m, const segloss_metric_opts *opts);
/* The options against the grid: surfels need 2 or 3 axes when distances
 * are computed (SEGLOSS_ERR_ARG otherwise, whatever the masks hold). */
segloss_status segloss__mopts_grid_check(const segloss__mopts *m, const segloss__grid *g);

/* convention.c: a known convention; the empty-mask values of a tool,
 * applied over segloss's own (NaN) values of the overlap scores, of the
 * surface metrics when pred (nA voxels) or ref (nB) is empty, and of the
 * mask metrics picked by `want`. */
int segloss__convention_valid(segloss_convention c);
/* EvaluateSegmentation's distances and Mahalanobis distance replace
 * segloss's (segloss__evalseg_box) */
int segloss__convention_evalseg_distances(const segloss__mopts *mo);
/* boundary_iou's width is counted in voxels (Metrics Reloaded) */
int segloss__convention_width_in_voxels(segloss_convention c);
void segloss__convention_overlap(segloss_overlap_scores *o, const segloss_confusion *c,
                                 segloss_convention conv);
void segloss__convention_surface(segloss_surface_metrics *out, int64_t nA, int64_t nB,
                                 segloss_convention conv);
void segloss__convention_mask(segloss_mask_metrics *out, int64_t nA, int64_t nB, unsigned want,
                              segloss_convention conv);

/* Value for a 0/0 score under the empty-score rule. */
double segloss__empty_value(segloss_empty_score e);

/* The confusion-derived scores and volumes of *o (mcc .. vol_diff) from c
 * (scores2.c). */
void segloss__confusion_scores(segloss_overlap_scores *o, const segloss_confusion *c,
                               segloss_empty_score e, double beta, double voxel_volume);

/* EvaluateSegmentation's count-based scores of *o (gce .. auc) from c
 * (evalseg.c). */
void segloss__evalseg_scores(segloss_overlap_scores *o, const segloss_confusion *c,
                             segloss_empty_score e);

/* EvaluateSegmentation's own values of the scores it has (evalseg.c):
 * NaN for a mask it refuses (empty or full), icc and pbd on 0/255. */
void segloss__evalseg_as_tool(segloss_overlap_scores *o, const segloss_confusion *c);

/* EvaluateSegmentation's hd, hd95, masd, directed maxima and means (when
 * mo->distances) and mahalanobis (when mask and mo->mask_metrics asks),
 * over *out and *mask as segloss__surface_box left them, for one label of
 * grid g whose voxels lie in the box [lo, hi) (evalseg_dist.c). */
segloss_status segloss__evalseg_box(segloss_surface_metrics *out, segloss_mask_metrics *mask,
                                    const segloss__grid *g, const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo);

/* The image diagonal sqrt(sum_d (n[d]*sp[d])^2), physical units: the value
 * of an undefined distance under SEGLOSS_EMPTY_DISTANCE_DIAG. */
double segloss__grid_diagonal(const segloss__grid *g);

/* The mask metrics picked by mo->mask_metrics (the rest NaN) of a box of
 * flags fl (dims m) where bit 1 marks
 * A, bit 2 B, bit 4 S(A), bit 8 S(B) (as segloss__surface_box leaves
 * them), with rowor[i0*m1 + i1] the OR of row (i0, i1); nA, nB: |A|, |B|.
 * d: nb doubles, work/iwork: EDT scratch for this box (shape.c). May set
 * bits 16 and 32 of fl. */
void segloss__mask_box(segloss_mask_metrics *out, uint8_t *fl, const uint8_t *rowor,
                       const int64_t m[3], const segloss__grid *g, int64_t nA, int64_t nB,
                       const segloss__mopts *mo, double *d, double *work, int64_t *iwork);

/* clDice (cldice.c) of a box of flags fl (dims m; bit 1 A, bit 2 B, other
 * bits ignored) holding every voxel of A and B, nA = |A|, nB = |B|. */
segloss_status segloss__cldice_box(double *out, const uint8_t *fl, const int64_t m[3],
                                   const segloss__grid *g, int64_t nA, int64_t nB,
                                   const segloss__mopts *mo);
/* Skeletons as scikit-image 0.19.3 computes them, in place on 0/1 images
 * with a zero border of one voxel: skeleton2d.c (`skeletonize` of a 2-D
 * image, h x w pixels border included) and skeleton3d.c (`skeletonize_3d`,
 * dims n border included; n_dirs 4 for an image of a single plane, else
 * 6). */
segloss_status segloss__skeleton2d(uint8_t *im, int64_t h, int64_t w);
segloss_status segloss__skeleton3d(uint8_t *im, const int64_t n[3], int n_dirs);
/* The 3-D skeleton of the voxels of a box of flags fl (dims m, no border)
 * carrying `bit` (a single bit), as segloss__skeleton3d computes it on the
 * box with a zero border: cnt[0] = its voxels, cnt[1] = those of them
 * carrying `other`. */
segloss_status segloss__skeleton3d_count(int64_t cnt[2], const uint8_t *fl, const int64_t m[3],
                                         uint8_t bit, uint8_t other, int n_dirs);

/* Scratch buffers of the surface metrics, grown on demand and kept between
 * labels (one per thread), so a run over many labels allocates (and the
 * kernel zeroes pages) once, not once per label. Zero-initialise; release
 * with segloss__ws_free. */
#define SEGLOSS__WS_SLOTS 16
typedef struct segloss__ws {
    void *p[SEGLOSS__WS_SLOTS];
    size_t cap[SEGLOSS__WS_SLOTS];
} segloss__ws;
void segloss__ws_free(segloss__ws *w);

/* Surface metrics (when mo->distances; else *out holds only the surface
 * counts) and, when mask is not NULL, the mask metrics of one label on grid
 * g inside the padded half-open box [lo, hi) that contains every voxel of
 * A and B: one pass builds the flags and surfaces both use. ws: scratch to
 * reuse, or NULL for a temporary one. */
segloss_status segloss__surface_box(segloss_surface_metrics *out, segloss_mask_metrics *mask,
                                    const segloss__grid *g, const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo, segloss__ws *ws);

/* Surfel surface metrics (surfel.c) of a box of flags fl (dims m, bit 1
 * A, bit 2 B; other bits ignored) holding every voxel of A and B, both
 * non-empty; ranks 2 and 3 only (else SEGLOSS_ERR_ARG). Sets every field
 * of *out (n_surface_*: the surfel counts). */
segloss_status segloss__surfel_box(segloss_surface_metrics *out, const uint8_t *fl,
                                   const int64_t m[3], const segloss__grid *g,
                                   const segloss__mopts *mo);

/* Foreground runs of a label map, the sparse form of instance evaluation
 * (src/metric/runs.c). Row r = i0*n[1] + i1 of the padded grid holds runs
 * row_start[r] .. row_start[r+1]-1, each columns [start, end) of one
 * component comp (1..count), in increasing start: scan order. Memory
 * O(rows + runs), never O(voxels). */
typedef struct segloss__runs {
    int64_t nrows;
    int64_t *row_start;   /* [nrows + 1] */
    int64_t n, cap;
    int64_t *start, *end;
    int64_t *val;         /* ID of each run (ID maps), else NULL */
    int32_t *comp;
    int64_t count;
} segloss__runs;

/* mode: SEGLOSS__RUNS_LABEL (voxels == label), _NONZERO (voxels != 0) or
 * _IDS (maximal runs of one nonzero value; comp set by
 * segloss__runs_number_ids or, for maps that already hold 1..count,
 * by segloss__runs_ids_as_given). mask (may be NULL): voxels with
 * mask[i] == 0 are background. */
enum { SEGLOSS__RUNS_LABEL = 0, SEGLOSS__RUNS_NONZERO = 1, SEGLOSS__RUNS_IDS = 2 };
segloss_status segloss__runs_build(segloss__runs *r, const segloss__grid *g,
                                   const segloss_label_array *a, int64_t label, int mode,
                                   const uint8_t *mask);
/* Connected components of the runs (rank connectivity conn, 1..ndim):
 * comp = 1..count in scan order of first voxel. */
segloss_status segloss__runs_label(segloss__runs *r, const segloss__grid *g, int conn);
/* IDs -> 1..count in increasing ID. */
segloss_status segloss__runs_number_ids(segloss__runs *r);
/* comp = the value itself (values must lie in 1..count: else SEGLOSS_ERR_ARG). */
segloss_status segloss__runs_ids_as_given(segloss__runs *r, int64_t count);
/* Components of fewer than min_size voxels dropped (their runs removed),
 * the others renumbered in order. */
segloss_status segloss__runs_drop_small(segloss__runs *r, int64_t min_size);
/* labels[i] = component of voxel i, 0 elsewhere (every voxel written). */
void segloss__runs_write(int32_t *labels, const segloss__runs *r, const segloss__grid *g);
void segloss__runs_free(segloss__runs *r);

/* Exact min-cost assignment of an n x m cost matrix a (row-major, n <= m):
 * row_of_col[j] for j = 1..m is the 1-based row assigned to column j, 0
 * when free (row_of_col has m + 1 entries; [0] is scratch). hungarian.c. */
segloss_status segloss__hungarian(int64_t *row_of_col, const double *a, int64_t n, int64_t m);

/* Matching of two labelled run sets (src/metric/matching.c); opts already
 * checked; dist: surface metrics of every row (NULL: none, hd95 NaN). */
segloss_status segloss__match_runs(segloss_instance_metrics *out, segloss_instance_pair **pairs,
                                   int64_t *n_pairs, const segloss__runs *ref,
                                   const segloss__runs *pred, const segloss__grid *g,
                                   const segloss_instance_opts *o,
                                   const segloss_metric_opts *dist);

#endif
