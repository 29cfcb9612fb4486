/* Gradients by central finite differences, independent of PyTorch.
 *
 * Each loss's forward is re-implemented here in double, straight from the
 * SPEC's formulas (and MONAI's DiceLoss for dice). For the objective
 *   F(x) = g * L(x)              (reduction mean/sum, upstream scalar g)
 *   F(x) = sum_k u_k * l_k(x)    (reduction none, upstream array u)
 * every input element is perturbed by h and (F(x+h) - F(x-h)) / 2h is compared
 * with segloss's backward (float32 gradient of float32 inputs):
 *   max |g_segloss - g_fd| <= 1e-4 * max |g_fd| + 1e-10.
 * Points within h of a kink are skipped (BCE: ln p clamped at -100, i.e.
 * p < e^-100, and the 1e-12 floor of p(1-p); dice with activation none: p
 * must stay in [0,1]). The inputs come from a fixed-seed splitmix64, so every
 * run checks the same points. */
#include "gradcheck_util.h"
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GC_RTOL 1e-4
#define GC_ATOL 1e-10
#define GC_MAXN 256

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */
static uint64_t gc_state;

static double gc_uniform(void) { return gcu_uniform53(&gc_state); } /* [0, 1), 53 bits */

static float gc_range(double lo, double hi) { return (float)(lo + (hi - lo) * gc_uniform()); }

/* ------------------------------------------------------------------------ */
/* A case                                                                    */
/* ------------------------------------------------------------------------ */
enum { GC_SIGMOID, GC_BCE, GC_BCE_LOGITS, GC_DICE };

typedef struct gc_case {
    int op;
    segloss_shape shape;
    int64_t n;
    float x[GC_MAXN], y[GC_MAXN];
    float w[GC_MAXN], pw[GC_MAXN];
    segloss_shape wshape, pshape;
    int has_w, has_pw;
    segloss_reduction red;
    segloss_dice_opts dice;
    float go[GC_MAXN]; /* upstream: go[0] for mean/sum, array for none/sigmoid */
    int has_go;
    int64_t nloss;     /* number of loss values for none */
} gc_case;

static double upstream(const gc_case *c, int64_t k) {
    if (!c->has_go) return 1.0;
    return c->red == SEGLOSS_REDUCTION_NONE ? c->go[k] : c->go[0];
}

