/* Fused forward+backward calls and the vector kernels inside the losses
 * (issue 5), on every kernel table this CPU has (scalar, portable, avx2, avx512, neon).
 *
 *  fused_bcel_same_bits       segloss_bce_logits_forward_backward = forward
 *                             + backward bit for bit: reductions, weights,
 *                             pos_weight, ignore_index, every target route
 *                             (float in place, uint8 and bool as bytes, bool
 *                             with other bytes, float64/int32 buffers)
 *  fused_bcel_target_routes   uint8 / bool / float32 / float64 targets with
 *                             the same 0/1 values give the same bits; bad
 *                             bytes and values are SEGLOSS_ERR_TARGET
 *  fused_dice_bce_same_bits   segloss_dice_bce_forward_backward = forward +
 *                             backward bit for bit, option sweep, several
 *                             phases (images per phase) and channels
 *  fused_dice_same_bits       segloss_dice_forward_backward = forward +
 *                             backward (sigmoid engine and the fallback)
 *  fused_dice_dropped_channel  no_background: the dropped channel is not
 *                             read by dice, checked by dice-bce
 *  fused_dice_bce_kernels     pass-1 sums and pass-2 gradient of the dbce /
 *                             dice_grad kernels against double formulas
 *  fused_threads_bit_identical  1, 2, 3, 4 threads: same bits (bce-logits,
 *                             dice-bce, dice; fused and separate)
 *  fused_large_vs_float64     64x1x512x512 = 16.8M elements (4x1x128x128 under sanitizers):
 *                             reduced bce-logits and dice-bce within 1e-7
 *                             relative of a float64 loop written here,
 *                             uint8 and float32 targets
 */
#include "refdata.h"
#include "tf.h"

#include "kernels/vec.h"
#include "loss/region.h"

#include <segloss.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUSED_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define FUSED_SANITIZED 1
#endif
#endif
#ifndef FUSED_SANITIZED
#define FUSED_SANITIZED 0
#endif

static uint64_t fz_state;
static uint64_t fz_next(void) {
    fz_state ^= fz_state >> 12;
    fz_state ^= fz_state << 25;
    fz_state ^= fz_state >> 27;
    return fz_state * 0x2545F4914F6CDD1Dull;
}
static double fz_uniform(void) { return (double)(fz_next() >> 11) / 9007199254740992.0; }

