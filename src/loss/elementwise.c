/* Driver for element-wise losses: validation, blocks, typed targets,
 * ignore_index, broadcast weights, reductions. See elementwise.h. */
#include "loss/elementwise.h"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* Targets with ignore_index                                                 */
/* ------------------------------------------------------------------------ */
/* Values in [0,1] (NaN fails), or the ignore value (compared after the
 * conversion to double). For integer dtypes the same test admits exactly 0
 * and 1: every integer converts to a double in [0,1] only when it is 0 or 1. */
#define LOAD_IGN(T)                                                         \
    do {                                                                    \
        const T *s = (const T *)t->data + begin;                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            double v = (double)s[i];                                        \
            if (v == ignore_value) {                                        \
                ignored[i] = 1;                                             \
                y[i] = 0.0f;                                                \
                continue;                                                   \
            }                                                               \
            if (!(v >= 0.0 && v <= 1.0)) return SEGLOSS_ERR_TARGET;         \
            ignored[i] = 0;                                                 \
            y[i] = (float)v;                                                \
            valid++;                                                        \
        }                                                                   \
    } while (0)

segloss_status segloss__ew_load_target(float *y, uint8_t *ignored, int64_t *n_valid,
                                       const segloss_target *t, int64_t begin, int64_t end,
                                       int has_ignore, double ignore_value) {
    int64_t n = end - begin, valid = 0;
    if (!has_ignore) {
        segloss_status st = segloss__load_target(y, t, begin, end);
        if (st == SEGLOSS_OK && n_valid) *n_valid = n;
        return st;
    }
    switch (t->dtype) {
    case SEGLOSS_F32: LOAD_IGN(float); break;
    case SEGLOSS_F64: LOAD_IGN(double); break;
    case SEGLOSS_BOOL: {
        const uint8_t *s = (const uint8_t *)t->data + begin;
        for (int64_t i = 0; i < n; i++) {
            double v = s[i] ? 1.0 : 0.0;
            ignored[i] = v == ignore_value;
            y[i] = ignored[i] ? 0.0f : (float)v;
            valid += !ignored[i];
        }
        break;
    }
    case SEGLOSS_U8: LOAD_IGN(uint8_t); break;
    case SEGLOSS_I8: LOAD_IGN(int8_t); break;
    case SEGLOSS_I16: LOAD_IGN(int16_t); break;
    case SEGLOSS_I32: LOAD_IGN(int32_t); break;
    case SEGLOSS_I64: LOAD_IGN(int64_t); break;
    case SEGLOSS_U16: LOAD_IGN(uint16_t); break;
    case SEGLOSS_U32: LOAD_IGN(uint32_t); break;
    case SEGLOSS_U64: LOAD_IGN(uint64_t); break;
    default: return SEGLOSS_ERR_DTYPE;
    }
    if (n_valid) *n_valid = valid;
    return SEGLOSS_OK;
}

/* ------------------------------------------------------------------------ */
/* Fast target checks                                                        */
/* ------------------------------------------------------------------------ */
int segloss__unit_interval_f32(const float *y, int64_t n) {
    /* every comparison is evaluated (no early exit), so the loop runs at
     * the speed of the loads; 8 independent flags break the dependency */
    unsigned ok[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) ok[k] &= (y[i + k] >= 0.0f) & (y[i + k] <= 1.0f);
    for (; i < n; i++) ok[0] &= (y[i] >= 0.0f) & (y[i] <= 1.0f);
    unsigned all = 1;
    for (int k = 0; k < 8; k++) all &= ok[k];
    return (int)all;
}

int segloss__bytes_01(const uint8_t *b, int64_t n) {
    uint64_t acc = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, sizeof v);
        acc |= v;
    }
    for (; i < n; i++) acc |= b[i];
    return (acc & ~UINT64_C(0x0101010101010101)) == 0;
}

/* ------------------------------------------------------------------------ */
/* The driver                                                                */
/* ------------------------------------------------------------------------ */
enum { EW_LOSS = 1, EW_GRAD = 2 };

typedef struct ew_ctx {
    const segloss_ew_ops *ops;
    const float *x;
    const segloss_target *target;
    int has_ignore;
    double ignore_value;
    int bytes;               /* the loss has byte kernels */
    segloss_bcast w, pw;
    int mode;                /* EW_LOSS and/or EW_GRAD */
    float *elems;            /* forward, NONE: per-element losses (may be NULL) */
    float *grad;             /* backward */
    const float *gvec;       /* backward, NONE: upstream per element */
    double gscale;           /* backward: constant upstream factor */
} ew_ctx;

typedef struct ew_bufs {
    float y[SEGLOSS_BLOCK], w[SEGLOSS_BLOCK], pw[SEGLOSS_BLOCK];
    uint8_t ignored[SEGLOSS_BLOCK];
} ew_bufs;

/* One block's inputs as the kernels see them, indexed from the block's
 * start: targets as floats (yf) or bytes (yb), weights (NULL: absent),
 * ignored mask (NULL: none ignored). */
typedef struct ew_block {
    const float *yf, *w, *pw;
    const uint8_t *yb, *ignored;
    int64_t n_valid;
} ew_block;

/* Byte view of a uint8/bool block with ignore_index (a bool's 0/1 value is
 * its byte here); the other bytes are checked by the kernels. */
