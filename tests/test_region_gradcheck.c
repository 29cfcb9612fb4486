/* Region losses against double re-implementations written here from the
 * definitions (MONAI DiceLoss / TverskyLoss / GeneralizedDiceLoss / DiceCE,
 * smp DiceLoss / JaccardLoss, soft IoU), and their gradients against
 * central finite differences of those double implementations.
 *
 * Every option combination of issue 3 is swept: activation (sigmoid, none,
 * softmax) x no_background x ignore_index x batch x the loss's own options
 * x reduction (mean, sum, none, with upstream gradients), on rank 1..5
 * shapes. The reference takes the float32 inputs in double; its sums run in
 * a different order from segloss's blocks, so the losses agree to ~1e-15,
 * except with the sigmoid, which segloss computes in float32 (kernels/vec.h,
 * <= 1.5 ulp): ~1e-9 there.
 *   loss:      |loss - ref| <= 1e-10 |ref| + 1e-12 (sigmoid: 1e-7 |ref|)
 *   loss array (none): 1e-7 relative + 1e-12 (float32 output)
 *   gradient:  max |g - fd| <= 1e-5 max |fd| + 1e-12, fd = (L(x+h) - L(x-h))/2h,
 *              h = 1e-5, L = sum_k go_k f_k (none) or go * loss
 * Kinks are kept away from: smp's clamps (den >= 1e-7, score >= 1e-7) are
 * never reached by these inputs, and probabilities stay in [0.02, 0.98].
 * The worst errors per loss are printed: `build/test_runner region_gradcheck`. */
#include "gradcheck_util.h"
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FD_H 1e-5
#define GRAD_RTOL 1e-5
#define LOSS_RTOL 1e-10
#define LOSS_RTOL_SIGMOID 1e-7
#define ELEM_RTOL 1e-7
#define EPS_SMP 1e-7

enum { L_DICE, L_JACCARD, L_TVERSKY, L_GDICE, L_DICE_BCE, L_COUNT };
static const char *const names[L_COUNT] = {"dice", "jaccard", "tversky", "gdice", "dice_bce"};

typedef struct gc {
    int loss;
    segloss_shape shape;
    int64_t n, c, s, numel;
    float *x;
    int index;           /* class-index target */
    int64_t *ti;         /* index target, N*S */
    float *td;           /* dense target, numel */
    segloss_dice_opts o;
    double alpha, beta, gamma;
    int custom_tv;
    segloss_gdice_weight w;
    double ld, lb;
    int custom_l;
    float *pw;           /* per channel (C), or NULL */
    const float *go;     /* upstream gradient, or NULL */
} gc;

