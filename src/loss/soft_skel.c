/* Soft skeletons: erosion, dilation and their tie-exact backward
 * (soft_skel.h states the rules). The forward computes values only, with
 * separable passes over the clipped windows {j - 1, j, j + 1}; the
 * backward finds, for each element whose gradient is not 0, the element
 * torch routes it to: the first extremum of the window in scan order
 * (strict comparison, as torch's CPU max_pool), and for the erosion's
 * torch.min the halves on ties. */
#include "loss/soft_skel.h"

#include <stdlib.h>

/* Axis a of sp as (outer, n, inner): element (o, j, i) at (o * n + j) * inner + i. */
typedef struct skel_axis {
    int64_t outer, n, inner;
} skel_axis;

static skel_axis axis_of(const segloss_shape *sp, int a) {
    skel_axis x = {1, sp->dim[a], 1};
    for (int k = 0; k < a; k++) x.outer *= sp->dim[k];
    for (int k = a + 1; k < sp->ndim; k++) x.inner *= sp->dim[k];
    return x;
}

/* The forward's values alone: out = min (max) of out and in's neighbours
 * one step either way along the axis, as contiguous loops the compiler
 * vectorises (the minimum over a window does not depend on which element
 * holds it). */
static void shift_min(double *out, const double *in, skel_axis x) {
    const int64_t len = x.n * x.inner, m = len - x.inner;
    for (int64_t o = 0; o < x.outer; o++) {
        double *d = out + o * len;
        const double *s = in + o * len;
        for (int64_t i = 0; i < m; i++) d[i] = s[i + x.inner] < d[i] ? s[i + x.inner] : d[i];
        for (int64_t i = 0; i < m; i++)
            d[i + x.inner] = s[i] < d[i + x.inner] ? s[i] : d[i + x.inner];
    }
}

static void shift_max(double *out, const double *in, skel_axis x) {
    const int64_t len = x.n * x.inner, m = len - x.inner;
    for (int64_t o = 0; o < x.outer; o++) {
        double *d = out + o * len;
        const double *s = in + o * len;
        for (int64_t i = 0; i < m; i++) d[i] = s[i + x.inner] > d[i] ? s[i + x.inner] : d[i];
        for (int64_t i = 0; i < m; i++)
            d[i + x.inner] = s[i] > d[i + x.inner] ? s[i] : d[i + x.inner];
    }
}

/* out = erode(in): the minimum over the cross of lines. */
static void erode(double *out, const double *in, const segloss_shape *sp, int64_t s) {
    memcpy(out, in, (size_t)s * sizeof *out);
    for (int a = 0; a < sp->ndim; a++) shift_min(out, in, axis_of(sp, a));
}

/* out = dilate(in), values only (tmp: s doubles). */
static void dilate_values(double *out, const double *in, const segloss_shape *sp, int64_t s,
                          double *tmp) {
    const int r = sp->ndim;
    const double *src = in;
    for (int p = 0; p < r; p++) {
        double *dst = (r - 1 - p) % 2 == 0 ? out : tmp;
        memcpy(dst, src, (size_t)s * sizeof *dst);
        shift_max(dst, src, axis_of(sp, r - 1 - p));
        src = dst;
    }
}

segloss_status segloss__soft_skel(double *skel, const double *img, const segloss_shape *sp,
                                  int64_t s, int iter, double *keep) {
    double *buf = malloc((size_t)s * (keep ? 2 : 4) * sizeof *buf);
    if (!buf) return SEGLOSS_ERR_NOMEM;
    double *D = buf, *tmp = buf + s;
    const double *prev = img;
    for (int k = 0; k <= iter; k++) {
        double *next = keep ? keep + (int64_t)k * s : buf + (2 + k % 2) * s;
        erode(next, prev, sp, s);
        dilate_values(D, next, sp, s, tmp);
        /* S_k: kept for k < iter, skel itself for k == iter (or always) */
        double *Sd = keep && k < iter ? keep + (iter + 1 + (int64_t)k) * s : skel;
        const double *Sp = keep && k > 0 ? keep + (iter + (int64_t)k) * s : skel;
        for (int64_t i = 0; i < s; i++) {
            double d = prev[i] - D[i];
            d = d > 0.0 ? d : 0.0;
            if (k == 0) {
                Sd[i] = d;
            } else {
                double u = d - Sp[i] * d;
                Sd[i] = Sp[i] + (u > 0.0 ? u : 0.0);
            }
        }
        prev = next;
    }
    free(buf);
    return SEGLOSS_OK;
}

/* The image as (n0, n1, n2) with n2 = 1 in 2-D: element (a, b, c) at
 * (a * n1 + b) * n2 + c; the axes are a, b (and c in 3-D). */
typedef struct skel_grid {
    int r;
    int64_t n0, n1, n2;
} skel_grid;

static skel_grid grid_of(const segloss_shape *sp) {
    skel_grid g = {sp->ndim, sp->dim[0], sp->dim[1], sp->ndim == 3 ? sp->dim[2] : 1};
    return g;
}

/* The first minimum of E on the line through i along an axis (coordinate
 * k of n, stride st), scan order: *at its element. */
static double line_min(const double *E, int64_t i, int64_t k, int64_t n, int64_t st,
                       int64_t *at) {
    int64_t j = k > 0 ? i - st : i;
    double v = E[j];
    if (E[i] < v) v = E[j = i];
    if (k + 1 < n && E[i + st] < v) v = E[j = i + st];
    *at = j;
    return v;
}

