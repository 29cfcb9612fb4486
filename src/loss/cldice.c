/* Soft clDice — MONAI SoftclDiceLoss (monai/losses/cldice.py, after Shit et
 * al. 2021) — forward and backward, and the engine dice_cldice.c shares.
 *
 * Input (N, C, H, W) or (N, C, D, H, W); p = the activation of x (NONE:
 * x itself, MONAI's probabilities, DOMAIN outside [0,1]; SIGMOID; SOFTMAX
 * over axis 1), y the target (dense, or class indices one-hot). Kept
 * channels: 1..C-1 (no_background, MONAI's [:, 1:], which leaves nothing
 * when C == 1), or all. With sk(.) the soft skeleton (soft_skel.h) of each
 * image and channel and every sum over the whole batch and kept channels:
 *   tprec = (sum sk(p) y + s) / (sum sk(p) + s)
 *   tsens = (sum sk(y) p + s) / (sum sk(y) + s)
 *   cldice = 1 - 2 tprec tsens / (tprec + tsens)
 *   dice   = 1 - (2 sum p y + s) / (sum y + sum p + s)     (MONAI soft_dice)
 *   loss   = wd * dice + wc * cldice     (cldice: 0, 1; dice-cldice: 1 - alpha, alpha)
 * with s = smooth. No kept channel: every sum is 0 (loss 0 for s > 0).
 * Backward, with T = tprec + tsens:
 *   dL/dsk(p)_i = wc * (-2 tsens^2 / T^2) * (y_i / (B + s) - (A + s) / (B + s)^2)
 *   dL/dp_i    += wc * (-2 tprec^2 / T^2) * sk(y)_i / (sum sk(y) + s)
 *               - wd * (2 y_i (G + P + s) - (2 I + s)) / (G + P + s)^2
 * (A = sum sk(p) y, B = sum sk(p), I = sum p y, P = sum p, G = sum y); the
 * first goes back through the skeleton with torch's tie rules
 * (segloss__soft_skel_backward), then everything through the activation.
 * The first is a y + b with a, b known only after every item's sums; the
 * skeleton's backward is linear with routing fixed by the forward, so each
 * item computes J^T y and J^T 1 right after its forward and the gradient
 * is a J^T y + b J^T 1 (no intermediates kept across items).
 * sk(y) is a constant, as in MONAI (the target has no gradient).
 * Memory (doubles): N*C*S probabilities, 2*N*C'*S for y and sk(y), 2*N*C'*S
 * more for J^T y and J^T 1 with the backward (C' kept channels, S the
 * spatial size); per thread about (2*iter + 12)*S. */
#include "core/target.h"
#include "loss/distmap.h"
#include "loss/soft_skel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

segloss_cldice_opts segloss_cldice_opts_default(void) {
    segloss_cldice_opts o = {.iter = 3,
                             .smooth = 1.0,
                             .activation = SEGLOSS_ACTIVATION_NONE,
                             .target_kind = SEGLOSS_TARGET_AUTO,
                             .no_background = 1};
    return o;
}

enum { CL_A, CL_B, CL_C, CL_D, CL_I, CL_P, CL_G, CL_SUMS };

typedef struct cl_ctx {
    const float *x;
    const segloss_target *t;
    const segloss_cldice_opts *o;
    segloss__dm_layout l;
    int64_t c0, ck;
    double *p;                 /* N*C*S probabilities */
    double *y, *sy;            /* N*C'*S: targets and their skeletons */
    double *jy, *j1;           /* NULL (forward only), or N*C'*S: J^T y and J^T 1 */
    double *part;              /* CL_SUMS per item (n, k) */
    /* backward */
    double sa, sb, sd, sc;     /* dL/dsk(p)_i = sa y_i + sb; dL/dp_i += sd y_i + sc sk(y)_i + sdc */
    double sdc;
    float *grad;
} cl_ctx;

