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
 * S(X) itself and no transform is needed; for a w a little larger, each
 * voxel of X searches the few voxel offsets closer than w for one of S(X);
 * otherwise an exact EDT of S(X) on the box gives d(x, S(X)) at every x of
 * the box (S(X) lies in it). The comparison is made on sqrt(d^2) < w as
 * scipy's distances are.
 *
 * com_dist. c(X) = the mean index of the voxels of X per axis
 * (scipy.ndimage.center_of_mass of the mask); the distance is
 * sqrt(sum_a (sp[a] * (c_a(A) - c_a(B)))^2) (Metrics Reloaded's com_dist
 * with pixdim). Index sums are exact in doubles (< 2^53). */
#include "metric/metric.h"

#include <math.h>
#include <string.h>

enum { BIT_A = 1, BIT_B = 2, BIT_SA = 4, BIT_SB = 8, BIT_AW = 16, BIT_BW = 32 };

/* Voxel count, index sums and index cross-product sums of one mask of the
 * box (box coordinates: means and covariances do not depend on the
 * corner). */
typedef struct moments {
    double n, s[3], ss[3][3];
} moments;

static void box_moments(moments mo[2], const uint8_t *fl, const uint8_t *rowor,
                        const int64_t m[3], int second) {
    memset(mo, 0, 2 * sizeof *mo);
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            for (int x = 0; x < 2; x++) {
                const uint8_t bit = x ? BIT_B : BIT_A;
                if (!(rowor[i0 * m[1] + i1] & bit)) continue;
                /* branch-free integer sums (exact: k^2 * m2 < 2^63) */
                int64_t ci = 0, k1i = 0, k2i = 0;
                for (int64_t k = 0; k < m[2]; k++) {
                    const int64_t on = (row[k] & bit) != 0;
                    ci += on;
                    k1i += on * k;
                    k2i += on * k * k;
                }
                if (ci == 0) continue;
                const double c = (double)ci, k1 = (double)k1i, k2 = (double)k2i;
                moments *q = &mo[x];
                const double i[2] = {(double)i0, (double)i1};
                q->n += c;
                q->s[0] += c * i[0];
                q->s[1] += c * i[1];
                q->s[2] += k1;
                if (!second) continue;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) q->ss[a][b] += c * i[a] * i[b];
                q->ss[0][2] += i[0] * k1;
                q->ss[1][2] += i[1] * k1;
                q->ss[2][2] += k2;
            }
        }
    for (int x = 0; x < 2; x++) {
        mo[x].ss[2][0] = mo[x].ss[0][2];
        mo[x].ss[2][1] = mo[x].ss[1][2];
    }
}

static double com_dist(const moments mo[2], const segloss__grid *g) {
    double s = 0.0;
    for (int a = 0; a < 3; a++) {
        const double e = g->sp[a] * (mo[0].s[a] / mo[0].n - mo[1].s[a] / mo[1].n);
        s += e * e;
    }
    return sqrt(s);
}

/* sqrt(d' C^-1 d) over the real axes, d = the difference of the means in
 * voxel indices, C = the pooled population covariance
 * (n_A C_A + n_B C_B)/(n_A + n_B) (EvaluateSegmentation's
 * MahalanobisDistanceMetric.h:180-201, 257-277). The distance does not
 * depend on the spacing (scaling an axis scales d and C alike). NaN when C
 * is singular (a mask flat along an axis, in both masks). Solved by
 * Gaussian elimination with partial pivoting. */
static double mahalanobis(const moments mo[2], const segloss__grid *g) {
    const int off = 3 - g->ndim, k = g->ndim;
    double c[3][4];
    const double nt = mo[0].n + mo[1].n;
    for (int a = 0; a < k; a++) {
        for (int b = 0; b < k; b++) {
            double v = 0.0;
            for (int x = 0; x < 2; x++) {
                const moments *q = &mo[x];
                const double ma = q->s[off + a] / q->n, mb = q->s[off + b] / q->n;
                /* n * population covariance = sum(ij) - n mean_i mean_j */
                v += q->ss[off + a][off + b] - q->n * ma * mb;
            }
            c[a][b] = v / nt;
        }
        c[a][k] = mo[1].s[off + a] / mo[1].n - mo[0].s[off + a] / mo[0].n;
    }
    double d[3];
    for (int a = 0; a < k; a++) d[a] = c[a][k];
    double scale = 0.0;
    for (int a = 0; a < k; a++) scale = fmax(scale, fabs(c[a][a]));
    for (int col = 0; col < k; col++) {
        int p = col;
        for (int r = col + 1; r < k; r++)
            if (fabs(c[r][col]) > fabs(c[p][col])) p = r;
        if (!(fabs(c[p][col]) > 1e-12 * scale)) return NAN;
        for (int j = 0; j <= k; j++) {
            const double t = c[col][j];
            c[col][j] = c[p][j];
            c[p][j] = t;
        }
        for (int r = col + 1; r < k; r++) {
            const double f = c[r][col] / c[col][col];
            for (int j = col; j <= k; j++) c[r][j] -= f * c[col][j];
        }
    }
    double x[3];
    for (int a = k - 1; a >= 0; a--) {
        double v = c[a][k];
        for (int j = a + 1; j < k; j++) v -= c[a][j] * x[j];
        x[a] = v / c[a][a];
    }
    double q = 0.0;
    for (int a = 0; a < k; a++) q += d[a] * x[a];
    return sqrt(q > 0.0 ? q : 0.0);
}