/* gdst += the gradient of erode(E) routed back from gsrc, both of each
 * element's pair (torch.min's halves on ties, max_pool's first minimum). */
static void add2(double *gdst, int64_t j, double w, const double *g) {
    gdst[2 * j] += w * g[0];
    gdst[2 * j + 1] += w * g[1];
}

static void erode_backward(double *gdst, const double *gsrc, const double *E, skel_grid G) {
    const int64_t sa = G.n1 * G.n2, sb = G.n2;
    for (int64_t a = 0; a < G.n0; a++)
        for (int64_t b = 0; b < G.n1; b++)
            for (int64_t c = 0; c < G.n2; c++) {
                const int64_t i = a * sa + b * sb + c;
                const double *g = gsrc + 2 * i;
                if (g[0] == 0.0 && g[1] == 0.0) continue;
                int64_t j1, j2, j3 = 0;
                double p1 = line_min(E, i, a, G.n0, sa, &j1), p2 = line_min(E, i, b, G.n1, sb, &j2);
                double w12 = 1.0; /* the share of min(p1, p2) (exact halves) */
                if (G.r == 3) {
                    double m = p1 < p2 ? p1 : p2, p3 = line_min(E, i, c, G.n2, 1, &j3);
                    if (p3 < m) {
                        add2(gdst, j3, 1.0, g);
                        continue;
                    }
                    if (p3 == m) {
                        add2(gdst, j3, 0.5, g);
                        w12 = 0.5;
                    }
                }
                if (p1 == p2) {
                    add2(gdst, j1, 0.5 * w12, g);
                    add2(gdst, j2, 0.5 * w12, g);
                } else {
                    add2(gdst, p1 < p2 ? j1 : j2, w12, g);
                }
            }
}

/* The element max_pool picks for D[i] = the box maximum of E around i:
 * the first in scan order holding that value. */
static int64_t box_arg(const double *E, double Di, skel_grid G, int64_t a, int64_t b, int64_t c) {
    const int64_t a1 = a + 1 < G.n0 ? a + 1 : a, b1 = b + 1 < G.n1 ? b + 1 : b;
    const int64_t c1 = c + 1 < G.n2 ? c + 1 : c;
    for (int64_t u = a ? a - 1 : 0; u <= a1; u++)
        for (int64_t v = b ? b - 1 : 0; v <= b1; v++)
            for (int64_t w = c ? c - 1 : 0; w <= c1; w++) {
                const int64_t j = (u * G.n1 + v) * G.n2 + w;
                if (E[j] == Di) return j;
            }
    return (a * G.n1 + b) * G.n2 + c; /* not reached: Di is one of them */
}

segloss_status segloss__soft_skel_backward(double *oa, double *ob, const double *ga,
                                           const double *img, const double *keep,
                                           const segloss_shape *sp, int64_t s, int iter) {
    const skel_grid G = grid_of(sp);
    /* two upstream gradients side by side (ga, then ones): one routing */
    double *buf = malloc((size_t)s * 8 * sizeof *buf);
    if (!buf) return SEGLOSS_ERR_NOMEM;
    double *gS = buf, *gnext = buf + 2 * s, *gcur = buf + 4 * s, *D = buf + 6 * s,
           *tmp = buf + 7 * s;
    for (int64_t i = 0; i < s; i++) {
        gS[2 * i] = ga[i];
        gS[2 * i + 1] = 1.0;
    }
    memset(gnext, 0, (size_t)s * 2 * sizeof *gnext);
    for (int k = iter; k >= 0; k--) {
        /* gnext = d L / d E_{k+1} so far (its delta and erosion terms) */
        const double *Ek = k ? keep + (int64_t)(k - 1) * s : img, *En = keep + (int64_t)k * s;
        const double *Sp = k ? keep + (iter + (int64_t)k) * s : NULL;
        dilate_values(D, En, sp, s, tmp);
        for (int64_t a = 0, i = 0; a < G.n0; a++)
            for (int64_t b = 0; b < G.n1; b++)
                for (int64_t c = 0; c < G.n2; c++, i++) {
                    double d = Ek[i] - D[i], *q = gS + 2 * i, *o = gcur + 2 * i;
                    o[0] = o[1] = 0.0;
                    if (!(d > 0.0)) continue; /* relu(E_k - D_k) passes nothing */
                    double g0 = q[0], g1 = q[1];
                    if (k) { /* S_k = S_{k-1} + relu(u), u = delta - S_{k-1} delta */
                        double u = d - Sp[i] * d;
                        if (!(u > 0.0)) continue;
                        g0 = q[0] - q[0] * Sp[i];
                        g1 = q[1] - q[1] * Sp[i];
                        q[0] -= q[0] * d;
                        q[1] -= q[1] * d;
                    }
                    o[0] = g0;
                    o[1] = g1;
                    double *t = gnext + 2 * box_arg(En, D[i], G, a, b, c);
                    t[0] -= g0;
                    t[1] -= g1;
                }
        erode_backward(gcur, gnext, Ek, G);
        double *t = gnext;
        gnext = gcur;
        gcur = t;
    }
    for (int64_t i = 0; i < s; i++) {
        oa[i] = gnext[2 * i];
        ob[i] = gnext[2 * i + 1];
    }
    free(buf);
    return SEGLOSS_OK;
}