/* ------------------------------------------------------------------------ */
/* The double reference                                                      */
/* ------------------------------------------------------------------------ */
static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }
static double softplus(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

/* Item losses of the region part into f (returns the count), from inputs
 * x (double). `dice_only`: the dice part of dice + bce. */
static int64_t ref_items(const gc *c, const double *x, double *f, int dice_only) {
    const segloss_dice_opts *o = &c->o;
    int64_t N = c->n, C = c->c, S = c->s;
    double *p = malloc((size_t)c->numel * sizeof *p);
    double *y = malloc((size_t)c->numel * sizeof *y);
    unsigned char *m = malloc((size_t)c->numel);
    int64_t c0 = (o->no_background && C > 1) ? 1 : 0, ck = C - c0;
    int batch = o->batch || o->smp;
    int64_t groups = batch ? ck : N * ck;
    double *I = calloc((size_t)groups * 5, sizeof *I);
    double *P = I + groups, *G = P + groups, *FP = G + groups, *FN = FP + groups;
    double snr = o->smooth_nr, sdr = o->smooth_dr;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t s = 0; s < S; s++) {
            double mx = -INFINITY, z = 0;
            if (o->activation == SEGLOSS_ACTIVATION_SOFTMAX) {
                for (int64_t ch = 0; ch < C; ch++) mx = fmax(mx, x[(n * C + ch) * S + s]);
                for (int64_t ch = 0; ch < C; ch++) z += exp(x[(n * C + ch) * S + s] - mx);
            }
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t i = (n * C + ch) * S + s;
                if (o->activation == SEGLOSS_ACTIVATION_SOFTMAX) p[i] = exp(x[i] - mx) / z;
                else if (o->activation == SEGLOSS_ACTIVATION_SIGMOID) p[i] = sigm(x[i]);
                else p[i] = x[i];
                double v = c->index ? (double)c->ti[n * S + s] : c->td[i];
                int ign = o->ignore_index != SEGLOSS_IGNORE_NONE && v == (double)o->ignore_index;
                m[i] = (unsigned char)!ign;
                y[i] = ign ? 0.0 : c->index ? (v == (double)ch) : v;
            }
        }
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < ck; k++) {
            int64_t g = batch ? k : n * ck + k;
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c0 + k) * S + s;
                double pm = m[i] ? p[i] : 0.0, ym = y[i];
                /* smp >= 0.4: I = (sum p + sum y - sum |p - y|)/2 */
                I[g] += o->smp == SEGLOSS_SMP_CURRENT ? (pm + ym - fabs(pm - ym)) / 2 : pm * ym;
                P[g] += o->squared ? pm * pm : pm;
                G[g] += o->squared ? ym * ym : ym;
                FP[g] += pm * (1.0 - ym);
                FN[g] += (1.0 - pm) * ym;
            }
        }
    int64_t items = groups;
    int kind = dice_only ? L_DICE : c->loss;
    if (kind == L_DICE || kind == L_JACCARD) {
        for (int64_t g = 0; g < groups; g++) {
            double num, den;
            if (kind == L_DICE && o->smp == SEGLOSS_SMP_CURRENT) {
                /* soft_tversky_score with alpha = beta = 1/2 */
                num = I[g] + snr;
                den = I[g] + 0.5 * (P[g] - I[g]) + 0.5 * (G[g] - I[g]) + sdr;
            } else if (kind == L_DICE) {
                num = 2.0 * I[g] + snr;
                den = (o->jaccard ? 2.0 * (P[g] + G[g] - I[g]) : P[g] + G[g]) + sdr;
            } else {
                num = I[g] + snr;
                den = P[g] + G[g] - I[g] + sdr;
            }
            if (o->smp) den = fmax(den, EPS_SMP);
            double score = num / den;
            f[g] = o->log_loss ? -log(fmax(score, EPS_SMP)) : 1.0 - score;
            if (o->smp && !(G[g] > 0)) f[g] = 0.0;
        }
    } else if (kind == L_TVERSKY) {
        double a = c->custom_tv ? c->alpha : 0.5, b = c->custom_tv ? c->beta : 0.5;
        double gam = c->custom_tv ? c->gamma : 1.0;
        for (int64_t g = 0; g < groups; g++) {
            double ti = (I[g] + snr) / (I[g] + a * FP[g] + b * FN[g] + sdr);
            f[g] = pow(1.0 - ti, gam);
        }
    } else { /* generalized dice */
        items = batch ? 1 : N;
        for (int64_t it = 0; it < items; it++) {
            double w[16], mxw = 0.0, num = 0.0, den = 0.0;
            for (int64_t k = 0; k < ck; k++) {
                double gk = G[it * ck + k];
                w[k] = c->w == SEGLOSS_GDICE_UNIFORM  ? 1.0
                       : c->w == SEGLOSS_GDICE_SIMPLE ? 1.0 / gk
                                                      : 1.0 / (gk * gk);
                if (!isinf(w[k])) mxw = fmax(mxw, w[k]);
            }
            for (int64_t k = 0; k < ck; k++) {
                int64_t g = it * ck + k;
                if (isinf(w[k])) w[k] = mxw;
                num += w[k] * I[g];
                den += w[k] * (P[g] + G[g]);
            }
            f[it] = 1.0 - (2.0 * num + snr) / (den + sdr);
        }
    }
    free(p);
    free(y);
    free(m);
    free(I);
    return items;
}

