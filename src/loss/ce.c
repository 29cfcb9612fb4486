/* Softmax cross-entropy over axis 1 — torch.nn.CrossEntropyLoss with class
 * index targets (ATen LossNLL.cpp: cross_entropy_loss, nll_loss_nd and
 * cross_entropy_loss_label_smoothing), forward and backward.
 *
 * Input (N, C, d1, ...) or (N, C), or (C) for one unbatched sample; target
 * (N, d1, ...) of integer (or bool) class indices. A position i = (n, d...) has the C
 * logits x_c at stride S = d1*d2*... . With lse = max + log(sum_c
 * exp(x_c - max)) (no overflow), -logp_c = lse - x_c, eps = label smoothing,
 * w_c the class weights (1 when absent) and y the target class:
 *   l_i = (1-eps) * w_y * (lse - x_y) + (eps/C) * sum_c w_c * (lse - x_c)
 * (PyTorch's (1-eps)*nll + eps/C*smooth, term by term), l_i = 0 where
 * y == ignore_index. Reductions:
 *   SUM  = sum_i l_i
 *   MEAN = sum_i l_i / W,  W = sum_i w_{y_i} over non-ignored i
 * PyTorch divides both the nll and the smoothing term by W (its weighted
 * mean); unweighted, W is the count of non-ignored positions. W = 0 (all
 * ignored) gives 0/0 = NaN, as PyTorch; the gradient is then 0 (nothing
 * reaches an ignored position). Backward, softmax sm_c = exp(x_c - lse):
 *   dl_i/dx_c = (1-eps) w_y (sm_c - [c==y]) + (eps/C) (sm_c * sum_k w_k - w_c)
 * times the upstream value (and 1/W for MEAN).
 * Sums over positions are double partials over fixed blocks of positions
 * (deterministic); within a position the C terms are added in class order.
 * NaN or infinite logits propagate to NaN, as in PyTorch's log_softmax. */
#include "core/target.h"
#include "loss/softmax.h"

#include <math.h>
#include <string.h>

/* PyTorch's defaults (ignore_index -100). */
static const segloss_ce_opts ce_defaults = {.reduction = SEGLOSS_REDUCTION_MEAN,
                                            .ignore_index = -100};

segloss_ce_opts segloss_ce_opts_default(void) { return ce_defaults; }

#define CE_CHUNK 256           /* positions processed together (stack arrays) */
#define CE_IGNORED (-1)        /* cls[] value of an ignored position (the decoder's) */

/* Four lanes of the backward's per-position arithmetic (GCC/Clang generic
 * vectors: the same operations, lane by lane, as the scalar loops). */
typedef double ce_vd __attribute__((vector_size(32)));
typedef int64_t ce_vi __attribute__((vector_size(32)));
typedef float ce_vf __attribute__((vector_size(16)));

typedef struct ce_setup {
    int64_t n, c, s;           /* batch, classes, spatial size */
    int64_t m;                 /* positions = N*S = target elements */
    const float *x;
    const segloss_target *t;
    const float *w;            /* class weights or NULL */
    double wsum;               /* sum_c w_c (C when unweighted) */
    double eps;
    int64_t ignore;
    segloss_reduction red;
} ce_setup;

static segloss_status ce_init(ce_setup *d, const float *x, const segloss_target *t,
                              const segloss_shape *shape, const segloss_ce_opts *o) {
    memset(d, 0, sizeof *d);
    if (!x || !t || !t->data || !shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(o->reduction)) return SEGLOSS_ERR_ARG;
    if (!(o->label_smoothing >= 0.0 && o->label_smoothing <= 1.0)) return SEGLOSS_ERR_ARG;
    /* float targets (class probabilities) are not indices */
    if (segloss_dtype_size(t->dtype) == 0 || t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64)
        return SEGLOSS_ERR_DTYPE;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 1) return SEGLOSS_ERR_SHAPE;
    if (shape->ndim == 1) {
        d->n = 1;
        d->c = shape->dim[0];
    } else {
        d->n = shape->dim[0];
        d->c = shape->dim[1];
    }
    d->s = numel / (d->n * d->c);
    d->m = d->n * d->s;
    if (o->class_weight.data) {
        const segloss_shape *ws = &o->class_weight.shape;
        if (ws->ndim != 1 || ws->dim[0] != d->c) return SEGLOSS_ERR_SHAPE;
        d->w = o->class_weight.data;
        for (int64_t k = 0; k < d->c; k++) d->wsum += d->w[k];
    } else {
        d->wsum = (double)d->c;
    }
    d->x = x;
    d->t = t;
    d->eps = o->label_smoothing;
    d->ignore = o->ignore_index;
    d->red = o->reduction;
    return SEGLOSS_OK;
}

