/* Core API contracts: status codes on bad arguments, special values of the
 * sigmoid and the threshold rule, option defaults, target dtypes, and
 * bit-identical results for any thread count. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A small valid problem: 2x3 logits / probabilities with a 0/1 target. */
static const float ux[6] = {-1.5f, 0.25f, 2.0f, -0.5f, 3.0f, 0.0f};
static const float up[6] = {0.1f, 0.6f, 0.9f, 0.3f, 0.95f, 0.5f};
static const float uy[6] = {0, 1, 1, 0, 1, 0};

static segloss_shape shape2x3(void) {
    segloss_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 2;
    s.dim[0] = 2;
    s.dim[1] = 3;
    return s;
}

TEST(core_null_pointers) {
    segloss_shape s = shape2x3();
    segloss_target t = {uy, SEGLOSS_F32};
    segloss_target tnull = {NULL, SEGLOSS_F32};
    double loss;
    float g[6], e[6];
    uint8_t m[6];
    int64_t n;

    CHECK_EQ_INT(segloss_bce_forward(NULL, e, up, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_forward(&loss, e, NULL, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_forward(&loss, e, up, NULL, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_forward(&loss, e, up, &tnull, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_forward(&loss, e, up, &t, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_backward(NULL, up, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_backward(g, NULL, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_backward(g, up, NULL, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_backward(g, up, &tnull, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_backward(g, up, &t, NULL, NULL, NULL), SEGLOSS_ERR_NULL);

    CHECK_EQ_INT(segloss_bce_logits_forward(NULL, e, ux, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, e, NULL, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, e, ux, NULL, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, e, ux, &tnull, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, e, ux, &t, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_backward(NULL, ux, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, NULL, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, NULL, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &tnull, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, NULL, NULL, NULL), SEGLOSS_ERR_NULL);

    CHECK_EQ_INT(segloss_dice_forward(NULL, e, ux, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, NULL, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, ux, NULL, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, ux, &tnull, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, ux, &t, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward(NULL, ux, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward(g, NULL, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward(g, ux, NULL, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward(g, ux, &tnull, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward(g, ux, &t, NULL, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(ref_dice_items(NULL, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(ref_dice_items(&n, NULL, NULL), SEGLOSS_ERR_NULL);

    CHECK_EQ_INT(segloss_sigmoid_forward(NULL, ux, 6), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_sigmoid_forward(g, NULL, 6), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_sigmoid_backward(NULL, ux, up, 6), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_sigmoid_backward(g, NULL, up, 6), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_sigmoid_backward(g, ux, NULL, 6), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_threshold_logits(NULL, ux, 6, 0.0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_threshold_logits(m, NULL, 6, 0.0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_shape_numel(NULL, &n), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_shape_numel(&s, NULL), SEGLOSS_ERR_NULL);

    /* elems may be NULL, for every reduction */
    segloss_bce_opts none = segloss_bce_opts_default();
    none.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &none), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &none), SEGLOSS_OK);
    segloss_dice_opts dnone;
    dnone = segloss_dice_opts_default();
    dnone.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &s, &dnone), SEGLOSS_OK);
}

TEST(core_empty_and_overflow) {
    segloss_target t = {uy, SEGLOSS_F32};
    double loss;
    float g[6];
    int64_t n;
    segloss_shape zero = {3, {2, 0, 3}};
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &zero, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_bce_backward(g, up, &t, &zero, NULL, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &zero, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, &zero, NULL, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &zero, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_dice_backward(g, ux, &t, &zero, NULL, NULL), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_shape_numel(&zero, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 0);
    segloss_shape zero1 = {1, {0}};
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &zero1, NULL), SEGLOSS_ERR_EMPTY);

    /* dimensions whose product overflows int64 (or the byte size size_t) */
    segloss_shape big = {2, {INT64_MAX / 2, 4}};
    CHECK_EQ_INT(segloss_shape_numel(&big, &n), SEGLOSS_ERR_OVERFLOW);
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &big, NULL), SEGLOSS_ERR_OVERFLOW);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, &big, NULL, NULL), SEGLOSS_ERR_OVERFLOW);
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &big, NULL), SEGLOSS_ERR_OVERFLOW);
    segloss_shape big3 = {3, {(int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31}};
    CHECK_EQ_INT(segloss_shape_numel(&big3, &n), SEGLOSS_ERR_OVERFLOW);
    CHECK_EQ_INT(segloss_dice_backward(g, ux, &t, &big3, NULL, NULL), SEGLOSS_ERR_OVERFLOW);
    /* as NumPy: a zero dimension does not excuse an overflowing product */
    segloss_shape zbig = {3, {0, (int64_t)1 << 62, (int64_t)1 << 62}};
    CHECK_EQ_INT(segloss_shape_numel(&zbig, &n), SEGLOSS_ERR_OVERFLOW);

    /* bad shapes */
    segloss_shape neg = {2, {2, -3}};
    CHECK_EQ_INT(segloss_shape_numel(&neg, &n), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &neg, NULL), SEGLOSS_ERR_SHAPE);
    segloss_shape deep = {SEGLOSS_MAX_DIMS + 1, {1}};
    CHECK_EQ_INT(segloss_shape_numel(&deep, &n), SEGLOSS_ERR_SHAPE);
    segloss_shape rank6 = {6, {1, 1, 1, 1, 2, 3}};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &rank6, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &rank6, NULL), SEGLOSS_OK);
    segloss_shape scalar = {0, {0}};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &scalar, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &scalar, NULL), SEGLOSS_OK);

    CHECK_EQ_INT(segloss_sigmoid_forward(g, ux, -1), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_sigmoid_forward(g, ux, 0), SEGLOSS_OK);
}

TEST(core_broadcast_errors) {
    segloss_shape s = shape2x3();
    segloss_target t = {uy, SEGLOSS_F32};
    const float w[6] = {1, 2, 3, 4, 5, 6};
    double loss;
    float g[6];
    segloss_bce_opts o;

    /* (2,) against (2,3): right-aligned, 2 != 3 */
    o = segloss_bce_opts_default();
    o.weight.data = w;
    o.weight.shape.ndim = 1;
    o.weight.shape.dim[0] = 2;
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &o), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_backward(g, up, &t, &s, &o, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &o), SEGLOSS_ERR_SHAPE);
    /* (2,1) is fine, (3,1) is not */
    o.weight.shape.ndim = 2;
    o.weight.shape.dim[0] = 2;
    o.weight.shape.dim[1] = 1;
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &o), SEGLOSS_OK);
    o.weight.shape.dim[0] = 3;
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &o), SEGLOSS_ERR_SHAPE);
    /* higher rank than the input */
    o.weight.shape.ndim = 3;
    o.weight.shape.dim[0] = 1;
    o.weight.shape.dim[1] = 2;
    o.weight.shape.dim[2] = 3;
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, &s, &o, NULL), SEGLOSS_ERR_SHAPE);

    /* pos_weight: the per-channel spelling (C,) of an (N,C) input is the
     * PyTorch mistake the header warns about: (2,) vs last axis 3 */
    o = segloss_bce_opts_default();
    o.pos_weight.data = w;
    o.pos_weight.shape.ndim = 1;
    o.pos_weight.shape.dim[0] = 2;
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &o), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, &s, &o, NULL), SEGLOSS_ERR_SHAPE);
    o.pos_weight.shape.dim[0] = 3;
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &o), SEGLOSS_OK);
    /* ... and pos_weight is not an option of BCE on probabilities */
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &o), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_bce_backward(g, up, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
}

