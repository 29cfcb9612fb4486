/* Driver for element-wise losses: validation, blocks, typed targets,
 * ignore_index, broadcast weights, reductions. See elementwise.h. */
#include "loss/elementwise.h"

#include "core/target.h"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* The driver                                                                */
/* ------------------------------------------------------------------------ */
enum { EW_LOSS = 1, EW_GRAD = 2 };

typedef struct ew_ctx {
    const segloss_ew_ops *ops;
    const float *x;
    const segloss_target *target;
    int64_t ignore;          /* SEGLOSS_IGNORE_NONE: none */
    int bytes;               /* the loss has byte kernels */
    segloss_bcast w, pw;
    int mode;                /* EW_LOSS and/or EW_GRAD */
    float *elems;            /* forward, NONE: per-element losses (may be NULL) */
    float *grad;             /* backward */
    const float *gvec;       /* backward, NONE: upstream per element */
    double gscale;           /* backward: constant upstream factor */
} ew_ctx;

/* One block's inputs as the kernels see them, indexed from the block's
 * start: the target (segloss__tblock: floats or bytes, ignored mask) and
 * the weights (NULL: absent). */
typedef struct ew_block {
    segloss__tblock t;
    const float *w, *pw;
    float wbuf[SEGLOSS_BLOCK], pwbuf[SEGLOSS_BLOCK];
} ew_block;

/* Target and weights of [begin, end). With count_only the weights are not
 * loaded (the targets are still checked where they are decoded; byte
 * targets, and float32 ones in place when ops->checks_f32, are checked by
 * the kernels). */
static segloss_status load_block(const ew_ctx *c, ew_block *blk, int64_t begin, int64_t end,
                                 int count_only) {
    blk->w = blk->pw = NULL;
    int check = count_only || !c->ops->checks_f32;
    segloss_status st =
        segloss__tblock_load(&blk->t, c->target, begin, end - begin, c->ignore, c->bytes, check);
    if (st != SEGLOSS_OK || count_only) return st;
    blk->w = segloss__bcast_view(blk->wbuf, &c->w, begin, end);
    blk->pw = segloss__bcast_view(blk->pwbuf, &c->pw, begin, end);
    return SEGLOSS_OK;
}

/* The kernels on elements [i, i+n) of the block that starts at `begin`:
 * loss sum into *sum (EW_LOSS) and/or the gradient (EW_GRAD). */
static segloss_status call_kernels(const ew_ctx *c, const ew_block *b, int64_t begin, int64_t i,
                                   int64_t n, double *sum) {
    const segloss_ew_ops *ops = c->ops;
    const float *x = c->x + begin + i;
    const float *w = b->w ? b->w + i : NULL, *pw = b->pw ? b->pw + i : NULL;
    float *elems = c->elems ? c->elems + begin + i : NULL;
    float *grad = c->grad ? c->grad + begin + i : NULL;
    const float *gv = c->gvec ? c->gvec + begin + i : NULL;
    if (b->t.yb) {
        const uint8_t *y = b->t.yb + i;
        switch (c->mode) {
        case EW_LOSS: return ops->fwd_u8(sum, elems, x, y, w, pw, n);
        case EW_GRAD: return ops->bwd_u8(grad, x, y, w, pw, gv, c->gscale, n);
        default: return ops->fused_u8(sum, elems, grad, x, y, w, pw, gv, c->gscale, n);
        }
    }
    const float *y = b->t.yf + i;
    if (c->mode == (EW_LOSS | EW_GRAD) && ops->fused)
        return ops->fused(sum, elems, grad, x, y, w, pw, gv, c->gscale, n);
    segloss_status st = SEGLOSS_OK;
    if (c->mode & EW_LOSS)
        st = ops->fwd ? ops->fwd(sum, elems, x, y, w, pw, n)
                      : ops->fwd_p(ops->params, sum, elems, x, y, w, n);
    if (st == SEGLOSS_OK && (c->mode & EW_GRAD))
        st = ops->bwd ? ops->bwd(grad, x, y, w, pw, gv, c->gscale, n)
                      : ops->bwd_p(ops->params, grad, x, y, w, gv, c->gscale, n);
    return st;
}

/* partial[0] = sum of the element losses (EW_LOSS), partial[1] =
 * non-ignored count. With ignore, the kernels run on each run of
 * non-ignored elements (their double sums added in order); ignored elements
 * are never passed to them and get loss and gradient 0. */
static segloss_status block_fn(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_block blk;
    int64_t n = end - begin;
    segloss_status st = load_block(c, &blk, begin, end, 0);
    if (st != SEGLOSS_OK) return st;
    const uint8_t *ign = blk.t.ign;
    partial[1] = (double)blk.t.n_valid;
    if (!ign) return call_kernels(c, &blk, begin, 0, n, &partial[0]);
    for (int64_t i = 0; i < n; i++) {
        if (!ign[i]) continue;
        if (c->elems) c->elems[begin + i] = 0.0f;
        if (c->grad) c->grad[begin + i] = 0.0f;
    }
    double s = 0.0;
    int64_t i = 0, j;
    while (segloss__next_run(ign, n, &i, &j)) {
        double part = 0.0;
        st = call_kernels(c, &blk, begin, i, j - i, &part);
        if (st != SEGLOSS_OK) return st;
        s += part;
        i = j;
    }
    partial[0] = s;
    return SEGLOSS_OK;
}

/* partial[0] = non-ignored count. */
static segloss_status count_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_block blk;
    segloss_status st = load_block(c, &blk, begin, end, 1);
    partial[0] = (double)blk.t.n_valid;
    return st;
}