static int same_bits_f(const float *a, const float *b, int64_t n) {
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}
static int same_bits_d(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* The kernel tables to run on: every one this CPU has, scalar first.
 * Selecting a table: segloss__vec_force(t); segloss__vec_force_scalar(-1)
 * restores the default. */
static int fz_paths(void) {
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    return segloss__vec_tables(tab);
}
static const char *fz_use_path(int k) {
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    segloss__vec_tables(tab);
    segloss__vec_force(tab[k]);
    return segloss__vec_ops()->name;
}

/* ------------------------------------------------------------------------ */
/* bce-logits                                                                */
/* ------------------------------------------------------------------------ */
enum { FN = 3 * 8192 + 123 }; /* four blocks, the last one partial */

typedef struct bdata {
    float x[FN], yf[FN], w[FN], pw[4], go[FN];
    double yd[FN];
    int32_t yi[FN];
    uint8_t yb[FN], ybool[FN], ybool2[FN];
} bdata;

static void fill_bdata(bdata *d, int with_ignore) {
    fz_state = 12345;
    for (int i = 0; i < FN; i++) {
        d->x[i] = (float)(fz_uniform() * 24 - 12);
        uint8_t b = (uint8_t)(fz_next() & 1);
        if (with_ignore && fz_uniform() < 0.1) b = 255;
        d->yb[i] = b;
        d->yf[i] = (float)b;
        d->yd[i] = (double)b;
        d->yi[i] = b;
        d->ybool[i] = b & 1;
        d->ybool2[i] = d->ybool[i] ? (uint8_t)(1 + (fz_next() % 200)) : 0; /* nonzero, not 1 */
        d->w[i] = (float)(0.5 + fz_uniform());
        d->go[i] = (float)(fz_uniform() * 2 - 1);
    }
    for (int i = 0; i < 4; i++) d->pw[i] = 0.5f + (float)i;
}

/* forward + backward vs forward_backward, bit for bit. */
static void bcel_compare(const char *what, const float *x, const segloss_target *t,
                         const segloss_shape *s, const segloss_bce_opts *o, const float *go,
                         int64_t n) {
    float *e1 = malloc((size_t)n * sizeof *e1), *e2 = malloc((size_t)n * sizeof *e2);
    float *g1 = malloc((size_t)n * sizeof *g1), *g2 = malloc((size_t)n * sizeof *g2);
    memset(e1, 0x7f, (size_t)n * sizeof *e1);
    memset(e2, 0x7f, (size_t)n * sizeof *e2);
    double l1 = 0, l2 = 0;
    segloss_status s1 = segloss_bce_logits_forward(&l1, e1, x, t, s, o);
    segloss_status s2 = segloss_bce_logits_backward(g1, x, t, s, o, go);
    segloss_status s3 = segloss_bce_logits_forward_backward(&l2, e2, g2, x, t, s, o, go);
    CHECK_MSG(s1 == SEGLOSS_OK && s2 == SEGLOSS_OK && s3 == SEGLOSS_OK, "%s: %d %d %d", what,
              s1, s2, s3);
    CHECK_MSG(same_bits_d(l1, l2), "%s: loss %.17g vs fused %.17g", what, l1, l2);
    CHECK_MSG(same_bits_f(g1, g2, n), "%s: gradients differ", what);
    if (o->reduction == SEGLOSS_REDUCTION_NONE)
        CHECK_MSG(same_bits_f(e1, e2, n), "%s: element losses differ", what);
    free(e1), free(e2), free(g1), free(g2);
}

TEST(fused_bcel_same_bits) {
    static bdata d;
    segloss_shape s = {3, {FN, 1, 1}};
    segloss_set_num_threads(1); /* many small calls; threads: see below */
    for (int path = 0; path < fz_paths(); path++) {
        const char *pn = fz_use_path(path);
        for (int ign = 0; ign < 2; ign++) {
            fill_bdata(&d, ign);
            /* bool targets: no 255 (a bool has no ignore value of its own) */
            segloss_target tg[6] = {{d.yf, SEGLOSS_F32},     {d.yb, SEGLOSS_U8},
                                    {d.ybool, SEGLOSS_BOOL}, {d.ybool2, SEGLOSS_BOOL},
                                    {d.yd, SEGLOSS_F64},     {d.yi, SEGLOSS_I32}};
            const char *tn[6] = {"f32", "u8", "bool01", "bool-bytes", "f64", "i32"};
            for (int k = 0; k < 6; k++) {
                for (int r = 0; r < 3; r++) {
                    for (int wv = 0; wv < 4; wv++) {
                        segloss_bce_opts o = segloss_bce_opts_default();
                        o.reduction = (segloss_reduction)r;
                        if (wv & 1) {
                            o.weight.data = d.w;
                            o.weight.shape = s;
                        }
                        if (wv & 2) { /* pos_weight broadcast over the last axis... of 1 */
                            o.pos_weight.data = d.pw;
                            o.pos_weight.shape.ndim = 1;
                            o.pos_weight.shape.dim[0] = 1;
                        }
                        if (ign) {
                            o.ignore_index = (k == 2 || k == 3) ? 1.0 : 255.0;
                        }
                        char what[128];
                        snprintf(what, sizeof what, "%s %s ign%d r%d w%d", pn, tn[k], ign, r, wv);
                        float g1 = 0.75f;
                        bcel_compare(what, d.x, &tg[k], &s, &o,
                                     r == SEGLOSS_REDUCTION_NONE ? d.go : (r ? &g1 : NULL), FN);
                    }
                }
            }
        }
    }
    segloss_set_num_threads(0);
    segloss__vec_force_scalar(-1);
}

TEST(fused_bcel_target_routes) {
    static bdata d;
    fill_bdata(&d, 0);
    segloss_shape s = {1, {FN}};
    for (int path = 0; path < fz_paths(); path++) {
        const char *pn = fz_use_path(path);
        segloss_target tg[5] = {{d.yf, SEGLOSS_F32},
                                {d.yb, SEGLOSS_U8},
                                {d.ybool, SEGLOSS_BOOL},
                                {d.ybool2, SEGLOSS_BOOL},
                                {d.yd, SEGLOSS_F64}};
        static float g[5][FN];
        double l[5];
        for (int k = 0; k < 5; k++) {
            segloss_bce_opts o = segloss_bce_opts_default();
            CHECK_EQ_INT(segloss_bce_logits_forward_backward(&l[k], NULL, g[k], d.x, &tg[k], &s,
                                                             &o, NULL),
                         SEGLOSS_OK);
        }
        for (int k = 1; k < 5; k++) {
            CHECK_MSG(same_bits_d(l[0], l[k]), "%s: target route %d: loss %.17g vs %.17g", pn,
                      k, l[k], l[0]);
            CHECK_MSG(same_bits_f(g[0], g[k], FN), "%s: target route %d: gradient", pn, k);
        }
        /* a bad byte in the last block, a bad float in the first */
        static uint8_t yb[FN];
        static float yf[FN];
        memcpy(yb, d.yb, sizeof yb);
        memcpy(yf, d.yf, sizeof yf);
        yb[FN - 5] = 2;
        yf[7] = 1.5f;
        segloss_target tb = {yb, SEGLOSS_U8}, tf = {yf, SEGLOSS_F32};
        segloss_bce_opts o = segloss_bce_opts_default();
        double loss;
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, d.x, &tb, &s, &o), SEGLOSS_ERR_TARGET);
        CHECK_EQ_INT(segloss_bce_logits_backward(g[0], d.x, &tb, &s, &o, NULL), SEGLOSS_ERR_TARGET);
        CHECK_EQ_INT(segloss_bce_logits_forward_backward(&loss, NULL, g[0], d.x, &tb, &s, &o, NULL),
                     SEGLOSS_ERR_TARGET);
        CHECK_EQ_INT(segloss_bce_logits_forward_backward(&loss, NULL, g[0], d.x, &tf, &s, &o, NULL),
                     SEGLOSS_ERR_TARGET);
        yf[7] = NAN;
        CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, d.x, &tf, &s, &o), SEGLOSS_ERR_TARGET);
        /* with ignore_index = 2 the bad byte is ignored: as if it were absent */
        o.ignore_index = 2;
        CHECK_EQ_INT(segloss_bce_logits_forward_backward(&loss, NULL, g[0], d.x, &tb, &s, &o, NULL),
                     SEGLOSS_OK);
        CHECK(g[0][FN - 5] == 0.0f);
        /* NULL outputs */
        CHECK_EQ_INT(segloss_bce_logits_forward_backward(NULL, NULL, g[0], d.x, &tb, &s, &o, NULL),
                     SEGLOSS_ERR_NULL);
        CHECK_EQ_INT(segloss_bce_logits_forward_backward(&loss, NULL, NULL, d.x, &tb, &s, &o, NULL),
                     SEGLOSS_ERR_NULL);
    }
    segloss__vec_force_scalar(-1);
}

