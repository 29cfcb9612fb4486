/* Second-edition losses: the hand-written backward against central finite
 * differences of the forward, in double. The configurations keep every
 * term in double arithmetic (softmax region part, CE, the focal term), so
 * the forward has no float32 noise: the step h = 2^-10 is exact on the
 * float32 inputs (|x| < 4) and
 *   fd_i = (L(x + h e_i) - L(x - h e_i)) / 2h,   max |g - fd| <= 1e-5 max |fd|.
 * (The sigmoid region part runs a float32 engine whose ~1e-9 noise a
 * finite difference cannot resolve; the peers' autograd checks it in
 * test_loss2_ref.c.) */
#include "gradcheck_util.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 2, C = 3, S = 12 };
#define H 0x1p-10

typedef segloss_status (*fwd_fn)(double *loss, const float *x, const segloss_target *t,
                                 const segloss_shape *s, const void *o);
typedef segloss_status (*bwd_fn)(float *g, const float *x, const segloss_target *t,
                                 const segloss_shape *s, const void *o, const float *up);

static segloss_status dce_f(double *l, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o) {
    return segloss_dice_ce_forward(l, NULL, x, t, s, o);
}
static segloss_status dce_b(float *g, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o, const float *up) {
    return segloss_dice_ce_backward(g, x, t, s, o, up);
}
static segloss_status dfo_f(double *l, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o) {
    return segloss_dice_focal_forward(l, NULL, x, t, s, o);
}
static segloss_status dfo_b(float *g, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o, const float *up) {
    return segloss_dice_focal_backward(g, x, t, s, o, up);
}
static segloss_status gfo_f(double *l, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o) {
    return segloss_generalized_dice_focal_forward(l, NULL, x, t, s, o);
}
static segloss_status gfo_b(float *g, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o, const float *up) {
    return segloss_generalized_dice_focal_backward(g, x, t, s, o, up);
}

static segloss_status lvs_f(double *l, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o) {
    return segloss_lovasz_softmax_forward(l, NULL, x, t, s, o);
}
static segloss_status lvs_b(float *g, const float *x, const segloss_target *t,
                            const segloss_shape *s, const void *o, const float *up) {
    return segloss_lovasz_softmax_backward(g, x, t, s, o, up);
}
static segloss_status topk_f(double *l, const float *x, const segloss_target *t,
                             const segloss_shape *s, const void *o) {
    return segloss_topk_ce_forward(l, x, t, s, o);
}
static segloss_status topk_b(float *g, const float *x, const segloss_target *t,
                             const segloss_shape *s, const void *o, const float *up) {
    return segloss_topk_ce_backward(g, x, t, s, o, up);
}

static segloss_status uf_f(double *l, const float *x, const segloss_target *t,
                           const segloss_shape *s, const void *o) {
    return segloss_unified_focal_forward(l, x, t, s, o);
}
static segloss_status uf_b(float *g, const float *x, const segloss_target *t,
                           const segloss_shape *s, const void *o, const float *up) {
    return segloss_unified_focal_backward(g, x, t, s, o, up);
}
static segloss_status gw_f(double *l, const float *x, const segloss_target *t,
                           const segloss_shape *s, const void *o) {
    return segloss_gwdl_forward(l, NULL, x, t, s, o);
}
static segloss_status gw_b(float *g, const float *x, const segloss_target *t,
                           const segloss_shape *s, const void *o, const float *up) {
    return segloss_gwdl_backward(g, x, t, s, o, up);
}

/* One configuration of shape (N, nc, S), nc <= C: index (class indices)
 * or dense soft targets. */
