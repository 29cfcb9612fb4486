/* The target decoder: the one place that says which target values are
 * valid and which are ignored (private; not installed).
 *
 * Rules (segloss_target_check documents them publicly):
 *  - dense: float32/float64 values in [0,1] (NaN is bad); integers exactly
 *    0 or 1; bool: any nonzero byte is 1.
 *  - class index: integer dtypes and bool (as 0/1); values in [0, C);
 *    float dtypes are SEGLOSS_ERR_DTYPE.
 *  - ignore: an element is ignored when its value converted to double
 *    equals (double)ignore (bool: its 0/1 value); uint64 values above
 *    INT64_MAX never equal. SEGLOSS_IGNORE_NONE: nothing is ignored.
 *    Ignored elements are not range-checked.
 * Every decoder handles elements [begin, begin+n) of the flat target, and
 * on a bad value returns SEGLOSS_ERR_TARGET with *bad (may be NULL) set to
 * its offset from begin (the lowest such offset). */
#ifndef SEGLOSS_CORE_TARGET_H
#define SEGLOSS_CORE_TARGET_H

#include "core/internal.h"

/* Dense targets as float (y) or double values; ignored elements read 0 and
 * get ign[i] = 1 (ign may be NULL when ignore is SEGLOSS_IGNORE_NONE).
 * *n_valid (may be NULL): the count of elements not ignored. */
segloss_status segloss__decode_dense_f(float *y, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                       const segloss_target *t, int64_t begin, int64_t n,
                                       int64_t ignore);
segloss_status segloss__decode_dense_d(double *y, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                       const segloss_target *t, int64_t begin, int64_t n,
                                       int64_t ignore);
/* Class indices in [0, classes); ignored elements get idx -1 (and ign[i] =
 * 1 when ign != NULL). */
segloss_status segloss__decode_index(int64_t *idx, uint8_t *ign, int64_t *n_valid, int64_t *bad,
                                     const segloss_target *t, int64_t begin, int64_t n,
                                     int64_t classes, int64_t ignore);

/* The ignore rule on bytes that are their own value (uint8, or bool bytes
 * that are all 0/1): ign[i] = 1 where the byte equals ignore. The other
 * bytes are not checked. Returns the count not ignored. */
int64_t segloss__ignore_bytes(uint8_t *ign, const uint8_t *b, int64_t n, int64_t ignore);

/* 1 when every one of the n floats lies in [0,1] (NaN fails), else 0.
 * Branch-free, 8 at a time. */
int segloss__unit_interval_f32(const float *y, int64_t n);
/* 1 when every one of the n bytes is 0 or 1, else 0; 8 bytes at a time. */
int segloss__bytes_01(const uint8_t *b, int64_t n);

/* One block of a dense target as float32 kernels read it:
 *  - yb: 0/1 bytes in place (uint8, or bool whose bytes are all 0/1), when
 *    the caller's kernels take bytes (they check 0/1 themselves);
 *  - yf: float32 in place (no ignore value), range-checked when `check`;
 *  - yf = ybuf otherwise (decoded, checked).
 * ign: NULL when nothing can be ignored, else 1 per ignored element;
 * n_valid: elements not ignored. */
typedef struct segloss__tblock {
    const float *yf;
    const uint8_t *yb;
    const uint8_t *ign;
    int64_t n_valid;
    float ybuf[SEGLOSS_BLOCK];
    uint8_t ignbuf[SEGLOSS_BLOCK];
} segloss__tblock;

/* Loads elements [off, off+len) (len <= SEGLOSS_BLOCK) into b. */
segloss_status segloss__tblock_load(segloss__tblock *b, const segloss_target *t, int64_t off,
                                    int64_t len, int64_t ignore, int bytes, int check);

/* Runs of elements not ignored: [*i, *j) is the next run at or after *i
 * (ign NULL: the whole rest). Returns 0 when there is none. */
static inline int segloss__next_run(const uint8_t *ign, int64_t n, int64_t *i, int64_t *j) {
    if (!ign) {
        *j = n;
        return *i < n;
    }
    while (*i < n && ign[*i]) (*i)++;
    *j = *i;
    while (*j < n && !ign[*j]) (*j)++;
    return *i < n;
}

#endif
