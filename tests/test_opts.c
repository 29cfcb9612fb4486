/* Option structs: the segloss_*_opts_default() values (the documented
 * defaults, written out here), NULL options == the defaults to the bit for
 * every loss and metric, and the *_items_shape helpers. */
#include "tf.h"

#include <segloss.h>

#include <string.h>

TEST(opts_defaults_are_the_documented_values) {
    segloss_bce_opts b = segloss_bce_opts_default();
    CHECK(b.reduction == SEGLOSS_REDUCTION_MEAN && !b.weight.data && !b.pos_weight.data);
    CHECK(b.ignore_index == SEGLOSS_IGNORE_NONE && SEGLOSS_IGNORE_NONE == INT64_MIN);

    segloss_focal_opts f = segloss_focal_opts_default();
    CHECK(f.reduction == SEGLOSS_REDUCTION_MEAN && !f.weight.data);
    CHECK(f.alpha == 0.25 && f.gamma == 2.0 && f.ignore_index == SEGLOSS_IGNORE_NONE);

    segloss_ce_opts c = segloss_ce_opts_default();
    CHECK(c.reduction == SEGLOSS_REDUCTION_MEAN && !c.class_weight.data);
    CHECK(c.ignore_index == -100 && c.label_smoothing == 0.0);

    segloss_lovasz_opts l = segloss_lovasz_opts_default();
    CHECK(l.reduction == SEGLOSS_REDUCTION_MEAN && l.per_image == 0);
    CHECK(l.ignore_index == SEGLOSS_IGNORE_NONE);

    segloss_dice_opts d = segloss_dice_opts_default();
    CHECK(d.reduction == SEGLOSS_REDUCTION_MEAN && d.activation == SEGLOSS_ACTIVATION_SIGMOID);
    CHECK(d.smooth_nr == 1e-5 && d.smooth_dr == 1e-5);
    CHECK(!d.squared && !d.jaccard && !d.batch && !d.no_background && !d.smp && !d.log_loss);
    CHECK(d.target_kind == SEGLOSS_TARGET_AUTO && d.ignore_index == SEGLOSS_IGNORE_NONE);

    segloss_tversky_opts t = segloss_tversky_opts_default();
    CHECK(memcmp(&t.region, &d, sizeof d) == 0);
    CHECK(t.alpha == 0.5 && t.beta == 0.5 && t.gamma == 1.0);

    segloss_generalized_dice_opts g = segloss_generalized_dice_opts_default();
    CHECK(memcmp(&g.region, &d, sizeof d) == 0 && g.w_type == SEGLOSS_GDICE_SQUARE);

    segloss_dice_bce_opts db = segloss_dice_bce_opts_default();
    CHECK(memcmp(&db.dice, &d, sizeof d) == 0 && !db.pos_weight.data);
    CHECK(db.lambda_dice == 1.0 && db.lambda_bce == 1.0);

    segloss_metric_opts m = segloss_metric_opts_default();
    CHECK(m.spacing[0] == 1.0 && m.spacing[1] == 1.0 && m.spacing[2] == 1.0);
    CHECK(m.percentile == 95.0 && m.tolerance == 1.0);
    CHECK(m.hd95_variant == SEGLOSS_HD95_MAX && m.empty_score == SEGLOSS_EMPTY_SCORE_NAN &&
          m.empty_distance == SEGLOSS_EMPTY_DISTANCE_NAN);
    CHECK(m.distances == 0 && m.threads == 0);
}

/* (N, C, H, W) = (2, 2, 2, 3): logits, probabilities, a dense 0/1 target
 * and class indices (N, H, W). */
#define ON 24
static const segloss_shape o_shape = {4, {2, 2, 2, 3}};
static float o_x[ON], o_p[ON], o_y[ON];
static int64_t o_cls[ON / 2];

static void o_data(void) {
    for (int i = 0; i < ON; i++) {
        o_x[i] = (float)((i * 7) % 11) / 3.0f - 1.5f;
        o_p[i] = 0.05f + 0.9f * (float)((i * 5) % 13) / 12.0f;
        o_y[i] = (float)((i * 3) % 5 < 2);
    }
    for (int i = 0; i < ON / 2; i++) o_cls[i] = i % 2;
}

