/* Private driver for element-wise losses (bce, bce-logits, focal).
 *
 * The driver validates arguments, cuts [0, numel) into fixed blocks, loads
 * each block's target (typed, range-checked, ignore_index applied) and
 * broadcast weights into float buffers, and calls the loss's block kernels.
 * Per-block sums are combined in block order (deterministic for any thread
 * count).
 *
 * ignore_index: the kernels never see it. With ignore active the driver
 * calls them on each run of consecutive non-ignored elements of a block
 * (their double sums added in order) and writes 0 to the loss array and the
 * gradient at ignored elements, whose inputs are never read (so a NaN or an
 * out-of-range probability there is no error). MEAN divides by the count of
 * non-ignored elements (a second partial sum).
 *
 * Targets reach the kernels as float buffers, except:
 *  - float32 targets without ignore_index: passed in place (no copy) and
 *    checked for [0,1] before the kernels run, or by the kernels themselves
 *    in their own pass when the loss says so (checks_f32: they return
 *    SEGLOSS_ERR_TARGET for a value outside [0,1] or NaN);
 *  - uint8 targets (and bool targets whose bytes are all 0/1) when the loss
 *    has byte kernels: passed in place as bytes; the kernels check 0/1
 *    (SEGLOSS_ERR_TARGET otherwise). A bool block with another byte value
 *    goes through the float buffer (nonzero -> 1): the byte kernels give the
 *    float kernels' bits on 0/1, so the result does not depend on the route.
 * Weights with the input's own shape are passed in place, broadcast ones
 * through a buffer. */
#ifndef SEGLOSS_LOSS_ELEMENTWISE_H
#define SEGLOSS_LOSS_ELEMENTWISE_H

#include "core/internal.h"

/* Forward block kernel: sum of the element losses of n elements into *sum
 * (double); when elems != NULL also the losses themselves. w and pw are NULL
 * when absent. (kernels/vec.h's bcel kernels have exactly this signature.) */
typedef segloss_status (*segloss_ew_fwd)(double *sum, float *elems, const float *x,
                                         const float *y, const float *w, const float *pw,
                                         int64_t n);
/* Backward block kernel: grad[i] = up_i * dl_i/dx_i where up_i = gscale *
 * (gvec ? gvec[i] : 1). */
typedef segloss_status (*segloss_ew_bwd)(float *grad, const float *x, const float *y,
                                         const float *w, const float *pw, const float *gvec,
                                         double gscale, int64_t n);
/* The same for losses with parameters (focal): `params` is ops->params. */
typedef segloss_status (*segloss_ew_fwd_p)(const void *params, double *sum, float *elems,
                                           const float *x, const float *y, const float *w,
                                           int64_t n);
typedef segloss_status (*segloss_ew_bwd_p)(const void *params, float *grad, const float *x,
                                           const float *y, const float *w, const float *gvec,
                                           double gscale, int64_t n);

/* Forward and backward in one pass: *sum and elems as the forward, grad as
 * the backward, the same bits as the two kernels. */
typedef segloss_status (*segloss_ew_fused)(double *sum, float *elems, float *grad,
                                           const float *x, const float *y, const float *w,
                                           const float *pw, const float *gvec, double gscale,
                                           int64_t n);
/* The plain kernels with 0/1-byte targets (kernels/vec.h's _u8 kernels):
 * the same bits as the float kernels on y = (float)byte; any other byte
 * gives SEGLOSS_ERR_TARGET. */
typedef segloss_status (*segloss_ew_fwd_u8)(double *sum, float *elems, const float *x,
                                            const uint8_t *y, const float *w, const float *pw,
                                            int64_t n);
typedef segloss_status (*segloss_ew_bwd_u8)(float *grad, const float *x, const uint8_t *y,
                                            const float *w, const float *pw, const float *gvec,
                                            double gscale, int64_t n);
typedef segloss_status (*segloss_ew_fused_u8)(double *sum, float *elems, float *grad,
                                              const float *x, const uint8_t *y, const float *w,
                                              const float *pw, const float *gvec, double gscale,
                                              int64_t n);

/* A loss: either the plain kernels (fwd, bwd) or, when fwd is NULL, the
 * parametrised ones (fwd_p, bwd_p) with params. Optional: fused (else the
 * fused driver calls fwd then bwd on each block) and the byte kernels
 * (all three or none; plain kernels only). */
typedef struct segloss_ew_ops {
    segloss_ew_fwd fwd;
    segloss_ew_bwd bwd;
    int takes_pos_weight; /* 0: a pos_weight option is an error */
    segloss_ew_fwd_p fwd_p;
    segloss_ew_bwd_p bwd_p;
    const void *params;
    segloss_ew_fused fused;
    segloss_ew_fwd_u8 fwd_u8;
    segloss_ew_bwd_u8 bwd_u8;
    segloss_ew_fused_u8 fused_u8;
    int checks_f32; /* 1: the float-target kernels check y in [0,1] themselves */
} segloss_ew_ops;

/* The options every element-wise loss shares. */
typedef struct segloss_ew_args {
    segloss_reduction reduction;
    const segloss_farray *weight;      /* may be NULL or have data NULL */
    const segloss_farray *pos_weight;
    int64_t ignore_index;              /* SEGLOSS_IGNORE_NONE: none */
} segloss_ew_args;

/* args from a segloss_bce_opts (NULL: defaults). */
segloss_ew_args segloss__ew_args_bce(const segloss_bce_opts *opts);

segloss_status segloss__ew_forward(const segloss_ew_ops *ops, double *loss, float *elems,
                                   const float *x, const segloss_target *target,
                                   const segloss_shape *shape, const segloss_ew_args *args);
segloss_status segloss__ew_backward(const segloss_ew_ops *ops, float *grad, const float *x,
                                    const segloss_target *target, const segloss_shape *shape,
                                    const segloss_ew_args *args, const float *grad_out);
/* Both in one pass over the blocks (loss, elems as the forward, grad as the
 * backward; the same bits as the two calls). MEAN's gradient scale
 * grad_out/count must be known before the pass: count = numel without
 * ignore_index; with it, a first pass over the targets alone counts the
 * non-ignored elements. */
segloss_status segloss__ew_forward_backward(const segloss_ew_ops *ops, double *loss,
                                            float *elems, float *grad, const float *x,
                                            const segloss_target *target,
                                            const segloss_shape *shape,
                                            const segloss_ew_args *args, const float *grad_out);

#endif
