/* Dice + cross-entropy — MONAI DiceCELoss, and nnU-Net's DC_and_CE_loss
 * with `nnunet` — forward, backward, and both in one call.
 *
 * C > 1 (axis 1 of an (N, C, spatial...) input), class-index target of
 * shape (N, spatial...):
 *   loss = lambda_dice * dice(x, y) + lambda_ce * ce(x, y)
 *   dice: segloss_dice with opts->dice (any activation; SOFTMAX by default,
 *         the target one-hot inside as MONAI's to_onehot_y)
 *   ce:   torch CrossEntropyLoss on the logits (label_smoothing; ignore
 *         value dice.ignore_index; reduction dice.reduction, MEAN or SUM)
 *   nnunet: the dice term is nnU-Net's -mean(dc) = dice - 1 (MEAN only);
 *         with MemoryEfficientSoftDiceLoss's defaults in
 *         segloss_dice_ce_opts_nnunet (smooth 1e-5, do_bg False).
 * Backward: d loss/dx = lambda_dice d dice/dx + lambda_ce d ce/dx, the two
 * gradients of dice.c and ce.c added in float32 (the CE part goes through a
 * scratch buffer of the input's size).
 * C = 1 (or ndim <= 2): MONAI switches to BCEWithLogitsLoss; this is
 * segloss_dice_bce with lambda_bce = lambda_ce (activation SIGMOID, dense
 * target; label_smoothing and nnunet must be 0). */
#include "loss/region.h"

#include <math.h>
#include <stdlib.h>

/* MONAI DiceCELoss(softmax=True, to_onehot_y=True) defaults otherwise. */
segloss_dice_ce_opts segloss_dice_ce_opts_default(void) {
    segloss_dice_ce_opts o = {.dice = SEGLOSS__DICE_DEFAULTS, .lambda_dice = 1.0,
                              .lambda_ce = 1.0};
    o.dice.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    return o;
}

segloss_dice_ce_opts segloss_dice_ce_opts_nnunet(void) {
    segloss_dice_ce_opts o = segloss_dice_ce_opts_default();
    o.dice.no_background = 1; /* do_bg=False */
    o.nnunet = 1;
    return o;
}

static segloss_status check(const segloss_dice_ce_opts *o) {
    if (!isfinite(o->lambda_dice) || !isfinite(o->lambda_ce) || o->lambda_dice < 0.0 ||
        o->lambda_ce < 0.0)
        return SEGLOSS_ERR_ARG;
    if (o->dice.reduction != SEGLOSS_REDUCTION_MEAN && o->dice.reduction != SEGLOSS_REDUCTION_SUM)
        return SEGLOSS_ERR_ARG;
    if (o->nnunet != 0 && (o->nnunet != 1 || o->dice.reduction != SEGLOSS_REDUCTION_MEAN))
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

static segloss_status run(int mode, double *loss, float *elems, float *grad, const float *x,
                          const segloss_target *t, const segloss_shape *shape,
                          const segloss_dice_ce_opts *o, const float *grad_out) {
    segloss_dice_ce_opts defaults;
    if (!o) {
        defaults = segloss_dice_ce_opts_default();
        o = &defaults;
    }
    if (!shape || ((mode & SEGLOSS__FAST_LOSS) && !loss) || ((mode & SEGLOSS__FAST_GRAD) && !grad))
        return SEGLOSS_ERR_NULL;
    segloss_status st = check(o);
    if (st != SEGLOSS_OK) return st;
    if (elems) return SEGLOSS_ERR_ARG; /* NONE is not a reduction of this loss */
    int64_t c = shape->ndim >= 3 ? shape->dim[1] : 1;
    if (c == 1) {
        if (o->label_smoothing != 0.0 || o->nnunet) return SEGLOSS_ERR_ARG;
        segloss_dice_bce_opts b = segloss_dice_bce_opts_default();
        b.dice = o->dice;
        b.lambda_dice = o->lambda_dice;
        b.lambda_bce = o->lambda_ce;
        if (mode == SEGLOSS__FAST_LOSS) return segloss_dice_bce_forward(loss, NULL, x, t, shape, &b);
        if (mode == SEGLOSS__FAST_GRAD)
            return segloss_dice_bce_backward(grad, x, t, shape, &b, grad_out);
        return segloss_dice_bce_forward_backward(loss, NULL, grad, x, t, shape, &b, grad_out);
    }
    segloss_dice_opts d = o->dice;
    if (d.target_kind == SEGLOSS_TARGET_DENSE) return SEGLOSS_ERR_ARG; /* CE takes indices */
    d.target_kind = SEGLOSS_TARGET_INDEX;
    segloss_ce_opts ce = segloss_ce_opts_default();
    ce.reduction = d.reduction;
    ce.ignore_index = d.ignore_index;
    ce.label_smoothing = o->label_smoothing;
    if (mode & SEGLOSS__FAST_LOSS) {
        double ld, lc;
        if ((st = segloss_dice_forward(&ld, NULL, x, t, shape, &d)) != SEGLOSS_OK) return st;
        if ((st = segloss_ce_forward(&lc, NULL, x, t, shape, &ce)) != SEGLOSS_OK) return st;
        if (o->nnunet) ld -= 1.0;
        *loss = o->lambda_dice * ld + o->lambda_ce * lc;
    }
    if (mode & SEGLOSS__FAST_GRAD) {
        int64_t numel;
        if ((st = segloss_shape_numel(shape, &numel)) != SEGLOSS_OK) return st;
        float up = grad_out ? grad_out[0] : 1.0f;
        float ud = (float)(o->lambda_dice * up), uc = (float)(o->lambda_ce * up);
        float *tmp = malloc((size_t)numel * sizeof *tmp); /* numel fits: x has it */
        if (!tmp) return SEGLOSS_ERR_NOMEM;
        st = segloss_dice_backward(grad, x, t, shape, &d, &ud);
        if (st == SEGLOSS_OK) st = segloss_ce_backward(tmp, x, t, shape, &ce, &uc);
        if (st == SEGLOSS_OK)
            for (int64_t i = 0; i < numel; i++) grad[i] += tmp[i];
        free(tmp);
    }
    return st;
}

segloss_status segloss_dice_ce_forward(double *loss, float *elems, const float *x,
                                       const segloss_target *target, const segloss_shape *shape,
                                       const segloss_dice_ce_opts *opts) {
    return run(SEGLOSS__FAST_LOSS, loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_ce_backward(float *grad, const float *x, const segloss_target *target,
                                        const segloss_shape *shape,
                                        const segloss_dice_ce_opts *opts, const float *grad_out) {
    return run(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_ce_forward_backward(double *loss, float *elems, float *grad,
                                                const float *x, const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_dice_ce_opts *opts,
                                                const float *grad_out) {
    return run(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, target, shape,
               opts, grad_out);
}
