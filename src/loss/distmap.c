/* Distance maps of binary masks: two exact EDTs (distmap.h). */
#include "loss/distmap.h"

#include "core/target.h"
#include "kernels/scalar.h"

#include <math.h>

segloss_status segloss__dm_layout_init(segloss__dm_layout *l, const float *x,
                                       const segloss_target *t, const segloss_shape *shape,
                                       segloss_activation act, segloss_target_kind kind) {
    memset(l, 0, sizeof *l);
    if (!x || !t || !t->data || !shape) return SEGLOSS_ERR_NULL;
    if (act != SEGLOSS_ACTIVATION_NONE && act != SEGLOSS_ACTIVATION_SIGMOID &&
        act != SEGLOSS_ACTIVATION_SOFTMAX)
        return SEGLOSS_ERR_ARG;
    if (kind != SEGLOSS_TARGET_AUTO && kind != SEGLOSS_TARGET_DENSE &&
        kind != SEGLOSS_TARGET_INDEX)
        return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 3 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    l->n = shape->dim[0];
    l->c = shape->dim[1];
    l->s = numel / (l->n * l->c);
    l->sp.ndim = shape->ndim - 2;
    for (int k = 2; k < shape->ndim; k++) l->sp.dim[k - 2] = shape->dim[k];
    l->index = kind == SEGLOSS_TARGET_INDEX ||
               (kind == SEGLOSS_TARGET_AUTO && act == SEGLOSS_ACTIVATION_SOFTMAX);
    if ((l->index || act == SEGLOSS_ACTIVATION_SOFTMAX) && l->c < 2) return SEGLOSS_ERR_SHAPE;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (l->index && (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64)) return SEGLOSS_ERR_DTYPE;
    return SEGLOSS_OK;
}

segloss_status segloss__dm_probs(double *p, const float *xn, int64_t c, int64_t s,
                                 segloss_activation act) {
    if (act == SEGLOSS_ACTIVATION_SOFTMAX) {
        for (int64_t i = 0; i < s; i++) {
            double mx = xn[i], z = 0.0;
            for (int64_t k = 1; k < c; k++)
                if (xn[k * s + i] > mx) mx = xn[k * s + i];
            for (int64_t k = 0; k < c; k++) z += exp((double)xn[k * s + i] - mx);
            for (int64_t k = 0; k < c; k++) p[k * s + i] = exp((double)xn[k * s + i] - mx) / z;
        }
        return SEGLOSS_OK;
    }
    for (int64_t i = 0; i < c * s; i++) {
        double v = xn[i];
        if (act == SEGLOSS_ACTIVATION_NONE && !(v >= 0.0 && v <= 1.0)) return SEGLOSS_ERR_DOMAIN;
        p[i] = act == SEGLOSS_ACTIVATION_SIGMOID ? segloss__sigmoid_d(v) : v;
    }
    return SEGLOSS_OK;
}

void segloss__dm_act_backward(float *out, const double *p, const double *g, int64_t gs,
                              int64_t c, int64_t s, segloss_activation act) {
    double dot = 0.0;
    for (int64_t k = 0; k < c; k++) dot += p[k * s] * g[k * gs];
    for (int64_t k = 0; k < c; k++) {
        double pk = p[k * s], gk = g[k * gs];
        double v = act == SEGLOSS_ACTIVATION_SOFTMAX   ? pk * (gk - dot)
                   : act == SEGLOSS_ACTIVATION_SIGMOID ? gk * pk * (1.0 - pk)
                                                       : gk;
        out[k * s] = (float)v;
    }
}

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
