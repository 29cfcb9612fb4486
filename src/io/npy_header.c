/* .npy header: the preamble (magic, version, header length) and the header
 * dict, for NumPy format versions 1.0, 2.0 and 3.0.
 *
 * File layout: "\x93NUMPY", major, minor, header length (2 bytes LE for 1.0,
 * 4 bytes LE for 2.0/3.0), the header (a Python dict literal, conventionally
 * padded with spaces and ended by '\n' so that the data starts at a multiple
 * of 64), then the raw data.
 *
 * The dict is parsed with a small recursive-descent parser (keys in any
 * order, either quote style, optional trailing comma); every size is
 * overflow-checked before use. 3.0 differs from 2.0 only in that the header
 * is UTF-8; every character this parser accepts is ASCII, so both are
 * handled alike.
 */
#include "io/npy_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NPY_MAX_NESTING 64

void segloss__npy_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define set_err segloss__npy_err

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
/* Type codes after the byte-order character; size: bytes per element in
 * the file. 'f2' (IEEE binary16) is returned as float32. */
static const struct {
    const char *code;
    segloss_dtype dtype;
    unsigned size;
} dtype_codes[] = {
    {"f4", SEGLOSS_F32, 4}, {"f8", SEGLOSS_F64, 8}, {"f2", SEGLOSS_F32, 2},
    {"u1", SEGLOSS_U8, 1},  {"b1", SEGLOSS_BOOL, 1}, {"i1", SEGLOSS_I8, 1},
    {"i2", SEGLOSS_I16, 2}, {"i4", SEGLOSS_I32, 4}, {"i8", SEGLOSS_I64, 8},
    {"u2", SEGLOSS_U16, 2}, {"u4", SEGLOSS_U32, 4}, {"u8", SEGLOSS_U64, 8},
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
    case 'f': return "only 2-, 4- and 8-byte floats are supported";
    case 'i': case 'u': return "only 1-, 2-, 4- and 8-byte integers are supported";
    case 'b': return "only 1-byte bools are supported";
    }
    return "unknown type code";
}

/* descr -> info->dtype, file_esize, swap, half. Byte order: '<', '|', '='
 * (native: the host is little-endian) or none are stored as is; '>' and
 * '!' (network order) are big-endian and swapped on reading. */
static segloss_status map_descr(const npy_header *h, npy_info *info, char *err, size_t errlen) {
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
        info->dtype = dtype_codes[i].dtype;
        info->file_esize = dtype_codes[i].size;
        info->half = dtype_codes[i].size == 2 && dtype_codes[i].dtype == SEGLOSS_F32;
        info->swap = info->file_esize > 1 && (order == '>' || order == '!');
        return SEGLOSS_OK;
    }
    set_err(err, errlen, "unsupported dtype '%s' (%s); supported: float16 (read as float32), "
            "float32, float64, uint8, bool, int8..int64, uint16..uint64",
            printable(buf, sizeof buf, h->descr, h->descr_len), dtype_kind(s, n));
    return SEGLOSS_ERR_UNSUPPORTED;
}

/* ------------------------------------------------------------------------ */
/* Preamble and whole header                                                 */
/* ------------------------------------------------------------------------ */
segloss_status segloss__npy_parse_preamble(const unsigned char *b, size_t len, size_t *hstart,
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

segloss_status segloss__npy_parse_head(const unsigned char *b, size_t len, npy_info *info,
                                       char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    size_t hstart = 0, hlen = 0;
    segloss_status st = segloss__npy_parse_preamble(b, len, &hstart, &hlen, err, errlen);
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
    st = map_descr(&h, info, err, errlen);
    if (st != SEGLOSS_OK) return st;
    info->fortran = h.fortran;
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
    info->nbytes = (size_t)info->numel * info->file_esize;
    info->out_bytes = (size_t)info->numel * segloss_dtype_size(info->dtype);
    info->data_off = hstart + hlen;
    return SEGLOSS_OK;
}
