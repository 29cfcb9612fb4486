/* Reference-value tests: segloss's sigmoid, bce, bce-logits and dice against
 * PyTorch float64 (MONAI's DiceLoss re-implemented in torch for dice).
 *
 * The data file tests/data/core_ref.txt is written by
 * tools/ref/gen_core_ref.py; its docstring defines the format. In short, a
 * case is a block of lines
 *
 *     case NAME / op OP / shape NDIM D... / x ARRAY / target DTYPE ARRAY /
 *     [weight NDIM D... ARRAY] / [pos_weight NDIM D... ARRAY] /
 *     reduction R / [dice SQ JAC BATCH ACT CUSTOM SNR SDR] / [grad_out ARRAY] /
 *     [loss VALUE] / [elems ARRAY] / grad ARRAY / end
 *
 * and ARRAY is `v N values...`, `r N SEED A B` (A + (B-A)*U_i with U_i from
 * splitmix64, regenerated here bit for bit), `m N SEED P` (U_i < P) or, for
 * references, the sparse `s N MAXABS K (I X)...`.
 *
 * Acceptance (the core issue's Done-when):
 *   loss:      |loss - ref| <= 2e-5 |ref| + 1e-12 (NaN only where ref is NaN)
 *   loss array (none) and sigmoid output, element-wise: 2e-5 relative, with
 *              atol 1e-12 for losses and the float32 subnormal step for sigmoid
 *   gradient:  max |g - g_ref| <= 1e-5 max |g_ref|
 * The worst errors seen per op are printed once (run
 * `build/test_runner ref_core` to see them). */
#include "tf.h"

#include <segloss.h>

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOSS_RTOL 2e-5
#define LOSS_ATOL 1e-12
#define GRAD_RTOL 1e-5
#define GRAD_ATOL 1e-30

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */
/* ------------------------------------------------------------------------ */
typedef struct lexer {
    char *p;
} lexer;

/* Next whitespace-separated token (NUL-terminated in place), skipping
 * '#' comments to the end of the line; NULL at the end. */
