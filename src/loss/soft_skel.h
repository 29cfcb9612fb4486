/* Soft skeletons (MONAI monai/losses/cldice.py soft_skel, after Shit et
 * al. 2021) of one image, forward and backward, and the clDice engine
 * shared by cldice.c and dice_cldice.c (private; not installed).
 *
 * For an image E_0 of spatial rank 2 (H, W) or 3 (D, H, W):
 *   erode(E)  = min over the axes a of the min of E over {i - e_a, i, i + e_a}
 *               (the window clipped at the border): MONAI's min of
 *               -max_pool(-E) with kernels (3,1), (1,3) (and (3,1,1), ...)
 *   dilate(E) = max of E over the 3x3 (3x3x3) box, clipped
 *   E_{k+1} = erode(E_k),  D_k = dilate(E_{k+1})  (= soft_open(E_k))
 *   delta_k = relu(E_k - D_k)
 *   S_0 = delta_0,  S_k = S_{k-1} + relu(delta_k - S_{k-1} * delta_k)
 *   skel = S_iter
 * Backward follows torch 1.13's CPU autograd rules exactly (checked by
 * experiment, tools/ref/gen_cldice_loss_ref.py):
 *   max_pool routes the gradient to one element of its window, the first
 *   maximum in scan order (the lowest flat index); -max_pool(-E) likewise
 *   to the first minimum;
 *   torch.min(a, b) gives the gradient to the smaller one, half to each on
 *   a tie; in 3-D, min(min(p1, p2), p3): a three-way tie gives 1/4, 1/4, 1/2;
 *   relu passes nothing at 0 (delta_k = 0 when E_k == D_k, common on flat
 *   regions and 0/1 masks; the update term at S_{k-1} == 1).
 * The separable passes (last axis first, first extremum on ties) pick the
 * same element as the box's scan order: the lowest (d, h, w). */
#ifndef SEGLOSS_LOSS_SOFT_SKEL_H
#define SEGLOSS_LOSS_SOFT_SKEL_H

#include "core/internal.h"

/* The intermediates the backward needs: (2 * iter + 1) * s doubles,
 * E_1 .. E_{iter+1} then S_0 .. S_{iter-1}. */
#define SEGLOSS__SKEL_KEEP(iter) (2 * (int64_t)(iter) + 1)

/* skel (s doubles) = the soft skeleton of img (s values, spatial shape sp
 * of rank 2 or 3). keep: NULL, or SEGLOSS__SKEL_KEEP(iter) * s doubles
 * filled for segloss__soft_skel_backward. NOMEM only. */
segloss_status segloss__soft_skel(double *skel, const double *img, const segloss_shape *sp,
                                  int64_t s, int iter, double *keep);

/* The backward is linear in the upstream gradient, and the routing (ties,
 * kinks) depends on the forward alone: oa = J^T ga and ob = J^T 1 (s
 * doubles each), J = d skel / d img, from one pass over the img and keep of
 * the forward; any upstream a ga + b gives a oa + b ob. NOMEM only. */
segloss_status segloss__soft_skel_backward(double *oa, double *ob, const double *ga,
                                           const double *img, const double *keep,
                                           const segloss_shape *sp, int64_t s, int iter);

/* The clDice engine: loss = wd * soft Dice + wc * clDice over the kept
 * channels of the whole batch (cldice.c documents it); loss and grad may
 * each be NULL (not both). */
segloss_status segloss__cldice_run(double *loss, float *grad, const float *x,
                                   const segloss_target *t, const segloss_shape *shape,
                                   const segloss_cldice_opts *o, double wd, double wc,
                                   const float *grad_out);

#endif