static int same_d(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Loss and gradient of one call with opts NULL and with the defaults. */
#define NULL_IS_DEFAULT(NAME, FWD, BWD, XS, TGT, DEF)                                   \
    do {                                                                                \
        double l1 = -1, l2 = -2;                                                        \
        float g1[ON], g2[ON];                                                           \
        CHECK_EQ_INT(FWD(&l1, NULL, XS, TGT, &o_shape, NULL), SEGLOSS_OK);             \
        CHECK_EQ_INT(FWD(&l2, NULL, XS, TGT, &o_shape, DEF), SEGLOSS_OK);              \
        CHECK_MSG(same_d(l1, l2), "%s: loss %.17g vs %.17g", NAME, l1, l2);             \
        CHECK_EQ_INT(BWD(g1, XS, TGT, &o_shape, NULL, NULL), SEGLOSS_OK);              \
        CHECK_EQ_INT(BWD(g2, XS, TGT, &o_shape, DEF, NULL), SEGLOSS_OK);               \
        CHECK_MSG(memcmp(g1, g2, sizeof g1) == 0, "%s: gradients differ", NAME);        \
    } while (0)

TEST(opts_null_is_the_defaults) {
    o_data();
    segloss_target td = {o_y, SEGLOSS_F32}, ti = {o_cls, SEGLOSS_I64};
    segloss_bce_opts b = segloss_bce_opts_default();
    NULL_IS_DEFAULT("bce", segloss_bce_forward, segloss_bce_backward, o_p, &td, &b);
    NULL_IS_DEFAULT("bce-logits", segloss_bce_logits_forward, segloss_bce_logits_backward, o_x,
                    &td, &b);
    segloss_focal_opts f = segloss_focal_opts_default();
    NULL_IS_DEFAULT("focal", segloss_focal_forward, segloss_focal_backward, o_x, &td, &f);
    segloss_ce_opts c = segloss_ce_opts_default();
    NULL_IS_DEFAULT("ce", segloss_ce_forward, segloss_ce_backward, o_x, &ti, &c);
    segloss_lovasz_opts l = segloss_lovasz_opts_default();
    NULL_IS_DEFAULT("lovasz", segloss_lovasz_hinge_forward, segloss_lovasz_hinge_backward, o_x,
                    &td, &l);
    segloss_dice_opts d = segloss_dice_opts_default();
    NULL_IS_DEFAULT("dice", segloss_dice_forward, segloss_dice_backward, o_x, &td, &d);
    NULL_IS_DEFAULT("jaccard", segloss_jaccard_forward, segloss_jaccard_backward, o_x, &td, &d);
    segloss_tversky_opts t = segloss_tversky_opts_default();
    NULL_IS_DEFAULT("tversky", segloss_tversky_forward, segloss_tversky_backward, o_x, &td, &t);
    segloss_generalized_dice_opts g = segloss_generalized_dice_opts_default();
    NULL_IS_DEFAULT("generalized-dice", segloss_generalized_dice_forward,
                    segloss_generalized_dice_backward, o_x, &td, &g);
    segloss_dice_bce_opts db = segloss_dice_bce_opts_default();
    NULL_IS_DEFAULT("dice-bce", segloss_dice_bce_forward, segloss_dice_bce_backward, o_x, &td,
                    &db);

    /* the metrics: overlap scores and surface distances */
    segloss_metric_opts m = segloss_metric_opts_default();
    segloss_confusion cm = {0, 0, 0, 5};
    segloss_overlap_scores s1, s2;
    CHECK_EQ_INT(segloss_overlap_from_counts(&s1, &cm, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_overlap_from_counts(&s2, &cm, &m), SEGLOSS_OK);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
    uint8_t a[ON], r[ON];
    for (int i = 0; i < ON; i++) {
        a[i] = (uint8_t)(o_y[i] != 0.0f);
        r[i] = (uint8_t)(i % 3 == 0);
    }
    segloss_shape ms = {3, {2, 3, 4}};
    segloss_surface_metrics d1, d2;
    CHECK_EQ_INT(segloss_surface_distances_binary(&d1, a, r, &ms, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_surface_distances_binary(&d2, a, r, &ms, &m), SEGLOSS_OK);
    CHECK(memcmp(&d1, &d2, sizeof d1) == 0);
}

/* A zero-filled struct is not the defaults: its fields are used as given. */
TEST(opts_zero_filled_is_used_as_given) {
    o_data();
    segloss_target td = {o_y, SEGLOSS_F32};
    segloss_focal_opts z;
    memset(&z, 0, sizeof z);
    z.ignore_index = SEGLOSS_IGNORE_NONE;
    segloss_bce_opts b = segloss_bce_opts_default();
    double lz, lb, ld;
    /* alpha 0 gamma 0: the alpha factor is (1 - alpha) = 1 for y = 0 and 0
     * for y = 1, so the loss is BCE over the negatives only */
    CHECK_EQ_INT(segloss_focal_forward(&lz, NULL, o_x, &td, &o_shape, &z), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_focal_forward(&ld, NULL, o_x, &td, &o_shape, NULL), SEGLOSS_OK);
    float e[ON];
    b.reduction = SEGLOSS_REDUCTION_NONE;
    CHECK_EQ_INT(segloss_bce_logits_forward(&lb, e, o_x, &td, &o_shape, &b), SEGLOSS_OK);
    double neg = 0.0;
    for (int i = 0; i < ON; i++)
        if (o_y[i] == 0.0f) neg += e[i];
    CHECK_CLOSE(lz, neg / ON, 1e-12, 1e-6);
    CHECK(!same_d(lz, ld));
    /* dice with smoothing 0 as given differs from the default 1e-5 */
    segloss_dice_opts d0 = segloss_dice_opts_default();
    d0.smooth_nr = d0.smooth_dr = 0.0;
    CHECK_EQ_INT(segloss_dice_forward(&lz, NULL, o_x, &td, &o_shape, &d0), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_forward(&ld, NULL, o_x, &td, &o_shape, NULL), SEGLOSS_OK);
    CHECK(isfinite(lz) && !same_d(lz, ld));
}

static int shape_is(const segloss_shape *s, int nd, int64_t d0, int64_t d1) {
    return s->ndim == nd && (nd < 1 || s->dim[0] == d0) && (nd < 2 || s->dim[1] == d1);
}

TEST(opts_items_shape_every_loss) {
    segloss_shape out;
    segloss_shape img = {2, {4, 5}};
    /* dice and jaccard: (N, C), (C,) with batch or smp, C-1 without background */
    segloss_dice_opts d = segloss_dice_opts_default();
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, &d), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 2, 2));
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, NULL), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 2, 2));
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &img, NULL), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 1, 1));
    d.no_background = 1;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, &d), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 2, 1));
    d.no_background = 0;
    d.batch = 1;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, &d), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 2, 0));
    d.batch = 0;
    d.smp = SEGLOSS_SMP_0_3;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, &d), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 2, 0));
    d.smp = 5;
    CHECK_EQ_INT(segloss_dice_items_shape(&out, &o_shape, &d), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_dice_items_shape(NULL, &o_shape, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_items_shape(&out, NULL, NULL), SEGLOSS_ERR_NULL);

    /* tversky: as dice; its own parameters are checked */
    segloss_tversky_opts t = segloss_tversky_opts_default();
    CHECK_EQ_INT(segloss_tversky_items_shape(&out, &o_shape, &t), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 2, 2));
    t.region.batch = 1;
    CHECK_EQ_INT(segloss_tversky_items_shape(&out, &o_shape, &t), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 2, 0));
    t.region.smp = SEGLOSS_SMP_CURRENT; /* not a tversky option */
    CHECK_EQ_INT(segloss_tversky_items_shape(&out, &o_shape, &t), SEGLOSS_ERR_ARG);
    t = segloss_tversky_opts_default();
    t.gamma = 0.0;
    CHECK_EQ_INT(segloss_tversky_items_shape(&out, &o_shape, &t), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_tversky_items_shape(&out, &o_shape, NULL), SEGLOSS_OK);
    CHECK(shape_is(&out, 2, 2, 2));
    CHECK_EQ_INT(segloss_tversky_items_shape(NULL, &o_shape, NULL), SEGLOSS_ERR_NULL);

    /* generalized dice: (N,), (1,) with batch */
    segloss_generalized_dice_opts g = segloss_generalized_dice_opts_default();
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(&out, &o_shape, &g), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 2, 0));
    g.region.batch = 1;
    CHECK_EQ_INT(segloss_generalized_dice_items_shape(&out, &o_shape, &g), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 1, 0));

    /* lovasz: (1,), or (N,) with per_image and ndim >= 3 */
    segloss_lovasz_opts l = segloss_lovasz_opts_default();
    CHECK_EQ_INT(segloss_lovasz_items_shape(&out, &o_shape, &l), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 1, 0));
    l.per_image = 1;
    CHECK_EQ_INT(segloss_lovasz_items_shape(&out, &o_shape, &l), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 2, 0));
    CHECK_EQ_INT(segloss_lovasz_items_shape(&out, &img, &l), SEGLOSS_OK);
    CHECK(shape_is(&out, 1, 1, 0));
    l.reduction = (segloss_reduction)7;
    CHECK_EQ_INT(segloss_lovasz_items_shape(&out, &o_shape, &l), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_lovasz_items_shape(NULL, &o_shape, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_lovasz_items_shape(&out, NULL, NULL), SEGLOSS_ERR_NULL);
}

