/* Broadcasting of weight arrays. */
#include "core/internal.h"

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

const float *segloss__bcast_view(float *buf, const segloss_bcast *b, int64_t begin, int64_t end) {
    if (!b->data) return NULL;
    if (b->contiguous) return b->data + begin;
    segloss__bcast_load(buf, b, begin, end);
    return buf;
}