/* Reduces per-element (or per-item) losses l[0..m) to the objective F. */
static double reduce_objective(const gc_case *c, const double *l, int64_t m) {
    double s = 0;
    if (c->red == SEGLOSS_REDUCTION_NONE) {
        for (int64_t k = 0; k < m; k++) s += upstream(c, k) * l[k];
        return s;
    }
    for (int64_t k = 0; k < m; k++) s += l[k];
    if (c->red == SEGLOSS_REDUCTION_MEAN) s /= (double)m;
    return upstream(c, 0) * s;
}

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Objective in double at inputs xs (n values). */
static double objective(const gc_case *c, const double *xs) {
    double l[GC_MAXN];
    int64_t n = c->n;
    switch (c->op) {
    case GC_SIGMOID:
        for (int64_t i = 0; i < n; i++) l[i] = ref_sigmoid(xs[i]);
        return reduce_objective(c, l, n);
    case GC_BCE:
        /* -w [y max(ln p, -100) + (1-y) max(ln(1-p), -100)] */
        for (int64_t i = 0; i < n; i++) {
            double p = xs[i], y = c->y[i];
            double w = c->has_w ? c->w[gcu_bcast_offset(&c->shape, &c->wshape, i)] : 1.0;
            l[i] = -w * (y * fmax(log(p), -100.0) + (1 - y) * fmax(log(1 - p), -100.0));
        }
        return reduce_objective(c, l, n);
    case GC_BCE_LOGITS:
        /* w [(1-y) x + (1 + (pw-1) y) ln(1 + e^-x)] */
        for (int64_t i = 0; i < n; i++) {
            double x = xs[i], y = c->y[i];
            double w = c->has_w ? c->w[gcu_bcast_offset(&c->shape, &c->wshape, i)] : 1.0;
            double pw = c->has_pw ? c->pw[gcu_bcast_offset(&c->shape, &c->pshape, i)] : 1.0;
            l[i] = w * ((1 - y) * x + (1 + (pw - 1) * y) * log(1 + exp(-x)));
        }
        return reduce_objective(c, l, n);
    default: {
        /* MONAI DiceLoss: (N, C, S), one image when ndim <= 2. */
        const segloss_dice_opts *o = &c->dice;
        int64_t N = 1, C = 1;
        if (c->shape.ndim >= 3) {
            N = c->shape.dim[0];
            C = c->shape.dim[1];
        }
        int64_t S = n / (N * C), items = o->batch ? C : N * C;
        double snr = o->smooth_nr, sdr = o->smooth_dr;
        for (int64_t k = 0; k < items; k++) {
            double I = 0, P = 0, G = 0;
            for (int64_t b = 0; b < N; b++) {
                for (int64_t ch = 0; ch < C; ch++) {
                    if (o->batch ? ch != k : b * C + ch != k) continue;
                    for (int64_t s = 0; s < S; s++) {
                        int64_t i = (b * C + ch) * S + s;
                        double p = o->activation == SEGLOSS_ACTIVATION_SIGMOID
                                       ? ref_sigmoid(xs[i]) : xs[i];
                        double y = c->y[i];
                        I += y * p;
                        P += o->squared ? p * p : p;
                        G += o->squared ? y * y : y;
                    }
                }
            }
            double den = P + G;
            if (o->jaccard) den = 2.0 * (den - I);
            /* f = 1 - ratio; the constant 1 is left out: it has no
             * derivative and would cost the differences their digits when
             * the ratio is tiny (empty targets) */
            l[k] = -(2.0 * I + snr) / (den + sdr);
        }
        return reduce_objective(c, l, items);
    }
    }
}

/* segloss's gradient of the same objective. */
static segloss_status segloss_grad(const gc_case *c, float *g) {
    segloss_target t = {c->y, SEGLOSS_F32};
    const float *go = c->has_go ? c->go : NULL;
    if (c->op == GC_SIGMOID) {
        float s[GC_MAXN], ones[GC_MAXN];
        for (int64_t i = 0; i < c->n; i++) ones[i] = 1.0f;
        segloss_status st = segloss_sigmoid_forward(s, c->x, c->n);
        if (st != SEGLOSS_OK) return st;
        return segloss_sigmoid_backward(g, go ? go : ones, s, c->n);
    }
    if (c->op == GC_DICE) return segloss_dice_backward(g, c->x, &t, &c->shape, &c->dice, go);
    segloss_bce_opts o;
    o = segloss_bce_opts_default();
    o.reduction = c->red;
    if (c->has_w) {
        o.weight.data = c->w;
        o.weight.shape = c->wshape;
    }
    if (c->has_pw) {
        o.pos_weight.data = c->pw;
        o.pos_weight.shape = c->pshape;
    }
    return c->op == GC_BCE ? segloss_bce_backward(g, c->x, &t, &c->shape, &o, go)
                           : segloss_bce_logits_backward(g, c->x, &t, &c->shape, &o, go);
}

static double objective_of(const void *c, const double *xs) { return objective(c, xs); }

static double worst_seen[4];
static int points_checked[4], points_skipped[4];

/* The worst relative error seen for op, printed once per test. */
static void report(int op) {
    static const char *const names[4] = {"sigmoid", "bce", "bce_logits", "dice"};
    printf("gradcheck %-10s max |g - fd| / max |fd| = %.2e (%d points, %d skipped near kinks)\n",
           names[op], worst_seen[op], points_checked[op], points_skipped[op]);
}

