/* Dice + focal and generalized Dice + focal — MONAI DiceFocalLoss and
 * GeneralizedDiceFocalLoss — forward, backward, and both.
 *
 *   loss = lambda_region * region(x, y) + lambda_focal * focal(x, y)
 * region: segloss_dice (dice-focal) or segloss_generalized_dice
 *         (generalized-dice-focal) with their options as given.
 * focal:  MONAI's sigmoid_focal_loss on the logits over the kept channels
 *         (no_background drops channel 0 here too), the target one-hot
 *         when it is class indices (to_onehot_y). Per element, s = 2y - 1:
 *           b = softplus(x) - x*y                    (BCE with logits)
 *           m = sigmoid(-x*s)^gamma = exp(-gamma * softplus(x*s))
 *           a = alpha*y + (1 - alpha)*(1 - y)        (1 with alpha < 0: off)
 *           l = a * m * b
 *         MEAN: sum l / (N*C'*S); SUM: MONAI's sum over (n, c) of the
 *         spatial mean, sum l / S. For 0/1 targets m = (1 - p_t)^gamma, the
 *         torchvision factor; for soft targets this is MONAI's form.
 *         dl/dx = a * (m' b + m (sigmoid(x) - y)),  m' = -gamma s m sigmoid(x*s)
 * MONAI evaluates the focal part in float32 (input.float()); here it is
 * double. Reductions MEAN and SUM only (MONAI's NONE broadcasts the region
 * items against the focal map); ignore_index must be none. The focal sum
 * runs serially in element order (deterministic). */
#include "core/target.h"
#include "kernels/scalar.h"
#include "kernels/vec.h"
#include "loss/region.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOCAL_CHUNK 256

/* MONAI's defaults: gamma 2, alpha None, lambdas 1. */
segloss_dice_focal_opts segloss_dice_focal_opts_default(void) {
    segloss_dice_focal_opts o = {.dice = SEGLOSS__DICE_DEFAULTS, .gamma = 2.0, .alpha = -1.0,
                                 .lambda_dice = 1.0, .lambda_focal = 1.0};
    return o;
}

segloss_generalized_dice_focal_opts segloss_generalized_dice_focal_opts_default(void) {
    segloss_generalized_dice_focal_opts o = {.gdice = segloss_generalized_dice_opts_default(),
                                             .gamma = 2.0, .alpha = -1.0, .lambda_gdl = 1.0,
                                             .lambda_focal = 1.0};
    return o;
}

typedef struct focal_par {
    double gamma, alpha, lambda_region, lambda_focal;
} focal_par;

