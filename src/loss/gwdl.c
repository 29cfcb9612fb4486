/* Generalized Wasserstein Dice loss — MONAI GeneralizedWassersteinDiceLoss
 * (1.5.0) — forward and backward.
 *
 * p = softmax of the logits over the C channels, y the class index of each
 * pixel, M the distance matrix divided by its largest entry (MONAI divides
 * unless that is 1, the same values). Per image n, alpha as segloss.h says:
 *   w_i = sum_c M[y_i][c] p_ci
 *   tp = sum_i alpha_{y_i} (1 - w_i)
 *   den = 2 tp + sum_i w_i (DEFAULT),  sum_i alpha_{y_i} (2 - w_i) (GDL)
 *   A = 2 tp + s_nr,  B = den + s_dr,  loss_n = 1 - A / B
 * Backward (alpha depends only on the target):
 *   dA/dw_i = -2 alpha_{y_i},  dB/dw_i = 1 - 2 alpha_{y_i} (DEFAULT), -alpha_{y_i} (GDL)
 *   d loss_n/dw_i = -(dA/dw_i B - A dB/dw_i) / B^2
 *   d loss_n/dp_ci = d loss_n/dw_i M[y_i][c], then the softmax backward.
 * Images are independent: computed in parallel, added in image order. */
#include "core/target.h"
#include "loss/distmap.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdlib.h>

segloss_gwdl_opts segloss_gwdl_opts_default(void) {
    segloss_gwdl_opts o = {.reduction = SEGLOSS_REDUCTION_MEAN,
                           .weighting_mode = SEGLOSS_GWDL_DEFAULT,
                           .smooth_nr = 1e-5, .smooth_dr = 1e-5};
    return o;
}

typedef struct gw_ctx {
    const float *x;
    const segloss_target *t;
    const segloss_gwdl_opts *o;
    segloss__dm_layout l;
    const double *m;           /* the normalised matrix, c*c */
    const float *grad_out;     /* backward: upstream (NULL: 1) */
    double scale;              /* 1/N (MEAN) or 1 */
    float *grad;               /* NULL: forward only */
    double *item;              /* per image: loss_n */
} gw_ctx;