static void fd_check_c(const char *what, fwd_fn f, bwd_fn b, const void *o, int index,
                       uint64_t seed, int nc) {
    float x[N * C * S], xs[N * C * S], g[N * C * S], yd[N * C * S];
    int64_t yi[N * S];
    for (int i = 0; i < N * nc * S; i++) {
        x[i] = (float)(6.0 * gcu_uniform53(&seed) - 3.0);
        yd[i] = (float)gcu_uniform53(&seed);
    }
    for (int i = 0; i < N * S; i++) yi[i] = (int64_t)(gcu_uniform53(&seed) * nc);
    segloss_shape sh = {3, {N, nc, S}};
    segloss_target t = index ? (segloss_target){yi, SEGLOSS_I64}
                             : (segloss_target){yd, SEGLOSS_F32};
    float up = 1.5f;
    CHECK_EQ_INT(b(g, x, &t, &sh, o, &up), SEGLOSS_OK);
    double err = 0.0, mx = 0.0;
    int64_t at = -1;
    for (int i = 0; i < N * nc * S; i++) {
        double lp = 0, lm = 0;
        memcpy(xs, x, sizeof xs);
        xs[i] = (float)(x[i] + H);
        CHECK_EQ_INT(f(&lp, xs, &t, &sh, o), SEGLOSS_OK);
        xs[i] = (float)(x[i] - H);
        CHECK_EQ_INT(f(&lm, xs, &t, &sh, o), SEGLOSS_OK);
        double fd = up * (lp - lm) / (2.0 * H);
        if (fabs(fd) > mx) mx = fabs(fd);
        if (fabs(g[i] - fd) > err) {
            err = fabs(g[i] - fd);
            at = i;
        }
    }
    CHECK_MSG(mx > 0.0 && err <= 1e-5 * mx, "%s: max |g - fd| %.3g at %lld, max |fd| %.3g", what,
              err, (long long)at, mx);
    if (getenv("SEGLOSS_TEST_VERBOSE")) printf("%s: %.3g of %.3g\n", what, err, mx);
}

static void fd_check(const char *what, fwd_fn f, bwd_fn b, const void *o, int index,
                     uint64_t seed) {
    fd_check_c(what, f, b, o, index, seed, C);
}

TEST(loss2_gradcheck_dice_ce) {
    segloss_dice_ce_opts o = segloss_dice_ce_opts_default();
    fd_check("dice-ce softmax", dce_f, dce_b, &o, 1, 11);
    o.dice.batch = 1;
    o.dice.no_background = 1;
    o.lambda_dice = 0.7;
    o.lambda_ce = 1.3;
    o.label_smoothing = 0.1;
    o.dice.reduction = SEGLOSS_REDUCTION_SUM;
    fd_check("dice-ce batch nobg lambdas ls sum", dce_f, dce_b, &o, 1, 12);
    o = segloss_dice_ce_opts_nnunet();
    fd_check("dice-ce nnunet", dce_f, dce_b, &o, 1, 13);
}

TEST(loss2_gradcheck_focal) {
    segloss_dice_focal_opts o = segloss_dice_focal_opts_default();
    o.dice.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    fd_check("dice-focal softmax index", dfo_f, dfo_b, &o, 1, 21);
    o.dice.target_kind = SEGLOSS_TARGET_DENSE;
    o.gamma = 1.5;
    o.alpha = 0.3;
    o.dice.reduction = SEGLOSS_REDUCTION_SUM;
    o.dice.no_background = 1;
    fd_check("dice-focal softmax soft dense, alpha, sum", dfo_f, dfo_b, &o, 0, 22);
    o.gamma = 0.0;
    o.lambda_focal = 3.0;
    fd_check("dice-focal gamma 0", dfo_f, dfo_b, &o, 0, 23);
    segloss_generalized_dice_focal_opts go = segloss_generalized_dice_focal_opts_default();
    go.gdice.region.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    go.gdice.region.batch = 1;
    go.lambda_gdl = 0.5;
    fd_check("generalized-dice-focal softmax batch", gfo_f, gfo_b, &go, 1, 24);
}

/* Piecewise-smooth losses: the random inputs keep the sort orders (and the
 * top-k set) away from ties, so each is smooth within +-h. */
