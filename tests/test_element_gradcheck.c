/* Gradients of focal, ce, lovasz-hinge and of bce / bce-logits with
 * ignore_index by central finite differences, independent of PyTorch.
 *
 * Each loss is re-implemented here in double from its textbook definition
 * (torchvision's focal formula with 1 - p_t by subtraction, log-softmax,
 * the Lovasz extension with an O(P^2) selection order), and for
 *   F(x) = g * L(x)              (reduction mean/sum, upstream scalar g)
 *   F(x) = sum_k u_k * l_k(x)    (reduction none, upstream array u)
 * every input element is perturbed by h and (F(x+h) - F(x-h)) / 2h is
 * compared with segloss's backward (float32 gradient of float32 inputs):
 *   max |g_segloss - g_fd| <= 1e-4 * max |g_fd| + 1e-10.
 * Kinks are skipped: Lovasz elements whose error lies within 2h of another
 * error of its item (the sort order would change) or of 0 (the hinge).
 * Inputs come from a fixed-seed splitmix64. */
#include "gradcheck_util.h"
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EG_RTOL 1e-4
#define EG_ATOL 1e-10
#define EG_MAXN 192
#define EG_H 1e-3

enum { EG_FOCAL, EG_CE, EG_LOVASZ, EG_BCE, EG_BCEL, EG_NOPS };
static const char *const eg_names[EG_NOPS] = {"focal", "ce", "lovasz", "bce", "bce_logits"};

static uint64_t eg_state;

static double eg_uniform(void) { return gcu_uniform53(&eg_state); }

typedef struct eg_case {
    int op;
    segloss_shape shape;
    int64_t n, nt;               /* input and target element counts */
    float x[EG_MAXN];
    double y[EG_MAXN];           /* raw target values (ignore values included) */
    segloss_dtype tdtype;
    union {                      /* the target as passed to segloss */
        float f32[EG_MAXN];
        double f64[EG_MAXN];
        uint8_t u8[EG_MAXN];
        int64_t i64[EG_MAXN];
    } t;
    float w[EG_MAXN];
    segloss_shape wshape;
    int has_w;
    segloss_reduction red;
    float go[EG_MAXN];
    int has_go;
    int has_ignore;
    double ignore;
    double alpha, gamma, eps;
    int per_image;
} eg_case;

static void eg_store_target(eg_case *c) {
    for (int64_t i = 0; i < c->nt; i++) {
        switch (c->tdtype) {
        case SEGLOSS_F32: c->t.f32[i] = (float)c->y[i]; break;
        case SEGLOSS_F64: c->t.f64[i] = c->y[i]; break;
        case SEGLOSS_U8: c->t.u8[i] = (uint8_t)c->y[i]; break;
        default: c->t.i64[i] = (int64_t)c->y[i]; break;
        }
    }
}

static double eg_up(const eg_case *c, int64_t k) {
    if (!c->has_go) return 1.0;
    return c->red == SEGLOSS_REDUCTION_NONE ? c->go[k] : c->go[0];
}

/* F from per-item losses l[0..m) and the MEAN divisor. */
static double eg_reduce(const eg_case *c, const double *l, int64_t m, double divisor) {
    double s = 0;
    if (c->red == SEGLOSS_REDUCTION_NONE) {
        for (int64_t k = 0; k < m; k++) s += eg_up(c, k) * l[k];
        return s;
    }
    for (int64_t k = 0; k < m; k++) s += l[k];
    if (c->red == SEGLOSS_REDUCTION_MEAN) s /= divisor;
    return eg_up(c, 0) * s;
}

static int eg_ignored(const eg_case *c, int64_t i) { return c->has_ignore && c->y[i] == c->ignore; }

/* ---- Lovasz in double: items, order by selection ------------------------ */
static int64_t eg_items(const eg_case *c) {
    return c->per_image && c->shape.ndim >= 3 ? c->shape.dim[0] : 1;
}

/* Loss of item k at inputs xs; order[] receives the sorted element indices
 * (errors decreasing, ties by lower index), errs[] the errors. */
