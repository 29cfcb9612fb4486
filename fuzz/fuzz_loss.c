/* Fuzz target: the loss API, every forward and backward in segloss.h, fed
 * with arbitrary shapes, options, target dtypes and values.
 *
 * Input layout (bytes read front to back; missing bytes read as 0, so
 * every input is a complete case):
 *   [0]      function family (see `enum family`), modulo the count
 *   [1]      rank: 1..5 mostly; also 0, 6 and 9 (invalid: > SEGLOSS_MAX_DIMS)
 *   [2..6]   dims: 1..5 mostly; also 0, -1 and 2^62 (overflow)
 *   [7..]    options (reduction and activation including invalid enum
 *            values; flags; smoothing, alpha, beta, gamma, lambdas, label
 *            smoothing, ignore values from a table holding NaN, +-inf,
 *            negative and huge values), the target dtype (any of the 11),
 *            the value modes, the weight arrays' shapes, then the values:
 *            one byte per element of input, target, weights and upstream
 *            gradient (special values: NaN, +-inf, +-FLT_MAX, denormals).
 * Every buffer is allocated with exactly the size the documented contract
 * gives it (input and gradient: numel floats; target: numel elements, or
 * the class-index shape; loss array and upstream gradient: the size the
 * library's own *_items_shape reports), so any access
 * beyond it is an ASan report. Properties checked: a status is returned;
 * an error from the item-shape helper is an error of the forward too;
 * a successful forward with reduction NONE writes every element of the loss
 * array and returns their sum; a successful backward writes every element
 * of the gradient; the forward gives the same bits twice; the fused
 * *_forward_backward calls (bce-logits, dice, dice-bce) succeed exactly when
 * the forward and the backward both do, with the same bits; bce-logits and
 * focal report a bad target exactly when segloss_target_check does. */
#include "fuzz.h"

#include <segloss.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum family {
    F_SIGMOID,
    F_THRESHOLD,
    F_BCE,
    F_BCE_LOGITS,
    F_FOCAL,
    F_CE,
    F_LOVASZ,
    F_DICE,
    F_JACCARD,
    F_TVERSKY,
    F_GDICE,
    F_DICE_BCE,
    F_COUNT
};

/* A bit pattern no computation produces (a signalling NaN with a payload):
 * an output element still holding it after success was never written. */
#define SENTINEL_BITS 0x7fa5a5a5u

