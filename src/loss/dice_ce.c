/* Dice + cross-entropy — MONAI DiceCELoss, and nnU-Net's DC_and_CE_loss
 * with `nnunet` — forward, backward, and both in one call.
 *
 * C > 1 (axis 1 of an (N, C, spatial...) input), class-index target of
 * shape (N, spatial...):
 *   loss = lambda_dice * dice(x, y) + lambda_ce * ce(x, y)
 *   dice: segloss_dice with opts->dice (any activation; SOFTMAX by default,
 *         the target one-hot inside as MONAI's to_onehot_y)
 *   ce:   torch CrossEntropyLoss on the logits (label_smoothing; ignore
 *         value dice.ignore_index; reduction dice.reduction, MEAN or SUM)
 *   nnunet: the dice term is nnU-Net's -mean(dc) = dice - 1 (MEAN only);
 *         with MemoryEfficientSoftDiceLoss's defaults in
 *         segloss_dice_ce_opts_nnunet (smooth 1e-5, do_bg False).
 * Backward: d loss/dx = lambda_dice d dice/dx + lambda_ce d ce/dx.
 * With the softmax activation (the default; not smp >= 0.4's min(p, y)
 * intersection) one softmax serves both terms (fused below): pass 1, per
 * spatial block of an image, computes the double softmax once per
 * position (kernels/vec.h), adds the CE loss and the Dice group sums
 * I, P, G of the block, and keeps p (float) in the gradient buffer; the
 * Dice items then give dI, dP; pass 2 turns p into
 *   g_c = lambda_dice p_c (h_c - sum_j p_j h_j),  h_c = dI y_c + dP dP/dp_c
 *       + u ((1-eps) (p_c - [c==y]) + eps/C (C p_c - 1))
 * (u = lambda_ce upstream, / W for MEAN; p_y - 1 formed as -sum_{c!=y} p_c),
 * 0 at ignored pixels. Blocks are fixed by the shape and their partial sums
 * added in order: the same bits for any thread count. Other activations:
 * the two gradients of dice.c and ce.c added in float32 (the CE part
 * through a scratch buffer of the input's size).
 * C = 1 (or ndim <= 2): MONAI switches to BCEWithLogitsLoss; this is
 * segloss_dice_bce with lambda_bce = lambda_ce (activation SIGMOID, dense
 * target; label_smoothing and nnunet must be 0). */
#include "core/target.h"
#include "loss/region.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdlib.h>

/* MONAI DiceCELoss(softmax=True, to_onehot_y=True) defaults otherwise. */
segloss_dice_ce_opts segloss_dice_ce_opts_default(void) {
    segloss_dice_ce_opts o = {.dice = SEGLOSS__DICE_DEFAULTS, .lambda_dice = 1.0,
                              .lambda_ce = 1.0};
    o.dice.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    return o;
}

segloss_dice_ce_opts segloss_dice_ce_opts_nnunet(void) {
    segloss_dice_ce_opts o = segloss_dice_ce_opts_default();
    o.dice.no_background = 1; /* do_bg=False */
    o.nnunet = 1;
    return o;
}

