/* The JSON reader of `segloss merge` (see json_read.h): recursive descent
 * over one buffer, every container's items in one growable array. */
#include "json_read.h"
#include "util.h"

#include <errno.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const char *s, *end, *p;
    char *err;
    size_t errlen;
    int rc; /* 0, -1 syntax, -2 memory */
} parser;

static void fail(parser *ps, const char *what) {
    if (ps->rc) return;
    size_t line = 1, col = 1;
    for (const char *q = ps->s; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(ps->err, ps->errlen, "line %zu, column %zu: %s", line, col, what);
    ps->rc = -1;
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string token starting at ps->p ('"'); checks escapes and control bytes. */
static void parse_str(parser *ps, json_val *v) {
    const char *start = ps->p++;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) return fail(ps, "control character in a string");
        if (c == '\\') {
            ps->p++;
            if (ps->p >= ps->end) break;
            char e = *ps->p;
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (ps->p + k >= ps->end || hexval(ps->p[k]) < 0)
                        return fail(ps, "bad \\u escape in a string");
                ps->p += 4;
            } else if (e == '\0' || !strchr("\"\\/bfnrt", e)) {
                return fail(ps, "bad escape in a string");
            }
        }
        ps->p++;
    }
    if (ps->p >= ps->end) return fail(ps, "unterminated string");
    ps->p++;
    v->kind = JSON_STR;
    v->raw = start;
    v->len = (size_t)(ps->p - start);
}

static int digits(parser *ps) {
    const char *q = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    return ps->p > q;
}

static void parse_num(parser *ps, json_val *v) {
    const char *start = ps->p;
    if (*ps->p == '-') ps->p++;
    if (ps->p < ps->end && *ps->p == '0') ps->p++;
    else if (!digits(ps)) return fail(ps, "bad number");
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!digits(ps)) return fail(ps, "bad number (no digits after '.')");
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!digits(ps)) return fail(ps, "bad number (no digits in the exponent)");
    }
    v->kind = JSON_NUM;
    v->raw = start;
    v->len = (size_t)(ps->p - start);
}

static void parse_value(parser *ps, json_val *v, int depth);

/* Appends one slot to a growable array of values; NULL when out of memory. */
static json_val *grow(parser *ps, json_val **arr, size_t n, size_t *cap) {
    if (n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        json_val *a = realloc(*arr, nc * sizeof *a);
        if (!a) {
            ps->rc = -2;
            return NULL;
        }
        *arr = a;
        *cap = nc;
    }
    memset(&(*arr)[n], 0, sizeof **arr);
    return &(*arr)[n];
}

static void parse_container(parser *ps, json_val *v, int depth, int obj) {
    const char close = obj ? '}' : ']';
    size_t cap = 0, kcap = 0;
    v->kind = obj ? JSON_OBJ : JSON_ARR;
    v->raw = ps->p++;
    v->len = 1;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return;
    }
    for (;;) {
        skip_ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a string key");
            json_val *k = grow(ps, &v->keys, v->n, &kcap);
            if (!k) return;
            parse_str(ps, k);
            if (ps->rc) return;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
        }
        json_val *it = grow(ps, &v->items, v->n, &cap);
        if (!it) return;
        v->n++;
        parse_value(ps, it, depth + 1);
        if (ps->rc) return;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return;
        }
        return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static void parse_value(parser *ps, json_val *v, int depth) {
    if (depth > JSON_MAX_DEPTH) return fail(ps, "nested too deep");
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end of text");
    static const struct {
        const char *word;
        json_kind kind;
    } lit[] = {{"null", JSON_NULL}, {"true", JSON_BOOL}, {"false", JSON_BOOL}};
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"': return parse_str(ps, v);
    default: break;
    }
    if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_num(ps, v);
    for (size_t k = 0; k < sizeof lit / sizeof lit[0]; k++) {
        size_t n = strlen(lit[k].word);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit[k].word, n) == 0) {
            v->kind = lit[k].kind;
            v->raw = ps->p;
            v->len = n;
            ps->p += n;
            return;
        }
    }
    fail(ps, "unexpected character");
}

