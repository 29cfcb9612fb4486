/* Unit tests for the element-wise loss family: identities (focal with
 * gamma = 0 is alpha-weighted BCE-with-logits), defaults of zero-filled
 * options, ignore_index semantics, argument errors, focal at extreme logits
 * (gamma < 1), and the Lovasz hinge's tie behaviour against a brute-force
 * maximum over all orders. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t eu_state;

static double eu_uniform(void) {
    uint64_t z = (eu_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static segloss_shape eu_shape1(int64_t n) {
    segloss_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 1;
    s.dim[0] = n;
    return s;
}

static int eu_all_finite(const float *g, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(g[i])) return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* focal                                                                     */
/* ------------------------------------------------------------------------ */
TEST(element_focal_gamma0_is_weighted_bce_logits) {
    enum { N = 50 };
    float x[N], y[N], aw[N], g1[N], g2[N], e1[N], e2[N];
    eu_state = 1;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(eu_uniform() * 16 - 8);
        y[i] = (float)eu_uniform(); /* soft labels */
    }
    segloss_shape s = eu_shape1(N);
    segloss_target t = {y, SEGLOSS_F32};
    for (int r = 0; r < 3; r++) {
        for (int a = 0; a < 2; a++) {
            double alpha = a ? 0.3 : -1.0;
            segloss_focal_opts fo = segloss_focal_opts_default();
            fo.reduction = (segloss_reduction)r;
            fo.alpha = alpha;
            fo.gamma = 0.0;
            segloss_bce_opts bo = segloss_bce_opts_default();
            bo.reduction = (segloss_reduction)r;
            if (alpha >= 0) {
                for (int i = 0; i < N; i++)
                    aw[i] = (float)(alpha * y[i] + (1 - alpha) * (1 - y[i]));
                bo.weight.data = aw;
                bo.weight.shape = s;
            }
            double l1, l2;
            CHECK_EQ_INT(segloss_focal_forward(&l1, e1, x, &t, &s, &fo), SEGLOSS_OK);
            CHECK_EQ_INT(segloss_bce_logits_forward(&l2, e2, x, &t, &s, &bo), SEGLOSS_OK);
            CHECK_CLOSE(l1, l2, 1e-12, 1e-7); /* aw rounded to float32 */
            CHECK_EQ_INT(segloss_focal_backward(g1, x, &t, &s, &fo, NULL), SEGLOSS_OK);
            CHECK_EQ_INT(segloss_bce_logits_backward(g2, x, &t, &s, &bo, NULL), SEGLOSS_OK);
            /* bce-logits runs in float32 (kernels/vec.h): with soft labels
             * the two terms of its gradient, each up to 1, cancel to
             * sigmoid(x) - y, leaving an absolute error of a few float ulps
             * of 1 (times MEAN's 1/N) */
            double gatol = r == SEGLOSS_REDUCTION_MEAN ? 4e-7 / N : 4e-7;
            for (int i = 0; i < N; i++) {
                CHECK_CLOSE(g1[i], g2[i], gatol, 1e-6);
                if (r == SEGLOSS_REDUCTION_NONE) CHECK_CLOSE(e1[i], e2[i], 1e-9, 1e-6);
            }
        }
    }
}