TEST(core_domain_errors) {
    segloss_shape s = shape2x3();
    segloss_target t = {uy, SEGLOSS_F32};
    double loss;
    float g[6];
    const float bad[] = {1.0000001f, -1e-7f, NAN, INFINITY, -INFINITY, 1.5f, -0.5f, 0.6455f * 2};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        float p[6];
        memcpy(p, up, sizeof p);
        p[k % 6] = bad[k];
        CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, p, &t, &s, NULL), SEGLOSS_ERR_DOMAIN);
        CHECK_EQ_INT(segloss_bce_backward(g, p, &t, &s, NULL, NULL), SEGLOSS_ERR_DOMAIN);
        segloss_dice_opts d;
        d = segloss_dice_opts_default();
        d.activation = SEGLOSS_ACTIVATION_NONE;
        CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, p, &t, &s, &d), SEGLOSS_ERR_DOMAIN);
        CHECK_EQ_INT(segloss_dice_backward(g, p, &t, &s, &d, NULL), SEGLOSS_ERR_DOMAIN);
    }
    /* the closed interval is allowed, -0.0 included */
    const float edge[6] = {0.0f, 1.0f, -0.0f, 1.0f, 0.0f, 0.5f};
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, edge, &t, &s, NULL), SEGLOSS_OK);
    CHECK(isfinite(loss));
    /* logits fed to BCE on probabilities (SPEC section 1): an error */
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, ux, &t, &s, NULL), SEGLOSS_ERR_DOMAIN);
}

/* One bad target value of the given dtype at position 4 of an otherwise
 * valid 0/1 target. */
static void check_bad_target(segloss_dtype dt, const void *bad) {
    unsigned char buf[6 * 8];
    size_t es = segloss_dtype_size(dt);
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < 6; i++) {
        if (uy[i] == 0) continue;
        /* a 1 of this dtype */
        switch (dt) {
        case SEGLOSS_F32: { float v = 1; memcpy(buf + i * es, &v, es); break; }
        case SEGLOSS_F64: { double v = 1; memcpy(buf + i * es, &v, es); break; }
        default: buf[i * es] = 1; break; /* little-endian integer 1 */
        }
    }
    memcpy(buf + 4 * es, bad, es);
    segloss_shape s = shape2x3();
    segloss_target t = {buf, dt};
    double loss;
    float g[6];
    const char *name = segloss_dtype_name(dt);
    CHECK_MSG(segloss_bce_forward(&loss, NULL, up, &t, &s, NULL) == SEGLOSS_ERR_TARGET,
              "bce target %s", name);
    CHECK_MSG(segloss_bce_backward(g, up, &t, &s, NULL, NULL) == SEGLOSS_ERR_TARGET,
              "bce backward target %s", name);
    CHECK_MSG(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, NULL) == SEGLOSS_ERR_TARGET,
              "bce_logits target %s", name);
    CHECK_MSG(segloss_bce_logits_backward(g, ux, &t, &s, NULL, NULL) == SEGLOSS_ERR_TARGET,
              "bce_logits backward target %s", name);
    CHECK_MSG(segloss_dice_forward(&loss, NULL, ux, &t, &s, NULL) == SEGLOSS_ERR_TARGET,
              "dice target %s", name);
    CHECK_MSG(segloss_dice_backward(g, ux, &t, &s, NULL, NULL) == SEGLOSS_ERR_TARGET,
              "dice backward target %s", name);
}

TEST(core_target_errors) {
    const uint8_t u8_255 = 255, u8_2 = 2;
    const int8_t i8_m1 = -1;
    const int16_t i16_2 = 2;
    const int32_t i32_m1 = -1;
    const int64_t i64_2 = 2, i64_m1 = -1;
    const uint16_t u16_256 = 256;
    const uint32_t u32_big = 0x10000u;
    const uint64_t u64_big = (uint64_t)1 << 32;
    const float f_neg = -0.1f, f_nan = NAN, f_big = 1.0000001f, f_inf = INFINITY;
    const double d_big = 1.5, d_nan = NAN, d_neg = -1e-300;
    check_bad_target(SEGLOSS_U8, &u8_255);
    check_bad_target(SEGLOSS_U8, &u8_2);
    check_bad_target(SEGLOSS_I8, &i8_m1);
    check_bad_target(SEGLOSS_I16, &i16_2);
    check_bad_target(SEGLOSS_I32, &i32_m1);
    check_bad_target(SEGLOSS_I64, &i64_2);
    check_bad_target(SEGLOSS_I64, &i64_m1);
    check_bad_target(SEGLOSS_U16, &u16_256);
    check_bad_target(SEGLOSS_U32, &u32_big);
    check_bad_target(SEGLOSS_U64, &u64_big);
    check_bad_target(SEGLOSS_F32, &f_neg);
    check_bad_target(SEGLOSS_F32, &f_nan);
    check_bad_target(SEGLOSS_F32, &f_big);
    check_bad_target(SEGLOSS_F32, &f_inf);
    check_bad_target(SEGLOSS_F64, &d_big);
    check_bad_target(SEGLOSS_F64, &d_nan);
    check_bad_target(SEGLOSS_F64, &d_neg);

    /* bool: any nonzero byte is true, as C's conversion to _Bool */
    const uint8_t b[6] = {0, 7, 255, 0, 1, 0};
    const uint8_t b01[6] = {0, 1, 1, 0, 1, 0};
    segloss_shape s = shape2x3();
    segloss_target tb = {b, SEGLOSS_BOOL}, tb01 = {b01, SEGLOSS_BOOL};
    double l1, l2;
    CHECK_EQ_INT(segloss_bce_logits_forward(&l1, NULL, ux, &tb, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&l2, NULL, ux, &tb01, &s, NULL), SEGLOSS_OK);
    CHECK(l1 == l2);

    /* an invalid dtype enum */
    segloss_target td = {uy, (segloss_dtype)99};
    double loss;
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &td, &s, NULL), SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &td, &s, NULL), SEGLOSS_ERR_DTYPE);
}

