/* .npy reader and writer (NumPy format versions 1.0, 2.0 and 3.0).
 *
 * File layout: "\x93NUMPY", major, minor, header length (2 bytes LE for 1.0,
 * 4 bytes LE for 2.0/3.0), the header (a Python dict literal, conventionally
 * padded with spaces and ended by '\n' so that the data starts at a multiple
 * of 64), then the raw C-order data.
 *
 * The reader is strict and defensive: the header dict is parsed with a small
 * recursive-descent parser (keys in any order, either quote style, optional
 * trailing comma), every size is overflow-checked before use, and nothing is
 * allocated from a size that the file merely claims: the in-memory parser
 * allocates only after checking the data against the buffer length, and the
 * file reader grows its buffer only as bytes actually arrive (and checks
 * max_bytes before reading the data).
 *
 * 3.0 differs from 2.0 only in that the header is UTF-8; every character
 * this parser accepts is ASCII, so both are handled alike.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Data is copied byte for byte between the file and memory, so the host
 * must be little-endian like the only byte order we accept. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "segloss's .npy I/O assumes a little-endian host"
#endif
#endif

#define NPY_PREAMBLE_V1 10u
#define NPY_PREAMBLE_V2 12u
#define NPY_ALIGN 64u
#define NPY_MAX_NESTING 64

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void clear_err(char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
}

/* Thread-safe strerror (XSI strerror_r, as selected by _POSIX_C_SOURCE). */
static const char *errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "error %d", e);
    return buf;
}

/* Copies at most 40 bytes of untrusted header text, replacing anything that
 * is not printable ASCII, so that messages stay one clean line. */
static const char *printable(char *dst, size_t dstlen, const unsigned char *s, size_t n) {
    size_t k = 0, max = dstlen - 4;
    if (max > 40) max = 40;
    for (size_t i = 0; i < n && k < max; i++)
        dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    if (n > max) {
        dst[k++] = '.';
        dst[k++] = '.';
        dst[k++] = '.';
    }
    dst[k] = '\0';
    return dst;
}

/* ------------------------------------------------------------------------ */
/* Header dict parser                                                        */
/* ------------------------------------------------------------------------ */
typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

typedef struct npy_header {
    int have_descr, have_fortran, have_shape;
    int structured;                 /* descr is a list (record dtype) */
    const unsigned char *descr;     /* points into the buffer */
    size_t descr_len;
    int fortran;
    int rank;                       /* number of dimensions in the tuple */
    int64_t dim[SEGLOSS_MAX_DIMS];
    int negative_dim, huge_dim;
} npy_header;

static int is_ws(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}
static int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }
static int is_ident(unsigned char ch) {
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static void skip_ws(cursor *c) {
    while (c->p < c->end && is_ws(*c->p)) c->p++;
}

static int at(const cursor *c, unsigned char ch) { return c->p < c->end && *c->p == ch; }

/* A quoted string without escapes ('...' or "..."). */
static segloss_status parse_string(cursor *c, const unsigned char **s, size_t *n, char *err,
                                   size_t errlen) {
    unsigned char q = *c->p++;
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') {
            set_err(err, errlen, "escape sequences in header strings are not supported");
            return SEGLOSS_ERR_FORMAT;
        }
        if (*c->p == '\n') break;
        c->p++;
    }
    if (!at(c, q)) {
        set_err(err, errlen, "unterminated string in the header");
        return SEGLOSS_ERR_FORMAT;
    }
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return SEGLOSS_OK;
}

/* Skips any Python literal (used for a structured 'descr', which is then
 * reported as unsupported). Returns 0 on success. */
static int skip_value(cursor *c, int depth) {
    if (depth > NPY_MAX_NESTING) return -1;
    skip_ws(c);
    if (c->p >= c->end) return -1;
    unsigned char ch = *c->p;
    if (ch == '\'' || ch == '"') {
        const unsigned char *s;
        size_t n;
        return parse_string(c, &s, &n, NULL, 0) == SEGLOSS_OK ? 0 : -1;
    }
    if (ch == '(' || ch == '[' || ch == '{') {
        unsigned char close = ch == '(' ? ')' : ch == '[' ? ']' : '}';
        c->p++;
        for (;;) {
            skip_ws(c);
            if (at(c, close)) {
                c->p++;
                return 0;
            }
            if (skip_value(c, depth + 1)) return -1;
            skip_ws(c);
            if (close == '}') {
                if (!at(c, ':')) return -1;
                c->p++;
                if (skip_value(c, depth + 1)) return -1;
                skip_ws(c);
            }
            if (at(c, ',')) {
                c->p++;
                continue;
            }
            if (at(c, close)) {
                c->p++;
                return 0;
            }
            return -1;
        }
    }
    if (is_ident(ch) || ch == '-' || ch == '+' || ch == '.') {
        while (c->p < c->end && (is_ident(*c->p) || *c->p == '-' || *c->p == '+' || *c->p == '.'))
            c->p++;
        return 0;
    }
    return -1;
}

