/* Soft Dice loss — MONAI DiceLoss, forward and backward.
 *
 * Layout: (N, C, spatial...) for ndim 3..5, a single image (N = C = 1) for
 * ndim 1..2. Per item k = (n,c), or k = c summed over n with `batch`:
 *   I = sum p*y,  P = sum p (squared: sum p^2),  G = sum y (squared: sum y^2)
 *   D = P + G + s_dr            (jaccard: D = 2*(P + G - I) + s_dr)
 *   f_k = 1 - (2I + s_nr) / D
 * p = sigmoid(x) (activation SIGMOID) or x itself (NONE; must be in [0,1]).
 * Backward, with num = 2I + s_nr:
 *   df_k/dp_i = -(2 y_i D - num dD/dp_i) / D^2,
 *   dD/dp_i = 1 (squared: 2 p_i; jaccard: 2 (dP/dp_i - y_i)),
 *   then times p_i (1 - p_i) for SIGMOID.
 * D = 0 (all-empty item with s_dr = 0) gives NaN, as MONAI does.
 * Item statistics are sums in double over fixed blocks: deterministic. */
#include "core/internal.h"
#include "kernels/scalar.h"

#include <stdlib.h>

#define DICE_DEFAULT_SMOOTH 1e-5

typedef struct dice_setup {
    int64_t n, c, s;        /* batch, channels, spatial size */
    int64_t items;          /* N*C or C */
    double snr, sdr;
    const segloss_dice_opts *o;
    const float *x;
    const segloss_target *t;
} dice_setup;

static segloss_status dice_init(dice_setup *d, const float *x, const segloss_target *t,
                                const segloss_shape *shape, const segloss_dice_opts *o) {
    memset(d, 0, sizeof *d);
    if (!shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(o->reduction)) return SEGLOSS_ERR_ARG;
    if (o->activation != SEGLOSS_ACTIVATION_SIGMOID && o->activation != SEGLOSS_ACTIVATION_NONE)
        return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 1 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    if (shape->ndim >= 3) {
        d->n = shape->dim[0];
        d->c = shape->dim[1];
    } else {
        d->n = d->c = 1;
    }
    d->s = numel / (d->n * d->c);
    d->items = o->batch ? d->c : d->n * d->c;
    d->snr = o->custom_smooth ? o->smooth_nr : DICE_DEFAULT_SMOOTH;
    d->sdr = o->custom_smooth ? o->smooth_dr : DICE_DEFAULT_SMOOTH;
    if (!isfinite(d->snr) || !isfinite(d->sdr)) return SEGLOSS_ERR_ARG;
    d->o = o;
    if (!x || !t || !t->data) return SEGLOSS_ERR_NULL;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    d->x = x;
    d->t = t;
    return SEGLOSS_OK;
}

/* Probabilities of a block from the inputs (activation applied). */
static segloss_status load_probs(double *p, const float *x, int64_t n, segloss_activation act) {
    if (act == SEGLOSS_ACTIVATION_SIGMOID) {
        for (int64_t i = 0; i < n; i++) p[i] = segloss__sigmoid_d(x[i]);
        return SEGLOSS_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) return SEGLOSS_ERR_DOMAIN;
        p[i] = x[i];
    }
    return SEGLOSS_OK;
}

typedef struct item_ctx {
    const dice_setup *d;
    int64_t base;           /* flat offset of the (n,c) slice */
    double num, den, gk;    /* backward: item's numerator, D, upstream */
    float *grad;
} item_ctx;

typedef struct block_bufs {
    double p[SEGLOSS_BLOCK];
    float y[SEGLOSS_BLOCK];
} block_bufs;

/* partial[0] = I, [1] = P, [2] = G over [begin, end) of the slice. */
static segloss_status stats_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const item_ctx *c = ctx;
    const dice_setup *d = c->d;
    int64_t n = end - begin;
    block_bufs b;
    segloss_status st = load_probs(b.p, d->x + c->base + begin, n, d->o->activation);
    if (st == SEGLOSS_OK) st = segloss__load_target(b.y, d->t, c->base + begin, c->base + end);
    if (st != SEGLOSS_OK) return st;
    double I = 0, P = 0, G = 0;
    if (d->o->squared) {
        for (int64_t i = 0; i < n; i++) {
            double y = b.y[i];
            I += b.p[i] * y;
            P += b.p[i] * b.p[i];
            G += y * y;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            I += b.p[i] * b.y[i];
            P += b.p[i];
            G += b.y[i];
        }
    }
    partial[0] = I;
    partial[1] = P;
    partial[2] = G;
    return SEGLOSS_OK;
}