TEST(core_bad_options) {
    segloss_shape s = shape2x3();
    segloss_target t = {uy, SEGLOSS_F32};
    double loss;
    float g[6];
    segloss_bce_opts o;
    o = segloss_bce_opts_default();
    const segloss_reduction bad[] = {(segloss_reduction)3, (segloss_reduction)-1,
                                     (segloss_reduction)1000};
    for (int k = 0; k < 3; k++) {
        o.reduction = bad[k];
        CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &o), SEGLOSS_ERR_ARG);
        CHECK_EQ_INT(segloss_bce_backward(g, up, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &o), SEGLOSS_ERR_ARG);
        CHECK_EQ_INT(segloss_bce_logits_backward(g, ux, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
        segloss_dice_opts d;
        d = segloss_dice_opts_default();
        d.reduction = bad[k];
        CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &s, &d), SEGLOSS_ERR_ARG);
        CHECK_EQ_INT(segloss_dice_backward(g, ux, &t, &s, &d, NULL), SEGLOSS_ERR_ARG);
    }
    segloss_dice_opts d;
    d = segloss_dice_opts_default();
    d.activation = (segloss_activation)7;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &s, &d), SEGLOSS_ERR_ARG);
    d = segloss_dice_opts_default();
    d.smooth_nr = NAN;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &s, &d), SEGLOSS_ERR_ARG);
    d.smooth_nr = 0;
    d.smooth_dr = INFINITY;
    CHECK_EQ_INT(segloss_dice_backward(g, ux, &t, &s, &d, NULL), SEGLOSS_ERR_ARG);
}

TEST(core_nan_logits_propagate) {
    segloss_shape s = shape2x3();
    segloss_target t = {uy, SEGLOSS_F32};
    float x[6], g[6], e[6];
    memcpy(x, ux, sizeof x);
    x[2] = NAN;
    double loss;
    segloss_bce_opts o;
    o = segloss_bce_opts_default();
    for (int r = 0; r < 3; r++) {
        o.reduction = (segloss_reduction)r;
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, e, x, &t, &s, &o), SEGLOSS_OK);
        CHECK(isnan(loss));
        CHECK_EQ_INT(segloss_bce_logits_backward(g, x, &t, &s, &o, NULL), SEGLOSS_OK);
        CHECK(isnan(g[2]));
        CHECK(isfinite(g[0]) && isfinite(g[1]) && isfinite(g[3]));
    }
    CHECK(isnan(e[2]) && isfinite(e[1]));
    /* y = 0 too: (1-y)*x is NaN, not dropped */
    x[2] = 1.0f;
    x[0] = NAN;
    o.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK(isnan(loss));
}

TEST(core_sigmoid_special_values) {
    const float x[] = {INFINITY, -INFINITY, NAN, -88.0f, 88.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
                       0.0f, -0.0f, -100.0f, 20.0f, -20.0f, 1e-8f};
    enum { N = sizeof x / sizeof x[0] };
    float y[N];
    CHECK_EQ_INT(segloss_sigmoid_forward(y, x, N), SEGLOSS_OK);
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == 0.0f);
    CHECK(isnan(y[2]));
    /* sigmoid(-88) = 6.0546e-39: a float32 subnormal, not flushed to 0 */
    CHECK(y[3] > 0.0f && y[3] < FLT_MIN);
    CHECK_CLOSE(y[3], 6.0546018954011858e-39, 2e-45, 0);
    CHECK(y[4] == 1.0f);
    CHECK(y[5] == 1.0f);
    CHECK(y[6] == 0.0f);
    CHECK(y[7] == 1.0f);
    CHECK(y[8] == 0.0f);
    CHECK(y[9] == 0.5f);
    CHECK(y[10] == 0.5f);
    CHECK_CLOSE(y[11], 3.7200759760208361e-44, 1.5e-45, 0);
    CHECK_CLOSE(y[12], 0.99999999793884630, 0, 6e-8);
    CHECK_CLOSE(y[13], 2.0611536181902037e-09, 0, 6e-8);
    CHECK_CLOSE(y[14], 0.5 + 0.25e-8, 0, 6e-8);
    for (int i = 0; i < N; i++)
        if (!isnan(x[i])) CHECK(y[i] >= 0.0f && y[i] <= 1.0f);

    /* backward from the output: y(1-y) is 0 at the saturated ends, NaN stays NaN */
    float go[N], gi[N];
    for (int i = 0; i < N; i++) go[i] = 1.0f;
    CHECK_EQ_INT(segloss_sigmoid_backward(gi, go, y, N), SEGLOSS_OK);
    CHECK(gi[0] == 0.0f && gi[1] == 0.0f && gi[4] == 0.0f && gi[7] == 0.0f && gi[8] == 0.0f);
    CHECK(isnan(gi[2]));
    CHECK(gi[9] == 0.25f);
    CHECK(gi[3] > 0.0f);

    /* in place: out may alias x, grad_in may alias grad_out */
    float z[3] = {-1.0f, 0.0f, 2.0f}, ref[3];
    CHECK_EQ_INT(segloss_sigmoid_forward(ref, z, 3), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_sigmoid_forward(z, z, 3), SEGLOSS_OK);
    CHECK(memcmp(z, ref, sizeof z) == 0);
    float gg[3] = {2.0f, 2.0f, 2.0f}, gref[3];
    CHECK_EQ_INT(segloss_sigmoid_backward(gref, gg, z, 3), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_sigmoid_backward(gg, gg, z, 3), SEGLOSS_OK);
    CHECK(memcmp(gg, gref, sizeof gg) == 0);
}

