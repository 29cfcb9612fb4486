/* .npy reader and writer (NumPy format versions 1.0, 2.0 and 3.0).
 *
 * The header is parsed by npy_header.c, the stored data turned into a
 * native C-order array (byte order, float16, Fortran order) by
 * npy_data.c; this file moves the bytes.
 *
 * The reader is strict and defensive: nothing is allocated from a size that
 * the file merely claims: the in-memory parser allocates only after
 * checking the data against the buffer length, and the file reader grows
 * its buffer only as bytes actually arrive (and checks max_bytes before
 * reading the data).
 */
#include "io/npy_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define NPY_ALIGN 64u
#define set_err segloss__npy_err

static void clear_err(char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
}

/* Thread-safe strerror (XSI strerror_r, as selected by _POSIX_C_SOURCE). */
static const char *errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "error %d", e);
    return buf;
}

static segloss_status check_limit(const npy_info *info, size_t max_bytes, char *err,
                                  size_t errlen) {
    if (max_bytes > 0 && info->out_bytes > max_bytes) {
        set_err(err, errlen, "data size %zu bytes exceeds the limit of %zu bytes",
                info->out_bytes, max_bytes);
        return SEGLOSS_ERR_LIMIT;
    }
    return SEGLOSS_OK;
}

/* len: total bytes of the file (or, for the file reader, of the file up to
 * one byte past the expected end). */
static segloss_status check_body(const npy_info *info, size_t len, size_t max_bytes, char *err,
                                 size_t errlen) {
    segloss_status st = check_limit(info, max_bytes, err, errlen);
    if (st != SEGLOSS_OK) return st;
    size_t avail = len - info->data_off;
    if (avail < info->nbytes) {
        set_err(err, errlen, "truncated: expected %zu bytes of data, got %zu", info->nbytes,
                avail);
        return SEGLOSS_ERR_FORMAT;
    }
    if (avail > info->nbytes) {
        set_err(err, errlen, "trailing bytes after the data (expected a file of %zu bytes)",
                info->data_off + info->nbytes);
        return SEGLOSS_ERR_FORMAT;
    }
    return SEGLOSS_OK;
}

/* data: the stored bytes (owned): decoded into *out, or freed. */
static segloss_status finish(segloss_npy *out, const npy_info *info, unsigned char *data,
                             char *err, size_t errlen) {
    segloss_status st = segloss__npy_decode(&data, info, err, errlen);
    if (st != SEGLOSS_OK) {
        free(data);
        return st;
    }
    out->data = data;
    out->dtype = info->dtype;
    out->shape = info->shape;
    out->numel = info->numel;
    return SEGLOSS_OK;
}

segloss_status segloss_npy_read_mem(segloss_npy *out, const void *buf, size_t len,
                                    size_t max_bytes, char *err, size_t errlen) {
    clear_err(err, errlen);
    if (!out) {
        set_err(err, errlen, "no output array given");
        return SEGLOSS_ERR_NULL;
    }
    memset(out, 0, sizeof *out);
    if (!buf && len > 0) {
        set_err(err, errlen, "no input buffer given");
        return SEGLOSS_ERR_NULL;
    }
    const unsigned char *b = (const unsigned char *)buf;
    npy_info info;
    segloss_status st = segloss__npy_parse_head(b, len, &info, err, errlen);
    if (st == SEGLOSS_OK) st = check_body(&info, len, max_bytes, err, errlen);
    if (st != SEGLOSS_OK) return st;
    unsigned char *data = malloc(info.nbytes ? info.nbytes : 1);
    if (!data) {
        set_err(err, errlen, "out of memory allocating %zu bytes", info.nbytes);
        return SEGLOSS_ERR_NOMEM;
    }
    if (info.nbytes) memcpy(data, b + info.data_off, info.nbytes);
    return finish(out, &info, data, err, errlen);
}

/* A buffer that grows only as data actually arrives. */
typedef struct rbuf {
    unsigned char *p;
    size_t len, cap;
} rbuf;

/* Reads until rb->len reaches target or EOF. hint: the file's size from
 * fstat (0 if unknown), used to size the buffer in one step. */