/* ------------------------------------------------------------------------ */
/* dice + bce                                                                */
/* ------------------------------------------------------------------------ */
typedef struct dcase {
    segloss_shape s;
    int64_t numel;
    float *x, *yf, *go, *pw;
    uint8_t *yb;
} dcase;

static void dcase_make(dcase *c, int nd, const int64_t *dims, int ign) {
    memset(c, 0, sizeof *c);
    c->s.ndim = nd;
    c->numel = 1;
    for (int k = 0; k < nd; k++) c->numel *= (c->s.dim[k] = dims[k]);
    c->x = malloc((size_t)c->numel * sizeof *c->x);
    c->yf = malloc((size_t)c->numel * sizeof *c->yf);
    c->yb = malloc((size_t)c->numel);
    c->go = malloc((size_t)c->numel * sizeof *c->go);
    c->pw = malloc(16 * sizeof *c->pw);
    fz_state = 777 + (uint64_t)c->numel;
    for (int64_t i = 0; i < c->numel; i++) {
        c->x[i] = (float)(fz_uniform() * 12 - 6);
        uint8_t b = (uint8_t)(fz_uniform() < 0.3);
        if (ign && fz_uniform() < 0.05) b = 255;
        c->yb[i] = b;
        c->yf[i] = (float)b;
        c->go[i] = (float)fz_uniform();
    }
    for (int k = 0; k < 16; k++) c->pw[k] = 0.5f + 0.25f * (float)k;
}

static void dcase_free(dcase *c) {
    free(c->x), free(c->yf), free(c->yb), free(c->go), free(c->pw);
}

static void dice_bce_compare(const char *what, const dcase *c, const segloss_target *t,
                             const segloss_dice_bce_opts *o, const float *go) {
    float *g1 = malloc((size_t)c->numel * sizeof *g1), *g2 = malloc((size_t)c->numel * sizeof *g2);
    double l1 = 0, l2 = 0;
    segloss_status s1 = segloss_dice_bce_forward(&l1, NULL, c->x, t, &c->s, o);
    segloss_status s2 = segloss_dice_bce_backward(g1, c->x, t, &c->s, o, go);
    segloss_status s3 = segloss_dice_bce_forward_backward(&l2, NULL, g2, c->x, t, &c->s, o, go);
    CHECK_MSG(s1 == SEGLOSS_OK && s2 == SEGLOSS_OK && s3 == SEGLOSS_OK, "%s: %d %d %d", what,
              s1, s2, s3);
    CHECK_MSG(same_bits_d(l1, l2), "%s: loss %.17g vs fused %.17g", what, l1, l2);
    CHECK_MSG(same_bits_f(g1, g2, c->numel), "%s: gradients differ", what);
    free(g1), free(g2);
}

