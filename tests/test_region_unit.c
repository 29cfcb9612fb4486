/* Region losses: argument errors, edge cases (empty targets, ignored
 * images, absent classes, NaN at ignored positions), item shapes, target
 * dtypes, the dice + bce parts, and bit-identical results for any thread
 * count. Values are checked against closed forms of the parity targets. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A (2, 3, 4) input: N = 2, C = 3, 4 pixels. */
static const float X24[24] = {0.3f,  -1.2f, 2.0f,  0.5f,  -0.7f, 1.1f,  -2.2f, 0.9f,
                              1.4f,  0.2f,  -0.4f, -1.6f, 0.8f,  -0.1f, 1.7f,  -0.9f,
                              -1.3f, 0.6f,  0.05f, 2.4f,  -0.6f, 1.2f,  -1.8f, 0.4f};
static const int64_t IDX8[8] = {0, 1, 2, 1, 2, 0, 0, 1}; /* (2, 4) class indices */

static segloss_shape shape3(int64_t n, int64_t c, int64_t s) {
    segloss_shape sh = {3, {n, c, s}};
    return sh;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */
TEST(region_null_and_shape_errors) {
    segloss_shape s = shape3(2, 3, 4);
    float y[24] = {0};
    segloss_target t = {y, SEGLOSS_F32}, tnull = {NULL, SEGLOSS_F32};
    double loss;
    float g[24];
    segloss_tversky_opts tv = segloss_tversky_opts_default();
    segloss_generalized_dice_opts gd = segloss_generalized_dice_opts_default();
    segloss_dice_bce_opts db = segloss_dice_bce_opts_default();
    segloss_shape out;

    CHECK_EQ_INT(segloss_jaccard_forward(NULL, NULL, X24, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, NULL, &t, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &tnull, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_jaccard_backward(NULL, X24, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_jaccard_backward(g, X24, NULL, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_tversky_forward(NULL, NULL, X24, &t, &s, &tv), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, NULL, &tv), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_tversky_backward(NULL, X24, &t, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_generalized_dice_forward(NULL, NULL, X24, &t, &s, &gd),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_generalized_dice_backward(g, NULL, &t, &s, NULL, NULL),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_bce_forward(NULL, NULL, X24, &t, &s, &db), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_bce_backward(g, X24, &tnull, &s, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_items_shape(NULL, &s, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_items_shape(&out, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(NULL, &s, NULL), SEGLOSS_ERR_NULL);

    /* rank 0 and 6, empty */
    segloss_shape r0 = {0, {0}}, r6 = {6, {1, 1, 1, 1, 2, 3}}, z = {3, {2, 0, 4}};
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &t, &r0, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, &r6, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, NULL, X24, &t, &z, NULL),
                 SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &z, NULL), SEGLOSS_ERR_EMPTY);

    /* softmax and class indices need (N, C >= 2, ...) */
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    segloss_target ti = {IDX8, SEGLOSS_I64};
    segloss_shape c1 = shape3(2, 1, 4), img = {2, {4, 6}};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &ti, &c1, &o), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &ti, &img, &o), SEGLOSS_ERR_SHAPE);
    o.activation = SEGLOSS_ACTIVATION_SIGMOID;
    o.target_kind = SEGLOSS_TARGET_INDEX;
    CHECK_EQ_INT(segloss_jaccard_backward(g, X24, &ti, &c1, &o, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &ti, &s, &o), SEGLOSS_OK);
}

TEST(region_option_errors) {
    segloss_shape s = shape3(2, 3, 4);
    float y[24] = {0};
    segloss_target t = {y, SEGLOSS_F32};
    double loss;
    float g[24];
    segloss_dice_opts o;

    o = segloss_dice_opts_default();
    o.smp = 1;
    o.squared = 1;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.squared = 0;
    o.jaccard = 1;
    CHECK_EQ_INT(segloss_dice_backward(g, X24, &t, &s, &o, NULL), SEGLOSS_ERR_ARG);
    o = segloss_dice_opts_default();
    o.squared = 1; /* dice-only */
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_ERR_ARG);
    o = segloss_dice_opts_default();
    o.jaccard = 1;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_ERR_ARG);
    o = segloss_dice_opts_default();
    o.target_kind = 7;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_ERR_ARG);
    o = segloss_dice_opts_default();
    o.activation = (segloss_activation)3;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_ERR_ARG);

    segloss_tversky_opts tv;
    tv = segloss_tversky_opts_default();
    tv.region.smp = 1;
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, &s, &tv), SEGLOSS_ERR_ARG);
    tv = segloss_tversky_opts_default();
    tv.region.log_loss = 1;
    CHECK_EQ_INT(segloss_tversky_backward(g, X24, &t, &s, &tv, NULL), SEGLOSS_ERR_ARG);
    tv = segloss_tversky_opts_default();
    tv.gamma = 0.0; /* must be > 0 */
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, &s, &tv), SEGLOSS_ERR_ARG);
    tv.gamma = 2.0;
    tv.alpha = INFINITY;
    CHECK_EQ_INT(segloss_tversky_backward(g, X24, &t, &s, &tv, NULL), SEGLOSS_ERR_ARG);
    tv.alpha = 0.0; /* alpha = 0 is fine: false positives cost nothing */
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, &s, &tv), SEGLOSS_OK);

    segloss_generalized_dice_opts gd;
    gd = segloss_generalized_dice_opts_default();
    gd.w_type = (segloss_gdice_weight)3;
    CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, NULL, X24, &t, &s, &gd),
                 SEGLOSS_ERR_ARG);
    segloss_shape out;
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(&out, &s, &gd), SEGLOSS_ERR_ARG);
    gd = segloss_generalized_dice_opts_default();
    gd.region.squared = 1;
    CHECK_EQ_INT(segloss_generalized_dice_backward(g, X24, &t, &s, &gd, NULL), SEGLOSS_ERR_ARG);

    segloss_dice_bce_opts db;
    db = segloss_dice_bce_opts_default();
    db.dice.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_ERR_ARG);
    db = segloss_dice_bce_opts_default();
    db.dice.activation = SEGLOSS_ACTIVATION_NONE;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_ERR_ARG);
    db.dice.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    CHECK_EQ_INT(segloss_dice_bce_backward(g, X24, &t, &s, &db, NULL), SEGLOSS_ERR_ARG);
    db = segloss_dice_bce_opts_default();
    db.dice.target_kind = SEGLOSS_TARGET_INDEX;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_ERR_ARG);
    db = segloss_dice_bce_opts_default();
    db.lambda_dice = -1.0;
    db.lambda_bce = 1.0;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_ERR_ARG);
    db.lambda_dice = 1.0;
    db.lambda_bce = NAN;
    CHECK_EQ_INT(segloss_dice_bce_backward(g, X24, &t, &s, &db, NULL), SEGLOSS_ERR_ARG);
    db = segloss_dice_bce_opts_default();
    const float pw[2] = {1.0f, 2.0f};
    db.pos_weight.data = pw; /* (2,) against the last axis 4 */
    db.pos_weight.shape.ndim = 1;
    db.pos_weight.shape.dim[0] = 2;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_ERR_SHAPE);
}

