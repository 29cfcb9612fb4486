/* Distance maps of binary masks: two exact EDTs (distmap.h). */
#include "loss/distmap.h"

#include "core/target.h"
#include "kernels/scalar.h"

#include <math.h>
#include <stdlib.h>

segloss_status segloss__dm_layout_init(segloss__dm_layout *l, const float *x,
                                       const segloss_target *t, const segloss_shape *shape,
                                       segloss_activation act, segloss_target_kind kind) {
    memset(l, 0, sizeof *l);
    if (!x || !t || !t->data || !shape) return SEGLOSS_ERR_NULL;
    if (act != SEGLOSS_ACTIVATION_NONE && act != SEGLOSS_ACTIVATION_SIGMOID &&
        act != SEGLOSS_ACTIVATION_SOFTMAX)
        return SEGLOSS_ERR_ARG;
    if (kind != SEGLOSS_TARGET_AUTO && kind != SEGLOSS_TARGET_DENSE &&
        kind != SEGLOSS_TARGET_INDEX)
        return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 3 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    l->n = shape->dim[0];
    l->c = shape->dim[1];
    l->s = numel / (l->n * l->c);
    l->sp.ndim = shape->ndim - 2;
    for (int k = 2; k < shape->ndim; k++) l->sp.dim[k - 2] = shape->dim[k];
    l->index = kind == SEGLOSS_TARGET_INDEX ||
               (kind == SEGLOSS_TARGET_AUTO && act == SEGLOSS_ACTIVATION_SOFTMAX);
    if ((l->index || act == SEGLOSS_ACTIVATION_SOFTMAX) && l->c < 2) return SEGLOSS_ERR_SHAPE;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (l->index && (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64)) return SEGLOSS_ERR_DTYPE;
    return SEGLOSS_OK;
}

segloss_status segloss__dm_probs(double *p, const float *xn, int64_t c, int64_t s,
                                 segloss_activation act) {
    if (act == SEGLOSS_ACTIVATION_SOFTMAX) {
        for (int64_t i = 0; i < s; i++) {
            double mx = xn[i], z = 0.0;
            for (int64_t k = 1; k < c; k++)
                if (xn[k * s + i] > mx) mx = xn[k * s + i];
            for (int64_t k = 0; k < c; k++) z += p[k * s + i] = exp((double)xn[k * s + i] - mx);
            for (int64_t k = 0; k < c; k++) p[k * s + i] /= z;
        }
        return SEGLOSS_OK;
    }
    for (int64_t i = 0; i < c * s; i++) {
        double v = xn[i];
        if (act == SEGLOSS_ACTIVATION_NONE && !(v >= 0.0 && v <= 1.0)) return SEGLOSS_ERR_DOMAIN;
        p[i] = act == SEGLOSS_ACTIVATION_SIGMOID ? segloss__sigmoid_d(v) : v;
    }
    return SEGLOSS_OK;
}

void segloss__dm_act_backward(float *out, const double *p, const double *g, int64_t gs,
                              int64_t c, int64_t s, segloss_activation act) {
    double dot = 0.0;
    for (int64_t k = 0; k < c; k++) dot += p[k * s] * g[k * gs];
    for (int64_t k = 0; k < c; k++) {
        double pk = p[k * s], gk = g[k * gs];
        double v = act == SEGLOSS_ACTIVATION_SOFTMAX   ? pk * (gk - dot)
                   : act == SEGLOSS_ACTIVATION_SIGMOID ? gk * pk * (1.0 - pk)
                                                       : gk;
        out[k * s] = (float)v;
    }
}

/* The exact squared EDT of unit spacing in 32-bit integers, for both
 * feature sets of a binary mask at once. Every value is a sum of squared
 * integer offsets, held exactly, so its sqrt is the same double as the
 * sqrt of the double EDT (segloss_edt_squared). Used when every squared
 * distance fits: the sum of the squared extents below 2^30 (then every
 * h = f + q^2 of dm_line is below 2^31). */
#define DM_INF INT32_MAX