TEST(fused_dice_bce_same_bits) {
    /* phases (images per pass-1/pass-2 round, region_fast.c), with the least
     * phase size set to 20000 elements: 5 images of 12000 make phases
     * [0,2), [2,4), [4,5); 4 images of 3 channels x 12000 one image each;
     * one image of 9000. The default size (one phase here) must give the
     * same bits. */
    static const int64_t sh[3][5] = {{5, 1, 12000, 0, 0}, {4, 3, 5, 40, 60}, {1, 1, 9000, 0, 0}};
    static const int nds[3] = {3, 5, 3};
    segloss_set_num_threads(1); /* many calls; threads: see below */
    segloss__region_fast_set_phase_min(20000);
    for (int path = 0; path < fz_paths(); path++) {
        const char *pn = fz_use_path(path);
        for (int si = 0; si < 3; si++) {
            for (int ign = 0; ign < 2; ign++) {
                dcase c;
                dcase_make(&c, nds[si], sh[si], ign);
                segloss_target tg[2] = {{c.yb, SEGLOSS_U8}, {c.yf, SEGLOSS_F32}};
                for (int k = 0; k < 2; k++) {
                    for (int v = 0; v < 8; v++) {
                        segloss_dice_bce_opts o;
                        o = segloss_dice_bce_opts_default();
                        o.dice.reduction = (v & 1) ? SEGLOSS_REDUCTION_SUM : SEGLOSS_REDUCTION_MEAN;
                        if (v & 2) o.dice.batch = 1;
                        if (v & 4) {
                            o.dice.squared = 1;
                            o.dice.no_background = 1;
                            o.pos_weight.data = c.pw;
                            o.pos_weight.shape.ndim = 1;
                            o.pos_weight.shape.dim[0] = 1;
                            o.lambda_dice = 0.7;
                            o.lambda_bce = 1.3;
                        }
                        if (v == 6) {
                            o.dice.squared = 0;
                            o.dice.smp = SEGLOSS_SMP_0_3; /* current smp: integer targets only */
                        }
                        if (v == 7) o.dice.jaccard = 1;
                        if (ign) {
                            o.dice.ignore_index = 255;
                        }
                        char what[128];
                        snprintf(what, sizeof what, "%s shape%d ign%d %s v%d", pn, si, ign,
                                 k ? "f32" : "u8", v);
                        float g0 = 0.625f;
                        dice_bce_compare(what, &c, &tg[k], &o, (v & 1) ? &g0 : NULL);
                        /* uint8 and float32 targets: the same bits */
                        if (k == 1) continue;
                        double l1, l2;
                        float *g1 = malloc((size_t)c.numel * sizeof *g1);
                        float *g2 = malloc((size_t)c.numel * sizeof *g2);
                        CHECK_EQ_INT(segloss_dice_bce_forward_backward(&l1, NULL, g1, c.x, &tg[0],
                                                                       &c.s, &o, NULL),
                                     SEGLOSS_OK);
                        CHECK_EQ_INT(segloss_dice_bce_forward_backward(&l2, NULL, g2, c.x, &tg[1],
                                                                       &c.s, &o, NULL),
                                     SEGLOSS_OK);
                        CHECK_MSG(same_bits_d(l1, l2) && same_bits_f(g1, g2, c.numel),
                                  "%s: uint8 vs float32 target", what);
                        segloss__region_fast_set_phase_min(0); /* default phases */
                        CHECK_EQ_INT(segloss_dice_bce_forward_backward(&l2, NULL, g2, c.x, &tg[0],
                                                                       &c.s, &o, NULL),
                                     SEGLOSS_OK);
                        segloss__region_fast_set_phase_min(20000);
                        CHECK_MSG(same_bits_d(l1, l2) && same_bits_f(g1, g2, c.numel),
                                  "%s: phase size changes the result", what);
                        free(g1), free(g2);
                    }
                }
                dcase_free(&c);
            }
        }
    }
    segloss__region_fast_set_phase_min(0);
    segloss_set_num_threads(0);
    segloss__vec_force_scalar(-1);
}

/* segloss_dice_forward_backward = forward + backward: the sigmoid engine
 * (reductions incl. none with elems and per-item upstream, batch, squared,
 * jaccard, smp, no_background, ignore) and the softmax fallback. */