TEST(region_target_errors) {
    segloss_shape s = shape3(2, 3, 4);
    double loss;
    float g[24];
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;

    /* class indices: integer dtypes only, values in [0, C) */
    const float fidx[8] = {0, 1, 2, 1, 2, 0, 0, 1};
    segloss_target tf = {fidx, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &tf, &s, &o), SEGLOSS_ERR_DTYPE);
    int64_t bad[8];
    memcpy(bad, IDX8, sizeof bad);
    bad[5] = 3;
    segloss_target tb = {bad, SEGLOSS_I64};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &tb, &s, &o), SEGLOSS_ERR_TARGET);
    CHECK_EQ_INT(segloss_jaccard_backward(g, X24, &tb, &s, &o, NULL), SEGLOSS_ERR_TARGET);
    bad[5] = -1;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &tb, &s, &o), SEGLOSS_ERR_TARGET);
    /* ... unless it is the ignore value */
    o.ignore_index = -1;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &tb, &s, &o), SEGLOSS_OK);
    const uint64_t ubig[8] = {0, 1, 2, 1, (uint64_t)1 << 63, 0, 0, 1};
    segloss_target tu = {ubig, SEGLOSS_U64};
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &tu, &s, &o), SEGLOSS_ERR_TARGET);

    /* dense: 255 is an error unless ignored; 2 stays an error */
    uint8_t m[24] = {0};
    m[3] = 1;
    m[7] = 255;
    segloss_target t8 = {m, SEGLOSS_U8};
    o = segloss_dice_opts_default();
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &t8, &s, &o), SEGLOSS_ERR_TARGET);
    o.ignore_index = 255;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &t8, &s, &o), SEGLOSS_OK);
    m[9] = 2;
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t8, &s, NULL), SEGLOSS_ERR_TARGET);
    float yf[24] = {0};
    yf[2] = 255.0f;
    segloss_target tf32 = {yf, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &tf32, &s, &o), SEGLOSS_OK);
    yf[4] = 1.5f;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &tf32, &s, &o), SEGLOSS_ERR_TARGET);
    /* activation none: probabilities */
    o = segloss_dice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_NONE;
    yf[4] = 0.0f;
    yf[2] = 0.0f;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &tf32, &s, &o), SEGLOSS_ERR_DOMAIN);
    /* ... but only where the target is not ignored: p leaves [0,1] (7.5,
     * NaN) exactly where the target is 255 */
    float p[24];
    for (int i = 0; i < 24; i++) {
        p[i] = (float)i / 23.0f;
        yf[i] = (i % 5 == 0) ? 255.0f : (i % 2 ? 1.0f : 0.0f);
        if (i % 5 == 0) p[i] = (i % 2) ? NAN : 7.5f;
    }
    o.ignore_index = 255;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, p, &tf32, &s, &o), SEGLOSS_OK);
    CHECK(isfinite(loss));
    CHECK_EQ_INT(segloss_jaccard_backward(g, p, &tf32, &s, &o, NULL), SEGLOSS_OK);
    for (int i = 0; i < 24; i += 5) CHECK(g[i] == 0.0f);
    o.ignore_index = 254;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, p, &tf32, &s, &o), SEGLOSS_ERR_TARGET);
}