static int dm_int_fits(const segloss_shape *sp) {
    int64_t b = 0;
    for (int k = 0; k < sp->ndim; k++) {
        if (sp->dim[k] > (1 << 15)) return 0;
        b += sp->dim[k] * sp->dim[k];
    }
    return b < ((int64_t)1 << 30);
}

/* Last axis, rows of n: ga[k] = squared distance to the nearest 0 of the
 * row, gb[k] to the nearest 1 (DM_INF when the row has none), from one
 * forward and one backward scan. */
static void dm_rows(int32_t *ga, int32_t *gb, const uint8_t *m, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *mr = m + r * n;
        int32_t *a = ga + r * n, *b = gb + r * n;
        int64_t l0 = -(n + 1), l1 = -(n + 1); /* last 0 / 1 seen; k - l >= n: none */
        /* branch-free updates (t: all ones where m is 1): the masks are
         * noisy, and a branch per element mispredicts half the time */
        for (int64_t k = 0; k < n; k++) {
            const int64_t t = -(int64_t)(mr[k] != 0);
            l1 = (k & t) | (l1 & ~t);
            l0 = (l0 & t) | (k & ~t);
            a[k] = (int32_t)(k - l0);
            b[k] = (int32_t)(k - l1);
        }
        int64_t r0 = 2 * n + 1, r1 = 2 * n + 1; /* next 0 / 1 */
        for (int64_t k = n - 1; k >= 0; k--) {
            const int64_t t = -(int64_t)(mr[k] != 0);
            r1 = (k & t) | (r1 & ~t);
            r0 = (r0 & t) | (k & ~t);
            int64_t da = r0 - k < a[k] ? r0 - k : a[k], db = r1 - k < b[k] ? r1 - k : b[k];
            a[k] = da < n ? (int32_t)(da * da) : DM_INF;
            b[k] = db < n ? (int32_t)(db * db) : DM_INF;
        }
    }
}

/* One line f[0..n) in place: f[u] = min_q (u - q)^2 + f[q] over the finite
 * f[q]: the lower envelope of the parabolas p^2 - 2 p q + h_q, h_q = f[q] +
 * q^2 (Felzenszwalb & Huttenlocher 2012), without divisions. Parabola b
 * (after a) beats a from the abscissa (h_b - h_a) / (2 (b - a)) on; the
 * middle of three candidates a < b < u is dropped when it would never be
 * the minimum, compared by cross-multiplication (|h| < 2^32, distances <
 * 2^16: exact in int64). The minimiser then moves right along the kept
 * candidates as p grows: one comparison of two values at p. Every output
 * is an exact integer. A line without finite values stays DM_INF.
 * v, h: n each. */
static void dm_line(int32_t *f, int64_t n, int64_t *v, int64_t *h) {
    int64_t k = -1;
    for (int64_t u = 0; u < n; u++) {
        const int64_t fu = f[u];
        if (fu == DM_INF) continue;
        const int64_t hu = fu + u * u;
        while (k >= 1 && (h[k] - h[k - 1]) * (u - v[k]) >= (hu - h[k]) * (v[k] - v[k - 1])) k--;
        v[++k] = u;
        h[k] = hu;
    }
    if (k < 0) return;
    int64_t j = 0;
    for (int64_t p = 0; p < n; p++) {
        while (j < k && h[j + 1] - 2 * p * v[j + 1] <= h[j] - 2 * p * v[j]) j++;
        f[p] = (int32_t)(h[j] - 2 * p * v[j] + p * p);
    }
}

/* Axis ax (< the last) of g (spatial shape sp): every line along ax
 * through dm_line, DM_B lines at a time gathered into f (DM_B * n) so the
 * strided reads use whole cache lines. e: 2n int64. */
