/* BCE on probabilities — torch.nn.BCELoss, forward and backward.
 *
 *   l_i = -w_i * [ y_i * max(ln p_i, -100) + (1 - y_i) * max(ln(1 - p_i), -100) ]
 *   dl_i/dp_i = w_i * (p_i - y_i) / max(p_i * (1 - p_i), 1e-12)
 *
 * The -100 clamp makes exact 0/1 probabilities finite (as PyTorch does);
 * p outside [0,1] or NaN is SEGLOSS_ERR_DOMAIN (logits given by mistake).
 * Arithmetic in double; ln(1-p) as log1p(-p). With ignore_index, ignored
 * targets give loss 0 and gradient 0 and MEAN counts only the others (the
 * driver, loss/elementwise.c); p is not read (nor checked) there. */
#include "loss/elementwise.h"

#include <math.h>

#define BCE_LOG_CLAMP (-100.0)
#define BCE_GRAD_EPS 1e-12

static segloss_status bce_fwd(double *sum, float *elems, const float *p, const float *y,
                              const float *w, const float *pw, int64_t n) {
    (void)pw;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double pi = p[i], yi = y[i];
        if (!(pi >= 0.0 && pi <= 1.0)) return SEGLOSS_ERR_DOMAIN;
        double lp = fmax(log(pi), BCE_LOG_CLAMP);
        double lq = fmax(log1p(-pi), BCE_LOG_CLAMP);
        double l = -(yi * lp + (1.0 - yi) * lq);
        if (w) l *= w[i];
        if (elems) elems[i] = (float)l;
        s += l;
    }
    *sum = s;
    return SEGLOSS_OK;
}

static segloss_status bce_bwd(float *grad, const float *p, const float *y, const float *w,
                              const float *pw, const float *gvec, double gscale, int64_t n) {
    (void)pw;
    for (int64_t i = 0; i < n; i++) {
        double pi = p[i], yi = y[i];
        if (!(pi >= 0.0 && pi <= 1.0)) return SEGLOSS_ERR_DOMAIN;
        double g = (pi - yi) / fmax(pi * (1.0 - pi), BCE_GRAD_EPS);
        if (w) g *= w[i];
        g *= gvec ? gscale * gvec[i] : gscale;
        grad[i] = (float)g;
    }
    return SEGLOSS_OK;
}

static const segloss_ew_ops bce_ops = {
    .fwd = bce_fwd, .bwd = bce_bwd, .takes_pos_weight = 0};

segloss_status segloss_bce_forward(double *loss, float *elems, const float *p,
                                   const segloss_target *target, const segloss_shape *shape,
                                   const segloss_bce_opts *opts) {
    segloss_ew_args a = segloss__ew_args_bce(opts);
    return segloss__ew_forward(&bce_ops, loss, elems, p, target, shape, &a);
}

segloss_status segloss_bce_backward(float *grad, const float *p, const segloss_target *target,
                                    const segloss_shape *shape, const segloss_bce_opts *opts,
                                    const float *grad_out) {
    segloss_ew_args a = segloss__ew_args_bce(opts);
    return segloss__ew_backward(&bce_ops, grad, p, target, shape, &a, grad_out);
}
