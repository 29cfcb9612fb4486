/* Binary Lovasz hinge — smp LovaszLoss in "binary"/"multilabel" mode
 * (segmentation_models_pytorch/losses/lovasz.py: _lovasz_hinge,
 * _lovasz_hinge_flat, _lovasz_grad, _flatten_binary_scores), forward and
 * backward.
 *
 * Items: the whole array, or with per_image one image per index of axis 0
 * when ndim >= 3 (ndim <= 2 is one image, the project's rule for region
 * losses; smp would split a 2-D array by rows). Per item, over its
 * non-ignored elements i (P of them; ignored ones are dropped, as smp's
 * _flatten_binary_scores does):
 *   s_i = 2 y_i - 1,  e_i = 1 - x_i s_i                 (hinge errors)
 *   order e decreasingly: e_(1) >= e_(2) >= ... >= e_(P)
 *   G = sum_i y_i,  Y_k = y_(1) + ... + y_(k)
 *   J_k = 1 - (G - Y_k) / (G + k - Y_k),  J_0 = 0        (_lovasz_grad)
 *   loss = sum_k relu(e_(k)) (J_k - J_(k-1))
 *   dloss/dx_(k) = -s_(k) [e_(k) > 0] (J_k - J_(k-1))   (relu'(0) = 0, as torch)
 * G + k - Y_k >= 1 for k >= 1, so no division by zero; P = 0 (an item with
 * every element ignored) gives loss 0 and gradient 0 (smp: logits.sum()*0)
 * and the item still counts in MEAN (smp's mean over images).
 *
 * Ties. torch.sort is not stable, so smp's gradient for tied errors depends
 * on the sort implementation. We sort by (e descending, flat index
 * ascending): a total order, so the result is deterministic. The loss value
 * does not depend on the tie rule: within a run of equal errors e the
 * contribution is e * (J_end - J_start), and J at the run's ends depends
 * only on the set of elements before it. The gradient does depend on it
 * (it is a subgradient at a kink), and equals PyTorch's
 * torch.sort(..., stable=True) order.
 *
 * Soft labels are accepted and follow smp's formula literally. Logits must
 * be finite (NaN/inf at a non-ignored element: SEGLOSS_ERR_NONFINITE).
 * Errors are formed and sorted in double; sums in double in sorted order. */
#include "core/target.h"

#include <math.h>
#include <stdlib.h>

typedef struct lv_entry {
    double e;
    int64_t i;          /* index within the item */
} lv_entry;

typedef struct lv_setup {
    int64_t items, per;         /* items and elements per item */
    const float *x;
    const segloss_target *t;
    int64_t ignore;             /* SEGLOSS_IGNORE_NONE: none */
    segloss_reduction red;
    /* work arrays, numel each (item k uses [k*per, (k+1)*per)) */
    lv_entry *ent;
    float *y;
    uint8_t *ign;
    double *loss;               /* per item */
    /* backward */
    float *grad;
    const float *grad_out;
    double gscale;
} lv_setup;

/* smp's defaults (no per_image, no ignore value). */
static const segloss_lovasz_opts lv_defaults = {.reduction = SEGLOSS_REDUCTION_MEAN,
                                                .ignore_index = SEGLOSS_IGNORE_NONE};

static segloss_status lv_init(lv_setup *d, const float *x, const segloss_target *t,
                              const segloss_shape *shape, const segloss_lovasz_opts *o) {
    memset(d, 0, sizeof *d);
    if (!shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(o->reduction)) return SEGLOSS_ERR_ARG;
    d->ignore = o->ignore_index;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    d->items = o->per_image && shape->ndim >= 3 ? shape->dim[0] : 1;
    d->per = numel / d->items;
    d->red = o->reduction;
    if (!x || !t || !t->data) return SEGLOSS_ERR_NULL;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    d->x = x;
    d->t = t;
    return SEGLOSS_OK;
}

segloss_lovasz_opts segloss_lovasz_opts_default(void) { return lv_defaults; }

segloss_status segloss_lovasz_items_shape(segloss_shape *items, const segloss_shape *shape,
                                          const segloss_lovasz_opts *opts) {
    static const float dummy;
    static const segloss_target dummy_t = {&dummy, SEGLOSS_F32};
    if (!items) return SEGLOSS_ERR_NULL;
    lv_setup d;
    segloss_status st = lv_init(&d, &dummy, &dummy_t, shape, opts ? opts : &lv_defaults);
    if (st != SEGLOSS_OK) return st;
    memset(items, 0, sizeof *items);
    items->ndim = 1;
    items->dim[0] = d.items;
    return SEGLOSS_OK;
}

