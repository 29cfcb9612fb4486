/* Sigmoid focal loss — torchvision.ops.sigmoid_focal_loss, forward and
 * backward (torchvision/ops/focal_loss.py).
 *
 * torchvision forms p = sigmoid(x), p_t = p*y + (1-p)*(1-y) and
 * (1 - p_t)^gamma by subtraction, which cancels to 0 (float32: x > ~17,
 * float64: x > ~37) and makes the pow's derivative blow up for gamma < 1.
 * Here everything comes from e = exp(-|x|):
 *   p = sigmoid(x), pm = 1 - p = sigmoid(-x)     (1/(1+e) or e/(1+e))
 *   ce = (1-y)*softplus(x) + y*softplus(-x)     (= BCE-with-logits)
 *   q  = 1 - p_t = p*(1-y) + pm*y                (a convex combination: no
 *                                                 cancellation, q > 0 for
 *                                                 |x| < ~745)
 *   a  = alpha*y + (1-alpha)*(1-y)  (alpha >= 0), 1 (alpha < 0)
 *   l  = w * a * ce * q^gamma
 * Backward: dce/dx = (1-y)*p - y*pm (= p - y), dq/dx = p*pm*(1-2y), so
 *   dl/dx = w * a * q^gamma * [ dce/dx + gamma * r * (1-2y) * ce ],
 *   r = p*pm/q  in [0, 1]  (q >= min(p, pm))
 * which stays finite for every gamma >= 0: the infinite derivative of
 * q^gamma at q = 0 (gamma < 1) is multiplied by p*pm, which vanishes faster.
 * Where q underflows to 0 (|x| > ~745 with y = the predicted class) we take
 * r = 0, the limit. gamma = 0: l = w*a*ce, alpha-weighted BCE-with-logits.
 * Arithmetic in double per element; NaN logits propagate; an infinite logit
 * with a target on its side gives NaN (0*inf), as BCE-with-logits does. */
#include "loss/elementwise.h"

#include <math.h>


typedef struct focal_params {
    double alpha, gamma;
} focal_params;

/* The per-element quantities shared by forward and backward. */
typedef struct focal_terms {
    double p, pm, ce, q, qg, a;
} focal_terms;

static inline focal_terms focal_eval(const focal_params *fp, double x, double y) {
    focal_terms t;
    double e = exp(-fabs(x));
    double inv = 1.0 / (1.0 + e);
    t.p = x >= 0 ? inv : e * inv;
    t.pm = x >= 0 ? e * inv : inv;
    double lg = log1p(e);
    t.ce = (1.0 - y) * (lg + fmax(x, 0.0)) + y * (lg + fmax(-x, 0.0));
    t.q = t.p * (1.0 - y) + t.pm * y;
    t.qg = fp->gamma == 0.0 ? 1.0 : pow(t.q, fp->gamma);
    t.a = fp->alpha >= 0.0 ? fp->alpha * y + (1.0 - fp->alpha) * (1.0 - y) : 1.0;
    return t;
}

static segloss_status focal_fwd(const void *params, double *sum, float *elems, const float *x,
                                const float *y, const float *w, int64_t n) {
    const focal_params *fp = params;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        focal_terms t = focal_eval(fp, x[i], y[i]);
        double l = t.a * t.ce * t.qg;
        if (w) l *= w[i];
        if (elems) elems[i] = (float)l;
        s += l;
    }
    *sum = s;
    return SEGLOSS_OK;
}

static segloss_status focal_bwd(const void *params, float *grad, const float *x, const float *y,
                                const float *w, const float *gvec, double gscale, int64_t n) {
    const focal_params *fp = params;
    for (int64_t i = 0; i < n; i++) {
        double yi = y[i];
        focal_terms t = focal_eval(fp, x[i], yi);
        double dce = (1.0 - yi) * t.p - yi * t.pm;
        double g = dce;
        if (fp->gamma != 0.0) {
            double r = t.q > 0.0 ? t.p * t.pm / t.q : 0.0;
            g += fp->gamma * r * (1.0 - 2.0 * yi) * t.ce;
        }
        g *= t.a * t.qg;
        if (w) g *= w[i];
        g *= gvec ? gscale * gvec[i] : gscale;
        grad[i] = (float)g;
    }
    return SEGLOSS_OK;
}

/* torchvision's defaults. */
static const segloss_focal_opts focal_defaults = {.reduction = SEGLOSS_REDUCTION_MEAN,
                                                  .alpha = 0.25,
                                                  .gamma = 2.0,
                                                  .ignore_index = SEGLOSS_IGNORE_NONE};

segloss_focal_opts segloss_focal_opts_default(void) { return focal_defaults; }

/* Validated parameters and the driver's arguments from opts. */
static segloss_status focal_setup(focal_params *fp, segloss_ew_args *a,
                                  const segloss_focal_opts *o) {
    if (!o) o = &focal_defaults;
    fp->alpha = o->alpha;
    fp->gamma = o->gamma;
    if (!isfinite(fp->alpha) || !isfinite(fp->gamma) || fp->gamma < 0.0) return SEGLOSS_ERR_ARG;
    memset(a, 0, sizeof *a);
    a->reduction = o->reduction;
    a->weight = &o->weight;
    a->ignore_index = o->ignore_index;
    return SEGLOSS_OK;
}

segloss_status segloss_focal_forward(double *loss, float *elems, const float *x,
                                     const segloss_target *target, const segloss_shape *shape,
                                     const segloss_focal_opts *opts) {
    focal_params fp;
    segloss_ew_args a;
    segloss_status st = focal_setup(&fp, &a, opts);
    if (st != SEGLOSS_OK) return st;
    segloss_ew_ops ops = {.fwd_p = focal_fwd, .bwd_p = focal_bwd, .params = &fp};
    return segloss__ew_forward(&ops, loss, elems, x, target, shape, &a);
}

segloss_status segloss_focal_backward(float *grad, const float *x, const segloss_target *target,
                                      const segloss_shape *shape,
                                      const segloss_focal_opts *opts, const float *grad_out) {
    focal_params fp;
    segloss_ew_args a;
    segloss_status st = focal_setup(&fp, &a, opts);
    if (st != SEGLOSS_OK) return st;
    segloss_ew_ops ops = {.fwd_p = focal_fwd, .bwd_p = focal_bwd, .params = &fp};
    return segloss__ew_backward(&ops, grad, x, target, shape, &a, grad_out);
}
