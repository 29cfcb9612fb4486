/* Asymmetric unified focal loss — MONAI AsymmetricUnifiedFocalLoss (with
 * AsymmetricFocalLoss and AsymmetricFocalTverskyLoss, MONAI 1.5.0) —
 * forward and backward.
 *
 * Binary: two channels, 0 the background and 1 the foreground (C = 2), or
 * one channel p read as (1 - p, p) with the target (1 - y, y) (C = 1). With
 * q_k = clamp(p_k, e, 1 - e), e = epsilon, d = delta, g = gamma, w = weight,
 * S the spatial size and N the batch:
 *   F_n = sum_i (1-d) (1-q0)^g (-y0 log q0) + d (-y1 log q1)
 *   tp_k = sum y_k q_k,  fn_k = sum y_k (1 - q_k),  fp_k = sum (1 - y_k) q_k
 *   D_k = tp_k + d fn_k + (1-d) fp_k + e,  dc_k = (tp_k + e) / D_k
 *   u = 1 - dc_1,  T_n = (1 - dc_0) + u u^-g          (MONAI's form of u^(1-g))
 *   loss = w/(N S) sum_n F_n + (1-w)/(2N) sum_n T_n
 * Backward, per element (dD_k/dq = 1 - d for every element):
 *   dF/dq0 = (1-d) y0 (1-q0)^(g-1) (g log q0 - (1-q0) / q0),  dF/dq1 = -d y1 / q1
 * Terms with y = 0 are 0 and skipped (MONAI: 0 too, unless q = 0, which
 * the clamp excludes for e > 0).
 *   d dc_k/dq = (y_k D_k - (tp_k + e)(1 - d)) / D_k^2
 *   dT/dq0 = -d dc_0/dq,  dT/dq1 = -(1-g) u^-g d dc_1/dq
 * then 0 where p_k lies outside [e, 1 - e] (torch.clamp's gradient), C = 1:
 * dL/dp = dL/dq1 - dL/dq0, and the activation's backward. Images are
 * independent: computed in parallel, their parts added in image order. */
#include "core/target.h"
#include "loss/distmap.h"

#include <math.h>
#include <stdlib.h>

segloss_unified_focal_opts segloss_unified_focal_opts_default(void) {
    segloss_unified_focal_opts o = {.activation = SEGLOSS_ACTIVATION_NONE,
                                    .target_kind = SEGLOSS_TARGET_AUTO,
                                    .weight = 0.5, .delta = 0.7, .gamma = 0.5,
                                    .epsilon = 1e-7};
    return o;
}

typedef struct uf_ctx {
    const float *x;
    const segloss_target *t;
    const segloss_unified_focal_opts *o;
    segloss__dm_layout l;
    double up;                 /* backward: upstream */
    float *grad;               /* NULL: forward only */
    double *part;              /* per image: its share of the loss */
} uf_ctx;