TEST(core_threshold_rule) {
    const float x[] = {0.0f, -0.0f, 1e-45f, -1e-45f, NAN, INFINITY, -INFINITY, 5.0f, -5.0f,
                       0.84729f, 0.84731f};
    enum { N = sizeof x / sizeof x[0] };
    const uint8_t want0[N] = {1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1};
    uint8_t m[N];
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, 0.0), SEGLOSS_OK);
    for (int i = 0; i < N; i++) CHECK_MSG(m[i] == want0[i], "x=%g: mask %d", x[i], m[i]);
    /* probability threshold 0.7 <-> logit ln(0.7/0.3) = 0.8472979 */
    double t7 = segloss_prob_to_logit_threshold(0.7);
    CHECK_CLOSE(t7, log(0.7 / 0.3), 0, 1e-15);
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, t7), SEGLOSS_OK);
    CHECK(m[0] == 0 && m[7] == 1 && m[9] == 0 && m[10] == 1 && m[5] == 1 && m[4] == 0);
    /* thresholds +-inf: everything but NaN / only +inf */
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, -INFINITY), SEGLOSS_OK);
    for (int i = 0; i < N; i++) CHECK(m[i] == (isnan(x[i]) ? 0 : 1));
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, INFINITY), SEGLOSS_OK);
    for (int i = 0; i < N; i++) CHECK(m[i] == (x[i] == INFINITY));
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, NAN), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_threshold_logits(m, x, -1, 0.0), SEGLOSS_ERR_ARG);
    /* the rule agrees with sigmoid >= 0.5 */
    float p[N];
    CHECK_EQ_INT(segloss_sigmoid_forward(p, x, N), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_threshold_logits(m, x, N, 0.0), SEGLOSS_OK);
    for (int i = 0; i < N; i++)
        if (!isnan(x[i]) && fabsf(x[i]) > 1e-6f) CHECK(m[i] == (p[i] >= 0.5f));

    CHECK(segloss_prob_to_logit_threshold(0.5) == 0.0);
    CHECK(segloss_prob_to_logit_threshold(0.0) == -INFINITY);
    CHECK(segloss_prob_to_logit_threshold(1.0) == INFINITY);
    CHECK_CLOSE(segloss_prob_to_logit_threshold(0.3), -log(0.7 / 0.3), 0, 1e-15);
    CHECK_CLOSE(segloss_prob_to_logit_threshold(1e-300), log(1e-300), 0, 1e-15);
    CHECK(isnan(segloss_prob_to_logit_threshold(-0.1)));
    CHECK(isnan(segloss_prob_to_logit_threshold(1.1)));
    CHECK(isnan(segloss_prob_to_logit_threshold(NAN)));
}

TEST(core_strerror) {
    const char *msg[16];
    for (int s = 0; s <= SEGLOSS_ERR_INTERNAL; s++) {
        msg[s] = segloss_strerror((segloss_status)s);
        CHECK_MSG(msg[s] != NULL && msg[s][0] != '\0', "strerror(%d) empty", s);
        for (int r = 0; r < s; r++)
            if (msg[s] && msg[r])
                CHECK_MSG(strcmp(msg[s], msg[r]) != 0, "strerror(%d) == (%d)", s, r);
    }
    const char *unknown = segloss_strerror((segloss_status)1234);
    CHECK(unknown != NULL && unknown[0] != '\0');
    /* fixed values: programs may store them */
    CHECK_EQ_INT(SEGLOSS_OK, 0);
    CHECK_EQ_INT(SEGLOSS_ERR_TARGET, 7);
    CHECK_EQ_INT(SEGLOSS_ERR_INTERNAL, 15);
}

