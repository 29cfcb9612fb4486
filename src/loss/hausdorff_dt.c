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
 * The distance maps come from the exact EDT (segloss_edt_squared), two per
 * mask, computed once per call; MONAI uses scipy's distance_transform_edt
 * (or cuCIM) per image and channel. */
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

typedef struct hd_setup {
    int64_t n, c, s, c0, ck;
    int index;
    segloss_shape sp;          /* spatial shape */
    double *p;                 /* probabilities, numel */
    double *y;                 /* target of kept channels, n*ck*s */
    double *d;                 /* dp^alpha + dy^alpha, n*ck*s */
} hd_setup;

static void hd_free(hd_setup *h) {
    free(h->p); /* y and d live in the same block */
}

typedef struct hd_ctx {
    hd_setup *h;
    const float *x;
    const segloss_target *t;
    const segloss_hausdorff_dt_opts *o;
} hd_ctx;

/* Image n: probabilities of every channel; targets and distance terms of
 * the kept channels (its own rows only). */
static segloss_status hd_image(void *vctx, int64_t n) {
    const hd_ctx *cx = vctx;
    hd_setup *h = cx->h;
    const float *x = cx->x;
    const segloss_target *t = cx->t;
    const segloss_hausdorff_dt_opts *o = cx->o;
    segloss_status st = SEGLOSS_OK;
    double *work = malloc((size_t)h->s * 3 * sizeof *work);
    uint8_t *m = malloc((size_t)h->s * 2);
    int64_t *idx = h->index ? malloc((size_t)h->s * sizeof *idx) : NULL;
    if (!work || !m || (h->index && !idx)) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    const float *xn = x + n * h->c * h->s;
    double *pn = h->p + n * h->c * h->s;
    if ((st = segloss__dm_probs(pn, xn, h->c, h->s, o->activation)) != SEGLOSS_OK) goto done;
    if (h->index && st == SEGLOSS_OK)
        st = segloss__decode_index(idx, NULL, NULL, NULL, t, n * h->s, h->s, h->c,
                                   SEGLOSS_IGNORE_NONE);
    /* targets and distance maps of the kept channels */
    for (int64_t k = 0; k < h->ck && st == SEGLOSS_OK; k++) {
        int64_t c = h->c0 + k, row = (n * h->ck + k) * h->s;
        double *y = h->y + row, *d = h->d + row, *dp = work + h->s, *dy = work + 2 * h->s;
        const double *p = pn + c * h->s;
        if (h->index)
            for (int64_t i = 0; i < h->s; i++) y[i] = idx[i] == c ? 1.0 : 0.0;
        else if ((st = segloss__decode_dense_d(y, NULL, NULL, NULL, t, (n * h->c + c) * h->s,
                                               h->s, SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
            goto done;
        for (int pass = 0; pass < 2 && st == SEGLOSS_OK; pass++) {
            const double *v = pass ? y : p;
            double *dist = pass ? dy : dp;
            int fg, bg;
            for (int64_t i = 0; i < h->s; i++) m[i] = v[i] > 0.5;
            /* in-distances into dist, out-distances into d (free until the
             * sum below), both from one transform */
            st = segloss__distmap(dist, d, &fg, &bg, m, &h->sp, h->s, work, m + h->s);
            if (st != SEGLOSS_OK) break;
            if (!fg || !bg) { /* all 0 or all 1: MONAI leaves the field 0 */
                for (int64_t i = 0; i < h->s; i++) dist[i] = 0.0;
                continue;
            }
            for (int64_t i = 0; i < h->s; i++) dist[i] += d[i];
        }
        if (st != SEGLOSS_OK) break;
        for (int64_t i = 0; i < h->s; i++)
            d[i] = (o->alpha == 2.0 ? dp[i] * dp[i] + dy[i] * dy[i]
                                    : pow(dp[i], o->alpha) + pow(dy[i], o->alpha));
    }
done:
    free(work);
    free(m);
    free(idx);
    return st;
}

static segloss_status hd_init(hd_setup *h, const float *x, const segloss_target *t,
                              const segloss_shape *shape, const segloss_hausdorff_dt_opts *o) {
    memset(h, 0, sizeof *h);
    if (!segloss__valid_reduction(o->reduction) || !isfinite(o->alpha) || o->alpha < 0.0)
        return SEGLOSS_ERR_ARG;
    segloss__dm_layout l;
    segloss_status st = segloss__dm_layout_init(&l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    h->n = l.n;
    h->c = l.c;
    h->s = l.s;
    h->sp = l.sp;
    h->index = l.index;
    int64_t numel = h->n * h->c * h->s;
    h->c0 = o->no_background && h->c > 1 ? 1 : 0;
    h->ck = h->c - h->c0;
    int64_t kept = h->n * h->ck * h->s;
    /* one block: a large allocation freed at once lets glibc keep it in
     * the heap for the next call, where three separate ones are returned
     * to the system and page-faulted in again on every training step */
    h->p = malloc(((size_t)numel + 2 * (size_t)kept) * sizeof *h->p);
    if (!h->p) st = SEGLOSS_ERR_NOMEM;
    else {
        h->y = h->p + numel;
        h->d = h->y + kept;
    }
    hd_ctx ctx = {h, x, t, o};
    /* images in parallel: each writes only its own rows */
    if (st == SEGLOSS_OK) st = segloss__for_items(h->n, hd_image, &ctx);
    if (st != SEGLOSS_OK) hd_free(h);
    return st;
}

/* Item values f (items: n*ck, or ck with batch). */
static int64_t hd_items(const hd_setup *h, const segloss_hausdorff_dt_opts *o, double *f) {
    int64_t items = o->batch ? h->ck : h->n * h->ck;
    double cnt = o->batch ? (double)(h->n * h->s) : (double)h->s;
    if (f) {
        for (int64_t i = 0; i < items; i++) f[i] = 0.0;
        for (int64_t n = 0; n < h->n; n++)
            for (int64_t k = 0; k < h->ck; k++) {
                int64_t row = (n * h->ck + k) * h->s, it = o->batch ? k : n * h->ck + k;
                const double *p = h->p + (n * h->c + h->c0 + k) * h->s;
                double acc = 0.0;
                for (int64_t i = 0; i < h->s; i++) {
                    double e = p[i] - h->y[row + i];
                    acc += e * e * h->d[row + i];
                }
                f[it] += acc / cnt;
            }
    }
    return items;
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
    hd_setup h;
    segloss_status st = hd_init(&h, x, t, shape, o);
    if (st != SEGLOSS_OK) return st;
    int64_t items = hd_items(&h, o, NULL);
    double *f = malloc((size_t)items * sizeof *f);
    if (!f) {
        hd_free(&h);
        return SEGLOSS_ERR_NOMEM;
    }
    hd_items(&h, o, f);
    int none = o->reduction == SEGLOSS_REDUCTION_NONE;
    double red = hd_reduce(f, items, o);
    if (loss) {
        if (none) {
            double tot = 0.0;
            for (int64_t i = 0; i < items; i++) {
                double v = o->log ? log(f[i] + 1.0) : f[i];
                if (elems) elems[i] = (float)v;
                tot += v;
            }
            *loss = tot;
        } else {
            *loss = o->log ? log(red + 1.0) : red;
        }
    }
    if (grad) {
        double cnt = o->batch ? (double)(h.n * h.s) : (double)h.s;
        double *g = malloc((size_t)h.c * sizeof *g);
        if (!g) st = SEGLOSS_ERR_NOMEM;
        for (int64_t n = 0; n < h.n && st == SEGLOSS_OK; n++)
            for (int64_t i = 0; i < h.s; i++) {
                for (int64_t c = 0; c < h.c; c++) {
                    g[c] = 0.0;
                    if (c < h.c0) continue;
                    int64_t k = c - h.c0, it = o->batch ? k : n * h.ck + k;
                    int64_t row = (n * h.ck + k) * h.s;
                    double up = grad_out ? (none ? grad_out[it] : grad_out[0]) : 1.0;
                    if (o->reduction == SEGLOSS_REDUCTION_MEAN) up /= (double)items;
                    if (o->log) up /= (none ? f[it] : red) + 1.0;
                    double p = h.p[(n * h.c + c) * h.s + i];
                    g[c] = up * 2.0 * (p - h.y[row + i]) * h.d[row + i] / cnt;
                }
                segloss__dm_act_backward(grad + n * h.c * h.s + i, h.p + n * h.c * h.s + i, g,
                                         1, h.c, h.s, o->activation);
            }
        free(g);
    }
    free(f);
    hd_free(&h);
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
