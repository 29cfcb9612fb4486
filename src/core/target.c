/* The target decoder (see target.h): validity, class indices and the
 * ignore rule, for every dtype, in one place. */
#include "core/target.h"

#include <math.h>

/* The loop over one dtype: VAL is element i's value as double (src[i] of
 * type T), BIG nonzero where it can never equal the ignore value, VALID the
 * range rule on v, STORE(i, v) the output of a valid element, STORE_IGN(i)
 * that of an ignored one. */
#define DECODE_LOOP(T, VAL, BIG)                                            \
    do {                                                                    \
        const T *src = (const T *)t->data + begin;                          \
        for (int64_t i = 0; i < n; i++) {                                   \
            double v = (VAL);                                               \
            if (has_ign && !(BIG) && v == ignd) {                           \
                STORE_IGN(i);                                               \
                if (ign) ign[i] = 1;                                        \
                continue;                                                   \
            }                                                               \
            if (!(VALID)) {                                                 \
                if (bad) *bad = i;                                          \
                return SEGLOSS_ERR_TARGET;                                  \
            }                                                               \
            STORE(i, v);                                                    \
            if (ign) ign[i] = 0;                                            \
            valid++;                                                        \
        }                                                                   \
    } while (0)

/* Every dtype through DECODE_LOOP; float dtypes only when FLOATS. */
#define DECODE_DTYPES(FLOATS)                                               \
    do {                                                                    \
        int has_ign = ignore != SEGLOSS_IGNORE_NONE;                        \
        double ignd = (double)ignore;                                       \
        int64_t valid = 0;                                                  \
        switch (t->dtype) {                                                 \
        case SEGLOSS_F32:                                                   \
            if (!(FLOATS)) return SEGLOSS_ERR_DTYPE;                        \
            DECODE_LOOP(float, (double)src[i], 0);                          \
            break;                                                          \
        case SEGLOSS_F64:                                                   \
            if (!(FLOATS)) return SEGLOSS_ERR_DTYPE;                        \
            DECODE_LOOP(double, src[i], 0);                                 \
            break;                                                          \
        case SEGLOSS_BOOL: DECODE_LOOP(uint8_t, src[i] ? 1.0 : 0.0, 0); break; \
        case SEGLOSS_U8: DECODE_LOOP(uint8_t, (double)src[i], 0); break;    \
        case SEGLOSS_I8: DECODE_LOOP(int8_t, (double)src[i], 0); break;     \
        case SEGLOSS_I16: DECODE_LOOP(int16_t, (double)src[i], 0); break;   \
        case SEGLOSS_I32: DECODE_LOOP(int32_t, (double)src[i], 0); break;   \
        case SEGLOSS_I64: DECODE_LOOP(int64_t, (double)src[i], 0); break;   \
        case SEGLOSS_U16: DECODE_LOOP(uint16_t, (double)src[i], 0); break;  \
        case SEGLOSS_U32: DECODE_LOOP(uint32_t, (double)src[i], 0); break;  \
        case SEGLOSS_U64:                                                   \
            DECODE_LOOP(uint64_t, (double)src[i], src[i] > (uint64_t)INT64_MAX); \
            break;                                                          \
        default: return SEGLOSS_ERR_DTYPE;                                  \
        }                                                                   \
        if (n_valid) *n_valid = valid;                                      \
        return SEGLOSS_OK;                                                  \
    } while (0)

/* Dense: [0,1]. For integer dtypes the same test admits exactly 0 and 1:
 * an integer converts to a double in [0,1] only when it is 0 or 1. */
#define VALID (v >= 0.0 && v <= 1.0)
#define STORE_IGN(i) y[i] = 0
#define STORE(i, v) y[i] = (float)(v)
segloss_status segloss__decode_dense_f(float *y, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                       const segloss_target *t, int64_t begin, int64_t n,
                                       int64_t ignore) {
    DECODE_DTYPES(1);
}
#undef STORE
#define STORE(i, v) y[i] = (v)
segloss_status segloss__decode_dense_d(double *y, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                       const segloss_target *t, int64_t begin, int64_t n,
                                       int64_t ignore) {
    DECODE_DTYPES(1);
}
#undef STORE
#undef STORE_IGN
#undef VALID

/* Class index: [0, C), compared in double so that every integer dtype takes
 * the same path (exact below 2^53; anything larger is out of range). */
#define VALID (v >= 0.0 && v < nc)
#define STORE_IGN(i) idx[i] = -1
#define STORE(i, v) idx[i] = (int64_t)(v)
segloss_status segloss__decode_index(int64_t *idx, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                     const segloss_target *t, int64_t begin, int64_t n,
                                     int64_t classes, int64_t ignore) {
    double nc = (double)classes;
    DECODE_DTYPES(0);
}
#undef STORE
#undef STORE_IGN
#undef VALID

int64_t segloss__ignore_bytes(uint8_t *ign, const uint8_t *b, int64_t n, int64_t ignore) {
    int64_t valid = n;
    if (ignore >= 0 && ignore <= 255) {
        uint8_t iv = (uint8_t)ignore;
        for (int64_t i = 0; i < n; i++) {
            ign[i] = b[i] == iv;
            valid -= ign[i];
        }
    } else {
        memset(ign, 0, (size_t)n);
    }
    return valid;
}

int segloss__unit_interval_f32(const float *y, int64_t n) {
    /* every comparison is evaluated (no early exit), so the loop runs at
     * the speed of the loads; 8 independent flags break the dependency */
    unsigned ok[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) ok[k] &= (y[i + k] >= 0.0f) & (y[i + k] <= 1.0f);
    for (; i < n; i++) ok[0] &= (y[i] >= 0.0f) & (y[i] <= 1.0f);
    unsigned all = 1;
    for (int k = 0; k < 8; k++) all &= ok[k];
    return (int)all;
}

int segloss__bytes_01(const uint8_t *b, int64_t n) {
    uint64_t acc = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, sizeof v);
        acc |= v;
    }
    for (; i < n; i++) acc |= b[i];
    return (acc & ~UINT64_C(0x0101010101010101)) == 0;
}

segloss_status segloss__tblock_load(segloss__tblock *b, const segloss_target *t, int64_t off,
                                    int64_t len, int64_t ignore, int bytes, int check) {
    int has_ign = ignore != SEGLOSS_IGNORE_NONE;
    b->yf = NULL;
    b->yb = b->ign = NULL;
    b->n_valid = len;
    if (bytes && (t->dtype == SEGLOSS_U8 || t->dtype == SEGLOSS_BOOL)) {
        const uint8_t *yb = (const uint8_t *)t->data + off;
        /* a bool's value is its byte when the bytes are 0/1 (else it goes
         * through the decoder: nonzero -> 1) */
        if (t->dtype == SEGLOSS_U8 || segloss__bytes_01(yb, len)) {
            b->yb = yb;
            if (has_ign) {
                b->n_valid = segloss__ignore_bytes(b->ignbuf, yb, len, ignore);
                b->ign = b->ignbuf;
            }
            return SEGLOSS_OK;
        }
    }
    if (t->dtype == SEGLOSS_F32 && !has_ign) {
        b->yf = (const float *)t->data + off;
        if (check && !segloss__unit_interval_f32(b->yf, len)) return SEGLOSS_ERR_TARGET;
        return SEGLOSS_OK;
    }
    b->yf = b->ybuf;
    if (has_ign) b->ign = b->ignbuf;
    return segloss__decode_dense_f(b->ybuf, has_ign ? b->ignbuf : NULL, &b->n_valid, NULL, t,
                                   off, len, ignore);
}