TEST(fused_dice_same_bits) {
    int64_t dims[4] = {3, 3, 70, 130}; /* 9100 per plane: two blocks */
    segloss_set_num_threads(1);
    for (int path = 0; path < fz_paths(); path++) {
        const char *pn = fz_use_path(path);
        for (int ign = 0; ign < 2; ign++) {
            dcase c;
            dcase_make(&c, 4, dims, ign);
            segloss_target tb = {c.yb, SEGLOSS_U8};
            for (int v = 0; v < 12; v++) {
                segloss_dice_opts o;
                o = segloss_dice_opts_default();
                o.reduction = (segloss_reduction)(v % 3);
                if (v & 4) o.batch = 1;
                if (v == 3 || v == 4) o.squared = 1;
                if (v == 5) o.jaccard = 1;
                if (v == 6 || v == 7) o.smp = 1;
                if (v == 8 || v == 9) o.no_background = 1;
                if (v >= 10) o.activation = SEGLOSS_ACTIVATION_SOFTMAX; /* the fallback */
                o.ignore_index = ign ? (int64_t)(255) : SEGLOSS_IGNORE_NONE;
                if (v >= 10) {
                    /* class indices (N, H, W) in 0..2 (or 255) */
                    for (int64_t i = 0; i < 3 * 70 * 130; i++)
                        c.yb[i] = c.yb[i] == 255 ? 255 : (uint8_t)(i % 3);
                }
                int64_t items = 9;
                float *e1 = calloc(16, sizeof *e1), *e2 = calloc(16, sizeof *e2);
                float *g1 = malloc((size_t)c.numel * sizeof *g1);
                float *g2 = malloc((size_t)c.numel * sizeof *g2);
                double l1 = 0, l2 = 0;
                const float *go = o.reduction == SEGLOSS_REDUCTION_NONE ? c.go : c.go + 1;
                CHECK_EQ_INT(ref_dice_items(&items, &c.s, &o), SEGLOSS_OK);
                segloss_status s1 = segloss_dice_forward(&l1, e1, c.x, &tb, &c.s, &o);
                segloss_status s2 = segloss_dice_backward(g1, c.x, &tb, &c.s, &o, go);
                segloss_status s3 =
                    segloss_dice_forward_backward(&l2, e2, g2, c.x, &tb, &c.s, &o, go);
                CHECK_MSG(s1 == SEGLOSS_OK && s2 == SEGLOSS_OK && s3 == SEGLOSS_OK,
                          "%s ign%d v%d: %d %d %d", pn, ign, v, s1, s2, s3);
                CHECK_MSG(same_bits_d(l1, l2) && same_bits_f(e1, e2, items) &&
                              same_bits_f(g1, g2, c.numel),
                          "%s ign%d v%d: fused dice differs (%.17g vs %.17g)", pn, ign, v, l2, l1);
                free(e1), free(e2), free(g1), free(g2);
            }
            double l;
            float g[1];
            CHECK_EQ_INT(segloss_dice_forward_backward(NULL, NULL, g, c.x, &tb, &c.s, NULL, NULL),
                         SEGLOSS_ERR_NULL);
            CHECK_EQ_INT(segloss_dice_forward_backward(&l, NULL, NULL, c.x, &tb, &c.s, NULL, NULL),
                         SEGLOSS_ERR_NULL);
            dcase_free(&c);
        }
    }
    segloss_set_num_threads(0);
    segloss__vec_force_scalar(-1);
}

/* Dice with no_background reads neither the target nor the logits of the
 * dropped channel (as the region sweep): a target of 2 or a NaN logit there
 * changes nothing; dice-bce checks that target (its BCE covers it). */
TEST(fused_dice_dropped_channel) {
    enum { C = 2, S = 50 };
    float x[C * S], y[C * S], g[C * S], g2[C * S];
    fz_state = 5;
    for (int i = 0; i < C * S; i++) {
        x[i] = (float)(fz_uniform() * 8 - 4);
        y[i] = (float)(fz_next() & 1);
    }
    segloss_shape s = {3, {1, C, S}};
    segloss_target t = {y, SEGLOSS_F32};
    segloss_dice_opts o;
    o = segloss_dice_opts_default();
    o.no_background = 1;
    double l1, l2;
    CHECK_EQ_INT(segloss_dice_forward_backward(&l1, NULL, g, x, &t, &s, &o, NULL), SEGLOSS_OK);
    y[3] = 2.0f;
    x[4] = NAN;
    CHECK_EQ_INT(segloss_dice_forward_backward(&l2, NULL, g2, x, &t, &s, &o, NULL), SEGLOSS_OK);
    CHECK(same_bits_d(l1, l2) && same_bits_f(g, g2, C * S));
    CHECK(g2[3] == 0.0f && g2[4] == 0.0f);
    segloss_dice_bce_opts db;
    db = segloss_dice_bce_opts_default();
    db.dice.no_background = 1;
    CHECK_EQ_INT(segloss_dice_bce_forward(&l2, NULL, x, &t, &s, &db), SEGLOSS_ERR_TARGET);
}