/* ------------------------------------------------------------------------ */
/* Edge cases                                                                */
/* ------------------------------------------------------------------------ */
static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

static int all_zero(const float *g, int n) {
    for (int i = 0; i < n; i++)
        if (g[i] != 0.0f) return 0;
    return 1;
}

TEST(region_empty_targets) {
    segloss_shape s = shape3(2, 3, 4);
    const float y[24] = {0};
    segloss_target t = {y, SEGLOSS_F32};
    double loss;
    float g[24], e[6];
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.reduction = SEGLOSS_REDUCTION_NONE;
    /* MONAI: f = 1 - s_nr / (sum p + s_dr) per item */
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, X24, &t, &s, &o), SEGLOSS_OK);
    for (int k = 0; k < 6; k++) {
        double P = 0;
        for (int i = 0; i < 4; i++) P += sigm(X24[k * 4 + i]);
        CHECK_CLOSE(e[k], 1.0 - 1e-5 / (P + 1e-5), 0, 1e-7);
    }
    /* jaccard: the same closed form */
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, e, X24, &t, &s, &o), SEGLOSS_OK);
    CHECK_CLOSE(e[0], 1.0 - 1e-5 / (sigm(0.3) + sigm(-1.2) + sigm(2.0) + sigm(0.5) + 1e-5), 0,
                1e-7);
    /* smp: every channel is masked out: loss 0, gradient 0 */
    o.smp = 1;
    o.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_dice_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_OK);
    CHECK(loss == 0.0);
    CHECK_EQ_INT(segloss_dice_backward(g, X24, &t, &s, &o, NULL), SEGLOSS_OK);
    CHECK(all_zero(g, 24));
    o.log_loss = 1;
    CHECK_EQ_INT(segloss_jaccard_forward(&loss, NULL, X24, &t, &s, &o), SEGLOSS_OK);
    CHECK(loss == 0.0);
    /* generalized dice: every weight infinite -> all 0 -> 1 - s_nr/s_dr = 0 */
    segloss_generalized_dice_opts gd;
    gd = segloss_generalized_dice_opts_default();
    CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, NULL, X24, &t, &s, &gd), SEGLOSS_OK);
    CHECK(loss == 0.0);
    CHECK_EQ_INT(segloss_generalized_dice_backward(g, X24, &t, &s, &gd, NULL), SEGLOSS_OK);
    CHECK(all_zero(g, 24));
    gd.region.smooth_nr = 0.0;
    gd.region.smooth_dr = 0.5;
    CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, NULL, X24, &t, &s, &gd), SEGLOSS_OK);
    CHECK(loss == 1.0);
    /* tversky: TI = s_nr / (alpha P + s_dr) */
    segloss_tversky_opts tv;
    tv = segloss_tversky_opts_default();
    CHECK_EQ_INT(segloss_tversky_forward(&loss, NULL, X24, &t, &s, &tv), SEGLOSS_OK);
    CHECK(loss > 0.99999 && loss < 1.0);
}

/* Ignored elements: an image entirely ignored gives zero sums, so its items
 * are 1 - s_nr/s_dr (0 with the defaults) with a zero gradient, for every
 * loss and target kind, as MONAI's masking gives. NaN logits there change
 * nothing (a deliberate choice: MONAI would propagate NaN * 0). */