int64_t segloss__ew_ignore_bytes(uint8_t *ignored, const uint8_t *yb, int64_t n,
                                 double ignore_value) {
    int64_t valid = n;
    if (ignore_value >= 0.0 && ignore_value <= 255.0 && ignore_value == floor(ignore_value)) {
        uint8_t iv = (uint8_t)ignore_value;
        for (int64_t i = 0; i < n; i++) {
            ignored[i] = yb[i] == iv;
            valid -= ignored[i];
        }
    } else {
        memset(ignored, 0, (size_t)n);
    }
    return valid;
}

/* Target and weights of [begin, end). With count_only the weights are not
 * loaded (the targets are still checked where they go through the float
 * buffer; byte targets are checked by the kernels). */
static segloss_status load_block(const ew_ctx *c, ew_bufs *b, int64_t begin, int64_t end,
                                 ew_block *blk, int count_only) {
    int64_t n = end - begin;
    const segloss_target *t = c->target;
    memset(blk, 0, sizeof *blk);
    blk->n_valid = n;
    if (c->bytes && (t->dtype == SEGLOSS_U8 || t->dtype == SEGLOSS_BOOL)) {
        const uint8_t *yb = (const uint8_t *)t->data + begin;
        /* a bool with ignore: the value compared is 0/1, exactly the byte
         * when the bytes are 0/1 */
        if (t->dtype == SEGLOSS_U8 || segloss__bytes_01(yb, n)) {
            blk->yb = yb;
            if (c->has_ignore) {
                blk->n_valid = segloss__ew_ignore_bytes(b->ignored, yb, n, c->ignore_value);
                blk->ignored = b->ignored;
            }
        }
    }
    if (!blk->yb) {
        if (t->dtype == SEGLOSS_F32 && !c->has_ignore) {
            blk->yf = (const float *)t->data + begin;
            if (!segloss__unit_interval_f32(blk->yf, n)) return SEGLOSS_ERR_TARGET;
        } else {
            segloss_status st = segloss__ew_load_target(b->y, b->ignored, &blk->n_valid, t,
                                                        begin, end, c->has_ignore,
                                                        c->ignore_value);
            if (st != SEGLOSS_OK) return st;
            blk->yf = b->y;
            if (c->has_ignore) blk->ignored = b->ignored;
        }
    }
    if (count_only) return SEGLOSS_OK;
    if (c->w.data) {
        if (c->w.contiguous) {
            blk->w = c->w.data + begin;
        } else {
            segloss__bcast_load(b->w, &c->w, begin, end);
            blk->w = b->w;
        }
    }
    if (c->pw.data) {
        if (c->pw.contiguous) {
            blk->pw = c->pw.data + begin;
        } else {
            segloss__bcast_load(b->pw, &c->pw, begin, end);
            blk->pw = b->pw;
        }
    }
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
    if (b->yb) {
        const uint8_t *y = b->yb + i;
        switch (c->mode) {
        case EW_LOSS: return ops->fwd_u8(sum, elems, x, y, w, pw, n);
        case EW_GRAD: return ops->bwd_u8(grad, x, y, w, pw, gv, c->gscale, n);
        default: return ops->fused_u8(sum, elems, grad, x, y, w, pw, gv, c->gscale, n);
        }
    }
    const float *y = b->yf + i;
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

/* Runs of non-ignored elements: [*i, *j) is the next run at or after *i
 * (empty at the end). */
static int next_run(const uint8_t *ignored, int64_t n, int64_t *i, int64_t *j) {
    while (*i < n && ignored[*i]) (*i)++;
    *j = *i;
    while (*j < n && !ignored[*j]) (*j)++;
    return *i < n;
}

/* partial[0] = sum of the element losses (EW_LOSS), partial[1] =
 * non-ignored count. With ignore, the kernels run on each run of
 * non-ignored elements (their double sums added in order); ignored elements
 * are never passed to them and get loss and gradient 0. */
static segloss_status block_fn(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_bufs b;
    ew_block blk;
    int64_t n = end - begin;
    segloss_status st = load_block(c, &b, begin, end, &blk, 0);
    if (st != SEGLOSS_OK) return st;
    partial[1] = (double)blk.n_valid;
    if (!blk.ignored) return call_kernels(c, &blk, begin, 0, n, &partial[0]);
    for (int64_t i = 0; i < n; i++) {
        if (!blk.ignored[i]) continue;
        if (c->elems) c->elems[begin + i] = 0.0f;
        if (c->grad) c->grad[begin + i] = 0.0f;
    }
    double s = 0.0;
    int64_t i = 0, j;
    while (next_run(blk.ignored, n, &i, &j)) {
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
    ew_bufs b;
    ew_block blk;
    segloss_status st = load_block(c, &b, begin, end, &blk, 1);
    partial[0] = (double)blk.n_valid;
    return st;
}

segloss_ew_args segloss__ew_args_bce(const segloss_bce_opts *opts) {
    static const segloss_bce_opts defaults;
    if (!opts) opts = &defaults;
    segloss_ew_args a = {opts->reduction, &opts->weight, &opts->pos_weight,
                         opts->has_ignore_index, opts->ignore_index};
    return a;
}

/* Shared validation; fills ctx and numel. */
static segloss_status setup(ew_ctx *c, const segloss_ew_ops *ops, const float *x,
                            const segloss_target *target, const segloss_shape *shape,
                            const segloss_ew_args *a, int64_t *numel) {
    memset(c, 0, sizeof *c);
    if (!x || !target || !target->data || !shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(a->reduction)) return SEGLOSS_ERR_ARG;
    if (a->has_ignore_index && !isfinite(a->ignore_index)) return SEGLOSS_ERR_ARG;
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
    c->has_ignore = a->has_ignore_index != 0;
    c->ignore_value = a->ignore_index;
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
        if (c->has_ignore) {
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
