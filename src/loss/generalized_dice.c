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

static segloss_status gdice_check(const segloss_generalized_dice_opts *o) {
    if (o->w_type != SEGLOSS_GDICE_SQUARE && o->w_type != SEGLOSS_GDICE_SIMPLE &&
        o->w_type != SEGLOSS_GDICE_UNIFORM)
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* Items: images, or one with batch. Groups of item i: [i*ck, (i+1)*ck). */
static int64_t gdice_items(const segloss__region *r) { return r->batch ? 1 : r->n; }

/* Weights of every group into w (groups entries). */
static void gdice_weights(const segloss__region *r, segloss_gdice_weight wt, double *w) {
    for (int64_t i = 0; i < gdice_items(r); i++) {
        double *wi = w + i * r->ck;
        const double *G = r->G + i * r->ck;
        double mx = 0.0;
        for (int64_t k = 0; k < r->ck; k++) {
            double v;
            if (wt == SEGLOSS_GDICE_UNIFORM) v = 1.0;
            else if (!(G[k] > 0.0)) v = INFINITY;
            else v = wt == SEGLOSS_GDICE_SQUARE ? 1.0 / (G[k] * G[k]) : 1.0 / G[k];
            wi[k] = v;
            if (!isinf(v) && v > mx) mx = v;
        }
        for (int64_t k = 0; k < r->ck; k++)
            if (isinf(wi[k])) wi[k] = mx;
    }
}

/* Numerator and denominator of item i. */
static void gdice_terms(const segloss__region *r, const double *w, int64_t i, double *num,
                        double *den) {
    double a = 0.0, b = 0.0;
    for (int64_t k = 0; k < r->ck; k++) {
        int64_t g = i * r->ck + k;
        a += r->I[g] * w[g];
        b += (r->P[g] + r->G[g]) * w[g];
    }
    *num = 2.0 * a + r->snr;
    *den = b + r->sdr;
}

segloss_status segloss_generalized_dice_items_shape(segloss_shape *items,
                                                    const segloss_shape *shape,
                                                    const segloss_generalized_dice_opts *opts) {
    static const segloss_generalized_dice_opts defaults;
    if (!opts) opts = &defaults;
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

/* Setup shared by forward and backward: region sums and weights. */
static segloss_status gdice_prepare(segloss__region *r, double **w, const float *x,
                                    const segloss_target *t, const segloss_shape *shape,
                                    const segloss_generalized_dice_opts *o) {
    *w = NULL;
    segloss_status st = segloss__region_init(r, x, t, shape, &o->region, 0);
    if (st == SEGLOSS_OK) st = gdice_check(o);
    if (st == SEGLOSS_OK) st = segloss__region_stats(r);
    if (st == SEGLOSS_OK && !(*w = malloc((size_t)r->groups * sizeof **w))) st = SEGLOSS_ERR_NOMEM;
    if (st != SEGLOSS_OK) {
        segloss__region_free(r);
        return st;
    }
    gdice_weights(r, o->w_type, *w);
    return SEGLOSS_OK;
}

segloss_status segloss_generalized_dice_forward(double *loss, float *elems, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_generalized_dice_opts *opts) {
    static const segloss_generalized_dice_opts defaults;
    if (!opts) opts = &defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    segloss__region r;
    double *w;
    segloss_status st = gdice_prepare(&r, &w, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    int64_t items = gdice_items(&r);
    /* item losses into r.dI (items <= groups; unused in forward) */
    for (int64_t i = 0; i < items; i++) {
        double num, den;
        gdice_terms(&r, w, i, &num, &den);
        r.dI[i] = 1.0 - num / den;
    }
    segloss__region_reduce(loss, elems, r.dI, items, opts->region.reduction);
    free(w);
    segloss__region_free(&r);
    return SEGLOSS_OK;
}

segloss_status segloss_generalized_dice_backward(float *grad, const float *x,
                                                 const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_generalized_dice_opts *opts,
                                                 const float *grad_out) {
    static const segloss_generalized_dice_opts defaults;
    if (!opts) opts = &defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    segloss__region r;
    double *w;
    segloss_status st = gdice_prepare(&r, &w, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    int64_t items = gdice_items(&r);
    for (int64_t i = 0; i < items; i++) {
        double num, den;
        gdice_terms(&r, w, i, &num, &den);
        double up = segloss__region_upstream(grad_out, opts->region.reduction, i, items);
        for (int64_t k = 0; k < r.ck; k++) {
            int64_t g = i * r.ck + k;
            r.dI[g] = -up * 2.0 * w[g] / den;
            r.dP[g] = up * num * w[g] / (den * den);
        }
    }
    st = segloss__region_grad(&r, grad);
    free(w);
    segloss__region_free(&r);
    return st;
}
