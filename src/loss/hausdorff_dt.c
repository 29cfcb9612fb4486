/* Hausdorff distance-transform losses — MONAI HausdorffDTLoss and
 * LogHausdorffDTLoss — forward and backward.
 *
 * Input (N, C, spatial...) with spatial rank 1..3; p = the activation of x
 * (NONE: x itself, MONAI's default; SIGMOID; SOFTMAX over axis 1), y the
 * target (dense, or class indices one-hot). Kept channels: all, or 1..C-1
 * with no_background (MONAI's default include_background=False; no effect
 * when C == 1). For image n and kept channel c:
 *   field(m) = d(i, nearest element of the other value of m), 0 when m is
 *              all 0 or all 1 (MONAI's distance_field: fg_dist + bg_dist)
 *   dp = field(p > 0.5), dy = field(y > 0.5)     constants (not differentiated)
 *   f_nc = mean over space of (p - y)^2 (dp^alpha + dy^alpha)
 * Items: (n, c), or c with batch (mean over images and space). Reduction
 * over items: MEAN, SUM, NONE. log: log(L + 1) of the reduced loss (NONE:
 * of each item), LogHausdorffDTLoss. Backward:
 *   dL/dp = up_item * 2 (p - y)(dp^alpha + dy^alpha) / count,
 * (log: times 1/(L + 1)), then through the activation (sigmoid p(1-p);
 * softmax p_j (g_j - sum_k p_k g_k) with g = 0 on dropped channels).
 * The distance fields come from one exact integer EDT per mask
 * (segloss__distfield; alpha 2 takes the squared distances themselves),
 * computed once per call; MONAI uses scipy's distance_transform_edt (or
 * cuCIM) twice per mask, per image and channel.
 *
 * One sweep over the images (segloss__dm_for_images) computes each image's
 * fields, its item sums and its gradient; no array of the whole batch is
 * kept. The gradient is written with up_item where that is known during
 * the sweep (no log; log with NONE and no batch: the image's own items).
 * Otherwise (log of the reduced loss, or of batch items) the sweep writes
 * it for up = 1 and hd_run multiplies it afterwards: by one factor
 * (MEAN/SUM), or per channel (NONE with batch); with softmax, whose
 * channels mix, NONE with batch runs the sweep again with the factors. */
#include "core/target.h"
#include "loss/distmap.h"

#include <math.h>
#include <stdlib.h>

segloss_hausdorff_dt_opts segloss_hausdorff_dt_opts_default(void) {
    segloss_hausdorff_dt_opts o = {.reduction = SEGLOSS_REDUCTION_MEAN,
                                   .activation = SEGLOSS_ACTIVATION_NONE,
                                   .target_kind = SEGLOSS_TARGET_AUTO,
                                   .no_background = 1,
                                   .alpha = 2.0};
    return o;
}

typedef struct hd_ctx {
    const float *x;
    const segloss_target *t;
    const segloss_hausdorff_dt_opts *o;
    segloss__dm_layout l;
    int64_t c0, ck, items;
    double cnt;                /* elements per item: S, or N*S with batch */
    float *grad;               /* NULL: no gradient */
    const float *grad_out;
    double *part;              /* n*ck: sum over space of (p - y)^2 d */
    const double *up;          /* the items' factors when known before the sweep */
    int later;                 /* the factors come after the sweep: write up = 1 */
    size_t off[6];             /* scratch: p, r, y, fy, m, idx; then the EDT's */
} hd_ctx;

/* up_item; f: the item values (log only), red their reduction */
static double hd_up(const hd_ctx *h, int64_t it, double f_it, double red) {
    const segloss_hausdorff_dt_opts *o = h->o;
    const int none = o->reduction == SEGLOSS_REDUCTION_NONE;
    double up = h->grad_out ? (none ? h->grad_out[it] : h->grad_out[0]) : 1.0;
    if (o->reduction == SEGLOSS_REDUCTION_MEAN) up /= (double)h->items;
    if (o->log) up /= (none ? f_it : red) + 1.0;
    return up;
}

/* Image n: p (every channel); per kept channel its target, both fields,
 * the item sum into part and g = up_item * 2 (p - y) d / count (r, one row
 * per channel, 0 on dropped ones); then g through the activation. */