static void gradcheck(const gc_case *c, const char *label) {
    float g[GC_MAXN];
    double xs[GC_MAXN], fd[GC_MAXN];
    int skip[GC_MAXN];
    segloss_status st = segloss_grad(c, g);
    CHECK_MSG(st == SEGLOSS_OK, "%s: backward: %s", label, segloss_strerror(st));
    if (st != SEGLOSS_OK) return;
    for (int64_t i = 0; i < c->n; i++) xs[i] = c->x[i];
    int probs = c->op == GC_BCE ||
                (c->op == GC_DICE && c->dice.activation == SEGLOSS_ACTIVATION_NONE);
    double maxfd = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double x0 = xs[i];
        /* probabilities: h shrinks near 0 and 1 so that x0 +- h stays inside
         * and the truncation error h^2 f'''/6 stays small */
        double h = probs ? fmin(1e-5, 1e-3 * fmin(x0, 1 - x0)) : 1e-4 * fmax(1.0, fabs(x0));
        skip[i] = 0;
        if (probs && !(x0 > 0 && x0 < 1)) skip[i] = 1;
        /* BCE kinks: ln p clamped at -100 (p < e^-100) and the gradient's
         * floor max(p(1-p), 1e-12); stay well away from both */
        if (c->op == GC_BCE && x0 * (1 - x0) < 1e-9) skip[i] = 1;
        if (skip[i]) {
            points_skipped[c->op]++;
            continue;
        }
        fd[i] = gcu_central_diff(objective_of, c, xs, i, h);
        if (fabs(fd[i]) > maxfd) maxfd = fabs(fd[i]);
    }
    int64_t at, checked;
    double maxerr = gcu_max_err(g, fd, skip, c->n, &at, &checked);
    points_checked[c->op] += (int)checked;
    CHECK_MSG(maxerr <= GC_RTOL * maxfd + GC_ATOL,
              "%s: max |g - fd| %.3g at [%lld] (g %.9g, fd %.9g; max|fd| %.3g)", label, maxerr,
              (long long)at, at >= 0 ? (double)g[at] : 0.0, at >= 0 ? fd[at] : 0.0, maxfd);
    if (maxfd > 0 && maxerr / maxfd > worst_seen[c->op]) worst_seen[c->op] = maxerr / maxfd;
    /* GC_DEBUG=1 lists the cases above a tenth of the tolerance */
    if (getenv("GC_DEBUG") && at >= 0 && maxerr > 0.1 * GC_RTOL * maxfd)
        printf("%s: rel %.3g at [%lld]: g %.9g fd %.9g\n", label, maxerr / maxfd,
               (long long)at, (double)g[at], fd[at]);
}

static void set_shape(segloss_shape *s, int ndim, const int64_t *dims) {
    memset(s, 0, sizeof *s);
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) s->dim[i] = dims[i];
}

static int64_t numel(const segloss_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
    return n;
}

static const segloss_reduction reds[3] = {SEGLOSS_REDUCTION_MEAN, SEGLOSS_REDUCTION_SUM,
                                          SEGLOSS_REDUCTION_NONE};
static const char *const red_names[3] = {"mean", "sum", "none"};

/* Upstream: variant 0 none (NULL), 1 scalar 0.5 (array for none). */
static void set_upstream(gc_case *c, int variant, int64_t nloss) {
    c->nloss = nloss;
    c->has_go = variant != 0;
    if (!c->has_go) return;
    if (c->red == SEGLOSS_REDUCTION_NONE || c->op == GC_SIGMOID) {
        for (int64_t k = 0; k < nloss; k++) c->go[k] = gc_range(-1.5, 1.5);
    } else {
        c->go[0] = 0.5f;
    }
}

TEST(gradcheck_sigmoid) {
    gc_state = 1;
    static const int64_t dims[] = {3, 7};
    for (int v = 0; v < 2; v++) {
        gc_case c;
        memset(&c, 0, sizeof c);
        c.dice = segloss_dice_opts_default();
        c.op = GC_SIGMOID;
        set_shape(&c.shape, 2, dims);
        c.n = numel(&c.shape);
        c.red = SEGLOSS_REDUCTION_NONE;
        for (int64_t i = 0; i < c.n; i++) c.x[i] = gc_range(-9, 9);
        set_upstream(&c, v, c.n);
        gradcheck(&c, v ? "sigmoid upstream" : "sigmoid");
    }
    report(GC_SIGMOID);
}