/* Reduced loss (NONE: the sum) and, through obj, the FD objective. */
static double ref_loss(const gc *c, const double *x, double *f, int64_t *items, double *obj) {
    segloss_reduction red = c->o.reduction;
    *items = ref_items(c, x, f, c->loss == L_DICE_BCE);
    double tot = 0.0, o = 0.0;
    for (int64_t k = 0; k < *items; k++) {
        tot += f[k];
        o += (c->go && red == SEGLOSS_REDUCTION_NONE ? c->go[k] : 1.0) * f[k];
    }
    double loss = red == SEGLOSS_REDUCTION_MEAN ? tot / (double)*items : tot;
    if (c->loss == L_DICE_BCE) {
        double ld = c->custom_l ? c->ld : 1.0, lb = c->custom_l ? c->lb : 1.0;
        double sum = 0.0, cnt = 0.0;
        for (int64_t i = 0; i < c->numel; i++) {
            double v = c->td[i];
            if (c->o.ignore_index != SEGLOSS_IGNORE_NONE && v == (double)c->o.ignore_index)
                continue;
            int64_t ch = (i / c->s) % c->c;
            double pw = c->pw ? c->pw[ch] : 1.0;
            sum += (1.0 - v) * softplus(x[i]) + pw * v * softplus(-x[i]);
            cnt += 1.0;
        }
        double bce = red == SEGLOSS_REDUCTION_MEAN ? (cnt > 0 ? sum / cnt : 0.0) : sum;
        loss = ld * loss + lb * bce;
    }
    if (red != SEGLOSS_REDUCTION_NONE) o = (c->go ? c->go[0] : 1.0) * loss;
    *obj = o;
    return loss;
}

/* ------------------------------------------------------------------------ */
/* segloss calls                                                             */
/* ------------------------------------------------------------------------ */
static void fill_opts(const gc *c, segloss_tversky_opts *tv, segloss_generalized_dice_opts *gd,
                      segloss_dice_bce_opts *db) {
    *tv = segloss_tversky_opts_default();
    *gd = segloss_generalized_dice_opts_default();
    *db = segloss_dice_bce_opts_default();
    tv->region = gd->region = db->dice = c->o;
    if (c->custom_tv) { /* else segloss_tversky_opts_default()'s */
        tv->alpha = c->alpha;
        tv->beta = c->beta;
        tv->gamma = c->gamma;
    }
    gd->w_type = c->w;
    if (c->custom_l) { /* else segloss_dice_bce_opts_default()'s */
        db->lambda_dice = c->ld;
        db->lambda_bce = c->lb;
    }
    if (c->pw) {
        /* one weight per channel: shape (C, 1, ..., 1) of rank ndim - 1 */
        db->pos_weight.data = c->pw;
        db->pos_weight.shape.ndim = c->shape.ndim - 1;
        db->pos_weight.shape.dim[0] = c->c;
        for (int k = 1; k < c->shape.ndim - 1; k++) db->pos_weight.shape.dim[k] = 1;
    }
}

static segloss_status sl_forward(const gc *c, double *loss, float *elems) {
    segloss_target t = {c->index ? (const void *)c->ti : (const void *)c->td,
                        c->index ? SEGLOSS_I64 : SEGLOSS_F32};
    segloss_tversky_opts tv;
    segloss_generalized_dice_opts gd;
    segloss_dice_bce_opts db;
    fill_opts(c, &tv, &gd, &db);
    switch (c->loss) {
    case L_DICE: return segloss_dice_forward(loss, elems, c->x, &t, &c->shape, &c->o);
    case L_JACCARD: return segloss_jaccard_forward(loss, elems, c->x, &t, &c->shape, &c->o);
    case L_TVERSKY: return segloss_tversky_forward(loss, elems, c->x, &t, &c->shape, &tv);
    case L_GDICE: return segloss_generalized_dice_forward(loss, elems, c->x, &t, &c->shape, &gd);
    default: return segloss_dice_bce_forward(loss, NULL, c->x, &t, &c->shape, &db);
    }
}

static segloss_status sl_backward(const gc *c, float *grad) {
    segloss_target t = {c->index ? (const void *)c->ti : (const void *)c->td,
                        c->index ? SEGLOSS_I64 : SEGLOSS_F32};
    segloss_tversky_opts tv;
    segloss_generalized_dice_opts gd;
    segloss_dice_bce_opts db;
    fill_opts(c, &tv, &gd, &db);
    switch (c->loss) {
    case L_DICE: return segloss_dice_backward(grad, c->x, &t, &c->shape, &c->o, c->go);
    case L_JACCARD: return segloss_jaccard_backward(grad, c->x, &t, &c->shape, &c->o, c->go);
    case L_TVERSKY: return segloss_tversky_backward(grad, c->x, &t, &c->shape, &tv, c->go);
    case L_GDICE:
        return segloss_generalized_dice_backward(grad, c->x, &t, &c->shape, &gd, c->go);
    default: return segloss_dice_bce_backward(grad, c->x, &t, &c->shape, &db, c->go);
    }
}

