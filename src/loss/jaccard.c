/* Soft Jaccard (IoU) loss, forward and backward; smp JaccardLoss with
 * opts->smp.
 *
 * Per group g = (n,c), or c summed over n with `batch` (see region.h):
 *   I = sum p*y,  U = sum p + sum y - I                    (soft union)
 *   f = 1 - (I + s_nr) / (U + s_dr)
 * smp: f = 1 - (I + s)/max(U + s, 1e-7), 0 for channels with sum y = 0
 * (SEGLOSS_SMP_CURRENT: I = sum min(p, y), from the region sweep);
 * log_loss: f = -ln(max(score, 1e-7)).
 * Backward, with num = I + s_nr and den = U + s_dr:
 *   df/dI = df/dnum - df/dden,   df/dP = df/dden
 * (MONAI's DiceLoss(jaccard=True) is a different quantity, 1 - 2I/(2U):
 * that one is segloss_dice with opts->jaccard.) */
#include "loss/region.h"

#define JACCARD_ALLOW SEGLOSS__REGION_SMP

static double jaccard_item(const segloss__region *r, const void *params, int64_t g, double up,
                           double *dI, double *dP) {
    (void)params;
    double I = r->I[g], P = r->P[g], G = r->G[g];
    double num = I + r->snr;
    double den = P + G - I + r->sdr;
    double dnum, dden;
    double f = segloss__region_score_loss(r, num, den, G, up, &dnum, &dden);
    *dI = dnum - dden;
    *dP = dden;
    return f;
}

static const segloss__region_loss jaccard_loss = {jaccard_item, NULL, JACCARD_ALLOW, 0};

segloss_status segloss_jaccard_forward(double *loss, float *elems, const float *x,
                                       const segloss_target *target, const segloss_shape *shape,
                                       const segloss_dice_opts *opts) {
    return segloss__region_forward(&jaccard_loss, loss, elems, x, target, shape, opts);
}

segloss_status segloss_jaccard_backward(float *grad, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_dice_opts *opts, const float *grad_out) {
    return segloss__region_backward(&jaccard_loss, grad, x, target, shape, opts, grad_out);
}

/* Data-parallel statistics (region_stats.c). */
segloss_status segloss_jaccard_loss_from_stats(double *loss, float *elems, const double *stats,
                                               const segloss_shape *shape,
                                               const segloss_dice_opts *opts,
                                               const segloss_batch_part *part) {
    return segloss__region_loss_from_stats(&jaccard_loss, loss, elems, stats, shape, opts, part);
}

segloss_status segloss_jaccard_backward_from_stats(float *grad, const float *x,
                                                   const segloss_target *target,
                                                   const segloss_shape *shape,
                                                   const segloss_dice_opts *opts,
                                                   const segloss_batch_part *part,
                                                   const double *stats, const float *grad_out) {
    return segloss__region_backward_from_stats(&jaccard_loss, grad, x, target, shape, opts, part,
                                               stats, grad_out);
}
