/* Tversky loss — MONAI TverskyLoss, with a focal exponent — forward and
 * backward.
 *
 * Per group g = (n,c), or c summed over n with `batch` (see region.h):
 *   I = sum p*y,  FP = sum p(1-y) = P - I,  FN = sum (1-p)y = G - I
 *   D  = I + alpha*FP + beta*FN + s_dr = (1-alpha-beta) I + alpha P + beta G + s_dr
 *   TI = (I + s_nr) / D,    f = (1 - TI)^gamma
 * (FP and FN are formed from the sums P, G and I, equal to MONAI's direct
 * sums up to rounding: every term is a double sum of float inputs.)
 * Backward, u = 1 - TI, f'(u) = gamma u^(gamma-1) (1 for gamma = 1):
 *   df/dI = -f'(u) (D - (I + s_nr)(1-alpha-beta)) / D^2
 *   df/dP =  f'(u) (I + s_nr) alpha / D^2
 * u < 0 (possible when s_nr > s_dr) with a non-integer gamma gives NaN, as
 * torch.pow does; D = 0 gives NaN as in MONAI. */
#include "loss/region.h"

#include <math.h>

typedef struct tversky_params {
    double alpha, beta, gamma;
} tversky_params;

static double tversky_item(const segloss__region *r, const void *params, int64_t g, double up,
                           double *dI, double *dP) {
    const tversky_params *tp = params;
    double I = r->I[g], P = r->P[g], G = r->G[g];
    double a = tp->alpha, b = tp->beta, gam = tp->gamma;
    double num = I + r->snr;
    double den = I + a * (P - I) + b * (G - I) + r->sdr;
    double u = 1.0 - num / den;
    double f = gam == 1.0 ? u : pow(u, gam);
    double dfu = gam == 1.0 ? 1.0 : gam * pow(u, gam - 1.0);
    double d2 = den * den;
    *dI = -up * dfu * (den - num * (1.0 - a - b)) / d2;
    *dP = up * dfu * num * a / d2;
    return f;
}

/* MONAI's defaults. */
static const segloss_tversky_opts tversky_defaults = {
    .region = SEGLOSS__DICE_DEFAULTS, .alpha = 0.5, .beta = 0.5, .gamma = 1.0};

segloss_tversky_opts segloss_tversky_opts_default(void) { return tversky_defaults; }

/* Validates the Tversky parameters and fills p. */
static segloss_status tversky_params_of(tversky_params *p, const segloss_tversky_opts *o) {
    p->alpha = o->alpha;
    p->beta = o->beta;
    p->gamma = o->gamma;
    if (!isfinite(p->alpha) || !isfinite(p->beta) || !isfinite(p->gamma) || !(p->gamma > 0.0))
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

segloss_status segloss_tversky_items_shape(segloss_shape *items, const segloss_shape *shape,
                                           const segloss_tversky_opts *opts) {
    if (!opts) opts = &tversky_defaults;
    tversky_params p;
    segloss_status st = tversky_params_of(&p, opts);
    if (st != SEGLOSS_OK) return st;
    return segloss__region_items_shape(items, shape, &opts->region, 0);
}

segloss_status segloss_tversky_forward(double *loss, float *elems, const float *x,
                                       const segloss_target *target, const segloss_shape *shape,
                                       const segloss_tversky_opts *opts) {
    if (!opts) opts = &tversky_defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    tversky_params p;
    segloss_status st = tversky_params_of(&p, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {tversky_item, &p, 0, 0};
    return segloss__region_forward(&L, loss, elems, x, target, shape, &opts->region);
}

segloss_status segloss_tversky_backward(float *grad, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_tversky_opts *opts, const float *grad_out) {
    if (!opts) opts = &tversky_defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    tversky_params p;
    segloss_status st = tversky_params_of(&p, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {tversky_item, &p, 0, 0};
    return segloss__region_backward(&L, grad, x, target, shape, &opts->region, grad_out);
}

/* Data-parallel statistics (region_stats.c). */
segloss_status segloss_tversky_loss_from_stats(double *loss, float *elems, const double *stats,
                                               const segloss_shape *shape,
                                               const segloss_tversky_opts *opts,
                                               const segloss_batch_part *part) {
    if (!opts) opts = &tversky_defaults;
    tversky_params p;
    segloss_status st = tversky_params_of(&p, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {tversky_item, &p, 0, 0};
    return segloss__region_loss_from_stats(&L, loss, elems, stats, shape, &opts->region, part);
}

segloss_status segloss_tversky_backward_from_stats(float *grad, const float *x,
                                                   const segloss_target *target,
                                                   const segloss_shape *shape,
                                                   const segloss_tversky_opts *opts,
                                                   const segloss_batch_part *part,
                                                   const double *stats, const float *grad_out) {
    if (!opts) opts = &tversky_defaults;
    tversky_params p;
    segloss_status st = tversky_params_of(&p, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__region_loss L = {tversky_item, &p, 0, 0};
    return segloss__region_backward_from_stats(&L, grad, x, target, shape, &opts->region, part,
                                               stats, grad_out);
}
