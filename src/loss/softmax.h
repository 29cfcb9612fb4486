/* The float32 softmax of the softmax cross-entropy family's gradients
 * (ce, topk-ce), private: one pass per position over its C channels
 * (kernels/vec.h, segloss_vec_softmax_fn) gives the probabilities p_c
 * (<= ~3 ulp), enough for a gradient (checked to 1e-5 of its largest
 * component); the loss values stay in double (the double kernel: max,
 * exp(x_c - max) and their sum, then lse = max + log(sum)). Where a gradient needs
 * p_y - 1 it is formed as -sum_{c != y} p_c (no cancellation when p_y is
 * close to 1). The kernel's mx and sp give -log p_y = log1p(sp) + (mx -
 * x_y) to ~1e-7 relative, for callers that can use float accuracy. */
#ifndef SEGLOSS_LOSS_SOFTMAX_H
#define SEGLOSS_LOSS_SOFTMAX_H

#include "kernels/vec.h"

/* The kernels of the table in use (segloss__vec_ops()): float32 for
 * gradients, double for loss values (vec.h). */
static inline segloss_vec_softmax_fn segloss__softmax_kernel(void) {
    return segloss__vec_softmax(segloss__vec_ops());
}

static inline segloss_vec_softmax_d_fn segloss__softmax_d_kernel(void) {
    return segloss__vec_softmax_d(segloss__vec_ops());
}

/* p[k*s + i] = softmax over the c channels of xn[k*s + i] (image layout),
 * in double (softmax.c). */
void segloss__softmax_probs_d(double *p, const float *xn, int64_t c, int64_t s);

/* segloss_ce's unreduced position losses l_i in double (0 at ignored
 * positions; opts not NULL, its reduction unused) and, when cls is not
 * NULL, the class index of every position (-1 where ignored), for topk-ce
 * (ce.c). */
segloss_status segloss__ce_losses(double *elems, int64_t *cls, const float *x,
                                  const segloss_target *target, const segloss_shape *shape,
                                  const segloss_ce_opts *opts);

#endif