TEST(region_ignored_image) {
    segloss_shape s = shape3(2, 3, 4);
    float x[24];
    memcpy(x, X24, sizeof x);
    for (int i = 12; i < 24; i++) x[i] = (i % 3) ? NAN : x[i]; /* image 1 */
    float y[24] = {0};
    for (int i = 0; i < 12; i++) y[i] = (i % 4 == 1) ? 1.0f : 0.0f;
    for (int i = 12; i < 24; i++) y[i] = 255.0f;
    int64_t idx[8] = {0, 1, 2, 1, 255, 255, 255, 255};
    segloss_target td = {y, SEGLOSS_F32}, ti = {idx, SEGLOSS_I64};
    double loss;
    float g[24], e[6];
    for (int kind = 0; kind < 2; kind++) {
        segloss_dice_opts o;
        o = segloss_dice_opts_default();
        o.activation = kind ? SEGLOSS_ACTIVATION_SOFTMAX : SEGLOSS_ACTIVATION_SIGMOID;
        o.ignore_index = 255;
        o.reduction = SEGLOSS_REDUCTION_NONE;
        const segloss_target *t = kind ? &ti : &td;
        CHECK_EQ_INT(segloss_dice_forward(&loss, e, x, t, &s, &o), SEGLOSS_OK);
        CHECK(isfinite(loss));
        CHECK(e[3] == 0.0f && e[4] == 0.0f && e[5] == 0.0f);
        CHECK_EQ_INT(segloss_dice_backward(g, x, t, &s, &o, NULL), SEGLOSS_OK);
        CHECK(all_zero(g + 12, 12));
        for (int i = 0; i < 12; i++) CHECK(isfinite(g[i]) && g[i] != 0.0f);
        CHECK_EQ_INT(segloss_jaccard_forward(&loss, e, x, t, &s, &o), SEGLOSS_OK);
        CHECK(e[3] == 0.0f && e[4] == 0.0f && e[5] == 0.0f);
        segloss_tversky_opts tv;
        tv = segloss_tversky_opts_default();
        tv.region = o;
        CHECK_EQ_INT(segloss_tversky_forward(&loss, e, x, t, &s, &tv), SEGLOSS_OK);
        CHECK(e[3] == 0.0f && e[4] == 0.0f && e[5] == 0.0f);
        CHECK_EQ_INT(segloss_tversky_backward(g, x, t, &s, &tv, NULL), SEGLOSS_OK);
        CHECK(all_zero(g + 12, 12));
        segloss_generalized_dice_opts gd;
        gd = segloss_generalized_dice_opts_default();
        gd.region = o;
        CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, e, x, t, &s, &gd), SEGLOSS_OK);
        CHECK(e[1] == 0.0f && isfinite(e[0]));
        CHECK_EQ_INT(segloss_generalized_dice_backward(g, x, t, &s, &gd, NULL), SEGLOSS_OK);
        CHECK(all_zero(g + 12, 12));
        /* custom smoothing: 1 - s_nr/s_dr */
        o.smooth_nr = 0.25;
        o.smooth_dr = 1.0;
        CHECK_EQ_INT(segloss_dice_forward(&loss, e, x, t, &s, &o), SEGLOSS_OK);
        CHECK(e[5] == 0.75f);
    }
    /* everything ignored: dice + bce is 0 with no NaN (BCE mean over zero
     * elements is defined as 0 here) */
    for (int i = 0; i < 24; i++) y[i] = 255.0f;
    segloss_dice_bce_opts db;
    db = segloss_dice_bce_opts_default();
    db.dice.ignore_index = 255;
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &td, &s, &db), SEGLOSS_OK);
    CHECK(loss == 0.0);
    db.lambda_dice = 0.0; /* the BCE part alone: 0 too */
    CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &td, &s, &db), SEGLOSS_OK);
    CHECK(loss == 0.0);
    db.lambda_dice = 1.0;
    CHECK_EQ_INT(segloss_dice_bce_backward(g, X24, &td, &s, &db, NULL), SEGLOSS_OK);
    CHECK(all_zero(g, 24));
}

/* smp: a class absent from the whole batch contributes 0 but counts in the
 * mean (smp's loss.mean() over all classes). */
