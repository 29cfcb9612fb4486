/* Driver for element-wise losses: validation, blocks, typed targets,
 * ignore_index, broadcast weights, reductions. See elementwise.h. */
#include "loss/elementwise.h"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* Targets with ignore_index                                                 */
/* ------------------------------------------------------------------------ */
#define LOAD_IGN_INT(T)                                                     \
    do {                                                                    \
        const T *s = (const T *)t->data + begin;                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            if ((double)s[i] == ignore_value) {                             \
                ignored[i] = 1;                                             \
                y[i] = 0.0f;                                                \
                continue;                                                   \
            }                                                               \
            if (s[i] != 0 && s[i] != 1) return SEGLOSS_ERR_TARGET;          \
            ignored[i] = 0;                                                 \
            y[i] = (float)s[i];                                             \
            valid++;                                                        \
        }                                                                   \
    } while (0)

#define LOAD_IGN_FLOAT(T)                                                   \
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
    case SEGLOSS_F32: LOAD_IGN_FLOAT(float); break;
    case SEGLOSS_F64: LOAD_IGN_FLOAT(double); break;
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
    case SEGLOSS_U8: LOAD_IGN_INT(uint8_t); break;
    case SEGLOSS_I8: LOAD_IGN_INT(int8_t); break;
    case SEGLOSS_I16: LOAD_IGN_INT(int16_t); break;
    case SEGLOSS_I32: LOAD_IGN_INT(int32_t); break;
    case SEGLOSS_I64: LOAD_IGN_INT(int64_t); break;
    case SEGLOSS_U16: LOAD_IGN_INT(uint16_t); break;
    case SEGLOSS_U32: LOAD_IGN_INT(uint32_t); break;
    case SEGLOSS_U64: LOAD_IGN_INT(uint64_t); break;
    default: return SEGLOSS_ERR_DTYPE;
    }
    if (n_valid) *n_valid = valid;
    return SEGLOSS_OK;
}

/* ------------------------------------------------------------------------ */
/* The driver                                                                */
/* ------------------------------------------------------------------------ */
typedef struct ew_ctx {
    const segloss_ew_ops *ops;
    const float *x;
    const segloss_target *target;
    int has_ignore;
    double ignore_value;
    segloss_bcast w, pw;
    float *out;              /* elems (forward, NONE) or grad (backward) */
    const float *gvec;       /* backward, NONE: upstream per element */
    double gscale;           /* backward: constant upstream factor */
} ew_ctx;

typedef struct ew_bufs {
    float y[SEGLOSS_BLOCK], w[SEGLOSS_BLOCK], pw[SEGLOSS_BLOCK];
    uint8_t ignored[SEGLOSS_BLOCK];
} ew_bufs;