/* Class indices of positions [begin, begin+len): cls[k] in [0, C) or
 * CE_IGNORED (the decoder's -1); anything else is SEGLOSS_ERR_TARGET. */
static segloss_status load_classes(int64_t *cls, const ce_setup *d, int64_t begin,
                                   int64_t len) {
    return segloss__decode_index(cls, NULL, NULL, NULL, d->t, begin, len, d->c, d->ignore);
}

/* One chunk: positions pos .. pos+len-1, all in image n at spatial offsets
 * s0 .. s0+len-1. The forward loads the classes and lse per position in
 * double (chunk_lse, the double softmax kernel: the loss keeps double
 * accuracy); the backward the
 * float32 softmax kernel's probabilities, written at stride S into the
 * chunk's gradient rows (chunk_softmax, loss/softmax.h). */
typedef struct ce_chunk {
    int64_t cls[CE_CHUNK];
    double lse[CE_CHUNK];
    double acc[CE_CHUNK];
    float mx[CE_CHUNK], sp[CE_CHUNK];
} ce_chunk;

static segloss_status chunk_lse(ce_chunk *ch, const ce_setup *d, int64_t n, int64_t s0,
                                int64_t len, int64_t pos) {
    segloss_status st = load_classes(ch->cls, d, pos, len);
    if (st != SEGLOSS_OK) return st;
    segloss__softmax_d_kernel()(NULL, 0, ch->acc, ch->lse, d->x + n * d->c * d->s + s0, d->s,
                                d->c, len);
    return SEGLOSS_OK;
}

static segloss_status chunk_softmax(ce_chunk *ch, const ce_setup *d, int64_t n, int64_t s0,
                                    int64_t len, int64_t pos, float *p) {
    segloss_status st = load_classes(ch->cls, d, pos, len);
    if (st != SEGLOSS_OK) return st;
    segloss__softmax_kernel()(p, d->s, ch->mx, ch->sp, d->x + n * d->c * d->s + s0, d->s, d->c,
                              len);
    return SEGLOSS_OK;
}

/* Calls fn on every chunk of positions [begin, end). */
typedef segloss_status (*chunk_fn)(void *ctx, ce_chunk *ch, int64_t n, int64_t s0, int64_t len,
                                   int64_t pos, double *partial);

static segloss_status for_chunks(const ce_setup *d, int64_t begin, int64_t end, chunk_fn fn,
                                 void *ctx, double *partial) {
    ce_chunk ch;
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = pos / d->s, s0 = pos % d->s;
        int64_t len = end - pos;
        if (len > d->s - s0) len = d->s - s0;
        if (len > CE_CHUNK) len = CE_CHUNK;
        segloss_status st = fn(ctx, &ch, n, s0, len, pos, partial);
        if (st != SEGLOSS_OK) return st;
        pos += len;
    }
    return SEGLOSS_OK;
}

typedef struct ce_ctx {
    const ce_setup *d;
    float *elems;              /* forward NONE */
    double *elems_d;           /* forward: the position losses in double */
    int64_t *cls;              /* forward: the class indices (-1: ignored) */
    float *grad;               /* backward */
    const float *gvec;         /* backward NONE: upstream per position */
    double gscale;
} ce_ctx;

