/* Private machinery shared by the region losses (dice, jaccard, tversky,
 * generalized dice, dice + bce).
 *
 * A region loss is a function of per-group sums over space (and over N with
 * `batch`/smp), one group per kept channel c' and image n:
 *   I_g = sum m*p*y,   P_g = sum m*p (squared: m*p^2),   G_g = sum m*y (m*y^2)
 * where m is 0 on ignored elements and 1 elsewhere (smp >= 0.4 forms I_g
 * as (sum p + sum y - sum |p - y|)/2 = sum m*min(p, y): r->min_inter).
 * Files: region.c validates the arguments, turns inputs into probabilities (sigmoid, none, softmax
 * over axis 1), loads dense or class-index targets with their ignore mask,
 * computes the group sums deterministically, and runs the backward sweep
 * given d loss / d I_g and d loss / d P_g:
 *   d loss / d p = m * (dI_g * y + dP_g * dP/dp),   dP/dp = 1 (squared: 2p)
 * then through the activation (p(1-p) for sigmoid; p_c (g_c - sum_j p_j g_j)
 * for softmax, g_j = 0 on dropped channels). The loss files hold only their
 * formula: items from the sums, and dI, dP from the upstream gradient.
 * region_fast.c is the float32 engine for SIGMOID with a DENSE target (the
 * same sums and gradient through vector kernels), region_loss.c the driver
 * that picks one of the two. Calls go loss files -> region_loss.c ->
 * {region_fast.c, region.c} and region_fast.c -> region.c, never back.
 *
 * Determinism: work item (n, b) covers spatial block b (SEGLOSS_BLOCK
 * elements) of image n for every channel and writes its own partial sums;
 * the totals add the partials in (n, b) order. The partition depends only
 * on the shape, so results are bit-identical for any thread count. */
#ifndef SEGLOSS_LOSS_REGION_H
#define SEGLOSS_LOSS_REGION_H

#include "core/internal.h"

/* Options a loss accepts beyond the common ones (others must be 0). */
enum {
    SEGLOSS__REGION_SQUARED = 1,  /* squared */
    SEGLOSS__REGION_JACCARD = 2,  /* jaccard (MONAI's dice flag) */
    SEGLOSS__REGION_SMP = 4,      /* smp, log_loss */
    SEGLOSS__REGION_LOGITS = 8,   /* activation must be SIGMOID, target DENSE */
    SEGLOSS__REGION_SHAPE_ONLY = 16 /* validate shape and options only */
};

#define SEGLOSS__REGION_EPS 1e-7   /* smp's eps: denominator and log clamp */

/* segloss_dice_opts_default() as a constant initializer (MONAI's smoothing
 * 1e-5), for the defaults of every struct that holds one. */
#define SEGLOSS__DICE_DEFAULTS                                                            \
    {.reduction = SEGLOSS_REDUCTION_MEAN, .activation = SEGLOSS_ACTIVATION_SIGMOID,      \
     .smooth_nr = 1e-5, .smooth_dr = 1e-5, .target_kind = SEGLOSS_TARGET_AUTO,           \
     .ignore_index = SEGLOSS_IGNORE_NONE}

typedef struct segloss__region {
    const float *x;
    const segloss_target *t;
    const segloss_dice_opts *o;
    int64_t n, c, s;      /* batch, channels, spatial size of the input */
    int64_t c0, ck;       /* first kept channel (1 with no_background and C > 1), kept count */
    int64_t nb;           /* spatial blocks per image */
    int index;            /* class-index target of shape (N, spatial...) */
    int act;              /* segloss_activation */
    int squared;
    int batch;            /* sums over N too (batch or smp) */
    int min_inter;        /* smp >= 0.4 (SEGLOSS_SMP_CURRENT): I_g = sum m*min(p, y),
                             d/dp = 1 (p < y), 1/2 (p == y), 0 (p > y) */
    int64_t ign;          /* ignore value, SEGLOSS_IGNORE_NONE: none */
    int64_t groups;       /* batch ? ck : n*ck; group g = (n*)ck + c' */
    double snr, sdr;      /* smoothing in effect */
    double *I, *P, *G;    /* sums per group */
    double *dI, *dP;      /* backward: d loss / d I_g, d P_g (set by the loss) */
} segloss__region;

