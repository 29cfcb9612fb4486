/* Shared helpers of the reference-data tests: see refdata.h. */
#include "refdata.h"
#include "tf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */
/* ------------------------------------------------------------------------ */
char *ref_tok(ref_lexer *lx) {
    char *p = lx->p;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (*p != '#') break;
        while (*p && *p != '\n') p++;
    }
    if (!*p) {
        lx->p = p;
        return NULL;
    }
    char *start = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
    if (*p) *p++ = '\0';
    lx->p = p;
    return start;
}

char *ref_tok_pair(ref_lexer *lx, double *v) {
    char *k = ref_tok(lx);
    if (k) CHECK_MSG(ref_tok_f64(lx, v), "no number after %s", k);
    return k;
}

char *ref_rest_of_line(ref_lexer *lx) {
    char *p = lx->p;
    while (*p == ' ' || *p == '\t') p++;
    char *start = p;
    while (*p && *p != '\n') p++;
    if (*p) *p++ = '\0';
    lx->p = p;
    return start;
}

int ref_tok_i64(ref_lexer *lx, int64_t *v) {
    char *t = ref_tok(lx), *end;
    if (!t) return 0;
    *v = strtoll(t, &end, 10);
    return *end == '\0';
}

int ref_tok_u64(ref_lexer *lx, uint64_t *v) {
    char *t = ref_tok(lx), *end;
    if (!t) return 0;
    *v = strtoull(t, &end, 10);
    return *end == '\0';
}

int ref_tok_f64(ref_lexer *lx, double *v) {
    char *t = ref_tok(lx), *end;
    if (!t) return 0;
    *v = strtod(t, &end);
    return *end == '\0';
}

int ref_tok_f32(ref_lexer *lx, double *v) {
    char *t = ref_tok(lx), *end;
    if (!t) return 0;
    *v = (double)strtof(t, &end);
    return *end == '\0';
}

uint8_t *ref_read_mask(ref_lexer *lx, const char *tag, int64_t n) {
    char *t = ref_tok(lx);
    if (!t || strcmp(t, tag) != 0) return NULL;
    t = ref_tok(lx);
    if (!t || (int64_t)strlen(t) != n) return NULL;
    uint8_t *m = malloc((size_t)(n ? n : 1));
    if (!m) return NULL;
    for (int64_t i = 0; i < n; i++) m[i] = (uint8_t)(t[i] == '1');
    return m;
}

char *ref_read_file(const char *path) {
    size_t len;
    unsigned char *data = tf_read_file(path, &len);
    char *text = data ? realloc(data, len + 1) : NULL;
    if (!text) {
        free(data);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

int ref_mask_case_read(ref_mask_case *c, char *line, char **save) {
    ref_mask_case_free(c);
    char *p1 = strtok_r(NULL, "\n", save), *p2 = p1 ? strtok_r(NULL, "\n", save) : NULL;
    ref_lexer lx = {line};
    char *t = ref_tok(&lx);
    if (!p2 || !t || strcmp(t, "case") != 0) return 0;
    t = ref_tok(&lx);
    snprintf(c->name, sizeof c->name, "%s", t ? t : "?");
    int64_t nd = 0, n = 1;
    if (!ref_tok_i64(&lx, &nd) || nd < 1 || nd > 3) return 0;
    c->shape.ndim = (int)nd;
    for (int a = 0; a < 3; a++) {
        c->shape.dim[a] = 1;
        c->sp[a] = 1.0;
    }
    for (int a = 0; a < nd; a++) {
        if (!ref_tok_i64(&lx, &c->shape.dim[a])) return 0;
        n *= c->shape.dim[a];
    }
    for (int a = 0; a < nd; a++)
        if (!ref_tok_f64(&lx, &c->sp[a])) return 0;
    c->tau = 0.0;
    const char *rest = lx.p;
    while (*rest == ' ' || *rest == '\t') rest++;
    if (*rest && !ref_tok_f64(&lx, &c->tau)) return 0;
    ref_lexer l1 = {p1}, l2 = {p2};
    c->pred = ref_read_mask(&l1, "pred", n);
    c->ref = ref_read_mask(&l2, "ref", n);
    return c->pred && c->ref;
}

void ref_mask_case_metrics(segloss_label_metrics *m, const ref_mask_case *c,
                           const segloss_metric_opts *o) {
    segloss_label_array pa = {c->pred, SEGLOSS_U8}, ra = {c->ref, SEGLOSS_U8};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &c->shape), SEGLOSS_OK);
    int64_t lab = 1;
    CHECK_EQ_INT(segloss_label_metrics_compute(m, &lab, 1, &set, &pa, &ra, &c->shape, o),
                 SEGLOSS_OK);
    segloss_label_set_free(&set);
}