/* Offsets (along axes 0, 1, 2) of the voxels closer than w to the centre,
 * the centre excluded, when there are at most STENCIL_MAX of them: the
 * neighbourhood a voxel of X searches for a voxel of S(X). Distances are
 * summed in the EDT's order ((axis 2 + axis 1) + axis 0) and compared as
 * sqrt(d^2) < w, as the transform path does. Returns the count, or -1 for
 * a neighbourhood too large (the EDT is cheaper then). */
enum { STENCIL_MAX = 48 };

static int stencil(int (*dd)[3], const segloss__grid *g, double w) {
    int r[3];
    for (int a = 0; a < 3; a++) {
        const double q = w / g->sp[a];
        r[a] = a < 3 - g->ndim ? 0 : q >= 1e6 ? 1000000 : (int)ceil(q);
        if (r[a] > 64) return -1;
    }
    int n = 0;
    for (int i = -r[0]; i <= r[0]; i++)
        for (int j = -r[1]; j <= r[1]; j++)
            for (int k = -r[2]; k <= r[2]; k++) {
                if (!i && !j && !k) continue;
                const double e0 = g->sp[0] * i, e1 = g->sp[1] * j, e2 = g->sp[2] * k;
                if (!(sqrt((e2 * e2 + e1 * e1) + e0 * e0) < w)) continue;
                if (n == STENCIL_MAX) return -1;
                dd[n][0] = i;
                dd[n][1] = j;
                dd[n][2] = k;
                n++;
            }
    return n;
}

/* |A_w n B_w| and |A_w u B_w| by the stencil of n offsets (n = 0: X_w =
 * S(X)), one row at a time: acc (m2 bytes of scratch) gathers the surface
 * bits of the row and of its stencil neighbours in the box, then a voxel
 * of X is in X_w when acc holds S(X)'s bit. Branch-free, 8 voxels at a
 * time in a 64-bit word (flags use bits 0-3 of a byte: no carries). */
static void count_near(int64_t *inter, int64_t *uni, const uint8_t *fl, const uint8_t *rowor,
                       const int64_t m[3], const int (*dd)[3], int n, uint8_t *acc) {
    const int64_t m1 = m[1], m2 = m[2];
    int64_t in = 0, un = 0;
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m1; i1++) {
            if (!(rowor[i0 * m1 + i1] & (BIT_A | BIT_B))) continue; /* X_w lies in X */
            const uint8_t *row = fl + (i0 * m1 + i1) * m2;
            const uint64_t sbits = 0x0101010101010101ULL * (BIT_SA | BIT_SB);
            const int64_t k8 = m2 & ~(int64_t)7; /* bytes done 8 at a time */
            for (int64_t k = 0; k < k8; k += 8) {
                uint64_t v;
                memcpy(&v, row + k, 8);
                v &= sbits;
                memcpy(acc + k, &v, 8);
            }
            for (int64_t k = k8; k < m2; k++) acc[k] = row[k] & (BIT_SA | BIT_SB);
            for (int t = 0; t < n; t++) {
                const int64_t j0 = i0 + dd[t][0], j1 = i1 + dd[t][1], dk = dd[t][2];
                if (j0 < 0 || j0 >= m[0] || j1 < 0 || j1 >= m1) continue;
                if (!(rowor[j0 * m1 + j1] & (BIT_SA | BIT_SB))) continue;
                const uint8_t *src = fl + (j0 * m1 + j1) * m2 + dk;
                const int64_t lo = dk < 0 ? -dk : 0, hi = dk > 0 ? m2 - dk : m2;
                int64_t k = lo;
                for (; k + 8 <= hi; k += 8) {
                    uint64_t a, b;
                    memcpy(&a, acc + k, 8);
                    memcpy(&b, src + k, 8);
                    a |= b & sbits;
                    memcpy(acc + k, &a, 8);
                }
                for (; k < hi; k++) acc[k] |= src[k] & (BIT_SA | BIT_SB);
            }
            /* per byte, bit 0: in A_w, bit 1: in B_w (S(X)'s bit where X
             * holds the voxel) */
            int64_t ri = 0, ru = 0;
            const uint64_t low = 0x0101010101010101ULL;
            for (int64_t k = 0; k < k8; k += 8) {
                uint64_t a, v;
                memcpy(&a, acc + k, 8);
                memcpy(&v, row + k, 8);
                const uint64_t x = (a >> 2) & v & (3 * low);
                ri += segloss__byte_count(x & (x >> 1) & low);
                ru += segloss__byte_count((x | x >> 1) & low);
            }
            for (int64_t k = k8; k < m2; k++) {
                const unsigned x = (unsigned)(acc[k] >> 2) & (unsigned)row[k];
                ri += x >> 1 & x & 1u;
                ru += (x | x >> 1) & 1u;
            }
            in += ri;
            un += ru;
        }
    *inter = in;
    *uni = un;
}