TEST(loss2_gradcheck_lovasz_topk) {
    segloss_lovasz_opts lo = segloss_lovasz_opts_default();
    fd_check("lovasz-softmax", lvs_f, lvs_b, &lo, 1, 31);
    lo.per_image = 1;
    lo.reduction = SEGLOSS_REDUCTION_SUM;
    fd_check("lovasz-softmax per_image sum", lvs_f, lvs_b, &lo, 1, 32);
    segloss_topk_ce_opts to = segloss_topk_ce_opts_default();
    to.k = 30.0;
    to.ce.label_smoothing = 0.05;
    fd_check("topk-ce k 30", topk_f, topk_b, &to, 1, 33);
}

/* unified-focal: logits in [-3, 3] keep p inside the clamp [1e-7, 1 - 1e-7]. */
TEST(loss2_gradcheck_unified_focal) {
    segloss_unified_focal_opts o = segloss_unified_focal_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    fd_check_c("unified-focal softmax index", uf_f, uf_b, &o, 1, 41, 2);
    o.target_kind = SEGLOSS_TARGET_DENSE;
    o.weight = 0.3;
    o.delta = 0.6;
    o.gamma = 0.75;
    fd_check_c("unified-focal softmax soft dense, options", uf_f, uf_b, &o, 0, 42, 2);
    o = segloss_unified_focal_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SIGMOID;
    fd_check_c("unified-focal sigmoid one channel", uf_f, uf_b, &o, 0, 43, 1);
    o.gamma = 2.0;
    fd_check_c("unified-focal sigmoid one channel gamma 2", uf_f, uf_b, &o, 0, 44, 1);
}

TEST(loss2_gradcheck_gwdl) {
    static const float m[C * C] = {0.0f, 1.0f, 2.0f, 1.0f, 0.0f, 0.5f, 1.5f, 0.7f, 0.2f};
    segloss_gwdl_opts o = segloss_gwdl_opts_default();
    o.dist_matrix = m;
    o.num_classes = C;
    fd_check("gwdl default", gw_f, gw_b, &o, 1, 51);
    o.weighting_mode = SEGLOSS_GWDL_GDL;
    o.reduction = SEGLOSS_REDUCTION_SUM;
    o.smooth_nr = 1e-3;
    fd_check("gwdl GDL sum", gw_f, gw_b, &o, 1, 52);
}