/* ------------------------------------------------------------------------ */
/* One case                                                                  */
/* ------------------------------------------------------------------------ */
typedef struct worst {
    double loss, grad;
    int cases;
    long points;
    char at[200];
} worst;
static worst g_w[L_COUNT];

/* The objective of the reference at xs, for the central differences; f is
 * scratch for the per-item losses. */
typedef struct fd_ctx {
    const gc *c;
    double *f;
} fd_ctx;

static double fd_objective(const void *ctx, const double *xs) {
    const fd_ctx *k = ctx;
    int64_t it;
    double obj;
    ref_loss(k->c, xs, k->f, &it, &obj);
    return obj;
}

/* FD at every element (stride 1), or at every stride-th one and the
 * block edges of a large case. */
static void check_case_stride(const gc *c, const char *name, int64_t stride) {
    worst *w = &g_w[c->loss];
    w->cases++;
    double *xd = malloc((size_t)c->numel * sizeof *xd);
    double *f = malloc((size_t)(c->numel + 1) * sizeof *f);
    float *e = malloc((size_t)(c->numel + 1) * sizeof *e);
    float *g = malloc((size_t)c->numel * sizeof *g);
    for (int64_t i = 0; i < c->numel; i++) xd[i] = c->x[i];
    int64_t items;
    double obj, ref = ref_loss(c, xd, f, &items, &obj), loss = NAN;
    int none = c->o.reduction == SEGLOSS_REDUCTION_NONE;
    segloss_status st = sl_forward(c, &loss, none ? e : NULL);
    CHECK_MSG(st == SEGLOSS_OK, "%s: forward %s", name, segloss_strerror(st));
    double le = fabs(loss - ref);
    double lrtol = c->o.activation == SEGLOSS_ACTIVATION_SIGMOID ? LOSS_RTOL_SIGMOID : LOSS_RTOL;
    CHECK_MSG(le <= lrtol * fabs(ref) + 1e-12, "%s: loss %.17g vs ref %.17g", name, loss, ref);
    if (ref != 0 && le / fabs(ref) > w->loss) w->loss = le / fabs(ref);
    for (int64_t k = 0; none && k < items; k++)
        CHECK_MSG(fabs(e[k] - f[k]) <= ELEM_RTOL * fabs(f[k]) + 1e-12,
                  "%s: elems[%lld] %.9g vs ref %.17g", name, (long long)k, (double)e[k], f[k]);
    st = sl_backward(c, g);
    CHECK_MSG(st == SEGLOSS_OK, "%s: backward %s", name, segloss_strerror(st));
    double fmx = 0.0, dmx = 0.0;
    int64_t at = 0;
    double *fd = malloc((size_t)c->numel * sizeof *fd);
    for (int64_t i = 0; i < c->numel; i++) fd[i] = NAN;
    const fd_ctx ctx = {c, f};
    for (int64_t i = 0; i < c->numel; i++) {
        if (stride > 1 && i % stride != 0 && (i % c->s) % 8192 > 1 && (i % c->s) % 8192 < 8190)
            continue;
        fd[i] = gcu_central_diff(fd_objective, &ctx, xd, i, FD_H);
        fmx = fmax(fmx, fabs(fd[i]));
    }
    dmx = gcu_max_err(g, fd, NULL, c->numel, &at, NULL);
    if (at < 0) at = 0;
    w->points += c->numel;
    CHECK_MSG(dmx <= GRAD_RTOL * fmx + 1e-12, "%s: grad max diff %.3g at %lld (%.9g vs fd %.9g), max |fd| %.3g",
              name, dmx, (long long)at, (double)g[at], fd[at], fmx);
    if (fmx > 0 && dmx / fmx > w->grad) {
        w->grad = dmx / fmx;
        snprintf(w->at, sizeof w->at, "%s", name);
    }
    free(fd);
    free(xd);
    free(f);
    free(e);
    free(g);
}

static void check_case(const gc *c, const char *name) { check_case_stride(c, name, 1); }