char *ref_mask_case_next(char *text, char **save, ref_mask_case *c, int *ncase, char **rest) {
    char *line = *save ? strtok_r(NULL, "\n", save) : strtok_r(text, "\n", save);
    for (; line; line = strtok_r(NULL, "\n", save)) {
        if (line[0] == '#') continue;
        if (strncmp(line, "case ", 5) == 0) {
            /* the two mask lines follow */
            CHECK_MSG(ref_mask_case_read(c, line, save), "bad case: %.60s", line);
            (*ncase)++;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (!sp || !c->pred) continue;
        *sp = '\0';
        *rest = sp + 1;
        return line;
    }
    return NULL;
}

void ref_mask_case_free(ref_mask_case *c) {
    free(c->pred);
    free(c->ref);
    c->pred = c->ref = NULL;
}

/* ------------------------------------------------------------------------ */
/* Arrays                                                                    */
/* ------------------------------------------------------------------------ */
uint64_t ref_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double ref_uniform(uint64_t *s) { return (double)(ref_splitmix64(s) >> 40) * 0x1p-24; }

void ref_arr_free(ref_arr *a) {
    free(a->v);
    free(a->idx);
    free(a->sv);
    memset(a, 0, sizeof *a);
}

int ref_parse_array(ref_lexer *lx, int as_f32, ref_arr *a) {
    memset(a, 0, sizeof *a);
    char *kind = ref_tok(lx);
    if (!kind || !ref_tok_i64(lx, &a->n) || a->n < 0 || a->n > 100000000) return 0;
    if (!strcmp(kind, "s")) {
        if (!ref_tok_f64(lx, &a->maxabs) || !ref_tok_i64(lx, &a->k) || a->k < 0 || a->k > a->n)
            return 0;
        a->idx = malloc((size_t)(a->k ? a->k : 1) * sizeof *a->idx);
        a->sv = malloc((size_t)(a->k ? a->k : 1) * sizeof *a->sv);
        if (!a->idx || !a->sv) return 0;
        for (int64_t i = 0; i < a->k; i++)
            if (!ref_tok_i64(lx, &a->idx[i]) || a->idx[i] < 0 || a->idx[i] >= a->n ||
                !ref_tok_f64(lx, &a->sv[i]))
                return 0;
        return 1;
    }
    a->v = malloc((size_t)(a->n ? a->n : 1) * sizeof *a->v);
    if (!a->v) return 0;
    if (!strcmp(kind, "v")) {
        for (int64_t i = 0; i < a->n; i++)
            if (!(as_f32 ? ref_tok_f32(lx, &a->v[i]) : ref_tok_f64(lx, &a->v[i]))) return 0;
        return 1;
    }
    uint64_t seed;
    if (!ref_tok_u64(lx, &seed)) return 0;
    if (!strcmp(kind, "r")) {
        double lo, hi;
        if (!ref_tok_f64(lx, &lo) || !ref_tok_f64(lx, &hi)) return 0;
        for (int64_t i = 0; i < a->n; i++) {
            double v = lo + (hi - lo) * ref_uniform(&seed);
            a->v[i] = as_f32 ? (double)(float)v : v;
        }
        return 1;
    }
    if (!strcmp(kind, "q")) {
        int64_t k;
        double lo, hi;
        if (!ref_tok_i64(lx, &k) || k < 1 || !ref_tok_f64(lx, &lo) || !ref_tok_f64(lx, &hi))
            return 0;
        for (int64_t i = 0; i < a->n; i++) {
            double v = lo + (hi - lo) * (floor(ref_uniform(&seed) * (double)k) / (double)k);
            a->v[i] = (double)(float)v;
        }
        return 1;
    }
    if (!strcmp(kind, "m")) {
        double prob;
        if (!ref_tok_f64(lx, &prob)) return 0;
        for (int64_t i = 0; i < a->n; i++) a->v[i] = ref_uniform(&seed) < prob ? 1.0 : 0.0;
        return 1;
    }
    if (!strcmp(kind, "c")) {
        int64_t k;
        if (!ref_tok_i64(lx, &k) || k < 1) return 0;
        for (int64_t i = 0; i < a->n; i++) a->v[i] = floor(ref_uniform(&seed) * (double)k);
        return 1;
    }
    return 0;
}

float *ref_to_f32(const double *v, int64_t n) {
    float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    if (f && v)
        for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

float *ref_arr_to_f32(const ref_arr *a) { return ref_to_f32(a->v, a->n); }

int64_t ref_count(const ref_arr *r) { return r->v ? r->n : r->k; }
int64_t ref_index(const ref_arr *r, int64_t j) { return r->v ? j : r->idx[j]; }
double ref_value(const ref_arr *r, int64_t j) { return r->v ? r->v[j] : r->sv[j]; }

int ref_parse_shape(ref_lexer *lx, segloss_shape *s) {
    int64_t nd;
    memset(s, 0, sizeof *s);
    if (!ref_tok_i64(lx, &nd) || nd < 0 || nd > SEGLOSS_MAX_DIMS) return 0;
    s->ndim = (int)nd;
    for (int i = 0; i < s->ndim; i++)
        if (!ref_tok_i64(lx, &s->dim[i])) return 0;
    return 1;
}

int ref_parse_dtype(const char *t, segloss_dtype *d) {
    static const struct {
        const char *name;
        segloss_dtype d;
    } tab[] = {{"f32", SEGLOSS_F32}, {"f64", SEGLOSS_F64}, {"u8", SEGLOSS_U8},
               {"bool", SEGLOSS_BOOL}, {"i8", SEGLOSS_I8}, {"i16", SEGLOSS_I16},
               {"i32", SEGLOSS_I32}, {"i64", SEGLOSS_I64}, {"u16", SEGLOSS_U16},
               {"u32", SEGLOSS_U32}, {"u64", SEGLOSS_U64}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (t && !strcmp(t, tab[i].name)) {
            *d = tab[i].d;
            return 1;
        }
    return 0;
}

void *ref_make_target(const double *vals, int64_t n, segloss_dtype dt) {
    size_t es = segloss_dtype_size(dt);
    if (es == 0) return NULL;
    unsigned char *buf = malloc((size_t)(n ? n : 1) * es);
    if (!buf) return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = vals[i];
        unsigned char *dst = buf + (size_t)i * es;
#define REF_PUT(T)                                                          \
    do {                                                                    \
        T k_ = (T)v;                                                        \
        memcpy(dst, &k_, es);                                               \
    } while (0)
        switch (dt) {
        case SEGLOSS_F32: REF_PUT(float); break;
        case SEGLOSS_F64: REF_PUT(double); break;
        case SEGLOSS_U8: REF_PUT(uint8_t); break;
        case SEGLOSS_BOOL: *dst = v != 0; break;
        case SEGLOSS_I8: REF_PUT(int8_t); break;
        case SEGLOSS_I16: REF_PUT(int16_t); break;
        case SEGLOSS_I32: REF_PUT(int32_t); break;
        case SEGLOSS_I64: REF_PUT(int64_t); break;
        case SEGLOSS_U16: REF_PUT(uint16_t); break;
        case SEGLOSS_U32: REF_PUT(uint32_t); break;
        case SEGLOSS_U64: REF_PUT(uint64_t); break;
        default: free(buf); return NULL;
        }
#undef REF_PUT
    }
    return buf;
}

float *ref_nan_buffer(int64_t n) {
    float *g = malloc((size_t)(n ? n : 1) * sizeof *g);
    if (g)
        for (int64_t i = 0; i < n; i++) g[i] = NAN;
    return g;
}

/* ------------------------------------------------------------------------ */
/* Comparisons and the worst errors seen                                     */
/* ------------------------------------------------------------------------ */
int ref_close(double a, double ref, double rtol, double atol) {
    return (isnan(ref) && isnan(a)) || a == ref || fabs(a - ref) <= rtol * fabs(ref) + atol;
}

ref_elem_cmp ref_compare_elems(const float *got, const ref_arr *r, double rtol, double atol) {
    ref_elem_cmp out = {0, -1, 0.0, 0.0};
    for (int64_t j = 0; j < ref_count(r); j++) {
        int64_t i = ref_index(r, j);
        double ref = ref_value(r, j), a = got[i];
        if (!ref_close(a, ref, rtol, atol) && out.bad++ == 0) {
            out.first = i;
            out.firstref = ref;
        }
        if (fabs(ref) >= FLT_MIN && isfinite(ref) && a != ref &&
            fabs(a - ref) / fabs(ref) > out.worst)
            out.worst = fabs(a - ref) / fabs(ref);
    }
    return out;
}

ref_grad_cmp ref_compare_grad(const float *g, const ref_arr *r) {
    ref_grad_cmp out = {0.0, 0.0, -1, 0};
    for (int64_t j = 0; j < ref_count(r); j++) {
        int64_t i = ref_index(r, j);
        double ref = ref_value(r, j), a = g[i];
        if (isnan(ref) || isnan(a)) {
            if (!(isnan(ref) && isnan(a))) out.nan_bad++;
            continue;
        }
        if (fabs(ref) > out.maxref) out.maxref = fabs(ref);
        double e = fabs(a - ref);
        if (!(e <= out.maxerr)) {
            out.maxerr = e;
            out.at = i;
        }
    }
    if (!r->v && r->maxabs > out.maxref) out.maxref = r->maxabs;
    return out;
}

void ref_worst(double *slot, char *name, size_t len, double v, const char *cname) {
    if (v > *slot) {
        *slot = v;
        snprintf(name, len, "%s", cname);
    }
}

void ref_check_loss_grad(const char *name, double loss, double ref, double atol, const float *g,
                         const ref_arr *grad, double *worst_loss, double *worst_grad) {
    double rel = fabs(loss - ref) / fmax(fabs(ref), 1e-30);
    CHECK_MSG(ref_close(loss, ref, 2e-5, atol), "%s: loss %.10g vs %.10g (rel %.3g)", name, loss,
              ref, rel);
    ref_grad_cmp gc = ref_compare_grad(g, grad);
    CHECK_MSG(gc.nan_bad == 0 && gc.maxerr <= 1e-5 * gc.maxref,
              "%s: grad error %.3g of %.3g at %lld (nan %lld)", name, gc.maxerr, gc.maxref,
              (long long)gc.at, (long long)gc.nan_bad);
    if (ref != 0 && rel > *worst_loss) *worst_loss = rel;
    if (gc.maxref > 0 && gc.maxerr / gc.maxref > *worst_grad) *worst_grad = gc.maxerr / gc.maxref;
}

segloss_status ref_dice_items(int64_t *n, const segloss_shape *shape, const segloss_dice_opts *o) {
    segloss_shape is;
    segloss_status st = segloss_dice_items_shape(&is, shape, o);
    return st != SEGLOSS_OK ? st : segloss_shape_numel(&is, n);
}

segloss_status ref_lovasz_items(int64_t *n, const segloss_shape *shape,
                                const segloss_lovasz_opts *o) {
    segloss_shape is;
    segloss_status st = segloss_lovasz_items_shape(&is, shape, o);
    return st != SEGLOSS_OK ? st : segloss_shape_numel(&is, n);
}