TEST(element_focal_zero_opts_are_torchvision_defaults) {
    enum { N = 40 };
    float x[N], g1[N], g2[N], g3[N];
    uint8_t y[N];
    eu_state = 2;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(eu_uniform() * 10 - 5);
        y[i] = eu_uniform() < 0.5;
    }
    segloss_shape s = eu_shape1(N);
    segloss_target t = {y, SEGLOSS_U8};
    segloss_focal_opts zero = segloss_focal_opts_default(), expl = segloss_focal_opts_default();
    expl.alpha = 0.25;
    expl.gamma = 2.0;
    double l1, l2, l3;
    CHECK_EQ_INT(segloss_focal_forward(&l1, NULL, x, &t, &s, &zero), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_focal_forward(&l2, NULL, x, &t, &s, &expl), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_focal_forward(&l3, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK(l1 == l2 && l1 == l3);
    CHECK_EQ_INT(segloss_focal_backward(g1, x, &t, &s, &zero, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_focal_backward(g2, x, &t, &s, &expl, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_focal_backward(g3, x, &t, &s, NULL, NULL), SEGLOSS_OK);
    CHECK(memcmp(g1, g2, sizeof g1) == 0 && memcmp(g1, g3, sizeof g1) == 0);
}

/* gamma < 1: (1-p_t)^gamma has an infinite derivative at p_t = 1, but the
 * gradient w.r.t. the logit tends to 0. PyTorch (1 - p_t by subtraction)
 * gets NaN for large |x|; segloss stays finite, of the right sign, and
 * decreasing in magnitude toward 0. */
TEST(element_focal_small_gamma_extreme_logits) {
    static const float xs[] = {10, 20, 37, 40, 100, 700, 745, 800, 1e4f, 1e30f, FLT_MAX};
    enum { N = sizeof xs / sizeof xs[0] };
    static const double gammas[] = {0.0, 0.25, 0.5, 0.99, 1.0, 2.0};
    for (int gi = 0; gi < 6; gi++) {
        for (int yv = 0; yv < 2; yv++) {
            float x[N], y[N], g[N], e[N];
            /* y = 1 with x > 0 (easy positives), y = 0 with x < 0 */
            for (int i = 0; i < N; i++) {
                x[i] = yv ? xs[i] : -xs[i];
                y[i] = (float)yv;
            }
            segloss_shape s = eu_shape1(N);
            segloss_target t = {y, SEGLOSS_F32};
            segloss_focal_opts o = segloss_focal_opts_default();
            o.reduction = SEGLOSS_REDUCTION_NONE;
            o.alpha = 0.25;
            o.gamma = gammas[gi];
            double l;
            CHECK_EQ_INT(segloss_focal_forward(&l, e, x, &t, &s, &o), SEGLOSS_OK);
            CHECK_EQ_INT(segloss_focal_backward(g, x, &t, &s, &o, NULL), SEGLOSS_OK);
            CHECK_MSG(eu_all_finite(g, N) && eu_all_finite(e, N) && isfinite(l),
                      "gamma %g y %d: non-finite loss or gradient", gammas[gi], yv);
            for (int i = 0; i < N; i++) {
                /* sign: pushes the logit further toward its class */
                CHECK_MSG(yv ? g[i] <= 0.0f : g[i] >= 0.0f, "gamma %g y %d x %g: g %g",
                          gammas[gi], yv, (double)x[i], (double)g[i]);
                CHECK(e[i] >= 0.0f);
                if (i > 0) CHECK(fabsf(g[i]) <= fabsf(g[i - 1]));
            }
            CHECK(g[N - 1] == 0.0f); /* x = FLT_MAX: the limit */
        }
    }
}

TEST(element_focal_bad_args) {
    float x[3] = {0, 1, 2}, y[3] = {0, 1, 0}, g[3];
    segloss_shape s = eu_shape1(3);
    segloss_target t = {y, SEGLOSS_F32};
    segloss_focal_opts o = segloss_focal_opts_default();
    double l;
    o.alpha = 0.25;
    o.gamma = -0.5;
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_focal_backward(g, x, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
    o.gamma = NAN;
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.gamma = 2;
    o.alpha = INFINITY;
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.alpha = 0.25;
    o.reduction = (segloss_reduction)7;
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_focal_forward(NULL, NULL, x, &t, &s, &o), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_focal_backward(NULL, x, &t, &s, &o, NULL), SEGLOSS_ERR_NULL);
    y[1] = 1.5f;
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_TARGET);
    y[1] = 1;
    segloss_shape empty = eu_shape1(0);
    CHECK_EQ_INT(segloss_focal_forward(&l, NULL, x, &t, &empty, &o), SEGLOSS_ERR_EMPTY);
}

/* ------------------------------------------------------------------------ */
/* ignore_index (bce, bce-logits, focal share the driver)                    */
/* ------------------------------------------------------------------------ */
enum { EU_BCE, EU_BCEL, EU_FOCAL };

static segloss_status eu_fwd(int which, double *l, float *e, const float *x,
                             const segloss_target *t, const segloss_shape *s,
                             segloss_reduction red, int has_ign, double ign) {
    if (which == EU_FOCAL) {
        segloss_focal_opts o = segloss_focal_opts_default();
        o.reduction = red;
        o.ignore_index = has_ign ? (int64_t)(ign) : SEGLOSS_IGNORE_NONE;
        return segloss_focal_forward(l, e, x, t, s, &o);
    }
    segloss_bce_opts o = segloss_bce_opts_default();
    o.reduction = red;
    o.ignore_index = has_ign ? (int64_t)(ign) : SEGLOSS_IGNORE_NONE;
    return which == EU_BCE ? segloss_bce_forward(l, e, x, t, s, &o)
                           : segloss_bce_logits_forward(l, e, x, t, s, &o);
}

static segloss_status eu_bwd(int which, float *g, const float *x, const segloss_target *t,
                             const segloss_shape *s, segloss_reduction red, int has_ign,
                             double ign, const float *go) {
    if (which == EU_FOCAL) {
        segloss_focal_opts o = segloss_focal_opts_default();
        o.reduction = red;
        o.ignore_index = has_ign ? (int64_t)(ign) : SEGLOSS_IGNORE_NONE;
        return segloss_focal_backward(g, x, t, s, &o, go);
    }
    segloss_bce_opts o = segloss_bce_opts_default();
    o.reduction = red;
    o.ignore_index = has_ign ? (int64_t)(ign) : SEGLOSS_IGNORE_NONE;
    return which == EU_BCE ? segloss_bce_backward(g, x, t, s, &o, go)
                           : segloss_bce_logits_backward(g, x, t, s, &o, go);
}

/* 255 in a uint8 mask: an error without ignore_index, ignored with it; the
 * ignored elements contribute 0 and the mean is over the others, which
 * equals the loss of the compacted arrays. Spans 3 blocks. */
TEST(element_ignore_uint8_255) {
    enum { N = 20000 };
    float *x = malloc(N * sizeof *x), *xc = malloc(N * sizeof *xc);
    float *g = malloc(N * sizeof *g), *gc = malloc(N * sizeof *gc), *e = malloc(N * sizeof *e);
    uint8_t *y = malloc(N), *yc = malloc(N);
    CHECK(x && xc && g && gc && e && y && yc);
    if (!(x && xc && g && gc && e && y && yc)) goto out;
    for (int which = 0; which < 3; which++) {
        eu_state = 10 + (uint64_t)which;
        int64_t m = 0;
        for (int i = 0; i < N; i++) {
            x[i] = which == EU_BCE ? (float)(0.01 + 0.98 * eu_uniform())
                                   : (float)(eu_uniform() * 10 - 5);
            y[i] = eu_uniform() < 0.2 ? 255 : (uint8_t)(eu_uniform() < 0.5);
            if (y[i] != 255) {
                xc[m] = x[i];
                yc[m] = y[i];
                m++;
            }
        }
        segloss_shape s = eu_shape1(N), sc = eu_shape1(m);
        segloss_target t = {y, SEGLOSS_U8}, tc = {yc, SEGLOSS_U8};
        double l, lc;
        CHECK_EQ_INT(eu_fwd(which, &l, NULL, x, &t, &s, SEGLOSS_REDUCTION_MEAN, 0, 0),
                     SEGLOSS_ERR_TARGET);
        for (int r = 0; r < 3; r++) {
            segloss_reduction red = (segloss_reduction)r;
            CHECK_EQ_INT(eu_fwd(which, &l, e, x, &t, &s, red, 1, 255), SEGLOSS_OK);
            CHECK_EQ_INT(eu_fwd(which, &lc, NULL, xc, &tc, &sc, red, 0, 0), SEGLOSS_OK);
            CHECK_CLOSE(l, lc, 1e-12, 1e-6);
            CHECK_EQ_INT(eu_bwd(which, g, x, &t, &s, red, 1, 255, NULL), SEGLOSS_OK);
            CHECK_EQ_INT(eu_bwd(which, gc, xc, &tc, &sc, red, 0, 0, NULL), SEGLOSS_OK);
            int64_t k = 0, zero_ok = 1, match = 1;
            for (int i = 0; i < N; i++) {
                if (y[i] == 255) {
                    zero_ok &= g[i] == 0.0f;
                    if (red == SEGLOSS_REDUCTION_NONE) zero_ok &= e[i] == 0.0f;
                } else {
                    match &= fabsf(g[i] - gc[k]) <= 1e-6f * fabsf(gc[k]) + 1e-12f;
                    k++;
                }
            }
            CHECK_MSG(zero_ok, "which %d red %d: ignored elements not exactly 0", which, r);
            CHECK_MSG(match, "which %d red %d: gradient differs from the compacted one", which,
                      r);
        }
    }
out:
    free(x);
    free(xc);
    free(g);
    free(gc);
    free(e);
    free(y);
    free(yc);
}

TEST(element_ignore_all_and_range) {
    float x[4] = {0.2f, 0.4f, 0.6f, 0.8f}, g[4], e[4];
    uint8_t y[4] = {255, 255, 255, 255};
    int64_t yi[4] = {-1, 0, 1, 2};
    segloss_shape s = eu_shape1(4);
    segloss_target t = {y, SEGLOSS_U8}, ti = {yi, SEGLOSS_I64};
    for (int which = 0; which < 3; which++) {
        double l;
        /* all ignored: mean = 0/0 = NaN (documented), gradient 0; sum 0 */
        CHECK_EQ_INT(eu_fwd(which, &l, NULL, x, &t, &s, SEGLOSS_REDUCTION_MEAN, 1, 255),
                     SEGLOSS_OK);
        CHECK(isnan(l));
        float go = 2.0f;
        CHECK_EQ_INT(eu_bwd(which, g, x, &t, &s, SEGLOSS_REDUCTION_MEAN, 1, 255, &go),
                     SEGLOSS_OK);
        CHECK(g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0);
        CHECK_EQ_INT(eu_fwd(which, &l, e, x, &t, &s, SEGLOSS_REDUCTION_SUM, 1, 255), SEGLOSS_OK);
        CHECK(l == 0.0);
        CHECK_EQ_INT(eu_fwd(which, &l, e, x, &t, &s, SEGLOSS_REDUCTION_NONE, 1, 255),
                     SEGLOSS_OK);
        CHECK(l == 0.0 && e[0] == 0 && e[3] == 0);
        /* the range check still applies to the others: 2 is not a mask value */
        CHECK_EQ_INT(eu_fwd(which, &l, NULL, x, &ti, &s, SEGLOSS_REDUCTION_MEAN, 1, -1),
                     SEGLOSS_ERR_TARGET);
        CHECK_EQ_INT(eu_bwd(which, g, x, &ti, &s, SEGLOSS_REDUCTION_MEAN, 1, -1, NULL),
                     SEGLOSS_ERR_TARGET);
        yi[3] = -1;
        CHECK_EQ_INT(eu_fwd(which, &l, NULL, x, &ti, &s, SEGLOSS_REDUCTION_MEAN, 1, -1),
                     SEGLOSS_OK);
        CHECK_EQ_INT(eu_bwd(which, g, x, &ti, &s, SEGLOSS_REDUCTION_MEAN, 1, -1, NULL),
                     SEGLOSS_OK);
        CHECK(g[0] == 0 && g[3] == 0 && g[1] != 0 && g[2] != 0);
        yi[3] = 2;
    }
}

/* The input at ignored elements is not read: a NaN logit or an out-of-range
 * probability there is no error and changes nothing. */
TEST(element_ignore_inputs_not_read) {
    float x[4] = {0.3f, NAN, 0.6f, 7.0f}, g[4];
    uint8_t y[4] = {1, 255, 0, 255};
    segloss_shape s = eu_shape1(4);
    segloss_target t = {y, SEGLOSS_U8};
    for (int which = 0; which < 3; which++) {
        double l;
        CHECK_EQ_INT(eu_fwd(which, &l, NULL, x, &t, &s, SEGLOSS_REDUCTION_MEAN, 1, 255),
                     SEGLOSS_OK);
        CHECK(isfinite(l));
        CHECK_EQ_INT(eu_bwd(which, g, x, &t, &s, SEGLOSS_REDUCTION_MEAN, 1, 255, NULL),
                     SEGLOSS_OK);
        CHECK(g[1] == 0.0f && g[3] == 0.0f && isfinite(g[0]) && isfinite(g[2]));
    }
}

/* The defaults ignore nothing (ignore_index SEGLOSS_IGNORE_NONE); an
 * ignore_index of 0 drops the zeros. */
TEST(element_ignore_off_by_default) {
    float x[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    float y[4] = {0, 1, 0, 1};
    segloss_shape s = eu_shape1(4);
    segloss_target t = {y, SEGLOSS_F32};
    segloss_bce_opts o = segloss_bce_opts_default();
    double l0, l1;
    CHECK_EQ_INT(segloss_bce_logits_forward(&l0, NULL, x, &t, &s, &o), SEGLOSS_OK);
    o.ignore_index = 0; /* the two zeros drop out */
    CHECK_EQ_INT(segloss_bce_logits_forward(&l1, NULL, x, &t, &s, &o), SEGLOSS_OK);
    double ref0 = 0, ref1 = 0;
    for (int i = 0; i < 4; i++) {
        double li = y[i] ? log1p(exp(-x[i])) : log1p(exp(x[i]));
        ref0 += li / 4;
        if (y[i]) ref1 += li / 2;
    }
    /* float32 element terms (kernels/vec.h, <= 1.8 ulp), double sums */
    CHECK_CLOSE(l0, ref0, 1e-12, 2e-7);
    CHECK_CLOSE(l1, ref1, 1e-12, 2e-7);
}

/* ------------------------------------------------------------------------ */
/* ce                                                                        */
/* ------------------------------------------------------------------------ */
TEST(element_ce_errors_and_defaults) {
    float x[6] = {0.1f, 0.2f, 0.3f, 1.0f, -1.0f, 0.5f}; /* (2, 3) */
    float g[6];
    segloss_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 2;
    s.dim[0] = 2;
    s.dim[1] = 3;
    int64_t y[2] = {0, 2};
    segloss_target t = {y, SEGLOSS_I64};
    double l;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    double ref = 0;
    for (int b = 0; b < 2; b++) {
        double se = 0;
        for (int c = 0; c < 3; c++) se += exp(x[b * 3 + c]);
        ref += (log(se) - x[b * 3 + y[b]]) / 2;
    }
    CHECK_CLOSE(l, ref, 1e-12, 1e-12);
    /* class out of range, negative non-ignore, -100 ignored by default */
    y[1] = 3;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_ERR_TARGET);
    CHECK_EQ_INT(segloss_ce_backward(g, x, &t, &s, NULL, NULL), SEGLOSS_ERR_TARGET);
    y[1] = -1;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_ERR_TARGET);
    y[1] = -100;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_ce_backward(g, x, &t, &s, NULL, NULL), SEGLOSS_OK);
    CHECK(g[3] == 0 && g[4] == 0 && g[5] == 0);
    /* every target ignored: mean is NaN (as PyTorch), gradient 0, sum 0 */
    y[0] = -100;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK(isnan(l));
    CHECK_EQ_INT(segloss_ce_backward(g, x, &t, &s, NULL, NULL), SEGLOSS_OK);
    for (int i = 0; i < 6; i++) CHECK(g[i] == 0.0f);
    segloss_ce_opts o = segloss_ce_opts_default();
    o.reduction = SEGLOSS_REDUCTION_SUM;
    o.label_smoothing = 0.3;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK(l == 0.0);
    y[0] = 1;
    /* a custom ignore_index replaces -100 (which is then out of range) */
    o.ignore_index = 1;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_TARGET);
    y[1] = 1;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK(l == 0.0);
    /* options */
    o.label_smoothing = -0.1;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.label_smoothing = 1.5;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.label_smoothing = NAN;
    CHECK_EQ_INT(segloss_ce_backward(g, x, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
    o.label_smoothing = 0;
    float w[3] = {1, 2, 3};
    o.class_weight.data = w;
    o.class_weight.shape = eu_shape1(2);
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_SHAPE);
    o.class_weight.shape = eu_shape1(3);
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    /* dtypes: float targets (class probabilities) are not indices; bool
     * targets are the classes 0 and 1 (the one class-index rule) */
    float yf[2] = {0, 1};
    uint8_t yb[2] = {0, 1}, yb7[2] = {0, 7};
    segloss_target tf32 = {yf, SEGLOSS_F32}, tb = {yb, SEGLOSS_BOOL}, tu8 = {yb, SEGLOSS_U8};
    segloss_target tb7 = {yb7, SEGLOSS_BOOL};
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &tf32, &s, NULL), SEGLOSS_ERR_DTYPE);
    double lb, lu, lb7;
    CHECK_EQ_INT(segloss_ce_forward(&lb, NULL, x, &tb, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_ce_forward(&lu, NULL, x, &tu8, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_ce_forward(&lb7, NULL, x, &tb7, &s, NULL), SEGLOSS_OK);
    CHECK(lb == lu && lb7 == lu);
    uint64_t yu[2] = {0, UINT64_MAX};
    segloss_target tu = {yu, SEGLOSS_U64};
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &tu, &s, NULL), SEGLOSS_ERR_TARGET);
    segloss_shape s0;
    memset(&s0, 0, sizeof s0);
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s0, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_ce_forward(NULL, NULL, x, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_ce_backward(NULL, x, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
}

/* NaN logits propagate (PyTorch's log_softmax does the same). */
TEST(element_ce_nan_propagates) {
    float x[3] = {0.0f, NAN, 1.0f};
    int32_t y[1] = {0};
    segloss_shape s = eu_shape1(3);
    segloss_target t = {y, SEGLOSS_I32};
    double l;
    CHECK_EQ_INT(segloss_ce_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK(isnan(l));
}

/* ------------------------------------------------------------------------ */
/* lovasz                                                                    */
/* ------------------------------------------------------------------------ */
/* Brute force: the Lovasz extension of the (submodular) Jaccard loss
 * Delta(S) = |S| / |G u S| is the maximum over all orders pi of
 * sum_k relu(e_pi(k)) (Delta(S_k) - Delta(S_k-1)) (Edmonds' greedy theorem),
 * so this needs no sort and no tie rule. */
static double eu_lovasz_brute(const double *e, const uint8_t *y, int n) {
    int perm[8], c[8];
    double G = 0, best = -1;
    for (int i = 0; i < n; i++) {
        perm[i] = i;
        c[i] = 0;
        G += y[i];
    }
    for (;;) {
        double v = 0, prev = 0;
        int sz = 0, inter = 0;
        for (int k = 0; k < n; k++) {
            sz++;
            inter += y[perm[k]];
            double d = (double)sz / (G + sz - inter);
            v += fmax(e[perm[k]], 0.0) * (d - prev);
            prev = d;
        }
        if (v > best) best = v;
        /* next permutation (Heap's algorithm, iterative) */
        int i = 1;
        while (i < n && c[i] >= i) c[i++] = 0;
        if (i >= n) break;
        int j = i % 2 ? c[i] : 0, tmp = perm[j];
        perm[j] = perm[i];
        perm[i] = tmp;
        c[i]++;
    }
    return best;
}

TEST(element_lovasz_ties_brute_force) {
    eu_state = 42;
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + trial % 7;
        float x[8], xp[8], g1[8], g2[8];
        uint8_t y[8], yp[8];
        double e[8];
        for (int i = 0; i < n; i++) {
            /* logits on a coarse grid: many equal errors, of equal and of
             * opposite labels, and errors exactly 0 */
            x[i] = (float)(floor(eu_uniform() * 5) * 0.5 - 1.0);
            y[i] = eu_uniform() < 0.5;
            e[i] = 1.0 - x[i] * (2.0 * y[i] - 1.0);
        }
        segloss_shape s = eu_shape1(n);
        segloss_target t = {y, SEGLOSS_U8};
        double l;
        CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, NULL), SEGLOSS_OK);
        double ref = eu_lovasz_brute(e, y, n);
        CHECK_MSG(fabs(l - ref) <= 1e-12 * (1 + ref), "trial %d n %d: %.17g vs brute %.17g",
                  trial, n, l, ref);
        /* the value does not depend on where the tied elements sit */
        for (int i = 0; i < n; i++) {
            xp[i] = x[n - 1 - i];
            yp[i] = y[n - 1 - i];
        }
        segloss_target tp = {yp, SEGLOSS_U8};
        double lp;
        CHECK_EQ_INT(segloss_lovasz_hinge_forward(&lp, NULL, xp, &tp, &s, NULL), SEGLOSS_OK);
        CHECK_MSG(fabs(lp - l) <= 1e-12 * (1 + l), "trial %d: reversed %.17g vs %.17g", trial,
                  lp, l);
        /* the gradient is deterministic: (e desc, index asc), by hand */
        CHECK_EQ_INT(segloss_lovasz_hinge_backward(g1, x, &t, &s, NULL, NULL), SEGLOSS_OK);
        int used[8] = {0}, order[8];
        for (int r = 0; r < n; r++) {
            int b = -1;
            for (int i = 0; i < n; i++)
                if (!used[i] && (b < 0 || e[i] > e[b])) b = i;
            used[b] = 1;
            order[r] = b;
        }
        double G = 0, Y = 0, Jp = 0;
        for (int i = 0; i < n; i++) G += y[i];
        for (int i = 0; i < n; i++) g2[i] = 0.0f;
        for (int r = 0; r < n; r++) {
            int i = order[r];
            Y += y[i];
            double J = 1.0 - (G - Y) / (G + r + 1 - Y);
            if (e[i] > 0) g2[i] = (float)(-(2.0 * y[i] - 1.0) * (J - Jp));
            Jp = J;
        }
        CHECK_MSG(memcmp(g1, g2, (size_t)n * sizeof(float)) == 0,
                  "trial %d: gradient differs from the (e desc, index asc) rule", trial);
        float g3[8];
        segloss_set_num_threads(3);
        CHECK_EQ_INT(segloss_lovasz_hinge_backward(g3, x, &t, &s, NULL, NULL), SEGLOSS_OK);
        segloss_set_num_threads(0);
        CHECK(memcmp(g1, g3, (size_t)n * sizeof(float)) == 0);
    }
}