/* The dbce and dice_grad kernels against double formulas (soft labels,
 * pos_weight, squared), n around the vector width and a block. */
TEST(fused_dice_bce_kernels) {
    enum { M = 1000 };
    static float x[M], y[M], pw[M], sig[M], g[M];
    static uint8_t yb[M];
    fz_state = 99;
    for (int i = 0; i < M; i++) {
        x[i] = (float)(fz_uniform() * 30 - 15);
        if (i % 97 == 3) x[i] = -0.0f;
        if (i % 89 == 5) x[i] = (float)(fz_uniform() * 200 - 100); /* saturated */
        yb[i] = (uint8_t)(fz_next() & 1);
        y[i] = (float)fz_uniform();
        pw[i] = (float)(0.5 + 2 * fz_uniform());
    }
    static const int lens[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, M};
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int ntab = segloss__vec_tables(tab);
    for (int t = 0; t < ntab; t++) {
        const segloss_vec_ops *o = tab[t];
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int n = lens[li];
            for (int v = 0; v < 8; v++) {
                int sq = v & 1, byte = (v >> 1) & 1, withpw = (v >> 2) & 1;
                const float *pwp = withpw ? pw : NULL;
                double s[4] = {-1, -1, -1, -1};
                for (int i = 0; i < M; i++) sig[i] = 7.0f;
                unsigned fl = SEGLOSS_DBCE_LOSS | (sq ? SEGLOSS_DBCE_SQUARED : 0u);
                segloss_status st = byte ? o->dbce_u8(s, sig, x, yb, pwp, n, fl)
                                         : o->dbce(s, sig, x, y, pwp, n, fl);
                CHECK_EQ_INT(st, SEGLOSS_OK);
                double r[4] = {0, 0, 0, 0}, mag[4] = {0, 0, 0, 0}, serr = 0;
                for (int i = 0; i < n; i++) {
                    double xi = x[i], yi = byte ? yb[i] : y[i], pwi = withpw ? pw[i] : 1.0;
                    double e = exp(-fabs(xi)), p = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
                    if (signbit(xi)) p = e / (1 + e); /* -0.0 takes the x < 0 form */
                    double lg = log1p(e);
                    double l = (1 - yi) * (lg + fmax(xi, 0)) + pwi * yi * (lg + fmax(-xi, 0));
                    double vv[4] = {l, p * yi, sq ? p * p : p, sq ? yi * yi : yi};
                    for (int k = 0; k < 4; k++) r[k] += vv[k], mag[k] += fabs(vv[k]);
                    double sm = e / (1 + e); /* the small sigmoid, signed like x */
                    double se = fabs(fabs((double)sig[i]) - sm) / (sm > 1e-30 ? sm : 1e-30);
                    if (signbit(sig[i]) != signbit(x[i])) se = 1;
                    if (se > serr) serr = se;
                }
                for (int k = 0; k < 4; k++)
                    CHECK_MSG(fabs(s[k] - r[k]) <= 3e-7 * mag[k] + 1e-300,
                              "%s n=%d v%d: sum %d = %.17g vs %.17g", o->name, n, v, k, s[k],
                              r[k]);
                CHECK_MSG(serr <= 2e-7, "%s n=%d v%d: small sigmoid rel error %.3g", o->name, n,
                          v, serr);
                CHECK(n == M || sig[n] == 7.0f); /* nothing written past n */
                /* pass 2 on the signed sigmoids, with and without the BCE part */
                for (int bce = 0; bce < 2; bce++) {
                    memcpy(g, sig, sizeof g);
                    float gb = bce ? 0.003f : 0.0f, a = 0.37f, dd = -0.81f;
                    if (byte) o->dice_grad_u8(g, yb, pwp, gb, a, dd, sq, n);
                    else o->dice_grad(g, y, pwp, gb, a, dd, sq, n);
                    double err = 0;
                    for (int i = 0; i < n; i++) {
                        double xi = x[i], yi = byte ? yb[i] : y[i], pwi = withpw ? pw[i] : 1.0;
                        double e = exp(-fabs(xi)), sm = e / (1 + e), bg = 1 / (1 + e);
                        double sx = signbit(xi) ? sm : bg, snx = signbit(xi) ? bg : sm;
                        double dterm = (a * yi + dd * (sq ? 2 * sx : 1.0)) * sm * bg;
                        double bterm = gb * ((1 - yi) * sx - pwi * yi * snx);
                        double ref = dterm + bterm;
                        double tol = 6e-7 * (fabs(dterm) + fabs(gb) * ((1 - yi) * sx + pwi * yi * snx)) +
                                     6e-8 * (fabs(a * yi) + fabs(dd) * (sq ? 2 : 1)) * sm * bg +
                                     1e-44; /* denormal results (|x| > 87) */
                        double ex = fabs(g[i] - ref) / (tol > 0 ? tol : 1e-300);
                        if (!(g[i] == ref) && ex > err) err = ex;
                    }
                    CHECK_MSG(err <= 1.0, "%s n=%d v%d bce%d: dice_grad error %.3g of tolerance",
                              o->name, n, v, bce, err);
                    CHECK(n == M || g[n] == 7.0f);
                }
            }
        }
        /* a bad byte: ERR_TARGET; stats only (no loss, no sig) */
        yb[5] = 3;
        double s[4];
        CHECK_EQ_INT(o->dbce_u8(s, NULL, x, yb, NULL, 40, SEGLOSS_DBCE_LOSS), SEGLOSS_ERR_TARGET);
        yb[5] = 1;
        s[0] = -5;
        CHECK_EQ_INT(o->dbce_u8(s, NULL, x, yb, NULL, 40, 0), SEGLOSS_OK);
        CHECK(s[0] == -5); /* sums[0] untouched without SEGLOSS_DBCE_LOSS */
    }
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */
TEST(fused_threads_bit_identical) {
    /* sched 0: 3 images, one per phase; sched 1: 9 images with the default
     * schedule, one task per image at 1 and 2 threads (>= 4 images per
     * thread), phases at 3 and 4 (region_fast.c): the same bits */
    static const int64_t dimss[2][4] = {{3, 2, 300, 250}, {9, 2, 60, 50}};
    float *g[4], *gd[4], *gb[4];
    double l[4], ld[4], lb[4];
    for (int path = 0; path < 2 * fz_paths(); path++) {
        const char *pn = fz_use_path(path / 2);
        int sched = path % 2;
        int64_t dims[4];
        memcpy(dims, dimss[sched], sizeof dims);
        segloss__region_fast_set_phase_min(sched ? 0 : 150000);
        for (int ign = 0; ign < 2; ign++) {
            dcase c;
            dcase_make(&c, 4, dims, ign);
            segloss_target tb = {c.yb, SEGLOSS_U8};
            segloss_dice_bce_opts o;
            o = segloss_dice_bce_opts_default();
            o.dice.ignore_index = ign ? (int64_t)(255) : SEGLOSS_IGNORE_NONE;
            segloss_bce_opts bo = segloss_bce_opts_default();
            bo.ignore_index = ign ? (int64_t)(255) : SEGLOSS_IGNORE_NONE;
            for (int th = 1; th <= 4; th++) {
                segloss_set_num_threads(th);
                int k = th - 1;
                g[k] = malloc((size_t)c.numel * sizeof(float));
                gd[k] = malloc((size_t)c.numel * sizeof(float));
                gb[k] = malloc((size_t)c.numel * sizeof(float));
                CHECK_EQ_INT(segloss_dice_bce_forward_backward(&l[k], NULL, g[k], c.x, &tb, &c.s,
                                                               &o, NULL),
                             SEGLOSS_OK);
                CHECK_EQ_INT(segloss_dice_forward(&ld[k], NULL, c.x, &tb, &c.s, &o.dice),
                             SEGLOSS_OK);
                CHECK_EQ_INT(segloss_dice_backward(gd[k], c.x, &tb, &c.s, &o.dice, NULL),
                             SEGLOSS_OK);
                CHECK_EQ_INT(segloss_bce_logits_forward_backward(&lb[k], NULL, gb[k], c.x, &tb,
                                                                 &c.s, &bo, NULL),
                             SEGLOSS_OK);
            }
            for (int k = 1; k < 4; k++) {
                CHECK_MSG(same_bits_d(l[0], l[k]) && same_bits_f(g[0], g[k], c.numel),
                          "%s sched%d ign%d: dice-bce, %d threads differ from 1", pn, sched,
                          ign, k + 1);
                CHECK_MSG(same_bits_d(ld[0], ld[k]) && same_bits_f(gd[0], gd[k], c.numel),
                          "%s sched%d ign%d: dice, %d threads differ from 1", pn, sched, ign,
                          k + 1);
                CHECK_MSG(same_bits_d(lb[0], lb[k]) && same_bits_f(gb[0], gb[k], c.numel),
                          "%s sched%d ign%d: bce-logits, %d threads differ from 1", pn, sched,
                          ign, k + 1);
            }
            for (int k = 0; k < 4; k++) free(g[k]), free(gd[k]), free(gb[k]);
            dcase_free(&c);
        }
    }
    segloss__region_fast_set_phase_min(0);
    segloss_set_num_threads(0);
    segloss__vec_force_scalar(-1);
}

