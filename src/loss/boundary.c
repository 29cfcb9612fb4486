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
 * phi is a constant (not differentiated), from the exact EDT (one
 * integer transform per mask, segloss__distfield), once per call: dL/dp = up * phi / count, then through the activation. A mask
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
    segloss__dm_layout l;
    int64_t c0;
    double scale;              /* 1/count (MEAN) or 1 */
    double up;                 /* backward: upstream */
    float *grad;               /* NULL: forward only */
    double *part;              /* per image: sum p*phi */
    size_t off[4];             /* scratch: p, phi, y or idx, m; then the EDT's */
} bd_ctx;

static segloss_status bd_image(void *vctx, int64_t n, void *scratch) {
    const bd_ctx *b = vctx;
    const int64_t s = b->l.s, c = b->l.c;
    char *w = scratch;
    double *p = (double *)(void *)(w + b->off[0]), *phi = (double *)(void *)(w + b->off[1]);
    double *y = (double *)(void *)(w + b->off[2]);
    int64_t *idx = (int64_t *)(void *)(w + b->off[2]);
    uint8_t *m = (uint8_t *)(w + b->off[3]);
    void *work = w + b->off[3] + (((size_t)s + 7) & ~(size_t)7);
    segloss_status st = segloss__dm_probs(p, b->x + n * c * s, c, s, b->o->activation);
    if (st == SEGLOSS_OK && b->l.index)
        st = segloss__decode_index(idx, NULL, NULL, NULL, b->t, n * s, s, c, SEGLOSS_IGNORE_NONE);
    if (st != SEGLOSS_OK) return st;
    double acc = 0.0;
    for (int64_t k = 0; k < c; k++) {
        double *ph = phi + k * s;
        if (k < b->c0) {
            for (int64_t i = 0; i < s; i++) ph[i] = 0.0;
            continue;
        }
        if (b->l.index)
            for (int64_t i = 0; i < s; i++) m[i] = idx[i] == k;
        else {
            if ((st = segloss__decode_dense_d(y, NULL, NULL, NULL, b->t, (n * c + k) * s, s,
                                              SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
                return st;
            for (int64_t i = 0; i < s; i++) m[i] = y[i] > 0.5;
        }
        int fg, bg;
        if ((st = segloss__distfield(ph, 1, &fg, &bg, m, &b->l.sp, s, work)) != SEGLOSS_OK)
            return st;
        for (int64_t i = 0; i < s; i++) ph[i] = !fg || !bg ? 0.0 : m[i] ? 1.0 - ph[i] : ph[i];
        for (int64_t i = 0; i < s; i++) acc += p[k * s + i] * ph[i];
    }
    b->part[n] = acc;
    if (b->grad) {
        float *g = b->grad + n * c * s;
        const double f = b->up * b->scale;
        for (int64_t i = 0; i < c * s; i++) phi[i] *= f; /* phi becomes d loss / d p */
        segloss__dm_act_backward_rows(g, p, phi, c, s, b->o->activation, y);
    }
    return SEGLOSS_OK;
}

/* The scratch of one worker: p and phi (C*S doubles each), the dense
 * target (S doubles) or the class indices (S int64), m (S bytes), the
 * EDT's work. */
static size_t bd_scratch(bd_ctx *b) {
    const size_t s = (size_t)b->l.s, c = (size_t)b->l.c;
    const size_t sz[4] = {c * s * sizeof(double), c * s * sizeof(double), s * sizeof(double),
                          (s + 7) & ~(size_t)7};
    size_t at = 0;
    for (int k = 0; k < 4; k++) {
        b->off[k] = at;
        at += sz[k];
    }
    return at + (size_t)segloss__distfield_work(&b->l.sp, b->l.s);
}

static segloss_status bd_run(double *loss, float *grad, const float *x, const segloss_target *t,
                             const segloss_shape *shape, const segloss_boundary_opts *o,
                             const float *grad_out) {
    segloss_boundary_opts def = segloss_boundary_opts_default();
    if (!o) o = &def;
    if (o->reduction != SEGLOSS_REDUCTION_MEAN && o->reduction != SEGLOSS_REDUCTION_SUM)
        return SEGLOSS_ERR_ARG;
    bd_ctx b = {.x = x, .t = t, .o = o, .grad = grad};
    segloss_status st = segloss__dm_layout_init(&b.l, x, t, shape, o->activation, o->target_kind);
    if (st != SEGLOSS_OK) return st;
    b.c0 = o->no_background && b.l.c > 1 ? 1 : 0;
    b.scale = o->reduction == SEGLOSS_REDUCTION_MEAN
                  ? 1.0 / (double)(b.l.n * (b.l.c - b.c0) * b.l.s)
                  : 1.0;
    b.up = grad_out ? grad_out[0] : 1.0;
    b.part = malloc((size_t)b.l.n * sizeof *b.part);
    if (!b.part) return SEGLOSS_ERR_NOMEM;
    st = segloss__dm_for_images(b.l.n, bd_scratch(&b), bd_image, &b);
    if (st == SEGLOSS_OK && loss) {
        double tot = 0.0;
        for (int64_t n = 0; n < b.l.n; n++) tot += b.part[n];
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

segloss_status segloss_boundary_forward_backward(double *loss, float *grad, const float *x,
                                                 const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_boundary_opts *opts,
                                                 const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return bd_run(loss, grad, x, target, shape, opts, grad_out);
}