/* Three ways to X_w, cheapest first: S(X) itself (w <= the smallest
 * spacing), a search of the few voxels closer than w (a small
 * neighbourhood: O(|X| * its size)), or an exact EDT of S(X) on the box. */
static double boundary_iou(uint8_t *fl, const uint8_t *rowor, const int64_t m[3],
                           const segloss__grid *g, int64_t nA, int64_t nB,
                           const segloss__mopts *mo, double *d, double *work, int64_t *iwork) {
    if (nA == 0 && nB == 0) return segloss__empty_value(mo->empty_score);
    const int64_t nb = m[0] * m[1] * m[2];
    const double w = mo->boundary_width;
    double ms = HUGE_VAL;
    for (int a = 3 - g->ndim; a < 3; a++)
        if (g->sp[a] < ms) ms = g->sp[a];
    int dd[STENCIL_MAX][3];
    const int ns = w <= ms ? 0 : stencil(dd, g, w);
    int64_t inter = 0, uni = 0;
    if (ns >= 0) {
        count_near(&inter, &uni, fl, rowor, m, (const int(*)[3])dd, ns, (uint8_t *)d);
    } else {
        segloss__edt_box(d, fl, BIT_SA, m, g->sp, rowor, work, iwork);
        for (int64_t i = 0; i < nb; i++)
            if ((fl[i] & BIT_A) && sqrt(d[i]) < w) fl[i] |= BIT_AW;
        segloss__edt_box(d, fl, BIT_SB, m, g->sp, rowor, work, iwork);
        for (int64_t i = 0; i < nb; i++)
            if ((fl[i] & BIT_B) && sqrt(d[i]) < w) fl[i] |= BIT_BW;
        for (int64_t i = 0; i < nb; i++) {
            const int x = (fl[i] & BIT_AW) != 0, y = (fl[i] & BIT_BW) != 0;
            inter += x & y;
            uni += x | y;
        }
    }
    return (double)inter / (double)uni; /* uni >= 1: a non-empty X has S(X) */
}

void segloss__mask_box(segloss_mask_metrics *out, uint8_t *fl, const uint8_t *rowor,
                       const int64_t m[3], const segloss__grid *g,
                       int64_t nA, int64_t nB, const segloss__mopts *mo, double *d,
                       double *work, int64_t *iwork) {
    out->boundary_iou = out->com_dist = out->mahalanobis = out->cldice = NAN;
    const unsigned want = mo->mask_metrics;
    if (want & (SEGLOSS_MASK_COM_DIST | SEGLOSS_MASK_MAHALANOBIS)) {
        if (nA == 0 || nB == 0) {
            /* the image diagonal stands in for the undefined distance */
            if ((want & SEGLOSS_MASK_COM_DIST) && nA != nB &&
                mo->empty_distance == SEGLOSS_EMPTY_DISTANCE_DIAG)
                out->com_dist = segloss__grid_diagonal(g);
        } else {
            moments q[2];
            box_moments(q, fl, rowor, m, (want & SEGLOSS_MASK_MAHALANOBIS) != 0);
            if (want & SEGLOSS_MASK_COM_DIST) out->com_dist = com_dist(q, g);
            if (want & SEGLOSS_MASK_MAHALANOBIS) out->mahalanobis = mahalanobis(q, g);
        }
    }
    if (mo->mask_metrics & SEGLOSS_MASK_BOUNDARY_IOU) {
        segloss__grid gw = *g;
        if (segloss__convention_width_in_voxels(mo->conv))
            gw.sp[0] = gw.sp[1] = gw.sp[2] = 1.0;
        out->boundary_iou = boundary_iou(fl, rowor, m, &gw, nA, nB, mo, d, work, iwork);
    }
    segloss__convention_mask(out, nA, nB, want, mo->conv);
}