static segloss_status fill(int fd, rbuf *rb, size_t target, size_t hint, char *err,
                           size_t errlen) {
    while (rb->len < target) {
        if (rb->len == rb->cap) {
            size_t want = rb->cap > SIZE_MAX / 2 ? SIZE_MAX : rb->cap * 2;
            if (want < 65536) want = 65536;
            if (hint < SIZE_MAX && hint + 1 > want) want = hint + 1;
            if (want > target) want = target;
            unsigned char *np = realloc(rb->p, want);
            if (!np) {
                set_err(err, errlen, "out of memory reading the file (%zu bytes)", want);
                return SEGLOSS_ERR_NOMEM;
            }
            rb->p = np;
            rb->cap = want;
        }
        size_t chunk = rb->cap - rb->len;
        if (chunk > ((size_t)1 << 30)) chunk = (size_t)1 << 30;
        ssize_t r = read(fd, rb->p + rb->len, chunk);
        if (r < 0) {
            if (errno == EINTR) continue;
            char eb[128];
            set_err(err, errlen, "read failed: %s", errno_text(errno, eb, sizeof eb));
            return SEGLOSS_ERR_IO;
        }
        if (r == 0) break;
        rb->len += (size_t)r;
    }
    return SEGLOSS_OK;
}

/* Reads in three steps -- preamble, header, data plus one byte to detect
 * trailing bytes -- so that max_bytes is enforced before any data is read and
 * memory never exceeds about twice what the file really holds (plus the
 * returned array when float16 or Fortran-order data is decoded). Every error
 * is the one segloss_npy_read_mem gives for the whole file's bytes. */
segloss_status segloss_npy_read(segloss_npy *out, const char *path, size_t max_bytes, char *err,
                                size_t errlen) {
    clear_err(err, errlen);
    if (!out) {
        set_err(err, errlen, "no output array given");
        return SEGLOSS_ERR_NULL;
    }
    memset(out, 0, sizeof *out);
    if (!path) {
        set_err(err, errlen, "no file name given");
        return SEGLOSS_ERR_NULL;
    }
    char eb[128];
    int fd;
    do fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        set_err(err, errlen, "cannot open: %s", errno_text(errno, eb, sizeof eb));
        return SEGLOSS_ERR_IO;
    }
    size_t hint = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uintmax_t)sb.st_size < SIZE_MAX)
        hint = (size_t)sb.st_size;

    rbuf rb = {NULL, 0, 0};
    npy_info info;
    size_t hstart = 0, hlen = 0;
    segloss_status st = fill(fd, &rb, NPY_PREAMBLE_V2, hint, err, errlen);
    if (st == SEGLOSS_OK) st = segloss__npy_parse_preamble(rb.p, rb.len, &hstart, &hlen, err, errlen);
    if (st == SEGLOSS_OK) {
        size_t target = hlen > SIZE_MAX - hstart ? SIZE_MAX : hstart + hlen;
        st = fill(fd, &rb, target, hint, err, errlen);
    }
    if (st == SEGLOSS_OK) st = segloss__npy_parse_head(rb.p, rb.len, &info, err, errlen);
    if (st == SEGLOSS_OK) st = check_limit(&info, max_bytes, err, errlen);
    if (st == SEGLOSS_OK) {
        if (info.nbytes >= SIZE_MAX - info.data_off) {
            set_err(err, errlen, "the file's size overflows a size_t");
            st = SEGLOSS_ERR_OVERFLOW;
        } else {
            st = fill(fd, &rb, info.data_off + info.nbytes + 1, hint, err, errlen);
        }
    }
    close(fd);
    if (st == SEGLOSS_OK) st = check_body(&info, rb.len, max_bytes, err, errlen);
    if (st != SEGLOSS_OK) {
        free(rb.p);
        return st;
    }
    /* Move the data to the start of the allocation (malloc alignment) and
     * give back the header's bytes. */
    if (info.nbytes) memmove(rb.p, rb.p + info.data_off, info.nbytes);
    unsigned char *shrunk = realloc(rb.p, info.nbytes ? info.nbytes : 1);
    return finish(out, &info, shrunk ? shrunk : rb.p, err, errlen);
}