/* One dimension: optional sign, decimal digits (no leading zeros, as in
 * Python 3), optional 'L' suffix (files written by Python 2). */
static segloss_status parse_dim(cursor *c, npy_header *h, char *err, size_t errlen) {
    int neg = 0;
    if (at(c, '-') || at(c, '+')) {
        neg = *c->p == '-';
        c->p++;
        skip_ws(c);
    }
    if (!(c->p < c->end && is_digit(*c->p))) {
        set_err(err, errlen, "'shape' must be a tuple of integers");
        return SEGLOSS_ERR_FORMAT;
    }
    const unsigned char *start = c->p;
    uint64_t v = 0;
    int huge = 0;
    while (c->p < c->end && is_digit(*c->p)) {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10u) huge = 1;
        else v = v * 10u + d;
        c->p++;
    }
    if (c->p - start > 1 && *start == '0') {
        set_err(err, errlen, "'shape' has an integer with leading zeros");
        return SEGLOSS_ERR_FORMAT;
    }
    if (at(c, 'L') || at(c, 'l')) c->p++;
    if (c->p < c->end && (is_ident(*c->p) || *c->p == '.')) {
        set_err(err, errlen, "'shape' must be a tuple of integers");
        return SEGLOSS_ERR_FORMAT;
    }
    if (neg && (v != 0 || huge)) h->negative_dim = 1;
    if (huge) h->huge_dim = 1;
    if (h->rank < SEGLOSS_MAX_DIMS) h->dim[h->rank] = neg ? 0 : (int64_t)v;
    if (h->rank < INT32_MAX) h->rank++;
    return SEGLOSS_OK;
}

/* '(' ')' | '(' dim ',' ')' | '(' dim (',' dim)+ [','] ')' */
static segloss_status parse_shape(cursor *c, npy_header *h, char *err, size_t errlen) {
    if (!at(c, '(')) {
        set_err(err, errlen, "'shape' must be a tuple such as (2, 3)");
        return SEGLOSS_ERR_FORMAT;
    }
    c->p++;
    skip_ws(c);
    h->rank = 0;
    if (at(c, ')')) {
        c->p++;
        return SEGLOSS_OK;
    }
    int count = 0;
    for (;;) {
        segloss_status st = parse_dim(c, h, err, errlen);
        if (st != SEGLOSS_OK) return st;
        if (count < 2) count++;
        skip_ws(c);
        if (at(c, ',')) {
            c->p++;
            skip_ws(c);
            if (at(c, ')')) {
                c->p++;
                return SEGLOSS_OK;
            }
            continue;
        }
        if (at(c, ')')) {
            if (count == 1) {
                /* "(5)" is the integer 5 in Python, not a tuple. */
                set_err(err, errlen, "'shape' must be a tuple (a 1-D shape is written (5,))");
                return SEGLOSS_ERR_FORMAT;
            }
            c->p++;
            return SEGLOSS_OK;
        }
        set_err(err, errlen, "expected ',' or ')' in 'shape'");
        return SEGLOSS_ERR_FORMAT;
    }
}

static int key_is(const unsigned char *k, size_t n, const char *name) {
    return n == strlen(name) && memcmp(k, name, n) == 0;
}

static segloss_status duplicate(char *err, size_t errlen, const char *key) {
    set_err(err, errlen, "duplicate key '%s' in the header", key);
    return SEGLOSS_ERR_FORMAT;
}

