/* Private driver for element-wise losses (bce, bce-logits, ...).
 *
 * The driver validates arguments, cuts [0, numel) into fixed blocks, loads
 * each block's target (typed, range-checked) and broadcast weights into
 * float buffers, and calls the loss's block kernels. Per-block sums are
 * combined in block order (deterministic for any thread count). */
#ifndef SEGLOSS_LOSS_ELEMENTWISE_H
#define SEGLOSS_LOSS_ELEMENTWISE_H

#include "core/internal.h"

/* Forward block kernel: sum of the element losses of n elements into *sum
 * (double); when elems != NULL also the losses themselves. w and pw are NULL
 * when absent. */
typedef segloss_status (*segloss_ew_fwd)(double *sum, float *elems, const float *x,
                                         const float *y, const float *w, const float *pw,
                                         int64_t n);
/* Backward block kernel: grad[i] = up_i * dl_i/dx_i where up_i = gscale *
 * (gvec ? gvec[i] : 1). */
typedef segloss_status (*segloss_ew_bwd)(float *grad, const float *x, const float *y,
                                         const float *w, const float *pw, const float *gvec,
                                         double gscale, int64_t n);

typedef struct segloss_ew_ops {
    segloss_ew_fwd fwd;
    segloss_ew_bwd bwd;
    int takes_pos_weight; /* 0: a pos_weight option is an error */
} segloss_ew_ops;

segloss_status segloss__ew_forward(const segloss_ew_ops *ops, double *loss, float *elems,
                                   const float *x, const segloss_target *target,
                                   const segloss_shape *shape, const segloss_bce_opts *opts);
segloss_status segloss__ew_backward(const segloss_ew_ops *ops, float *grad, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_bce_opts *opts, const float *grad_out);

#endif