static int lv_cmp(const void *a, const void *b) {
    const lv_entry *p = a, *q = b;
    if (p->e > q->e) return -1;
    if (p->e < q->e) return 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* Item k: loss into d->loss[k]; with d->grad also the gradient of the item's
 * elements, scaled by the item's upstream value. */
static segloss_status lv_item(void *ctx, int64_t k) {
    lv_setup *d = ctx;
    int64_t base = k * d->per;
    float *y = d->y + base;
    uint8_t *ign = d->ign + base;
    lv_entry *ent = d->ent + base;
    const float *x = d->x + base;
    segloss_status st =
        segloss__decode_dense_f(y, ign, NULL, NULL, d->t, base, d->per, d->ignore);
    if (st != SEGLOSS_OK) return st;
    int64_t P = 0;
    double G = 0.0;
    for (int64_t i = 0; i < d->per; i++) {
        if (ign[i]) continue;
        if (!isfinite(x[i])) return SEGLOSS_ERR_NONFINITE;
        double yi = y[i];
        ent[P].e = 1.0 - (double)x[i] * (2.0 * yi - 1.0);
        ent[P].i = i;
        G += yi;
        P++;
    }
    qsort(ent, (size_t)P, sizeof *ent, lv_cmp);

    float *g = d->grad ? d->grad + base : NULL;
    double up = 0.0;
    if (g) {
        for (int64_t i = 0; i < d->per; i++) g[i] = 0.0f; /* ignored and e <= 0 */
        up = d->red == SEGLOSS_REDUCTION_NONE ? (d->grad_out ? d->grad_out[k] : 1.0)
                                              : d->gscale;
    }
    double loss = 0.0, Y = 0.0, Jprev = 0.0;
    for (int64_t r = 0; r < P; r++) {
        int64_t i = ent[r].i;
        double yi = y[i];
        Y += yi;
        double J = 1.0 - (G - Y) / (G + (double)(r + 1) - Y);
        double dJ = J - Jprev;
        Jprev = J;
        double e = ent[r].e;
        if (e > 0.0) {
            loss += e * dJ;
            if (g) g[i] = (float)(-(2.0 * yi - 1.0) * dJ * up);
        }
    }
    d->loss[k] = loss;
    return SEGLOSS_OK;
}

/* Allocates the work arrays and runs every item. */
static segloss_status lv_run(lv_setup *d) {
    size_t n = (size_t)(d->items * d->per);
    d->ent = malloc(n * sizeof *d->ent);
    d->y = malloc(n * sizeof *d->y);
    d->ign = malloc(n);
    d->loss = malloc((size_t)d->items * sizeof *d->loss);
    segloss_status st = SEGLOSS_ERR_NOMEM;
    if (d->ent && d->y && d->ign && d->loss) st = segloss__for_items(d->items, lv_item, d);
    free(d->ent);
    free(d->y);
    free(d->ign);
    d->ent = NULL;
    d->y = NULL;
    d->ign = NULL;
    return st;
}

segloss_status segloss_lovasz_hinge_forward(double *loss, float *elems, const float *x,
                                            const segloss_target *target,
                                            const segloss_shape *shape,
                                            const segloss_lovasz_opts *opts) {
    if (!opts) opts = &lv_defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    lv_setup d;
    segloss_status st = lv_init(&d, x, target, shape, opts);
    if (st == SEGLOSS_OK) st = lv_run(&d);
    if (st == SEGLOSS_OK) {
        double total = 0.0;
        for (int64_t k = 0; k < d.items; k++) {
            if (elems && d.red == SEGLOSS_REDUCTION_NONE) elems[k] = (float)d.loss[k];
            total += d.loss[k];
        }
        *loss = d.red == SEGLOSS_REDUCTION_MEAN ? total / (double)d.items : total;
    }
    free(d.loss);
    return st;
}

segloss_status segloss_lovasz_hinge_backward(float *grad, const float *x,
                                             const segloss_target *target,
                                             const segloss_shape *shape,
                                             const segloss_lovasz_opts *opts,
                                             const float *grad_out) {
    if (!opts) opts = &lv_defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    lv_setup d;
    segloss_status st = lv_init(&d, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    d.grad = grad;
    d.grad_out = grad_out;
    if (d.red != SEGLOSS_REDUCTION_NONE) {
        d.gscale = grad_out ? (double)grad_out[0] : 1.0;
        if (d.red == SEGLOSS_REDUCTION_MEAN) d.gscale /= (double)d.items;
    }
    st = lv_run(&d);
    free(d.loss);
    return st;
}