/* NULL opts == zero-filled opts == the documented defaults, to the bit. */
TEST(core_default_options) {
    segloss_shape s = {3, {2, 3, 5}};
    float x[30], p[30], y[30];
    for (int i = 0; i < 30; i++) {
        x[i] = (float)((i * 7 % 11) - 5) * 0.7f;
        p[i] = 0.05f + 0.03f * (float)i;
        y[i] = (i * 5 % 3) == 0 ? 1.0f : 0.0f;
    }
    segloss_target t = {y, SEGLOSS_F32};
    double a, b, c;
    float ga[30], gb[30], gc[30];

    segloss_bce_opts zero, expl;
    zero = segloss_bce_opts_default();
    expl = segloss_bce_opts_default();
    expl.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_bce_logits_forward(&a, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&b, NULL, x, &t, &s, &zero), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&c, NULL, x, &t, &s, &expl), SEGLOSS_OK);
    CHECK(a == b && b == c);
    CHECK_EQ_INT(segloss_bce_logits_backward(ga, x, &t, &s, NULL, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_backward(gb, x, &t, &s, &zero, NULL), SEGLOSS_OK);
    const float one = 1.0f;
    CHECK_EQ_INT(segloss_bce_logits_backward(gc, x, &t, &s, &expl, &one), SEGLOSS_OK);
    CHECK(memcmp(ga, gb, sizeof ga) == 0 && memcmp(gb, gc, sizeof gb) == 0);

    CHECK_EQ_INT(segloss_bce_forward(&a, NULL, p, &t, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_forward(&b, NULL, p, &t, &s, &zero), SEGLOSS_OK);
    CHECK(a == b);
    CHECK_EQ_INT(segloss_bce_backward(ga, p, &t, &s, NULL, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_backward(gb, p, &t, &s, &zero, &one), SEGLOSS_OK);
    CHECK(memcmp(ga, gb, sizeof ga) == 0);

    /* mean is the sum divided by the element count (never by sum of weights) */
    segloss_bce_opts sum = zero;
    sum.reduction = SEGLOSS_REDUCTION_SUM;
    const float w[5] = {0.5f, 1, 2, 3, 0.25f};
    sum.weight.data = w;
    sum.weight.shape.ndim = 1;
    sum.weight.shape.dim[0] = 5;
    segloss_bce_opts mean = sum;
    mean.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_bce_logits_forward(&a, NULL, x, &t, &s, &sum), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&b, NULL, x, &t, &s, &mean), SEGLOSS_OK);
    CHECK_CLOSE(b, a / 30.0, 0, 1e-15);
    /* none: *loss is the sum of the loss array */
    segloss_bce_opts none = sum;
    none.reduction = SEGLOSS_REDUCTION_NONE;
    float e[30];
    CHECK_EQ_INT(segloss_bce_logits_forward(&c, e, x, &t, &s, &none), SEGLOSS_OK);
    CHECK_CLOSE(c, a, 0, 1e-15);
    double esum = 0;
    for (int i = 0; i < 30; i++) esum += e[i];
    CHECK_CLOSE(esum, a, 0, 1e-6);

    /* dice: activation sigmoid, smooth_nr = smooth_dr = 1e-5, mean */
    segloss_dice_opts dz, dx;
    dz = segloss_dice_opts_default();
    dx = segloss_dice_opts_default();
    dx.reduction = SEGLOSS_REDUCTION_MEAN;
    dx.activation = SEGLOSS_ACTIVATION_SIGMOID;
    dx.smooth_nr = 1e-5;
    dx.smooth_dr = 1e-5;
    CHECK_EQ_INT(segloss_dice_forward(&a, NULL, x, &t, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&b, NULL, x, &t, &s, &dz), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&c, NULL, x, &t, &s, &dx), SEGLOSS_OK);
    CHECK(a == b && b == c);
    CHECK_EQ_INT(segloss_dice_backward(ga, x, &t, &s, NULL, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_backward(gb, x, &t, &s, &dz, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_backward(gc, x, &t, &s, &dx, &one), SEGLOSS_OK);
    CHECK(memcmp(ga, gb, sizeof ga) == 0 && memcmp(gb, gc, sizeof gb) == 0);
    int64_t items = 0;
    CHECK_EQ_INT(ref_dice_items(&items, &s, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(items, 6);
    dz.batch = 1;
    CHECK_EQ_INT(ref_dice_items(&items, &s, &dz), SEGLOSS_OK);
    CHECK_EQ_INT(items, 3);
    segloss_shape img = {2, {5, 6}};
    CHECK_EQ_INT(ref_dice_items(&items, &img, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(items, 1);
}

/* Every target dtype holding the same 0/1 mask gives bit-identical losses
 * and gradients to the float32 target. */
TEST(core_target_dtypes_agree) {
    enum { N = 2 * 3 * 5 };
    segloss_shape s = {3, {2, 3, 5}};
    float x[N], p[N], yf[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)((i * 13 % 17) - 8) * 0.45f;
        p[i] = 0.02f + 0.032f * (float)i;
        yf[i] = (i * 7 % 5) < 2 ? 1.0f : 0.0f;
    }
    static const segloss_dtype dts[] = {SEGLOSS_U8, SEGLOSS_BOOL, SEGLOSS_I8, SEGLOSS_I16,
                                        SEGLOSS_I32, SEGLOSS_I64, SEGLOSS_U16, SEGLOSS_U32,
                                        SEGLOSS_U64, SEGLOSS_F64};
    segloss_target tf = {yf, SEGLOSS_F32};
    segloss_bce_opts bo;
    bo = segloss_bce_opts_default();
    bo.reduction = SEGLOSS_REDUCTION_SUM;
    segloss_dice_opts dopt;
    dopt = segloss_dice_opts_default();
    dopt.squared = 1;
    double ref[3];
    float gref[3][N];
    CHECK_EQ_INT(segloss_bce_forward(&ref[0], NULL, p, &tf, &s, &bo), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&ref[1], NULL, x, &tf, &s, &bo), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&ref[2], NULL, x, &tf, &s, &dopt), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_backward(gref[0], p, &tf, &s, &bo, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_backward(gref[1], x, &tf, &s, &bo, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_backward(gref[2], x, &tf, &s, &dopt, NULL), SEGLOSS_OK);
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        segloss_dtype dt = dts[k];
        size_t es = segloss_dtype_size(dt);
        unsigned char buf[N * 8];
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < N; i++) {
            if (yf[i] == 0) continue;
            if (dt == SEGLOSS_F64) {
                double one = 1.0;
                memcpy(buf + i * es, &one, es);
            } else {
                buf[i * es] = 1; /* little-endian (the library's targets are native) */
            }
        }
        segloss_target t = {buf, dt};
        double l;
        float g[N];
        const char *name = segloss_dtype_name(dt);
        CHECK_EQ_INT(segloss_bce_forward(&l, NULL, p, &t, &s, &bo), SEGLOSS_OK);
        CHECK_MSG(l == ref[0], "bce %s: %.17g vs f32 %.17g", name, l, ref[0]);
        CHECK_EQ_INT(segloss_bce_logits_forward(&l, NULL, x, &t, &s, &bo), SEGLOSS_OK);
        CHECK_MSG(l == ref[1], "bce_logits %s: %.17g vs f32 %.17g", name, l, ref[1]);
        CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &t, &s, &dopt), SEGLOSS_OK);
        CHECK_MSG(l == ref[2], "dice %s: %.17g vs f32 %.17g", name, l, ref[2]);
        CHECK_EQ_INT(segloss_bce_backward(g, p, &t, &s, &bo, NULL), SEGLOSS_OK);
        CHECK_MSG(memcmp(g, gref[0], sizeof g) == 0, "bce grad %s differs", name);
        CHECK_EQ_INT(segloss_bce_logits_backward(g, x, &t, &s, &bo, NULL), SEGLOSS_OK);
        CHECK_MSG(memcmp(g, gref[1], sizeof g) == 0, "bce_logits grad %s differs", name);
        CHECK_EQ_INT(segloss_dice_backward(g, x, &t, &s, &dopt, NULL), SEGLOSS_OK);
        CHECK_MSG(memcmp(g, gref[2], sizeof g) == 0, "dice grad %s differs", name);
    }
}

/* Same bits for 1, 2, 3 and 4 threads (fixed blocks, fixed combination
 * order), on 100000 elements: 13 blocks for bce-logits, 4 per dice item. */