/* Forward: partial[0] += sum l_i, partial[1] += sum w_{y_i} (non-ignored). */
static segloss_status fwd_chunk(void *vctx, ce_chunk *ch, int64_t n, int64_t s0, int64_t len,
                                int64_t pos, double *partial) {
    const ce_ctx *cx = vctx;
    const ce_setup *d = cx->d;
    segloss_status st = chunk_lse(ch, d, n, s0, len, pos);
    if (st != SEGLOSS_OK) return st;
    const float *x0 = d->x + n * d->c * d->s + s0;
    /* acc = sum_c w_c (lse - x_c), only when smoothing. */
    if (d->eps > 0.0) {
        for (int64_t k = 0; k < len; k++) ch->acc[k] = 0.0;
        for (int64_t c = 0; c < d->c; c++) {
            const float *xc = x0 + c * d->s;
            double wc = d->w ? d->w[c] : 1.0;
            for (int64_t k = 0; k < len; k++) ch->acc[k] += wc * (ch->lse[k] - xc[k]);
        }
    }
    double sum = 0.0, wsum = 0.0;
    for (int64_t k = 0; k < len; k++) {
        int64_t y = ch->cls[k];
        double l = 0.0;
        if (y != CE_IGNORED) {
            double wy = d->w ? d->w[y] : 1.0;
            l = wy * (ch->lse[k] - x0[y * d->s + k]);
            if (d->eps > 0.0) l = (1.0 - d->eps) * l + d->eps / (double)d->c * ch->acc[k];
            wsum += wy;
        }
        if (cx->elems) cx->elems[pos + k] = (float)l;
        if (cx->elems_d) cx->elems_d[pos + k] = l;
        if (cx->cls) cx->cls[pos + k] = y;
        sum += l;
    }
    partial[0] += sum;
    partial[1] += wsum;
    return SEGLOSS_OK;
}

static segloss_status fwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ce_ctx *cx = ctx;
    return for_chunks(cx->d, begin, end, fwd_chunk, ctx, partial);
}

/* W only (backward of MEAN): partial[0] += sum w_{y_i}. */
static segloss_status wsum_chunk(void *vctx, ce_chunk *ch, int64_t n, int64_t s0, int64_t len,
                                 int64_t pos, double *partial) {
    const ce_setup *d = ((const ce_ctx *)vctx)->d;
    (void)n;
    (void)s0;
    segloss_status st = load_classes(ch->cls, d, pos, len);
    if (st != SEGLOSS_OK) return st;
    double wsum = 0.0;
    for (int64_t k = 0; k < len; k++)
        if (ch->cls[k] != CE_IGNORED) wsum += d->w ? d->w[ch->cls[k]] : 1.0;
    partial[0] += wsum;
    return SEGLOSS_OK;
}

static segloss_status wsum_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ce_ctx *cx = ctx;
    return for_chunks(cx->d, begin, end, wsum_chunk, ctx, partial);
}

/* The softmax goes into the chunk's gradient rows, then becomes the
 * gradient in place; p_y - 1 is formed as -sum_{c != y} p_c. */
static segloss_status bwd_chunk(void *vctx, ce_chunk *ch, int64_t n, int64_t s0, int64_t len,
                                int64_t pos, double *partial) {
    const ce_ctx *cx = vctx;
    const ce_setup *d = cx->d;
    (void)partial;
    float *g0 = cx->grad + n * d->c * d->s + s0;
    segloss_status st = chunk_softmax(ch, d, n, s0, len, pos, g0);
    if (st != SEGLOSS_OK) return st;
    double a = 1.0 - d->eps, b = d->eps / (double)d->c;
    /* acc[k] = sum of the probabilities of the classes other than y, in
     * class order (four positions at a time, the same sums) */
    for (int64_t k = 0; k < len; k++) ch->acc[k] = 0.0;
    for (int64_t c = 0; c < d->c; c++) {
        const float *gc = g0 + c * d->s;
        int64_t k = 0;
        for (; k + 4 <= len; k += 4) {
            ce_vf p;
            ce_vd s;
            ce_vi y;
            memcpy(&p, gc + k, sizeof p);
            memcpy(&s, ch->acc + k, sizeof s);
            memcpy(&y, ch->cls + k, sizeof y);
            ce_vd q = __builtin_convertvector(p, ce_vd);
            s += (ce_vd)((ce_vi)q & (y != c)); /* q or +0.0 */
            memcpy(ch->acc + k, &s, sizeof s);
        }
        for (; k < len; k++) ch->acc[k] += ch->cls[k] != c ? gc[k] : 0.0f;
    }
    if (!d->w && b == 0.0 && !cx->gvec) {
        /* the common case, the same values as the loop below: g_c = up p_c,
         * g_y = -up sum_{c != y} p_c, 0 at ignored positions */
        double up = cx->gscale;
        for (int64_t c = 0; c < d->c; c++) {
            float *gc = g0 + c * d->s;
            int64_t k = 0;
            for (; k + 4 <= len; k += 4) {
                ce_vf p;
                memcpy(&p, gc + k, sizeof p);
                p = __builtin_convertvector(__builtin_convertvector(p, ce_vd) * up, ce_vf);
                memcpy(gc + k, &p, sizeof p);
            }
            for (; k < len; k++) gc[k] = (float)(gc[k] * up);
        }
        for (int64_t k = 0; k < len; k++) {
            int64_t y = ch->cls[k];
            if (y != CE_IGNORED) g0[y * d->s + k] = (float)(-ch->acc[k] * up);
            else
                for (int64_t c = 0; c < d->c; c++) g0[c * d->s + k] = 0.0f;
        }
        return SEGLOSS_OK;
    }
    for (int64_t c = 0; c < d->c; c++) {
        float *gc = g0 + c * d->s;
        double wc = d->w ? d->w[c] : 1.0;
        for (int64_t k = 0; k < len; k++) {
            int64_t y = ch->cls[k];
            if (y == CE_IGNORED) {
                gc[k] = 0.0f;
                continue;
            }
            double up = cx->gvec ? cx->gscale * cx->gvec[pos + k] : cx->gscale;
            double sm = gc[k];
            double wy = d->w ? d->w[y] : 1.0;
            double g = a * wy * (c == y ? -ch->acc[k] : sm);
            if (b > 0.0) g += b * (sm * d->wsum - wc);
            gc[k] = (float)(g * up);
        }
    }
    return SEGLOSS_OK;
}

