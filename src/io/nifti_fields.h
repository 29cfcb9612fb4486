/* Private helpers of the NIfTI reader (src/io/nifti.c): header fields in
 * either byte order, and the datatype codes (not installed). */
#ifndef SEGLOSS_IO_NIFTI_FIELDS_H
#define SEGLOSS_IO_NIFTI_FIELDS_H

#include <segloss.h>

#include <stddef.h>
#include <stdint.h>

/* Reverses the n bytes at b. */
void segloss__nii_swap(unsigned char *b, size_t n);
/* The n-byte field at h + off into dst; `swap`: the file's byte order
 * differs from the host's (both orders are read). */
void segloss__nii_field(void *dst, const unsigned char *h, size_t off, size_t n, int swap);
int64_t segloss__nii_i16(const unsigned char *h, size_t off, int swap);
int32_t segloss__nii_i32(const unsigned char *h, size_t off, int swap);
int64_t segloss__nii_i64(const unsigned char *h, size_t off, int swap);
double segloss__nii_f32(const unsigned char *h, size_t off, int swap);
double segloss__nii_f64(const unsigned char *h, size_t off, int swap);
/* The segloss dtype of a NIfTI datatype code (1), or 0 when unsupported. */
int segloss__nii_dtype(int code, segloss_dtype *dt);
/* The name of an unsupported datatype code, for messages. */
const char *segloss__nii_dtype_name(int code);
/* Element i of a typed array, as double. */
double segloss__nii_value(const void *data, segloss_dtype dt, int64_t i);

#endif