void segloss_npy_free(segloss_npy *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */
static const char *descr_of(segloss_dtype d) {
    switch (d) {
    case SEGLOSS_F32: return "<f4";
    case SEGLOSS_F64: return "<f8";
    case SEGLOSS_U8: return "|u1";
    case SEGLOSS_BOOL: return "|b1";
    case SEGLOSS_I8: return "|i1";
    case SEGLOSS_I16: return "<i2";
    case SEGLOSS_I32: return "<i4";
    case SEGLOSS_I64: return "<i8";
    case SEGLOSS_U16: return "<u2";
    case SEGLOSS_U32: return "<u4";
    case SEGLOSS_U64: return "<u8";
    }
    return NULL;
}

/* Builds preamble + header exactly as numpy.save does for a C-order array:
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", padded with
 * spaces and ended by '\n' so that the data starts at a multiple of 64.
 * Returns the total length, or 0 if buf is too small. */
static size_t build_header(unsigned char *buf, size_t cap, const char *descr,
                           const segloss_shape *shape) {
    char dict[512];
    size_t dlen = 0;
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    if (k < 0 || (size_t)k >= sizeof dict) return 0;
    dlen = (size_t)k;
    for (int i = 0; i <= shape->ndim; i++) {
        if (i < shape->ndim)
            k = snprintf(dict + dlen, sizeof dict - dlen, "%s%lld", i ? ", " : "",
                         (long long)shape->dim[i]);
        else
            k = snprintf(dict + dlen, sizeof dict - dlen, "%s), }", shape->ndim == 1 ? "," : "");
        if (k < 0 || (size_t)k >= sizeof dict - dlen) return 0;
        dlen += (size_t)k;
    }
    size_t pre = NPY_PREAMBLE_V1;
    size_t total = (pre + dlen + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (total - pre > 65535) {
        pre = NPY_PREAMBLE_V2;
        total = (pre + dlen + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    }
    if (total > cap) return 0;
    size_t hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = pre == NPY_PREAMBLE_V1 ? 1 : 2;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8 & 0xff);
    if (pre == NPY_PREAMBLE_V2) {
        buf[10] = (unsigned char)(hlen >> 16 & 0xff);
        buf[11] = (unsigned char)(hlen >> 24 & 0xff);
    }
    memcpy(buf + pre, dict, dlen);
    memset(buf + pre + dlen, ' ', total - pre - dlen - 1);
    buf[total - 1] = '\n';
    return total;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

segloss_status segloss_npy_write(const char *path, const void *data, segloss_dtype dtype,
                                 const segloss_shape *shape, char *err, size_t errlen) {
    clear_err(err, errlen);
    if (!path || !shape) {
        set_err(err, errlen, "no %s given", !path ? "file name" : "shape");
        return SEGLOSS_ERR_NULL;
    }
    const char *descr = descr_of(dtype);
    if (!descr) {
        set_err(err, errlen, "invalid dtype %d", (int)dtype);
        return SEGLOSS_ERR_DTYPE;
    }
    int64_t numel = 0;
    segloss_status st = segloss_shape_numel(shape, &numel);
    if (st == SEGLOSS_ERR_SHAPE) {
        set_err(err, errlen, "invalid shape (rank must be 0..%d, dimensions >= 0)",
                SEGLOSS_MAX_DIMS);
        return st;
    }
    if (st != SEGLOSS_OK) {
        set_err(err, errlen, "the shape's element count overflows a 64-bit size");
        return st;
    }
    if (numel > 0 && !data) {
        set_err(err, errlen, "no data given");
        return SEGLOSS_ERR_NULL;
    }
    size_t nbytes = (size_t)numel * segloss_dtype_size(dtype);
    unsigned char head[1024];
    size_t hbytes = build_header(head, sizeof head, descr, shape);
    if (hbytes == 0) {
        set_err(err, errlen, "internal error: .npy header does not fit");
        return SEGLOSS_ERR_INTERNAL;
    }

    char eb[128];
    int fd;
    do fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        set_err(err, errlen, "cannot create: %s", errno_text(errno, eb, sizeof eb));
        return SEGLOSS_ERR_IO;
    }
    /* Only a regular file is removed after a failure (never a device or
     * a FIFO given as the path). */
    struct stat sb;
    int regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    const char *what = NULL;
    int saved = 0;
    if (write_all(fd, head, hbytes) != 0 ||
        (nbytes && write_all(fd, (const unsigned char *)data, nbytes) != 0)) {
        what = "write failed";
        saved = errno;
        close(fd);
    } else if (close(fd) != 0) {
        what = "closing the file failed";
        saved = errno;
    }
    if (what) {
        if (regular) unlink(path);
        set_err(err, errlen, "%s: %s", what, errno_text(saved, eb, sizeof eb));
        return SEGLOSS_ERR_IO;
    }
    return SEGLOSS_OK;
}
