/* Distance maps of binary masks: two exact EDTs (distmap.h). */
#include "loss/distmap.h"

#include <math.h>

segloss_status segloss__distmap(double *in, double *out, int *any_fg, int *any_bg,
                                const uint8_t *m, const segloss_shape *sp, int64_t s,
                                double *work, uint8_t *w8) {
    int fg = 0, bg = 0;
    for (int64_t i = 0; i < s; i++) {
        fg |= m[i] != 0;
        bg |= m[i] == 0;
    }
    if (any_fg) *any_fg = fg;
    if (any_bg) *any_bg = bg;
    segloss_status st = SEGLOSS_OK;
    if (in) { /* features: the 0s */
        for (int64_t i = 0; i < s; i++) w8[i] = m[i] == 0;
        if ((st = segloss_edt_squared(work, w8, sp, NULL)) != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < s; i++) in[i] = m[i] ? sqrt(work[i]) : 0.0;
    }
    if (out) { /* features: the 1s */
        for (int64_t i = 0; i < s; i++) w8[i] = m[i] != 0;
        if ((st = segloss_edt_squared(work, w8, sp, NULL)) != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < s; i++) out[i] = m[i] ? 0.0 : sqrt(work[i]);
    }
    return st;
}
