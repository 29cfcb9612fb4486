/* NIfTI header fields and datatypes (see nifti_fields.h). */
#include "io/nifti_fields.h"

#include <string.h>

void segloss__nii_swap(unsigned char *b, size_t n) {
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}
/* Little-endian and big-endian files are both read: `swap` says whether
 * the file's order differs from the host's. */
void segloss__nii_field(void *dst, const unsigned char *h, size_t off, size_t n, int swap) {
    unsigned char b[8];
    memcpy(b, h + off, n);
    if (swap) segloss__nii_swap(b, n);
    memcpy(dst, b, n);
}
int64_t segloss__nii_i16(const unsigned char *h, size_t off, int swap) {
    int16_t v;
    segloss__nii_field(&v, h, off, 2, swap);
    return v;
}
int32_t segloss__nii_i32(const unsigned char *h, size_t off, int swap) {
    int32_t v;
    segloss__nii_field(&v, h, off, 4, swap);
    return v;
}
int64_t segloss__nii_i64(const unsigned char *h, size_t off, int swap) {
    int64_t v;
    segloss__nii_field(&v, h, off, 8, swap);
    return v;
}
double segloss__nii_f32(const unsigned char *h, size_t off, int swap) {
    float v;
    segloss__nii_field(&v, h, off, 4, swap);
    return v;
}
double segloss__nii_f64(const unsigned char *h, size_t off, int swap) {
    double v;
    segloss__nii_field(&v, h, off, 8, swap);
    return v;
}

int segloss__nii_dtype(int code, segloss_dtype *dt) {
    switch (code) {
    case 2: *dt = SEGLOSS_U8; return 1;
    case 4: *dt = SEGLOSS_I16; return 1;
    case 8: *dt = SEGLOSS_I32; return 1;
    case 16: *dt = SEGLOSS_F32; return 1;
    case 64: *dt = SEGLOSS_F64; return 1;
    case 256: *dt = SEGLOSS_I8; return 1;
    case 512: *dt = SEGLOSS_U16; return 1;
    case 768: *dt = SEGLOSS_U32; return 1;
    case 1024: *dt = SEGLOSS_I64; return 1;
    case 1280: *dt = SEGLOSS_U64; return 1;
    }
    return 0;
}

const char *segloss__nii_dtype_name(int code) {
    switch (code) {
    case 0: return "unknown";
    case 1: return "binary";
    case 32: return "complex64";
    case 128: return "rgb24";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "rgba32";
    }
    return "not a NIfTI datatype";
}

/* value of element i of a typed array, as double */
double segloss__nii_value(const void *data, segloss_dtype dt, int64_t i) {
    switch (dt) {
    case SEGLOSS_U8: return ((const uint8_t *)data)[i];
    case SEGLOSS_I8: return ((const int8_t *)data)[i];
    case SEGLOSS_I16: return ((const int16_t *)data)[i];
    case SEGLOSS_U16: return ((const uint16_t *)data)[i];
    case SEGLOSS_I32: return ((const int32_t *)data)[i];
    case SEGLOSS_U32: return ((const uint32_t *)data)[i];
    case SEGLOSS_I64: return (double)((const int64_t *)data)[i];
    case SEGLOSS_U64: return (double)((const uint64_t *)data)[i];
    case SEGLOSS_F32: return ((const float *)data)[i];
    case SEGLOSS_F64: return ((const double *)data)[i];
    case SEGLOSS_BOOL: return ((const uint8_t *)data)[i] != 0;
    }
    return 0.0;
}