/* ------------------------------------------------------------------------ */
/* Case generation                                                           */
/* ------------------------------------------------------------------------ */
static uint64_t g_rng = 88172645463325252ull;
static double urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) * 0x1p-53;
}

/* Fills inputs and targets of c for its shape and options. Class 2 (or the
 * last) is absent from image 0; about 1/5 of targets are the ignore value
 * when one is set. */
static void make_data(gc *c, int soft) {
    const segloss_dice_opts *o = &c->o;
    c->numel = 1;
    for (int k = 0; k < c->shape.ndim; k++) c->numel *= c->shape.dim[k];
    c->n = c->shape.ndim >= 3 ? c->shape.dim[0] : 1;
    c->c = c->shape.ndim >= 3 ? c->shape.dim[1] : 1;
    c->s = c->numel / (c->n * c->c);
    c->x = malloc((size_t)c->numel * sizeof *c->x);
    for (int64_t i = 0; i < c->numel; i++)
        c->x[i] = o->activation == SEGLOSS_ACTIVATION_NONE ? (float)(0.02 + 0.96 * urand())
                                                           : (float)(-3.0 + 6.0 * urand());
    c->index = o->target_kind == SEGLOSS_TARGET_INDEX ||
               (o->target_kind == SEGLOSS_TARGET_AUTO &&
                o->activation == SEGLOSS_ACTIVATION_SOFTMAX);
    if (c->index) {
        c->ti = malloc((size_t)(c->n * c->s) * sizeof *c->ti);
        for (int64_t n = 0; n < c->n; n++)
            for (int64_t s = 0; s < c->s; s++) {
                int64_t v;
                do v = (int64_t)(urand() * (double)c->c);
                while (n == 0 && v == (c->c > 2 ? 2 : c->c - 1) && c->c > 1);
                if (o->ignore_index != SEGLOSS_IGNORE_NONE && urand() < 0.2) v = o->ignore_index;
                c->ti[n * c->s + s] = v;
            }
    } else {
        c->td = malloc((size_t)c->numel * sizeof *c->td);
        for (int64_t i = 0; i < c->numel; i++) {
            double u = urand();
            c->td[i] = soft ? (float)urand() : (u < 0.45 ? 1.0f : 0.0f);
            if (o->ignore_index != SEGLOSS_IGNORE_NONE && urand() < 0.2)
                c->td[i] = (float)o->ignore_index;
        }
    }
}

static void free_case(gc *c) {
    free(c->x);
    free(c->ti);
    free(c->td);
    free(c->pw);
    c->x = NULL;
    c->ti = NULL;
    c->td = NULL;
    c->pw = NULL;
}

static const segloss_reduction reds[3] = {SEGLOSS_REDUCTION_MEAN, SEGLOSS_REDUCTION_SUM,
                                          SEGLOSS_REDUCTION_NONE};
static const char *const red_names[3] = {"mean", "sum", "none"};
static const char *const act_names[3] = {"sigmoid", "none", "softmax"};

static const segloss_shape shapes[3] = {{4, {2, 3, 2, 3}}, {3, {2, 4, 5}}, {5, {1, 3, 2, 2, 2}}};

/* Upstream gradients: 0.75 for mean/sum, a ramp for none. */
static const float go_vals[32] = {0.75f, -1.25f, 0.5f, 2.0f, -0.3f, 1.1f, 0.9f, -0.6f,
                                  1.7f,  0.2f,   -1.0f, 0.4f, 1.3f, -0.8f, 0.6f, 1.0f,
                                  0.75f, -1.25f, 0.5f, 2.0f, -0.3f, 1.1f, 0.9f, -0.6f,
                                  1.7f,  0.2f,   -1.0f, 0.4f, 1.3f, -0.8f, 0.6f, 1.0f};

