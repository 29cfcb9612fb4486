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
 * a minimum over the box, and the factorisation holds on any box. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

/* Lower envelope along one line: out[p] = min_q f[q] + (s*(p-q))^2 over q
 * with finite f[q]; +inf when there is none. v: n ints, z: n+1 doubles. */
static void fh_line(double *out, const double *f, int64_t n, double s, int64_t *v, double *z) {
    const double s2 = s * s;
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        double fq = f[q];
        if (fq == INFINITY) continue;
        double x = -INFINITY;
        while (k >= 0) {
            int64_t vk = v[k];
            /* abscissa where the parabolas of vk and q meet, in index units,
             * written around the midpoint to avoid cancellation of q^2 - v^2 */
            x = 0.5 * (double)(q + vk) + (fq - f[vk]) / (2.0 * s2 * (double)(q - vk));
            if (x > z[k]) break;
            k--;
        }
        if (k < 0) x = -INFINITY;
        k++;
        v[k] = q;
        z[k] = x;
    }
    if (k < 0) {
        for (int64_t p = 0; p < n; p++) out[p] = INFINITY;
        return;
    }
    z[k + 1] = INFINITY;
    int64_t j = 0;
    for (int64_t p = 0; p < n; p++) {
        while (z[j + 1] < (double)p) j++;
        double t = s * (double)(p - v[j]);
        out[p] = f[v[j]] + t * t;
    }
}

/* Transform along axis `axis` (0 or 1) of the box, in place. Lines are
 * handled SEGLOSS__EDT_BLOCK at a time, adjacent along the contiguous axis,
 * so the strided gather reads whole cache lines instead of one double each. */
static void pass_axis(double *d, const uint8_t *flags, uint8_t query, const int64_t m[3],
                      int axis, double s, double *work, int64_t *iwork) {
    enum { B = SEGLOSS__EDT_BLOCK };
    const int64_t len = m[axis];
    const int64_t stride = axis == 0 ? m[1] * m[2] : m[2];
    /* lines are indexed by (outer, inner): outer steps over the axes before
     * `axis`, inner over those after it (contiguous in memory) */
    const int64_t n_outer = axis == 0 ? 1 : m[0];
    const int64_t n_inner = axis == 0 ? m[1] * m[2] : m[2];
    const int64_t outer_stride = axis == 0 ? 0 : m[1] * m[2];
    double *f = work, *g = work + B * len, *z = work + 2 * B * len;
    for (int64_t o = 0; o < n_outer; o++) {
        for (int64_t in0 = 0; in0 < n_inner; in0 += B) {
            const int64_t nb = n_inner - in0 < B ? n_inner - in0 : B;
            double *base = d + o * outer_stride + in0;
            int live[B];
            for (int64_t b = 0; b < nb; b++) live[b] = !query;
            if (query) {
                const uint8_t *fb = flags + o * outer_stride + in0;
                for (int64_t p = 0; p < len; p++)
                    for (int64_t b = 0; b < nb; b++) live[b] |= (fb[p * stride + b] & query) != 0;
            }
            int fin[B] = {0};
            for (int64_t p = 0; p < len; p++) {
                const double *src = base + p * stride;
                for (int64_t b = 0; b < nb; b++) {
                    f[b * len + p] = src[b];
                    fin[b] |= src[b] != INFINITY;
                }
            }
            int any = 0;
            for (int64_t b = 0; b < nb; b++) {
                /* all +inf stays +inf; lines without queries are not needed */
                live[b] = live[b] && fin[b];
                if (live[b]) fh_line(g + b * len, f + b * len, len, s, iwork, z);
                any |= live[b];
            }
            if (!any) continue;
            for (int64_t p = 0; p < len; p++) {
                double *dst = base + p * stride;
                for (int64_t b = 0; b < nb; b++)
                    if (live[b]) dst[b] = g[b * len + p];
            }
        }
    }
}

void segloss__edt_box(double *d, const uint8_t *flags, uint8_t feat, uint8_t query,
                      const int64_t m[3], const double sp[3], double *work, int64_t *iwork) {
    const int64_t n2 = m[2], rows = m[0] * m[1];
    const double s = sp[2];
    /* innermost axis: nearest feature in the row, two scans */
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *fl = flags + r * n2;
        double *dr = d + r * n2;
        int64_t last = -1;
        for (int64_t k = 0; k < n2; k++) {
            if (fl[k] & feat) {
                last = k;
                dr[k] = 0.0;
            } else if (last >= 0) {
                double t = s * (double)(k - last);
                dr[k] = t * t;
            } else {
                dr[k] = INFINITY;
            }
        }
        last = -1;
        for (int64_t k = n2 - 1; k >= 0; k--) {
            if (fl[k] & feat) {
                last = k;
            } else if (last >= 0) {
                double t = s * (double)(last - k);
                double v = t * t;
                if (v < dr[k]) dr[k] = v;
            }
        }
    }
    /* Axes with one voxel need no pass; only the last pass may skip lines
     * without query voxels (earlier passes feed every line of later ones). */
    int last_axis = m[0] > 1 ? 0 : (m[1] > 1 ? 1 : 2);
    if (m[1] > 1) pass_axis(d, flags, last_axis == 1 ? query : 0, m, 1, sp[1], work, iwork);
    if (m[0] > 1) pass_axis(d, flags, query, m, 0, sp[0], work, iwork);
}

segloss_status segloss_edt_squared(double *out, const uint8_t *feat, const segloss_shape *shape,
                                   const double *spacing) {
    if (!out || !feat || !shape) return SEGLOSS_ERR_NULL;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, spacing);
    if (st != SEGLOSS_OK) return st;
    int64_t mx = g.n[0];
    if (g.n[1] > mx) mx = g.n[1];
    if (g.n[2] > mx) mx = g.n[2];
    double *work = malloc(segloss__edt_work_doubles(mx) * sizeof *work);
    int64_t *iwork = malloc((size_t)mx * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return SEGLOSS_ERR_NOMEM;
    }
    segloss__edt_box(out, feat, 0xFF, 0, g.n, g.sp, work, iwork);
    free(work);
    free(iwork);
    return SEGLOSS_OK;
}
