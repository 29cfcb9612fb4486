/* clDice, the centre-line Dice of Shit et al. (CVPR 2021), as Metrics
 * Reloaded computes it (metrics/pairwise_measures.py, centreline_dsc,
 * topology_precision, topology_sensitivity; skeletons by scikit-image's
 * `skeletonize`: skeleton2d.c in 2-D, skeleton3d.c in 3-D):
 *   tprec  = |S(A) n B| / |S(A)|,  tsens = |S(B) n A| / |S(B)|,
 *   cldice = 2 tsens tprec / (tsens + tprec)
 * with S(X) the skeleton of X. Undefined (NaN): a skeleton is empty (so
 * whenever exactly one mask is empty), or tprec = tsens = 0 (0/0, as
 * NumPy divides). Both masks empty: the empty score (Metrics Reloaded
 * means to return 1 there, but its test `self.n_pos_pred == 0` compares a
 * method with 0 and never holds, so it returns NaN: the default). Rank 1:
 * NaN (skimage has no 1-D skeleton).
 *
 * Both skeletons are local operations on a zero-padded image and scan it
 * in raster order, so computing them on the box of A u B with one voxel of
 * zero padding gives the skeleton of the whole image, voxel for voxel. The
 * one global input is whether the image has a single plane (3-D images of
 * depth 1 thin with four directions, as skimage decides from the image's
 * shape, not the box's). */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

enum { BIT_A = 1, BIT_B = 2 };

/* Skeleton of the voxels of fl carrying `bit` (box dims m, rank ndim):
 * counts its voxels and those of them that carry `other`. */
static segloss_status skeleton_counts(int64_t cnt[2], uint8_t *buf, const uint8_t *fl,
                                      const int64_t m[3], const segloss__grid *g, uint8_t bit,
                                      uint8_t other) {
    const int two = g->ndim == 2;
    const int64_t p0 = two ? 1 : m[0] + 2, p1 = m[1] + 2, p2 = m[2] + 2;
    const int64_t lo0 = two ? 0 : 1;
    memset(buf, 0, (size_t)(p0 * p1 * p2));
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            uint8_t *dst = buf + ((i0 + lo0) * p1 + i1 + 1) * p2 + 1;
            for (int64_t k = 0; k < m[2]; k++) dst[k] = (row[k] & bit) != 0;
        }
    segloss_status st;
    if (two) {
        st = segloss__skeleton2d(buf, p1, p2);
    } else {
        const int64_t pn[3] = {p0, p1, p2};
        st = segloss__skeleton3d(buf, pn, g->n[0] == 1 ? 4 : 6);
    }
    if (st != SEGLOSS_OK) return st;
    int64_t s = 0, hit = 0;
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            const uint8_t *sk = buf + ((i0 + lo0) * p1 + i1 + 1) * p2 + 1;
            for (int64_t k = 0; k < m[2]; k++) {
                s += sk[k];
                hit += sk[k] & ((row[k] & other) != 0);
            }
        }
    cnt[0] = s;
    cnt[1] = hit;
    return SEGLOSS_OK;
}

segloss_status segloss__cldice_box(double *out, const uint8_t *fl, const int64_t m[3],
                                   const segloss__grid *g, int64_t nA, int64_t nB,
                                   const segloss__mopts *mo) {
    *out = NAN;
    if (nA == 0 && nB == 0) {
        *out = segloss__empty_value(mo->empty_score);
        return SEGLOSS_OK;
    }
    if (nA == 0 || nB == 0 || g->ndim < 2) return SEGLOSS_OK;
    const int64_t nbuf = (g->ndim == 2 ? 1 : m[0] + 2) * (m[1] + 2) * (m[2] + 2);
    uint8_t *buf = malloc((size_t)nbuf);
    if (!buf) return SEGLOSS_ERR_NOMEM;
    int64_t a[2], b[2];
    segloss_status st = skeleton_counts(a, buf, fl, m, g, BIT_A, BIT_B);
    if (st == SEGLOSS_OK) st = skeleton_counts(b, buf, fl, m, g, BIT_B, BIT_A);
    free(buf);
    if (st != SEGLOSS_OK) return st;
    if (a[0] == 0 || b[0] == 0) return SEGLOSS_OK;
    const double tprec = (double)a[1] / (double)a[0], tsens = (double)b[1] / (double)b[0];
    const double den = tsens + tprec;
    if (den > 0.0) *out = 2.0 * tsens * tprec / den;
    return SEGLOSS_OK;
}
