/* Soft Dice loss — MONAI DiceLoss (and smp DiceLoss with opts->smp),
 * forward and backward.
 *
 * Per group g = (n,c), or c summed over n with `batch` (see region.h):
 *   I = sum p*y,  P = sum p (squared: sum p^2),  G = sum y (squared: sum y^2)
 *   D = P + G + s_dr            (jaccard: D = 2*(P + G - I) + s_dr)
 *   f = 1 - (2I + s_nr) / D
 * smp (SEGLOSS_SMP_CURRENT, smp >= 0.4):
 *   f = 1 - (I + s_nr)/max((P + G)/2 + s_dr, 1e-7),  I = sum min(p, y)
 * smp 0.3.x (SEGLOSS_SMP_0_3): f = 1 - (2I + s_nr)/max(P + G + s_dr, 1e-7);
 * both 0 for channels with G = 0; log_loss: f = -ln(max(score, 1e-7)).
 * Backward, with num = 2I + s_nr (segloss__region_score_loss gives
 * d f/d num and d f/d D):
 *   df/dI = 2 df/dnum + df/dD * dD/dI,   dD/dI = 0 (jaccard: -2)
 *   df/dP = df/dD * dD/dP,               dD/dP = 1 (jaccard: 2)
 * and the region sweep turns these into d f / d x (squared: dP/dp = 2p).
 * D = 0 (an empty item with s_dr = 0) gives NaN, as MONAI does. */
#include "loss/region.h"

#define DICE_ALLOW (SEGLOSS__REGION_SQUARED | SEGLOSS__REGION_JACCARD | SEGLOSS__REGION_SMP)

static double dice_item(const segloss__region *r, const void *params, int64_t g, double up,
                        double *dI, double *dP) {
    (void)params;
    double I = r->I[g], P = r->P[g], G = r->G[g];
    double dnum, dden;
    if (r->o->smp == SEGLOSS_SMP_CURRENT) {
        /* smp >= 0.4: soft_tversky_score(alpha = beta = 1/2) */
        double f = segloss__region_score_loss(r, I + r->snr, 0.5 * (P + G) + r->sdr, G, up,
                                              &dnum, &dden);
        *dI = dnum;
        *dP = 0.5 * dden;
        return f;
    }
    int jac = r->o->jaccard != 0;
    double num = 2.0 * I + r->snr;
    double den = (jac ? 2.0 * (P + G - I) : P + G) + r->sdr;
    double f = segloss__region_score_loss(r, num, den, G, up, &dnum, &dden);
    *dI = 2.0 * dnum + (jac ? -2.0 * dden : 0.0);
    *dP = jac ? 2.0 * dden : dden;
    return f;
}

const segloss__region_loss segloss__dice_loss = {dice_item, NULL, DICE_ALLOW, 0};

segloss_status segloss_dice_items_shape(segloss_shape *items, const segloss_shape *shape,
                                        const segloss_dice_opts *opts) {
    return segloss__region_items_shape(items, shape, opts, DICE_ALLOW);
}

static const segloss_dice_opts dice_defaults = SEGLOSS__DICE_DEFAULTS;

segloss_dice_opts segloss_dice_opts_default(void) { return dice_defaults; }

segloss_status segloss__region_items_shape(segloss_shape *items, const segloss_shape *shape,
                                           const segloss_dice_opts *opts, unsigned allow) {
    if (!items) return SEGLOSS_ERR_NULL;
    segloss__region r;
    segloss_status st = segloss__region_init(&r, NULL, NULL, shape, opts ? opts : &dice_defaults,
                                             allow | SEGLOSS__REGION_SHAPE_ONLY);
    if (st != SEGLOSS_OK) return st;
    memset(items, 0, sizeof *items);
    if (r.batch) {
        items->ndim = 1;
        items->dim[0] = r.ck;
    } else {
        items->ndim = 2;
        items->dim[0] = r.n;
        items->dim[1] = r.ck;
    }
    return SEGLOSS_OK;
}

segloss_status segloss_dice_forward(double *loss, float *elems, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_dice_opts *opts) {
    return segloss__region_forward(&segloss__dice_loss, loss, elems, x, target, shape, opts);
}

segloss_status segloss_dice_backward(float *grad, const float *x, const segloss_target *target,
                                     const segloss_shape *shape, const segloss_dice_opts *opts,
                                     const float *grad_out) {
    return segloss__region_backward(&segloss__dice_loss, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_forward_backward(double *loss, float *elems, float *grad,
                                             const float *x, const segloss_target *target,
                                             const segloss_shape *shape,
                                             const segloss_dice_opts *opts,
                                             const float *grad_out) {
    return segloss__region_forward_backward(&segloss__dice_loss, loss, elems, grad, x, target,
                                            shape, opts, grad_out);
}

/* Data-parallel statistics (region_stats.c). */
segloss_status segloss_dice_loss_from_stats(double *loss, float *elems, const double *stats,
                                            const segloss_shape *shape,
                                            const segloss_dice_opts *opts,
                                            const segloss_batch_part *part) {
    return segloss__region_loss_from_stats(&segloss__dice_loss, loss, elems, stats, shape, opts,
                                           part);
}

segloss_status segloss_dice_backward_from_stats(float *grad, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_dice_opts *opts,
                                                const segloss_batch_part *part,
                                                const double *stats, const float *grad_out) {
    return segloss__region_backward_from_stats(&segloss__dice_loss, grad, x, target, shape, opts,
                                               part, stats, grad_out);
}