/* unified-focal and gwdl: argument errors, NONE items, the clamp. */
TEST(loss2_unified_focal_gwdl_errors) {
    float x[N * C * S], g[N * C * S], g2[N * C * S], e[N], ones[N] = {1.0f, 1.0f};
    int64_t yi[N * S];
    float yd[N * C * S];
    uint64_t seed = 61;
    for (int i = 0; i < N * C * S; i++) {
        x[i] = (float)gcu_uniform53(&seed);
        yd[i] = gcu_uniform53(&seed) < 0.5 ? 0.0f : 1.0f;
    }
    for (int i = 0; i < N * S; i++) yi[i] = (int64_t)(gcu_uniform53(&seed) * C);
    segloss_target ti = {yi, SEGLOSS_I64}, td = {yd, SEGLOSS_F32};
    segloss_shape s3 = {3, {N, C, S}}, s2 = {3, {N, 2, S}}, s1 = {3, {N, 1, S}};
    double loss, sum;
    segloss_unified_focal_opts u = segloss_unified_focal_opts_default();
    CHECK_EQ_INT(segloss_unified_focal_forward(&loss, x, &td, &s3, &u), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_unified_focal_forward(NULL, x, &td, &s2, &u), SEGLOSS_ERR_NULL);
    u.epsilon = 0.5;
    CHECK_EQ_INT(segloss_unified_focal_forward(&loss, x, &td, &s2, &u), SEGLOSS_ERR_ARG);
    u = segloss_unified_focal_opts_default();
    u.gamma = NAN;
    CHECK_EQ_INT(segloss_unified_focal_backward(g, x, &td, &s2, &u, NULL), SEGLOSS_ERR_ARG);
    u = segloss_unified_focal_opts_default();
    x[5] = 1.5f; /* probabilities by default */
    CHECK_EQ_INT(segloss_unified_focal_forward(&loss, x, &td, &s1, &u), SEGLOSS_ERR_DOMAIN);
    /* outside the clamp [e, 1 - e] the gradient is 0 */
    x[5] = 0.0f;
    CHECK_EQ_INT(segloss_unified_focal_backward(g, x, &td, &s1, &u, NULL), SEGLOSS_OK);
    CHECK(g[5] == 0.0f && g[6] != 0.0f);
    x[5] = 0.25f;
    /* one channel p is the two channels (1 - p, p) */
    float x2[N * 2 * S], y2[N * 2 * S];
    for (int n = 0; n < N; n++)
        for (int i = 0; i < S; i++) {
            x2[(n * 2) * S + i] = 1.0f - x[n * S + i];
            x2[(n * 2 + 1) * S + i] = x[n * S + i];
            y2[(n * 2) * S + i] = 1.0f - yd[n * S + i];
            y2[(n * 2 + 1) * S + i] = yd[n * S + i];
        }
    segloss_target t2 = {y2, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_unified_focal_forward(&loss, x, &td, &s1, &u), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_unified_focal_forward(&sum, x2, &t2, &s2, &u), SEGLOSS_OK);
    CHECK_CLOSE(loss, sum, 1e-7, 1e-7);
    /* forward_backward: the same bits as the two calls */
    float up = 0.75f;
    CHECK_EQ_INT(segloss_unified_focal_backward(g, x, &td, &s1, &u, &up), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_unified_focal_forward_backward(&sum, g2, x, &td, &s1, &u, &up),
                 SEGLOSS_OK);
    CHECK(sum == loss && memcmp(g, g2, (size_t)(N * S) * sizeof *g) == 0);
    CHECK_EQ_INT(segloss_unified_focal_forward_backward(&sum, NULL, x, &td, &s1, &u, NULL),
                 SEGLOSS_ERR_NULL);

    segloss_gwdl_opts w = segloss_gwdl_opts_default();
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, NULL), SEGLOSS_ERR_NULL);
    float m[C * C] = {0};
    w.dist_matrix = m;
    w.num_classes = C;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_ERR_ARG);
    m[1] = -1.0f;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_ERR_ARG);
    m[1] = 1.0f;
    m[3] = 4.0f;
    w.num_classes = 2;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_ERR_SHAPE);
    w.num_classes = C;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &td, &s3, &w), SEGLOSS_ERR_DTYPE);
    yi[2] = C;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_ERR_TARGET);
    yi[2] = 0;
    /* NONE: N items adding up to SUM; its backward with ones is SUM's */
    w.reduction = SEGLOSS_REDUCTION_SUM;
    CHECK_EQ_INT(segloss_gwdl_forward(&sum, NULL, x, &ti, &s3, &w), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_gwdl_backward(g, x, &ti, &s3, &w, NULL), SEGLOSS_OK);
    w.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, e, x, &ti, &s3, &w), SEGLOSS_OK);
    CHECK_CLOSE((double)e[0] + (double)e[1], sum, 1e-6, 1e-6);
    CHECK_CLOSE(loss, sum, 1e-15, 1e-15);
    CHECK_EQ_INT(segloss_gwdl_backward(g2, x, &ti, &s3, &w, ones), SEGLOSS_OK);
    CHECK(memcmp(g, g2, sizeof g) == 0);
    /* forward_backward: the same bits as the two calls */
    float e2[N];
    double l2;
    CHECK_EQ_INT(segloss_gwdl_forward_backward(&l2, e2, g2, x, &ti, &s3, &w, ones), SEGLOSS_OK);
    CHECK(l2 == loss && memcmp(e, e2, sizeof e) == 0 && memcmp(g, g2, sizeof g) == 0);
    CHECK_EQ_INT(segloss_gwdl_forward_backward(NULL, e2, g2, x, &ti, &s3, &w, ones),
                 SEGLOSS_ERR_NULL);
    /* scaling the matrix changes nothing (MONAI divides by its maximum) */
    w.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_gwdl_forward(&loss, NULL, x, &ti, &s3, &w), SEGLOSS_OK);
    for (int k = 0; k < C * C; k++) m[k] *= 3.0f;
    CHECK_EQ_INT(segloss_gwdl_forward(&sum, NULL, x, &ti, &s3, &w), SEGLOSS_OK);
    CHECK_CLOSE(loss, sum, 1e-12, 1e-12);
}