static segloss_status parse_dict(const unsigned char *s, size_t n, npy_header *h, char *err,
                                 size_t errlen) {
    cursor cur = {s, s + n}, *c = &cur;
    memset(h, 0, sizeof *h);
    skip_ws(c);
    if (!at(c, '{')) {
        set_err(err, errlen, "header is not a Python dict literal");
        return SEGLOSS_ERR_FORMAT;
    }
    c->p++;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) {
            set_err(err, errlen, "header dict is not closed");
            return SEGLOSS_ERR_FORMAT;
        }
        if (*c->p == '}') {
            c->p++;
            break;
        }
        if (*c->p != '\'' && *c->p != '"') {
            set_err(err, errlen, "expected a quoted key in the header dict");
            return SEGLOSS_ERR_FORMAT;
        }
        const unsigned char *key;
        size_t klen;
        segloss_status st = parse_string(c, &key, &klen, err, errlen);
        if (st != SEGLOSS_OK) return st;
        skip_ws(c);
        if (!at(c, ':')) {
            set_err(err, errlen, "expected ':' after a key in the header dict");
            return SEGLOSS_ERR_FORMAT;
        }
        c->p++;
        skip_ws(c);
        if (key_is(key, klen, "descr")) {
            if (h->have_descr) return duplicate(err, errlen, "descr");
            h->have_descr = 1;
            if (at(c, '\'') || at(c, '"')) {
                st = parse_string(c, &h->descr, &h->descr_len, err, errlen);
                if (st != SEGLOSS_OK) return st;
            } else if (at(c, '[')) {
                if (skip_value(c, 0)) {
                    set_err(err, errlen, "malformed 'descr' list in the header");
                    return SEGLOSS_ERR_FORMAT;
                }
                h->structured = 1;
            } else {
                set_err(err, errlen, "'descr' must be a string such as '<f4'");
                return SEGLOSS_ERR_FORMAT;
            }
        } else if (key_is(key, klen, "fortran_order")) {
            if (h->have_fortran) return duplicate(err, errlen, "fortran_order");
            h->have_fortran = 1;
            size_t left = (size_t)(c->end - c->p);
            size_t used = 0;
            if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
                h->fortran = 1;
                used = 4;
            } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
                h->fortran = 0;
                used = 5;
            }
            if (used == 0 || (used < left && is_ident(c->p[used]))) {
                set_err(err, errlen, "'fortran_order' must be True or False");
                return SEGLOSS_ERR_FORMAT;
            }
            c->p += used;
        } else if (key_is(key, klen, "shape")) {
            if (h->have_shape) return duplicate(err, errlen, "shape");
            h->have_shape = 1;
            st = parse_shape(c, h, err, errlen);
            if (st != SEGLOSS_OK) return st;
        } else {
            char buf[48];
            set_err(err, errlen, "unknown key '%s' in the header (expected 'descr', "
                    "'fortran_order' and 'shape')", printable(buf, sizeof buf, key, klen));
            return SEGLOSS_ERR_FORMAT;
        }
        skip_ws(c);
        if (at(c, ',')) {
            c->p++;
            continue;
        }
        if (at(c, '}')) {
            c->p++;
            break;
        }
        if (c->p >= c->end) {
            set_err(err, errlen, "header dict is not closed");
            return SEGLOSS_ERR_FORMAT;
        }
        set_err(err, errlen, "expected ',' or '}' in the header dict");
        return SEGLOSS_ERR_FORMAT;
    }
    skip_ws(c);
    if (c->p != c->end) {
        set_err(err, errlen, "unexpected text after the header dict");
        return SEGLOSS_ERR_FORMAT;
    }
    const char *missing = !h->have_descr ? "descr" : !h->have_fortran ? "fortran_order"
                        : !h->have_shape ? "shape" : NULL;
    if (missing) {
        set_err(err, errlen, "the header has no '%s' key", missing);
        return SEGLOSS_ERR_FORMAT;
    }
    return SEGLOSS_OK;
}

/* ------------------------------------------------------------------------ */
/* dtype strings                                                             */
/* ------------------------------------------------------------------------ */
static const struct {
    const char *code;
    segloss_dtype dtype;
} dtype_codes[] = {
    {"f4", SEGLOSS_F32}, {"f8", SEGLOSS_F64}, {"u1", SEGLOSS_U8},  {"b1", SEGLOSS_BOOL},
    {"i1", SEGLOSS_I8},  {"i2", SEGLOSS_I16}, {"i4", SEGLOSS_I32}, {"i8", SEGLOSS_I64},
    {"u2", SEGLOSS_U16}, {"u4", SEGLOSS_U32}, {"u8", SEGLOSS_U64},
};

static const char *dtype_kind(const unsigned char *code, size_t n) {
    if (n == 0) return "empty type code";
    switch (code[0]) {
    case 'c': return "complex";
    case 'O': return "Python objects";
    case 'S': case 'a': return "byte strings";
    case 'U': return "unicode strings";
    case 'V': return "raw/void data";
    case 'M': return "datetime";
    case 'm': return "timedelta";
    case 'f': return "only 4- and 8-byte floats are supported";
    case 'i': case 'u': return "only 1-, 2-, 4- and 8-byte integers are supported";
    case 'b': return "only 1-byte bools are supported";
    }
    return "unknown type code";
}

