/* Exact squared Euclidean distance transform with anisotropic spacing.
 *
 * Separable algorithm of Felzenszwalb & Huttenlocher ("Distance Transforms
 * of Sampled Functions", 2012): D(x) = min_y sum_a s_a^2 (x_a - y_a)^2 over
 * feature voxels y factorises into one 1-D problem per axis,
 *   g_a(p) = min_q [ g_{a+1}(q) + s_a^2 (p - q)^2 ],
 * the lower envelope of parabolas rooted at the finite samples, found in
 * O(n) per line. The innermost axis starts from the binary features, where
 * the 1-D transform is a forward and a backward scan. Each output is f[q] +
 * (s*(p-q))^2 for an actual candidate q, in double: for integer spacing the
 * values are exact integers; otherwise they are within a few ulp of the
 * brute-force minimum (rounding can only matter where two candidates tie).
 *
 * Restricting the transform to a sub-box is exact for every voxel of the box
 * as long as all features lie inside it: the minimum over features is then
 * a minimum over the box, and the factorisation holds on any box.
 *
 * The passes are exposed in pieces (metric.h) so that the surface metrics
 * (surface.c) can run them only where they are needed; segloss__edt_box
 * (behind segloss_edt_squared) chains them into the whole transform. What
 * the pieces skip changes no output bit: every value computed comes from
 * the same envelope of the same candidates, in the same arithmetic, as the
 * plain three-pass transform.
 *  - After the axis-2 scans a row is finite everywhere if it holds a
 *    feature and +inf everywhere otherwise, so the candidates of every
 *    axis-1 line of a plane are the same rows: those holding a feature
 *    (rowor). Only these are gathered; rows without a feature are never
 *    written. Likewise, after the axis-1 pass a plane is finite everywhere
 *    or (no feature in the plane) +inf everywhere, so the candidates of every
 *    axis-0 line are the planes holding a feature; other planes are skipped
 *    entirely.
 *  - Rows are scanned from the list of their features (values from a table
 *    of (s*k)^2, the same products), and envelopes are evaluated without a
 *    branch per position. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

/* Lower envelope of the parabolas f[c] + (s*(p - pos[c]))^2, c < nc, for
 * strictly increasing pos and finite f (nc >= 1). Segment k is the parabola
 * rooted at vp[k] with height vf[k], minimal on [z[k], z[k+1]]; z[0] = -inf,
 * z[count] = +inf. Returns count. Positions are small integers held in
 * doubles, so sums and differences of them are exact (the same values as
 * converting the integer results). */
static int64_t envelope(const double *f, const double *pos, int64_t nc, double s2, double *vp,
                        double *vf, double *z) {
    const double s22 = 2.0 * s2;
    int64_t k = -1;
    for (int64_t c = 0; c < nc; c++) {
        const double fq = f[c], q = pos[c];
        double x = -INFINITY;
        while (k >= 0) {
            const double vk = vp[k];
            /* abscissa where the parabolas of vk and q meet, in index units,
             * written around the midpoint to avoid cancellation of q^2 - v^2 */
            x = 0.5 * (q + vk) + (fq - vf[k]) / (s22 * (q - vk));
            if (x > z[k]) break;
            k--;
        }
        if (k < 0) x = -INFINITY;
        k++;
        vp[k] = q;
        vf[k] = fq;
        z[k] = x;
    }
    z[k + 1] = INFINITY;
    return k + 1;
}

/* Axis-2 transform of one row holding at least one feature: the squared
 * distance to the nearest feature in the row, sq[k] = (s*k)^2 being the
 * value at k voxels. Between two features a < b the value is the smaller of
 * sq[k-a] and sq[b-k]; before the first and after the last, the one side.
 * fp: n2 + 1 ints. */
static void row_scan(double *dr, const uint8_t *fl, uint8_t feat, int64_t n2, const double *sq,
                     int64_t *fp) {
    int64_t nf = 0;
    for (int64_t k = 0; k < n2; k++) {
        fp[nf] = k;
        nf += (fl[k] & feat) != 0;
    }
    int64_t a = fp[0];
    for (int64_t k = 0; k < a; k++) dr[k] = sq[a - k];
    for (int64_t i = 1; i < nf; i++) {
        const int64_t b = fp[i];
        dr[a] = 0.0;
        for (int64_t k = a + 1; k < b; k++) {
            const double u = sq[k - a], v = sq[b - k];
            dr[k] = v < u ? v : u;
        }
        a = b;
    }
    dr[a] = 0.0;
    for (int64_t k = a + 1; k < n2; k++) dr[k] = sq[k - a];
}