/* Loads target and weights of [begin, end) into the block buffers. */
static segloss_status load_block(const ew_ctx *c, ew_bufs *b, int64_t begin, int64_t end,
                                 const float **w, const float **pw, int64_t *n_valid) {
    segloss_status st = segloss__ew_load_target(b->y, b->ignored, n_valid, c->target, begin,
                                                end, c->has_ignore, c->ignore_value);
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

static segloss_status call_fwd(const segloss_ew_ops *ops, double *sum, float *elems,
                               const float *x, const float *y, const float *w,
                               const float *pw, int64_t n) {
    if (ops->fwd) return ops->fwd(sum, elems, x, y, w, pw, n);
    return ops->fwd_p(ops->params, sum, elems, x, y, w, n);
}

static segloss_status call_bwd(const segloss_ew_ops *ops, float *grad, const float *x,
                               const float *y, const float *w, const float *pw,
                               const float *gvec, double gscale, int64_t n) {
    if (ops->bwd) return ops->bwd(grad, x, y, w, pw, gvec, gscale, n);
    return ops->bwd_p(ops->params, grad, x, y, w, gvec, gscale, n);
}

/* Runs of non-ignored elements: [*i, *j) is the next run at or after *i
 * (empty at the end); ignored elements before it are passed to `skip`. */
static int next_run(const uint8_t *ignored, int64_t n, int64_t *i, int64_t *j) {
    while (*i < n && ignored[*i]) (*i)++;
    *j = *i;
    while (*j < n && !ignored[*j]) (*j)++;
    return *i < n;
}

/* partial[0] = sum of the element losses, partial[1] = non-ignored count.
 * With ignore, the kernel runs on each run of non-ignored elements (its
 * double sums added in order); ignored elements are never passed to it. */
static segloss_status fwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_bufs b;
    const float *w, *pw;
    int64_t n = end - begin, n_valid;
    segloss_status st = load_block(c, &b, begin, end, &w, &pw, &n_valid);
    if (st != SEGLOSS_OK) return st;
    partial[1] = (double)n_valid;
    float *elems = c->out ? c->out + begin : NULL;
    const float *x = c->x + begin;
    if (!c->has_ignore) return call_fwd(c->ops, &partial[0], elems, x, b.y, w, pw, n);
    if (elems)
        for (int64_t i = 0; i < n; i++)
            if (b.ignored[i]) elems[i] = 0.0f;
    double s = 0.0;
    int64_t i = 0, j;
    while (next_run(b.ignored, n, &i, &j)) {
        double part;
        st = call_fwd(c->ops, &part, elems ? elems + i : NULL, x + i, b.y + i, w ? w + i : NULL,
                      pw ? pw + i : NULL, j - i);
        if (st != SEGLOSS_OK) return st;
        s += part;
        i = j;
    }
    partial[0] = s;
    return SEGLOSS_OK;
}

/* partial[0] = non-ignored count (validates the target as it goes). */
static segloss_status count_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    ew_bufs b;
    int64_t n_valid;
    segloss_status st = segloss__ew_load_target(b.y, b.ignored, &n_valid, c->target, begin,
                                                end, c->has_ignore, c->ignore_value);
    partial[0] = (double)n_valid;
    return st;
}

static segloss_status bwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ew_ctx *c = ctx;
    (void)partial;
    ew_bufs b;
    const float *w, *pw;
    int64_t n = end - begin;
    segloss_status st = load_block(c, &b, begin, end, &w, &pw, NULL);
    if (st != SEGLOSS_OK) return st;
    float *g = c->out + begin;
    const float *x = c->x + begin;
    const float *gv = c->gvec ? c->gvec + begin : NULL;
    if (!c->has_ignore) return call_bwd(c->ops, g, x, b.y, w, pw, gv, c->gscale, n);
    for (int64_t i = 0; i < n; i++)
        if (b.ignored[i]) g[i] = 0.0f;
    int64_t i = 0, j;
    while (next_run(b.ignored, n, &i, &j)) {
        st = call_bwd(c->ops, g + i, x + i, b.y + i, w ? w + i : NULL, pw ? pw + i : NULL,
                      gv ? gv + i : NULL, c->gscale, j - i);
        if (st != SEGLOSS_OK) return st;
        i = j;
    }
    return SEGLOSS_OK;
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
    c.out = args->reduction == SEGLOSS_REDUCTION_NONE ? elems : NULL;
    double total[2];
    st = segloss__reduce_blocks(numel, 2, fwd_block, &c, total);
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
    c.out = grad;
    if (args->reduction == SEGLOSS_REDUCTION_NONE) {
        c.gvec = grad_out;
        c.gscale = 1.0;
    } else {
        c.gscale = grad_out ? (double)grad_out[0] : 1.0;
        if (args->reduction == SEGLOSS_REDUCTION_MEAN) {
            double count = (double)numel;
            if (c.has_ignore) {
                st = segloss__reduce_blocks(numel, 1, count_block, &c, &count);
                if (st != SEGLOSS_OK) return st;
            }
            /* count = 0: every gradient is overwritten with 0 anyway. */
            c.gscale = count > 0 ? c.gscale / count : 0.0;
        }
    }
    double unused;
    return segloss__reduce_blocks(numel, 1, bwd_block, &c, &unused);
}
