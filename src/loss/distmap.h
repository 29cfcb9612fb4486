/* Distance maps of binary masks for the distance-map losses (boundary.c,
 * hausdorff_dt.c), from the exact EDT (segloss_edt_squared). Not
 * differentiated: the losses treat them as constants, as the peers do. */
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

#endif
