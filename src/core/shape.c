/* Shapes: element counts with overflow checks, and dtype -> float32
 * conversion. */
#include "core/internal.h"

/* Largest element count we accept: the count must fit in int64 and its size
 * in bytes for 8-byte elements must fit in size_t (so any dtype's byte size
 * can be computed without a further check). */
static int64_t max_numel(void) {
    uint64_t a = (uint64_t)INT64_MAX, b = (uint64_t)SIZE_MAX;
    uint64_t m = a < b ? a : b;
    return (int64_t)(m / 8u);
}

/* Like NumPy, the overflow check runs over the nonzero dimensions even when
 * another dimension is zero: (0, 2**62, 2**62) is rejected, not "empty". */
segloss_status segloss_shape_numel(const segloss_shape *shape, int64_t *numel) {
    if (numel) *numel = 0;
    if (!shape || !numel) return SEGLOSS_ERR_NULL;
    if (shape->ndim < 0 || shape->ndim > SEGLOSS_MAX_DIMS) return SEGLOSS_ERR_SHAPE;
    const int64_t limit = max_numel();
    int64_t prod = 1;
    int zero = 0;
    for (int i = 0; i < shape->ndim; i++) {
        int64_t d = shape->dim[i];
        if (d < 0) return SEGLOSS_ERR_SHAPE;
        if (d == 0) {
            zero = 1;
            continue;
        }
        if (d > limit / prod) return SEGLOSS_ERR_OVERFLOW;
        prod *= d;
    }
    *numel = zero ? 0 : prod;
    return SEGLOSS_OK;
}

segloss_status segloss__checked_numel(const segloss_shape *shape, int64_t *numel) {
    segloss_status st = segloss_shape_numel(shape, numel);
    if (st != SEGLOSS_OK) return st;
    return *numel == 0 ? SEGLOSS_ERR_EMPTY : SEGLOSS_OK;
}

/* Element loads go through memcpy so that a source that is only byte-aligned
 * (e.g. a slice of a file buffer) is still read correctly. */
#define CONVERT_LOOP(T)                                                     \
    do {                                                                    \
        const unsigned char *s_ = (const unsigned char *)src;               \
        for (int64_t i_ = 0; i_ < n; i_++) {                                \
            T v_;                                                           \
            memcpy(&v_, s_ + (size_t)i_ * sizeof(T), sizeof(T));            \
            out[i_] = (float)v_;                                            \
        }                                                                   \
    } while (0)

segloss_status segloss_convert_to_f32(float *out, const void *src, segloss_dtype dtype, int64_t n) {
    if (n < 0) return SEGLOSS_ERR_ARG;
    if (segloss_dtype_size(dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (n == 0) return SEGLOSS_OK;
    if (!out || !src) return SEGLOSS_ERR_NULL;
    switch (dtype) {
    case SEGLOSS_F32: memmove(out, src, (size_t)n * sizeof(float)); break;
    case SEGLOSS_F64: CONVERT_LOOP(double); break;
    case SEGLOSS_U8: CONVERT_LOOP(uint8_t); break;
    case SEGLOSS_BOOL: {
        /* Any nonzero byte is true (C's conversion to _Bool), without reading
         * a byte that is not 0/1 through a _Bool lvalue. */
        const unsigned char *s = (const unsigned char *)src;
        for (int64_t i = 0; i < n; i++) out[i] = s[i] ? 1.0f : 0.0f;
        break;
    }
    case SEGLOSS_I8: CONVERT_LOOP(int8_t); break;
    case SEGLOSS_I16: CONVERT_LOOP(int16_t); break;
    case SEGLOSS_I32: CONVERT_LOOP(int32_t); break;
    case SEGLOSS_I64: CONVERT_LOOP(int64_t); break;
    case SEGLOSS_U16: CONVERT_LOOP(uint16_t); break;
    case SEGLOSS_U32: CONVERT_LOOP(uint32_t); break;
    case SEGLOSS_U64: CONVERT_LOOP(uint64_t); break;
    }
    return SEGLOSS_OK;
}