/* The two channels' p (before the clamp) and y of image n: pk, yk (2*s). */
static segloss_status uf_channels(double *pk, double *yk, const double *p, const uf_ctx *u,
                                  int64_t n, int64_t *idx) {
    int64_t s = u->l.s, c = u->l.c;
    segloss_status st;
    if (u->l.index) {
        if ((st = segloss__decode_index(idx, NULL, NULL, NULL, u->t, n * s, s, c,
                                        SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
            return st;
        for (int64_t i = 0; i < s; i++) {
            yk[i] = idx[i] == 0;
            yk[s + i] = idx[i] == 1;
        }
    } else if ((st = segloss__decode_dense_d(yk + (c == 1 ? s : 0), NULL, NULL, NULL, u->t,
                                             n * c * s, c * s, SEGLOSS_IGNORE_NONE)) !=
               SEGLOSS_OK)
        return st;
    if (c == 1)
        for (int64_t i = 0; i < s; i++) {
            yk[i] = 1.0 - yk[s + i];
            pk[i] = 1.0 - p[i];
            pk[s + i] = p[i];
        }
    else
        for (int64_t i = 0; i < 2 * s; i++) pk[i] = p[i];
    return SEGLOSS_OK;
}

static segloss_status uf_image(void *vctx, int64_t n) {
    const uf_ctx *u = vctx;
    const segloss_unified_focal_opts *o = u->o;
    int64_t s = u->l.s, c = u->l.c;
    double e = o->epsilon, d = o->delta, g = o->gamma, w = o->weight;
    double fs = w / (double)(u->l.n * s), ts = (1.0 - w) / (double)(2 * u->l.n);
    segloss_status st = SEGLOSS_OK;
    /* p (c*s), pk, yk and df (2*s each), idx (s) in one allocation: freed
     * and allocated again every training step, one block stays in glibc's
     * heap (its dynamic mmap threshold) instead of faulting in fresh pages */
    double *p = malloc((size_t)((c + 6) * s) * sizeof *p + (size_t)s * sizeof(int64_t));
    if (!p) return SEGLOSS_ERR_NOMEM;
    double *pk = p + c * s, *yk = pk + 2 * s, *df = yk + 2 * s;
    int64_t *idx = (int64_t *)(df + 2 * s);
    if ((st = segloss__dm_probs(p, u->x + n * c * s, c, s, o->activation)) != SEGLOSS_OK)
        goto done;
    if ((st = uf_channels(pk, yk, p, u, n, idx)) != SEGLOSS_OK) goto done;
    /* the clamp as torch.clamp (NaN stays NaN); with the loss terms, the
     * focal part's derivatives dF/dq_k (df, kept for the backward), from
     * the same log and power; gamma 1/2 (MONAI's default) by sqrt */
    int half = g == 0.5;
    double F = 0.0, tp[2] = {0.0, 0.0}, fn[2] = {0.0, 0.0}, fp[2] = {0.0, 0.0};
    for (int64_t i = 0; i < s; i++) {
        double v0 = pk[i], v1 = pk[s + i];
        double q0 = v0 < e ? e : v0 > 1.0 - e ? 1.0 - e : v0;
        double q1 = v1 < e ? e : v1 > 1.0 - e ? 1.0 - e : v1;
        double y0 = yk[i], y1 = yk[s + i];
        double d0 = 0.0, d1 = 0.0;
        /* a term with y = 0 is 0 (the cost is the transcendentals) */
        if (y0 != 0.0) {
            double om = 1.0 - q0, lq = log(q0), sq = half ? sqrt(om) : 0.0;
            F += (1.0 - d) * (half ? sq : pow(om, g)) * (-y0 * lq);
            if (u->grad) {
                double pw = half ? 1.0 / sq : pow(om, g - 1.0); /* (1-q)^(g-1) */
                d0 = (1.0 - d) * y0 * pw * (g * lq - om / q0);
            }
        }
        if (y1 != 0.0) {
            F += d * (-y1 * log(q1));
            d1 = -d * y1 / q1;
        }
        df[i] = d0;
        df[s + i] = d1;
        tp[0] += y0 * q0;
        fn[0] += y0 * (1.0 - q0);
        fp[0] += (1.0 - y0) * q0;
        tp[1] += y1 * q1;
        fn[1] += y1 * (1.0 - q1);
        fp[1] += (1.0 - y1) * q1;
    }
    double D[2], dc[2];
    for (int k = 0; k < 2; k++) {
        D[k] = tp[k] + d * fn[k] + (1.0 - d) * fp[k] + e;
        dc[k] = (tp[k] + e) / D[k];
    }
    double uu = 1.0 - dc[1];
    u->part[n] = fs * F + ts * ((1.0 - dc[0]) + uu * pow(uu, -g));
    if (u->grad) {
        /* d loss / d p into p's channels (c*s), reusing pk as the buffer */
        double a1 = (1.0 - g) * pow(uu, -g);
        for (int64_t i = 0; i < s; i++) {
            double gq[2];
            for (int k = 0; k < 2; k++) {
                double v = pk[k * s + i], y = yk[k * s + i];
                double ddc = (y * D[k] - (tp[k] + e) * (1.0 - d)) / (D[k] * D[k]);
                double dT = k == 0 ? -ddc : -a1 * ddc;
                gq[k] = v >= e && v <= 1.0 - e ? u->up * (fs * df[k * s + i] + ts * dT) : 0.0;
            }
            if (c == 1)
                pk[i] = gq[1] - gq[0];
            else {
                pk[i] = gq[0];
                pk[s + i] = gq[1];
            }
        }
        float *gr = u->grad + n * c * s;
        for (int64_t i = 0; i < s; i++)
            segloss__dm_act_backward(gr + i, p + i, pk + i, s, c, s, o->activation);
    }
done:
    free(p);
    return st;
}

static segloss_status uf_run(double *loss, float *grad, const float *x, const segloss_target *t,
                             const segloss_shape *shape, const segloss_unified_focal_opts *o,
                             const float *grad_out) {
    segloss_unified_focal_opts def = segloss_unified_focal_opts_default();
    if (!o) o = &def;
    if (!isfinite(o->weight) || !isfinite(o->delta) || !isfinite(o->gamma) ||
        !(o->epsilon >= 0.0 && o->epsilon < 0.5))
        return SEGLOSS_ERR_ARG;
    uf_ctx u = {.x = x, .t = t, .o = o, .grad = grad};
    segloss_status st = segloss__dm_layout_init(&u.l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    if (u.l.c > 2) return SEGLOSS_ERR_SHAPE; /* binary, as MONAI's */
    u.up = grad_out ? grad_out[0] : 1.0;
    u.part = malloc((size_t)u.l.n * sizeof *u.part);
    if (!u.part) return SEGLOSS_ERR_NOMEM;
    st = segloss__for_items(u.l.n, uf_image, &u);
    if (st == SEGLOSS_OK && loss) {
        double tot = 0.0;
        for (int64_t n = 0; n < u.l.n; n++) tot += u.part[n];
        *loss = tot;
    }
    free(u.part);
    return st;
}

segloss_status segloss_unified_focal_forward(double *loss, const float *x,
                                             const segloss_target *target,
                                             const segloss_shape *shape,
                                             const segloss_unified_focal_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return uf_run(loss, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_unified_focal_forward_backward(double *loss, float *grad, const float *x,
                                                      const segloss_target *target,
                                                      const segloss_shape *shape,
                                                      const segloss_unified_focal_opts *opts,
                                                      const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return uf_run(loss, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_unified_focal_backward(float *grad, const float *x,
                                              const segloss_target *target,
                                              const segloss_shape *shape,
                                              const segloss_unified_focal_opts *opts,
                                              const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return uf_run(NULL, grad, x, target, shape, opts, grad_out);
}
