/* The shared half of the loss fuzz targets: see loss_common.h. */
#include "loss_common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

float sentinel(void) {
    uint32_t u = SENTINEL_BITS;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int is_sentinel(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u == SENTINEL_BITS;
}

/* Exactly n elements of size es (n == 0: a zero-byte block ASan guards). */
void *alloc_exact(int64_t n, size_t es) {
    void *p = malloc((size_t)n * es);
    if (!p && n > 0) abort();
    return p;
}

/* Float values: specials first, then a spread of moderate values. */
float value_logit(uint8_t b) {
    static const float special[16] = {
        NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, FLT_MAX,
        -FLT_MAX, FLT_MIN, 1e-45f, 1e30f, -1e30f, 0.5f, 100.0f, -800.0f};
    if (b < 16) return special[b];
    return (float)((int)b - 136) / 8.0f;
}

/* Probabilities: mostly in [0,1], with a few values outside. */
float value_prob(uint8_t b) {
    static const float special[8] = {NAN, INFINITY, -0.0f, 1.0f, -1e-7f, 1.0000001f, 2.0f, 1e-45f};
    if (b < 8) return special[b];
    return (float)(b - 8) / 247.0f;
}

double value_param(uint8_t b) {
    static const double table[24] = {
        0.0, 1e-5, 1.0, 0.5, 0.25, 2.0, 5.0, -1.0,
        -1e-5, NAN, INFINITY, -INFINITY, 1e300, -1e300, 255.0, -100.0,
        DBL_MIN, 4.9e-324, 0.75, 1e-7, 100.0, 1e-300, 3.0, 1e9};
    return table[b % 24];
}

/* An ignore value: small classes, PNG void, PyTorch's -100, the int64
 * extremes, SEGLOSS_IGNORE_NONE. */
int64_t ignore_param(uint8_t b) {
    static const int64_t table[12] = {0,  1,         255,       -100, -1,
                                      2,  INT64_MAX, INT64_MIN + 1,    SEGLOSS_IGNORE_NONE,
                                      3,  100,       1000000000};
    return table[b % 12];
}

segloss_reduction pick_reduction(uint8_t b) {
    switch (b % 8) {
    case 5: return (segloss_reduction)3;   /* invalid */
    case 6: return (segloss_reduction)-1;  /* invalid */
    default: return (segloss_reduction)(b % 8 % 3);
    }
}

segloss_activation pick_activation(uint8_t b) {
    switch (b % 8) {
    case 5: return (segloss_activation)3;
    case 6: return (segloss_activation)-7;
    default: return (segloss_activation)(b % 8 % 3);
    }
}

/* Fills a target of dtype dt with n elements from the input. Mostly 0/1;
 * b >= 200 gives a special value (soft, NaN, 255, -1, 2, ...). Class-index
 * targets (index != 0) hold mostly values in [0, classes). */
void fill_target(void *t, segloss_dtype dt, int64_t n, fuzz_bytes *in, int index,
                        int64_t classes) {
    static const double fspecial[8] = {0.5, NAN, INFINITY, -1.0, 2.0, 255.0, 1e-30, -0.0};
    static const int64_t ispecial[8] = {2, 255, -1, -100, 100, INT64_MIN, INT64_MAX, 65535};
    for (int64_t i = 0; i < n; i++) {
        uint8_t b = fuzz_u8(in);
        double fv;
        int64_t iv;
        if (b < 200) {
            iv = index ? (classes > 0 ? (int64_t)b % classes : 0) : (b & 1);
            fv = (double)iv;
        } else {
            fv = fspecial[b % 8];
            iv = ispecial[b % 8];
            if (index && b % 8 == 0) iv = classes;     /* one past the last class */
            if (dt == SEGLOSS_F32 || dt == SEGLOSS_F64)
                if (b >= 248) fv = (double)(b - 248) / 7.0; /* soft labels */
        }
        switch (dt) {
        case SEGLOSS_F32: ((float *)t)[i] = (float)fv; break;
        case SEGLOSS_F64: ((double *)t)[i] = fv; break;
        case SEGLOSS_U8: ((uint8_t *)t)[i] = (uint8_t)iv; break;
        case SEGLOSS_BOOL: ((uint8_t *)t)[i] = b < 200 ? (uint8_t)(b & 1) : b; break;
        case SEGLOSS_I8: ((int8_t *)t)[i] = (int8_t)iv; break;
        case SEGLOSS_I16: ((int16_t *)t)[i] = (int16_t)iv; break;
        case SEGLOSS_I32: ((int32_t *)t)[i] = (int32_t)iv; break;
        case SEGLOSS_I64: ((int64_t *)t)[i] = iv; break;
        case SEGLOSS_U16: ((uint16_t *)t)[i] = (uint16_t)iv; break;
        case SEGLOSS_U32: ((uint32_t *)t)[i] = (uint32_t)iv; break;
        case SEGLOSS_U64: ((uint64_t *)t)[i] = (uint64_t)iv; break;
        }
    }
}

void fill_floats(float *v, int64_t n, fuzz_bytes *in, int prob) {
    for (int64_t i = 0; i < n; i++) {
        uint8_t b = fuzz_u8(in);
        v[i] = prob ? value_prob(b) : value_logit(b);
    }
}

/* A broadcast array (weight, pos_weight, class weight): absent, or a
 * shape of rank 0..ndim+1 whose dims match the input's (right-aligned),
 * are 1, or are something else; data of exactly its element count. */
float *make_farray(segloss_farray *fa, const segloss_shape *in_shape, fuzz_bytes *in) {
    memset(fa, 0, sizeof *fa);
    uint8_t mode = fuzz_u8(in);
    if (mode % 3 == 0) return NULL;
    int ndim = in_shape->ndim >= 0 && in_shape->ndim <= SEGLOSS_MAX_DIMS ? in_shape->ndim : 1;
    int rank = (mode >> 2) % (ndim + 2);
    if (rank > SEGLOSS_MAX_DIMS) rank = SEGLOSS_MAX_DIMS;
    fa->shape.ndim = rank;
    int64_t count = 1;
    for (int k = 0; k < rank; k++) {
        uint8_t b = fuzz_u8(in);
        int src = ndim - rank + k; /* right-aligned input axis */
        int64_t d;
        switch (b % 4) {
        case 0: d = 1; break;
        case 1: d = src >= 0 && in_shape->dim[src] >= 0 && in_shape->dim[src] <= 8 ? in_shape->dim[src] : 2; break;
        case 2: d = 1 + b / 4 % 5; break;
        default: d = b / 4 % 2 ? 0 : 3; break;
        }
        fa->shape.dim[k] = d;
        count *= d;
    }
    float *data = alloc_exact(count, sizeof(float));
    fill_floats(data, count, in, 0);
    fa->data = data;
    return data;
}

float *make_class_weight(segloss_farray *fa, const fcase *c, int64_t classes, int any_shape,
                         fuzz_bytes *in) {
    segloss_shape cshape;
    memset(&cshape, 0, sizeof cshape);
    cshape.ndim = 1;
    cshape.dim[0] = classes;
    return make_farray(fa, any_shape ? &c->shape : &cshape, in);
}


void case_free(fcase *c) {
    free(c->x);
    free(c->grad);
    free(c->elems);
    free(c->grad_out);
    free(c->w1);
    free(c->w2);
    free(c->tgt);
}

/* Size of the loss array (NONE) from the library's own helper: -1 when the
 * helper rejects the shape or options. */
int64_t shape_count(segloss_status st, const segloss_shape *s) {
    int64_t n;
    if (st != SEGLOSS_OK || segloss_shape_numel(s, &n) != SEGLOSS_OK) return -1;
    return n;
}

/* Allocates the loss array (NONE, exactly `items` floats, pre-filled with
 * the sentinel) and the upstream gradient (NONE: `items` values; else one
 * value, or NULL meaning 1). */
void make_outputs(fcase *c, int64_t items, fuzz_bytes *in) {
    int none = c->red == SEGLOSS_REDUCTION_NONE;
    int64_t n_out = none ? (items >= 0 ? items : 1) : 0;
    uint8_t b = fuzz_u8(in);
    if (none || b & 1) {
        c->elems = alloc_exact(n_out, sizeof(float));
        for (int64_t k = 0; k < n_out; k++) c->elems[k] = sentinel();
    }
    if (!(b & 2)) {
        int64_t n_go = none ? n_out : 1;
        c->grad_out = alloc_exact(n_go, sizeof(float));
        fill_floats(c->grad_out, n_go, in, 0);
    }
}

void check_forward(const fcase *c, segloss_status st, double loss, int64_t items) {
    FUZZ_CHECK(st >= SEGLOSS_OK && st <= SEGLOSS_ERR_INTERNAL);
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_INTERNAL, "family %d: internal error", c->family);
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "family %d: out of memory on a tiny problem", c->family);
    if (st != SEGLOSS_OK) return;
    FUZZ_CHECK_MSG(c->shape_ok, "family %d: success on an invalid shape", c->family);
    FUZZ_CHECK_MSG(items >= 0, "family %d: forward succeeds where the item-shape helper fails",
                   c->family);
    if (c->red != SEGLOSS_REDUCTION_NONE || !c->elems) return;
    double sum = 0.0, mag = 0.0;
    int finite = 1;
    for (int64_t k = 0; k < items; k++) {
        FUZZ_CHECK_MSG(!is_sentinel(c->elems[k]), "family %d: loss element %lld of %lld not written",
                       c->family, (long long)k, (long long)items);
        finite &= isfinite(c->elems[k]) != 0;
        sum += c->elems[k];
        mag += fabs(c->elems[k]);
    }
    if (finite && isfinite(loss) && mag < 1e300)
        FUZZ_CHECK_MSG(fabs(loss - sum) <= 1e-5 * mag + 1e-30,
                       "family %d: NONE loss %.17g is not the sum of its elements %.17g",
                       c->family, loss, sum);
}

