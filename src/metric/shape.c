/* Metrics of the masks' shape, from the flags of a label's bounding box that
 * the surface pass (surface.c) builds: boundary_iou and com_dist
 * (definitions in segloss.h, at segloss_mask_metrics).
 *
 * boundary_iou. X_w = {x in X: d(x, S(X)) < w}, w = boundary_width, with d
 * in physical units; Metrics Reloaded 0.1.0 (pairwise_measures.py,
 * boundary_iou) takes scipy's distance_transform_edt of the complement of
 * the border map X - erosion(X) (the surface S(X) of segloss.h) and keeps
 * the voxels of X whose distance is < w, strictly. Any voxel of X that is
 * not in S(X) lies at least the smallest spacing away from every voxel of
 * S(X), so for w <= that spacing (the default w = 1 on a unit grid) X_w is
 * S(X) itself and no transform is needed; otherwise an exact EDT of S(X)
 * on the box gives d(x, S(X)) at every x of the box (S(X) lies in it), and
 * the comparison is made on sqrt(d^2) < w as scipy's distances are.
 *
 * com_dist. c(X) = the mean index of the voxels of X per axis
 * (scipy.ndimage.center_of_mass of the mask); the distance is
 * sqrt(sum_a (sp[a] * (c_a(A) - c_a(B)))^2) (Metrics Reloaded's com_dist
 * with pixdim). Index sums are exact in doubles (< 2^53). */
#include "metric/metric.h"

#include <math.h>

enum { BIT_A = 1, BIT_B = 2, BIT_SA = 4, BIT_SB = 8, BIT_AW = 16 };

static double com_dist(const uint8_t *fl, const int64_t m[3], const segloss__grid *g,
                       int64_t nA, int64_t nB, const segloss__mopts *mo) {
    if (nA == 0 || nB == 0)
        return nA != nB && mo->empty_distance == SEGLOSS_EMPTY_DISTANCE_DIAG
                   ? segloss__grid_diagonal(g)
                   : NAN;
    double sa[3] = {0, 0, 0}, sb[3] = {0, 0, 0};
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            int64_t ca = 0, cb = 0, ka = 0, kb = 0;
            for (int64_t k = 0; k < m[2]; k++) {
                const int a = row[k] & BIT_A, b = (row[k] & BIT_B) >> 1;
                ca += a;
                cb += b;
                ka += a * k;
                kb += b * k;
            }
            sa[0] += (double)(ca * i0);
            sa[1] += (double)(ca * i1);
            sa[2] += (double)ka;
            sb[0] += (double)(cb * i0);
            sb[1] += (double)(cb * i1);
            sb[2] += (double)kb;
        }
    double s = 0.0;
    for (int a = 0; a < 3; a++) {
        /* the box corner cancels in the difference */
        const double e = g->sp[a] * (sa[a] / (double)nA - sb[a] / (double)nB);
        s += e * e;
    }
    return sqrt(s);
}

static double boundary_iou(uint8_t *fl, const uint8_t *rowor, const int64_t m[3],
                           const segloss__grid *g, int64_t nA, int64_t nB,
                           const segloss__mopts *mo, double *d, double *work, int64_t *iwork) {
    if (nA == 0 && nB == 0) return segloss__empty_value(mo->empty_score);
    const int64_t nb = m[0] * m[1] * m[2];
    const double w = mo->boundary_width;
    double ms = HUGE_VAL;
    for (int a = 3 - g->ndim; a < 3; a++)
        if (g->sp[a] < ms) ms = g->sp[a];
    int64_t inter = 0, uni = 0;
    if (w <= ms) {
        for (int64_t i = 0; i < nb; i++) {
            const int sa = (fl[i] & BIT_SA) != 0, sb = (fl[i] & BIT_SB) != 0;
            inter += sa & sb;
            uni += sa | sb;
        }
    } else {
        segloss__edt_box(d, fl, BIT_SA, m, g->sp, rowor, work, iwork);
        for (int64_t i = 0; i < nb; i++)
            if ((fl[i] & BIT_A) && sqrt(d[i]) < w) fl[i] |= BIT_AW;
        segloss__edt_box(d, fl, BIT_SB, m, g->sp, rowor, work, iwork);
        for (int64_t i = 0; i < nb; i++) {
            const int aw = (fl[i] & BIT_AW) != 0, bw = (fl[i] & BIT_B) && sqrt(d[i]) < w;
            inter += aw & bw;
            uni += aw | bw;
        }
    }
    return (double)inter / (double)uni; /* uni >= 1: a non-empty X has S(X) */
}

void segloss__mask_box(segloss_mask_metrics *out, uint8_t *fl, const uint8_t *rowor,
                       const int64_t m[3], const segloss__grid *g,
                       int64_t nA, int64_t nB, const segloss__mopts *mo, double *d,
                       double *work, int64_t *iwork) {
    out->boundary_iou = out->com_dist = NAN;
    if (mo->mask_metrics & SEGLOSS_MASK_COM_DIST) out->com_dist = com_dist(fl, m, g, nA, nB, mo);
    if (mo->mask_metrics & SEGLOSS_MASK_BOUNDARY_IOU)
        out->boundary_iou = boundary_iou(fl, rowor, m, g, nA, nB, mo, d, work, iwork);
}