static segloss_status bwd_block(void *ctx, int64_t begin, int64_t end, double *partial) {
    const ce_ctx *cx = ctx;
    return for_chunks(cx->d, begin, end, bwd_chunk, ctx, partial);
}

segloss_status segloss_ce_forward(double *loss, float *elems, const float *x,
                                  const segloss_target *target, const segloss_shape *shape,
                                  const segloss_ce_opts *opts) {
    if (!opts) opts = &ce_defaults;
    if (!loss) return SEGLOSS_ERR_NULL;
    ce_setup d;
    segloss_status st = ce_init(&d, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    ce_ctx cx = {.d = &d, .elems = d.red == SEGLOSS_REDUCTION_NONE ? elems : NULL};
    double tot[2];
    st = segloss__reduce_blocks(d.m, 2, fwd_block, &cx, tot);
    if (st != SEGLOSS_OK) return st;
    *loss = d.red == SEGLOSS_REDUCTION_MEAN ? tot[0] / tot[1] : tot[0];
    return SEGLOSS_OK;
}

segloss_status segloss_ce_backward(float *grad, const float *x, const segloss_target *target,
                                   const segloss_shape *shape, const segloss_ce_opts *opts,
                                   const float *grad_out) {
    if (!opts) opts = &ce_defaults;
    if (!grad) return SEGLOSS_ERR_NULL;
    ce_setup d;
    segloss_status st = ce_init(&d, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    ce_ctx cx = {.d = &d, .grad = grad};
    if (d.red == SEGLOSS_REDUCTION_NONE) {
        cx.gvec = grad_out;
        cx.gscale = 1.0;
    } else {
        cx.gscale = grad_out ? (double)grad_out[0] : 1.0;
        if (d.red == SEGLOSS_REDUCTION_MEAN) {
            double W;
            st = segloss__reduce_blocks(d.m, 1, wsum_block, &cx, &W);
            if (st != SEGLOSS_OK) return st;
            /* W = 0: every position is ignored (gradient 0), or the weights
             * of the present classes sum to 0 (PyTorch: NaN; we follow). */
            cx.gscale /= W;
        }
    }
    double unused;
    return segloss__reduce_blocks(d.m, 1, bwd_block, &cx, &unused);
}

segloss_status segloss__ce_losses(double *elems, int64_t *cls, const float *x,
                                  const segloss_target *target, const segloss_shape *shape,
                                  const segloss_ce_opts *opts) {
    ce_setup d;
    segloss_status st = ce_init(&d, x, target, shape, opts);
    if (st != SEGLOSS_OK) return st;
    ce_ctx cx = {.d = &d, .elems_d = elems, .cls = cls};
    double tot[2];
    return segloss__reduce_blocks(d.m, 2, fwd_block, &cx, tot);
}
