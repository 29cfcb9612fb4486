/* Driver for element-wise losses: validation, blocks, typed targets,
 * broadcast weights, reductions. See elementwise.h. */
#include "loss/elementwise.h"

typedef struct ew_ctx {
    const segloss_ew_ops *ops;
    const float *x;
    const segloss_target *target;
    segloss_bcast w, pw;
    float *out;              /* elems (forward, NONE) or grad (backward) */
    const float *gvec;       /* backward, NONE: upstream per element */
    double gscale;           /* backward: constant upstream factor */
} ew_ctx;

typedef struct ew_bufs {
    float y[SEGLOSS_BLOCK], w[SEGLOSS_BLOCK], pw[SEGLOSS_BLOCK];
} ew_bufs;

/* Loads target and weights of [begin, end) into the block buffers. */
static segloss_status load_block(const ew_ctx *c, ew_bufs *b, int64_t begin, int64_t end,
                                 const float **w, const float **pw) {
    segloss_status st = segloss__load_target(b->y, c->target, begin, end);
    if (st != SEGLOSS_OK) return st;
    *w = *pw = NULL;
    if (c->w.data) {
        segloss__bcast_load(b->w, &c->w, begin, end);
        *w = b->w;
    }
    if (c->pw.data) {
        segloss__bcast_load(b->pw, &c->pw, begin, end);
        *pw = b->pw;
    }
    return SEGLOSS_OK;
}

static segloss_status fwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_bufs b;
    const float *w, *pw;
    segloss_status st = load_block(c, &b, begin, end, &w, &pw);
    if (st != SEGLOSS_OK) return st;
    return c->ops->fwd(&partial[0], c->out ? c->out + begin : NULL, c->x + begin, b.y, w, pw,
                       end - begin);
}

static segloss_status bwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    (void)partial;
    ew_bufs b;
    const float *w, *pw;
    segloss_status st = load_block(c, &b, begin, end, &w, &pw);
    if (st != SEGLOSS_OK) return st;
    return c->ops->bwd(c->out + begin, c->x + begin, b.y, w, pw,
                       c->gvec ? c->gvec + begin : NULL, c->gscale, end - begin);
}

/* Shared validation; fills ctx and numel. */
static segloss_status setup(ew_ctx *c, const segloss_ew_ops *ops, const float *x,
                            const segloss_target *target, const segloss_shape *shape,
                            const segloss_bce_opts *opts, int64_t *numel) {
    memset(c, 0, sizeof *c);
    if (!x || !target || !target->data || !shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(opts->reduction)) return SEGLOSS_ERR_ARG;
    if (segloss_dtype_size(target->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (opts->pos_weight.data && !ops->takes_pos_weight) return SEGLOSS_ERR_ARG;
    segloss_status st = segloss__checked_numel(shape, numel);
    if (st != SEGLOSS_OK) return st;
    if ((st = segloss__bcast_init(&c->w, &opts->weight, shape)) != SEGLOSS_OK) return st;
    if ((st = segloss__bcast_init(&c->pw, &opts->pos_weight, shape)) != SEGLOSS_OK) return st;
    c->ops = ops;
    c->x = x;
    c->target = target;
    return SEGLOSS_OK;
}

segloss_status segloss__ew_forward(const segloss_ew_ops *ops, double *loss, float *elems,
                                   const float *x, const segloss_target *target,
                                   const segloss_shape *shape, const segloss_bce_opts *opts) {
    static const segloss_bce_opts defaults;
    if (!opts) opts = &defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    ew_ctx c;
    int64_t numel;
    segloss_status st = setup(&c, ops, x, target, shape, opts, &numel);
    if (st != SEGLOSS_OK) return st;
    c.out = opts->reduction == SEGLOSS_REDUCTION_NONE ? elems : NULL;
    double total;
    st = segloss__reduce_blocks(numel, 1, fwd_block, &c, &total);
    if (st != SEGLOSS_OK) return st;
    *loss = opts->reduction == SEGLOSS_REDUCTION_MEAN ? total / (double)numel : total;
    return SEGLOSS_OK;
}

segloss_status segloss__ew_backward(const segloss_ew_ops *ops, float *grad, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_bce_opts *opts, const float *grad_out) {
    static const segloss_bce_opts defaults;
    if (!opts) opts = &defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    ew_ctx c;
    int64_t numel;
    segloss_status st = setup(&c, ops, x, target, shape, opts, &numel);
    if (st != SEGLOSS_OK) return st;
    c.out = grad;
    if (opts->reduction == SEGLOSS_REDUCTION_NONE) {
        c.gvec = grad_out;
        c.gscale = 1.0;
    } else {
        c.gscale = grad_out ? (double)grad_out[0] : 1.0;
        if (opts->reduction == SEGLOSS_REDUCTION_MEAN) c.gscale /= (double)numel;
    }
    double unused;
    return segloss__reduce_blocks(numel, 1, bwd_block, &c, &unused);
}