/* Sweeps activation x no_background x ignore x batch x variant x reduction. */
static void sweep(int loss, int nvariants, void (*variant)(gc *c, int v, char *tag, size_t n)) {
    int k = 0;
    for (int act = 0; act < 3; act++)
        for (int nobg = 0; nobg < 2; nobg++)
            for (int ign = 0; ign < 2; ign++)
                for (int batch = 0; batch < 2; batch++)
                    for (int v = 0; v < nvariants; v++)
                        for (int r = 0; r < 3; r++, k++) {
                            /* dice + bce: logits only, mean or sum only */
                            if (loss == L_DICE_BCE && (act != 0 || r == 2)) continue;
                            gc c;
                            memset(&c, 0, sizeof c);
                            c.o = segloss_dice_opts_default();
                            c.loss = loss;
                            c.shape = shapes[k % 3];
                            c.o.reduction = reds[r];
                            c.o.activation = (segloss_activation)act;
                            c.o.no_background = nobg;
                            c.o.batch = batch;
                            if (ign) {
                                /* dense: 255; index: out of range or class 0 */
                                c.o.ignore_index = act == 2 ? (k % 2 ? -1.0 : 0.0) : 255.0;
                            }
                            char tag[64] = "";
                            variant(&c, v, tag, sizeof tag);
                            make_data(&c, k % 4 == 1);
                            if (k % 2 == 0) c.go = go_vals;
                            char name[200];
                            snprintf(name, sizeof name, "%s_%s_nobg%d_ign%d_b%d_%s_%s",
                                     names[loss], act_names[act], nobg, ign, batch, tag,
                                     red_names[r]);
                            check_case(&c, name);
                            free_case(&c);
                        }
}

static void dice_variant(gc *c, int v, char *tag, size_t n) {
    static const char *const t[6] = {"plain", "squared", "jaccard", "smp", "smp03_log", "log"};
    snprintf(tag, n, "%s", t[v]);
    c->o.squared = v == 1;
    c->o.jaccard = v == 2;
    c->o.smp = v == 3 ? SEGLOSS_SMP_CURRENT : v == 4 ? SEGLOSS_SMP_0_3 : 0;
    c->o.log_loss = v == 4 || v == 5;
    if (v == 3 || v == 4) c->o.smooth_nr = c->o.smooth_dr = 0.0; /* smp's default */
    if (v == 5) {
        c->o.smooth_nr = 0.3;
        c->o.smooth_dr = 0.7;
    }
}

static void jaccard_variant(gc *c, int v, char *tag, size_t n) {
    static const char *const t[5] = {"plain", "smooth", "smp", "smp03_log_smooth", "log"};
    snprintf(tag, n, "%s", t[v]);
    c->o.smp = v == 2 ? SEGLOSS_SMP_CURRENT : v == 3 ? SEGLOSS_SMP_0_3 : 0;
    c->o.log_loss = v == 3 || v == 4;
    if (v == 2) c->o.smooth_nr = c->o.smooth_dr = 0.0; /* smp's default */
    if (v == 1 || v == 3) {
        c->o.smooth_nr = 0.25;
        c->o.smooth_dr = 0.5;
    }
}

static void tversky_variant(gc *c, int v, char *tag, size_t n) {
    static const double p[4][3] = {{0.5, 0.5, 1.0}, {0.3, 0.7, 1.0}, {0.7, 0.3, 1.5},
                                    {0.2, 0.9, 0.75}};
    snprintf(tag, n, "a%g_b%g_g%g", p[v][0], p[v][1], p[v][2]);
    c->custom_tv = v != 0;
    c->alpha = p[v][0];
    c->beta = p[v][1];
    c->gamma = p[v][2];
    if (v == 3) {
        c->o.smooth_nr = 0.1;
        c->o.smooth_dr = 0.2;
    }
}

static void gdice_variant(gc *c, int v, char *tag, size_t n) {
    static const char *const t[3] = {"square", "simple", "uniform"};
    snprintf(tag, n, "%s", t[v]);
    c->w = (segloss_gdice_weight)v;
}

static void dice_bce_variant(gc *c, int v, char *tag, size_t n) {
    snprintf(tag, n, "v%d", v);
    c->custom_l = v != 0;
    c->ld = v == 1 ? 0.4 : 1.5;
    c->lb = v == 1 ? 1.6 : 0.0;
    c->o.squared = v == 2;
    if (v == 1) {
        c->pw = malloc(8 * sizeof *c->pw);
        for (int k = 0; k < 8; k++) c->pw[k] = 0.5f + 0.7f * (float)k;
    }
    if (v == 3) {
        c->o.smooth_nr = 0.5;
        c->o.smooth_dr = 0.25;
        c->custom_l = 1;
        c->ld = 1.0;
        c->lb = 2.5;
    }
}