/* Image n: probabilities, and the targets of the kept channels. */
static segloss_status cl_image(void *vctx, int64_t n) {
    const cl_ctx *cx = vctx;
    const int64_t c = cx->l.c, s = cx->l.s;
    double *p = cx->p + n * c * s;
    segloss_status st = segloss__dm_probs(p, cx->x + n * c * s, c, s, cx->o->activation);
    for (int64_t i = 0; i < c * s && st == SEGLOSS_OK; i++)
        if (isnan(p[i])) st = SEGLOSS_ERR_NONFINITE; /* pooling ties need ordered values */
    if (st != SEGLOSS_OK) return st;
    if (!cx->l.index) {
        for (int64_t k = 0; k < cx->ck && st == SEGLOSS_OK; k++)
            st = segloss__decode_dense_d(cx->y + (n * cx->ck + k) * s, NULL, NULL, NULL, cx->t,
                                         (n * c + cx->c0 + k) * s, s, SEGLOSS_IGNORE_NONE);
        return st;
    }
    int64_t *idx = malloc((size_t)s * sizeof *idx);
    if (!idx) return SEGLOSS_ERR_NOMEM;
    st = segloss__decode_index(idx, NULL, NULL, NULL, cx->t, n * s, s, c, SEGLOSS_IGNORE_NONE);
    for (int64_t k = 0; k < cx->ck && st == SEGLOSS_OK; k++) {
        double *y = cx->y + (n * cx->ck + k) * s;
        for (int64_t i = 0; i < s; i++) y[i] = idx[i] == cx->c0 + k ? 1.0 : 0.0;
    }
    free(idx);
    return st;
}

/* Item (n, k): both skeletons and the item's sums. */
static segloss_status cl_item(void *vctx, int64_t it) {
    const cl_ctx *cx = vctx;
    const int64_t s = cx->l.s, n = it / cx->ck, k = it % cx->ck;
    const double *p = cx->p + (n * cx->l.c + cx->c0 + k) * s, *y = cx->y + it * s;
    double *sy = cx->sy + it * s;
    double *sp = malloc((size_t)s * (1 + (cx->jy ? SEGLOSS__SKEL_KEEP(cx->o->iter) : 0)) *
                        sizeof *sp);
    if (!sp) return SEGLOSS_ERR_NOMEM;
    double *keep = cx->jy ? sp + s : NULL;
    segloss_status st = segloss__soft_skel(sy, y, &cx->l.sp, s, cx->o->iter, NULL);
    if (st == SEGLOSS_OK) st = segloss__soft_skel(sp, p, &cx->l.sp, s, cx->o->iter, keep);
    if (st == SEGLOSS_OK && keep)
        st = segloss__soft_skel_backward(cx->jy + it * s, cx->j1 + it * s, y, p, keep,
                                         &cx->l.sp, s, cx->o->iter);
    double *q = cx->part + it * CL_SUMS;
    for (int j = 0; j < CL_SUMS; j++) q[j] = 0.0;
    for (int64_t i = 0; i < s && st == SEGLOSS_OK; i++) {
        q[CL_A] += sp[i] * y[i];
        q[CL_B] += sp[i];
        q[CL_C] += sy[i] * p[i];
        q[CL_D] += sy[i];
        q[CL_I] += p[i] * y[i];
        q[CL_P] += p[i];
        q[CL_G] += y[i];
    }
    free(sp);
    return st;
}

/* Image n's gradient: every kept channel back through its skeleton, the
 * direct terms, then the activation (dropped channels: 0 before it). */
static segloss_status cl_backward(void *vctx, int64_t n) {
    const cl_ctx *cx = vctx;
    const int64_t c = cx->l.c, s = cx->l.s;
    double *g = calloc((size_t)(c * s), sizeof *g);
    if (!g) return SEGLOSS_ERR_NOMEM;
    const double *p = cx->p + n * c * s;
    for (int64_t k = 0; k < cx->ck; k++) {
        const int64_t it = n * cx->ck + k;
        const double *y = cx->y + it * s, *sy = cx->sy + it * s;
        const double *jy = cx->jy + it * s, *j1 = cx->j1 + it * s;
        double *gk = g + (cx->c0 + k) * s;
        for (int64_t i = 0; i < s; i++)
            gk[i] = cx->sa * jy[i] + cx->sb * j1[i] + cx->sd * y[i] + cx->sc * sy[i] + cx->sdc;
    }
    for (int64_t i = 0; i < s; i++)
        segloss__dm_act_backward(cx->grad + n * c * s + i, p + i, g + i, s, c, s,
                                 cx->o->activation);
    free(g);
    return SEGLOSS_OK;
}

