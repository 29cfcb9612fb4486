/* Distance maps of binary masks for the distance-map losses (boundary.c,
 * hausdorff_dt.c): exact Euclidean distances, both sides of a mask from
 * one integer transform (distmap.c; segloss_edt_squared for masks too
 * large for 32-bit squared distances). Not differentiated: the losses
 * treat them as constants, as the peers do. */
#ifndef SEGLOSS_LOSS_DISTMAP_H
#define SEGLOSS_LOSS_DISTMAP_H

#include "core/internal.h"

/* For the mask m of `s` elements (spatial shape `sp`, rank 1..3):
 *   in[i]  = distance from i to the nearest element with m == 0 (m[i] != 0)
 *   out[i] = distance from i to the nearest element with m != 0 (m[i] == 0)
 * (scipy.ndimage.distance_transform_edt of m and of ~m), 0 elsewhere.
 * Either may be NULL. A mask without 0s (1s) gives in (out) = +inf on its
 * elements; *any_fg / *any_bg (may be NULL) say whether it has 1s / 0s.
 * work: s doubles and s bytes of scratch (w8). */
segloss_status segloss__distmap(double *in, double *out, int *any_fg, int *any_bg,
                                const uint8_t *m, const segloss_shape *sp, int64_t s,
                                double *work, uint8_t *w8);

/* The layout shared by the distance-map losses: (N, C, spatial...) with 1
 * to 3 spatial axes; index: class-index target (INDEX, or AUTO with
 * SOFTMAX). */
typedef struct segloss__dm_layout {
    int64_t n, c, s;           /* batch, channels, spatial size */
    segloss_shape sp;          /* spatial shape */
    int index;
} segloss__dm_layout;

/* Checks, in order: NULL arguments; activation and target kind (ARG);
 * numel; rank 3..5 and C >= 2 for softmax or class indices (SHAPE); the
 * target dtype (DTYPE; a float class-index target too). */
segloss_status segloss__dm_layout_init(segloss__dm_layout *l, const float *x,
                                       const segloss_target *t, const segloss_shape *shape,
                                       segloss_activation act, segloss_target_kind kind);

/* p (c*s doubles) = the activation of image xn's c*s logits: softmax over
 * the channels, sigmoid, or the values themselves (NONE: DOMAIN outside
 * [0,1]). */
segloss_status segloss__dm_probs(double *p, const float *xn, int64_t c, int64_t s,
                                 segloss_activation act);

/* The gradient of one pixel's c channels (out, stride s) from d loss/d p
 * (g, stride gs) and p (stride s): softmax p_k (g_k - sum_j p_j g_j),
 * sigmoid g_k p_k (1 - p_k), NONE g_k. */
void segloss__dm_act_backward(float *out, const double *p, const double *g, int64_t gs,
                              int64_t c, int64_t s, segloss_activation act);

#endif