static double eg_lovasz_item(const eg_case *c, const double *xs, int64_t k, int64_t *order,
                             double *errs, int64_t *np) {
    int64_t per = c->n / eg_items(c), base = k * per, P = 0;
    uint8_t used[EG_MAXN];
    double G = 0;
    for (int64_t i = base; i < base + per; i++) {
        used[i - base] = (uint8_t)eg_ignored(c, i);
        if (used[i - base]) continue;
        errs[i] = 1.0 - xs[i] * (2.0 * c->y[i] - 1.0);
        G += c->y[i];
        P++;
    }
    for (int64_t r = 0; r < P; r++) {
        int64_t best = -1;
        for (int64_t i = base; i < base + per; i++)
            if (!used[i - base] && (best < 0 || errs[i] > errs[best])) best = i;
        used[best - base] = 1;
        order[r] = best;
    }
    double loss = 0, Y = 0, Jp = 0;
    for (int64_t r = 0; r < P; r++) {
        Y += c->y[order[r]];
        double J = 1.0 - (G - Y) / (G + (double)(r + 1) - Y);
        loss += fmax(errs[order[r]], 0.0) * (J - Jp);
        Jp = J;
    }
    *np = P;
    return loss;
}

/* ---- the objective ------------------------------------------------------- */
static double eg_objective(const eg_case *c, const double *xs) {
    double l[EG_MAXN];
    int64_t n = c->n;
    double count = 0;
    switch (c->op) {
    case EG_FOCAL:
    case EG_BCE:
    case EG_BCEL:
        for (int64_t i = 0; i < n; i++) {
            if (eg_ignored(c, i)) {
                l[i] = 0;
                continue;
            }
            count++;
            double x = xs[i], y = c->y[i];
            double w = c->has_w ? c->w[gcu_bcast_offset(&c->shape, &c->wshape, i)] : 1.0;
            if (c->op == EG_BCE) {
                l[i] = -w * (y * fmax(log(x), -100.0) + (1 - y) * fmax(log(1 - x), -100.0));
            } else {
                /* torchvision: ce = BCE-with-logits; p_t; (1 - p_t)^gamma */
                double ce = (1 - y) * x + log(1 + exp(-x));
                if (c->op == EG_BCEL) {
                    l[i] = w * ce;
                    continue;
                }
                double p = 1.0 / (1.0 + exp(-x));
                double pt = p * y + (1 - p) * (1 - y);
                double f = ce * pow(1 - pt, c->gamma);
                if (c->alpha >= 0) f *= c->alpha * y + (1 - c->alpha) * (1 - y);
                l[i] = w * f;
            }
        }
        return eg_reduce(c, l, n, count);
    case EG_CE: {
        int64_t C = c->shape.ndim == 1 ? c->shape.dim[0] : c->shape.dim[1];
        int64_t N = c->shape.ndim == 1 ? 1 : c->shape.dim[0];
        int64_t S = n / (N * C);
        double W = 0;
        for (int64_t pos = 0; pos < c->nt; pos++) {
            int64_t b = pos / S, s = pos % S;
            int64_t y = (int64_t)c->y[pos];
            if (c->has_ignore ? y == (int64_t)c->ignore : y == -100) {
                l[pos] = 0;
                continue;
            }
            double mx = -INFINITY, se = 0;
            for (int64_t ch = 0; ch < C; ch++) mx = fmax(mx, xs[(b * C + ch) * S + s]);
            for (int64_t ch = 0; ch < C; ch++) se += exp(xs[(b * C + ch) * S + s] - mx);
            double lse = mx + log(se), smooth = 0;
            for (int64_t ch = 0; ch < C; ch++)
                smooth += (c->has_w ? c->w[ch] : 1.0) * (lse - xs[(b * C + ch) * S + s]);
            double wy = c->has_w ? c->w[y] : 1.0;
            l[pos] = (1 - c->eps) * wy * (lse - xs[(b * C + y) * S + s]) +
                     c->eps / (double)C * smooth;
            W += wy;
        }
        return eg_reduce(c, l, c->nt, W);
    }
    default: {
        int64_t items = eg_items(c), order[EG_MAXN], P;
        double errs[EG_MAXN];
        for (int64_t k = 0; k < items; k++) l[k] = eg_lovasz_item(c, xs, k, order, errs, &P);
        return eg_reduce(c, l, items, (double)items);
    }
    }
}

/* Lovasz: is element i within h of a kink? */
static int eg_lovasz_kink(const eg_case *c, const double *xs, int64_t i, double h) {
    if (eg_ignored(c, i)) return 0;
    int64_t per = c->n / eg_items(c), base = (i / per) * per;
    double ei = 1.0 - xs[i] * (2.0 * c->y[i] - 1.0);
    double margin = 2.0 * h * fabs(2.0 * c->y[i] - 1.0) + 1e-12;
    if (fabs(ei) < margin) return 1;
    for (int64_t j = base; j < base + per; j++) {
        if (j == i || eg_ignored(c, j)) continue;
        double ej = 1.0 - xs[j] * (2.0 * c->y[j] - 1.0);
        if (fabs(ei - ej) < margin) return 1;
    }
    return 0;
}