void check_backward(const fcase *c, segloss_status st) {
    FUZZ_CHECK(st >= SEGLOSS_OK && st <= SEGLOSS_ERR_INTERNAL);
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_INTERNAL, "family %d: internal error", c->family);
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "family %d: out of memory on a tiny problem", c->family);
    if (st != SEGLOSS_OK) return;
    FUZZ_CHECK_MSG(c->shape_ok, "family %d: backward success on an invalid shape", c->family);
    for (int64_t k = 0; k < c->numel; k++)
        FUZZ_CHECK_MSG(!is_sentinel(c->grad[k]), "family %d: gradient element %lld not written",
                       c->family, (long long)k);
}

/* Same bits from a second forward (catches reads of uninitialised memory
 * that ASan does not see). */
void check_repeat(const fcase *c, segloss_status st1, double l1, segloss_status st2,
                         double l2) {
    FUZZ_CHECK_MSG(st1 == st2, "family %d: status %d then %d", c->family, (int)st1, (int)st2);
    if (st1 == SEGLOSS_OK)
        FUZZ_CHECK_MSG(memcmp(&l1, &l2, sizeof l1) == 0 || (isnan(l1) && isnan(l2)),
                       "family %d: loss %.17g then %.17g", c->family, l1, l2);
}


void fused_alloc(fused *f, const fcase *c, int64_t items) {
    f->n_elems = c->red == SEGLOSS_REDUCTION_NONE && c->elems ? (items >= 0 ? items : 1) : 0;
    f->elems = c->elems ? alloc_exact(f->n_elems, sizeof(float)) : NULL;
    for (int64_t k = 0; k < f->n_elems; k++) f->elems[k] = sentinel();
    int64_t n = c->numel >= 0 ? c->numel : 1;
    f->grad = alloc_exact(n, sizeof(float));
    for (int64_t k = 0; k < n; k++) f->grad[k] = sentinel();
}

