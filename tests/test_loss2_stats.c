/* Data-parallel statistics of the region losses: a batch split into two
 * in-process "ranks" whose statistics arrays are added (the all-reduce)
 * gives the single-process batch loss and gradient. The sums are also
 * checked against a direct double computation in this file (sigmoid or
 * softmax of the inputs, one-hot targets), independent of the library. */
#include "gradcheck_util.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 5, C = 3, S = 37, SPLIT = 2 };   /* rank 0: images 0, 1; rank 1: 2..4 */

typedef enum { K_DICE, K_JACCARD, K_TVERSKY, K_GDICE } kind;

typedef struct setup {
    float x[N * C * S];
    float yd[N * C * S];        /* dense 0/1 (or soft) target */
    int64_t yi[N * S];          /* class indices */
} setup;

static void make_setup(setup *s, uint64_t seed, int soft) {
    for (int i = 0; i < N * C * S; i++) {
        s->x[i] = (float)(6.0 * gcu_uniform53(&seed) - 3.0);
        double u = gcu_uniform53(&seed);
        s->yd[i] = soft ? (float)u : (u < 0.4 ? 1.0f : 0.0f);
    }
    for (int i = 0; i < N * S; i++) s->yi[i] = (int64_t)(gcu_uniform53(&seed) * C);
    /* image 3 has an empty target on the dense map */
    for (int i = 3 * C * S; i < 4 * C * S; i++) s->yd[i] = 0.0f;
}

static segloss_dice_opts *region_of(kind k, segloss_dice_opts *d, segloss_tversky_opts *tv,
                                    segloss_generalized_dice_opts *gd) {
    return k == K_TVERSKY ? &tv->region : k == K_GDICE ? &gd->region : d;
}

static segloss_status loss_from(kind k, double *loss, float *elems, const double *st,
                                const segloss_shape *sh, const segloss_dice_opts *d,
                                const segloss_tversky_opts *tv,
                                const segloss_generalized_dice_opts *gd,
                                const segloss_batch_part *p) {
    switch (k) {
    case K_DICE: return segloss_dice_loss_from_stats(loss, elems, st, sh, d, p);
    case K_JACCARD: return segloss_jaccard_loss_from_stats(loss, elems, st, sh, d, p);
    case K_TVERSKY: return segloss_tversky_loss_from_stats(loss, elems, st, sh, tv, p);
    default: return segloss_generalized_dice_loss_from_stats(loss, elems, st, sh, gd, p);
    }
}

static segloss_status back_from(kind k, float *g, const float *x, const segloss_target *t,
                                const segloss_shape *sh, const segloss_dice_opts *d,
                                const segloss_tversky_opts *tv,
                                const segloss_generalized_dice_opts *gd,
                                const segloss_batch_part *p, const double *st,
                                const float *up) {
    switch (k) {
    case K_DICE: return segloss_dice_backward_from_stats(g, x, t, sh, d, p, st, up);
    case K_JACCARD: return segloss_jaccard_backward_from_stats(g, x, t, sh, d, p, st, up);
    case K_TVERSKY: return segloss_tversky_backward_from_stats(g, x, t, sh, tv, p, st, up);
    default: return segloss_generalized_dice_backward_from_stats(g, x, t, sh, gd, p, st, up);
    }
}

static segloss_status whole(kind k, double *loss, float *elems, float *g, const float *x,
                            const segloss_target *t, const segloss_shape *sh,
                            const segloss_dice_opts *d, const segloss_tversky_opts *tv,
                            const segloss_generalized_dice_opts *gd, const float *up) {
    segloss_status st;
    switch (k) {
    case K_DICE:
        st = segloss_dice_forward(loss, elems, x, t, sh, d);
        return st ? st : segloss_dice_backward(g, x, t, sh, d, up);
    case K_JACCARD:
        st = segloss_jaccard_forward(loss, elems, x, t, sh, d);
        return st ? st : segloss_jaccard_backward(g, x, t, sh, d, up);
    case K_TVERSKY:
        st = segloss_tversky_forward(loss, elems, x, t, sh, tv);
        return st ? st : segloss_tversky_backward(g, x, t, sh, tv, up);
    default:
        st = segloss_generalized_dice_forward(loss, elems, x, t, sh, gd);
        return st ? st : segloss_generalized_dice_backward(g, x, t, sh, gd, up);
    }
}

