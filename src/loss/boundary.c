/* Boundary loss — Kervadec et al., LIVIAETS/boundary-loss (SurfaceLoss with
 * utils.one_hot2dist) — forward and backward.
 *
 * Input (N, C, spatial...) with spatial rank 1..3; p = the activation of x
 * (default SOFTMAX over axis 1, the paper's probabilities; SIGMOID; NONE),
 * y the target (class indices with SOFTMAX/INDEX, else dense; y > 0.5 is
 * the class mask). For image n and kept channel c (all, or 1..C-1 with
 * no_background: the paper's idc):
 *   phi = d_out on the mask's complement (distance to the nearest mask
 *         element), -(d_in - 1) on the mask (d_in: distance to the nearest
 *         element outside it); 0 everywhere when the mask is empty
 *   loss = sum p * phi / (N * C' * S)     (MEAN; SUM: the sum)
 * phi is a constant (not differentiated), from the exact EDT, once per
 * call: dL/dp = up * phi / count, then through the activation. A mask
 * covering the whole image has no outside: phi = 0 there (scipy's
 * distance_transform_edt returns an artefact for an input without zeros). */
#include "core/target.h"
#include "loss/distmap.h"

#include <math.h>
#include <stdlib.h>

segloss_boundary_opts segloss_boundary_opts_default(void) {
    segloss_boundary_opts o = {.reduction = SEGLOSS_REDUCTION_MEAN,
                               .activation = SEGLOSS_ACTIVATION_SOFTMAX,
                               .target_kind = SEGLOSS_TARGET_AUTO};
    return o;
}

typedef struct bd_ctx {
    const float *x;
    const segloss_target *t;
    const segloss_boundary_opts *o;
    int64_t n, c, s, c0;
    int index;
    segloss_shape sp;
    double scale;              /* 1/count (MEAN) or 1 */
    double up;                 /* backward: upstream */
    float *grad;               /* NULL: forward only */
    double *part;              /* per image: sum p*phi */
} bd_ctx;

static segloss_status bd_image(void *vctx, int64_t n) {
    const bd_ctx *b = vctx;
    int64_t s = b->s, c = b->c;
    segloss_status st = SEGLOSS_OK;
    double *p = malloc((size_t)(c * s) * sizeof *p);
    double *phi = malloc((size_t)(c * s) * sizeof *phi);
    double *work = malloc((size_t)s * 2 * sizeof *work);
    uint8_t *m = malloc((size_t)s * 2);
    int64_t *idx = b->index ? malloc((size_t)s * sizeof *idx) : NULL;
    double *y = malloc((size_t)s * sizeof *y);
    if (!p || !phi || !work || !m || !y || (b->index && !idx)) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    if ((st = segloss__dm_probs(p, b->x + n * c * s, c, s, b->o->activation)) != SEGLOSS_OK)
        goto done;
    if (b->index &&
        (st = segloss__decode_index(idx, NULL, NULL, NULL, b->t, n * s, s, c,
                                    SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
        goto done;
    double acc = 0.0;
    for (int64_t k = 0; k < c; k++) {
        double *ph = phi + k * s;
        if (k < b->c0) {
            for (int64_t i = 0; i < s; i++) ph[i] = 0.0;
            continue;
        }
        if (b->index)
            for (int64_t i = 0; i < s; i++) m[i] = idx[i] == k;
        else {
            if ((st = segloss__decode_dense_d(y, NULL, NULL, NULL, b->t, (n * c + k) * s, s,
                                              SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
                goto done;
            for (int64_t i = 0; i < s; i++) m[i] = y[i] > 0.5;
        }
        int fg, bg;
        if ((st = segloss__distmap(ph, work + s, &fg, &bg, m, &b->sp, s, work, m + s)) !=
            SEGLOSS_OK)
            goto done;
        for (int64_t i = 0; i < s; i++)
            ph[i] = !fg || !bg ? 0.0 : m[i] ? 1.0 - ph[i] : work[s + i];
        for (int64_t i = 0; i < s; i++) acc += p[k * s + i] * ph[i];
    }
    b->part[n] = acc;
    if (b->grad) {
        float *g = b->grad + n * c * s;
        double f = b->up * b->scale;
        for (int64_t i = 0; i < c * s; i++) phi[i] *= f; /* phi becomes d loss / d p */
        for (int64_t i = 0; i < s; i++)
            segloss__dm_act_backward(g + i, p + i, phi + i, s, c, s, b->o->activation);
    }
done:
    free(p);
    free(phi);
    free(work);
    free(m);
    free(idx);
    free(y);
    return st;
}

static segloss_status bd_run(double *loss, float *grad, const float *x, const segloss_target *t,
                             const segloss_shape *shape, const segloss_boundary_opts *o,
                             const float *grad_out) {
    segloss_boundary_opts def = segloss_boundary_opts_default();
    if (!o) o = &def;
    if (o->reduction != SEGLOSS_REDUCTION_MEAN && o->reduction != SEGLOSS_REDUCTION_SUM)
        return SEGLOSS_ERR_ARG;
    segloss__dm_layout l;
    segloss_status st = segloss__dm_layout_init(&l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    bd_ctx b = {.x = x, .t = t, .o = o, .n = l.n, .c = l.c, .s = l.s, .sp = l.sp,
                .index = l.index, .grad = grad};
    b.c0 = o->no_background && b.c > 1 ? 1 : 0;
    b.scale = o->reduction == SEGLOSS_REDUCTION_MEAN ? 1.0 / (double)(b.n * (b.c - b.c0) * b.s)
                                                     : 1.0;
    b.up = grad_out ? grad_out[0] : 1.0;
    b.part = malloc((size_t)b.n * sizeof *b.part);
    if (!b.part) return SEGLOSS_ERR_NOMEM;
    st = segloss__for_items(b.n, bd_image, &b);
    if (st == SEGLOSS_OK && loss) {
        double tot = 0.0;
        for (int64_t n = 0; n < b.n; n++) tot += b.part[n];
        *loss = tot * b.scale;
    }
    free(b.part);
    return st;
}

segloss_status segloss_boundary_forward(double *loss, const float *x, const segloss_target *target,
                                        const segloss_shape *shape,
                                        const segloss_boundary_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return bd_run(loss, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_boundary_backward(float *grad, const float *x, const segloss_target *target,
                                         const segloss_shape *shape,
                                         const segloss_boundary_opts *opts,
                                         const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return bd_run(NULL, grad, x, target, shape, opts, grad_out);
}
