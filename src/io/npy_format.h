/* .npy internals shared by npy_header.c (preamble and header dict),
 * npy_data.c (data as stored -> native C-order array) and npy.c (the
 * readers and the writer). Not installed. */
#ifndef SEGLOSS_IO_NPY_FORMAT_H
#define SEGLOSS_IO_NPY_FORMAT_H

#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>

/* Data is copied byte for byte when the file's byte order is the host's,
 * and the writer writes '<' (little-endian) descrs, so the host must be
 * little-endian. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "segloss's .npy I/O assumes a little-endian host"
#endif
#endif

#define NPY_PREAMBLE_V1 10u
#define NPY_PREAMBLE_V2 12u

/* What the header says, and how its data becomes the returned array. */
typedef struct npy_info {
    segloss_dtype dtype;   /* of the returned array (float16 -> SEGLOSS_F32) */
    size_t file_esize;     /* bytes per element in the file */
    int swap;              /* stored big-endian: bytes reversed per element */
    int half;              /* stored as IEEE binary16 */
    int fortran;           /* fortran_order: True */
    segloss_shape shape;   /* as NumPy reports it */
    int64_t numel;
    size_t nbytes;         /* data bytes in the file */
    size_t out_bytes;      /* bytes of the returned array (what max_bytes caps) */
    size_t data_off;       /* offset of the data in the file */
} npy_info;

/* snprintf into err (may be NULL; errlen 0 leaves it untouched). */
void segloss__npy_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Magic, version and header length; needs only the bytes it looks at.
 * *hstart: offset of the header dict, *hlen: its length. */
segloss_status segloss__npy_parse_preamble(const unsigned char *b, size_t len, size_t *hstart,
                                           size_t *hlen, char *err, size_t errlen);

/* Preamble, header dict, dtype and shape; requires the whole header in
 * b[0..len). Fills every field of info. */
segloss_status segloss__npy_parse_head(const unsigned char *b, size_t len, npy_info *info,
                                       char *err, size_t errlen);

/* *data holds the info->nbytes data bytes as stored (malloc'd, owned):
 * turns them into the native-endian, C-order array of info->out_bytes
 * bytes, in place or by replacing *data (the old buffer is freed). On
 * NOMEM *data is still the caller's to free. */
segloss_status segloss__npy_decode(unsigned char **data, const npy_info *info, char *err,
                                   size_t errlen);

#endif
