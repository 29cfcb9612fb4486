/* Dice + BCE-with-logits — MONAI DiceCELoss with one channel — forward,
 * backward, and both in one call.
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
 *
 * The computation is the region layer's float32 engine (region_fast.c)
 * with its BCE term: forward, backward and forward_backward give the same
 * bits. */
#include "loss/region.h"

/* MONAI's defaults: lambdas 1 and 1. */
static const segloss_dice_bce_opts dice_bce_defaults = {
    .dice = SEGLOSS__DICE_DEFAULTS, .lambda_dice = 1.0, .lambda_bce = 1.0};

segloss_dice_bce_opts segloss_dice_bce_opts_default(void) { return dice_bce_defaults; }

/* The loss (mode SEGLOSS__FAST_LOSS) and/or the gradient. The engine
 * checks the lambdas and the reduction after the dice options. elems: the
 * other forwards' per-item output, which NONE would fill; NONE is an
 * error here, so it must be NULL. */
static segloss_status dice_bce_run(int mode, double *loss, float *elems, float *grad,
                                   const float *x, const segloss_target *t,
                                   const segloss_shape *shape, const segloss_dice_bce_opts *o,
                                   const float *grad_out) {
    if (!o) o = &dice_bce_defaults;
    if (elems) return SEGLOSS_ERR_ARG;
    segloss__fast_bce bce = {o->lambda_dice, o->lambda_bce, &o->pos_weight};
    return segloss__region_fast(&segloss__dice_loss, &bce, mode, loss, NULL, grad, x, t, shape,
                                &o->dice, grad_out);
}

segloss_status segloss_dice_bce_forward(double *loss, float *elems, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_dice_bce_opts *opts) {
    return dice_bce_run(SEGLOSS__FAST_LOSS, loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_bce_backward(float *grad, const float *x,
                                         const segloss_target *target, const segloss_shape *shape,
                                         const segloss_dice_bce_opts *opts,
                                         const float *grad_out) {
    return dice_bce_run(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_bce_forward_backward(double *loss, float *elems, float *grad,
                                                 const float *x, const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_dice_bce_opts *opts,
                                                 const float *grad_out) {
    return dice_bce_run(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, target,
                        shape, opts, grad_out);
}
