/* Dice + BCE-with-logits — MONAI DiceCELoss with one channel — forward and
 * backward.
 *
 *   loss = lambda_dice * dice(x, y) + lambda_bce * bce(x, y)
 * dice: segloss_dice with opts->dice (sigmoid on logits, dense target).
 * bce:  l_i = (1-y_i) softplus(x_i) + pw_i y_i softplus(-x_i) over every
 *       element not ignored (all channels); MEAN divides by their count K
 *       (0 when K = 0), SUM adds. This is BCEWithLogitsLoss(pos_weight) in
 *       the stable form of bce_logits.c:
 *         dl_i/dx_i = (1-y_i) sigmoid(x_i) - pw_i y_i sigmoid(-x_i).
 * The reduction (MEAN or SUM) is opts->dice.reduction, for both parts, as
 * MONAI passes its one reduction to both; NONE is an error there and here.
 * The gradient is the dice sweep's (rounded to float) plus the BCE term,
 * added in double and rounded once more. */
#include "kernels/scalar.h"
#include "loss/region.h"

#include <math.h>

#define DICE_BCE_ALLOW                                                                 \
    (SEGLOSS__REGION_SQUARED | SEGLOSS__REGION_JACCARD | SEGLOSS__REGION_SMP |          \
     SEGLOSS__REGION_LOGITS)
#define BCE_CHUNK 256

typedef struct bce_ctx {
    const float *x;
    const segloss_target *t;
    segloss_bcast pw;
    int has_ign;
    double ign;
    float *grad;           /* backward: add scale * dl/dx */
    double scale;
} bce_ctx;

/* partial[0] = sum of l_i, partial[1] = count of elements not ignored; with
 * c->grad, adds the gradient instead. */
static segloss_status bce_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const bce_ctx *c = ctx;
    double y[BCE_CHUNK];
    unsigned char m[BCE_CHUNK];
    float pw[BCE_CHUNK];
    double sum = 0.0, count = 0.0;
    for (int64_t s0 = begin; s0 < end; s0 += BCE_CHUNK) {
        int64_t len = end - s0 < BCE_CHUNK ? end - s0 : BCE_CHUNK;
        segloss_status st = segloss__region_load_dense(y, m, c->t, s0, len, c->has_ign, c->ign);
        if (st != SEGLOSS_OK) return st;
        if (c->pw.data) segloss__bcast_load(pw, &c->pw, s0, s0 + len);
        const float *x = c->x + s0;
        for (int64_t i = 0; i < len; i++) {
            if (!m[i]) continue;
            double xi = x[i], yi = y[i], pwi = c->pw.data ? pw[i] : 1.0;
            if (c->grad) {
                double g = (1.0 - yi) * segloss__sigmoid_d(xi) - pwi * yi * segloss__sigmoid_d(-xi);
                c->grad[s0 + i] = (float)((double)c->grad[s0 + i] + c->scale * g);
            } else {
                double lg = log1p(exp(-fabs(xi)));
                sum += (1.0 - yi) * (lg + fmax(xi, 0.0)) + pwi * yi * (lg + fmax(-xi, 0.0));
                count += 1.0;
            }
        }
    }
    partial[0] = sum;
    partial[1] = count;
    return SEGLOSS_OK;
}

/* Checks the options that are not the dice part's. */
static segloss_status dice_bce_check(const segloss_dice_bce_opts *o, double *ld, double *lb) {
    if (o->dice.reduction == SEGLOSS_REDUCTION_NONE) return SEGLOSS_ERR_ARG;
    *ld = o->custom_lambdas ? o->lambda_dice : 1.0;
    *lb = o->custom_lambdas ? o->lambda_bce : 1.0;
    if (!isfinite(*ld) || !isfinite(*lb) || *ld < 0.0 || *lb < 0.0) return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* Setup and region sums shared by forward and backward. */
static segloss_status dice_bce_prepare(segloss__region *r, bce_ctx *c, int64_t *numel,
                                       double *ld, double *lb, const float *x,
                                       const segloss_target *t, const segloss_shape *shape,
                                       const segloss_dice_bce_opts *o) {
    memset(c, 0, sizeof *c);
    segloss_status st = segloss__region_init(r, x, t, shape, &o->dice, DICE_BCE_ALLOW);
    if (st != SEGLOSS_OK) return st;
    st = dice_bce_check(o, ld, lb);
    if (st == SEGLOSS_OK) st = segloss__bcast_init(&c->pw, &o->pos_weight, shape);
    if (st == SEGLOSS_OK) st = segloss__region_stats(r);
    if (st != SEGLOSS_OK) {
        segloss__region_free(r);
        return st;
    }
    c->x = x;
    c->t = t;
    c->has_ign = r->has_ign;
    c->ign = r->ign;
    *numel = r->n * r->c * r->s;
    return SEGLOSS_OK;
}

segloss_status segloss_dice_bce_forward(double *loss, double *parts, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_dice_bce_opts *opts) {
    static const segloss_dice_bce_opts defaults;
    if (!opts) opts = &defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    segloss__region r;
    bce_ctx c;
    int64_t numel;
    double ld, lb;
    segloss_status st = dice_bce_prepare(&r, &c, &numel, &ld, &lb, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    double dice, tot[2];
    for (int64_t g = 0; g < r.groups; g++) {
        double a, b;
        r.dI[g] = segloss__dice_item(&r, NULL, g, 0.0, &a, &b);
    }
    segloss__region_reduce(&dice, NULL, r.dI, r.groups, opts->dice.reduction);
    st = segloss__reduce_blocks(numel, 2, bce_block, &c, tot);
    if (st == SEGLOSS_OK) {
        double bce = tot[0];
        if (opts->dice.reduction == SEGLOSS_REDUCTION_MEAN) bce = tot[1] > 0.0 ? tot[0] / tot[1] : 0.0;
        if (parts) {
            parts[0] = dice;
            parts[1] = bce;
        }
        *loss = ld * dice + lb * bce;
    }
    segloss__region_free(&r);
    return st;
}

segloss_status segloss_dice_bce_backward(float *grad, const float *x,
                                         const segloss_target *target, const segloss_shape *shape,
                                         const segloss_dice_bce_opts *opts,
                                         const float *grad_out) {
    static const segloss_dice_bce_opts defaults;
    if (!opts) opts = &defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    segloss__region r;
    bce_ctx c;
    int64_t numel;
    double ld, lb;
    segloss_status st = dice_bce_prepare(&r, &c, &numel, &ld, &lb, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    segloss_reduction red = opts->dice.reduction;
    for (int64_t g = 0; g < r.groups; g++) {
        double up = ld * segloss__region_upstream(grad_out, red, g, r.groups);
        (void)segloss__dice_item(&r, NULL, g, up, &r.dI[g], &r.dP[g]);
    }
    st = segloss__region_grad(&r, grad);
    double tot[2];
    /* the BCE element count for MEAN (a forward pass over the targets) */
    if (st == SEGLOSS_OK && red == SEGLOSS_REDUCTION_MEAN)
        st = segloss__reduce_blocks(numel, 2, bce_block, &c, tot);
    if (st == SEGLOSS_OK) {
        double up = lb * (grad_out ? (double)grad_out[0] : 1.0);
        if (red == SEGLOSS_REDUCTION_MEAN) up = tot[1] > 0.0 ? up / tot[1] : 0.0;
        c.grad = grad;
        c.scale = up;
        st = segloss__reduce_blocks(numel, 2, bce_block, &c, tot);
    }
    segloss__region_free(&r);
    return st;
}