segloss_status segloss__cldice_run(double *loss, float *grad, const float *x,
                                   const segloss_target *t, const segloss_shape *shape,
                                   const segloss_cldice_opts *o, double wd, double wc,
                                   const float *grad_out) {
    segloss_cldice_opts def = segloss_cldice_opts_default();
    if (!o) o = &def;
    cl_ctx cx = {.x = x, .t = t, .o = o, .grad = grad};
    segloss_status st = segloss__dm_layout_init(&cx.l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim != 4 && shape->ndim != 5) return SEGLOSS_ERR_SHAPE; /* MONAI: 2-D or 3-D */
    if (o->iter < 0 || !isfinite(o->smooth) || o->smooth < 0.0 || !isfinite(wd) || !isfinite(wc))
        return SEGLOSS_ERR_ARG;
    const int64_t n = cx.l.n, c = cx.l.c, s = cx.l.s;
    cx.c0 = o->no_background ? 1 : 0;
    cx.ck = c - cx.c0;
    const int64_t items = n * cx.ck;
    const double total = (double)(n * c * s) + (double)items * (double)s * (grad ? 4.0 : 2.0);
    if ((double)SEGLOSS__SKEL_KEEP(o->iter) * (double)s * sizeof(double) > (double)SIZE_MAX / 4)
        return SEGLOSS_ERR_NOMEM;
    if (total * sizeof(double) + (double)items * CL_SUMS * sizeof(double) > (double)SIZE_MAX / 2)
        return SEGLOSS_ERR_NOMEM;
    /* one block: freed at once, glibc keeps it for the next training step */
    cx.p = malloc((size_t)total * sizeof(double) + (size_t)items * CL_SUMS * sizeof(double));
    if (!cx.p) return SEGLOSS_ERR_NOMEM;
    cx.y = cx.p + n * c * s;
    cx.sy = cx.y + items * s;
    cx.jy = grad ? cx.sy + items * s : NULL;
    cx.j1 = grad ? cx.jy + items * s : NULL;
    cx.part = cx.p + (size_t)total;
    st = segloss__for_items(n, cl_image, &cx);
    if (st == SEGLOSS_OK) st = segloss__for_items(items, cl_item, &cx);
    double q[CL_SUMS] = {0};
    for (int64_t it = 0; it < items && st == SEGLOSS_OK; it++) /* item order: deterministic */
        for (int j = 0; j < CL_SUMS; j++) q[j] += cx.part[it * CL_SUMS + j];
    const double sm = o->smooth, bs = q[CL_B] + sm, ds = q[CL_D] + sm;
    const double tprec = (q[CL_A] + sm) / bs, tsens = (q[CL_C] + sm) / ds, tt = tprec + tsens;
    const double den = q[CL_G] + q[CL_P] + sm, num = 2.0 * q[CL_I] + sm;
    if (st == SEGLOSS_OK && loss) {
        double cl = 1.0 - 2.0 * (tprec * tsens) / tt;
        *loss = wc * cl + (wd != 0.0 ? wd * (1.0 - num / den) : 0.0);
    }
    if (st == SEGLOSS_OK && grad) {
        const double up = grad_out ? (double)grad_out[0] : 1.0;
        const double dprec = up * wc * -2.0 * tsens * tsens / (tt * tt);
        const double dsens = up * wc * -2.0 * tprec * tprec / (tt * tt);
        cx.sa = dprec / bs;
        cx.sb = -dprec * (q[CL_A] + sm) / (bs * bs);
        cx.sc = dsens / ds;
        cx.sd = wd != 0.0 ? -up * wd * 2.0 / den : 0.0;
        cx.sdc = wd != 0.0 ? up * wd * num / (den * den) : 0.0;
        st = segloss__for_items(n, cl_backward, &cx);
    }
    free(cx.p);
    return st;
}

segloss_status segloss_cldice_forward(double *loss, const float *x, const segloss_target *target,
                                      const segloss_shape *shape,
                                      const segloss_cldice_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return segloss__cldice_run(loss, NULL, x, target, shape, opts, 0.0, 1.0, NULL);
}

segloss_status segloss_cldice_backward(float *grad, const float *x, const segloss_target *target,
                                       const segloss_shape *shape,
                                       const segloss_cldice_opts *opts, const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return segloss__cldice_run(NULL, grad, x, target, shape, opts, 0.0, 1.0, grad_out);
}

segloss_status segloss_cldice_forward_backward(double *loss, float *grad, const float *x,
                                               const segloss_target *target,
                                               const segloss_shape *shape,
                                               const segloss_cldice_opts *opts,
                                               const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return segloss__cldice_run(loss, grad, x, target, shape, opts, 0.0, 1.0, grad_out);
}