static const segloss_bce_opts bce_defaults = {.reduction = SEGLOSS_REDUCTION_MEAN,
                                               .ignore_index = SEGLOSS_IGNORE_NONE};

segloss_bce_opts segloss_bce_opts_default(void) { return bce_defaults; }

segloss_ew_args segloss__ew_args_bce(const segloss_bce_opts *opts) {
    if (!opts) opts = &bce_defaults;
    segloss_ew_args a = {opts->reduction, &opts->weight, &opts->pos_weight, opts->ignore_index};
    return a;
}

/* Shared validation; fills ctx and numel. */
static segloss_status setup(ew_ctx *c, const segloss_ew_ops *ops, const float *x,
                            const segloss_target *target, const segloss_shape *shape,
                            const segloss_ew_args *a, int64_t *numel) {
    memset(c, 0, sizeof *c);
    if (!x || !target || !target->data || !shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(a->reduction)) return SEGLOSS_ERR_ARG;
    c->ignore = a->ignore_index;
    if (segloss_dtype_size(target->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    int has_pw = a->pos_weight && a->pos_weight->data;
    if (has_pw && !ops->takes_pos_weight) return SEGLOSS_ERR_ARG;
    segloss_status st = segloss__checked_numel(shape, numel);
    if (st != SEGLOSS_OK) return st;
    if (a->weight && (st = segloss__bcast_init(&c->w, a->weight, shape)) != SEGLOSS_OK)
        return st;
    if (has_pw && (st = segloss__bcast_init(&c->pw, a->pos_weight, shape)) != SEGLOSS_OK)
        return st;
    c->ops = ops;
    c->x = x;
    c->target = target;
    c->bytes = ops->fwd_u8 && ops->bwd_u8 && ops->fused_u8;
    return SEGLOSS_OK;
}

/* The upstream factors of the gradient; for MEAN with ignore_index a first
 * pass counts the non-ignored elements. */
static segloss_status grad_setup(ew_ctx *c, int64_t numel, const segloss_ew_args *args,
                                 const float *grad_out) {
    if (args->reduction == SEGLOSS_REDUCTION_NONE) {
        c->gvec = grad_out;
        c->gscale = 1.0;
        return SEGLOSS_OK;
    }
    c->gscale = grad_out ? (double)grad_out[0] : 1.0;
    if (args->reduction == SEGLOSS_REDUCTION_MEAN) {
        double count = (double)numel;
        if (c->ignore != SEGLOSS_IGNORE_NONE) {
            segloss_status st = segloss__reduce_blocks(numel, 1, count_block, c, &count);
            if (st != SEGLOSS_OK) return st;
        }
        /* count = 0: every gradient is overwritten with 0 anyway. */
        c->gscale = count > 0 ? c->gscale / count : 0.0;
    }
    return SEGLOSS_OK;
}

segloss_status segloss__ew_forward(const segloss_ew_ops *ops, double *loss, float *elems,
                                   const float *x, const segloss_target *target,
                                   const segloss_shape *shape, const segloss_ew_args *args) {
    if (!loss) return SEGLOSS_ERR_NULL;
    ew_ctx c;
    int64_t numel;
    segloss_status st = setup(&c, ops, x, target, shape, args, &numel);
    if (st != SEGLOSS_OK) return st;
    c.mode = EW_LOSS;
    c.elems = args->reduction == SEGLOSS_REDUCTION_NONE ? elems : NULL;
    double total[2];
    st = segloss__reduce_blocks(numel, 2, block_fn, &c, total);
    if (st != SEGLOSS_OK) return st;
    /* total[1] is the count of non-ignored elements (numel without ignore);
     * 0/0 = NaN when every element is ignored. */
    *loss = args->reduction == SEGLOSS_REDUCTION_MEAN ? total[0] / total[1] : total[0];
    return SEGLOSS_OK;
}

segloss_status segloss__ew_backward(const segloss_ew_ops *ops, float *grad, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_ew_args *args, const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    ew_ctx c;
    int64_t numel;
    segloss_status st = setup(&c, ops, x, target, shape, args, &numel);
    if (st != SEGLOSS_OK) return st;
    c.mode = EW_GRAD;
    c.grad = grad;
    if ((st = grad_setup(&c, numel, args, grad_out)) != SEGLOSS_OK) return st;
    double unused[2];
    return segloss__reduce_blocks(numel, 2, block_fn, &c, unused);
}

segloss_status segloss__ew_forward_backward(const segloss_ew_ops *ops, double *loss,
                                            float *elems, float *grad, const float *x,
                                            const segloss_target *target,
                                            const segloss_shape *shape,
                                            const segloss_ew_args *args, const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    ew_ctx c;
    int64_t numel;
    segloss_status st = setup(&c, ops, x, target, shape, args, &numel);
    if (st != SEGLOSS_OK) return st;
    c.mode = EW_LOSS | EW_GRAD;
    c.elems = args->reduction == SEGLOSS_REDUCTION_NONE ? elems : NULL;
    c.grad = grad;
    if ((st = grad_setup(&c, numel, args, grad_out)) != SEGLOSS_OK) return st;
    double total[2];
    st = segloss__reduce_blocks(numel, 2, block_fn, &c, total);
    if (st != SEGLOSS_OK) return st;
    *loss = args->reduction == SEGLOSS_REDUCTION_MEAN ? total[0] / total[1] : total[0];
    return SEGLOSS_OK;
}
