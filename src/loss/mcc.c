/* Matthews correlation coefficient loss — smp MCCLoss — forward and
 * backward.
 *
 * One item: every element of the array (smp flattens the batch too). With
 * p the probability (activation NONE: the input, smp's convention; SIGMOID:
 * sigmoid of logits), y the target, M the element count and
 *   I = sum p*y,  P = sum p,  G = sum y      (the region sums, region.h)
 *   tp = I + e,  fp = P - I + e,  fn = G - I + e,  tn = M - P - G + I + e
 *   num = tp*tn - fp*fn,  den = sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))
 *   f = 1 - num/den
 * with e = eps (smp: 1e-5). tp+fp = P + 2e, tp+fn = G + 2e,
 * tn+fp = M - G + 2e, tn+fn = M - P + 2e: den depends on P (and G) only.
 * Backward (region.h: d f/d I and d f/d P, the sweep does the rest):
 *   d num/dI = tp + tn + fp + fn,   d num/dP = -(tp + fn)
 *   d den/dP = den/2 * (1/(P + 2e) - 1/(M - P + 2e))
 *   df/dI = -(d num/dI)/den,   df/dP = -(d num/dP)/den + num (d den/dP)/den^2 */
#include "loss/region.h"

#include <math.h>

segloss_mcc_opts segloss_mcc_opts_default(void) {
    segloss_mcc_opts o = {.reduction = SEGLOSS_REDUCTION_MEAN,
                          .activation = SEGLOSS_ACTIVATION_NONE, .eps = 1e-5};
    return o;
}

static double mcc_item(const segloss__region *r, const void *params, int64_t g, double up,
                       double *dI, double *dP) {
    double e = *(const double *)params, M = (double)r->s;
    double I = r->I[g], P = r->P[g], G = r->G[g];
    double tp = I + e, fp = P - I + e, fn = G - I + e, tn = M - P - G + I + e;
    double num = tp * tn - fp * fn;
    double den = sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    double dden = 0.5 * den * (1.0 / (tp + fp) - 1.0 / (tn + fn));
    *dI = -up * (tp + tn + fp + fn) / den;
    *dP = up * ((tp + fn) / den + num * dden / (den * den));
    return 1.0 - num / den;
}

/* The region view: the flat array as one image of one channel. */
static segloss_status mcc_setup(segloss_shape *flat, segloss_dice_opts *d, double *eps,
                                const segloss_shape *shape, const segloss_mcc_opts *o) {
    segloss_mcc_opts def = segloss_mcc_opts_default();
    if (!o) o = &def;
    if (!shape) return SEGLOSS_ERR_NULL;
    int64_t numel;
    segloss_status st = segloss_shape_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (!isfinite(o->eps) || o->eps < 0.0) return SEGLOSS_ERR_ARG;
    if (o->activation != SEGLOSS_ACTIVATION_NONE && o->activation != SEGLOSS_ACTIVATION_SIGMOID)
        return SEGLOSS_ERR_ARG;
    memset(flat, 0, sizeof *flat);
    flat->ndim = 1;
    flat->dim[0] = numel;
    *d = segloss_dice_opts_default();
    d->reduction = o->reduction;
    d->activation = o->activation;
    d->smooth_nr = d->smooth_dr = 0.0;
    d->target_kind = SEGLOSS_TARGET_DENSE;
    *eps = o->eps;
    return SEGLOSS_OK;
}

segloss_status segloss_mcc_forward(double *loss, float *elems, const float *x,
                                   const segloss_target *target, const segloss_shape *shape,
                                   const segloss_mcc_opts *opts) {
    segloss_shape flat;
    segloss_dice_opts d;
    double eps;
    segloss_status st = mcc_setup(&flat, &d, &eps, shape, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {mcc_item, &eps, 0, 0};
    return segloss__region_forward(&L, loss, elems, x, target, &flat, &d);
}

segloss_status segloss_mcc_backward(float *grad, const float *x, const segloss_target *target,
                                    const segloss_shape *shape, const segloss_mcc_opts *opts,
                                    const float *grad_out) {
    segloss_shape flat;
    segloss_dice_opts d;
    double eps;
    segloss_status st = mcc_setup(&flat, &d, &eps, shape, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {mcc_item, &eps, 0, 0};
    return segloss__region_backward(&L, grad, x, target, &flat, &d, grad_out);
}