/* dice-bce has the other forwards' parameters; its elems must be NULL. */
TEST(opts_dice_bce_elems_must_be_null) {
    o_data();
    segloss_target td = {o_y, SEGLOSS_F32};
    double l;
    float e[ON], g[ON];
    CHECK_EQ_INT(segloss_dice_bce_forward(&l, e, o_x, &td, &o_shape, NULL), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_dice_bce_forward_backward(&l, e, g, o_x, &td, &o_shape, NULL, NULL),
                 SEGLOSS_ERR_ARG);
    /* one function-pointer type calls every forward */
    typedef segloss_status (*fwd_fn)(double *, float *, const float *, const segloss_target *,
                                     const segloss_shape *, const segloss_dice_bce_opts *);
    fwd_fn fn = segloss_dice_bce_forward;
    CHECK_EQ_INT(fn(&l, NULL, o_x, &td, &o_shape, NULL), SEGLOSS_OK);
    /* the loss is lambda_dice * dice + lambda_bce * bce-logits */
    double ld, lb;
    CHECK_EQ_INT(segloss_dice_forward(&ld, NULL, o_x, &td, &o_shape, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_bce_logits_forward(&lb, NULL, o_x, &td, &o_shape, NULL), SEGLOSS_OK);
    CHECK_CLOSE(l, ld + lb, 0, 1e-14);
}