TEST(core_thread_count_bit_identical) {
    enum { N = 100000 };
    segloss_shape s = {4, {2, 2, 250, 100}};
    float *x = malloc(N * sizeof *x);
    float *y = malloc(N * sizeof *y);
    float *g = malloc(N * sizeof *g);
    float *g1[2] = {malloc(N * sizeof(float)), malloc(N * sizeof(float))};
    float *e = malloc(N * sizeof *e), *e1 = malloc(N * sizeof *e1);
    CHECK(x && y && g && g1[0] && g1[1] && e && e1);
    if (!(x && y && g && g1[0] && g1[1] && e && e1)) goto out;
    uint64_t st = 12345;
    for (int i = 0; i < N; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(st >> 40) * 0x1p-24 * 16.0 - 8.0);
        y[i] = (st >> 20) % 3 == 0 ? 1.0f : 0.0f;
    }
    segloss_target t = {y, SEGLOSS_F32};
    const float pw[2] = {3.0f, 0.5f};
    const float w[100] = {0.25f, 1.5f, 2.0f}; /* the rest 0 */
    segloss_bce_opts bo;
    bo = segloss_bce_opts_default();
    bo.pos_weight.data = pw;
    bo.pos_weight.shape.ndim = 3;
    bo.pos_weight.shape.dim[0] = 2;
    bo.pos_weight.shape.dim[1] = 1;
    bo.pos_weight.shape.dim[2] = 1;
    bo.weight.data = w;
    bo.weight.shape.ndim = 1;
    bo.weight.shape.dim[0] = 100;
    segloss_dice_opts dopt;
    dopt = segloss_dice_opts_default();
    dopt.reduction = SEGLOSS_REDUCTION_NONE;
    const float dgo[4] = {1.0f, -0.5f, 2.0f, 0.25f};
    double l1[2] = {0, 0}, lb1 = 0;
    for (int nt = 1; nt <= 4; nt++) {
        segloss_set_num_threads(nt);
        int got = segloss_get_num_threads();
        CHECK_MSG(got == nt || got == 1, "get_num_threads %d after set %d", got, nt);
        double l[2], lb;
        CHECK_EQ_INT(segloss_bce_logits_forward(&lb, NULL, x, &t, &s, &bo), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_bce_logits_backward(g, x, &t, &s, &bo, NULL), SEGLOSS_OK);
        if (nt == 1) {
            lb1 = lb;
            memcpy(g1[0], g, N * sizeof *g);
        } else {
            CHECK_MSG(memcmp(&lb, &lb1, sizeof lb) == 0,
                      "bce_logits loss, %d threads: %.17g vs %.17g", nt, lb, lb1);
            CHECK_MSG(memcmp(g, g1[0], N * sizeof *g) == 0, "bce_logits grad, %d threads", nt);
        }
        dopt.reduction = SEGLOSS_REDUCTION_MEAN;
        CHECK_EQ_INT(segloss_dice_forward(&l[0], NULL, x, &t, &s, &dopt), SEGLOSS_OK);
        dopt.reduction = SEGLOSS_REDUCTION_NONE;
        CHECK_EQ_INT(segloss_dice_forward(&l[1], e, x, &t, &s, &dopt), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_dice_backward(g, x, &t, &s, &dopt, dgo), SEGLOSS_OK);
        if (nt == 1) {
            memcpy(l1, l, sizeof l);
            memcpy(e1, e, 4 * sizeof *e);
            memcpy(g1[1], g, N * sizeof *g);
        } else {
            CHECK_MSG(memcmp(l, l1, sizeof l) == 0, "dice loss, %d threads: %.17g vs %.17g", nt,
                      l[0], l1[0]);
            CHECK_MSG(memcmp(e, e1, 4 * sizeof *e) == 0, "dice loss array, %d threads", nt);
            CHECK_MSG(memcmp(g, g1[1], N * sizeof *g) == 0, "dice grad, %d threads", nt);
        }
    }
    segloss_set_num_threads(0); /* back to the default: all cores */
out:
    free(x);
    free(y);
    free(g);
    free(g1[0]);
    free(g1[1]);
    free(e);
    free(e1);
}

/* The linked library's version equals the header's, and the number is
 * major*10000 + minor*100 + patch of the "major.minor.patch" string. */
TEST(core_version) {
    CHECK_EQ_INT(SEGLOSS_VERSION_NUMBER, SEGLOSS_VERSION_MAJOR * 10000 + SEGLOSS_VERSION_MINOR * 100 +
                                             SEGLOSS_VERSION_PATCH);
    CHECK_EQ_INT((long long)segloss_version_number(), SEGLOSS_VERSION_NUMBER);
    const char *v = segloss_version_string();
    CHECK(v != NULL && strcmp(v, SEGLOSS_VERSION_STRING) == 0);
    int major = -1, minor = -1, patch = -1, end = 0;
    CHECK(v != NULL && sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &end) == 3 &&
          v[end] == '\0');
    CHECK_EQ_INT(major, SEGLOSS_VERSION_MAJOR);
    CHECK_EQ_INT(minor, SEGLOSS_VERSION_MINOR);
    CHECK_EQ_INT(patch, SEGLOSS_VERSION_PATCH);
    CHECK(SEGLOSS_VERSION_MINOR < 100 && SEGLOSS_VERSION_PATCH < 100);
}

/* ------------------------------------------------------------------------ */
/* segloss_target_check / segloss_input_check: the one target decoder        */
/* ------------------------------------------------------------------------ */
static const segloss_dtype all_dtypes[11] = {
    SEGLOSS_F32, SEGLOSS_F64, SEGLOSS_U8,  SEGLOSS_BOOL, SEGLOSS_I8, SEGLOSS_I16,
    SEGLOSS_I32, SEGLOSS_I64, SEGLOSS_U16, SEGLOSS_U32,  SEGLOSS_U64};

/* Stores v (exactly representable in dt) as element i. */
static void put_elem(void *a, segloss_dtype dt, int64_t i, double v) {
    switch (dt) {
    case SEGLOSS_F32: ((float *)a)[i] = (float)v; break;
    case SEGLOSS_F64: ((double *)a)[i] = v; break;
    case SEGLOSS_U8: case SEGLOSS_BOOL: ((uint8_t *)a)[i] = (uint8_t)v; break;
    case SEGLOSS_I8: ((int8_t *)a)[i] = (int8_t)v; break;
    case SEGLOSS_I16: ((int16_t *)a)[i] = (int16_t)v; break;
    case SEGLOSS_I32: ((int32_t *)a)[i] = (int32_t)v; break;
    case SEGLOSS_I64: ((int64_t *)a)[i] = (int64_t)v; break;
    case SEGLOSS_U16: ((uint16_t *)a)[i] = (uint16_t)v; break;
    case SEGLOSS_U32: ((uint32_t *)a)[i] = (uint32_t)v; break;
    case SEGLOSS_U64: ((uint64_t *)a)[i] = (uint64_t)v; break;
    }
}

static int is_float_dtype(segloss_dtype dt) { return dt == SEGLOSS_F32 || dt == SEGLOSS_F64; }

