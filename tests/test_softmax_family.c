/* The fused paths of the softmax cross-entropy family against the separate
 * calls they replace:
 *  - dice-ce with the softmax activation (one softmax for both terms)
 *    against segloss_dice (region sweep) + segloss_ce on the same input,
 *    over ignore_index, no_background, squared, jaccard, batch, label
 *    smoothing, SUM, nnunet, lambdas, upstream;
 *  - segloss_topk_ce_forward_backward, segloss_dice_focal_forward_backward,
 *    segloss_generalized_dice_focal_forward_backward and
 *    segloss_generalized_dice_forward_backward against their forward and
 *    backward calls (the same values). */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SF_N 2
#define SF_C 4
#define SF_S 300 /* spatial 15 x 20 */

static double sf_uniform(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1p-53;
}

static void sf_data(float *x, int64_t *yi, float *yd, uint64_t seed, int with_ignore) {
    for (int i = 0; i < SF_N * SF_C * SF_S; i++) x[i] = (float)(8.0 * sf_uniform(&seed) - 4.0);
    for (int i = 0; i < SF_N * SF_S; i++) {
        yi[i] = (int64_t)(sf_uniform(&seed) * SF_C);
        if (with_ignore && sf_uniform(&seed) < 0.1) yi[i] = 255;
    }
    if (yd)
        for (int n = 0; n < SF_N; n++)
            for (int c = 0; c < SF_C; c++)
                for (int i = 0; i < SF_S; i++)
                    yd[(n * SF_C + c) * SF_S + i] = yi[n * SF_S + i] == c ? 1.0f : 0.0f;
}

static double sf_maxabs(const float *g, int n) {
    double m = 0.0;
    for (int i = 0; i < n; i++)
        if (fabs(g[i]) > m) m = fabs(g[i]);
    return m;
}

static void sf_dice_ce_case(const char *what, segloss_dice_ce_opts o, float up, uint64_t seed) {
    enum { M = SF_N * SF_C * SF_S };
    static float x[M], g[M], gd[M], gc[M];
    static int64_t yi[SF_N * SF_S];
    sf_data(x, yi, NULL, seed, o.dice.ignore_index == 255);
    segloss_shape sh = {4, {SF_N, SF_C, 15, 20}};
    segloss_target t = {yi, SEGLOSS_I64};
    double l = 0.0, ld = 0.0, lc = 0.0, lf = 0.0;
    CHECK_EQ_INT(segloss_dice_ce_forward_backward(&l, NULL, g, x, &t, &sh, &o, &up), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_ce_forward(&lf, NULL, x, &t, &sh, &o), SEGLOSS_OK);
    /* the reference: the two losses' own calls */
    segloss_dice_opts d = o.dice;
    d.target_kind = SEGLOSS_TARGET_INDEX;
    segloss_ce_opts ce = segloss_ce_opts_default();
    ce.reduction = d.reduction;
    ce.ignore_index = d.ignore_index;
    ce.label_smoothing = o.label_smoothing;
    float ud = (float)(o.lambda_dice * up), uc = (float)(o.lambda_ce * up);
    CHECK_EQ_INT(segloss_dice_forward(&ld, NULL, x, &t, &sh, &d), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_ce_forward(&lc, NULL, x, &t, &sh, &ce), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_backward(gd, x, &t, &sh, &d, &ud), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_ce_backward(gc, x, &t, &sh, &ce, &uc), SEGLOSS_OK);
    double ref = o.lambda_dice * (o.nnunet ? ld - 1.0 : ld) + o.lambda_ce * lc;
    CHECK_MSG(fabs(l - ref) <= 1e-12 * fabs(ref) && l == lf, "%s: loss %.17g vs %.17g (%.17g)",
              what, l, ref, lf);
    double err = 0.0;
    for (int i = 0; i < M; i++) {
        double dg = fabs(g[i] - ((double)gd[i] + gc[i]));
        if (dg > err) err = dg;
    }
    double mx = sf_maxabs(g, M);
    CHECK_MSG(mx > 0.0 && err <= 1e-6 * mx, "%s: gradient %.3g of %.3g", what, err, mx);
    float g2[M];
    CHECK_EQ_INT(segloss_dice_ce_backward(g2, x, &t, &sh, &o, &up), SEGLOSS_OK);
    CHECK(memcmp(g, g2, sizeof g2) == 0);
}

