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
    if (g->ndim != 2) return segloss__skeleton3d_count(cnt, fl, m, bit, other, g->n[0] == 1 ? 4 : 6);
    /* 2-D: m[0] == 1; the image padded by one pixel */
    const int64_t p1 = m[1] + 2, p2 = m[2] + 2;
    memset(buf, 0, (size_t)(p1 * p2));
    for (int64_t i1 = 0; i1 < m[1]; i1++) {
        const uint8_t *row = fl + i1 * m[2];
        uint8_t *dst = buf + (i1 + 1) * p2 + 1;
        for (int64_t k = 0; k < m[2]; k++) dst[k] = (row[k] & bit) != 0;
    }
    segloss_status st = segloss__skeleton2d(buf, p1, p2);
    if (st != SEGLOSS_OK) return st;
    int64_t s = 0, hit = 0;
    for (int64_t i1 = 0; i1 < m[1]; i1++) {
        const uint8_t *row = fl + i1 * m[2];
        const uint8_t *sk = buf + (i1 + 1) * p2 + 1;
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
    uint8_t *buf = NULL; /* the 2-D skeletons' padded image */
    if (g->ndim == 2 && !(buf = malloc((size_t)((m[1] + 2) * (m[2] + 2)))))
        return SEGLOSS_ERR_NOMEM;
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