static segloss_status eg_backward(const eg_case *c, float *g) {
    segloss_target t = {&c->t, c->tdtype};
    const float *go = c->has_go ? c->go : NULL;
    segloss_farray w = {c->has_w ? c->w : NULL, c->wshape};
    switch (c->op) {
    case EG_FOCAL: {
        segloss_focal_opts o = segloss_focal_opts_default();
        o.reduction = c->red;
        o.weight = w;
        o.alpha = c->alpha;
        o.gamma = c->gamma;
        o.ignore_index = c->has_ignore ? (int64_t)(c->ignore) : SEGLOSS_IGNORE_NONE;
        return segloss_focal_backward(g, c->x, &t, &c->shape, &o, go);
    }
    case EG_CE: {
        segloss_ce_opts o = segloss_ce_opts_default();
        o.reduction = c->red;
        o.class_weight = w;
        o.ignore_index = c->has_ignore ? (int64_t)(c->ignore) : -100;
        o.label_smoothing = c->eps;
        return segloss_ce_backward(g, c->x, &t, &c->shape, &o, go);
    }
    case EG_LOVASZ: {
        segloss_lovasz_opts o = segloss_lovasz_opts_default();
        o.reduction = c->red;
        o.per_image = c->per_image;
        o.ignore_index = c->has_ignore ? (int64_t)(c->ignore) : SEGLOSS_IGNORE_NONE;
        return segloss_lovasz_hinge_backward(g, c->x, &t, &c->shape, &o, go);
    }
    default: {
        segloss_bce_opts o = segloss_bce_opts_default();
        o.reduction = c->red;
        o.weight = w;
        o.ignore_index = c->has_ignore ? (int64_t)(c->ignore) : SEGLOSS_IGNORE_NONE;
        return c->op == EG_BCE ? segloss_bce_backward(g, c->x, &t, &c->shape, &o, go)
                               : segloss_bce_logits_backward(g, c->x, &t, &c->shape, &o, go);
    }
    }
}

static double eg_objective_of(const void *c, const double *xs) { return eg_objective(c, xs); }

static double eg_worst[EG_NOPS];
static int eg_points[EG_NOPS], eg_skipped[EG_NOPS], eg_cases[EG_NOPS];

static void eg_check(const eg_case *c, const char *label) {
    float g[EG_MAXN];
    double xs[EG_MAXN], fd[EG_MAXN];
    int skip[EG_MAXN];
    segloss_status st = eg_backward(c, g);
    CHECK_MSG(st == SEGLOSS_OK, "%s: backward: %s", label, segloss_strerror(st));
    if (st != SEGLOSS_OK) return;
    for (int64_t i = 0; i < c->n; i++) xs[i] = c->x[i];
    double maxfd = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double h = EG_H;
        if (c->op == EG_BCE) h = 1e-6; /* probabilities in [0.05, 0.95] */
        skip[i] = c->op == EG_LOVASZ && eg_lovasz_kink(c, xs, i, h);
        if (skip[i]) continue;
        fd[i] = gcu_central_diff(eg_objective_of, c, xs, i, h);
        if (fabs(fd[i]) > maxfd) maxfd = fabs(fd[i]);
    }
    int64_t at, checked;
    double maxerr = gcu_max_err(g, fd, skip, c->n, &at, &checked);
    eg_points[c->op] += (int)checked;
    eg_skipped[c->op] += (int)(c->n - checked);
    eg_cases[c->op]++;
    double rel = maxfd > 0 ? maxerr / maxfd : maxerr;
    if (rel > eg_worst[c->op]) eg_worst[c->op] = rel;
    CHECK_MSG(maxerr <= EG_RTOL * maxfd + EG_ATOL,
              "%s: max |g - fd| = %.3g at [%lld] (g %.9g, fd %.9g; max |fd| %.3g)", label, maxerr,
              (long long)at, at >= 0 ? (double)g[at] : 0.0, at >= 0 ? fd[at] : 0.0, maxfd);
}