TEST(region_smp_absent_class) {
    segloss_shape s = shape3(2, 3, 4);
    const int64_t idx[8] = {0, 1, 0, 1, 1, 0, 0, 1}; /* class 2 absent */
    segloss_target t = {idx, SEGLOSS_I64};
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    o.smp = 1;
    o.reduction = SEGLOSS_REDUCTION_NONE;
    double loss, mean;
    float e[3];
    CHECK_EQ_INT(segloss_dice_forward(&loss, e, X24, &t, &s, &o), SEGLOSS_OK);
    CHECK(e[2] == 0.0f && e[0] > 0.0f && e[1] > 0.0f);
    o.reduction = SEGLOSS_REDUCTION_MEAN;
    CHECK_EQ_INT(segloss_dice_forward(&mean, NULL, X24, &t, &s, &o), SEGLOSS_OK);
    CHECK_CLOSE(mean, loss / 3.0, 0, 1e-15);
    /* items: C with smp, whatever batch says; C-1 with no_background */
    segloss_shape out;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &s, &o), SEGLOSS_OK);
    CHECK(out.ndim == 1 && out.dim[0] == 3);
    o.no_background = 1;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &s, &o), SEGLOSS_OK);
    CHECK(out.ndim == 1 && out.dim[0] == 2);
    int64_t items;
    CHECK_EQ_INT(ref_dice_items(&items, &s, &o), SEGLOSS_OK);
    CHECK_EQ_INT(items, 2);
}

/* Generalized Dice: an infinite weight takes the largest finite weight of
 * its image (MONAI); by hand for a (1, 3, 4) case with G = (2, 0, 1). */
TEST(region_gdice_infinite_weights) {
    segloss_shape s = shape3(1, 3, 4);
    const float p[12] = {0.9f, 0.8f, 0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.4f, 0.6f, 0.1f, 0.7f, 0.2f};
    const float y[12] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    segloss_target t = {y, SEGLOSS_F32};
    for (int wt = 0; wt < 3; wt++) {
        double G[3] = {2, 0, 1}, I[3] = {1.7, 0.0, 0.7}, P[3] = {2.0, 1.0, 1.6}, w[3];
        for (int c = 0; c < 3; c++)
            w[c] = wt == 2 ? 1.0 : (G[c] > 0 ? (wt == 0 ? 1.0 / (G[c] * G[c]) : 1.0 / G[c]) : 0);
        w[1] = wt == 2 ? 1.0 : fmax(w[0], w[2]); /* = 1 for square and simple */
        double num = 0, den = 0;
        for (int c = 0; c < 3; c++) {
            num += w[c] * I[c];
            den += w[c] * (P[c] + G[c]);
        }
        double want = 1.0 - (2 * num + 1e-5) / (den + 1e-5);
        segloss_generalized_dice_opts gd;
        gd = segloss_generalized_dice_opts_default();
        gd.region.activation = SEGLOSS_ACTIVATION_NONE;
        gd.w_type = (segloss_gdice_weight)wt;
        double loss;
        CHECK_EQ_INT(segloss_generalized_dice_forward(&loss, NULL, p, &t, &s, &gd), SEGLOSS_OK);
        CHECK_CLOSE(loss, want, 0, 1e-6);
    }
    segloss_generalized_dice_opts gd;
    gd = segloss_generalized_dice_opts_default();
    segloss_shape out, s2 = shape3(4, 3, 5);
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(&out, &s2, &gd), SEGLOSS_OK);
    CHECK(out.ndim == 1 && out.dim[0] == 4);
    gd.region.batch = 1;
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(&out, &s2, &gd), SEGLOSS_OK);
    CHECK(out.ndim == 1 && out.dim[0] == 1);
}

/* no_background with one channel changes nothing (MONAI ignores it);
 * with C > 1 the dropped channel's gradient is 0 for sigmoid. */
TEST(region_no_background) {
    segloss_shape s1 = shape3(2, 1, 12), s = shape3(2, 3, 4);
    float y[24];
    for (int i = 0; i < 24; i++) y[i] = (i % 5 < 2) ? 1.0f : 0.0f;
    segloss_target t = {y, SEGLOSS_F32};
    segloss_dice_opts a, b;
    a = segloss_dice_opts_default();
    b = segloss_dice_opts_default();
    b.no_background = 1;
    double la, lb;
    float ga[24], gb[24];
    CHECK_EQ_INT(segloss_dice_forward(&la, NULL, X24, &t, &s1, &a), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&lb, NULL, X24, &t, &s1, &b), SEGLOSS_OK);
    CHECK(la == lb);
    CHECK_EQ_INT(segloss_dice_backward(gb, X24, &t, &s, &b, NULL), SEGLOSS_OK);
    CHECK(all_zero(gb, 4) && all_zero(gb + 12, 4));
    CHECK_EQ_INT(segloss_dice_backward(ga, X24, &t, &s, &a, NULL), SEGLOSS_OK);
    CHECK(!all_zero(ga, 4));
    segloss_shape out;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &s, &b), SEGLOSS_OK);
    CHECK(out.ndim == 2 && out.dim[0] == 2 && out.dim[1] == 2);
    int64_t items;
    CHECK_EQ_INT(ref_dice_items(&items, &s, &b), SEGLOSS_OK);
    CHECK_EQ_INT(items, 4);
}

