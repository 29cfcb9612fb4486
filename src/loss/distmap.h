/* Distance maps of binary masks for the distance-map losses (boundary.c,
 * hausdorff_dt.c): exact Euclidean distances of unit spacing, both sides of
 * a mask from one integer transform (distmap.c; segloss_edt_squared for
 * masks too large for 32-bit squared distances). Not differentiated: the
 * losses treat them as constants, as the peers do. */
#ifndef SEGLOSS_LOSS_DISTMAP_H
#define SEGLOSS_LOSS_DISTMAP_H

#include "core/internal.h"

/* For the mask m (0 or 1 per element) of `s` elements, spatial shape `sp`
 * (rank 1..3):
 *   f[i] = distance from i to the nearest element j with m[j] != m[i]
 * = scipy.ndimage.distance_transform_edt(m) + distance_transform_edt(1 - m)
 * (MONAI's distance field; one of the two is 0 at every element), or its
 * square (root 0: an exact integer). +inf everywhere when the mask has no
 * 0 or no 1; *any_fg / *any_bg (may be NULL) say whether it has 1s / 0s.
 * work: segloss__distfield_work(sp, s) bytes, 8-byte aligned. */
segloss_status segloss__distfield(double *f, int root, int *any_fg, int *any_bg,
                                  const uint8_t *m, const segloss_shape *sp, int64_t s,
                                  void *work);
int64_t segloss__distfield_work(const segloss_shape *sp, int64_t s);

/* Runs fn(ctx, n, scratch) for every image n in [0, count), on
 * min(threads, count) workers that each allocate `bytes` of scratch once
 * and take images one at a time (so a per-image buffer is not allocated,
 * and page-faulted in, once per image). Each image writes only its own
 * outputs: the results do not depend on the thread count. Returns the
 * status of the lowest failing image. */
typedef segloss_status (*segloss__dm_image_fn)(void *ctx, int64_t n, void *scratch);
segloss_status segloss__dm_for_images(int64_t count, size_t bytes, segloss__dm_image_fn fn,
                                      void *ctx);

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

/* The same for a whole image, channel rows at a time (the same bits):
 * out (c*s floats) from g (c*s doubles, d loss / d p) and p; dot: s
 * doubles of scratch (softmax). */
void segloss__dm_act_backward_rows(float *out, const double *p, const double *g, int64_t c,
                                   int64_t s, segloss_activation act, double *dot);

#endif