static void eg_report(int op) {
    printf("  element gradcheck %-10s %3d cases  max |g - fd| / max |fd| = %.2e  (%d points, "
           "%d skipped near kinks)\n",
           eg_names[op], eg_cases[op], eg_worst[op], eg_points[op], eg_skipped[op]);
}

/* ---- case builders ------------------------------------------------------- */
static void eg_shape(eg_case *c, int ndim, const int64_t *dims) {
    memset(&c->shape, 0, sizeof c->shape);
    c->shape.ndim = ndim;
    c->n = 1;
    for (int d = 0; d < ndim; d++) {
        c->shape.dim[d] = dims[d];
        c->n *= dims[d];
    }
    c->nt = c->n;
}

static void eg_upstream(eg_case *c, int64_t nloss, int with) {
    c->has_go = with;
    if (!with) return;
    if (c->red == SEGLOSS_REDUCTION_NONE)
        for (int64_t k = 0; k < nloss; k++) c->go[k] = (float)(eg_uniform() * 3 - 1.5);
    else
        c->go[0] = 0.75f;
}

static const segloss_reduction eg_reds[3] = {SEGLOSS_REDUCTION_MEAN, SEGLOSS_REDUCTION_SUM,
                                             SEGLOSS_REDUCTION_NONE};

TEST(element_gradcheck_focal) {
    static const double alphas[] = {0.25, -1.0, 0.8, 0.0};
    static const double gammas[] = {0.0, 0.5, 1.0, 2.0, 3.0};
    static const int64_t dims[] = {2, 3, 4, 5};
    eg_state = 101;
    int k = 0;
    for (int a = 0; a < 4; a++) {
        for (int gi = 0; gi < 5; gi++) {
            for (int r = 0; r < 3; r++, k++) {
                eg_case c;
                memset(&c, 0, sizeof c);
                c.op = EG_FOCAL;
                eg_shape(&c, 4, dims);
                c.red = eg_reds[r];
                c.alpha = alphas[a];
                c.gamma = gammas[gi];
                int soft = k % 3 == 1, ign = k % 4 == 2, wt = k % 5 == 3;
                c.tdtype = soft ? SEGLOSS_F64 : SEGLOSS_U8;
                for (int64_t i = 0; i < c.n; i++) {
                    c.x[i] = (float)(eg_uniform() * 12 - 6);
                    c.y[i] = soft ? eg_uniform() : (eg_uniform() < 0.4 ? 1 : 0);
                    if (ign && eg_uniform() < 0.3) c.y[i] = soft ? -1.0 : 255;
                }
                if (ign) {
                    c.has_ignore = 1;
                    c.ignore = soft ? -1.0 : 255;
                }
                if (wt) {
                    c.has_w = 1;
                    c.wshape.ndim = 2;
                    c.wshape.dim[0] = 4;
                    c.wshape.dim[1] = 1;
                    for (int i = 0; i < 4; i++) c.w[i] = (float)(0.5 + eg_uniform());
                }
                eg_store_target(&c);
                eg_upstream(&c, c.n, k % 2);
                char label[96];
                snprintf(label, sizeof label, "focal a=%g g=%g red=%d soft=%d ign=%d w=%d",
                         c.alpha, c.gamma, r, soft, ign, wt);
                eg_check(&c, label);
            }
        }
    }
    eg_report(EG_FOCAL);
}

TEST(element_gradcheck_ce) {
    static const int64_t shapes[][5] = {{5}, {6, 4}, {2, 3, 7}, {2, 4, 3, 3}, {1, 3, 2, 2, 3}};
    static const int ndims[] = {1, 2, 3, 4, 5};
    static const double epss[] = {0.0, 0.1, 1.0};
    eg_state = 202;
    int k = 0;
    for (int s = 0; s < 5; s++) {
        for (int e = 0; e < 3; e++) {
            for (int r = 0; r < 3; r++, k++) {
                eg_case c;
                memset(&c, 0, sizeof c);
                c.op = EG_CE;
                eg_shape(&c, ndims[s], shapes[s]);
                int64_t C = ndims[s] == 1 ? shapes[s][0] : shapes[s][1];
                c.nt = c.n / C;
                c.red = eg_reds[r];
                c.eps = epss[e];
                int wt = k % 2 == 0, ign = k % 3 != 0;
                c.tdtype = k % 2 ? SEGLOSS_I64 : SEGLOSS_U8;
                for (int64_t i = 0; i < c.n; i++) c.x[i] = (float)(eg_uniform() * 10 - 5);
                for (int64_t i = 0; i < c.nt; i++) {
                    c.y[i] = floor(eg_uniform() * (double)C);
                    if (ign && i % 4 == 1) c.y[i] = c.tdtype == SEGLOSS_U8 ? 255 : -100;
                }
                c.has_ignore = 1; /* explicit value in every case */
                c.ignore = c.tdtype == SEGLOSS_U8 ? 255 : -100;
                if (wt) {
                    c.has_w = 1;
                    c.wshape.ndim = 1;
                    c.wshape.dim[0] = C;
                    for (int64_t i = 0; i < C; i++) c.w[i] = (float)(0.2 + 2 * eg_uniform());
                }
                eg_store_target(&c);
                eg_upstream(&c, c.nt, k % 2);
                char label[96];
                snprintf(label, sizeof label, "ce ndim=%d eps=%g red=%d w=%d ign=%d", ndims[s],
                         c.eps, r, wt, ign);
                eg_check(&c, label);
            }
        }
    }
    eg_report(EG_CE);
}