static segloss_status hd_image(void *vctx, int64_t n, void *scratch) {
    const hd_ctx *h = vctx;
    const segloss_hausdorff_dt_opts *o = h->o;
    const int64_t s = h->l.s, c = h->l.c;
    char *w = scratch;
    double *p = (double *)(void *)(w + h->off[0]), *r = (double *)(void *)(w + h->off[1]);
    double *y = (double *)(void *)(w + h->off[2]), *fy = (double *)(void *)(w + h->off[3]);
    uint8_t *m = (uint8_t *)(w + h->off[4]);
    int64_t *idx = (int64_t *)(void *)(w + h->off[5]);
    void *work = w + h->off[5] + (h->l.index ? (size_t)s * sizeof *idx : 0);
    segloss_status st = segloss__dm_probs(p, h->x + n * c * s, c, s, o->activation);
    if (st == SEGLOSS_OK && h->l.index)
        st = segloss__decode_index(idx, NULL, NULL, NULL, h->t, n * s, s, c, SEGLOSS_IGNORE_NONE);
    if (st != SEGLOSS_OK) return st;
    const int sq = o->alpha == 2.0; /* alpha 2: the squared distances (exact integers) */
    for (int64_t k = 0; k < h->ck; k++) {
        const int64_t ch = h->c0 + k, it = o->batch ? k : n * h->ck + k;
        const double *pc = p + ch * s;
        double *d = h->grad ? r + ch * s : r; /* dp, then d, then g */
        if (h->l.index)
            for (int64_t i = 0; i < s; i++) y[i] = idx[i] == ch ? 1.0 : 0.0;
        else if ((st = segloss__decode_dense_d(y, NULL, NULL, NULL, h->t, (n * c + ch) * s, s,
                                               SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
            return st;
        int fp, bp, fgy, bgy;
        for (int64_t i = 0; i < s; i++) m[i] = pc[i] > 0.5;
        if ((st = segloss__distfield(d, !sq, &fp, &bp, m, &h->l.sp, s, work)) != SEGLOSS_OK)
            return st;
        for (int64_t i = 0; i < s; i++) m[i] = y[i] > 0.5;
        if ((st = segloss__distfield(fy, !sq, &fgy, &bgy, m, &h->l.sp, s, work)) != SEGLOSS_OK)
            return st;
        const int zp = fp && bp, zy = fgy && bgy; /* else that field is 0 (MONAI) */
        double acc = 0.0;
        for (int64_t i = 0; i < s; i++) {
            const double dp = zp ? d[i] : 0.0, dy = zy ? fy[i] : 0.0;
            const double e = pc[i] - y[i];
            d[i] = sq ? dp + dy : pow(dp, o->alpha) + pow(dy, o->alpha);
            acc += e * e * d[i];
        }
        h->part[n * h->ck + k] = acc;
        if (!h->grad) continue;
        const double up = h->later ? 1.0 : h->up ? h->up[it] : hd_up(h, it, acc / h->cnt, 0.0);
        for (int64_t i = 0; i < s; i++) d[i] = up * 2.0 * (pc[i] - y[i]) * d[i] / h->cnt;
    }
    if (!h->grad) return SEGLOSS_OK;
    for (int64_t i = 0; i < h->c0 * s; i++) r[i] = 0.0;
    segloss__dm_act_backward_rows(h->grad + n * c * s, p, r, c, s, o->activation, y);
    return SEGLOSS_OK;
}

/* The scratch of one worker: p and r (C*S doubles each; r S without a
 * gradient), y and fy (S doubles each), m (S bytes), idx (S int64 with
 * class indices), the EDT's work. */
static size_t hd_scratch(hd_ctx *h) {
    const size_t s = (size_t)h->l.s, c = (size_t)h->l.c;
    const size_t sz[6] = {c * s * sizeof(double), (h->grad ? c : 1) * s * sizeof(double),
                          s * sizeof(double), s * sizeof(double), (s + 7) & ~(size_t)7,
                          h->l.index ? s * sizeof(int64_t) : 0};
    size_t at = 0;
    for (int k = 0; k < 6; k++) {
        h->off[k] = at;
        at += sz[k];
    }
    return at + (size_t)segloss__distfield_work(&h->l.sp, h->l.s);
}

static double hd_reduce(const double *f, int64_t items, const segloss_hausdorff_dt_opts *o) {
    double tot = 0.0;
    for (int64_t i = 0; i < items; i++) tot += f[i];
    return o->reduction == SEGLOSS_REDUCTION_MEAN ? tot / (double)items : tot;
}

static segloss_status hd_run(double *loss, float *elems, float *grad, const float *x,
                             const segloss_target *t, const segloss_shape *shape,
                             const segloss_hausdorff_dt_opts *o, const float *grad_out) {
    segloss_hausdorff_dt_opts def = segloss_hausdorff_dt_opts_default();
    if (!o) o = &def;
    if (!segloss__valid_reduction(o->reduction) || !isfinite(o->alpha) || o->alpha < 0.0)
        return SEGLOSS_ERR_ARG;
    hd_ctx h = {.x = x, .t = t, .o = o, .grad = grad, .grad_out = grad_out};
    segloss_status st = segloss__dm_layout_init(&h.l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    const int64_t n = h.l.n, s = h.l.s;
    const int none = o->reduction == SEGLOSS_REDUCTION_NONE;
    h.c0 = o->no_background && h.l.c > 1 ? 1 : 0;
    h.ck = h.l.c - h.c0;
    h.items = o->batch ? h.ck : n * h.ck;
    h.cnt = o->batch ? (double)(n * s) : (double)s;
    h.later = o->log && (!none || o->batch);
    /* part (n*ck), the item values f (items), their factors (items) */
    double *part = malloc(((size_t)(n * h.ck) + 2 * (size_t)h.items) * sizeof *part);
    if (!part) return SEGLOSS_ERR_NOMEM;
    double *f = part + n * h.ck, *up = f + h.items;
    h.part = part;
    const size_t bytes = hd_scratch(&h);
    st = segloss__dm_for_images(n, bytes, hd_image, &h);
    if (st != SEGLOSS_OK) goto done;
    for (int64_t i = 0; i < h.items; i++) f[i] = 0.0;
    for (int64_t k = 0; k < n * h.ck; k++) f[o->batch ? k % h.ck : k] += part[k] / h.cnt;
    const double red = hd_reduce(f, h.items, o);
    if (loss) {
        if (none) {
            double tot = 0.0;
            for (int64_t i = 0; i < h.items; i++) {
                const double v = o->log ? log(f[i] + 1.0) : f[i];
                if (elems) elems[i] = (float)v;
                tot += v;
            }
            *loss = tot;
        } else {
            *loss = o->log ? log(red + 1.0) : red;
        }
    }
    if (grad && h.later) {
        for (int64_t i = 0; i < h.items; i++) up[i] = hd_up(&h, i, f[i], red);
        if (!none) { /* one factor */
            for (int64_t i = 0; i < n * h.l.c * s; i++) grad[i] = (float)(up[0] * grad[i]);
        } else if (o->activation != SEGLOSS_ACTIVATION_SOFTMAX) { /* per batch item (channel) */
            for (int64_t i = 0; i < n * h.l.c; i++) {
                const int64_t ch = i % h.l.c;
                if (ch < h.c0) continue;
                float *g = grad + i * s;
                for (int64_t j = 0; j < s; j++) g[j] = (float)(up[ch - h.c0] * g[j]);
            }
        } else { /* softmax mixes channels of different factors: again, with them */
            h.later = 0;
            h.up = up;
            st = segloss__dm_for_images(n, bytes, hd_image, &h);
        }
    }
done:
    free(part);
    return st;
}

segloss_status segloss_hausdorff_dt_items_shape(segloss_shape *items, const segloss_shape *shape,
                                                const segloss_hausdorff_dt_opts *opts) {
    segloss_hausdorff_dt_opts def = segloss_hausdorff_dt_opts_default();
    if (!opts) opts = &def;
    if (!items || !shape) return SEGLOSS_ERR_NULL;
    if (shape->ndim < 3 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    int64_t ck = shape->dim[1] - (opts->no_background && shape->dim[1] > 1 ? 1 : 0);
    memset(items, 0, sizeof *items);
    items->ndim = opts->batch ? 1 : 2;
    items->dim[0] = opts->batch ? ck : shape->dim[0];
    items->dim[1] = opts->batch ? 0 : ck;
    return SEGLOSS_OK;
}

segloss_status segloss_hausdorff_dt_forward(double *loss, float *elems, const float *x,
                                            const segloss_target *target,
                                            const segloss_shape *shape,
                                            const segloss_hausdorff_dt_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return hd_run(loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_hausdorff_dt_backward(float *grad, const float *x,
                                             const segloss_target *target,
                                             const segloss_shape *shape,
                                             const segloss_hausdorff_dt_opts *opts,
                                             const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return hd_run(NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_hausdorff_dt_forward_backward(double *loss, float *elems, float *grad,
                                                     const float *x,
                                                     const segloss_target *target,
                                                     const segloss_shape *shape,
                                                     const segloss_hausdorff_dt_opts *opts,
                                                     const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return hd_run(loss, elems, grad, x, target, shape, opts, grad_out);
}