TEST(element_lovasz_items_and_errors) {
    segloss_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 4;
    s.dim[0] = 3;
    s.dim[1] = 1;
    s.dim[2] = 2;
    s.dim[3] = 2;
    segloss_lovasz_opts o = segloss_lovasz_opts_default();
    int64_t items = -1;
    CHECK_EQ_INT(ref_lovasz_items(&items, &s, &o), SEGLOSS_OK);
    CHECK_EQ_INT(items, 1);
    o.per_image = 1;
    CHECK_EQ_INT(ref_lovasz_items(&items, &s, &o), SEGLOSS_OK);
    CHECK_EQ_INT(items, 3);
    segloss_shape s2 = eu_shape1(12);
    CHECK_EQ_INT(ref_lovasz_items(&items, &s2, &o), SEGLOSS_OK);
    CHECK_EQ_INT(items, 1); /* ndim <= 2: one image */
    CHECK_EQ_INT(ref_lovasz_items(NULL, &s2, &o), SEGLOSS_ERR_NULL);

    float x[12], g[12];
    uint8_t y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = (float)i / 6 - 1;
        y[i] = (uint8_t)(i % 2);
    }
    segloss_target t = {y, SEGLOSS_U8};
    double l;
    x[5] = NAN;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_NONFINITE);
    CHECK_EQ_INT(segloss_lovasz_hinge_backward(g, x, &t, &s, &o, NULL), SEGLOSS_ERR_NONFINITE);
    x[5] = INFINITY;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_NONFINITE);
    /* a non-finite logit at an ignored element is dropped with it */
    y[5] = 255;
    o.ignore_index = 255;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_lovasz_hinge_backward(g, x, &t, &s, &o, NULL), SEGLOSS_OK);
    CHECK(g[5] == 0.0f && isfinite(l));
    /* 255 without ignore is a bad target */
    o.ignore_index = SEGLOSS_IGNORE_NONE;
    x[5] = 0;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_TARGET);
    o.ignore_index = 255;
    o.reduction = (segloss_reduction)9;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.reduction = SEGLOSS_REDUCTION_MEAN;
    /* every element of every image ignored: 0, gradient 0 (smp) */
    for (int i = 0; i < 12; i++) y[i] = 255;
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK(l == 0.0);
    CHECK_EQ_INT(segloss_lovasz_hinge_backward(g, x, &t, &s, &o, NULL), SEGLOSS_OK);
    for (int i = 0; i < 12; i++) CHECK(g[i] == 0.0f);
    CHECK_EQ_INT(segloss_lovasz_hinge_forward(NULL, NULL, x, &t, &s, &o), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_lovasz_hinge_backward(NULL, x, &t, &s, &o, NULL), SEGLOSS_ERR_NULL);
}
