/* Generalized Dice loss — MONAI GeneralizedDiceLoss — forward and backward.
 *
 * Item i = image n (or the whole batch with `batch`); its groups are the
 * kept channels c of that image (region.h):
 *   w_c = 1/G_c^2 (square), 1/G_c (simple), 1 (uniform);  G_c = sum y
 *   infinite weights (G_c = 0) := max of the item's weights after setting
 *   them to 0, i.e. the largest finite weight, or 0 when all are infinite
 *   num = 2 sum_c w_c I_c + s_nr,  den = sum_c w_c (P_c + G_c) + s_dr
 *   f_i = 1 - num/den
 * This is MONAI's code path: w = w_func(ground_o); w[infs] = 0;
 * w = w + infs * max(w) (per row, or over all channels with batch). The
 * weights depend on the target only and are constants for the gradient:
 *   df/dI_c = -2 w_c / den,   df/dP_c = num w_c / den^2.
 * MONAI evaluates w in float32 (ground_o.float()); segloss in double. */
#include "loss/region.h"

#include <math.h>
#include <stdlib.h>

/* MONAI's defaults. */
static const segloss_generalized_dice_opts gdice_defaults = {
    .region = SEGLOSS__DICE_DEFAULTS, .w_type = SEGLOSS_GDICE_SQUARE};

segloss_generalized_dice_opts segloss_generalized_dice_opts_default(void) {
    return gdice_defaults;
}

static segloss_status gdice_check(const segloss_generalized_dice_opts *o) {
    if (o->w_type != SEGLOSS_GDICE_SQUARE && o->w_type != SEGLOSS_GDICE_SIMPLE &&
        o->w_type != SEGLOSS_GDICE_UNIFORM)
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* Items: images, or one with batch. Groups of item i: [i*ck, (i+1)*ck). */
static int64_t gdice_items(const segloss__region *r) { return r->batch ? 1 : r->n; }

/* Weight of group g (of an item whose largest finite weight is mx; pass
 * mx = INFINITY to get the raw weight). */
static double gdice_weight(segloss_gdice_weight wt, double G, double mx) {
    if (wt == SEGLOSS_GDICE_UNIFORM) return 1.0;
    if (!(G > 0.0)) return mx;
    return wt == SEGLOSS_GDICE_SQUARE ? 1.0 / (G * G) : 1.0 / G;
}

/* Item i (image i, or the batch): the groups [i*ck, (i+1)*ck); infinite
 * weights (G = 0) become the item's largest finite weight (0 if none). */
static double gdice_item(const segloss__region *r, const void *params, int64_t i, double up,
                         double *dI, double *dP) {
    segloss_gdice_weight wt = *(const segloss_gdice_weight *)params;
    const double *I = r->I + i * r->ck, *P = r->P + i * r->ck, *G = r->G + i * r->ck;
    double mx = 0.0;
    for (int64_t k = 0; k < r->ck; k++) {
        double v = gdice_weight(wt, G[k], INFINITY);
        if (!isinf(v) && v > mx) mx = v;
    }
    double a = 0.0, b = 0.0;
    for (int64_t k = 0; k < r->ck; k++) {
        double w = gdice_weight(wt, G[k], mx);
        a += I[k] * w;
        b += (P[k] + G[k]) * w;
    }
    double num = 2.0 * a + r->snr, den = b + r->sdr;
    for (int64_t k = 0; k < r->ck; k++) {
        double w = gdice_weight(wt, G[k], mx);
        dI[k] = -up * 2.0 * w / den;
        dP[k] = up * num * w / (den * den);
    }
    return 1.0 - num / den;
}

segloss_status segloss_generalized_dice_items_shape(segloss_shape *items,
                                                    const segloss_shape *shape,
                                                    const segloss_generalized_dice_opts *opts) {
    if (!opts) opts = &gdice_defaults;
    if (!items) return SEGLOSS_ERR_NULL;
    segloss__region r;
    segloss_status st =
        segloss__region_init(&r, NULL, NULL, shape, &opts->region, SEGLOSS__REGION_SHAPE_ONLY);
    if (st == SEGLOSS_OK) st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    memset(items, 0, sizeof *items);
    items->ndim = 1;
    items->dim[0] = gdice_items(&r);
    return SEGLOSS_OK;
}

segloss_status segloss_generalized_dice_forward(double *loss, float *elems, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_generalized_dice_opts *opts) {
    if (!opts) opts = &gdice_defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    segloss_status st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {gdice_item, &opts->w_type, 0, 1};
    return segloss__region_forward(&L, loss, elems, x, target, shape, &opts->region);
}

segloss_status segloss_generalized_dice_backward(float *grad, const float *x,
                                                 const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_generalized_dice_opts *opts,
                                                 const float *grad_out) {
    if (!opts) opts = &gdice_defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    segloss_status st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {gdice_item, &opts->w_type, 0, 1};
    return segloss__region_backward(&L, grad, x, target, shape, &opts->region, grad_out);
}

segloss_status segloss_generalized_dice_forward_backward(
    double *loss, float *elems, float *grad, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_opts *opts, const float *grad_out) {
    if (!opts) opts = &gdice_defaults;
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    segloss_status st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {gdice_item, &opts->w_type, 0, 1};
    return segloss__region_forward_backward(&L, loss, elems, grad, x, target, shape,
                                            &opts->region, grad_out);
}

/* Data-parallel statistics (region_stats.c). */
segloss_status segloss_generalized_dice_loss_from_stats(double *loss, float *elems,
                                                        const double *stats,
                                                        const segloss_shape *shape,
                                                        const segloss_generalized_dice_opts *opts,
                                                        const segloss_batch_part *part) {
    if (!opts) opts = &gdice_defaults;
    segloss_status st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {gdice_item, &opts->w_type, 0, 1};
    return segloss__region_loss_from_stats(&L, loss, elems, stats, shape, &opts->region, part);
}

segloss_status segloss_generalized_dice_backward_from_stats(
    float *grad, const float *x, const segloss_target *target, const segloss_shape *shape,
    const segloss_generalized_dice_opts *opts, const segloss_batch_part *part,
    const double *stats, const float *grad_out) {
    if (!opts) opts = &gdice_defaults;
    segloss_status st = gdice_check(opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {gdice_item, &opts->w_type, 0, 1};
    return segloss__region_backward_from_stats(&L, grad, x, target, shape, &opts->region, part,
                                               stats, grad_out);
}