/* Validates and fills r (allocating the per-group arrays); on error nothing
 * is left allocated. Checks, in order: shape NULL; reduction, activation;
 * numel; rank 1..5; smoothing finite; options (allow mask, target kind,
 * ignore value, C for softmax/index); x, target NULL; target dtype. */
segloss_status segloss__region_init(segloss__region *r, const float *x, const segloss_target *t,
                                    const segloss_shape *shape, const segloss_dice_opts *o,
                                    unsigned allow);
void segloss__region_free(segloss__region *r);

/* The NONE loss array of a per-group loss (dice, jaccard, tversky): (N, C')
 * or (C',) with batch/smp; the options are checked against `allow` (opts
 * NULL: the defaults). */
segloss_status segloss__region_items_shape(segloss_shape *items, const segloss_shape *shape,
                                           const segloss_dice_opts *opts, unsigned allow);

/* Fills r->I, r->P, r->G. Errors: DOMAIN (activation NONE, p outside
 * [0,1]), TARGET, NOMEM; the lowest work item's error wins. */
segloss_status segloss__region_stats(segloss__region *r);

/* Adds the per-block partial sums of images [n0, n1) to r->I, r->P, r->G:
 * for image n, kept channel k and spatial block b, part + n*s_n + k*s_k +
 * b*s_b holds I, P, G. Per image and channel the blocks are added in order,
 * then (with batch) the image totals in image order. */
void segloss__region_add_sums(segloss__region *r, int64_t n0, int64_t n1, const double *part,
                              int64_t s_n, int64_t s_k, int64_t s_b);

/* Writes grad (input's shape, overwritten) from r->dI and r->dP. */
segloss_status segloss__region_grad(const segloss__region *r, float *grad);

/* Upstream gradient of item k out of `items`: grad_out NULL -> 1; NONE ->
 * grad_out[k]; SUM -> grad_out[0]; MEAN -> grad_out[0] / items. */
double segloss__region_upstream(const float *grad_out, segloss_reduction red, int64_t k,
                                int64_t items);

/* Reduces the item losses f[0..items): MEAN, SUM (into *loss), NONE (sum
 * into *loss, and the values into elems when elems != NULL). */
void segloss__region_reduce(double *loss, float *elems, const double *f, int64_t items,
                            segloss_reduction red);

/* The score-to-loss step shared by dice and jaccard: score = num / den
 * with den = den_raw, or max(den_raw, eps) with smp; loss = 1 - score, or
 * -ln(max(score, eps)) with log_loss; 0 with smp when the group's target
 * sum G is 0 (smp's mask). Returns the loss; *dnum, *dden receive
 * up * d loss / d num and up * d loss / d den_raw (0 where a clamp holds,
 * as torch's clamp_min passes the gradient only where x >= min). */
double segloss__region_score_loss(const segloss__region *r, double num, double den_raw, double G,
                                  double up, double *dnum, double *dden);

/* A region loss is its item function: item i's loss from the group sums,
 * and up * d loss_i / d I_g, up * d loss_i / d P_g of its groups written to
 * dI[0..], dP[0..] (one group: dice, jaccard, tversky; the kept channels of
 * an image, or of the batch with `batch`: generalized dice). */
typedef double (*segloss__region_item_fn)(const segloss__region *r, const void *params,
                                          int64_t i, double up, double *dI, double *dP);

typedef struct segloss__region_loss {
    segloss__region_item_fn item;
    const void *params;
    unsigned allow;        /* SEGLOSS__REGION_* options the loss takes */
    int per_image;         /* 0: an item is a group; 1: an image's groups */
} segloss__region_loss;

/* Number of items of L: the groups, or (per_image) N, 1 with batch. Item i
 * covers groups [i*g, (i+1)*g) with g = 1 or (per_image) ck. */
int64_t segloss__region_items(const segloss__region *r, const segloss__region_loss *L);

/* Items [i0, i1): f[i] = item i's loss, its dI/dP into r->dI, r->dP; up =
 * scale * segloss__region_upstream(grad_out, ...) when `grad`, else 0. */