/* out[p*stride] = lower envelope at p, for p < n: the segment of p is the
 * last one with z[j] < p (z increases strictly), found without a branch per
 * position: own[first integer above z[j]] = j, then a running maximum.
 * own: n + 2 ints. */
static void eval_all(double *out, int64_t stride, int64_t n, double s, const double *vp,
                     const double *vf, const double *z, int64_t cnt, int64_t *own) {
    const double dn = (double)n;
    for (int64_t p = 0; p <= n; p++) own[p] = 0;
    for (int64_t j = 1; j < cnt; j++) {
        const double zj = z[j] < dn ? z[j] : dn; /* first p > zj, capped at n + 1 */
        own[zj < 0.0 ? 0 : (int64_t)zj + 1] = j;
    }
    int64_t j = 0;
    for (int64_t p = 0; p < n; p++) {
        j = own[p] > j ? own[p] : j;
        const double t = s * ((double)p - vp[j]);
        out[p * stride] = vf[j] + t * t;
    }
}

/* Axis-1 pass of one plane dp (m1 x m2) whose candidate rows are rows[0..nr)
 * (nr >= 1, pos: the same as doubles): every value of the plane is
 * rewritten. Columns are handled SEGLOSS__EDT_BLOCK at a time so the
 * strided gather reads whole cache lines; the envelope of each column is
 * evaluated straight into the plane. */
static void plane_pass(double *dp, int64_t m1, int64_t m2, const int64_t *rows,
                       const double *pos, int64_t nr, double s, double *f, double *vp,
                       double *vf, double *z, int64_t *own) {
    enum { B = SEGLOSS__EDT_BLOCK };
    const double s2 = s * s;
    for (int64_t c0 = 0; c0 < m2; c0 += B) {
        const int64_t nb = m2 - c0 < B ? m2 - c0 : B;
        for (int64_t c = 0; c < nr; c++) {
            const double *src = dp + rows[c] * m2 + c0;
            for (int64_t b = 0; b < nb; b++) f[b * nr + c] = src[b];
        }
        for (int64_t b = 0; b < nb; b++) {
            int64_t cnt = envelope(f + b * nr, pos, nr, s2, vp, vf, z);
            eval_all(dp + c0 + b, m2, m1, s, vp, vf, z, cnt, own);
        }
    }
}

int64_t segloss__edt_rows(double *d, uint8_t *pfeat, int64_t *planes, int64_t *prows,
                          const uint8_t *flags, uint8_t feat, const int64_t m[3],
                          const double sp[3], const uint8_t *rowor, double *work,
                          int64_t *iwork) {
    const int64_t m0 = m[0], m1 = m[1], m2 = m[2];
    double *sq = work;
    int64_t *fp = iwork;
    for (int64_t k = 0; k < m2; k++) {
        const double t = sp[2] * (double)k;
        sq[k] = t * t;
    }
    int64_t np = 0;
    for (int64_t i0 = 0; i0 < m0; i0++) {
        int64_t nr = 0;
        for (int64_t i1 = 0; i1 < m1; i1++) {
            const int64_t r = i0 * m1 + i1;
            if (!(rowor[r] & feat)) continue;
            row_scan(d + r * m2, flags + r * m2, feat, m2, sq, fp);
            nr++;
        }
        pfeat[i0] = nr > 0;
        if (prows) prows[i0] = nr;
        if (nr) planes[np++] = i0;
    }
    return np;
}

void segloss__edt_plane(double *dp, const uint8_t *ro, uint8_t feat, int64_t m1, int64_t m2,
                        double s1, double *work, int64_t *iwork) {
    if (m1 == 1) return; /* the row is the plane */
    enum { B = SEGLOSS__EDT_BLOCK };
    const int64_t mx = m1 > m2 ? m1 : m2;
    double *f = work, *vf = work + B * mx, *z = vf + mx, *vp = z + mx + 1, *rpos = vp + mx;
    int64_t *rows = iwork, *own = iwork + mx;
    int64_t nr = 0;
    for (int64_t i1 = 0; i1 < m1; i1++) {
        if (ro[i1] & feat) {
            rows[nr] = i1;
            rpos[nr++] = (double)i1;
        }
    }
    plane_pass(dp, m1, m2, rows, rpos, nr, s1, f, vp, vf, z, own);
}