static char *next_tok(lexer *lx) {
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

static int tok_i64(lexer *lx, int64_t *v) {
    char *t = next_tok(lx), *end;
    if (!t) return 0;
    *v = strtoll(t, &end, 10);
    return *end == '\0';
}

static int tok_u64(lexer *lx, uint64_t *v) {
    char *t = next_tok(lx), *end;
    if (!t) return 0;
    *v = strtoull(t, &end, 10);
    return *end == '\0';
}

static int tok_f64(lexer *lx, double *v) {
    char *t = next_tok(lx), *end;
    if (!t) return 0;
    *v = strtod(t, &end);
    return *end == '\0';
}

/* float32 values are parsed with strtof: correctly rounded, so a value
 * printed with 9 digits comes back bit for bit. */
static int tok_f32(lexer *lx, double *v) {
    char *t = next_tok(lx), *end;
    if (!t) return 0;
    *v = (double)strtof(t, &end);
    return *end == '\0';
}

/* ------------------------------------------------------------------------ */
/* Arrays                                                                    */
/* ------------------------------------------------------------------------ */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct ref_arr {
    int64_t n;
    double *v;       /* dense values (n), or NULL when sparse */
    int64_t k;       /* sparse: count, indices, values, max |value| */
    int64_t *idx;
    double *sv;
    double maxabs;
} ref_arr;

static void arr_free(ref_arr *a) {
    free(a->v);
    free(a->idx);
    free(a->sv);
    memset(a, 0, sizeof *a);
}

/* Parses an ARRAY; as_f32: values are float32 (rounded as such). */
static int parse_array(lexer *lx, int as_f32, ref_arr *a) {
    memset(a, 0, sizeof *a);
    char *kind = next_tok(lx);
    if (!kind || !tok_i64(lx, &a->n) || a->n < 0 || a->n > 100000000) return 0;
    if (!strcmp(kind, "s")) {
        if (!tok_f64(lx, &a->maxabs) || !tok_i64(lx, &a->k) || a->k < 0 || a->k > a->n) return 0;
        a->idx = malloc((size_t)(a->k ? a->k : 1) * sizeof *a->idx);
        a->sv = malloc((size_t)(a->k ? a->k : 1) * sizeof *a->sv);
        if (!a->idx || !a->sv) return 0;
        for (int64_t i = 0; i < a->k; i++)
            if (!tok_i64(lx, &a->idx[i]) || a->idx[i] < 0 || a->idx[i] >= a->n ||
                !tok_f64(lx, &a->sv[i]))
                return 0;
        return 1;
    }
    a->v = malloc((size_t)(a->n ? a->n : 1) * sizeof *a->v);
    if (!a->v) return 0;
    if (!strcmp(kind, "v")) {
        for (int64_t i = 0; i < a->n; i++)
            if (!(as_f32 ? tok_f32(lx, &a->v[i]) : tok_f64(lx, &a->v[i]))) return 0;
        return 1;
    }
    uint64_t seed;
    if (!tok_u64(lx, &seed)) return 0;
    if (!strcmp(kind, "r")) {
        double lo, hi;
        if (!tok_f64(lx, &lo) || !tok_f64(lx, &hi)) return 0;
        for (int64_t i = 0; i < a->n; i++) {
            double u = (double)(splitmix64(&seed) >> 40) * 0x1p-24;
            double v = lo + (hi - lo) * u;
            a->v[i] = as_f32 ? (double)(float)v : v;
        }
        return 1;
    }
    if (!strcmp(kind, "m")) {
        double prob;
        if (!tok_f64(lx, &prob)) return 0;
        for (int64_t i = 0; i < a->n; i++) {
            double u = (double)(splitmix64(&seed) >> 40) * 0x1p-24;
            a->v[i] = u < prob ? 1.0 : 0.0;
        }
        return 1;
    }
    return 0;
}

static float *arr_to_f32(const ref_arr *a) {
    float *f = malloc((size_t)(a->n ? a->n : 1) * sizeof *f);
    if (f && a->v)
        for (int64_t i = 0; i < a->n; i++) f[i] = (float)a->v[i];
    return f;
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                     */
/* ------------------------------------------------------------------------ */
enum { OP_SIGMOID, OP_BCE, OP_BCE_LOGITS, OP_DICE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"sigmoid", "bce", "bce_logits", "dice"};

typedef struct ref_case {
    char name[160];
    int op;
    segloss_shape shape;
    int64_t n;
    ref_arr x, target, weight, pos_weight, grad_out, elems, grad;
    segloss_dtype tdtype;
    segloss_shape wshape, pshape;
    int has_weight, has_pos_weight, has_grad_out, has_loss, has_elems, has_grad;
    segloss_reduction red;
    segloss_dice_opts dice;
    double loss;
} ref_case;

static void case_free(ref_case *c) {
    arr_free(&c->x);
    arr_free(&c->target);
    arr_free(&c->weight);
    arr_free(&c->pos_weight);
    arr_free(&c->grad_out);
    arr_free(&c->elems);
    arr_free(&c->grad);
}

static int parse_shape(lexer *lx, segloss_shape *s) {
    int64_t nd;
    memset(s, 0, sizeof *s);
    if (!tok_i64(lx, &nd) || nd < 0 || nd > SEGLOSS_MAX_DIMS) return 0;
    s->ndim = (int)nd;
    for (int i = 0; i < s->ndim; i++)
        if (!tok_i64(lx, &s->dim[i])) return 0;
    return 1;
}

static int parse_dtype(const char *t, segloss_dtype *d) {
    static const struct {
        const char *name;
        segloss_dtype d;
    } tab[] = {{"f32", SEGLOSS_F32}, {"f64", SEGLOSS_F64}, {"u8", SEGLOSS_U8},
               {"bool", SEGLOSS_BOOL}, {"i64", SEGLOSS_I64}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (t && !strcmp(t, tab[i].name)) {
            *d = tab[i].d;
            return 1;
        }
    return 0;
}

/* Reads the case after the `case` keyword. Returns 0 on a format error. */
static int parse_case(lexer *lx, ref_case *c) {
    memset(c, 0, sizeof *c);
    char *t = next_tok(lx);
    if (!t) return 0;
    snprintf(c->name, sizeof c->name, "%s", t);
    c->op = -1;
    for (;;) {
        char *key = next_tok(lx);
        if (!key) return 0;
        if (!strcmp(key, "end")) break;
        if (!strcmp(key, "op")) {
            t = next_tok(lx);
            for (int i = 0; i < OP_COUNT; i++)
                if (t && !strcmp(t, op_names[i])) c->op = i;
            if (c->op < 0) return 0;
        } else if (!strcmp(key, "shape")) {
            if (!parse_shape(lx, &c->shape)) return 0;
        } else if (!strcmp(key, "x")) {
            if (!parse_array(lx, 1, &c->x)) return 0;
        } else if (!strcmp(key, "target")) {
            if (!parse_dtype(next_tok(lx), &c->tdtype)) return 0;
            if (!parse_array(lx, c->tdtype != SEGLOSS_F64, &c->target)) return 0;
        } else if (!strcmp(key, "weight")) {
            if (!parse_shape(lx, &c->wshape) || !parse_array(lx, 1, &c->weight)) return 0;
            c->has_weight = 1;
        } else if (!strcmp(key, "pos_weight")) {
            if (!parse_shape(lx, &c->pshape) || !parse_array(lx, 1, &c->pos_weight)) return 0;
            c->has_pos_weight = 1;
        } else if (!strcmp(key, "reduction")) {
            t = next_tok(lx);
            if (!t) return 0;
            if (!strcmp(t, "mean")) c->red = SEGLOSS_REDUCTION_MEAN;
            else if (!strcmp(t, "sum")) c->red = SEGLOSS_REDUCTION_SUM;
            else if (!strcmp(t, "none")) c->red = SEGLOSS_REDUCTION_NONE;
            else return 0;
        } else if (!strcmp(key, "dice")) {
            int64_t sq, jac, bat, custom;
            if (!tok_i64(lx, &sq) || !tok_i64(lx, &jac) || !tok_i64(lx, &bat)) return 0;
            t = next_tok(lx);
            if (!t || !tok_i64(lx, &custom) || !tok_f64(lx, &c->dice.smooth_nr) ||
                !tok_f64(lx, &c->dice.smooth_dr))
                return 0;
            c->dice.squared = (int)sq;
            c->dice.jaccard = (int)jac;
            c->dice.batch = (int)bat;
            c->dice.custom_smooth = (int)custom;
            if (!strcmp(t, "sigmoid")) c->dice.activation = SEGLOSS_ACTIVATION_SIGMOID;
            else if (!strcmp(t, "none")) c->dice.activation = SEGLOSS_ACTIVATION_NONE;
            else return 0;
        } else if (!strcmp(key, "grad_out")) {
            if (!parse_array(lx, 1, &c->grad_out)) return 0;
            c->has_grad_out = 1;
        } else if (!strcmp(key, "loss")) {
            if (!tok_f64(lx, &c->loss)) return 0;
            c->has_loss = 1;
        } else if (!strcmp(key, "elems")) {
            if (!parse_array(lx, 0, &c->elems)) return 0;
            c->has_elems = 1;
        } else if (!strcmp(key, "grad")) {
            if (!parse_array(lx, 0, &c->grad)) return 0;
            c->has_grad = 1;
        } else {
            return 0;
        }
    }
    c->dice.reduction = c->red;
    if (segloss_shape_numel(&c->shape, &c->n) != SEGLOSS_OK) return 0;
    return c->op >= 0 && c->x.v && c->x.n == c->n && c->has_grad &&
           (c->op == OP_SIGMOID || (c->target.v && c->target.n == c->n));
}

/* Target buffer of the case's dtype. */
static void *make_target(const ref_case *c) {
    size_t es = segloss_dtype_size(c->tdtype);
    unsigned char *buf = malloc((size_t)(c->n ? c->n : 1) * es);
    if (!buf) return NULL;
    for (int64_t i = 0; i < c->n; i++) {
        double v = c->target.v[i];
        unsigned char *dst = buf + (size_t)i * es;
        switch (c->tdtype) {
        case SEGLOSS_F32: { float f = (float)v; memcpy(dst, &f, es); break; }
        case SEGLOSS_F64: memcpy(dst, &v, es); break;
        case SEGLOSS_U8: case SEGLOSS_BOOL: *dst = (unsigned char)v; break;
        case SEGLOSS_I64: { int64_t k = (int64_t)v; memcpy(dst, &k, es); break; }
        default: break;
        }
    }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Comparisons and the worst errors seen                                     */
/* ------------------------------------------------------------------------ */
typedef struct err_stats {
    int cases;
    double loss_rel;     /* reduced loss: max |a-b|/|b| */
    char loss_case[160];
    double elem_rel;     /* loss array / sigmoid output, |b| >= FLT_MIN */
    char elem_case[160];
    double grad_rel;     /* max|g - g_ref| / max|g_ref| */
    char grad_case[160];
} err_stats;

static err_stats stats[OP_COUNT];

static void check_loss(const ref_case *c, const char *what, double got) {
    double ref = c->loss;
    int ok = (isnan(ref) && isnan(got)) || got == ref ||
             fabs(got - ref) <= LOSS_RTOL * fabs(ref) + LOSS_ATOL;
    CHECK_MSG(ok, "%s: %s %.17g vs ref %.17g (rel err %.3g)", c->name, what, got, ref,
              fabs(got - ref) / fabs(ref));
    err_stats *s = &stats[c->op];
    if (ref != 0 && isfinite(ref) && got != ref) {
        double r = fabs(got - ref) / fabs(ref);
        if (r > s->loss_rel) {
            s->loss_rel = r;
            snprintf(s->loss_case, sizeof s->loss_case, "%s", c->name);
        }
    }
}

/* Dense or sparse reference entries as (index, value) pairs. */
static int64_t ref_count(const ref_arr *r) { return r->v ? r->n : r->k; }
static int64_t ref_index(const ref_arr *r, int64_t j) { return r->v ? j : r->idx[j]; }
static double ref_value(const ref_arr *r, int64_t j) { return r->v ? r->v[j] : r->sv[j]; }

/* Element-wise: |a - b| <= 2e-5 |b| + atol, NaN matching NaN. */
static void check_elems(const ref_case *c, const char *what, const float *got, int64_t n,
                        const ref_arr *r, double atol) {
    CHECK_MSG(r->n == n, "%s: %s has %lld values, reference %lld", c->name, what,
              (long long)n, (long long)r->n);
    if (r->n != n) return;
    int64_t bad = 0, first = -1;
    double worst = 0;
    err_stats *s = &stats[c->op];
    for (int64_t j = 0; j < ref_count(r); j++) {
        int64_t i = ref_index(r, j);
        double ref = ref_value(r, j), a = got[i];
        int ok = (isnan(ref) && isnan(a)) || a == ref ||
                 fabs(a - ref) <= LOSS_RTOL * fabs(ref) + atol;
        if (!ok && bad++ == 0) first = i;
        if (fabs(ref) >= FLT_MIN && isfinite(ref) && a != ref) {
            double e = fabs(a - ref) / fabs(ref);
            if (e > worst) worst = e;
        }
    }
    if (worst > s->elem_rel) {
        s->elem_rel = worst;
        snprintf(s->elem_case, sizeof s->elem_case, "%s", c->name);
    }
    if (bad) {
        int64_t jf = 0;
        for (int64_t j = 0; j < ref_count(r); j++)
            if (ref_index(r, j) == first) jf = j;
        CHECK_MSG(0, "%s: %s: %lld of %lld elements off, first [%lld] %.9g vs ref %.9g", c->name,
                  what, (long long)bad, (long long)ref_count(r), (long long)first,
                  (double)got[first], ref_value(r, jf));
    } else {
        tf_pass();
    }
}

/* Gradient: max |g - g_ref| <= 1e-5 max |g_ref|; NaN where the reference is
 * NaN (and only there). */
static void check_grad(const ref_case *c, const float *g, const ref_arr *r) {
    double maxref = 0, maxerr = 0;
    int64_t at = -1, nan_bad = 0;
    for (int64_t j = 0; j < ref_count(r); j++) {
        int64_t i = ref_index(r, j);
        double ref = ref_value(r, j), a = g[i];
        if (isnan(ref) || isnan(a)) {
            if (!(isnan(ref) && isnan(a))) nan_bad++;
            continue;
        }
        if (fabs(ref) > maxref) maxref = fabs(ref);
        double e = fabs(a - ref);
        if (!(e <= maxerr)) {
            maxerr = e;
            at = i;
        }
    }
    if (!r->v && r->maxabs > maxref) maxref = r->maxabs;
    CHECK_MSG(nan_bad == 0, "%s: gradient NaN pattern differs (%lld)", c->name,
              (long long)nan_bad);
    CHECK_MSG(maxerr <= GRAD_RTOL * maxref + GRAD_ATOL,
              "%s: gradient max err %.3g at [%lld] (rel to max|g_ref| %.3g: %.3g)", c->name,
              maxerr, (long long)at, maxref, maxref > 0 ? maxerr / maxref : maxerr);
    err_stats *s = &stats[c->op];
    double rel = maxref > 0 ? maxerr / maxref : 0;
    if (rel > s->grad_rel) {
        s->grad_rel = rel;
        snprintf(s->grad_case, sizeof s->grad_case, "%s", c->name);
    }
}

/* A buffer pre-filled with NaN: backward must overwrite every element. */
static float *nan_buffer(int64_t n) {
    float *g = malloc((size_t)(n ? n : 1) * sizeof *g);
    if (g)
        for (int64_t i = 0; i < n; i++) g[i] = NAN;
    return g;
}

static void run_case(const ref_case *c) {
    float *x = arr_to_f32(&c->x);
    float *go = c->has_grad_out ? arr_to_f32(&c->grad_out) : NULL;
    float *grad = nan_buffer(c->n);
    void *tgt = c->op == OP_SIGMOID ? NULL : make_target(c);
    float *w = c->has_weight ? arr_to_f32(&c->weight) : NULL;
    float *pw = c->has_pos_weight ? arr_to_f32(&c->pos_weight) : NULL;
    int64_t nel = c->has_elems ? c->elems.n : 1;
    float *elems = nan_buffer(nel);
    CHECK_MSG(x && grad && elems && (c->op == OP_SIGMOID || tgt) && (!c->has_grad_out || go) &&
                  (!c->has_weight || w) && (!c->has_pos_weight || pw),
              "%s: out of memory", c->name);
    if (!x || !grad || !elems) goto done;
    stats[c->op].cases++;
    segloss_target t = {tgt, c->tdtype};
    segloss_status st;
    double loss = NAN;

    if (c->op == OP_SIGMOID) {
        st = segloss_sigmoid_forward(elems, x, c->n);
        CHECK_MSG(st == SEGLOSS_OK, "%s: sigmoid_forward: %s", c->name, segloss_strerror(st));
        /* float32 output: allow one subnormal step below FLT_MIN */
        check_elems(c, "sigmoid", elems, c->n, &c->elems, FLT_TRUE_MIN);
        float *ones = NULL;
        if (!go) {
            ones = malloc((size_t)c->n * sizeof *ones);
            for (int64_t i = 0; ones && i < c->n; i++) ones[i] = 1.0f;
        }
        st = segloss_sigmoid_backward(grad, go ? go : ones, elems, c->n);
        CHECK_MSG(st == SEGLOSS_OK, "%s: sigmoid_backward: %s", c->name, segloss_strerror(st));
        check_grad(c, grad, &c->grad);
        free(ones);
        goto done;
    }

    if (c->op == OP_BCE || c->op == OP_BCE_LOGITS) {
        segloss_bce_opts o;
        memset(&o, 0, sizeof o);
        o.reduction = c->red;
        if (w) {
            o.weight.data = w;
            o.weight.shape = c->wshape;
        }
        if (pw) {
            o.pos_weight.data = pw;
            o.pos_weight.shape = c->pshape;
        }
        int logits = c->op == OP_BCE_LOGITS;
        st = logits ? segloss_bce_logits_forward(&loss, c->has_elems ? elems : NULL, x, &t,
                                                 &c->shape, &o)
                    : segloss_bce_forward(&loss, c->has_elems ? elems : NULL, x, &t, &c->shape,
                                          &o);
        CHECK_MSG(st == SEGLOSS_OK, "%s: forward: %s", c->name, segloss_strerror(st));
        check_loss(c, "loss", loss);
        if (c->has_elems) check_elems(c, "loss array", elems, c->n, &c->elems, LOSS_ATOL);
        st = logits ? segloss_bce_logits_backward(grad, x, &t, &c->shape, &o, go)
                    : segloss_bce_backward(grad, x, &t, &c->shape, &o, go);
        CHECK_MSG(st == SEGLOSS_OK, "%s: backward: %s", c->name, segloss_strerror(st));
        check_grad(c, grad, &c->grad);
        goto done;
    }

    /* dice */
    int64_t items = -1;
    st = segloss_dice_num_items(&items, &c->shape, &c->dice);
    CHECK_MSG(st == SEGLOSS_OK, "%s: dice_num_items: %s", c->name, segloss_strerror(st));
    if (c->has_elems) CHECK_EQ_INT(items, c->elems.n);
    if (c->has_grad_out && c->red == SEGLOSS_REDUCTION_NONE) CHECK_EQ_INT(items, c->grad_out.n);
    st = segloss_dice_forward(&loss, c->has_elems ? elems : NULL, x, &t, &c->shape, &c->dice);
    CHECK_MSG(st == SEGLOSS_OK, "%s: dice_forward: %s", c->name, segloss_strerror(st));
    check_loss(c, "loss", loss);
    if (c->has_elems && items == c->elems.n)
        check_elems(c, "loss array", elems, items, &c->elems, LOSS_ATOL);
    st = segloss_dice_backward(grad, x, &t, &c->shape, &c->dice, go);
    CHECK_MSG(st == SEGLOSS_OK, "%s: dice_backward: %s", c->name, segloss_strerror(st));
    check_grad(c, grad, &c->grad);

done:
    free(x);
    free(go);
    free(grad);
    free(tgt);
    free(w);
    free(pw);
    free(elems);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

TEST(ref_core_pytorch) {
    const char *path = tf_data_path("core_ref.txt");
    char *text = read_file(path);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (!text) return;
    memset(stats, 0, sizeof stats);
    lexer lx = {text};
    int ncases = 0;
    for (;;) {
        char *t = next_tok(&lx);
        if (!t) break;
        CHECK_MSG(!strcmp(t, "case"), "%s: expected 'case', got '%s'", path, t);
        if (strcmp(t, "case")) break;
        ref_case c;
        int ok = parse_case(&lx, &c);
        CHECK_MSG(ok, "%s: malformed case '%s'", path, c.name);
        if (!ok) {
            case_free(&c);
            break;
        }
        run_case(&c);
        case_free(&c);
        ncases++;
    }
    free(text);
    CHECK_MSG(ncases >= 100, "only %d reference cases read", ncases);
    printf("ref_core: %d cases vs PyTorch float64 (tolerances: loss %.0e rel, grad %.0e of max)\n",
           ncases, LOSS_RTOL, GRAD_RTOL);
    for (int op = 0; op < OP_COUNT; op++) {
        const err_stats *s = &stats[op];
        char lossbuf[200];
        if (op == OP_SIGMOID) /* no reduced loss: the output is compared element-wise */
            snprintf(lossbuf, sizeof lossbuf, "n/a");
        else
            snprintf(lossbuf, sizeof lossbuf, "%.2e (%s)", s->loss_rel,
                     s->loss_case[0] ? s->loss_case : "-");
        printf("  %-10s %3d cases  loss rel %s  elem rel %.2e (%s)  grad/max %.2e (%s)\n",
               op_names[op], s->cases, lossbuf, s->elem_rel,
               s->elem_case[0] ? s->elem_case : "-", s->grad_rel,
               s->grad_case[0] ? s->grad_case : "-");
        CHECK_MSG(s->cases > 0, "no reference case for %s", op_names[op]);
    }
}

/* SPEC section 1, to the 4 digits the SPEC prints: sigmoid, BCE-with-logits,
 * BCE on the probabilities, the logit >= 0 mask and its hard Dice. */
TEST(ref_core_spec_seed_example) {
    const float x[4] = {0.6455f, 0.3470f, 0.4777f, 0.7547f};
    const float y[4] = {1, 0, 0, 1};
    const uint8_t ref_mask[4] = {1, 0, 0, 1};
    const double sig[4] = {0.6560, 0.5859, 0.6172, 0.6802};
    const double terms[4] = {-0.4216, -0.8816, -0.9602, -0.3854};
    segloss_shape shape = {2, {2, 2}};
    segloss_target t = {y, SEGLOSS_F32};
    float p[4], e[4];
    double loss;

    CHECK_EQ_INT(segloss_sigmoid_forward(p, x, 4), SEGLOSS_OK);
    for (int i = 0; i < 4; i++) CHECK_CLOSE(p[i], sig[i], 5e-5, 0);

    CHECK_EQ_INT(segloss_bce_logits_forward(&loss, NULL, x, &t, &shape, NULL), SEGLOSS_OK);
    CHECK_CLOSE(loss, 0.6622, 5e-5, 0);
    CHECK_EQ_INT(segloss_bce_forward(&loss, NULL, p, &t, &shape, NULL), SEGLOSS_OK);
    CHECK_CLOSE(loss, 0.6622, 5e-5, 0);

    segloss_bce_opts none = {.reduction = SEGLOSS_REDUCTION_NONE};
    CHECK_EQ_INT(segloss_bce_forward(&loss, e, p, &t, &shape, &none), SEGLOSS_OK);
    /* The SPEC's terms were computed from the 4-digit probabilities
     * (ln(1 - 0.6172) = -0.96024 against -0.96025 from the exact sigmoid):
     * they agree to 1e-4, not 5e-5. */
    for (int i = 0; i < 4; i++) CHECK_CLOSE(-e[i], terms[i], 1e-4, 0);
    CHECK_CLOSE(loss, 4 * 0.6622, 2e-4, 0);

    uint8_t mask[4];
    CHECK_EQ_INT(segloss_threshold_logits(mask, x, 4, 0.0), SEGLOSS_OK);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(mask[i], 1);
    segloss_confusion cm;
    CHECK_EQ_INT(segloss_confusion_binary(&cm, mask, ref_mask, 4), SEGLOSS_OK);
    CHECK_EQ_INT(cm.tp, 2);
    CHECK_EQ_INT(cm.fp, 2);
    CHECK_EQ_INT(cm.fn, 0);
    CHECK_EQ_INT(cm.tn, 0);
    CHECK_CLOSE(segloss_dice_score(&cm), 0.6667, 5e-5, 0);
    CHECK_CLOSE(segloss_dice_score(&cm), 2.0 / 3.0, 1e-15, 0);
}