/* Four blocks and a bit of 0/1 values (class indices 0..2 for INDEX). */
#define TC_N (4 * 8192 + 77)

TEST(core_target_check_first_index) {
    for (int k = 0; k < 11; k++) {
        segloss_dtype dt = all_dtypes[k];
        void *a = calloc(TC_N, 8);
        for (int64_t i = 0; i < TC_N; i++) put_elem(a, dt, i, (double)(i % 2));
        segloss_target t = {a, dt};
        segloss_check_report r;
        CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_DENSE, 0,
                                          SEGLOSS_IGNORE_NONE), SEGLOSS_OK);
        CHECK(r.index == -1 && r.ignored == 0);
        if (dt == SEGLOSS_BOOL) {
            /* any nonzero byte is 1: never bad */
            put_elem(a, dt, 9000, 7);
            CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_DENSE, 0,
                                              SEGLOSS_IGNORE_NONE), SEGLOSS_OK);
            free(a);
            continue;
        }
        /* bad values in blocks 3 and 1: the lowest index wins, any thread count */
        put_elem(a, dt, 3 * 8192 + 5, 2);
        put_elem(a, dt, 8192 + 11, is_float_dtype(dt) ? 0.5 : 0); /* soft: fine for floats */
        put_elem(a, dt, 8192 + 13, 2);
        for (int th = 1; th <= 4; th++) {
            segloss_set_num_threads(th);
            CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_DENSE, 0,
                                              SEGLOSS_IGNORE_NONE), SEGLOSS_ERR_TARGET);
            CHECK_MSG(r.index == 8192 + 13 && r.value == 2.0 && r.count == 2,
                      "%s th %d: index %lld value %g count %lld", segloss_dtype_name(dt), th,
                      (long long)r.index, r.value, (long long)r.count);
        }
        segloss_set_num_threads(0);
        /* the losses apply the same rule */
        float *x = calloc(TC_N, sizeof *x);
        segloss_shape s = {1, {TC_N}};
        double loss;
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, x, &t, &s, NULL), SEGLOSS_ERR_TARGET);
        CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, x, &t, &s, NULL), SEGLOSS_ERR_TARGET);
        /* ... and ignore it where it is the ignore value */
        segloss_dice_opts dopt = segloss_dice_opts_default();
        dopt.ignore_index = 2;
        CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, x, &t, &s, &dopt), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_DENSE, 0, 2), SEGLOSS_OK);
        CHECK(r.index == -1 && r.ignored == 2);
        free(x);
        free(a);
    }
}

TEST(core_target_check_index_rule) {
    for (int k = 0; k < 11; k++) {
        segloss_dtype dt = all_dtypes[k];
        void *a = calloc(TC_N, 8);
        int64_t C = dt == SEGLOSS_BOOL ? 2 : 3;
        for (int64_t i = 0; i < TC_N; i++) put_elem(a, dt, i, (double)(i % C));
        segloss_target t = {a, dt};
        segloss_check_report r;
        segloss_status st = segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_INDEX, C,
                                                 SEGLOSS_IGNORE_NONE);
        if (is_float_dtype(dt)) {
            CHECK_EQ_INT(st, SEGLOSS_ERR_DTYPE);
            free(a);
            continue;
        }
        CHECK_EQ_INT(st, SEGLOSS_OK);
        /* bool with C = 1: the class 1 is out of range */
        if (dt == SEGLOSS_BOOL) {
            CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_INDEX, 1,
                                              SEGLOSS_IGNORE_NONE), SEGLOSS_ERR_TARGET);
            CHECK(r.index == 1 && r.value == 1.0);
            free(a);
            continue;
        }
        put_elem(a, dt, 2 * 8192 + 1, 3);
        put_elem(a, dt, 4 * 8192 + 2, 100);
        for (int th = 1; th <= 4; th++) {
            segloss_set_num_threads(th);
            CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_INDEX, 3,
                                              SEGLOSS_IGNORE_NONE), SEGLOSS_ERR_TARGET);
            CHECK(r.index == 2 * 8192 + 1 && r.value == 3.0);
        }
        segloss_set_num_threads(0);
        /* 3 ignored: the next bad one is 100 */
        CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_INDEX, 3, 3),
                     SEGLOSS_ERR_TARGET);
        CHECK(r.index == 4 * 8192 + 2 && r.value == 100.0);
        CHECK_EQ_INT(segloss_target_check(&r, &t, TC_N, SEGLOSS_TARGET_INDEX, 101, 3),
                     SEGLOSS_OK);
        CHECK(r.ignored == 1);
        free(a);
    }
}