void segloss__edt_column(double *col, const uint8_t *fcol, uint8_t query, int64_t from,
                         int64_t m0, int64_t stride, const int64_t *planes, int64_t np, double s,
                         double *work) {
    double *f = work, *ppos = f + np, *vf = ppos + np, *vp = vf + np, *z = vp + np;
    for (int64_t c = 0; c < np; c++) {
        f[c] = col[planes[c] * stride];
        ppos[c] = (double)planes[c];
    }
    envelope(f, ppos, np, s * s, vp, vf, z);
    int64_t j = 0;
    for (int64_t p = from; p < m0; p++) {
        if (!(fcol[p * stride] & query)) continue;
        const double x = (double)p;
        while (z[j + 1] < x) j++;
        const double t = s * (x - vp[j]);
        col[p * stride] = vf[j] + t * t;
    }
}

void segloss__edt_box(double *d, const uint8_t *flags, uint8_t feat, const int64_t m[3],
                      const double sp[3], const uint8_t *rowor, double *work, int64_t *iwork) {
    enum { B = SEGLOSS__EDT_BLOCK };
    const int64_t m0 = m[0], m1 = m[1], plane = m[1] * m[2];
    const int64_t mx = segloss__edt_mx(m);
    /* iwork: [0, 2mx + 2) scratch of the passes, then planes, then pfeat */
    int64_t *planes = iwork + 2 * mx + 2;
    uint8_t *pfeat = (uint8_t *)(planes + mx);
    const int64_t np =
        segloss__edt_rows(d, pfeat, planes, NULL, flags, feat, m, sp, rowor, work, iwork);
    if (np == 0) { /* no feature: +inf everywhere */
        for (int64_t i = 0; i < m0 * plane; i++) d[i] = INFINITY;
        return;
    }
    for (int64_t c = 0; c < np; c++)
        segloss__edt_plane(d + planes[c] * plane, rowor + planes[c] * m1, feat, m1, m[2], sp[1],
                           work, iwork);
    if (m0 == 1) return; /* the one plane is done */
    /* axis 0 over the planes with a feature (every other plane would be
     * +inf after the axis-1 pass, so it is no candidate) */
    double *f = work, *vf = work + B * mx, *z = vf + mx, *vp = z + mx + 1, *ppos = vp + mx;
    int64_t *own = iwork;
    for (int64_t c = 0; c < np; c++) ppos[c] = (double)planes[c];
    const double s = sp[0], s2 = s * s;
    for (int64_t c0 = 0; c0 < plane; c0 += B) {
        const int64_t nb = plane - c0 < B ? plane - c0 : B;
        for (int64_t c = 0; c < np; c++) {
            const double *src = d + planes[c] * plane + c0;
            for (int64_t b = 0; b < nb; b++) f[b * np + c] = src[b];
        }
        for (int64_t b = 0; b < nb; b++) {
            int64_t cnt = envelope(f + b * np, ppos, np, s2, vp, vf, z);
            eval_all(d + c0 + b, plane, m0, s, vp, vf, z, cnt, own);
        }
    }
}

segloss_status segloss_edt_squared(double *out, const uint8_t *feat, const segloss_shape *shape,
                                   const double *spacing) {
    if (!out || !feat || !shape) return SEGLOSS_ERR_NULL;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, spacing);
    if (st != SEGLOSS_OK) return st;
    const int64_t mx = segloss__edt_mx(g.n);
    const int64_t nrows = g.n[0] * g.n[1];
    double *work = malloc(segloss__edt_work_doubles(mx) * sizeof *work);
    int64_t *iwork = malloc(segloss__edt_iwork(mx) * sizeof *iwork);
    uint8_t *rowor = malloc((size_t)nrows);
    if (!work || !iwork || !rowor) {
        free(work);
        free(iwork);
        free(rowor);
        return SEGLOSS_ERR_NOMEM;
    }
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *fr = feat + r * g.n[2];
        uint8_t o = 0;
        for (int64_t k = 0; k < g.n[2]; k++) o |= fr[k];
        rowor[r] = o;
    }
    segloss__edt_box(out, feat, 0xFF, g.n, g.sp, rowor, work, iwork);
    free(work);
    free(iwork);
    free(rowor);
    return SEGLOSS_OK;
}