/* Shapes for the element-wise losses, with their weight / pos_weight
 * variants: 0 none, 1 last axis (1-D), 2 full, 3 per channel (C,1,..) of rank
 * ndim-1 (or (C,1) for rank 2), 4 scalar-shaped (rank 0). */
static void make_bcast(segloss_shape *ws, float *w, const segloss_shape *full, int variant,
                       double lo, double hi) {
    memset(ws, 0, sizeof *ws);
    switch (variant) {
    case 1: ws->ndim = 1; ws->dim[0] = full->dim[full->ndim - 1]; break;
    case 2: *ws = *full; break;
    case 3:
        ws->ndim = full->ndim >= 3 ? full->ndim - 1 : 2;
        for (int d = 0; d < ws->ndim; d++) ws->dim[d] = 1;
        ws->dim[0] = full->ndim >= 3 ? full->dim[1] : full->dim[0];
        break;
    default: ws->ndim = 0; break;
    }
    int64_t m = numel(ws);
    for (int64_t i = 0; i < m; i++) w[i] = gc_range(lo, hi);
}

static void elementwise_sweep(int op) {
    static const int64_t s1[] = {7}, s2[] = {3, 5}, s3[] = {2, 3, 5}, s4[] = {2, 3, 2, 3};
    static const int64_t *shapes[] = {s1, s2, s3, s4};
    static const int ranks[] = {1, 2, 3, 4};
    char label[160];
    for (int si = 0; si < 4; si++) {
        for (int r = 0; r < 3; r++) {
            for (int wv = 0; wv < 5; wv++) {
                for (int pv = 0; pv < (op == GC_BCE_LOGITS ? 5 : 1); pv++) {
                    if (ranks[si] == 1 && (wv == 3 || pv == 3)) continue;
                    gc_case c;
                    memset(&c, 0, sizeof c);
                    c.dice = segloss_dice_opts_default();
                    c.op = op;
                    set_shape(&c.shape, ranks[si], shapes[si]);
                    c.n = numel(&c.shape);
                    c.red = reds[r];
                    int soft = (si + wv + pv) % 2;
                    for (int64_t i = 0; i < c.n; i++) {
                        c.x[i] = op == GC_BCE ? gc_range(0.02, 0.98) : gc_range(-7, 7);
                        c.y[i] = soft ? (float)gc_uniform() : (gc_uniform() < 0.5 ? 1.0f : 0.0f);
                    }
                    if (wv) {
                        c.has_w = 1;
                        make_bcast(&c.wshape, c.w, &c.shape, wv, 0.1, 2.5);
                    }
                    if (pv) {
                        c.has_pw = 1;
                        make_bcast(&c.pshape, c.pw, &c.shape, pv, 0.2, 5.0);
                    }
                    set_upstream(&c, (si + r + wv + pv) % 2, c.n);
                    snprintf(label, sizeof label, "%s rank %d %s weight %d pos_weight %d%s%s",
                             op == GC_BCE ? "bce" : "bce_logits", ranks[si], red_names[r], wv,
                             pv, soft ? " soft" : "", c.has_go ? " upstream" : "");
                    gradcheck(&c, label);
                }
            }
        }
    }
}

TEST(gradcheck_bce) {
    gc_state = 2;
    elementwise_sweep(GC_BCE);
    /* near the clamp and the floor: points within h of a kink are skipped,
     * the others still agree */
    gc_case c;
    memset(&c, 0, sizeof c);
    c.dice = segloss_dice_opts_default();
    c.op = GC_BCE;
    static const int64_t d[] = {8};
    set_shape(&c.shape, 1, d);
    c.n = 8;
    const float p[8] = {1e-6f, 0.999f, 1e-3f, 0.5f, 0.0f, 1.0f, 2e-5f, 0.99999f};
    const float y[8] = {1, 0, 0.3f, 1, 0, 1, 0, 1};
    memcpy(c.x, p, sizeof p);
    memcpy(c.y, y, sizeof y);
    c.red = SEGLOSS_REDUCTION_SUM;
    gradcheck(&c, "bce near 0/1");
    report(GC_BCE);
}

