/* Label maps, element by element: labels widened to int64, and rows turned
 * into 0/1 masks of one label (the metrics' box passes). */
#include "metric/metric.h"

#include <string.h>

#define LOAD_CASE(DT, T)                                                    \
    case DT: {                                                              \
        const T *s = (const T *)src + off;                                  \
        for (int64_t i = 0; i < n; i++) dst[i] = (int64_t)s[i];             \
        return SEGLOSS_OK;                                                  \
    }

segloss_status segloss__load_labels(int64_t *dst, const void *src, segloss_dtype dtype,
                                    int64_t off, int64_t n) {
    switch (dtype) {
    case SEGLOSS_BOOL: {
        const uint8_t *s = (const uint8_t *)src + off;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i] != 0;
        return SEGLOSS_OK;
    }
    LOAD_CASE(SEGLOSS_U8, uint8_t)
    LOAD_CASE(SEGLOSS_I8, int8_t)
    LOAD_CASE(SEGLOSS_I16, int16_t)
    LOAD_CASE(SEGLOSS_U16, uint16_t)
    LOAD_CASE(SEGLOSS_I32, int32_t)
    LOAD_CASE(SEGLOSS_U32, uint32_t)
    LOAD_CASE(SEGLOSS_I64, int64_t)
    case SEGLOSS_U64: {
        const uint64_t *s = (const uint64_t *)src + off;
        for (int64_t i = 0; i < n; i++) {
            if (s[i] > (uint64_t)INT64_MAX) return SEGLOSS_ERR_DOMAIN;
            dst[i] = (int64_t)s[i];
        }
        return SEGLOSS_OK;
    }
    case SEGLOSS_F32: case SEGLOSS_F64:
        break;
    }
    return SEGLOSS_ERR_DTYPE;
}

/* Compare in the array's own type when the label is representable in it
 * (otherwise nothing matches): the inner loop stays a plain compare. */
#define MASK_CASE(DT, T, LO, HI)                                            \
    case DT: {                                                              \
        const T *s = (const T *)src + off;                                  \
        if (match_nonzero) {                                                \
            for (int64_t i = 0; i < n; i++)                                 \
                dst[i] |= (uint8_t)(bit * (s[i] != 0));                     \
        } else if (label >= (LO) && label <= (HI)) {                        \
            const T l = (T)label;                                           \
            for (int64_t i = 0; i < n; i++)                                 \
                dst[i] |= (uint8_t)(bit * (s[i] == l));                     \
        }                                                                   \
        return;                                                             \
    }

void segloss__mask_row(uint8_t *dst, const void *src, segloss_dtype dtype, int64_t off,
                       int64_t n, int64_t label, int match_nonzero, uint8_t bit) {
    switch (dtype) {
    case SEGLOSS_BOOL: {
        const uint8_t *s = (const uint8_t *)src + off;
        if (match_nonzero || label == 1) {
            for (int64_t i = 0; i < n; i++) dst[i] |= (uint8_t)(s[i] != 0 ? bit : 0);
        } else if (label == 0) {
            for (int64_t i = 0; i < n; i++) dst[i] |= (uint8_t)(s[i] == 0 ? bit : 0);
        }
        return;
    }
    MASK_CASE(SEGLOSS_U8, uint8_t, 0, UINT8_MAX)
    MASK_CASE(SEGLOSS_I8, int8_t, INT8_MIN, INT8_MAX)
    MASK_CASE(SEGLOSS_I16, int16_t, INT16_MIN, INT16_MAX)
    MASK_CASE(SEGLOSS_U16, uint16_t, 0, UINT16_MAX)
    MASK_CASE(SEGLOSS_I32, int32_t, INT32_MIN, INT32_MAX)
    MASK_CASE(SEGLOSS_U32, uint32_t, 0, (int64_t)UINT32_MAX)
    MASK_CASE(SEGLOSS_I64, int64_t, INT64_MIN, INT64_MAX)
    MASK_CASE(SEGLOSS_U64, uint64_t, 0, INT64_MAX)
    case SEGLOSS_F32: case SEGLOSS_F64:
        return;
    }
}

/* Two arrays of one dtype in one pass, written rather than or-ed. */
#define MASK2_CASE(DT, T, LO, HI)                                           \
    case DT: {                                                              \
        const T *p = (const T *)pred + off, *r = (const T *)ref + off;     \
        if (match_nonzero) {                                                \
            for (int64_t i = 0; i < n; i++)                                 \
                dst[i] = (uint8_t)((p[i] != 0) | ((r[i] != 0) << 1));       \
        } else if (label >= (LO) && label <= (HI)) {                        \
            const T l = (T)label;                                           \
            for (int64_t i = 0; i < n; i++)                                 \
                dst[i] = (uint8_t)((p[i] == l) | ((r[i] == l) << 1));       \
        } else {                                                            \
            memset(dst, 0, (size_t)n);                                      \
        }                                                                   \
        return;                                                             \
    }

void segloss__mask_row2(uint8_t *dst, const void *pred, const void *ref, segloss_dtype dtype,
                        int64_t off, int64_t n, int64_t label, int match_nonzero) {
    switch (dtype) {
    MASK2_CASE(SEGLOSS_U8, uint8_t, 0, UINT8_MAX)
    MASK2_CASE(SEGLOSS_I8, int8_t, INT8_MIN, INT8_MAX)
    MASK2_CASE(SEGLOSS_I16, int16_t, INT16_MIN, INT16_MAX)
    MASK2_CASE(SEGLOSS_U16, uint16_t, 0, UINT16_MAX)
    MASK2_CASE(SEGLOSS_I32, int32_t, INT32_MIN, INT32_MAX)
    MASK2_CASE(SEGLOSS_U32, uint32_t, 0, (int64_t)UINT32_MAX)
    MASK2_CASE(SEGLOSS_I64, int64_t, INT64_MIN, INT64_MAX)
    MASK2_CASE(SEGLOSS_U64, uint64_t, 0, INT64_MAX)
    case SEGLOSS_BOOL: case SEGLOSS_F32: case SEGLOSS_F64:
        break;
    }
    memset(dst, 0, (size_t)n);
    segloss__mask_row(dst, pred, dtype, off, n, label, match_nonzero, 1);
    segloss__mask_row(dst, ref, dtype, off, n, label, match_nonzero, 2);
}
