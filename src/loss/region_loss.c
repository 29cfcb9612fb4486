/* The driver of every region loss (dice, jaccard, tversky, generalized
 * dice): forward, backward and both, through one of two engines.
 *  - Activation SIGMOID with a DENSE target (every default): the float32
 *    engine of region_fast.c (vector kernels, two passes per phase of
 *    images, the gradient added while an image is in cache).
 *  - Otherwise (NONE, SOFTMAX, class-index targets; smp >= 0.4 with a float
 *    target, whose min(p, y) the float32 kernels do not form): the region
 *    sweep of region.c (double arithmetic per chunk).
 * Both take the loss as its item function (segloss__region_loss). */
#include "loss/region.h"

#include <stdlib.h>

static const segloss_dice_opts defaults = SEGLOSS__DICE_DEFAULTS;

static int use_fast(const segloss_dice_opts *o, const segloss_target *t) {
    return o->activation == SEGLOSS_ACTIVATION_SIGMOID && o->target_kind != SEGLOSS_TARGET_INDEX &&
           segloss__region_fast_target(o, t);
}

/* The region sweep: stats, then the items' losses (f) and, with grad, the
 * backward sweep. */
static segloss_status sweep(const segloss__region_loss *L, int mode, double *loss, float *elems,
                            float *grad, const float *x, const segloss_target *t,
                            const segloss_shape *shape, const segloss_dice_opts *o,
                            const float *grad_out) {
    segloss__region r;
    segloss_status st = segloss__region_init(&r, x, t, shape, o, L->allow);
    if (st != SEGLOSS_OK) return st;
    int64_t items = segloss__region_items(&r, L);
    double *f = malloc((size_t)items * sizeof *f); /* items <= numel */
    if (!f) st = SEGLOSS_ERR_NOMEM;
    if (st == SEGLOSS_OK) st = segloss__region_stats(&r);
    if (st == SEGLOSS_OK && (mode & SEGLOSS__FAST_GRAD)) {
        segloss__region_eval_items(&r, L, 0, items, 1, 1.0, grad_out, f);
        st = segloss__region_grad(&r, grad);
    }
    if (st == SEGLOSS_OK && (mode & SEGLOSS__FAST_LOSS)) {
        segloss__region_eval_items(&r, L, 0, items, 0, 0.0, NULL, f);
        segloss__region_reduce(loss, elems, f, items, o->reduction);
    }
    free(f);
    segloss__region_free(&r);
    return st;
}

static segloss_status run(const segloss__region_loss *L, int mode, double *loss, float *elems,
                          float *grad, const float *x, const segloss_target *t,
                          const segloss_shape *shape, const segloss_dice_opts *o,
                          const float *grad_out) {
    if (!o) o = &defaults;
    if (((mode & SEGLOSS__FAST_LOSS) && !loss) || ((mode & SEGLOSS__FAST_GRAD) && !grad))
        return SEGLOSS_ERR_NULL;
    if (use_fast(o, t))
        return segloss__region_fast(L, NULL, mode, loss, elems, grad, x, t, shape, o,
                                    grad_out);
    return sweep(L, mode, loss, elems, grad, x, t, shape, o, grad_out);
}

segloss_status segloss__region_forward(const segloss__region_loss *L, double *loss, float *elems,
                                       const float *x, const segloss_target *t,
                                       const segloss_shape *shape, const segloss_dice_opts *opts) {
    return run(L, SEGLOSS__FAST_LOSS, loss, elems, NULL, x, t, shape, opts, NULL);
}

segloss_status segloss__region_backward(const segloss__region_loss *L, float *grad,
                                        const float *x, const segloss_target *t,
                                        const segloss_shape *shape, const segloss_dice_opts *opts,
                                        const float *grad_out) {
    return run(L, SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, t, shape, opts, grad_out);
}

segloss_status segloss__region_forward_backward(const segloss__region_loss *L, double *loss,
                                                float *elems, float *grad, const float *x,
                                                const segloss_target *t,
                                                const segloss_shape *shape,
                                                const segloss_dice_opts *opts,
                                                const float *grad_out) {
    return run(L, SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, t, shape, opts,
               grad_out);
}