static segloss_status map_descr(const npy_header *h, segloss_dtype *dt, char *err,
                                size_t errlen) {
    char buf[48];
    if (h->structured) {
        set_err(err, errlen, "unsupported dtype: structured arrays (with named fields) are not "
                "supported");
        return SEGLOSS_ERR_UNSUPPORTED;
    }
    const unsigned char *s = h->descr;
    size_t n = h->descr_len;
    if (n == 0) {
        set_err(err, errlen, "'descr' is empty");
        return SEGLOSS_ERR_FORMAT;
    }
    unsigned char order = 0;
    if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=' || s[0] == '!') {
        order = s[0];
        s++;
        n--;
    }
    for (size_t i = 0; i < sizeof dtype_codes / sizeof dtype_codes[0]; i++) {
        if (!key_is(s, n, dtype_codes[i].code)) continue;
        segloss_dtype d = dtype_codes[i].dtype;
        if (segloss_dtype_size(d) > 1 && (order == '>' || order == '!')) {
            set_err(err, errlen, "big-endian byte order ('%s') is not supported; convert with "
                    "arr.astype('<%s')", printable(buf, sizeof buf, h->descr, h->descr_len),
                    dtype_codes[i].code);
            return SEGLOSS_ERR_UNSUPPORTED;
        }
        *dt = d;
        return SEGLOSS_OK;
    }
    set_err(err, errlen, "unsupported dtype '%s' (%s); supported: float32, float64, uint8, "
            "bool, int8..int64, uint16..uint64",
            printable(buf, sizeof buf, h->descr, h->descr_len), dtype_kind(s, n));
    return SEGLOSS_ERR_UNSUPPORTED;
}

/* ------------------------------------------------------------------------ */
/* Whole-file checks                                                         */
/* ------------------------------------------------------------------------ */
typedef struct npy_info {
    segloss_dtype dtype;
    segloss_shape shape;
    int64_t numel;
    size_t nbytes;
    size_t data_off;
} npy_info;

/* Magic, version and header length. Needs only the bytes it looks at. */
static segloss_status parse_preamble(const unsigned char *b, size_t len, size_t *hstart,
                                     size_t *hlen, char *err, size_t errlen) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len == 0) {
        set_err(err, errlen, "empty file: not a .npy file");
        return SEGLOSS_ERR_FORMAT;
    }
    if (memcmp(b, magic, len < 6 ? len : 6) != 0) {
        set_err(err, errlen, "not a .npy file (bad magic: it does not start with \\x93NUMPY)");
        return SEGLOSS_ERR_FORMAT;
    }
    if (len < 8) {
        set_err(err, errlen, "truncated header: the file ends inside the .npy preamble");
        return SEGLOSS_ERR_FORMAT;
    }
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0) {
        set_err(err, errlen, "unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)",
                major, minor);
        return SEGLOSS_ERR_UNSUPPORTED;
    }
    *hstart = major == 1 ? NPY_PREAMBLE_V1 : NPY_PREAMBLE_V2;
    if (len < *hstart) {
        set_err(err, errlen, "truncated header: the file ends inside the .npy preamble");
        return SEGLOSS_ERR_FORMAT;
    }
    *hlen = (size_t)b[8] | (size_t)b[9] << 8;
    if (major > 1) *hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    return SEGLOSS_OK;
}

/* Preamble, header dict and shape; requires the whole header in b[0..len). */
static segloss_status parse_head(const unsigned char *b, size_t len, npy_info *info, char *err,
                                 size_t errlen) {
    size_t hstart = 0, hlen = 0;
    segloss_status st = parse_preamble(b, len, &hstart, &hlen, err, errlen);
    if (st != SEGLOSS_OK) return st;
    if (hlen > len - hstart) {
        set_err(err, errlen, "truncated header: header length %zu runs past the end of the file "
                "(%zu bytes follow the preamble)", hlen, len - hstart);
        return SEGLOSS_ERR_FORMAT;
    }
    npy_header h;
    st = parse_dict(b + hstart, hlen, &h, err, errlen);
    if (st != SEGLOSS_OK) return st;
    if (h.negative_dim) {
        set_err(err, errlen, "'shape' has a negative dimension");
        return SEGLOSS_ERR_FORMAT;
    }
    st = map_descr(&h, &info->dtype, err, errlen);
    if (st != SEGLOSS_OK) return st;
    if (h.fortran) {
        set_err(err, errlen, "Fortran order not supported; save with np.ascontiguousarray");
        return SEGLOSS_ERR_UNSUPPORTED;
    }
    if (h.rank > SEGLOSS_MAX_DIMS) {
        set_err(err, errlen, "array rank %d exceeds the maximum of %d dimensions", h.rank,
                SEGLOSS_MAX_DIMS);
        return SEGLOSS_ERR_UNSUPPORTED;
    }
    if (h.huge_dim) {
        set_err(err, errlen, "'shape' has a dimension too large for a 64-bit size");
        return SEGLOSS_ERR_OVERFLOW;
    }
    info->shape.ndim = h.rank;
    for (int i = 0; i < SEGLOSS_MAX_DIMS; i++) info->shape.dim[i] = i < h.rank ? h.dim[i] : 0;
    st = segloss_shape_numel(&info->shape, &info->numel);
    if (st != SEGLOSS_OK) {
        set_err(err, errlen, "the shape's element count overflows a 64-bit size");
        return SEGLOSS_ERR_OVERFLOW;
    }
    /* segloss_shape_numel guarantees numel * 8 fits in size_t. */
    info->nbytes = (size_t)info->numel * segloss_dtype_size(info->dtype);
    info->data_off = hstart + hlen;
    return SEGLOSS_OK;
}