static segloss_status gw_image(void *vctx, int64_t n) {
    const gw_ctx *u = vctx;
    int64_t s = u->l.s, c = u->l.c;
    int gdl = u->o->weighting_mode == SEGLOSS_GWDL_GDL;
    segloss_status st = SEGLOSS_OK;
    /* p (c*s), alpha and the gradient row (2*c), idx (s) in one
     * allocation (one block reused from glibc's heap every step) */
    double *p = malloc((size_t)(c * s + 2 * c) * sizeof *p + (size_t)s * sizeof(int64_t));
    if (!p) return SEGLOSS_ERR_NOMEM;
    double *alpha = p + c * s;
    int64_t *idx = (int64_t *)(alpha + 2 * c);
    segloss__softmax_probs_d(p, u->x + n * c * s, c, s);
    if ((st = segloss__decode_index(idx, NULL, NULL, NULL, u->t, n * s, s, c,
                                    SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
        goto done;
    for (int64_t k = 0; k < c; k++) alpha[k] = gdl ? 0.0 : k > 0;
    if (gdl) {
        for (int64_t i = 0; i < s; i++) alpha[idx[i]] += 1.0;
        for (int64_t k = 0; k < c; k++) alpha[k] = 1.0 / (alpha[k] + 1.0);
    }
    double tp = 0.0, wsum = 0.0, aw = 0.0;
    for (int64_t i = 0; i < s; i++) {
        const double *row = u->m + idx[i] * c;
        double v = 0.0;
        for (int64_t k = 0; k < c; k++) v += row[k] * p[k * s + i];
        double a = alpha[idx[i]];
        tp += a * (1.0 - v);
        wsum += v;
        aw += a * (2.0 - v);
    }
    double A = 2.0 * tp + u->o->smooth_nr;
    double B = (gdl ? aw : 2.0 * tp + wsum) + u->o->smooth_dr;
    u->item[n] = 1.0 - A / B;
    if (u->grad) {
        double up = (u->grad_out ? u->grad_out[u->o->reduction == SEGLOSS_REDUCTION_NONE ? n : 0]
                                 : 1.0) *
                    u->scale;
        double *g = alpha + c;
        float *gr = u->grad + n * c * s;
        for (int64_t i = 0; i < s; i++) {
            double a = alpha[idx[i]];
            double dA = -2.0 * a, dB = gdl ? -a : 1.0 - 2.0 * a;
            double dw = -up * (dA * B - A * dB) / (B * B);
            const double *row = u->m + idx[i] * c;
            for (int64_t k = 0; k < c; k++) g[k] = dw * row[k];
            segloss__dm_act_backward(gr + i, p + i, g, 1, c, s, SEGLOSS_ACTIVATION_SOFTMAX);
        }
    }
done:
    free(p);
    return st;
}

static segloss_status gw_run(double *loss, float *elems, float *grad, const float *x,
                             const segloss_target *t, const segloss_shape *shape,
                             const segloss_gwdl_opts *o, const float *grad_out) {
    if (!o || !o->dist_matrix) return SEGLOSS_ERR_NULL; /* the matrix has no default */
    if (o->reduction != SEGLOSS_REDUCTION_MEAN && o->reduction != SEGLOSS_REDUCTION_SUM &&
        o->reduction != SEGLOSS_REDUCTION_NONE)
        return SEGLOSS_ERR_ARG;
    if ((o->weighting_mode != SEGLOSS_GWDL_DEFAULT && o->weighting_mode != SEGLOSS_GWDL_GDL) ||
        !isfinite(o->smooth_nr) || !isfinite(o->smooth_dr))
        return SEGLOSS_ERR_ARG;
    gw_ctx u = {.x = x, .t = t, .o = o, .grad = grad, .grad_out = grad_out};
    segloss_status st = segloss__dm_layout_init(&u.l, x, t, shape, SEGLOSS_ACTIVATION_SOFTMAX,
                                                SEGLOSS_TARGET_INDEX);
    if (st != SEGLOSS_OK) return st;
    if (o->num_classes != u.l.c) return SEGLOSS_ERR_SHAPE;
    int64_t c = u.l.c;
    double mx = 0.0;
    for (int64_t k = 0; k < c * c; k++) {
        double v = o->dist_matrix[k];
        if (!isfinite(v) || v < 0.0) return SEGLOSS_ERR_ARG;
        if (v > mx) mx = v;
    }
    if (mx == 0.0) return SEGLOSS_ERR_ARG;
    double *m = malloc((size_t)(c * c) * sizeof *m);
    u.item = malloc((size_t)u.l.n * sizeof *u.item);
    if (!m || !u.item) {
        free(m);
        free(u.item);
        return SEGLOSS_ERR_NOMEM;
    }
    for (int64_t k = 0; k < c * c; k++) m[k] = o->dist_matrix[k] / mx;
    u.m = m;
    u.scale = o->reduction == SEGLOSS_REDUCTION_MEAN ? 1.0 / (double)u.l.n : 1.0;
    st = segloss__for_items(u.l.n, gw_image, &u);
    if (st == SEGLOSS_OK && loss) {
        double tot = 0.0;
        for (int64_t n = 0; n < u.l.n; n++) tot += u.item[n];
        *loss = o->reduction == SEGLOSS_REDUCTION_MEAN ? tot / (double)u.l.n : tot;
        if (o->reduction == SEGLOSS_REDUCTION_NONE && elems)
            for (int64_t n = 0; n < u.l.n; n++) elems[n] = (float)u.item[n];
    }
    free(m);
    free(u.item);
    return st;
}

segloss_status segloss_gwdl_forward(double *loss, float *elems, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_gwdl_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return gw_run(loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_gwdl_forward_backward(double *loss, float *elems, float *grad,
                                             const float *x, const segloss_target *target,
                                             const segloss_shape *shape,
                                             const segloss_gwdl_opts *opts,
                                             const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return gw_run(loss, elems, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_gwdl_backward(float *grad, const float *x, const segloss_target *target,
                                     const segloss_shape *shape, const segloss_gwdl_opts *opts,
                                     const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return gw_run(NULL, NULL, grad, x, target, shape, opts, grad_out);
}