int json_parse(json_val *root, const char *text, size_t len, char *err, size_t errlen) {
    parser ps = {text, text + len, text, err, errlen, 0};
    memset(root, 0, sizeof *root);
    if (errlen) err[0] = '\0';
    parse_value(&ps, root, 0);
    if (!ps.rc) {
        skip_ws(&ps);
        if (ps.p != ps.end) fail(&ps, "text after the JSON value");
    }
    if (ps.rc) {
        if (ps.rc == -2) snprintf(err, errlen, "out of memory");
        json_free(root);
    }
    return ps.rc;
}

void json_free(json_val *v) {
    if (v->kind == JSON_ARR || v->kind == JSON_OBJ) {
        for (size_t i = 0; i < v->n; i++) json_free(&v->items[i]);
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

/* Decodes the string token v into out (room for v->len bytes at least:
 * decoding never lengthens); returns the length, or -1 on \u0000. */
static long decode(const json_val *v, char *out) {
    const char *p = v->raw + 1, *end = v->raw + v->len - 1;
    char *o = out;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            *o++ = to[strchr(from, e) - from];
            continue;
        }
        uint32_t cp = 0;
        for (int k = 0; k < 4; k++) cp = cp * 16 + (uint32_t)hexval(p[k]);
        p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            uint32_t lo = 0;
            for (int k = 2; k < 6; k++) lo = lo * 16 + (uint32_t)hexval(p[k]);
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
        }
        if (cp == 0) return -1;
        if (cp < 0x80) {
            *o++ = (char)cp;
        } else if (cp < 0x800) {
            *o++ = (char)(0xC0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *o++ = (char)(0xE0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (char)(0xF0 | (cp >> 18));
            *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    return (long)(o - out);
}

char *json_str_dup(const json_val *v) {
    if (!v || v->kind != JSON_STR) return NULL;
    char *s = malloc(v->len + 1);
    if (!s) return NULL;
    long n = decode(v, s);
    if (n < 0) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

int json_str_eq(const json_val *a, const json_val *b) {
    if (a->len == b->len && memcmp(a->raw, b->raw, a->len) == 0) return 1;
    char *x = json_str_dup(a), *y = json_str_dup(b);
    int eq = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

const json_val *json_get(const json_val *v, const char *key) {
    if (!v || v->kind != JSON_OBJ) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->n; i++) {
        const json_val *k = &v->keys[i];
        if (k->len == kl + 2 && memcmp(k->raw + 1, key, kl) == 0) return &v->items[i];
        if (memchr(k->raw, '\\', k->len)) {
            char *d = json_str_dup(k);
            int eq = d && strcmp(d, key) == 0;
            free(d);
            if (eq) return &v->items[i];
        }
    }
    return NULL;
}

void json_write_compact(FILE *f, const json_val *v) {
    if (v->kind != JSON_ARR && v->kind != JSON_OBJ) {
        fwrite(v->raw, 1, v->len, f);
        return;
    }
    fputc(v->kind == JSON_OBJ ? '{' : '[', f);
    for (size_t i = 0; i < v->n; i++) {
        if (i) fputc(',', f);
        if (v->kind == JSON_OBJ) {
            fwrite(v->keys[i].raw, 1, v->keys[i].len, f);
            fputc(':', f);
        }
        json_write_compact(f, &v->items[i]);
    }
    fputc(v->kind == JSON_OBJ ? '}' : ']', f);
}

int json_number(const json_val *v, double *out) {
    char buf[64];
    if (v && v->kind == JSON_NULL) {
        *out = NAN;
        return 0;
    }
    if (!v || v->kind != JSON_NUM || v->len >= sizeof buf) return -1;
    memcpy(buf, v->raw, v->len);
    buf[v->len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The file                                                                 */
/* ---------------------------------------------------------------------- */
int json_read_file(const char *path, char **text, size_t *len) {
    const char *what = cli_not_regular(path);
    if (what) {
        cli_error("%s: %s (expected a part written by 'segloss eval --shard')", path, what);
        return CLI_INPUT;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return CLI_INPUT;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = CLI_OK;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 65536;
            char *b = realloc(buf, nc);
            if (!b) {
                {
                cli_error("out of memory");
                rc = CLI_INTERNAL;
            }
                break;
            }
            buf = b;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                cli_error("%s: cannot read: %s", path, strerror(errno));
                rc = CLI_INPUT;
            }
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return CLI_OK;
}