/* Equal bits, except that any NaN equals any NaN: the fused bce-logits
 * returns -NaN where the forward returns +NaN (a NaN logit with a NaN
 * pos_weight; docs/fuzzing.md, F4), and no caller can tell them apart by
 * value. */
int same_bits_d(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

int same_bits_f(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

void check_fused(const fcase *c, fused *f, segloss_status st_f, segloss_status st_b,
                        double loss, segloss_status st_fb, double loss_fb) {
    FUZZ_CHECK_MSG((st_fb == SEGLOSS_OK) == (st_f == SEGLOSS_OK && st_b == SEGLOSS_OK),
                   "family %d: forward %d, backward %d, forward_backward %d", c->family, (int)st_f,
                   (int)st_b, (int)st_fb);
    if (st_fb == SEGLOSS_OK) {
        FUZZ_CHECK_MSG(same_bits_d(loss, loss_fb),
                       "family %d: forward_backward loss %.17g, forward %.17g", c->family, loss_fb,
                       loss);
        for (int64_t k = 0; k < f->n_elems; k++)
            FUZZ_CHECK_MSG(same_bits_f(f->elems[k], c->elems[k]),
                           "family %d: loss element %lld: forward_backward %.9g, forward %.9g",
                           c->family, (long long)k, (double)f->elems[k], (double)c->elems[k]);
        for (int64_t k = 0; k < c->numel; k++)
            FUZZ_CHECK_MSG(same_bits_f(f->grad[k], c->grad[k]),
                           "family %d: gradient element %lld: forward_backward %.9g, backward %.9g",
                           c->family, (long long)k, (double)f->grad[k], (double)c->grad[k]);
    }
    free(f->elems);
    free(f->grad);
}

segloss_status run_calls(fcase *c, int null_arg, int64_t items, const loss_calls *k,
                         const void *o) {
    const float *xa = null_arg ? NULL : c->x;
    double loss = 0, loss2 = 0;
    segloss_status st = k->fwd(&loss, c->elems, xa, &c->target, &c->shape, o);
    check_forward(c, st, loss, items);
    segloss_status st2 = k->fwd(&loss2, NULL, xa, &c->target, &c->shape, o);
    if (c->red != SEGLOSS_REDUCTION_NONE || !c->elems || k->one_value)
        check_repeat(c, st, loss, st2, loss2);
    segloss_status st_b = k->bwd(c->grad, xa, &c->target, &c->shape, o, c->grad_out);
    check_backward(c, st_b);
    if (k->fb) {
        fused f;
        fused_alloc(&f, c, items);
        st2 = k->fb(&loss2, f.elems, f.grad, xa, &c->target, &c->shape, o, c->grad_out);
        check_fused(c, &f, st, st_b, loss, st2, loss2);
    }
    return st;
}

/* The losses and segloss_target_check apply one rule: a loss that reports
 * a bad target has one by the check (which names its lowest index), and a
 * loss that succeeds has none. Dense targets of n elements. */
void check_target_rule(const fcase *c, segloss_status st, int64_t n, int64_t iv) {
    if (!c->shape_ok || c->numel <= 0 || segloss_dtype_size(c->target.dtype) == 0) return;
    if (st != SEGLOSS_OK && st != SEGLOSS_ERR_TARGET) return;
    segloss_check_report r;
    segloss_status cs = segloss_target_check(&r, &c->target, n, SEGLOSS_TARGET_DENSE, 0, iv);
    FUZZ_CHECK(cs == st);
    if (cs == SEGLOSS_ERR_TARGET) FUZZ_CHECK(r.index >= 0 && r.index < n);
}

void fill_region(segloss_dice_opts *o, fuzz_bytes *in, int flags) {
    *o = segloss_dice_opts_default();
    uint8_t f = fuzz_u8(in);
    uint8_t g = fuzz_u8(in);
    o->activation = pick_activation(fuzz_u8(in));
    double snr = value_param(fuzz_u8(in)), sdr = value_param(fuzz_u8(in));
    if (f & 1) { /* else the defaults */
        o->smooth_nr = snr;
        o->smooth_dr = sdr;
    }
    /* Flags a loss does not take are set only now and then (ARG). */
    int odd = (g & 0xc0) == 0xc0;
    o->squared = ((flags & FILL_SQUARED) || odd) && (f & 2);
    o->jaccard = ((flags & FILL_SQUARED) || odd) && (f & 4);
    o->batch = (f & 8) != 0;
    o->target_kind = (segloss_target_kind)(g % 4);  /* 3 is invalid */
    o->no_background = (f & 16) != 0;
    o->ignore_index = (f & 32) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
    o->smp = ((flags & FILL_SMP) || odd) && (f & 64);
    o->log_loss = ((flags & FILL_SMP) || odd) && (f & 128);
}

/* Class-index target (softmax region losses, INDEX kind, ce): the input's
 * shape without axis 1; ce on a (C) input: one element. */
int64_t index_count(const fcase *c, int ce) {
    if (!c->shape_ok) return 1;
    if (ce && c->shape.ndim == 1) return 1;
    if (c->shape.ndim < (ce ? 2 : 3)) return 1;  /* rejected: one element suffices */
    if (c->shape.dim[1] == 0) return 0;
    return c->numel / c->shape.dim[1];
}

void make_target(fcase *c, fuzz_bytes *in, int index, int64_t count, int64_t classes) {
    static const segloss_dtype int_types[9] = {SEGLOSS_U8, SEGLOSS_BOOL, SEGLOSS_I8,  SEGLOSS_I16,
                                               SEGLOSS_I32, SEGLOSS_I64, SEGLOSS_U16, SEGLOSS_U32,
                                               SEGLOSS_U64};
    uint8_t b = fuzz_u8(in);
    segloss_dtype dt;
    if (index && b < 224) dt = int_types[b % 9];   /* mostly an integer dtype */
    else dt = (segloss_dtype)(b % 11);
    if (b == 255) dt = (segloss_dtype)11;          /* invalid dtype */
    size_t es = segloss_dtype_size(dt);
    c->tgt = alloc_exact(count, es ? es : 1);
    if (es) fill_target(c->tgt, dt, count, in, index, classes);
    c->target.data = c->tgt;
    c->target.dtype = dt;
}

void case_begin(fcase *c, fuzz_bytes *in, int families) {
    memset(c, 0, sizeof *c);
    c->family = fuzz_u8(in) % families;
    uint8_t r = fuzz_u8(in);
    static const int odd_ranks[3] = {0, 6, 9};
    c->shape.ndim = r % 16 < 13 ? 1 + r % 16 % 5 : odd_ranks[r % 16 - 13];
    for (int k = 0; k < 5; k++) {
        uint8_t b = fuzz_u8(in);
        int64_t d = 1 + b % 5;
        if (b == 255) d = 0;
        else if (b == 254) d = -1;
        else if (b == 253) d = (int64_t)1 << 62;
        if (k < SEGLOSS_MAX_DIMS) c->shape.dim[k] = d;
    }
    if (c->shape.ndim == 6) c->shape.dim[5] = 2;
    c->shape_ok = c->shape.ndim <= SEGLOSS_MAX_DIMS &&
                  segloss_shape_numel(&c->shape, &c->numel) == SEGLOSS_OK;
    if (!c->shape_ok) c->numel = -1;
    c->red = pick_reduction(fuzz_u8(in));
}