/* ------------------------------------------------------------------------ */
/* 16x1x512x512 (4M elements) against float64                              */
/* ------------------------------------------------------------------------ */
/* Double reference of dice-bce (MONAI defaults: smooth 1e-5, mean) and of
 * bce-logits (mean), per image n of S elements, one channel. */
static void ref_large(const float *x, const float *y, int64_t N, int64_t S, double *bce_mean,
                      double *dice_bce) {
    double bsum = 0.0, dsum = 0.0;
    for (int64_t n = 0; n < N; n++) {
        double I = 0, P = 0, G = 0;
        for (int64_t i = n * S; i < (n + 1) * S; i++) {
            double xi = x[i], yi = y[i];
            double e = exp(-fabs(xi)), lg = log1p(e);
            double p = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
            bsum += (1 - yi) * (lg + fmax(xi, 0)) + yi * (lg + fmax(-xi, 0));
            I += p * yi;
            P += p;
            G += yi;
        }
        dsum += 1 - (2 * I + 1e-5) / (P + G + 1e-5);
    }
    *bce_mean = bsum / (double)(N * S);
    *dice_bce = dsum / (double)N + *bce_mean;
}

TEST(fused_large_vs_float64) {
    int64_t N = FUSED_SANITIZED ? 4 : 64, H = FUSED_SANITIZED ? 128 : 512; /* 16.8M elements */
    int64_t S = H * H, numel = N * S;
    float *x = malloc((size_t)numel * sizeof *x), *yf = malloc((size_t)numel * sizeof *yf);
    float *g = malloc((size_t)numel * sizeof *g);
    uint8_t *yb = malloc((size_t)numel);
    if (!x || !yf || !g || !yb) {
        CHECK_MSG(0, "out of memory");
        free(x), free(yf), free(g), free(yb);
        return;
    }
    fz_state = 2024;
    for (int64_t i = 0; i < numel; i++) {
        /* logits of a trained model: mostly confident, some wrong */
        double u = fz_uniform();
        yb[i] = (uint8_t)(u < 0.35);
        double m = (yb[i] ? 3.0 : -3.0) * (fz_uniform() < 0.9 ? 1 : -1);
        x[i] = (float)(m + 2.5 * (fz_uniform() + fz_uniform() - 1));
        yf[i] = (float)yb[i];
    }
    double rb, rdb;
    ref_large(x, yf, N, S, &rb, &rdb);
    segloss_shape s = {4, {N, 1, H, H}};
    segloss_target tg[2] = {{yb, SEGLOSS_U8}, {yf, SEGLOSS_F32}};
    for (int path = 0; path < fz_paths(); path++) {
        const char *pn = fz_use_path(path);
        for (int k = 0; k < 2; k++) {
            double lb, ldb;
            segloss_bce_opts bo = segloss_bce_opts_default();
            CHECK_EQ_INT(segloss_bce_logits_forward_backward(&lb, NULL, g, x, &tg[k], &s, &bo, NULL),
                         SEGLOSS_OK);
            CHECK_EQ_INT(segloss_dice_bce_forward_backward(&ldb, NULL, g, x, &tg[k], &s, NULL, NULL),
                         SEGLOSS_OK);
            printf("fused_large_vs_float64: %s %s %lldx1x%lldx%lld: bce-logits rel %.2e, "
                   "dice-bce rel %.2e\n",
                   pn, k ? "float32" : "uint8", (long long)N, (long long)H, (long long)H,
                   fabs(lb - rb) / rb, fabs(ldb - rdb) / rdb);
            CHECK_CLOSE(lb, rb, 0, 1e-7);
            CHECK_CLOSE(ldb, rdb, 0, 1e-7);
        }
    }
    segloss__vec_force_scalar(-1);
    free(x), free(yf), free(g), free(yb);
}