TEST(core_target_check_ignore_rule) {
    segloss_check_report r;
    /* float targets compare their value: 255.0 == 255; NaN is never ignored */
    float f[4] = {0, 255.0f, 1, NAN};
    segloss_target tf32 = {f, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_target_check(&r, &tf32, 4, SEGLOSS_TARGET_DENSE, 0, 255),
                 SEGLOSS_ERR_TARGET);
    CHECK(r.index == 3 && isnan(r.value));
    CHECK_EQ_INT(segloss_target_check(&r, &tf32, 3, SEGLOSS_TARGET_DENSE, 0, 255), SEGLOSS_OK);
    CHECK(r.ignored == 1);
    /* bool: compared as 0/1 */
    uint8_t b[4] = {0, 9, 1, 0};
    segloss_target tb = {b, SEGLOSS_BOOL};
    CHECK_EQ_INT(segloss_target_check(&r, &tb, 4, SEGLOSS_TARGET_DENSE, 0, 1), SEGLOSS_OK);
    CHECK(r.ignored == 2);
    CHECK_EQ_INT(segloss_target_check(&r, &tb, 4, SEGLOSS_TARGET_INDEX, 2, 9), SEGLOSS_OK);
    CHECK(r.ignored == 0);
    /* uint64 above INT64_MAX never equals, though (double)2^63 == (double)INT64_MAX */
    uint64_t u[2] = {1, (uint64_t)1 << 63};
    segloss_target tu = {u, SEGLOSS_U64};
    CHECK_EQ_INT(segloss_target_check(&r, &tu, 2, SEGLOSS_TARGET_DENSE, 0, INT64_MAX),
                 SEGLOSS_ERR_TARGET);
    CHECK(r.index == 1 && r.value == 9223372036854775808.0);
    /* negative ignore values on signed targets */
    int16_t s16[3] = {-1, 1, 0};
    segloss_target ts = {s16, SEGLOSS_I16};
    CHECK_EQ_INT(segloss_target_check(&r, &ts, 3, SEGLOSS_TARGET_INDEX, 2, -1), SEGLOSS_OK);
    CHECK(r.ignored == 1);
    CHECK_EQ_INT(segloss_target_check(&r, &ts, 3, SEGLOSS_TARGET_INDEX, 2, SEGLOSS_IGNORE_NONE),
                 SEGLOSS_ERR_TARGET);
    CHECK(r.index == 0 && r.value == -1.0);
    /* arguments */
    CHECK_EQ_INT(segloss_target_check(NULL, &ts, 3, SEGLOSS_TARGET_DENSE, 0, 0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_target_check(&r, NULL, 3, SEGLOSS_TARGET_DENSE, 0, 0), SEGLOSS_ERR_NULL);
    segloss_target tn = {NULL, SEGLOSS_U8};
    CHECK_EQ_INT(segloss_target_check(&r, &tn, 3, SEGLOSS_TARGET_DENSE, 0, 0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_target_check(&r, &tn, 0, SEGLOSS_TARGET_DENSE, 0, 0), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_target_check(&r, &ts, 3, SEGLOSS_TARGET_AUTO, 2, 0), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_target_check(&r, &ts, 3, SEGLOSS_TARGET_INDEX, 0, 0), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_target_check(&r, &ts, -1, SEGLOSS_TARGET_DENSE, 0, 0), SEGLOSS_ERR_ARG);
    segloss_target tbad = {s16, (segloss_dtype)42};
    CHECK_EQ_INT(segloss_target_check(&r, &tbad, 3, SEGLOSS_TARGET_DENSE, 0, 0),
                 SEGLOSS_ERR_DTYPE);
}

TEST(core_input_check) {
    float *x = calloc(TC_N, sizeof *x);
    segloss_check_report r;
    for (int64_t i = 0; i < TC_N; i++) x[i] = (float)(i % 10) / 10.0f;
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_PROB), SEGLOSS_OK);
    CHECK(r.index == -1 && r.ignored == 0);
    x[3 * 8192 + 1] = INFINITY;
    x[8192 + 2] = 1.5f;
    for (int th = 1; th <= 4; th++) {
        segloss_set_num_threads(th);
        CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_PROB), SEGLOSS_ERR_DOMAIN);
        CHECK(r.index == 8192 + 2 && r.value == 1.5 && r.count == 2);
        CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_FINITE),
                     SEGLOSS_ERR_NONFINITE);
        CHECK(r.index == 3 * 8192 + 1 && isinf(r.value) && r.count == 1);
    }
    segloss_set_num_threads(0);
    x[5] = NAN;
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_FINITE), SEGLOSS_ERR_NONFINITE);
    CHECK(r.index == 5 && isnan(r.value) && r.count == 2);
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_PROB), SEGLOSS_ERR_DOMAIN);
    CHECK(r.index == 5 && isnan(r.value) && r.count == 3);
    /* every element of a block bad, and the last element alone */
    for (int64_t i = 0; i < 8192; i++) x[i] = NAN;
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_FINITE), SEGLOSS_ERR_NONFINITE);
    CHECK(r.index == 0 && r.count == 8192 + 1);
    for (int64_t i = 0; i < TC_N; i++) x[i] = 0.5f;
    x[TC_N - 1] = -INFINITY;
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, SEGLOSS_INPUT_FINITE), SEGLOSS_ERR_NONFINITE);
    CHECK(r.index == TC_N - 1 && r.count == 1);
    CHECK_EQ_INT(segloss_input_check(&r, x, TC_N, (segloss_input_rule)7), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_input_check(&r, NULL, 1, SEGLOSS_INPUT_PROB), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_input_check(NULL, x, 1, SEGLOSS_INPUT_PROB), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_input_check(&r, x, -1, SEGLOSS_INPUT_PROB), SEGLOSS_ERR_ARG);
    free(x);
}

/* ignore_index is an int64 in every loss: SEGLOSS_IGNORE_NONE ignores
 * nothing (a 255 in a 0/1 target is then bad), a value ignores its
 * elements; the int64 extremes are values like any other. */
TEST(core_ignore_index_none_vs_value) {
    segloss_shape s = shape2x3();
    const uint8_t y[6] = {0, 1, 255, 1, 0, 1};
    segloss_target t = {y, SEGLOSS_U8};
    double loss;
    const int64_t ign[4] = {SEGLOSS_IGNORE_NONE, 255, INT64_MAX, INT64_MIN + 1};
    for (int k = 0; k < 4; k++) {
        segloss_status want = ign[k] == 255 ? SEGLOSS_OK : SEGLOSS_ERR_TARGET;
        segloss_bce_opts bo = segloss_bce_opts_default();
        bo.ignore_index = ign[k];
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, ux, &t, &s, &bo), want);
        CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, up, &t, &s, &bo), want);
        segloss_focal_opts fo = segloss_focal_opts_default();
        fo.ignore_index = ign[k];
        CHECK_EQ_INT(segloss_focal_forward(&loss, NULL, ux, &t, &s, &fo), want);
        segloss_lovasz_opts lo = segloss_lovasz_opts_default();
        lo.ignore_index = ign[k];
        CHECK_EQ_INT(segloss_lovasz_hinge_forward(&loss, NULL, ux, &t, &s, &lo), want);
        segloss_dice_opts d = segloss_dice_opts_default();
        d.ignore_index = ign[k];
        CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, ux, &t, &s, &d), want);
        CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, ux, &t, &s, &d), want);
    }
    /* ce (input (2, 3): targets of shape (2,)): the default ignores -100;
     * with SEGLOSS_IGNORE_NONE it is a bad class */
    const int64_t cls[2] = {1, -100};
    segloss_target tc = {cls, SEGLOSS_I64};
    segloss_shape sc = {2, {2, 3}};
    segloss_ce_opts co = segloss_ce_opts_default();
    CHECK_EQ_INT(segloss_ce_forward(&loss, NULL, ux, &tc, &sc, &co), SEGLOSS_OK);
    co.ignore_index = SEGLOSS_IGNORE_NONE;
    CHECK_EQ_INT(segloss_ce_forward(&loss, NULL, ux, &tc, &sc, &co), SEGLOSS_ERR_TARGET);
}