TEST(softmax_family_dice_ce_fused) {
    segloss_dice_ce_opts o = segloss_dice_ce_opts_default();
    sf_dice_ce_case("defaults", o, 1.0f, 1);
    o.dice.ignore_index = 255;
    sf_dice_ce_case("ignore", o, 0.5f, 2);
    o.dice.no_background = 1;
    o.dice.squared = 1;
    o.label_smoothing = 0.2;
    sf_dice_ce_case("ignore nobg squared smoothing", o, 1.0f, 3);
    o = segloss_dice_ce_opts_default();
    o.dice.batch = 1;
    o.dice.jaccard = 1;
    o.dice.reduction = SEGLOSS_REDUCTION_SUM;
    o.lambda_dice = 0.3;
    o.lambda_ce = 1.7;
    sf_dice_ce_case("batch jaccard sum lambdas", o, 2.0f, 4);
    o = segloss_dice_ce_opts_nnunet();
    sf_dice_ce_case("nnunet", o, 1.0f, 5);
}

TEST(softmax_family_fused_calls) {
    enum { M = SF_N * SF_C * SF_S };
    static float x[M], yd[M], g[M], g2[M];
    static int64_t yi[SF_N * SF_S];
    sf_data(x, yi, yd, 9, 1);
    segloss_shape sh = {3, {SF_N, SF_C, SF_S}};
    segloss_target ti = {yi, SEGLOSS_I64}, td = {yd, SEGLOSS_F32};
    float up = 1.25f;
    double l, l2;
    segloss_topk_ce_opts tk = segloss_topk_ce_opts_default();
    tk.ce.ignore_index = 255;
    tk.k = 30.0;
    CHECK_EQ_INT(segloss_topk_ce_forward_backward(&l, g, x, &ti, &sh, &tk, &up), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_topk_ce_forward(&l2, x, &ti, &sh, &tk), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_topk_ce_backward(g2, x, &ti, &sh, &tk, &up), SEGLOSS_OK);
    CHECK(l == l2 && memcmp(g, g2, sizeof g) == 0);
    segloss_dice_focal_opts df = segloss_dice_focal_opts_default();
    df.alpha = 0.25;
    CHECK_EQ_INT(segloss_dice_focal_forward_backward(&l, NULL, g, x, &td, &sh, &df, &up),
                 SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_focal_forward(&l2, NULL, x, &td, &sh, &df), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_focal_backward(g2, x, &td, &sh, &df, &up), SEGLOSS_OK);
    CHECK_CLOSE(l, l2, 0.0, 1e-12);
    CHECK(memcmp(g, g2, sizeof g) == 0);
    segloss_generalized_dice_focal_opts gf = segloss_generalized_dice_focal_opts_default();
    gf.gamma = 1.5;
    CHECK_EQ_INT(
        segloss_generalized_dice_focal_forward_backward(&l, NULL, g, x, &td, &sh, &gf, &up),
        SEGLOSS_OK);
    CHECK_EQ_INT(segloss_generalized_dice_focal_forward(&l2, NULL, x, &td, &sh, &gf), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_generalized_dice_focal_backward(g2, x, &td, &sh, &gf, &up), SEGLOSS_OK);
    CHECK_CLOSE(l, l2, 0.0, 1e-12);
    CHECK(memcmp(g, g2, sizeof g) == 0);
    segloss_generalized_dice_opts gd = segloss_generalized_dice_opts_default();
    CHECK_EQ_INT(segloss_generalized_dice_forward_backward(&l, NULL, g, x, &td, &sh, &gd, &up),
                 SEGLOSS_OK);
    CHECK_EQ_INT(segloss_generalized_dice_forward(&l2, NULL, x, &td, &sh, &gd), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_generalized_dice_backward(g2, x, &td, &sh, &gd, &up), SEGLOSS_OK);
    CHECK_CLOSE(l, l2, 0.0, 1e-12);
    CHECK(memcmp(g, g2, sizeof g) == 0);
    CHECK_EQ_INT(segloss_topk_ce_forward_backward(NULL, g, x, &ti, &sh, &tk, &up),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_focal_forward_backward(&l, NULL, NULL, x, &td, &sh, &df, &up),
                 SEGLOSS_ERR_NULL);
}