static segloss_status check(const segloss_dice_opts *d, const focal_par *f) {
    if (!isfinite(f->gamma) || f->gamma < 0.0 || !(f->alpha <= 1.0) ||
        !isfinite(f->lambda_region) || !isfinite(f->lambda_focal) || f->lambda_region < 0.0 ||
        f->lambda_focal < 0.0)
        return SEGLOSS_ERR_ARG;
    if (d->reduction != SEGLOSS_REDUCTION_MEAN && d->reduction != SEGLOSS_REDUCTION_SUM)
        return SEGLOSS_ERR_ARG;
    if (d->ignore_index != SEGLOSS_IGNORE_NONE) return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* One element: its loss l = a m b and, with dl != NULL, dl/dx. For a 0/1
 * target (s = +-1, so |x s| = |x|) from e = exp(-|x|) and L = log1p(e)
 * (the double kernel, kernels/vec.h): sigmoid(+-x) = 1/(1+e) or e/(1+e),
 * softplus(+-x) = L + max(+-x, 0), and m = sigmoid(-x s)^2 for gamma 2
 * (MONAI's default; it is exp(-2 softplus(x s))); soft targets by the
 * general form. */
static double focal_elem(double xv, double yv, double e, double L, const focal_par *f,
                         double *dl) {
    double s = 2.0 * yv - 1.0;
    double a = f->alpha < 0.0 ? 1.0 : f->alpha * yv + (1.0 - f->alpha) * (1.0 - yv);
    double b, m, sig_t, sig_x;
    if (yv == 0.0 || yv == 1.0) {
        double r = 1.0 / (1.0 + e);
        double hi = xv >= 0.0 ? r : e * r, lo = xv >= 0.0 ? e * r : r; /* sigmoid(x), (-x) */
        double t = xv * s, sig_nt = yv == 1.0 ? lo : hi;            /* sigmoid(-x s) */
        sig_x = hi;
        sig_t = yv == 1.0 ? hi : lo;
        b = L + (xv > 0.0 ? xv : 0.0) - xv * yv;
        if (f->gamma == 0.0) m = 1.0;
        else if (f->gamma == 2.0) m = sig_nt * sig_nt;
        else m = exp(-f->gamma * (L + (t > 0.0 ? t : 0.0)));
    } else {
        b = segloss__softplus_neg_d(-xv) - xv * yv;
        m = f->gamma == 0.0 ? 1.0 : exp(-f->gamma * segloss__softplus_neg_d(-xv * s));
        sig_t = segloss__sigmoid_d(xv * s);
        sig_x = segloss__sigmoid_d(xv);
    }
    if (dl) {
        double dm = -f->gamma * s * m * sig_t;
        *dl = a * (dm * b + m * (sig_x - yv));
    }
    return a * m * b;
}

/* focal_elem on two elements at once, for 0/1 targets and gamma 0 or 2
 * (GCC/Clang generic vectors: the operations of focal_elem's first branch
 * in the same order, lane by lane, so the same bits). Returns 0, leaving
 * l and dl alone, when a target is not 0 or 1. */
typedef double fl_v __attribute__((vector_size(16)));
typedef int64_t fl_i __attribute__((vector_size(16)));

#define FL_SEL(m, a, b) ((fl_v)(((m) & (fl_i)(a)) | (~(m) & (fl_i)(b))))

static int focal2(double *l, double *dl, const float *x, const double *y, const double *e,
                  const double *L, const focal_par *f) {
    fl_v yv, ev, Lv, xv = {x[0], x[1]};
    memcpy(&yv, y, sizeof yv);
    fl_i one = yv == 1.0;
    fl_i bin = one | (yv == 0.0);
    if (!(bin[0] & bin[1])) return 0;
    memcpy(&ev, e, sizeof ev);
    memcpy(&Lv, L, sizeof Lv);
    const fl_v zero = {0.0, 0.0};
    fl_v s = 2.0 * yv - 1.0;
    fl_v a = f->alpha < 0.0 ? zero + 1.0 : f->alpha * yv + (1.0 - f->alpha) * (1.0 - yv);
    fl_v r = 1.0 / (1.0 + ev), er = ev * r;
    fl_i pos = xv >= 0.0;
    fl_v hi = FL_SEL(pos, r, er), lo = FL_SEL(pos, er, r);
    fl_v sig_nt = FL_SEL(one, lo, hi), sig_t = FL_SEL(one, hi, lo);
    fl_v b = Lv + FL_SEL(xv > 0.0, xv, zero) - xv * yv;
    fl_v m = f->gamma == 0.0 ? zero + 1.0 : sig_nt * sig_nt;
    fl_v lv = a * m * b;
    memcpy(l, &lv, sizeof lv);
    if (dl) {
        fl_v dm = -f->gamma * s * m * sig_t;
        fl_v d = a * (dm * b + m * (hi - yv));
        memcpy(dl, &d, sizeof d);
    }
    return 1;
}

/* The focal term: *value (when value != NULL) and, when grad != NULL,
 * grad += up * d focal / dx on the kept channels. */
static segloss_status focal_term(double *value, float *grad, double up, const float *x,
                                 const segloss_target *t, const segloss_shape *shape,
                                 const segloss_dice_opts *d, const focal_par *f) {
    segloss__region r;
    segloss_status st = segloss__region_init(&r, x, t, shape, d,
                                             SEGLOSS__REGION_SQUARED | SEGLOSS__REGION_JACCARD);
    if (st != SEGLOSS_OK) return st;
    double per = d->reduction == SEGLOSS_REDUCTION_MEAN ? (double)(r.n * r.ck * r.s)
                                                        : (double)r.s;
    double total = 0.0, g = up / per;
    int64_t idx[FOCAL_CHUNK];
    double y[FOCAL_CHUNK], ee[FOCAL_CHUNK], LL[FOCAL_CHUNK];
    segloss_vec_softplus_d_fn sp = segloss__vec_softplus_d(segloss__vec_ops());
    int fast = f->gamma == 0.0 || f->gamma == 2.0; /* focal2 */
    for (int64_t n = 0; n < r.n && st == SEGLOSS_OK; n++)
        for (int64_t s0 = 0; s0 < r.s && st == SEGLOSS_OK; s0 += FOCAL_CHUNK) {
            int64_t len = r.s - s0 < FOCAL_CHUNK ? r.s - s0 : FOCAL_CHUNK;
            if (r.index)
                st = segloss__decode_index(idx, NULL, NULL, NULL, t, n * r.s + s0, len, r.c,
                                           SEGLOSS_IGNORE_NONE);
            for (int64_t c = r.c0; c < r.c && st == SEGLOSS_OK; c++) {
                int64_t off = (n * r.c + c) * r.s + s0;
                if (r.index)
                    for (int64_t i = 0; i < len; i++) y[i] = idx[i] == c ? 1.0 : 0.0;
                else if ((st = segloss__decode_dense_d(y, NULL, NULL, NULL, t, off, len,
                                                       SEGLOSS_IGNORE_NONE)) != SEGLOSS_OK)
                    break;
                sp(ee, LL, x + off, len);
                int64_t i = 0;
                double l2[2], d2[2];
                for (; fast && i + 2 <= len; i += 2) {
                    if (!focal2(l2, grad ? d2 : NULL, x + off + i, y + i, ee + i, LL + i, f))
                        for (int q = 0; q < 2; q++)
                            l2[q] = focal_elem(x[off + i + q], y[i + q], ee[i + q], LL[i + q], f,
                                               grad ? &d2[q] : NULL);
                    total += l2[0]; /* in element order */
                    total += l2[1];
                    if (grad) {
                        grad[off + i] += (float)(g * d2[0]);
                        grad[off + i + 1] += (float)(g * d2[1]);
                    }
                }
                for (; i < len; i++) {
                    double dl, l = focal_elem(x[off + i], y[i], ee[i], LL[i], f, grad ? &dl : NULL);
                    total += l;
                    if (grad) grad[off + i] += (float)(g * dl);
                }
            }
        }
    segloss__region_free(&r);
    if (st == SEGLOSS_OK && value) *value = total / per;
    return st;
}

/* The region part: forward (mode LOSS) and/or backward through the
 * region loss's public calls. */
typedef segloss_status (*region_fwd)(double *, const float *, const segloss_target *,
                                     const segloss_shape *, const void *);
typedef segloss_status (*region_bwd)(float *, const float *, const segloss_target *,
                                     const segloss_shape *, const void *, const float *);
typedef segloss_status (*region_fb)(double *, float *, const float *, const segloss_target *,
                                    const segloss_shape *, const void *, const float *);

static segloss_status run(int mode, double *loss, float *elems, float *grad, const float *x,
                          const segloss_target *t, const segloss_shape *shape,
                          const segloss_dice_opts *d, const focal_par *f, region_fwd rf,
                          region_bwd rb, region_fb rfb, const void *ro,
                          const float *grad_out) {
    if (!shape || ((mode & SEGLOSS__FAST_LOSS) && !loss) || ((mode & SEGLOSS__FAST_GRAD) && !grad))
        return SEGLOSS_ERR_NULL;
    segloss_status st = check(d, f);
    if (st != SEGLOSS_OK) return st;
    if (elems) return SEGLOSS_ERR_ARG; /* NONE is not a reduction of these losses */
    if (mode == (SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD)) {
        double up = grad_out ? grad_out[0] : 1.0, lr, lf;
        float ur = (float)(f->lambda_region * up);
        if ((st = rfb(&lr, grad, x, t, shape, ro, &ur)) != SEGLOSS_OK) return st;
        st = focal_term(&lf, grad, f->lambda_focal * up, x, t, shape, d, f);
        if (st == SEGLOSS_OK) *loss = f->lambda_region * lr + f->lambda_focal * lf;
        return st;
    }
    if (mode & SEGLOSS__FAST_LOSS) {
        double lr, lf;
        if ((st = rf(&lr, x, t, shape, ro)) != SEGLOSS_OK) return st;
        if ((st = focal_term(&lf, NULL, 0.0, x, t, shape, d, f)) != SEGLOSS_OK) return st;
        *loss = f->lambda_region * lr + f->lambda_focal * lf;
    }
    if (mode & SEGLOSS__FAST_GRAD) {
        double up = grad_out ? grad_out[0] : 1.0;
        float ur = (float)(f->lambda_region * up);
        if ((st = rb(grad, x, t, shape, ro, &ur)) != SEGLOSS_OK) return st;
        st = focal_term(NULL, grad, f->lambda_focal * up, x, t, shape, d, f);
    }
    return st;
}

static segloss_status dice_fwd(double *l, const float *x, const segloss_target *t,
                               const segloss_shape *s, const void *o) {
    return segloss_dice_forward(l, NULL, x, t, s, o);
}
static segloss_status dice_bwd(float *g, const float *x, const segloss_target *t,
                               const segloss_shape *s, const void *o, const float *up) {
    return segloss_dice_backward(g, x, t, s, o, up);
}
static segloss_status dice_fb(double *l, float *g, const float *x, const segloss_target *t,
                              const segloss_shape *s, const void *o, const float *up) {
    return segloss_dice_forward_backward(l, NULL, g, x, t, s, o, up);
}
static segloss_status gdice_fb(double *l, float *g, const float *x, const segloss_target *t,
                               const segloss_shape *s, const void *o, const float *up) {
    return segloss_generalized_dice_forward_backward(l, NULL, g, x, t, s, o, up);
}
static segloss_status gdice_fwd(double *l, const float *x, const segloss_target *t,
                                const segloss_shape *s, const void *o) {
    return segloss_generalized_dice_forward(l, NULL, x, t, s, o);
}
static segloss_status gdice_bwd(float *g, const float *x, const segloss_target *t,
                                const segloss_shape *s, const void *o, const float *up) {
    return segloss_generalized_dice_backward(g, x, t, s, o, up);
}

static segloss_status dice_focal(int mode, double *loss, float *elems, float *grad,
                                 const float *x, const segloss_target *t,
                                 const segloss_shape *shape, const segloss_dice_focal_opts *o,
                                 const float *grad_out) {
    segloss_dice_focal_opts def;
    if (!o) {
        def = segloss_dice_focal_opts_default();
        o = &def;
    }
    focal_par f = {o->gamma, o->alpha, o->lambda_dice, o->lambda_focal};
    return run(mode, loss, elems, grad, x, t, shape, &o->dice, &f, dice_fwd, dice_bwd, dice_fb,
               &o->dice, grad_out);
}

static segloss_status gdice_focal(int mode, double *loss, float *elems, float *grad,
                                  const float *x, const segloss_target *t,
                                  const segloss_shape *shape,
                                  const segloss_generalized_dice_focal_opts *o,
                                  const float *grad_out) {
    segloss_generalized_dice_focal_opts def;
    if (!o) {
        def = segloss_generalized_dice_focal_opts_default();
        o = &def;
    }
    focal_par f = {o->gamma, o->alpha, o->lambda_gdl, o->lambda_focal};
    return run(mode, loss, elems, grad, x, t, shape, &o->gdice.region, &f, gdice_fwd, gdice_bwd,
               gdice_fb, &o->gdice, grad_out);
}

segloss_status segloss_dice_focal_forward(double *loss, float *elems, const float *x,
                                          const segloss_target *target,
                                          const segloss_shape *shape,
                                          const segloss_dice_focal_opts *opts) {
    return dice_focal(SEGLOSS__FAST_LOSS, loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_dice_focal_backward(float *grad, const float *x,
                                           const segloss_target *target,
                                           const segloss_shape *shape,
                                           const segloss_dice_focal_opts *opts,
                                           const float *grad_out) {
    return dice_focal(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_generalized_dice_focal_forward(
    double *loss, float *elems, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_focal_opts *opts) {
    return gdice_focal(SEGLOSS__FAST_LOSS, loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_generalized_dice_focal_backward(
    float *grad, const float *x, const segloss_target *target, const segloss_shape *shape,
    const segloss_generalized_dice_focal_opts *opts, const float *grad_out) {
    return gdice_focal(SEGLOSS__FAST_GRAD, NULL, NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_dice_focal_forward_backward(double *loss, float *elems, float *grad,
                                                   const float *x,
                                                   const segloss_target *target,
                                                   const segloss_shape *shape,
                                                   const segloss_dice_focal_opts *opts,
                                                   const float *grad_out) {
    return dice_focal(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, target,
                      shape, opts, grad_out);
}

segloss_status segloss_generalized_dice_focal_forward_backward(
    double *loss, float *elems, float *grad, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_focal_opts *opts,
    const float *grad_out) {
    return gdice_focal(SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD, loss, elems, grad, x, target,
                       shape, opts, grad_out);
}