static segloss_status check(const segloss_dice_ce_opts *o) {
    if (!isfinite(o->lambda_dice) || !isfinite(o->lambda_ce) || o->lambda_dice < 0.0 ||
        o->lambda_ce < 0.0)
        return SEGLOSS_ERR_ARG;
    if (o->dice.reduction != SEGLOSS_REDUCTION_MEAN && o->dice.reduction != SEGLOSS_REDUCTION_SUM)
        return SEGLOSS_ERR_ARG;
    if (o->nnunet != 0 && (o->nnunet != 1 || o->dice.reduction != SEGLOSS_REDUCTION_MEAN))
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* ------------------------------------------------------------------------ */
/* Fused softmax Dice + CE                                                   */
/* ------------------------------------------------------------------------ */
#define DCE_BUF 4096 /* doubles of exp per chunk: chunk = DCE_BUF / C positions */
#define DCE_MAX_C 256

typedef struct dce_ctx {
    segloss__region *r;
    double eps;              /* label smoothing */
    float *grad;             /* NULL: loss only */
    double *part;            /* per work item: ck*3 Dice sums, then CE sum and count */
    double uc;               /* pass 2: CE upstream factor (lambda_ce up, / W for MEAN) */
} dce_ctx;

static int64_t dce_chunk_len(const segloss__region *r) {
    int64_t len = DCE_BUF / r->c;
    return len > 256 ? 256 : len;
}

/* Pass 1 of work item w = (image, spatial block). */
static segloss_status dce_pass1(void *vctx, int64_t w) {
    const dce_ctx *cx = vctx;
    const segloss__region *r = cx->r;
    int64_t n = w / r->nb, blk = w % r->nb, c = r->c, s = r->s;
    int64_t lo = blk * SEGLOSS_BLOCK, hi = lo + SEGLOSS_BLOCK < s ? lo + SEGLOSS_BLOCK : s;
    int64_t cl = dce_chunk_len(r);
    double *acc = cx->part + w * (r->ck * 3 + 2);
    for (int64_t k = 0; k < r->ck * 3 + 2; k++) acc[k] = 0.0;
    double e[DCE_BUF], sum[256], lse[256];
    int64_t idx[256];
    segloss_vec_softmax_d_fn sm = segloss__softmax_d_kernel();
    double ce = 0.0, cnt = 0.0, b = cx->eps / (double)c;
    for (int64_t s0 = lo; s0 < hi; s0 += cl) {
        int64_t len = hi - s0 < cl ? hi - s0 : cl;
        segloss_status st = segloss__decode_index(idx, NULL, NULL, NULL, r->t, n * s + s0, len,
                                                  c, r->ign);
        if (st != SEGLOSS_OK) return st;
        const float *x0 = r->x + n * c * s + s0;
        sm(e, len, sum, lse, x0, s, c, len);
        for (int64_t i = 0; i < len; i++) {
            int64_t y = idx[i];
            if (y < 0) continue;
            double l = lse[i] - x0[y * s + i];
            if (b > 0.0) {
                double t = 0.0;
                for (int64_t k = 0; k < c; k++) t += lse[i] - x0[k * s + i];
                l = (1.0 - cx->eps) * l + b * t;
            }
            ce += l;
            cnt += 1.0;
        }
        for (int64_t i = 0; i < len; i++) sum[i] = 1.0 / sum[i];
        for (int64_t k = 0; k < c; k++) {
            double *ek = e + k * len;
            float *gk = cx->grad ? cx->grad + (n * c + k) * s + s0 : NULL;
            for (int64_t i = 0; i < len; i++) ek[i] *= sum[i];
            if (gk)
                for (int64_t i = 0; i < len; i++) gk[i] = (float)ek[i];
        }
        /* the sums without data-dependent branches: ignored pixels' p set
         * to 0 (their gradient is 0), I and G added at each pixel's class */
        for (int64_t i = 0; i < len; i++)
            if (idx[i] < 0)
                for (int64_t k = 0; k < c; k++) e[k * len + i] = 0.0;
        for (int64_t i = 0; i < len; i++) {
            int64_t y = idx[i];
            if (y >= r->c0) {
                acc[(y - r->c0) * 3] += e[y * len + i];
                acc[(y - r->c0) * 3 + 2] += 1.0;
            }
        }
        for (int64_t k = r->c0; k < c; k++) {
            const double *ek = e + k * len;
            double P = 0.0;
            if (r->squared)
                for (int64_t i = 0; i < len; i++) P += ek[i] * ek[i];
            else
                for (int64_t i = 0; i < len; i++) P += ek[i];
            acc[(k - r->c0) * 3 + 1] += P;
        }
    }
    acc[r->ck * 3] = ce;
    acc[r->ck * 3 + 1] = cnt;
    return SEGLOSS_OK;
}

/* Pass 2: the gradient rows of work item w hold p; they become the
 * gradient. */
static segloss_status dce_pass2(void *vctx, int64_t w) {
    const dce_ctx *cx = vctx;
    const segloss__region *r = cx->r;
    int64_t n = w / r->nb, blk = w % r->nb, c = r->c, s = r->s;
    int64_t lo = blk * SEGLOSS_BLOCK, hi = lo + SEGLOSS_BLOCK < s ? lo + SEGLOSS_BLOCK : s;
    int64_t idx[256];
    double hp[DCE_MAX_C];
    double a = 1.0 - cx->eps, b = cx->eps / (double)c;
    /* group of kept channel k: base + k */
    int64_t base = (r->batch ? 0 : n * r->ck) - r->c0;
    for (int64_t s0 = lo; s0 < hi; s0 += 256) {
        int64_t len = hi - s0 < 256 ? hi - s0 : 256;
        segloss_status st = segloss__decode_index(idx, NULL, NULL, NULL, r->t, n * s + s0, len,
                                                  c, r->ign);
        if (st != SEGLOSS_OK) return st;
        float *g0 = cx->grad + n * c * s + s0;
        for (int64_t i = 0; i < len; i++) {
            int64_t y = idx[i];
            if (y < 0) {
                for (int64_t k = 0; k < c; k++) g0[k * s + i] = 0.0f;
                continue;
            }
            /* h_k = dP (dP/dp_k) on kept channels, + dI at the pixel's class */
            double p[DCE_MAX_C], dot = 0.0, rest = 0.0;
            for (int64_t k = 0; k < c; k++) p[k] = g0[k * s + i];
            for (int64_t k = 0; k < r->c0; k++) hp[k] = 0.0;
            for (int64_t k = r->c0; k < c; k++)
                hp[k] = r->dP[base + k] * (r->squared ? 2.0 * p[k] : 1.0);
            if (y >= r->c0) hp[y] += r->dI[base + y];
            for (int64_t k = 0; k < c; k++) dot += p[k] * hp[k];
            for (int64_t k = 0; k < y; k++) rest += p[k];
            for (int64_t k = y + 1; k < c; k++) rest += p[k];
            for (int64_t k = 0; k < c; k++) {
                double gce = a * p[k];
                if (b > 0.0) gce += b * ((double)c * p[k] - 1.0);
                g0[k * s + i] = (float)(p[k] * (hp[k] - dot) + cx->uc * gce);
            }
            double gce = -a * rest;
            if (b > 0.0) gce += b * ((double)c * p[y] - 1.0);
            g0[y * s + i] = (float)(p[y] * (hp[y] - dot) + cx->uc * gce);
        }
    }
    return SEGLOSS_OK;
}

/* Loss and/or gradient; the Dice upstream (lambda_dice up) goes into the
 * items' dI, dP. */
static segloss_status dce_fused(int mode, double *loss, float *grad, const float *x,
                                const segloss_target *t, const segloss_shape *shape,
                                const segloss_dice_opts *d, const segloss_dice_ce_opts *o,
                                const float *grad_out) {
    segloss__region r;
    segloss_status st = segloss__region_init(&r, x, t, shape, d, segloss__dice_loss.allow);
    if (st != SEGLOSS_OK) return st;
    int64_t work = r.n * r.nb, stride = r.ck * 3 + 2;
    int64_t items = segloss__region_items(&r, &segloss__dice_loss);
    dce_ctx cx = {&r, o->label_smoothing, (mode & SEGLOSS__FAST_GRAD) ? grad : NULL,
                  malloc((size_t)(work * stride + items) * sizeof(double)), 0.0};
    if (!cx.part) {
        segloss__region_free(&r);
        return SEGLOSS_ERR_NOMEM;
    }
    double *f = cx.part + work * stride;
    st = segloss__for_items(work, dce_pass1, &cx);
    if (st == SEGLOSS_OK) {
        for (int64_t g = 0; g < r.groups; g++) r.I[g] = r.P[g] = r.G[g] = 0.0;
        segloss__region_add_sums(&r, 0, r.n, cx.part, r.nb * stride, 3, stride);
        double ce = 0.0, cnt = 0.0;
        for (int64_t w = 0; w < work; w++) {
            ce += cx.part[w * stride + r.ck * 3];
            cnt += cx.part[w * stride + r.ck * 3 + 1];
        }
        double up = grad_out ? grad_out[0] : 1.0;
        float ud = (float)(o->lambda_dice * up);
        int g = (mode & SEGLOSS__FAST_GRAD) != 0;
        segloss__region_eval_items(&r, &segloss__dice_loss, 0, items, g, 1.0, &ud, f);
        if (mode & SEGLOSS__FAST_LOSS) {
            double ld;
            segloss__region_reduce(&ld, NULL, f, items, d->reduction);
            if (o->nnunet) ld -= 1.0;
            double lc = d->reduction == SEGLOSS_REDUCTION_MEAN ? ce / cnt : ce;
            *loss = o->lambda_dice * ld + o->lambda_ce * lc;
        }
        if (g) {
            /* the CE part's upstream in float as the separate call had it */
            cx.uc = (double)(float)(o->lambda_ce * up);
            if (d->reduction == SEGLOSS_REDUCTION_MEAN) cx.uc /= cnt;
            st = segloss__for_items(work, dce_pass2, &cx);
        }
    }
    free(cx.part);
    segloss__region_free(&r);
    return st;
}

static segloss_status run(int mode, double *loss, float *elems, float *grad, const float *x,
                          const segloss_target *t, const segloss_shape *shape,
                          const segloss_dice_ce_opts *o, const float *grad_out) {
    segloss_dice_ce_opts defaults;
    if (!o) {
        defaults = segloss_dice_ce_opts_default();
        o = &defaults;
    }
    if (!shape || ((mode & SEGLOSS__FAST_LOSS) && !loss) || ((mode & SEGLOSS__FAST_GRAD) && !grad))
        return SEGLOSS_ERR_NULL;
    segloss_status st = check(o);
    if (st != SEGLOSS_OK) return st;
    if (elems) return SEGLOSS_ERR_ARG; /* NONE is not a reduction of this loss */
    int64_t c = shape->ndim >= 3 ? shape->dim[1] : 1;
    if (c == 1) {
        if (o->label_smoothing != 0.0 || o->nnunet) return SEGLOSS_ERR_ARG;
        segloss_dice_bce_opts b = segloss_dice_bce_opts_default();
        b.dice = o->dice;
        b.lambda_dice = o->lambda_dice;
        b.lambda_bce = o->lambda_ce;
        if (mode == SEGLOSS__FAST_LOSS) return segloss_dice_bce_forward(loss, NULL, x, t, shape, &b);
        if (mode == SEGLOSS__FAST_GRAD)
            return segloss_dice_bce_backward(grad, x, t, shape, &b, grad_out);
        return segloss_dice_bce_forward_backward(loss, NULL, grad, x, t, shape, &b, grad_out);
    }
    segloss_dice_opts d = o->dice;
    if (d.target_kind == SEGLOSS_TARGET_DENSE) return SEGLOSS_ERR_ARG; /* CE takes indices */
    d.target_kind = SEGLOSS_TARGET_INDEX;
    if (d.activation == SEGLOSS_ACTIVATION_SOFTMAX && d.smp != SEGLOSS_SMP_CURRENT &&
        c <= DCE_MAX_C)
        return dce_fused(mode, loss, grad, x, t, shape, &d, o, grad_out);
    segloss_ce_opts ce = segloss_ce_opts_default();
    ce.reduction = d.reduction;
    ce.ignore_index = d.ignore_index;
    ce.label_smoothing = o->label_smoothing;
    if (mode & SEGLOSS__FAST_LOSS) {
        double ld, lc;
        if ((st = segloss_dice_forward(&ld, NULL, x, t, shape, &d)) != SEGLOSS_OK) return st;
        if ((st = segloss_ce_forward(&lc, NULL, x, t, shape, &ce)) != SEGLOSS_OK) return st;
        if (o->nnunet) ld -= 1.0;
        *loss = o->lambda_dice * ld + o->lambda_ce * lc;
    }
    if (mode & SEGLOSS__FAST_GRAD) {
        int64_t numel;
        if ((st = segloss_shape_numel(shape, &numel)) != SEGLOSS_OK) return st;
        float up = grad_out ? grad_out[0] : 1.0f;
        float ud = (float)(o->lambda_dice * up), uc = (float)(o->lambda_ce * up);
        float *tmp = malloc((size_t)numel * sizeof *tmp); /* numel fits: x has it */
        if (!tmp) return SEGLOSS_ERR_NOMEM;
        st = segloss_dice_backward(grad, x, t, shape, &d, &ud);
        if (st == SEGLOSS_OK) st = segloss_ce_backward(tmp, x, t, shape, &ce, &uc);
        if (st == SEGLOSS_OK)
            for (int64_t i = 0; i < numel; i++) grad[i] += tmp[i];
        free(tmp);
    }
    return st;
}

segloss_status segloss_dice_ce_forward(double *loss, float *elems, const float *x,
                                       const segloss_target *target, const segloss_shape *shape,
                                       const segloss_dice_ce_opts *opts) {
    return run(SEGLOSS__FAST_LOSS, loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_ce_backward(float *grad, const float *x, const segloss_target *target,
                                        const segloss_shape *shape,
                                        const segloss_dice_ce_opts *opts, const float *grad_out) {
    return run(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_ce_forward_backward(double *loss, float *elems, float *grad,
                                                const float *x, const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_dice_ce_opts *opts,
                                                const float *grad_out) {
    return run(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, target, shape,
               opts, grad_out);
}
