/* Target loading (typed, range-checked) and broadcasting of weight arrays. */
#include "core/internal.h"

#include <math.h>

/* Integer targets are masks: only 0 and 1 are allowed. */
#define LOAD_INT(T)                                                         \
    do {                                                                    \
        const T *s = (const T *)t->data + begin;                            \
        for (int64_t i = 0; i < n; i++) {                                   \
            if (s[i] != 0 && s[i] != 1) return SEGLOSS_ERR_TARGET;          \
            out[i] = (float)s[i];                                           \
        }                                                                   \
    } while (0)

segloss_status segloss__load_target(float *out, const segloss_target *t, int64_t begin,
                                    int64_t end) {
    int64_t n = end - begin;
    switch (t->dtype) {
    case SEGLOSS_F32: {
        const float *s = (const float *)t->data + begin;
        for (int64_t i = 0; i < n; i++) {
            float v = s[i];
            if (!(v >= 0.0f && v <= 1.0f)) return SEGLOSS_ERR_TARGET; /* NaN fails too */
            out[i] = v;
        }
        return SEGLOSS_OK;
    }
    case SEGLOSS_F64: {
        const double *s = (const double *)t->data + begin;
        for (int64_t i = 0; i < n; i++) {
            double v = s[i];
            if (!(v >= 0.0 && v <= 1.0)) return SEGLOSS_ERR_TARGET;
            out[i] = (float)v;
        }
        return SEGLOSS_OK;
    }
    case SEGLOSS_BOOL: {
        const uint8_t *s = (const uint8_t *)t->data + begin;
        for (int64_t i = 0; i < n; i++) out[i] = s[i] ? 1.0f : 0.0f;
        return SEGLOSS_OK;
    }
    case SEGLOSS_U8: LOAD_INT(uint8_t); return SEGLOSS_OK;
    case SEGLOSS_I8: LOAD_INT(int8_t); return SEGLOSS_OK;
    case SEGLOSS_I16: LOAD_INT(int16_t); return SEGLOSS_OK;
    case SEGLOSS_I32: LOAD_INT(int32_t); return SEGLOSS_OK;
    case SEGLOSS_I64: LOAD_INT(int64_t); return SEGLOSS_OK;
    case SEGLOSS_U16: LOAD_INT(uint16_t); return SEGLOSS_OK;
    case SEGLOSS_U32: LOAD_INT(uint32_t); return SEGLOSS_OK;
    case SEGLOSS_U64: LOAD_INT(uint64_t); return SEGLOSS_OK;
    }
    return SEGLOSS_ERR_DTYPE;
}

segloss_status segloss__bcast_init(segloss_bcast *b, const segloss_farray *a,
                                   const segloss_shape *full) {
    memset(b, 0, sizeof *b);
    if (!a || !a->data) return SEGLOSS_OK;
    b->data = a->data;
    if (a->shape.ndim < 0 || a->shape.ndim > full->ndim) return SEGLOSS_ERR_SHAPE;
    b->ndim = full->ndim;
    int off = full->ndim - a->shape.ndim; /* right-aligned */
    int same = a->shape.ndim == full->ndim;
    int64_t stride = 1;
    for (int d = full->ndim - 1; d >= 0; d--) {
        b->dim[d] = full->dim[d];
        int64_t ad = d >= off ? a->shape.dim[d - off] : 1;
        if (ad != full->dim[d] && ad != 1) return SEGLOSS_ERR_SHAPE;
        if (ad != full->dim[d]) same = 0;
        b->stride[d] = (ad == 1) ? 0 : stride;
        stride *= ad;
    }
    b->contiguous = same;
    return SEGLOSS_OK;
}

void segloss__bcast_load(float *out, const segloss_bcast *b, int64_t begin, int64_t end) {
    int64_t n = end - begin;
    if (b->contiguous) {
        memcpy(out, b->data + begin, (size_t)n * sizeof *out);
        return;
    }
    /* Odometer over the full shape starting at the multi-index of `begin`. */
    int64_t idx[SEGLOSS_MAX_DIMS];
    int64_t rem = begin, off = 0;
    for (int d = b->ndim - 1; d >= 0; d--) {
        idx[d] = b->dim[d] ? rem % b->dim[d] : 0;
        rem = b->dim[d] ? rem / b->dim[d] : 0;
        off += idx[d] * b->stride[d];
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = b->data[off];
        for (int d = b->ndim - 1; d >= 0; d--) {
            off += b->stride[d];
            if (++idx[d] < b->dim[d]) break;
            off -= b->stride[d] * b->dim[d];
            idx[d] = 0;
        }
    }
}
