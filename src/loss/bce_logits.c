/* BCE with logits — torch.nn.BCEWithLogitsLoss, forward and backward.
 *
 *   l_i = w_i * [ (1 - y_i) * x_i + (1 + (pw_i - 1) * y_i) * softplus(-x_i) ]
 *   dl_i/dx_i = w_i * [ (1 + (pw_i - 1) * y_i) * sigmoid(x_i) - pw_i * y_i ]
 *
 * Evaluated in the algebraically equal forms (softplus(x) - softplus(-x) = x)
 *   l_i = w_i * [ (1 - y_i) * softplus(x_i) + pw_i * y_i * softplus(-x_i) ]
 *   dl_i/dx_i = w_i * [ (1 - y_i) * sigmoid(x_i) - pw_i * y_i * sigmoid(-x_i) ]
 * whose terms are all non-negative (loss) or of fixed sign: no cancellation,
 * so a tiny loss such as y = 0, x = -20 (2.06e-9) keeps full relative
 * accuracy, where PyTorch's float32 form (1-y)x + ... returns 0.
 * softplus(+-x) = log1p(exp(-|x|)) + max(+-x, 0) never overflows: exact for
 * |x| up to FLT_MAX (x = +-1e4 gives 1e4 or 0, not inf/NaN). NaN logits
 * propagate as in PyTorch. pos_weight broadcasts right-aligned like PyTorch
 * (see segloss.h). ignore_index is handled by the driver
 * (loss/elementwise.c): loss and gradient 0 there, MEAN over the others.
 *
 * The arithmetic is float32 (kernels/vec.h: the AVX-512, AVX2+FMA, NEON or
 * portable vector table, whichever this CPU has best; <= 1.8 ulp per
 * element term against the double formulas above), sums in double. uint8 targets (and bool ones
 * whose bytes are 0/1) are read as bytes by the _u8 kernels. The double
 * formulas survive as the test reference (tests/test_kernels.c). */
#include "kernels/vec.h"
#include "loss/elementwise.h"

/* The driver's kernels: this CPU's table (segloss__vec_ops), looked up per
 * block so that segloss__vec_force_scalar takes effect at once. */
static segloss_status bcel_fwd(double *sum, float *elems, const float *x, const float *y,
                               const float *w, const float *pw, int64_t n) {
    return segloss__vec_ops()->bcel_fwd(sum, elems, x, y, w, pw, n);
}

static segloss_status bcel_bwd(float *grad, const float *x, const float *y, const float *w,
                               const float *pw, const float *gvec, double gscale, int64_t n) {
    return segloss__vec_ops()->bcel_bwd(grad, x, y, w, pw, gvec, gscale, n);
}

static segloss_status bcel_fused(double *sum, float *elems, float *grad, const float *x,
                                 const float *y, const float *w, const float *pw,
                                 const float *gvec, double gscale, int64_t n) {
    return segloss__vec_ops()->bcel_fused(sum, elems, grad, x, y, w, pw, gvec, gscale, n);
}

static segloss_status bcel_fwd_u8(double *sum, float *elems, const float *x, const uint8_t *y,
                                  const float *w, const float *pw, int64_t n) {
    return segloss__vec_ops()->bcel_fwd_u8(sum, elems, x, y, w, pw, n);
}

static segloss_status bcel_bwd_u8(float *grad, const float *x, const uint8_t *y,
                                  const float *w, const float *pw, const float *gvec,
                                  double gscale, int64_t n) {
    return segloss__vec_ops()->bcel_bwd_u8(grad, x, y, w, pw, gvec, gscale, n);
}

static segloss_status bcel_fused_u8(double *sum, float *elems, float *grad, const float *x,
                                    const uint8_t *y, const float *w, const float *pw,
                                    const float *gvec, double gscale, int64_t n) {
    return segloss__vec_ops()->bcel_fused_u8(sum, elems, grad, x, y, w, pw, gvec, gscale, n);
}

static const segloss_ew_ops bcel_ops = {.fwd = bcel_fwd,
                                        .bwd = bcel_bwd,
                                        .takes_pos_weight = 1,
                                        .fused = bcel_fused,
                                        .fwd_u8 = bcel_fwd_u8,
                                        .bwd_u8 = bcel_bwd_u8,
                                        .fused_u8 = bcel_fused_u8,
                                        .checks_f32 = 1};

segloss_status segloss_bce_logits_forward(double *loss, float *elems, const float *x,
                                          const segloss_target *target,
                                          const segloss_shape *shape,
                                          const segloss_bce_opts *opts) {
    segloss_ew_args a = segloss__ew_args_bce(opts);
    return segloss__ew_forward(&bcel_ops, loss, elems, x, target, shape, &a);
}

segloss_status segloss_bce_logits_backward(float *grad, const float *x,
                                           const segloss_target *target,
                                           const segloss_shape *shape,
                                           const segloss_bce_opts *opts, const float *grad_out) {
    segloss_ew_args a = segloss__ew_args_bce(opts);
    return segloss__ew_backward(&bcel_ops, grad, x, target, shape, &a, grad_out);
}

segloss_status segloss_bce_logits_forward_backward(double *loss, float *elems, float *grad,
                                                   const float *x,
                                                   const segloss_target *target,
                                                   const segloss_shape *shape,
                                                   const segloss_bce_opts *opts,
                                                   const float *grad_out) {
    segloss_ew_args a = segloss__ew_args_bce(opts);
    return segloss__ew_forward_backward(&bcel_ops, loss, elems, grad, x, target, shape, &a,
                                        grad_out);
}