TEST(loss2_compound_errors) {
    segloss_shape sh = {3, {N, C, S}};
    float x[N * C * S] = {0}, g[N * C * S];
    int64_t yi[N * S] = {0};
    float yd[N * C * S] = {0};
    segloss_target ti = {yi, SEGLOSS_I64}, td = {yd, SEGLOSS_F32};
    double loss;
    float e[8];
    segloss_dice_ce_opts o = segloss_dice_ce_opts_default();
    CHECK_EQ_INT(segloss_dice_ce_forward(NULL, NULL, x, &ti, &sh, &o), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, e, x, &ti, &sh, &o), SEGLOSS_ERR_ARG);
    o.dice.target_kind = SEGLOSS_TARGET_DENSE;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &td, &sh, &o), SEGLOSS_ERR_ARG);
    o = segloss_dice_ce_opts_default();
    o.lambda_ce = -1.0;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &ti, &sh, &o), SEGLOSS_ERR_ARG);
    o = segloss_dice_ce_opts_default();
    o.dice.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_dice_ce_backward(g, x, &ti, &sh, &o, NULL), SEGLOSS_ERR_ARG);
    o = segloss_dice_ce_opts_nnunet();
    o.dice.reduction = SEGLOSS_REDUCTION_SUM;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &ti, &sh, &o), SEGLOSS_ERR_ARG);
    /* one channel: the dice + bce path, which needs SIGMOID */
    segloss_shape one = {3, {N, 1, S}};
    o = segloss_dice_ce_opts_default();
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &td, &one, &o), SEGLOSS_ERR_ARG);
    o.dice.activation = SEGLOSS_ACTIVATION_SIGMOID;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &td, &one, &o), SEGLOSS_OK);
    o.label_smoothing = 0.1;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &td, &one, &o), SEGLOSS_ERR_ARG);
    /* class index out of range */
    o = segloss_dice_ce_opts_default();
    yi[3] = C;
    CHECK_EQ_INT(segloss_dice_ce_forward(&loss, NULL, x, &ti, &sh, &o), SEGLOSS_ERR_TARGET);
    yi[3] = 0;

    segloss_dice_focal_opts f = segloss_dice_focal_opts_default();
    f.dice.ignore_index = 255;
    CHECK_EQ_INT(segloss_dice_focal_forward(&loss, NULL, x, &td, &sh, &f), SEGLOSS_ERR_ARG);
    f = segloss_dice_focal_opts_default();
    f.alpha = 1.5;
    CHECK_EQ_INT(segloss_dice_focal_forward(&loss, NULL, x, &td, &sh, &f), SEGLOSS_ERR_ARG);
    f = segloss_dice_focal_opts_default();
    f.gamma = -1.0;
    CHECK_EQ_INT(segloss_dice_focal_backward(g, x, &td, &sh, &f, NULL), SEGLOSS_ERR_ARG);
    f = segloss_dice_focal_opts_default();
    CHECK_EQ_INT(segloss_dice_focal_forward(&loss, e, x, &td, &sh, &f), SEGLOSS_ERR_ARG);
    /* x = 0, y = 0 everywhere, gamma 2: focal = (1/2)^2 ln 2 per element;
     * dice of an empty item with p = 1/2: 1 - 1e-5/(S/2 + 1e-5) */
    CHECK_EQ_INT(segloss_dice_focal_forward(&loss, NULL, x, &td, &sh, &f), SEGLOSS_OK);
    double dice0 = 1.0 - 1e-5 / (S / 2.0 + 1e-5);
    CHECK_CLOSE(loss, dice0 + 0.25 * log(2.0), 1e-7, 1e-7);
}
