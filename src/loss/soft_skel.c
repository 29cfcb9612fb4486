/* Soft skeletons: erosion, dilation and their tie-exact backward
 * (soft_skel.h states the rules). Every pool is separable: one pass per
 * axis over the clipped window {j - 1, j, j + 1}, taking the first
 * extremum (strict comparison in scan order), as torch's CPU max_pool. */
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

/* out = min of in over the window along the axis; arg (may be NULL) = the
 * flat index of the first minimum. */
static void axis_min(double *out, int64_t *arg, const double *in, skel_axis x) {
    for (int64_t o = 0; o < x.outer; o++)
        for (int64_t j = 0; j < x.n; j++) {
            const int64_t row = (o * x.n + j) * x.inner;
            const int64_t lo = j > 0 ? row - x.inner : row, hi = j + 1 < x.n ? row + x.inner : row;
            for (int64_t i = 0; i < x.inner; i++) {
                int64_t at = lo + i;
                double v = in[at];
                if (in[row + i] < v) v = in[at = row + i];
                if (in[hi + i] < v) v = in[at = hi + i];
                out[row + i] = v;
                if (arg) arg[row + i] = at;
            }
        }
}

/* out = max of in over the window along the axis; arg (may be NULL) = the
 * flat index of the first maximum, or argin of it (the earlier passes'). */
static void axis_max(double *out, int64_t *arg, const double *in, const int64_t *argin,
                     skel_axis x) {
    for (int64_t o = 0; o < x.outer; o++)
        for (int64_t j = 0; j < x.n; j++) {
            const int64_t row = (o * x.n + j) * x.inner;
            const int64_t lo = j > 0 ? row - x.inner : row, hi = j + 1 < x.n ? row + x.inner : row;
            for (int64_t i = 0; i < x.inner; i++) {
                int64_t at = lo + i;
                double v = in[at];
                if (in[row + i] > v) v = in[at = row + i];
                if (in[hi + i] > v) v = in[at = hi + i];
                out[row + i] = v;
                if (arg) arg[row + i] = argin ? argin[at] : at;
            }
        }
}

/* out = erode(in); tmp: s doubles. */
static void erode(double *out, const double *in, const segloss_shape *sp, int64_t s,
                  double *tmp) {
    axis_min(out, NULL, in, axis_of(sp, 0));
    for (int a = 1; a < sp->ndim; a++) {
        axis_min(tmp, NULL, in, axis_of(sp, a));
        for (int64_t i = 0; i < s; i++) out[i] = tmp[i] < out[i] ? tmp[i] : out[i];
    }
}

/* out = dilate(in), passes from the last axis to the first; arg (with
 * argtmp, s each; may be NULL) = the flat index of the element chosen. */
static void dilate(double *out, int64_t *arg, const double *in, const segloss_shape *sp,
                   double *tmp, int64_t *argtmp) {
    const int r = sp->ndim;
    const double *src = in;
    const int64_t *asrc = NULL;
    for (int p = 0; p < r; p++) {
        const int last = (r - 1 - p) % 2 == 0;
        double *dst = last ? out : tmp;
        int64_t *adst = arg ? (last ? arg : argtmp) : NULL;
        axis_max(dst, adst, src, asrc, axis_of(sp, r - 1 - p));
        src = dst;
        asrc = adst;
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
        erode(next, prev, sp, s, tmp);
        dilate(D, NULL, next, sp, tmp, NULL);
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

/* gdst += the gradient of erode(E) routed back from gsrc. pa, arga: the
 * per-axis minima and their elements (rank * s each). */
static void erode_backward(double *gdst, const double *gsrc, const double *E,
                           const segloss_shape *sp, int64_t s, double *pa, int64_t *arga) {
    const int r = sp->ndim;
    for (int a = 0; a < r; a++) axis_min(pa + a * s, arga + a * s, E, axis_of(sp, a));
    for (int64_t i = 0; i < s; i++) {
        double g = gsrc[i];
        if (g == 0.0) continue;
        double w12 = 1.0; /* the share of min(p1, p2) */
        if (r == 3) {
            double m = pa[i] < pa[s + i] ? pa[i] : pa[s + i], p3 = pa[2 * s + i];
            w12 = m < p3 ? 1.0 : m == p3 ? 0.5 : 0.0;
            if (w12 < 1.0) gdst[arga[2 * s + i]] += w12 == 0.5 ? g / 2 : g;
        }
        if (w12 == 0.0) continue;
        double g12 = w12 == 1.0 ? g : g / 2, p1 = pa[i], p2 = pa[s + i];
        if (p1 == p2) {
            gdst[arga[i]] += g12 / 2;
            gdst[arga[s + i]] += g12 / 2;
        } else {
            gdst[p1 < p2 ? arga[i] : arga[s + i]] += g12;
        }
    }
}

segloss_status segloss__soft_skel_backward(double *gimg, const double *g, const double *img,
                                           const double *keep, const segloss_shape *sp,
                                           int64_t s, int iter) {
    const int r = sp->ndim;
    double *buf = malloc((size_t)s * (5 + (size_t)r) * sizeof *buf);
    int64_t *ibuf = malloc((size_t)s * (2 + (size_t)r) * sizeof *ibuf);
    if (!buf || !ibuf) {
        free(buf);
        free(ibuf);
        return SEGLOSS_ERR_NOMEM;
    }
    double *gS = buf, *gnext = buf + s, *gcur = buf + 2 * s, *D = buf + 3 * s,
           *tmp = buf + 4 * s, *pa = buf + 5 * s;
    int64_t *arg = ibuf, *argtmp = ibuf + s, *arga = ibuf + 2 * s;
    for (int64_t i = 0; i < s; i++) {
        gS[i] = g[i];
        gnext[i] = 0.0;
    }
    for (int k = iter; k >= 0; k--) {
        /* gnext = d L / d E_{k+1} so far (its delta and erosion terms) */
        const double *Ek = k ? keep + (int64_t)(k - 1) * s : img, *En = keep + (int64_t)k * s;
        const double *Sp = k ? keep + (iter + (int64_t)k) * s : NULL;
        dilate(D, arg, En, sp, tmp, argtmp);
        for (int64_t i = 0; i < s; i++) {
            double d = Ek[i] - D[i], gd = gS[i];
            gcur[i] = 0.0;
            if (k) { /* S_k = S_{k-1} + relu(u), u = delta - S_{k-1} delta */
                double dv = d > 0.0 ? d : 0.0, u = dv - Sp[i] * dv;
                gd = u > 0.0 ? gS[i] - gS[i] * Sp[i] : 0.0;
                if (u > 0.0) gS[i] -= gS[i] * dv;
            }
            if (d > 0.0 && gd != 0.0) { /* delta_k = relu(E_k - D_k) */
                gcur[i] = gd;
                gnext[arg[i]] -= gd;
            }
        }
        erode_backward(gcur, gnext, Ek, sp, s, pa, arga);
        double *t = gnext;
        gnext = gcur;
        gcur = t;
    }
    for (int64_t i = 0; i < s; i++) gimg[i] += gnext[i];
    free(buf);
    free(ibuf);
    return SEGLOSS_OK;
}