/* The same class indices in every integer dtype (and bool for two classes)
 * give bit-identical results; a one-hot DENSE target equals INDEX. */
TEST(region_index_dtypes_agree) {
    segloss_shape s = shape3(2, 3, 4);
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    o.reduction = SEGLOSS_REDUCTION_SUM;
    segloss_target t64 = {IDX8, SEGLOSS_I64};
    double ref, l;
    float gref[24], g[24];
    CHECK_EQ_INT(segloss_jaccard_forward(&ref, NULL, X24, &t64, &s, &o), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_jaccard_backward(gref, X24, &t64, &s, &o, NULL), SEGLOSS_OK);
    static const segloss_dtype dts[] = {SEGLOSS_U8,  SEGLOSS_I8,  SEGLOSS_I16, SEGLOSS_I32,
                                        SEGLOSS_U16, SEGLOSS_U32, SEGLOSS_U64};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        unsigned char buf[8 * 8];
        size_t es = segloss_dtype_size(dts[k]);
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < 8; i++) buf[i * es] = (unsigned char)IDX8[i]; /* little-endian */
        segloss_target t = {buf, dts[k]};
        CHECK_EQ_INT(segloss_jaccard_forward(&l, NULL, X24, &t, &s, &o), SEGLOSS_OK);
        CHECK_MSG(l == ref, "%s: %.17g vs %.17g", segloss_dtype_name(dts[k]), l, ref);
        CHECK_EQ_INT(segloss_jaccard_backward(g, X24, &t, &s, &o, NULL), SEGLOSS_OK);
        CHECK_MSG(memcmp(g, gref, sizeof g) == 0, "%s grad", segloss_dtype_name(dts[k]));
    }
    float onehot[24];
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 4; i++) onehot[(n * 3 + c) * 4 + i] = IDX8[n * 4 + i] == c;
    segloss_target td = {onehot, SEGLOSS_F32};
    o.target_kind = SEGLOSS_TARGET_DENSE;
    CHECK_EQ_INT(segloss_jaccard_forward(&l, NULL, X24, &td, &s, &o), SEGLOSS_OK);
    CHECK(l == ref);
    CHECK_EQ_INT(segloss_jaccard_backward(g, X24, &td, &s, &o, NULL), SEGLOSS_OK);
    CHECK(memcmp(g, gref, sizeof g) == 0);
}

/* dice + bce: its parts are segloss_dice and segloss_bce_logits (same
 * options, pos_weight per channel), combined with the lambdas. */
TEST(region_dice_bce_parts) {
    segloss_shape s = shape3(2, 3, 4);
    float y[24];
    for (int i = 0; i < 24; i++) y[i] = (float)((i * 7) % 10) / 9.0f; /* soft */
    segloss_target t = {y, SEGLOSS_F32};
    const float pw[3] = {0.5f, 2.0f, 3.0f};
    segloss_dice_bce_opts db;
    db = segloss_dice_bce_opts_default();
    db.dice.batch = 1;
    db.dice.squared = 1;
    db.pos_weight.data = pw;
    db.pos_weight.shape.ndim = 2;
    db.pos_weight.shape.dim[0] = 3;
    db.pos_weight.shape.dim[1] = 1;
    db.lambda_dice = 0.25;
    db.lambda_bce = 2.0;
    for (int r = 0; r < 2; r++) {
        db.dice.reduction = r ? SEGLOSS_REDUCTION_SUM : SEGLOSS_REDUCTION_MEAN;
        segloss_bce_opts bo;
        bo = segloss_bce_opts_default();
        bo.reduction = db.dice.reduction;
        bo.pos_weight = db.pos_weight;
        double loss, d, b;
        float g[24], gd[24], gb[24];
        CHECK_EQ_INT(segloss_dice_bce_forward(&loss, NULL, X24, &t, &s, &db), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_dice_forward(&d, NULL, X24, &t, &s, &db.dice), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_bce_logits_forward(&b, NULL, X24, &t, &s, &bo), SEGLOSS_OK);
        CHECK_CLOSE(loss, 0.25 * d + 2.0 * b, 0, 1e-14);
        const float go = 0.5f;
        CHECK_EQ_INT(segloss_dice_bce_backward(g, X24, &t, &s, &db, &go), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_dice_backward(gd, X24, &t, &s, &db.dice, &go), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_bce_logits_backward(gb, X24, &t, &s, &bo, &go), SEGLOSS_OK);
        for (int i = 0; i < 24; i++)
            CHECK_CLOSE(g[i], 0.25 * gd[i] + 2.0 * gb[i], 1e-8, 1e-6);
    }
}

