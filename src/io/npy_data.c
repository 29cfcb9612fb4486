/* .npy data as stored -> the native C-order array segloss returns.
 *
 * Three independent steps, each skipped when it has nothing to do:
 *  1. byte order: big-endian data ('>' or '!' in descr) is byte-reversed per
 *     element, in place;
 *  2. float16 ('f2', IEEE 754 binary16) becomes float32, exactly: every
 *     binary16 value (subnormals included) is a float32 value; +-inf stay
 *     infinite; a NaN keeps its sign and payload, shifted into the top of
 *     the float32 significand (as NumPy's npy_halfbits_to_floatbits);
 *  3. Fortran order (fortran_order: True): element (i0, ..., ik) is stored
 *     at i0 + d0*(i1 + d1*(i2 + ...)), axis 0 fastest; it is copied to its
 *     C-order place, the shape staying the one NumPy reports. The copy
 *     transposes 32x32 tiles of (axis 0, last axis) for every index of the
 *     middle axes, so that both sides are read and written in whole cache
 *     lines. An array with at most one axis longer than 1 is the same in
 *     both orders and is not copied.
 * Steps 2 and 3 need a second buffer: peak memory is the stored data plus
 * the returned array. */
#include "io/npy_format.h"

#include <stdlib.h>
#include <string.h>

static void swap_bytes(unsigned char *p, size_t nbytes, size_t es) {
    for (size_t i = 0; i + es <= nbytes; i += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            unsigned char t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

/* binary16 bits -> float32 bits. A binary16 subnormal m * 2^-24 (m < 2^10)
 * is normal in float32: shift m until its leading bit reaches the implicit
 * position, lowering the exponent once per shift. */
static uint32_t half_to_float_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (uint32_t)(h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return sign | 0x7f800000u | m << 13;   /* inf, NaN */
    if (e != 0) return sign | (e + 112u) << 23 | m << 13; /* 127 - 15 = 112 */
    if (m == 0) return sign;                              /* +-0 */
    uint32_t fe = 113;                                    /* exponent of 2^-14 */
    while (!(m & 0x400u)) {
        m <<= 1;
        fe--;
    }
    return sign | fe << 23 | (m & 0x3ffu) << 13;
}

static void half_to_float(float *dst, const unsigned char *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
        uint32_t bits = half_to_float_bits(h);
        memcpy(&dst[i], &bits, 4);
    }
}

#define NPY_TILE 32

/* One tile: the rows of the source (axis 0 contiguous, one per index of the
 * last axis) are copied whole into buf, then written out transposed (the
 * last axis contiguous); buf stays in L1 whatever the strides, which are
 * often powers of two that would map every row of a direct transpose onto
 * the same cache set. es is a constant at every call site below, so each
 * memcpy becomes a single load and store. */
#define COPY_TILES(es)                                                                     \
    for (int64_t a0 = 0; a0 < d0; a0 += NPY_TILE)                                          \
        for (int64_t z0 = 0; z0 < dz; z0 += NPY_TILE) {                                    \
            int64_t na = d0 - a0 < NPY_TILE ? d0 - a0 : NPY_TILE;                          \
            int64_t nz = dz - z0 < NPY_TILE ? dz - z0 : NPY_TILE;                          \
            for (int64_t z = 0; z < nz; z++)                                               \
                memcpy(buf + (size_t)z * NPY_TILE * (es),                                  \
                       src + (size_t)(ss + a0 + (z0 + z) * sstride_z) * (es),              \
                       (size_t)na * (es));                                                 \
            for (int64_t a = 0; a < na; a++) {                                             \
                unsigned char *row = dst + (size_t)(so + (a0 + a) * ostride0 + z0) * (es); \
                for (int64_t z = 0; z < nz; z++)                                           \
                    memcpy(row + (size_t)z * (es),                                         \
                           buf + ((size_t)z * NPY_TILE + (size_t)a) * (es), (es));         \
            }                                                                              \
        }

/* dst (C order) <- src (Fortran order), shape dim[0..nd), nd >= 2, no
 * zero-length axis. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const int64_t *dim,
                         int nd, size_t es) {
    const int64_t d0 = dim[0], dz = dim[nd - 1];
    int64_t ostride[SEGLOSS_MAX_DIMS], sstride[SEGLOSS_MAX_DIMS];
    ostride[nd - 1] = 1;
    for (int k = nd - 2; k >= 0; k--) ostride[k] = ostride[k + 1] * dim[k + 1];
    sstride[0] = 1;
    for (int k = 1; k < nd; k++) sstride[k] = sstride[k - 1] * dim[k - 1];
    const int64_t ostride0 = ostride[0], sstride_z = sstride[nd - 1];
    /* Odometer over the middle axes 1..nd-2; so, ss: their offsets. */
    int64_t idx[SEGLOSS_MAX_DIMS] = {0};
    int64_t so = 0, ss = 0;
    unsigned char buf[NPY_TILE * NPY_TILE * 8];
    for (;;) {
        switch (es) {
        case 1: COPY_TILES(1); break;
        case 2: COPY_TILES(2); break;
        case 4: COPY_TILES(4); break;
        default: COPY_TILES(8); break;
        }
        int k = nd - 2;
        while (k >= 1) {
            idx[k]++;
            so += ostride[k];
            ss += sstride[k];
            if (idx[k] < dim[k]) break;
            so -= ostride[k] * dim[k];
            ss -= sstride[k] * dim[k];
            idx[k] = 0;
            k--;
        }
        if (k < 1) return;
    }
}

/* The two orders differ only when two or more axes are longer than 1. */
static int order_matters(const segloss_shape *s) {
    int longer = 0;
    for (int k = 0; k < s->ndim; k++) {
        if (s->dim[k] == 0) return 0;
        longer += s->dim[k] > 1;
    }
    return longer >= 2;
}

segloss_status segloss__npy_decode(unsigned char **data, const npy_info *info, char *err,
                                   size_t errlen) {
    unsigned char *p = *data;
    if (info->swap) swap_bytes(p, info->nbytes, info->file_esize);
    if (info->half) {
        float *f = malloc(info->out_bytes ? info->out_bytes : 1);
        if (!f) {
            segloss__npy_err(err, errlen, "out of memory converting float16 data (%zu bytes)",
                             info->out_bytes);
            return SEGLOSS_ERR_NOMEM;
        }
        half_to_float(f, p, info->numel);
        free(p);
        *data = p = (unsigned char *)f;
    }
    if (info->fortran && order_matters(&info->shape)) {
        unsigned char *c = malloc(info->out_bytes);
        if (!c) {
            segloss__npy_err(err, errlen, "out of memory reordering Fortran-order data "
                             "(%zu bytes)", info->out_bytes);
            return SEGLOSS_ERR_NOMEM;
        }
        fortran_to_c(c, p, info->shape.dim, info->shape.ndim, segloss_dtype_size(info->dtype));
        free(p);
        *data = c;
    }
    return SEGLOSS_OK;
}