/* Direct double sums of the whole batch for sigmoid/softmax and plain
 * (not squared, not smp) options, rows as the statistics array. */
static void direct_stats(double *out, const setup *s, const segloss_dice_opts *o) {
    int index = o->activation == SEGLOSS_ACTIVATION_SOFTMAX;
    int c0 = o->no_background ? 1 : 0, ck = C - c0;
    int rows = o->batch ? ck : N * ck;
    memset(out, 0, sizeof(double) * 3 * (size_t)rows);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < S; i++) {
            double p[C], z = 0.0;
            for (int c = 0; c < C; c++) {
                double v = s->x[(n * C + c) * S + i];
                p[c] = index ? exp(v) : 1.0 / (1.0 + exp(-v));
                z += p[c];
            }
            for (int c = c0; c < C; c++) {
                double pc = index ? p[c] / z : p[c];
                double y = index ? (s->yi[n * S + i] == c) : s->yd[(n * C + c) * S + i];
                double *r = out + 3 * (o->batch ? c - c0 : n * ck + c - c0);
                r[0] += pc * y;
                r[1] += pc;
                r[2] += y;
            }
        }
}

static double rel(double a, double b) {
    double d = fabs(a - b), m = fabs(b) > 1e-300 ? fabs(b) : 1.0;
    return d / m;
}