void segloss__region_eval_items(segloss__region *r, const segloss__region_loss *L, int64_t i0,
                                int64_t i1, int grad, double scale, const float *grad_out,
                                double *f);

/* Dice's loss (dice.c), also the Dice part of dice + bce. */
extern const segloss__region_loss segloss__dice_loss;

/* Forward, backward and both of a region loss, arguments as the public
 * calls (opts NULL = defaults; loss/grad NULL is SEGLOSS_ERR_NULL).
 * Activation SIGMOID with a DENSE target (the common case, and every
 * default) takes the float32 engine (region_fast.c), everything else the
 * region sweep (region.c). region_loss.c. */
segloss_status segloss__region_forward(const segloss__region_loss *L, double *loss, float *elems,
                                       const float *x, const segloss_target *t,
                                       const segloss_shape *shape, const segloss_dice_opts *opts);
segloss_status segloss__region_backward(const segloss__region_loss *L, float *grad,
                                        const float *x, const segloss_target *t,
                                        const segloss_shape *shape, const segloss_dice_opts *opts,
                                        const float *grad_out);
segloss_status segloss__region_forward_backward(const segloss__region_loss *L, double *loss,
                                                float *elems, float *grad, const float *x,
                                                const segloss_target *t,
                                                const segloss_shape *shape,
                                                const segloss_dice_opts *opts,
                                                const float *grad_out);

/* Data-parallel statistics (region_stats.c): the batch loss of L from the
 * all-reduced statistics array, and this rank's gradient of it; arguments
 * as the public segloss_X_loss_from_stats / segloss_X_backward_from_stats. */
segloss_status segloss__region_loss_from_stats(const segloss__region_loss *L, double *loss,
                                               float *elems, const double *stats,
                                               const segloss_shape *shape,
                                               const segloss_dice_opts *o,
                                               const segloss_batch_part *part);
segloss_status segloss__region_backward_from_stats(const segloss__region_loss *L, float *grad,
                                                   const float *x, const segloss_target *t,
                                                   const segloss_shape *shape,
                                                   const segloss_dice_opts *o,
                                                   const segloss_batch_part *part,
                                                   const double *stats, const float *grad_out);

/* Whether the float32 engine computes the sums this target needs: not with
 * smp >= 0.4 (min(p, y) intersection) and a float target (for 0/1 targets
 * min(p, y) = p*y, the engine's product). */
static inline int segloss__region_fast_target(const segloss_dice_opts *o,
                                              const segloss_target *t) {
    return !(o->smp == SEGLOSS_SMP_CURRENT && t &&
             (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64));
}

/* The float32 engine (region_fast.c): activation SIGMOID and a DENSE
 * target, two passes per phase of images (one sigmoid per element and pass,
 * vector kernels). Optionally with a BCE-with-logits term over every element
 * (dice + bce): loss = lambda_region * region + lambda_bce * bce. */
typedef struct segloss__fast_bce {
    double lambda_region, lambda_bce;  /* finite, >= 0 */
    const segloss_farray *pos_weight;  /* may be NULL or have data NULL */
} segloss__fast_bce;

enum { SEGLOSS__FAST_LOSS = 1, SEGLOSS__FAST_GRAD = 2 };

/* mode: SEGLOSS__FAST_LOSS (loss; elems for NONE) and/or
 * SEGLOSS__FAST_GRAD (grad). bce
 * NULL: the region loss alone, whose dropped channel (no_background) gets
 * gradient 0 without reading its target. opts must not be NULL; L->allow
 * must include SEGLOSS__REGION_LOGITS, or the caller checked activation
 * and target kind. */
segloss_status segloss__region_fast(const segloss__region_loss *L, const segloss__fast_bce *bce,
                                    int mode, double *loss, float *elems,
                                    float *grad, const float *x, const segloss_target *t,
                                    const segloss_shape *shape, const segloss_dice_opts *opts,
                                    const float *grad_out);

/* Test hook: least elements per phase of that engine (<= 0: the default,
 * 2^20; > 0 also turns off its one-task-per-image schedule). Results do
 * not depend on it. Not thread-safe. */
void segloss__region_fast_set_phase_min(int64_t elems);

#endif