TEST(gradcheck_bce_logits) {
    gc_state = 3;
    elementwise_sweep(GC_BCE_LOGITS);
    /* logits far out: the gradient saturates at w*(1-y) or -w*pw*y */
    gc_case c;
    memset(&c, 0, sizeof c);
    c.dice = segloss_dice_opts_default();
    c.op = GC_BCE_LOGITS;
    static const int64_t d[] = {2, 6};
    set_shape(&c.shape, 2, d);
    c.n = 12;
    const float x[12] = {-30, -17, -5, 5, 17, 30, -30, -17, -5, 5, 17, 30};
    memcpy(c.x, x, sizeof x);
    for (int i = 0; i < 12; i++) c.y[i] = i < 6 ? 1.0f : 0.25f;
    c.has_pw = 1;
    c.pshape.ndim = 2;
    c.pshape.dim[0] = 2;
    c.pshape.dim[1] = 1;
    c.pw[0] = 3.0f;
    c.pw[1] = 0.5f;
    c.red = SEGLOSS_REDUCTION_SUM;
    gradcheck(&c, "bce_logits far out");
    report(GC_BCE_LOGITS);
}

TEST(gradcheck_dice) {
    gc_state = 4;
    static const int64_t s1[] = {9}, s2[] = {4, 5}, s3[] = {2, 3, 5}, s4[] = {2, 2, 3, 4},
                         s5[] = {2, 1, 2, 3, 2};
    static const int64_t *shapes[] = {s1, s2, s3, s4, s5};
    static const int ranks[] = {1, 2, 3, 4, 5};
    char label[200];
    int k = 0;
    for (int si = 0; si < 5; si++)
        for (int sq = 0; sq < 2; sq++)
            for (int jac = 0; jac < 2; jac++)
                for (int bat = 0; bat < 2; bat++)
                    for (int act = 0; act < 2; act++)
                        for (int r = 0; r < 3; r++) {
                            k++;
                            gc_case c;
                            memset(&c, 0, sizeof c);
                            c.dice = segloss_dice_opts_default();
                            c.op = GC_DICE;
                            set_shape(&c.shape, ranks[si], shapes[si]);
                            c.n = numel(&c.shape);
                            c.red = reds[r];
                            c.dice.reduction = reds[r];
                            c.dice.squared = sq;
                            c.dice.jaccard = jac;
                            c.dice.batch = bat;
                            c.dice.activation =
                                act ? SEGLOSS_ACTIVATION_NONE : SEGLOSS_ACTIVATION_SIGMOID;
                            /* smooth: defaults, custom, zero (non-empty masks) */
                            if (k % 3 == 1) {
                                c.dice.smooth_nr = 0.3;
                                c.dice.smooth_dr = 0.7;
                            } else if (k % 3 == 2) {
                            }
                            int soft = k % 2;
                            for (int64_t i = 0; i < c.n; i++) {
                                c.x[i] = act ? gc_range(0.05, 0.95) : gc_range(-4, 4);
                                c.y[i] = soft ? (float)gc_uniform()
                                              : (gc_uniform() < 0.4 ? 1.0f : 0.0f);
                            }
                            /* the first item's target empty now and then (never 0/0:
                             * inputs are > 0 with either activation) */
                            if (k % 5 == 0 && !bat) {
                                int64_t first_item = ranks[si] >= 3
                                    ? c.n / (c.shape.dim[0] * c.shape.dim[1]) : c.n;
                                for (int64_t i = 0; i < first_item; i++) c.y[i] = 0.0f;
                            }
                            int64_t items;
                            segloss_status st = ref_dice_items(&items, &c.shape, &c.dice);
                            CHECK_EQ_INT(st, SEGLOSS_OK);
                            set_upstream(&c, k % 2 || r == 2, items);
                            snprintf(label, sizeof label,
                                     "dice rank %d sq %d jac %d batch %d act %s %s smooth %g/%g%s",
                                     ranks[si], sq, jac, bat, act ? "none" : "sigmoid",
                                     red_names[r], c.dice.smooth_nr, c.dice.smooth_dr,
                                     soft ? " soft" : "");
                            gradcheck(&c, label);
                        }
    report(GC_DICE);
}