/* Tversky with alpha = beta = 0.5, gamma = 1 is Dice without its factor
 * tweaks: TI = (I + s)/(I + (P - I)/2 + (G - I)/2 + s) = dice with s/2.
 * And the MEAN of any region loss is SUM / items. */
TEST(region_tversky_is_dice) {
    segloss_shape s = shape3(2, 3, 4);
    float y[24];
    for (int i = 0; i < 24; i++) y[i] = (i % 3 == 0) ? 1.0f : 0.0f;
    segloss_target t = {y, SEGLOSS_F32};
    segloss_tversky_opts tv;
    tv = segloss_tversky_opts_default();
    tv.region.smooth_nr = tv.region.smooth_dr = 0.5;
    segloss_dice_opts d;
    d = segloss_dice_opts_default();
    d.smooth_nr = d.smooth_dr = 1.0;
    double lt, ld;
    CHECK_EQ_INT(segloss_tversky_forward(&lt, NULL, X24, &t, &s, &tv), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&ld, NULL, X24, &t, &s, &d), SEGLOSS_OK);
    /* dice (sigmoid, dense) takes the two-pass engine, whose p = 1 - s for
     * x >= 0 may differ from the sigmoid kernel's in the last bit */
    CHECK_CLOSE(lt, ld, 0, 1e-8);
    tv.region.reduction = SEGLOSS_REDUCTION_SUM;
    double sum;
    CHECK_EQ_INT(segloss_tversky_forward(&sum, NULL, X24, &t, &s, &tv), SEGLOSS_OK);
    CHECK_CLOSE(sum / 6.0, lt, 0, 1e-15);
}

/* ------------------------------------------------------------------------ */
/* Determinism                                                               */
/* ------------------------------------------------------------------------ */
/* (2, 3, 120, 100): 12000 pixels, two blocks per image; softmax with an
 * ignore value, and sigmoid with batch. Same bits for 1..4 threads. */
TEST(region_thread_count_bit_identical) {
    enum { N = 2, C = 3, S = 12000, NUMEL = N * C * S };
    segloss_shape s = {4, {N, C, 120, 100}};
    float *x = malloc(NUMEL * sizeof *x), *y = malloc(NUMEL * sizeof *y);
    float *g = malloc(NUMEL * sizeof *g), *g1 = malloc(5 * 2 * (size_t)NUMEL * sizeof *g1);
    int64_t *idx = malloc(N * S * sizeof *idx);
    CHECK(x && y && g && g1 && idx);
    if (!(x && y && g && g1 && idx)) goto out;
    uint64_t st = 777;
    for (int i = 0; i < NUMEL; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(st >> 40) * 0x1p-24 * 10.0 - 5.0);
        y[i] = (st >> 21) % 4 == 0 ? 1.0f : ((st >> 23) % 9 == 0 ? 255.0f : 0.0f);
    }
    for (int i = 0; i < N * S; i++) idx[i] = (i * 7919 % 13) % 4 == 3 ? 255 : (i * 31 % 7) % 3;
    segloss_target td = {y, SEGLOSS_F32}, ti = {idx, SEGLOSS_I64};
    double l1[5][2];
    for (int nt = 1; nt <= 4; nt++) {
        segloss_set_num_threads(nt);
        for (int v = 0; v < 2; v++) {
            segloss_dice_opts o;
            o = segloss_dice_opts_default();
            o.ignore_index = 255;
            if (v) o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
            else o.batch = 1;
            const segloss_target *t = v ? &ti : &td;
            segloss_tversky_opts tv;
            segloss_generalized_dice_opts gd;
            segloss_dice_bce_opts db;
            tv = segloss_tversky_opts_default();
            gd = segloss_generalized_dice_opts_default();
            db = segloss_dice_bce_opts_default();
            tv.region = gd.region = db.dice = o;
            tv.alpha = 0.3;
            tv.beta = 0.7;
            tv.gamma = 1.3;
            for (int loss = 0; loss < 5; loss++) {
                double l = 0;
                segloss_status s1, s2;
                switch (loss) {
                case 0:
                    s1 = segloss_dice_forward(&l, NULL, x, t, &s, &o);
                    s2 = segloss_dice_backward(g, x, t, &s, &o, NULL);
                    break;
                case 1:
                    s1 = segloss_jaccard_forward(&l, NULL, x, t, &s, &o);
                    s2 = segloss_jaccard_backward(g, x, t, &s, &o, NULL);
                    break;
                case 2:
                    s1 = segloss_tversky_forward(&l, NULL, x, t, &s, &tv);
                    s2 = segloss_tversky_backward(g, x, t, &s, &tv, NULL);
                    break;
                case 3:
                    s1 = segloss_generalized_dice_forward(&l, NULL, x, t, &s, &gd);
                    s2 = segloss_generalized_dice_backward(g, x, t, &s, &gd, NULL);
                    break;
                default:
                    if (v) continue; /* dice + bce: sigmoid only */
                    s1 = segloss_dice_bce_forward(&l, NULL, x, t, &s, &db);
                    s2 = segloss_dice_bce_backward(g, x, t, &s, &db, NULL);
                    break;
                }
                CHECK_MSG(s1 == SEGLOSS_OK && s2 == SEGLOSS_OK, "loss %d v %d: %s %s", loss, v,
                          segloss_strerror(s1), segloss_strerror(s2));
                float *ref = g1 + ((size_t)loss * 2 + (size_t)v) * NUMEL;
                if (nt == 1) {
                    l1[loss][v] = l;
                    memcpy(ref, g, NUMEL * sizeof *g);
                    CHECK(isfinite(l));
                } else {
                    CHECK_MSG(memcmp(&l, &l1[loss][v], sizeof l) == 0,
                              "loss %d v %d, %d threads: %.17g vs %.17g", loss, v, nt, l,
                              l1[loss][v]);
                    CHECK_MSG(memcmp(g, ref, NUMEL * sizeof *g) == 0, "grad %d v %d, %d threads",
                              loss, v, nt);
                }
            }
        }
    }
    segloss_set_num_threads(0);
