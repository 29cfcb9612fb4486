/* Soft Dice + clDice — MONAI SoftDiceclDiceLoss — forward and backward:
 *   loss = (1 - alpha) * dice + alpha * cldice
 * with MONAI's soft_dice over the kept channels of the whole batch,
 *   dice = 1 - (2 sum p y + s) / (sum y + sum p + s),
 * and cldice as segloss_cldice_forward (cldice.c: the engine, formulas and
 * backward of both terms). */
#include "loss/soft_skel.h"

#include <math.h>

segloss_dice_cldice_opts segloss_dice_cldice_opts_default(void) {
    segloss_dice_cldice_opts o = {.cldice = segloss_cldice_opts_default(), .alpha = 0.5};
    return o;
}

static segloss_status dcl_run(double *loss, float *grad, const float *x,
                              const segloss_target *target, const segloss_shape *shape,
                              const segloss_dice_cldice_opts *opts, const float *grad_out) {
    segloss_dice_cldice_opts def = segloss_dice_cldice_opts_default();
    if (!opts) opts = &def;
    if (!isfinite(opts->alpha)) return SEGLOSS_ERR_ARG;
    return segloss__cldice_run(loss, grad, x, target, shape, &opts->cldice, 1.0 - opts->alpha,
                               opts->alpha, grad_out);
}

segloss_status segloss_dice_cldice_forward(double *loss, const float *x,
                                           const segloss_target *target,
                                           const segloss_shape *shape,
                                           const segloss_dice_cldice_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return dcl_run(loss, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_cldice_backward(float *grad, const float *x,
                                            const segloss_target *target,
                                            const segloss_shape *shape,
                                            const segloss_dice_cldice_opts *opts,
                                            const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return dcl_run(NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_cldice_forward_backward(double *loss, float *grad, const float *x,
                                                    const segloss_target *target,
                                                    const segloss_shape *shape,
                                                    const segloss_dice_cldice_opts *opts,
                                                    const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return dcl_run(loss, grad, x, target, shape, opts, grad_out);
}
