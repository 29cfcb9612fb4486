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

static const segloss_dice_bce_opts defaults_db;

/* The loss (mode SEGLOSS__FAST_LOSS: loss, parts) and/or the gradient. The
 * engine checks the lambdas and the reduction after the dice options. */
static segloss_status dice_bce_run(int mode, double *loss, double *parts, float *grad,
                                   const float *x, const segloss_target *t,
                                   const segloss_shape *shape, const segloss_dice_bce_opts *o,
                                   const float *grad_out) {
    if (!o) o = &defaults_db;
    segloss__fast_bce bce = {1.0, 1.0, &o->pos_weight};
    if (o->custom_lambdas) {
        bce.lambda_region = o->lambda_dice;
        bce.lambda_bce = o->lambda_bce;
    }
    return segloss__region_fast(&segloss__dice_loss, &bce, mode, loss, parts, NULL, grad, x, t,
                                shape, &o->dice, grad_out);
}

segloss_status segloss_dice_bce_forward(double *loss, double *parts, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_dice_bce_opts *opts) {
    return dice_bce_run(SEGLOSS__FAST_LOSS, loss, parts, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_bce_backward(float *grad, const float *x,
                                         const segloss_target *target, const segloss_shape *shape,
                                         const segloss_dice_bce_opts *opts,
                                         const float *grad_out) {
    return dice_bce_run(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_bce_forward_backward(double *loss, double *parts, float *grad,
                                                 const float *x, const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_dice_bce_opts *opts,
                                                 const float *grad_out) {
    return dice_bce_run(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, parts, grad, x, target,
                        shape, opts, grad_out);
}