out:
    free(x);
    free(y);
    free(g);
    free(g1);
    free(idx);
}

/* Issue 9's reproducer: x = [[[[0, 1]]]], t = [[[[1, 0]]]] uint8; smp main
 * (>= 0.4) DiceLoss('binary', smooth=1) = 0.2909575833, smp 0.3.4 (and
 * segloss 0.1's smp mode) 0.381007822 (values printed by those smp
 * versions; tools/ref/gen_smp_ref.py). */
TEST(region_smp_versions_reproducer) {
    const float x[2] = {0.0f, 1.0f};
    const uint8_t y[2] = {1, 0};
    segloss_shape s = {4, {1, 1, 1, 2}};
    segloss_target t = {y, SEGLOSS_U8};
    segloss_dice_opts o = segloss_dice_opts_default();
    o.smp = SEGLOSS_SMP_CURRENT;
    o.smooth_nr = o.smooth_dr = 1.0;
    double l;
    float g[2];
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK_CLOSE(l, 0.2909575833, 1e-9, 1e-7);
    CHECK_EQ_INT(segloss_dice_forward_backward(&l, NULL, g, x, &t, &s, &o, NULL), SEGLOSS_OK);
    CHECK_CLOSE(l, 0.2909575833, 1e-9, 1e-7);
    o.smp = SEGLOSS_SMP_0_3;
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_OK);
    CHECK_CLOSE(l, 0.381007822, 1e-9, 1e-7);
    /* other values are not modes */
    o.smp = 3;
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_jaccard_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    o.smp = -1;
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &t, &s, &o), SEGLOSS_ERR_ARG);
    /* the same target as float32 takes the general sweep: same value */
    const float yf[2] = {1.0f, 0.0f};
    segloss_target tf = {yf, SEGLOSS_F32};
    o.smp = SEGLOSS_SMP_CURRENT;
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &tf, &s, &o), SEGLOSS_OK);
    CHECK_CLOSE(l, 0.2909575833, 1e-9, 1e-7);
    /* soft target: smp >= 0.4's intersection is sum min(p, y) */
    const float ys[2] = {0.25f, 0.5f};
    segloss_target ts = {ys, SEGLOSS_F32};
    o.smooth_nr = o.smooth_dr = 0.0; /* smp's default */
    CHECK_EQ_INT(segloss_dice_forward(&l, NULL, x, &ts, &s, &o), SEGLOSS_OK);
    double p1 = 1.0 / (1.0 + exp(-1.0));
    double I = 0.25 + 0.5, P = 0.5 + p1, G = 0.75;
    CHECK_CLOSE(l, 1.0 - I / (0.5 * (P + G)), 1e-9, 1e-7);
    /* dice + bce: smp >= 0.4 with a float target is DTYPE, with uint8 fine */
    segloss_dice_bce_opts db = segloss_dice_bce_opts_default();
    db.dice.smp = SEGLOSS_SMP_CURRENT;
    CHECK_EQ_INT(segloss_dice_bce_forward(&l, NULL, x, &ts, &s, &db), SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_dice_bce_forward(&l, NULL, x, &t, &s, &db), SEGLOSS_OK);
    db.dice.smp = SEGLOSS_SMP_0_3;
    CHECK_EQ_INT(segloss_dice_bce_forward(&l, NULL, x, &ts, &s, &db), SEGLOSS_OK);
}