enum { DM_B = 16 };
static void dm_axis(int32_t *g, const segloss_shape *sp, int ax, int32_t *f, int64_t *e) {
    const int64_t n = sp->dim[ax];
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < ax; k++) outer *= sp->dim[k];
    for (int k = ax + 1; k < sp->ndim; k++) inner *= sp->dim[k];
    if (n == 1) return;
    for (int64_t o = 0; o < outer; o++) {
        int32_t *base = g + o * n * inner;
        for (int64_t j0 = 0; j0 < inner; j0 += DM_B) {
            const int64_t nb = inner - j0 < DM_B ? inner - j0 : DM_B;
            for (int64_t p = 0; p < n; p++) {
                const int32_t *src = base + p * inner + j0;
                for (int64_t b = 0; b < nb; b++) f[b * n + p] = src[b];
            }
            for (int64_t b = 0; b < nb; b++) dm_line(f + b * n, n, e, e + n);
            for (int64_t p = 0; p < n; p++) {
                int32_t *dst = base + p * inner + j0;
                for (int64_t b = 0; b < nb; b++) dst[b] = f[b * n + p];
            }
        }
    }
}

static double dm_dist(int32_t v) { return v == DM_INF ? INFINITY : sqrt((double)v); }

/* Both maps from the integer transform; work (s doubles) holds ga and gb. */
static segloss_status dm_int(double *in, double *out, const uint8_t *m, const segloss_shape *sp,
                             int64_t s, int fg, int bg, double *work) {
    int64_t mx = 1;
    for (int k = 0; k < sp->ndim; k++) mx = sp->dim[k] > mx ? sp->dim[k] : mx;
    int32_t *f = malloc((size_t)mx * DM_B * sizeof *f);
    int64_t *e = malloc((size_t)mx * 2 * sizeof *e);
    if (!f || !e) {
        free(f);
        free(e);
        return SEGLOSS_ERR_NOMEM;
    }
    int32_t *ga = (int32_t *)work, *gb = ga + s;
    const int last = sp->ndim - 1;
    dm_rows(ga, gb, m, s / sp->dim[last], sp->dim[last]);
    for (int ax = last - 1; ax >= 0; ax--) {
        if (in) dm_axis(ga, sp, ax, f, e);
        if (out) dm_axis(gb, sp, ax, f, e);
    }
    if (in && out && fg && bg) {
        for (int64_t i = 0; i < s; i++) { /* one root per element, all finite */
            const int32_t t = -(int32_t)(m[i] != 0);
            const double r = sqrt((double)((ga[i] & t) | (gb[i] & ~t))), w = (double)(m[i] != 0);
            in[i] = r * w;
            out[i] = r - r * w;
        }
    } else {
        if (in)
            for (int64_t i = 0; i < s; i++) in[i] = m[i] ? dm_dist(ga[i]) : 0.0;
        if (out)
            for (int64_t i = 0; i < s; i++) out[i] = m[i] ? 0.0 : dm_dist(gb[i]);
    }
    free(f);
    free(e);
    return SEGLOSS_OK;
}

segloss_status segloss__distmap(double *in, double *out, int *any_fg, int *any_bg,
                                const uint8_t *m, const segloss_shape *sp, int64_t s,
                                double *work, uint8_t *w8) {
    int fg = 0, bg = 0;
    for (int64_t i = 0; i < s; i++) {
        fg |= m[i] != 0;
        bg |= m[i] == 0;
    }
    if (any_fg) *any_fg = fg;
    if (any_bg) *any_bg = bg;
    if (dm_int_fits(sp)) return dm_int(in, out, m, sp, s, fg, bg, work);
    segloss_status st = SEGLOSS_OK;
    if (in) { /* features: the 0s */
        for (int64_t i = 0; i < s; i++) w8[i] = m[i] == 0;
        if ((st = segloss_edt_squared(work, w8, sp, NULL)) != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < s; i++) in[i] = m[i] ? sqrt(work[i]) : 0.0;
    }
    if (out) { /* features: the 1s */
        for (int64_t i = 0; i < s; i++) w8[i] = m[i] != 0;
        if ((st = segloss_edt_squared(work, w8, sp, NULL)) != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < s; i++) out[i] = m[i] ? 0.0 : sqrt(work[i]);
    }
    return st;
}