static segloss_status check_limit(const npy_info *info, size_t max_bytes, char *err,
                                  size_t errlen) {
    if (max_bytes > 0 && info->nbytes > max_bytes) {
        set_err(err, errlen, "data size %zu bytes exceeds the limit of %zu bytes", info->nbytes,
                max_bytes);
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

static void fill_out(segloss_npy *out, const npy_info *info, void *data) {
    out->data = data;
    out->dtype = info->dtype;
    out->shape = info->shape;
    out->numel = info->numel;
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
    segloss_status st = parse_head(b, len, &info, err, errlen);
    if (st == SEGLOSS_OK) st = check_body(&info, len, max_bytes, err, errlen);
    if (st != SEGLOSS_OK) return st;
    void *data = malloc(info.nbytes ? info.nbytes : 1);
    if (!data) {
        set_err(err, errlen, "out of memory allocating %zu bytes", info.nbytes);
        return SEGLOSS_ERR_NOMEM;
    }
    if (info.nbytes) memcpy(data, b + info.data_off, info.nbytes);
    fill_out(out, &info, data);
    return SEGLOSS_OK;
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
 * memory never exceeds about twice what the file really holds. Every error
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
    if (st == SEGLOSS_OK) st = parse_preamble(rb.p, rb.len, &hstart, &hlen, err, errlen);
    if (st == SEGLOSS_OK) {
        size_t target = hlen > SIZE_MAX - hstart ? SIZE_MAX : hstart + hlen;
        st = fill(fd, &rb, target, hint, err, errlen);
    }
    if (st == SEGLOSS_OK) st = parse_head(rb.p, rb.len, &info, err, errlen);
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
    fill_out(out, &info, shrunk ? shrunk : rb.p);
    return SEGLOSS_OK;
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

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Creates path + ".tmp.XXXXXX" with O_EXCL. Unlike mkstemp, the mode is
 * 0666 minus the umask, so the final file gets ordinary permissions. */
static int create_temp(const char *path, char *tmp, size_t tmpcap) {
    static atomic_uint counter;
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40 ^
                    (uint64_t)(uintptr_t)&ts;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t x = mix64(seed + (uint64_t)atomic_fetch_add(&counter, 1u) * 0x9e3779b97f4a7c15ull);
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            suffix[i] = digits[x % 36u];
            x /= 36u;
        }
        suffix[6] = '\0';
        snprintf(tmp, tmpcap, "%s.tmp.%s", path, suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1; /* errno is EEXIST */
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

    size_t plen = strlen(path);
    size_t tmpcap = plen + 16;
    char *tmp = malloc(tmpcap);
    if (!tmp) {
        set_err(err, errlen, "out of memory");
        return SEGLOSS_ERR_NOMEM;
    }
    char eb[128];
    int fd = create_temp(path, tmp, tmpcap);
    if (fd < 0) {
        set_err(err, errlen, "cannot create a temporary file next to the output: %s",
                errno_text(errno, eb, sizeof eb));
        free(tmp);
        return SEGLOSS_ERR_IO;
    }
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
    } else if (rename(tmp, path) != 0) {
        what = "cannot rename the temporary file over the output";
        saved = errno;
    }
    if (what) {
        unlink(tmp);
        free(tmp);
        set_err(err, errlen, "%s: %s", what, errno_text(saved, eb, sizeof eb));
        return SEGLOSS_ERR_IO;
    }
    free(tmp);
    return SEGLOSS_OK;
}