/* One configuration: two ranks against the whole batch. */
static void two_ranks(const char *what, kind k, segloss_dice_opts d, segloss_tversky_opts tv,
                      segloss_generalized_dice_opts gd, int soft) {
    setup s;
    make_setup(&s, 0x5eed + (uint64_t)k * 77 + (uint64_t)d.batch, soft);
    segloss_dice_opts *ro = region_of(k, &d, &tv, &gd);
    int index = ro->activation == SEGLOSS_ACTIVATION_SOFTMAX;
    segloss_shape sh = {3, {N, C, S}};
    segloss_target t = index ? (segloss_target){s.yi, SEGLOSS_I64}
                             : (segloss_target){s.yd, SEGLOSS_F32};
    int64_t count = 0, count1 = 0;
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh, ro, NULL), SEGLOSS_OK);
    double *st_all = calloc((size_t)count, sizeof(double));
    double *st0 = calloc((size_t)count, sizeof(double));
    double *st1 = calloc((size_t)count, sizeof(double));
    double *direct = calloc((size_t)count, sizeof(double));
    float g_whole[N * C * S], g_stats[N * C * S], g_split[N * C * S];
    float up[N * C];                 /* NONE: upstream per item (<= N*C items) */
    for (int i = 0; i < N * C; i++) up[i] = 0.25f + 0.125f * (float)(i % 5);
    const float *upp = ro->reduction == SEGLOSS_REDUCTION_NONE ? up : NULL;

    /* the whole batch, one rank, through the statistics */
    CHECK_EQ_INT(segloss_region_stats(st_all, s.x, &t, &sh, ro, NULL), SEGLOSS_OK);
    /* the two ranks */
    segloss_batch_part p0 = {N, 0}, p1 = {N, SPLIT};
    segloss_shape sh0 = {3, {SPLIT, C, S}}, sh1 = {3, {N - SPLIT, C, S}};
    const float *x1 = s.x + SPLIT * C * S;
    segloss_target t1 = index ? (segloss_target){s.yi + SPLIT * S, SEGLOSS_I64}
                              : (segloss_target){s.yd + SPLIT * C * S, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_region_stats_count(&count1, &sh1, ro, &p1), SEGLOSS_OK);
    CHECK_EQ_INT(count1, count);
    CHECK_EQ_INT(segloss_region_stats(st0, s.x, &t, &sh0, ro, &p0), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_region_stats(st1, x1, &t1, &sh1, ro, &p1), SEGLOSS_OK);
    double worst = 0.0;
    for (int64_t i = 0; i < count; i++) {
        st0[i] += st1[i];  /* the all-reduce */
        double e = fabs(st0[i] - st_all[i]) / (fabs(st_all[i]) + 1e-300);
        if (st_all[i] != 0.0 && e > worst) worst = e;
        if (st_all[i] == 0.0 && st0[i] != 0.0) worst = 1.0;
    }
    CHECK_MSG(worst <= 1e-12, "%s: reduced statistics differ by %.3g relative", what, worst);
    if (!ro->squared && !ro->smp && !soft) {
        direct_stats(direct, &s, ro);
        double e = 0.0;
        for (int64_t i = 0; i < count; i++) {
            double a = fabs(st_all[i] - direct[i]) / (fabs(direct[i]) + 1.0);
            if (a > e) e = a;
        }
        /* float32 sigmoid kernel (<= 1.5 ulp) against libm in double */
        CHECK_MSG(e <= 1e-6, "%s: statistics vs direct sums %.3g", what, e);
    }

    double l_whole = 0, l_stats = 0, l_split = 0;
    float e_whole[N * C], e_split[N * C];
    CHECK_EQ_INT(whole(k, &l_whole, e_whole, g_whole, s.x, &t, &sh, &d, &tv, &gd, upp),
                 SEGLOSS_OK);
    CHECK_EQ_INT(loss_from(k, &l_stats, NULL, st_all, &sh, &d, &tv, &gd, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(loss_from(k, &l_split, e_split, st0, &sh1, &d, &tv, &gd, &p1), SEGLOSS_OK);
    CHECK_MSG(rel(l_split, l_stats) <= 1e-12, "%s: split loss %.17g vs one rank %.17g", what,
              l_split, l_stats);
    /* the forward of a sigmoid with a dense target runs the float32 engine,
     * whose sums agree with the double sweep to ~1e-9 relative */
    CHECK_MSG(rel(l_split, l_whole) <= 1e-7, "%s: split loss %.17g vs forward %.17g", what,
              l_split, l_whole);

    CHECK_EQ_INT(back_from(k, g_stats, s.x, &t, &sh, &d, &tv, &gd, NULL, st_all, upp),
                 SEGLOSS_OK);
    CHECK_EQ_INT(back_from(k, g_split, s.x, &t, &sh0, &d, &tv, &gd, &p0, st0, upp), SEGLOSS_OK);
    CHECK_EQ_INT(back_from(k, g_split + SPLIT * C * S, x1, &t1, &sh1, &d, &tv, &gd, &p1, st0,
                           upp),
                 SEGLOSS_OK);
    double gmax = 0.0, e_stats = 0.0, e_whole2 = 0.0;
    for (int i = 0; i < N * C * S; i++)
        if (fabs(g_whole[i]) > gmax) gmax = fabs(g_whole[i]);
    for (int i = 0; i < N * C * S; i++) {
        double a = fabs((double)g_split[i] - g_stats[i]), b = fabs((double)g_split[i] - g_whole[i]);
        if (a > e_stats) e_stats = a;
        if (b > e_whole2) e_whole2 = b;
    }
    CHECK(gmax > 0.0);
    /* float32 outputs of the same double gradient: at most one rounding apart */
    CHECK_MSG(e_stats <= 1.2e-7 * gmax, "%s: split grad vs one rank %.3g of %.3g", what,
              e_stats, gmax);
    CHECK_MSG(e_whole2 <= 1e-6 * gmax, "%s: split grad vs backward %.3g of %.3g", what,
              e_whole2, gmax);
    free(st_all);
    free(st0);
    free(st1);
    free(direct);
}

TEST(loss2_stats_two_ranks_dice) {
    segloss_tversky_opts tv = segloss_tversky_opts_default();
    segloss_generalized_dice_opts gd = segloss_generalized_dice_opts_default();
    segloss_dice_opts d = segloss_dice_opts_default();
    two_ranks("dice sigmoid", K_DICE, d, tv, gd, 0);
    d.batch = 1;
    two_ranks("dice sigmoid batch", K_DICE, d, tv, gd, 0);
    d.batch = 0;
    d.reduction = SEGLOSS_REDUCTION_NONE;
    two_ranks("dice sigmoid none", K_DICE, d, tv, gd, 0);
    d.reduction = SEGLOSS_REDUCTION_SUM;
    d.squared = 1;
    two_ranks("dice squared sum", K_DICE, d, tv, gd, 1);
    d = segloss_dice_opts_default();
    d.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    d.no_background = 1;
    two_ranks("dice softmax no_background", K_DICE, d, tv, gd, 0);
    d.batch = 1;
    d.reduction = SEGLOSS_REDUCTION_NONE;
    two_ranks("dice softmax batch none", K_DICE, d, tv, gd, 0);
    d = segloss_dice_opts_default();
    d.smp = SEGLOSS_SMP_CURRENT;
    d.smooth_nr = d.smooth_dr = 0.0;
    two_ranks("dice smp soft", K_DICE, d, tv, gd, 1);
    d.smp = SEGLOSS_SMP_0_3;
    d.log_loss = 1;
    two_ranks("dice smp 0.3 log", K_DICE, d, tv, gd, 0);
}

TEST(loss2_stats_two_ranks_other_losses) {
    segloss_tversky_opts tv = segloss_tversky_opts_default();
    segloss_generalized_dice_opts gd = segloss_generalized_dice_opts_default();
    segloss_dice_opts d = segloss_dice_opts_default();
    two_ranks("jaccard", K_JACCARD, d, tv, gd, 0);
    d.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    d.batch = 1;
    two_ranks("jaccard softmax batch", K_JACCARD, d, tv, gd, 0);
    tv.alpha = 0.3;
    tv.beta = 0.7;
    tv.gamma = 1.5;
    two_ranks("focal tversky", K_TVERSKY, d, tv, gd, 0);
    tv.region.reduction = SEGLOSS_REDUCTION_NONE;
    tv.region.no_background = 1;
    two_ranks("tversky none no_background", K_TVERSKY, d, tv, gd, 0);
    two_ranks("generalized dice", K_GDICE, d, tv, gd, 0);
    gd.region.batch = 1;
    gd.region.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    two_ranks("generalized dice softmax batch", K_GDICE, d, tv, gd, 0);
    gd.region = segloss_dice_opts_default();
    gd.region.reduction = SEGLOSS_REDUCTION_NONE;
    gd.w_type = SEGLOSS_GDICE_SIMPLE;
    two_ranks("generalized dice simple none", K_GDICE, d, tv, gd, 0);
}

TEST(loss2_stats_errors) {
    segloss_shape sh = {3, {2, 3, 4}}, sh2 = {2, {3, 4}};
    float x[24] = {0}, y[24] = {0};
    segloss_target t = {y, SEGLOSS_F32};
    double st[3 * 6 * 3], loss;
    float g[24];
    int64_t count;
    segloss_batch_part bad = {3, 2}, neg = {4, -1}, ok = {4, 1}, zero = {0, 0};
    CHECK_EQ_INT(segloss_region_stats_count(NULL, &sh, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_stats_count(&count, NULL, NULL, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh, NULL, &bad), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh, NULL, &neg), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh, NULL, &zero), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh2, NULL, &ok), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_stats_count(&count, &sh, NULL, &ok), SEGLOSS_OK);
    CHECK_EQ_INT(count, 3 * 4 * 3);
    CHECK_EQ_INT(segloss_region_stats(NULL, x, &t, &sh, NULL, &ok), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_stats(st, NULL, &t, &sh, NULL, &ok), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_stats(st, x, &t, &sh, NULL, &ok), SEGLOSS_OK);
    /* rank 1's rows: images 1 and 2 (sigmoid(0) = 1/2 over 4 pixels) */
    CHECK_CLOSE(st[3 * 0 + 1], 0.0, 0, 0);
    CHECK_CLOSE(st[3 * 3 + 1], 2.0, 1e-6, 0);
    CHECK_CLOSE(st[3 * 9 + 1], 0.0, 0, 0);
    CHECK_EQ_INT(segloss_dice_loss_from_stats(NULL, NULL, st, &sh, NULL, &ok), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_loss_from_stats(&loss, NULL, NULL, &sh, NULL, &ok),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_backward_from_stats(g, x, &t, &sh, NULL, &bad, st, NULL),
                 SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_dice_backward_from_stats(g, x, &t, &sh, NULL, &ok, NULL, NULL),
                 SEGLOSS_ERR_NULL);
    segloss_tversky_opts tv = segloss_tversky_opts_default();
    tv.region.squared = 1; /* tversky takes no squared */
    CHECK_EQ_INT(segloss_tversky_loss_from_stats(&loss, NULL, st, &sh, &tv, &ok),
                 SEGLOSS_ERR_ARG);
    /* an all-zero statistics row (an image with no target, p = 0) is loss
     * 1 - s_nr/s_dr = 0 */
    double z[3 * 3] = {0};
    segloss_shape one = {3, {1, 3, 4}};
    CHECK_EQ_INT(segloss_dice_loss_from_stats(&loss, NULL, z, &one, NULL, NULL), SEGLOSS_OK);
    CHECK_CLOSE(loss, 0.0, 1e-15, 0);
}