/* Per item: numerator 2I + s_nr and denominator D. */
static segloss_status item_terms(const dice_setup *d, double *num, double *den) {
    segloss_status st = SEGLOSS_OK;
    for (int64_t k = 0; k < d->items; k++) {
        double I = 0, P = 0, G = 0;
        int64_t n_lo = d->o->batch ? 0 : k / d->c, n_hi = d->o->batch ? d->n : n_lo + 1;
        int64_t ch = d->o->batch ? k : k % d->c;
        for (int64_t n = n_lo; n < n_hi; n++) {
            item_ctx c = {.d = d, .base = (n * d->c + ch) * d->s};
            double tot[3];
            st = segloss__reduce_blocks(d->s, 3, stats_block, &c, tot);
            if (st != SEGLOSS_OK) return st;
            I += tot[0];
            P += tot[1];
            G += tot[2];
        }
        num[k] = 2.0 * I + d->snr;
        den[k] = (d->o->jaccard ? 2.0 * (P + G - I) : P + G) + d->sdr;
    }
    return st;
}

segloss_status segloss_dice_num_items(int64_t *items, const segloss_shape *shape,
                                      const segloss_dice_opts *opts) {
    static const segloss_dice_opts defaults;
    static const float dummy;
    static const segloss_target dummy_t = {&dummy, SEGLOSS_F32};
    if (!items) return SEGLOSS_ERR_NULL;
    dice_setup d;
    segloss_status st = dice_init(&d, &dummy, &dummy_t, shape, opts ? opts : &defaults);
    if (st == SEGLOSS_OK) *items = d.items;
    return st;
}

/* Shared by forward and backward: validated setup plus per-item terms. */
static segloss_status dice_prepare(dice_setup *d, double **num, double **den, const float *x,
                                   const segloss_target *t, const segloss_shape *shape,
                                   const segloss_dice_opts *o) {
    *num = *den = NULL;
    segloss_status st = dice_init(d, x, t, shape, o);
    if (st != SEGLOSS_OK) return st;
    *num = malloc((size_t)d->items * 2 * sizeof(double));
    if (!*num) return SEGLOSS_ERR_NOMEM;
    *den = *num + d->items;
    st = item_terms(d, *num, *den);
    if (st != SEGLOSS_OK) {
        free(*num);
        *num = *den = NULL;
    }
    return st;
}

segloss_status segloss_dice_forward(double *loss, float *elems, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_dice_opts *opts) {
    static const segloss_dice_opts defaults;
    if (!opts) opts = &defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    dice_setup d;
    double *num, *den;
    segloss_status st = dice_prepare(&d, &num, &den, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    double total = 0.0;
    for (int64_t k = 0; k < d.items; k++) {
        double f = 1.0 - num[k] / den[k];
        if (elems && opts->reduction == SEGLOSS_REDUCTION_NONE) elems[k] = (float)f;
        total += f;
    }
    *loss = opts->reduction == SEGLOSS_REDUCTION_MEAN ? total / (double)d.items : total;
    free(num);
    return SEGLOSS_OK;
}

static segloss_status grad_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const item_ctx *c = ctx;
    const dice_setup *d = c->d;
    (void)partial;
    int64_t n = end - begin;
    block_bufs b;
    const float *x = d->x + c->base + begin;
    segloss_status st = load_probs(b.p, x, n, d->o->activation);
    if (st == SEGLOSS_OK) st = segloss__load_target(b.y, d->t, c->base + begin, c->base + end);
    if (st != SEGLOSS_OK) return st;
    double D = c->den, num = c->num, inv_d2 = 1.0 / (D * D);
    int sig = d->o->activation == SEGLOSS_ACTIVATION_SIGMOID;
    for (int64_t i = 0; i < n; i++) {
        double p = b.p[i], y = b.y[i];
        double dS = d->o->squared ? 2.0 * p : 1.0;
        double dD = d->o->jaccard ? 2.0 * (dS - y) : dS;
        double g = -(2.0 * y * D - num * dD) * inv_d2 * c->gk;
        if (sig) g *= p * (1.0 - p);
        c->grad[c->base + begin + i] = (float)g;
    }
    return SEGLOSS_OK;
}

segloss_status segloss_dice_backward(float *grad, const float *x, const segloss_target *target,
                                     const segloss_shape *shape, const segloss_dice_opts *opts,
                                     const float *grad_out) {
    static const segloss_dice_opts defaults;
    if (!opts) opts = &defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    dice_setup d;
    double *num, *den;
    segloss_status st = dice_prepare(&d, &num, &den, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    for (int64_t n = 0; n < d.n && st == SEGLOSS_OK; n++) {
        for (int64_t ch = 0; ch < d.c && st == SEGLOSS_OK; ch++) {
            int64_t k = opts->batch ? ch : n * d.c + ch;
            double gk = opts->reduction == SEGLOSS_REDUCTION_NONE
                            ? (grad_out ? grad_out[k] : 1.0)
                            : (grad_out ? grad_out[0] : 1.0);
            if (opts->reduction == SEGLOSS_REDUCTION_MEAN) gk /= (double)d.items;
            item_ctx c = {.d = &d, .base = (n * d.c + ch) * d.s, .num = num[k], .den = den[k],
                          .gk = gk, .grad = grad};
            double unused;
            st = segloss__reduce_blocks(d.s, 1, grad_block, &c, &unused);
        }
    }
    free(num);
    return st;
}