TEST(element_gradcheck_lovasz) {
    static const int64_t shapes[][5] = {{11}, {4, 6}, {3, 2, 5}, {2, 1, 4, 5}, {2, 1, 2, 3, 4}};
    static const int ndims[] = {1, 2, 3, 4, 5};
    eg_state = 303;
    int k = 0;
    for (int s = 0; s < 5; s++) {
        for (int per = 0; per < 2; per++) {
            for (int r = 0; r < 3; r++, k++) {
                eg_case c;
                memset(&c, 0, sizeof c);
                c.op = EG_LOVASZ;
                eg_shape(&c, ndims[s], shapes[s]);
                c.red = eg_reds[r];
                c.per_image = per;
                int soft = k % 5 == 4, ign = k % 3 == 1;
                c.tdtype = soft ? SEGLOSS_F32 : SEGLOSS_U8;
                for (int64_t i = 0; i < c.n; i++) {
                    c.x[i] = (float)(eg_uniform() * 6 - 3);
                    c.y[i] = soft ? eg_uniform() : (eg_uniform() < 0.45 ? 1 : 0);
                    if (ign && eg_uniform() < 0.25) c.y[i] = soft ? 7.0 : 255;
                }
                if (ign) {
                    c.has_ignore = 1;
                    c.ignore = soft ? 7.0 : 255;
                }
                eg_store_target(&c);
                eg_upstream(&c, eg_items(&c), k % 2);
                char label[96];
                snprintf(label, sizeof label, "lovasz ndim=%d per=%d red=%d soft=%d ign=%d",
                         ndims[s], per, r, soft, ign);
                eg_check(&c, label);
            }
        }
    }
    eg_report(EG_LOVASZ);
}

TEST(element_gradcheck_bce_ignore) {
    static const int64_t dims[] = {3, 4, 5};
    eg_state = 404;
    for (int op = EG_BCE; op <= EG_BCEL; op++) {
        for (int r = 0; r < 3; r++) {
            for (int wt = 0; wt < 2; wt++) {
                eg_case c;
                memset(&c, 0, sizeof c);
                c.op = op;
                eg_shape(&c, 3, dims);
                c.red = eg_reds[r];
                c.tdtype = wt ? SEGLOSS_I64 : SEGLOSS_F32;
                c.has_ignore = 1;
                c.ignore = wt ? -1 : 3; /* integral: ignore values are int64 */
                for (int64_t i = 0; i < c.n; i++) {
                    c.x[i] = op == EG_BCE ? (float)(0.05 + 0.9 * eg_uniform())
                                          : (float)(eg_uniform() * 10 - 5);
                    c.y[i] = eg_uniform() < 0.5 ? 1 : 0;
                    if (eg_uniform() < 0.3) c.y[i] = c.ignore;
                }
                if (wt) {
                    c.has_w = 1;
                    c.wshape.ndim = 1;
                    c.wshape.dim[0] = 5;
                    for (int i = 0; i < 5; i++) c.w[i] = (float)(0.5 + eg_uniform());
                }
                eg_store_target(&c);
                eg_upstream(&c, c.n, 1);
                char label[96];
                snprintf(label, sizeof label, "%s ignore red=%d w=%d", eg_names[op], r, wt);
                eg_check(&c, label);
            }
        }
    }
    eg_report(EG_BCE);
    eg_report(EG_BCEL);
}