static void report(int loss) {
    const worst *w = &g_w[loss];
    printf("  gradcheck %-9s %4d cases  loss rel %.2e  grad |g - fd|/max|fd| %.2e (%s), %ld points\n",
           names[loss], w->cases, w->loss, w->grad, w->at[0] ? w->at : "-", w->points);
}

TEST(region_gradcheck_dice) {
    sweep(L_DICE, 6, dice_variant);
    report(L_DICE);
}

TEST(region_gradcheck_jaccard) {
    sweep(L_JACCARD, 5, jaccard_variant);
    report(L_JACCARD);
}

TEST(region_gradcheck_tversky) {
    sweep(L_TVERSKY, 4, tversky_variant);
    report(L_TVERSKY);
}

TEST(region_gradcheck_gdice) {
    sweep(L_GDICE, 3, gdice_variant);
    report(L_GDICE);
}

TEST(region_gradcheck_dice_bce) {
    sweep(L_DICE_BCE, 4, dice_bce_variant);
    report(L_DICE_BCE);
}

/* One image (ndim 1 and 2), target kinds crossed with activations, soft
 * labels, a single pixel. */
TEST(region_gradcheck_shapes_and_kinds) {
    const segloss_shape small[4] = {{1, {7}}, {2, {3, 4}}, {1, {1}}, {3, {1, 1, 1}}};
    for (int loss = 0; loss < L_COUNT; loss++)
        for (int si = 0; si < 4; si++)
            for (int act = 0; act < 2; act++) {
                gc c;
                memset(&c, 0, sizeof c);
                c.o = segloss_dice_opts_default();
                c.loss = loss;
                c.shape = small[si];
                c.o.activation = (segloss_activation)act;
                c.o.reduction = SEGLOSS_REDUCTION_MEAN;
                if (loss == L_DICE_BCE && act) continue;
                make_data(&c, si % 2);
                char name[96];
                snprintf(name, sizeof name, "%s_small%d_%s", names[loss], si, act_names[act]);
                check_case(&c, name);
                free_case(&c);
            }
    /* sigmoid with class indices (MONAI to_onehot_y), softmax with soft dense targets */
    for (int loss = 0; loss < L_DICE_BCE; loss++)
        for (int kind = 0; kind < 2; kind++) {
            gc c;
            memset(&c, 0, sizeof c);
            c.o = segloss_dice_opts_default();
            c.loss = loss;
            c.shape = shapes[kind];
            c.o.activation = kind ? SEGLOSS_ACTIVATION_SOFTMAX : SEGLOSS_ACTIVATION_SIGMOID;
            c.o.target_kind = kind ? SEGLOSS_TARGET_DENSE : SEGLOSS_TARGET_INDEX;
            c.o.reduction = SEGLOSS_REDUCTION_SUM;
            c.o.no_background = kind;
            make_data(&c, 1);
            char name[96];
            snprintf(name, sizeof name, "%s_kind_%s", names[loss], kind ? "softmax_dense" : "sigmoid_index");
            check_case(&c, name);
            free_case(&c);
        }
}

/* Larger than one block (8192 pixels) per image: sums over several blocks
 * against the double reference; FD at a sample including the block edges. */
TEST(region_gradcheck_multiblock) {
    for (int loss = 0; loss < L_COUNT; loss++) {
        gc c;
        memset(&c, 0, sizeof c);
        c.o = segloss_dice_opts_default();
        c.loss = loss;
        c.shape.ndim = 3;
        c.shape.dim[0] = 2;
        c.shape.dim[1] = 3;
        c.shape.dim[2] = 8200;
        c.o.activation = loss == L_DICE_BCE ? SEGLOSS_ACTIVATION_SIGMOID : SEGLOSS_ACTIVATION_SOFTMAX;
        c.o.ignore_index = 255;
        c.o.reduction = SEGLOSS_REDUCTION_MEAN;
        c.o.no_background = loss == L_GDICE;
        c.o.smp = loss == L_JACCARD;
        c.custom_tv = 1;
        c.alpha = 0.4;
        c.beta = 0.6;
        c.gamma = 2.0;
        make_data(&c, 0);
        char name[64];
        snprintf(name, sizeof name, "%s_multiblock", names[loss]);
        check_case_stride(&c, name, 997);
        free_case(&c);
    }
}