static float sentinel(void) {
    uint32_t u = SENTINEL_BITS;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int is_sentinel(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u == SENTINEL_BITS;
}

/* Exactly n elements of size es (n == 0: a zero-byte block ASan guards). */
static void *alloc_exact(int64_t n, size_t es) {
    void *p = malloc((size_t)n * es);
    if (!p && n > 0) abort();
    return p;
}

/* Float values: specials first, then a spread of moderate values. */
static float value_logit(uint8_t b) {
    static const float special[16] = {
        NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, FLT_MAX,
        -FLT_MAX, FLT_MIN, 1e-45f, 1e30f, -1e30f, 0.5f, 100.0f, -800.0f};
    if (b < 16) return special[b];
    return (float)((int)b - 136) / 8.0f;
}

/* Probabilities: mostly in [0,1], with a few values outside. */
static float value_prob(uint8_t b) {
    static const float special[8] = {NAN, INFINITY, -0.0f, 1.0f, -1e-7f, 1.0000001f, 2.0f, 1e-45f};
    if (b < 8) return special[b];
    return (float)(b - 8) / 247.0f;
}

static double value_param(uint8_t b) {
    static const double table[24] = {
        0.0, 1e-5, 1.0, 0.5, 0.25, 2.0, 5.0, -1.0,
        -1e-5, NAN, INFINITY, -INFINITY, 1e300, -1e300, 255.0, -100.0,
        DBL_MIN, 4.9e-324, 0.75, 1e-7, 100.0, 1e-300, 3.0, 1e9};
    return table[b % 24];
}

/* An ignore value: small classes, PNG void, PyTorch's -100, the int64
 * extremes, SEGLOSS_IGNORE_NONE. */
static int64_t ignore_param(uint8_t b) {
    static const int64_t table[12] = {0,  1,         255,       -100, -1,
                                      2,  INT64_MAX, INT64_MIN + 1,    SEGLOSS_IGNORE_NONE,
                                      3,  100,       1000000000};
    return table[b % 12];
}

static segloss_reduction pick_reduction(uint8_t b) {
    switch (b % 8) {
    case 5: return (segloss_reduction)3;   /* invalid */
    case 6: return (segloss_reduction)-1;  /* invalid */
    default: return (segloss_reduction)(b % 8 % 3);
    }
}

static segloss_activation pick_activation(uint8_t b) {
    switch (b % 8) {
    case 5: return (segloss_activation)3;
    case 6: return (segloss_activation)-7;
    default: return (segloss_activation)(b % 8 % 3);
    }
}

/* Fills a target of dtype dt with n elements from the input. Mostly 0/1;
 * b >= 200 gives a special value (soft, NaN, 255, -1, 2, ...). Class-index
 * targets (index != 0) hold mostly values in [0, classes). */
static void fill_target(void *t, segloss_dtype dt, int64_t n, fuzz_bytes *in, int index,
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

static void fill_floats(float *v, int64_t n, fuzz_bytes *in, int prob) {
    for (int64_t i = 0; i < n; i++) {
        uint8_t b = fuzz_u8(in);
        v[i] = prob ? value_prob(b) : value_logit(b);
    }
}

/* A broadcast array (weight, pos_weight, class weight): absent, or a
 * shape of rank 0..ndim+1 whose dims match the input's (right-aligned),
 * are 1, or are something else; data of exactly its element count. */
static float *make_farray(segloss_farray *fa, const segloss_shape *in_shape, fuzz_bytes *in) {
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

/* The case being run: buffers are released by case_free. */
typedef struct fcase {
    int family;
    segloss_shape shape;
    int64_t numel;         /* -1: the shape is invalid (the call must fail) */
    int shape_ok;
    segloss_reduction red;
    float *x, *grad, *elems, *grad_out, *w1, *w2;
    void *tgt;
    segloss_target target;
} fcase;

static void case_free(fcase *c) {
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
static int64_t shape_count(segloss_status st, const segloss_shape *s) {
    int64_t n;
    if (st != SEGLOSS_OK || segloss_shape_numel(s, &n) != SEGLOSS_OK) return -1;
    return n;
}

/* Allocates the loss array (NONE, exactly `items` floats, pre-filled with
 * the sentinel) and the upstream gradient (NONE: `items` values; else one
 * value, or NULL meaning 1). */
static void make_outputs(fcase *c, int64_t items, fuzz_bytes *in) {
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

static void check_forward(const fcase *c, segloss_status st, double loss, int64_t items) {
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

static void check_backward(const fcase *c, segloss_status st) {
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
static void check_repeat(const fcase *c, segloss_status st1, double l1, segloss_status st2,
                         double l2) {
    FUZZ_CHECK_MSG(st1 == st2, "family %d: status %d then %d", c->family, (int)st1, (int)st2);
    if (st1 == SEGLOSS_OK)
        FUZZ_CHECK_MSG(memcmp(&l1, &l2, sizeof l1) == 0 || (isnan(l1) && isnan(l2)),
                       "family %d: loss %.17g then %.17g", c->family, l1, l2);
}

/* The fused forward_backward calls promise the same bits as the forward
 * and the backward called apart: the same success, the same loss (and
 * parts), loss array and gradient. */
typedef struct fused {
    float *elems, *grad;
    int64_t n_elems;
} fused;

static void fused_alloc(fused *f, const fcase *c, int64_t items) {
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
static int same_bits_d(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static int same_bits_f(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void check_fused(const fcase *c, fused *f, segloss_status st_f, segloss_status st_b,
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

/* The losses and segloss_target_check apply one rule: a loss that reports
 * a bad target has one by the check (which names its lowest index), and a
 * loss that succeeds has none. Dense targets of n elements. */
static void check_target_rule(const fcase *c, segloss_status st, int64_t n, int64_t iv) {
    if (!c->shape_ok || c->numel <= 0 || segloss_dtype_size(c->target.dtype) == 0) return;
    if (st != SEGLOSS_OK && st != SEGLOSS_ERR_TARGET) return;
    segloss_check_report r;
    segloss_status cs = segloss_target_check(&r, &c->target, n, SEGLOSS_TARGET_DENSE, 0, iv);
    FUZZ_CHECK(cs == st);
    if (cs == SEGLOSS_ERR_TARGET) FUZZ_CHECK(r.index >= 0 && r.index < n);
}

static void fill_region(segloss_dice_opts *o, fuzz_bytes *in, int family) {
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
    o->squared = (family == F_DICE || odd) && (f & 2);
    o->jaccard = (family == F_DICE || odd) && (f & 4);
    o->batch = (f & 8) != 0;
    o->target_kind = (segloss_target_kind)(g % 4);  /* 3 is invalid */
    o->no_background = (f & 16) != 0;
    o->ignore_index = (f & 32) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
    o->smp = (family == F_DICE || family == F_JACCARD || odd) && (f & 64);
    o->log_loss = (family == F_DICE || family == F_JACCARD || odd) && (f & 128);
}

/* Class-index target (softmax region losses, INDEX kind, ce): the input's
 * shape without axis 1; ce on a (C) input: one element. */
static int64_t index_count(const fcase *c, int ce) {
    if (!c->shape_ok) return 1;
    if (ce && c->shape.ndim == 1) return 1;
    if (c->shape.ndim < (ce ? 2 : 3)) return 1;  /* rejected: one element suffices */
    if (c->shape.dim[1] == 0) return 0;
    return c->numel / c->shape.dim[1];
}

static void make_target(fcase *c, fuzz_bytes *in, int index, int64_t count, int64_t classes) {
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

static void run_case(fcase *c, fuzz_bytes *in) {
    uint8_t vmode = fuzz_u8(in);
    int prob = vmode & 1;            /* inputs as probabilities */
    int null_arg = vmode == 0xff;    /* one required pointer NULL */
    int64_t n = c->numel >= 0 ? c->numel : 1;
    c->x = alloc_exact(n, sizeof(float));
    c->grad = alloc_exact(n, sizeof(float));
    for (int64_t k = 0; k < n; k++) c->grad[k] = sentinel();
    int64_t classes = c->shape_ok && c->shape.ndim >= 2 ? c->shape.dim[1]
                      : c->shape_ok && c->shape.ndim == 1 ? c->shape.dim[0] : 1;

    double loss = 0, loss2 = 0;
    segloss_status st, st2;
    int64_t items = -1;
    switch (c->family) {
    case F_SIGMOID:
    case F_THRESHOLD: {
        fill_floats(c->x, n, in, prob);
        int64_t len = c->numel >= 0 ? c->numel : -(int64_t)(vmode >> 1);
        if (c->family == F_THRESHOLD) {
            uint8_t *mask = alloc_exact(n, 1);
            double thr = vmode & 2 ? segloss_prob_to_logit_threshold(value_param(fuzz_u8(in)))
                                   : value_param(fuzz_u8(in));
            st = segloss_threshold_logits(null_arg ? NULL : mask, c->x, len, thr);
            FUZZ_CHECK(st == SEGLOSS_OK || c->numel < 0 || null_arg || isnan(thr));
            if (st == SEGLOSS_OK)
                for (int64_t k = 0; k < len; k++) FUZZ_CHECK(mask[k] <= 1);
            free(mask);
            break;
        }
        float *y = alloc_exact(n, sizeof(float));
        /* out may alias x: half of the time in place. */
        float *out = vmode & 2 ? c->x : y;
        st = segloss_sigmoid_forward(null_arg ? NULL : out, c->x, len);
        FUZZ_CHECK(st == SEGLOSS_OK || c->numel < 0 || null_arg);
        if (st == SEGLOSS_OK) {
            for (int64_t k = 0; k < len; k++)
                FUZZ_CHECK(isnan(out[k]) || (out[k] >= 0.0f && out[k] <= 1.0f));
            fill_floats(c->grad, n, in, 0);   /* upstream gradient, in place */
            st = segloss_sigmoid_backward(c->grad, c->grad, out, len);
            FUZZ_CHECK(st == SEGLOSS_OK);
        }
        free(y);
        break;
    }
    case F_BCE:
    case F_BCE_LOGITS:
    case F_FOCAL: {
        uint8_t f = fuzz_u8(in);
        make_target(c, in, 0, n, 2);
        fill_floats(c->x, n, in, prob);
        segloss_farray wa, pwa;
        c->w1 = make_farray(&wa, &c->shape, in);
        c->w2 = make_farray(&pwa, &c->shape, in);
        items = c->shape_ok ? c->numel : -1;
        make_outputs(c, items, in);
        const float *xa = null_arg ? NULL : c->x;
        if (c->family == F_FOCAL) {
            segloss_focal_opts o;
            o = segloss_focal_opts_default();
            o.reduction = c->red;
            o.weight = wa;
            double alpha = value_param(fuzz_u8(in)), gamma = value_param(fuzz_u8(in));
            if (f & 1) { /* else torchvision's defaults */
                o.alpha = alpha;
                o.gamma = gamma;
            }
            o.ignore_index = (f & 2) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
            st = segloss_focal_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
            check_forward(c, st, loss, items);
            if (!null_arg) check_target_rule(c, st, n, o.ignore_index);
            st2 = segloss_focal_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            st = segloss_focal_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
            check_backward(c, st);
            break;
        }
        segloss_bce_opts o;
        o = segloss_bce_opts_default();
        o.reduction = c->red;
        o.weight = wa;
        /* pos_weight belongs to bce-logits; on bce it must be rejected or
         * ignored, never read out of bounds. */
        if (c->family == F_BCE_LOGITS || (f & 4)) o.pos_weight = pwa;
        o.ignore_index = (f & 2) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
        if (c->family == F_BCE) {
            st = segloss_bce_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
            check_forward(c, st, loss, items);
            st2 = segloss_bce_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            st = segloss_bce_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
        } else {
            st = segloss_bce_logits_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
            check_forward(c, st, loss, items);
            if (!null_arg) check_target_rule(c, st, n, o.ignore_index);
            st2 = segloss_bce_logits_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            segloss_status st_f = st;
            st = segloss_bce_logits_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
            check_backward(c, st);
            fused fb;
            fused_alloc(&fb, c, items);
            st2 = segloss_bce_logits_forward_backward(&loss2, fb.elems, fb.grad, xa, &c->target,
                                                      &c->shape, &o, c->grad_out);
            check_fused(c, &fb, st_f, st, loss, st2, loss2);
            break;
        }
        check_backward(c, st);
        break;
    }
    case F_CE: {
        uint8_t f = fuzz_u8(in);
        int64_t tcount = index_count(c, 1);
        make_target(c, in, 1, tcount, classes);
        fill_floats(c->x, n, in, 0);
        segloss_ce_opts o;
        o = segloss_ce_opts_default();
        o.reduction = c->red;
        /* class_weight: shape (C,) normally; any shape now and then. */
        segloss_shape cshape;
        memset(&cshape, 0, sizeof cshape);
        cshape.ndim = 1;
        cshape.dim[0] = classes;
        c->w1 = make_farray(&o.class_weight, f & 8 ? &c->shape : &cshape, in);
        static const int64_t ign[8] = {-100, 0, 1, 255, -1, INT64_MIN, INT64_MAX, 2};
        int64_t iv = ign[fuzz_u8(in) % 8];
        if (f & 1) o.ignore_index = iv; /* else PyTorch's -100 */
        o.label_smoothing = f & 2 ? value_param(fuzz_u8(in)) : 0.0;
        items = c->shape_ok ? tcount : -1;
        if (c->shape_ok && c->shape.ndim < 1) items = -1;
        make_outputs(c, items, in);
        const float *xa = null_arg ? NULL : c->x;
        st = segloss_ce_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
        check_forward(c, st, loss, items);
        st2 = segloss_ce_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
        if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
        st = segloss_ce_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
        check_backward(c, st);
        break;
    }
    case F_LOVASZ: {
        uint8_t f = fuzz_u8(in);
        make_target(c, in, 0, n, 2);
        fill_floats(c->x, n, in, 0);
        segloss_lovasz_opts o;
        o = segloss_lovasz_opts_default();
        o.reduction = c->red;
        o.per_image = f & 1;
        o.ignore_index = (f & 2) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
        segloss_shape lshape;
        items = shape_count(segloss_lovasz_items_shape(&lshape, &c->shape, &o), &lshape);
        make_outputs(c, items, in);
        const float *xa = null_arg ? NULL : c->x;
        st = segloss_lovasz_hinge_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
        check_forward(c, st, loss, items);
        st2 = segloss_lovasz_hinge_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
        if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
        st = segloss_lovasz_hinge_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
        check_backward(c, st);
        break;
    }
    case F_DICE:
    case F_JACCARD:
    case F_TVERSKY:
    case F_GDICE:
    case F_DICE_BCE: {
        segloss_dice_opts r;
        fill_region(&r, in, c->family);
        r.reduction = c->red;
        int index = r.target_kind == SEGLOSS_TARGET_INDEX ||
                    (r.target_kind == SEGLOSS_TARGET_AUTO && r.activation == SEGLOSS_ACTIVATION_SOFTMAX);
        make_target(c, in, index, index ? index_count(c, 0) : n, classes);
        fill_floats(c->x, n, in, prob);
        const float *xa = null_arg ? NULL : c->x;
        segloss_shape ishape;
        memset(&ishape, 0, sizeof ishape);
        if (c->family == F_GDICE) {
            segloss_generalized_dice_opts o;
            o = segloss_generalized_dice_opts_default();
            o.region = r;
            o.w_type = (segloss_gdice_weight)(fuzz_u8(in) % 4);
            items = shape_count(segloss_generalized_dice_items_shape(&ishape, &c->shape, &o), &ishape);
            make_outputs(c, items, in);
            st = segloss_generalized_dice_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
            check_forward(c, st, loss, items);
            st2 = segloss_generalized_dice_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            st = segloss_generalized_dice_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
            check_backward(c, st);
            break;
        }
        if (c->family == F_DICE_BCE) {
            segloss_dice_bce_opts o;
            o = segloss_dice_bce_opts_default();
            o.dice = r;
            c->w1 = make_farray(&o.pos_weight, &c->shape, in);
            uint8_t f = fuzz_u8(in);
            double ld = value_param(fuzz_u8(in)), lb = value_param(fuzz_u8(in));
            if (f & 1) { /* else 1 and 1 */
                o.lambda_dice = ld;
                o.lambda_bce = lb;
            }
            /* NONE is an error here: the loss is a scalar, and so is an
             * element output. */
            items = c->red == SEGLOSS_REDUCTION_NONE ? -1 : 1;
            make_outputs(c, 1, in);
            if (f & 2) {
                float *elems = alloc_exact(1, sizeof(float));
                FUZZ_CHECK(segloss_dice_bce_forward(&loss, elems, xa, &c->target, &c->shape,
                                                    &o) == SEGLOSS_ERR_ARG);
                free(elems);
            }
            st = segloss_dice_bce_forward(&loss, NULL, xa, &c->target, &c->shape, &o);
            FUZZ_CHECK(st != SEGLOSS_OK || (c->shape_ok && items >= 0));
            FUZZ_CHECK(st != SEGLOSS_ERR_INTERNAL);
            st2 = segloss_dice_bce_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            check_repeat(c, st, loss, st2, loss2);
            segloss_status st_f = st;
            st = segloss_dice_bce_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
            check_backward(c, st);
            fused fb;
            fused_alloc(&fb, c, 1);
            free(fb.elems); /* no loss array here */
            fb.elems = NULL;
            fb.n_elems = 0;
            st2 = segloss_dice_bce_forward_backward(&loss2, NULL, fb.grad, xa, &c->target,
                                                    &c->shape, &o, c->grad_out);
            check_fused(c, &fb, st_f, st, loss, st2, loss2);
            break;
        }
        if (c->family == F_TVERSKY) {
            segloss_tversky_opts o;
            o = segloss_tversky_opts_default();
            o.region = r;
            uint8_t f = fuzz_u8(in);
            double a = value_param(fuzz_u8(in)), b = value_param(fuzz_u8(in));
            double gm = value_param(fuzz_u8(in));
            if (f & 1) { /* else MONAI's defaults */
                o.alpha = a;
                o.beta = b;
                o.gamma = gm;
            }
            items = shape_count(segloss_tversky_items_shape(&ishape, &c->shape, &o), &ishape);
            make_outputs(c, items, in);
            st = segloss_tversky_forward(&loss, c->elems, xa, &c->target, &c->shape, &o);
            check_forward(c, st, loss, items);
            st2 = segloss_tversky_forward(&loss2, NULL, xa, &c->target, &c->shape, &o);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            st = segloss_tversky_backward(c->grad, xa, &c->target, &c->shape, &o, c->grad_out);
            check_backward(c, st);
            break;
        }
        items = shape_count(segloss_dice_items_shape(&ishape, &c->shape, &r), &ishape);
        make_outputs(c, items, in);
        if (c->family == F_DICE) {
            st = segloss_dice_forward(&loss, c->elems, xa, &c->target, &c->shape, &r);
            check_forward(c, st, loss, items);
            st2 = segloss_dice_forward(&loss2, NULL, xa, &c->target, &c->shape, &r);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            segloss_status st_f = st;
            st = segloss_dice_backward(c->grad, xa, &c->target, &c->shape, &r, c->grad_out);
            check_backward(c, st);
            fused fb;
            fused_alloc(&fb, c, items);
            st2 = segloss_dice_forward_backward(&loss2, fb.elems, fb.grad, xa, &c->target,
                                                &c->shape, &r, c->grad_out);
            check_fused(c, &fb, st_f, st, loss, st2, loss2);
            break;
        } else {
            st = segloss_jaccard_forward(&loss, c->elems, xa, &c->target, &c->shape, &r);
            check_forward(c, st, loss, items);
            st2 = segloss_jaccard_forward(&loss2, NULL, xa, &c->target, &c->shape, &r);
            if (c->red != SEGLOSS_REDUCTION_NONE) check_repeat(c, st, loss, st2, loss2);
            st = segloss_jaccard_backward(c->grad, xa, &c->target, &c->shape, &r, c->grad_out);
        }
        check_backward(c, st);
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    fcase c;
    memset(&c, 0, sizeof c);
    c.family = fuzz_u8(&in) % F_COUNT;
    uint8_t r = fuzz_u8(&in);
    static const int odd_ranks[3] = {0, 6, 9};
    c.shape.ndim = r % 16 < 13 ? 1 + r % 16 % 5 : odd_ranks[r % 16 - 13];
    for (int k = 0; k < 5; k++) {
        uint8_t b = fuzz_u8(&in);
        int64_t d = 1 + b % 5;
        if (b == 255) d = 0;
        else if (b == 254) d = -1;
        else if (b == 253) d = (int64_t)1 << 62;
        if (k < SEGLOSS_MAX_DIMS) c.shape.dim[k] = d;
    }
    if (c.shape.ndim == 6) c.shape.dim[5] = 2;
    c.shape_ok = c.shape.ndim <= SEGLOSS_MAX_DIMS && segloss_shape_numel(&c.shape, &c.numel) == SEGLOSS_OK;
    if (!c.shape_ok) c.numel = -1;
    c.red = pick_reduction(fuzz_u8(&in));
    run_case(&c, &in);
    case_free(&c);
    return 0;
}
