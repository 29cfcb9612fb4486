/* segloss loss: reading and checking the arrays, and explaining failures.
 *
 * Every message names the file at fault. The input is converted to
 * float32; the target is passed to the library as it is (aligned); weights
 * of any dtype are converted, and must be finite and >= 0. Before the loss
 * runs, non-finite inputs are refused (count and first index) unless
 * --allow-nonfinite; after a failed call, loss_fail says which value was
 * bad and where. */
#include "loss.h"
#include "opts.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int loss_oom(void) {
    cli_error("out of memory");
    return CLI_INTERNAL;
}

/* Records p as owned by d (freed by loss_free_data); returns p. */
static void *keep(loss_data *d, void *p) {
    for (int k = 0; k < 4; k++)
        if (!d->owned[k]) return d->owned[k] = p;
    free(p); /* cannot happen: at most four conversions */
    return NULL;
}

void loss_free_data(loss_data *d) {
    segloss_npy_free(&d->in);
    segloss_npy_free(&d->tgt);
    segloss_npy_free(&d->w);
    segloss_npy_free(&d->pw);
    for (int k = 0; k < 4; k++) free(d->owned[k]);
}

/* ---------------------------------------------------------------------- */
/* The first bad value                                                      */
/* ---------------------------------------------------------------------- */
/* What find_bad scans, and what counts as bad there. */
typedef enum bad_rule {
    BAD_INPUT_NONFINITE, /* input elements the ignore index does not exclude: NaN, inf */
    BAD_INPUT_NAN,       /* every input element: NaN */
    BAD_TARGET_DENSE,    /* target: outside [0,1] (float dtypes) or not 0/1 (others) */
    BAD_TARGET_CLASS     /* class-index target: outside [0, C) and not the ignore index */
} bad_rule;

/* index and value are segloss_check_report's; the rest is what the
 * messages here use besides. */
typedef struct bad_report {
    int64_t index;  /* the first bad element (flat index); -1: none */
    double value;   /* its value */
    int64_t count;  /* bad elements */
    double max;     /* BAD_TARGET_DENSE: the largest value checked (for the 0/255 hint) */
    int binary;     /* BAD_INPUT_NONFINITE: some values checked, all exactly 0 or 1 */
} bad_report;

/* The raw target value at flat index j, as a double (bool: 0/1); for
 * find_bad only. */
static double target_at(const loss_data *d, int64_t j) {
    size_t es = segloss_dtype_size(d->target.dtype);
    const unsigned char *src = (const unsigned char *)d->target.data + (size_t)j * es;
    switch (d->target.dtype) {
#define CLI_TGT(T)                                                          \
    {                                                                       \
        T v_;                                                               \
        memcpy(&v_, src, sizeof v_);                                        \
        return (double)v_;                                                  \
    }
    case SEGLOSS_F32: CLI_TGT(float)
    case SEGLOSS_F64: CLI_TGT(double)
    case SEGLOSS_U8: CLI_TGT(uint8_t)
    case SEGLOSS_I8: CLI_TGT(int8_t)
    case SEGLOSS_I16: CLI_TGT(int16_t)
    case SEGLOSS_I32: CLI_TGT(int32_t)
    case SEGLOSS_I64: CLI_TGT(int64_t)
    case SEGLOSS_U16: CLI_TGT(uint16_t)
    case SEGLOSS_U32: CLI_TGT(uint32_t)
    case SEGLOSS_U64: CLI_TGT(uint64_t)
#undef CLI_TGT
    case SEGLOSS_BOOL: return *src != 0;
    }
    return 0.0;
}

/* Scans the input or the target for `rule` (see bad_rule). The ignore
 * index: ce's (--ignore-index, default -100) always; other kinds' only
 * when given; class indices compare with it as an integer. An input
 * element is excluded (never read by the loss) when its target element,
 * or with class indices its pixel's target, equals the ignore index.
 *
 * The swap: BAD_TARGET_CLASS is segloss_target_check(&rep, &d->target, n,
 * SEGLOSS_TARGET_INDEX, classes, ignore), BAD_TARGET_DENSE the same with
 * SEGLOSS_TARGET_DENSE (ignore: SEGLOSS_IGNORE_NONE unless given),
 * BAD_INPUT_NAN segloss_input_check(&rep, d->x, d->numel,
 * SEGLOSS_INPUT_PROB) (the DOMAIN message then keys on isnan(rep.value)),
 * BAD_INPUT_NONFINITE the same with SEGLOSS_INPUT_FINITE; rep.index and
 * rep.value fill index and value.
 * Not in the report: `count` (the non-finite message gives it), `max`
 * (the 0/255 hint: key it on value == 255 then), `binary` (the bce
 * warning, a CLI heuristic), and BAD_INPUT_NONFINITE's skipping of ignored
 * elements: keep this scan for those, or drop them. */
/* TODO(lead): replace with segloss_target_check/segloss_input_check */
static void find_bad(bad_report *r, const loss_cfg *c, const loss_data *d, bad_rule rule) {
    const int ce = (c->kind->flags & LK_CLASS_TARGET) != 0;
    const double class_ignore = c->have_ignore ? (double)(int64_t)c->ignore_index : -100.0;
    const double ignore = ce ? class_ignore : c->ignore_index;
    const int ignoring = c->have_ignore || ce;
    const int soft = d->target.dtype == SEGLOSS_F32 || d->target.dtype == SEGLOSS_F64;
    const int class_target = loss_class_target(c);
    int64_t n = d->numel, classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    int64_t inner = 1, checked = 0;
    for (int k = 2; k < d->shape.ndim; k++) inner *= d->shape.dim[k];
    if (rule == BAD_TARGET_CLASS) {
        segloss_shape ts;
        loss_class_target_shape(&d->shape, &ts);
        segloss_shape_numel(&ts, &n);
    }
    *r = (bad_report){-1, 0.0, 0, 0.0, 1};
    for (int64_t i = 0; i < n; i++) {
        double v = 0.0;
        int bad = 0;
        switch (rule) {
        case BAD_INPUT_NONFINITE: {
            int64_t j = !class_target      ? i
                        : d->shape.ndim < 2 ? 0
                                            : i / (classes * inner) * inner + i % inner;
            if (ignoring && target_at(d, j) == ignore) continue;
            v = d->x[i];
            bad = !isfinite(v);
            r->binary &= v == 0.0 || v == 1.0;
            checked++;
            break;
        }
        case BAD_INPUT_NAN:
            v = d->x[i];
            bad = isnan(v);
            break;
        case BAD_TARGET_DENSE: {
            /* as float32, the ignore index too */
            float f = 0.0f;
            size_t es = segloss_dtype_size(d->target.dtype);
            segloss_convert_to_f32(&f, (const char *)d->target.data + (size_t)i * es,
                                   d->target.dtype, 1);
            if (c->have_ignore && f == (float)c->ignore_index) continue;
            bad = soft ? !(f >= 0.0f && f <= 1.0f) : !(f == 0.0f || f == 1.0f);
            if (f > r->max) r->max = f;
            v = f;
            break;
        }
        case BAD_TARGET_CLASS:
            v = target_at(d, i);
            bad = v != class_ignore && !(v >= 0 && v < (double)classes);
            break;
        }
        if (bad && r->count++ == 0) {
            r->index = i;
            r->value = v;
        }
    }
    r->binary = r->binary && checked > 0;
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                  */
/* ---------------------------------------------------------------------- */
/* A float32 view of any array: the data itself when it is float32 and
 * aligned, otherwise a converted copy. */
static int as_f32(loss_data *d, const segloss_npy *a, const float **out) {
    if (a->dtype == SEGLOSS_F32 && (uintptr_t)a->data % _Alignof(float) == 0) {
        *out = a->data;
        return CLI_OK;
    }
    float *buf = keep(d, malloc((size_t)a->numel * sizeof(float) + 1));
    if (!buf) return loss_oom();
    segloss_status st = segloss_convert_to_f32(buf, a->data, a->dtype, a->numel);
    if (st != SEGLOSS_OK) {
        cli_error("cannot convert to float32: %s", segloss_strerror(st));
        return cli_status_exit(st);
    }
    *out = buf;
    return CLI_OK;
}

/* NumPy broadcasting of `a` (right-aligned) against `full`. */
static int broadcasts(const segloss_shape *a, const segloss_shape *full) {
    if (a->ndim > full->ndim) return 0;
    int off = full->ndim - a->ndim;
    for (int k = 0; k < a->ndim; k++)
        if (a->dim[k] != 1 && a->dim[k] != full->dim[k + off]) return 0;
    return 1;
}

static const char *nonfinite_name(double v) { return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

/* Weights must be finite and >= 0 (PyTorch accepts anything: a NaN weight
 * makes the loss NaN, a negative one rewards mistakes). Returns an exit
 * code; `what` names the weights in the message. */
static int check_weights(const float *w, int64_t n, const char *path, const char *what) {
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(w[i]) && bad++ == 0) first = i;
    if (bad) {
        cli_error("%s: %lld non-finite %s value%s (first at index %lld: %s); weights must be "
                  "finite and >= 0",
                  path, (long long)bad, what, bad == 1 ? "" : "s", (long long)first,
                  nonfinite_name(w[first]));
        return CLI_INPUT;
    }
    for (int64_t i = 0; i < n; i++)
        if (w[i] < 0) {
            cli_error("%s: negative %s %g at index %lld; weights must be finite and >= 0", path,
                      what, (double)w[i], (long long)i);
            return CLI_INPUT;
        }
    return CLI_OK;
}

/* --weight FILE / --pos-weight FILE: any numeric dtype, converted. */
static int load_weight_file(loss_data *d, segloss_npy *a, segloss_farray *out,
                            const char *path, const char *what, const char *input,
                            size_t max_bytes) {
    int rc = cli_read_npy(a, path, max_bytes);
    if (rc) return rc;
    char s1[CLI_SHAPE_STRLEN], s2[CLI_SHAPE_STRLEN];
    if (!broadcasts(&a->shape, &d->shape)) {
        cli_error("%s: %s of shape %s cannot be broadcast to %s %s", path, what,
                  cli_shape_str(s1, sizeof s1, &a->shape), input,
                  cli_shape_str(s2, sizeof s2, &d->shape));
        return CLI_INPUT;
    }
    out->shape = a->shape;
    rc = as_f32(d, a, &out->data);
    if (!rc) rc = check_weights(out->data, a->numel, path, what);
    return rc;
}

/* The `count` weights (each >= 0) of a comma-separated list given as
 * option `opt`, as float32 in *out. Returns an exit code. */
static int weight_list(loss_data *d, const char *list, const char *opt, int64_t count,
                       float **out) {
    static const cli_range weight_range = {0.0, HUGE_VAL, 0, "weights must be >= 0"};
    float *w = keep(d, malloc((size_t)count * sizeof(float)));
    double *v = malloc((size_t)count * sizeof(double));
    if (!w || !v) {
        free(v);
        return loss_oom();
    }
    int rc = cli_list_numbers(list, opt, &weight_range, v);
    for (int64_t k = 0; k < count && !rc; k++) w[k] = (float)v[k];
    free(v);
    *out = w;
    return rc;
}

/* --pos-weight a,b,c: one weight per channel (axis 1), as an array of shape
 * (C, 1, ..., 1) and rank ndim-1 so that it broadcasts against axis 1. */
static int load_pos_weight_list(loss_data *d, const char *list, const char *input) {
    char s[CLI_SHAPE_STRLEN];
    int64_t count = cli_list_count(list);
    float *pw;
    int rc = weight_list(d, list, "--pos-weight", count, &pw);
    if (rc) return rc;
    if (d->shape.ndim < 2) {
        cli_error("--pos-weight %s gives one weight per channel (axis 1), but %s has shape %s "
                  "(no channel axis)",
                  list, input, cli_shape_str(s, sizeof s, &d->shape));
        return CLI_USAGE;
    }
    if (count != d->shape.dim[1]) {
        cli_error("--pos-weight has %lld value%s but %s has %lld channels (axis 1 of %s)",
                  (long long)count, count == 1 ? "" : "s", input, (long long)d->shape.dim[1],
                  cli_shape_str(s, sizeof s, &d->shape));
        return CLI_USAGE;
    }
    d->pos_weight.data = pw;
    memset(&d->pos_weight.shape, 0, sizeof d->pos_weight.shape);
    d->pos_weight.shape.ndim = d->shape.ndim - 1;
    d->pos_weight.shape.dim[0] = count;
    for (int k = 1; k < d->shape.ndim - 1; k++) d->pos_weight.shape.dim[k] = 1;
    return CLI_OK;
}

/* ce --class-weight a,b,...: one weight per class (axis 1; axis 0 of a (C)
 * input), as a (C,) array. */
static int load_class_weight(const loss_cfg *c, loss_data *d) {
    int64_t count = cli_list_count(c->class_weight);
    int64_t classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    if (count != classes) {
        char s[CLI_SHAPE_STRLEN];
        cli_error("--class-weight has %lld value%s but %s has %lld classes (axis %d of %s)",
                  (long long)count, count == 1 ? "" : "s", c->input, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1, cli_shape_str(s, sizeof s, &d->shape));
        return CLI_USAGE;
    }
    float *w;
    int rc = weight_list(d, c->class_weight, "--class-weight", count, &w);
    if (rc) return rc;
    d->class_weight.data = w;
    memset(&d->class_weight.shape, 0, sizeof d->class_weight.shape);
    d->class_weight.shape.ndim = 1;
    d->class_weight.shape.dim[0] = count;
    return CLI_OK;
}

/* Before the loss runs: non-finite inputs are an error unless
 * --allow-nonfinite (LK_FINITE kinds refuse them always); inputs at
 * ignored elements are not read by the losses and not checked. Also notes
 * bce predictions that are all exactly 0 or 1 (a warning once the loss is
 * computed). */
static int check_input_values(const loss_cfg *c, loss_data *d) {
    const loss_kind *k = c->kind;
    bad_report r;
    find_bad(&r, c, d, BAD_INPUT_NONFINITE);
    if (r.count && (!c->allow_nonfinite || (k->flags & LK_FINITE))) {
        cli_error("%s: %lld non-finite value%s (first at index %lld: %s); %s", c->input,
                  (long long)r.count, r.count == 1 ? "" : "s", (long long)r.index,
                  nonfinite_name(r.value),
                  (k->flags & LK_FINITE)
                      ? k->finite_why
                      : "pass --allow-nonfinite to propagate them as PyTorch does");
        return CLI_INPUT;
    }
    d->binary_bce = (k->flags & LK_PROBS) && r.binary;
    return CLI_OK;
}

static int ends_with_npy(const char *s) {
    size_t n = strlen(s);
    return n >= 4 && (strcmp(s + n - 4, ".npy") == 0 || strcmp(s + n - 4, ".NPY") == 0);
}

/* The target: read, dtype and shape checked against the input, aligned. */
static int load_target(const loss_cfg *c, loss_data *d) {
    char s1[CLI_SHAPE_STRLEN], s2[CLI_SHAPE_STRLEN];
    int rc = cli_read_npy(&d->tgt, c->target, c->max_bytes);
    if (rc) return rc;
    const segloss_shape *ts = &d->tgt.shape;
    int class_index = loss_class_target(c);
    const char *who = (c->kind->flags & LK_CLASS_TARGET) ? c->kind->name : "--activation softmax";
    if (class_index && (d->tgt.dtype == SEGLOSS_F32 || d->tgt.dtype == SEGLOSS_F64 ||
                        d->tgt.dtype == SEGLOSS_BOOL)) {
        cli_error("%s: %s needs integer class indices, got dtype %s", c->target, who,
                  segloss_dtype_name(d->tgt.dtype));
        return CLI_INPUT;
    }
    segloss_shape want = d->shape;
    if (class_index) loss_class_target_shape(&d->shape, &want);
    int same = ts->ndim == want.ndim;
    for (int k = 0; same && k < ts->ndim; k++) same = ts->dim[k] == want.dim[k];
    if (!same) {
        cli_error("shape mismatch: %s %s vs %s %s%s%s%s", c->input,
                  cli_shape_str(s1, sizeof s1, &d->shape), c->target,
                  cli_shape_str(s2, sizeof s2, ts),
                  class_index ? " (" : "", class_index ? who : "",
                  class_index ? ": the target is the input's shape without axis 1)" : "");
        return CLI_INPUT;
    }
    /* The library reads typed targets in place: make sure they are aligned. */
    size_t esize = segloss_dtype_size(d->tgt.dtype);
    d->target.dtype = d->tgt.dtype;
    d->target.data = d->tgt.data;
    if (esize > 1 && (uintptr_t)d->tgt.data % esize != 0) {
        void *copy = keep(d, malloc((size_t)d->tgt.numel * esize + 1));
        if (!copy) return loss_oom();
        memcpy(copy, d->tgt.data, (size_t)d->tgt.numel * esize);
        d->target.data = copy;
    }
    return CLI_OK;
}

int loss_load_data(const loss_cfg *c, loss_data *d) {
    char s1[CLI_SHAPE_STRLEN];
    int rc = cli_read_npy(&d->in, c->input, c->max_bytes);
    if (rc) return rc;
    if (d->in.dtype != SEGLOSS_F32 && d->in.dtype != SEGLOSS_F64) {
        cli_error("%s: input dtype %s not supported (predictions must be float32 or float64)",
                  c->input, segloss_dtype_name(d->in.dtype));
        return CLI_INPUT;
    }
    d->shape = d->in.shape;
    d->numel = d->in.numel;
    if (d->numel == 0) {
        cli_error("%s: array is empty (shape %s)", c->input,
                  cli_shape_str(s1, sizeof s1, &d->shape));
        return CLI_INPUT;
    }
    if ((rc = as_f32(d, &d->in, &d->x))) return rc;
    if ((rc = load_target(c, d))) return rc;
    if ((rc = check_input_values(c, d))) return rc;

    if (c->weight &&
        (rc = load_weight_file(d, &d->w, &d->weight, c->weight, "weight", c->input,
                               c->max_bytes)))
        return rc;
    if (c->pos_weight) {
        rc = ends_with_npy(c->pos_weight)
                 ? load_weight_file(d, &d->pw, &d->pos_weight, c->pos_weight, "pos-weight",
                                    c->input, c->max_bytes)
                 : load_pos_weight_list(d, c->pos_weight, c->input);
        if (rc) return rc == CLI_USAGE ? loss_usage_error() : rc;
    }
    if (c->class_weight && (rc = load_class_weight(c, d)))
        return rc == CLI_USAGE ? loss_usage_error() : rc;
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* Errors from the loss itself                                              */
/* ---------------------------------------------------------------------- */
/* A SEGLOSS_ERR_TARGET of class indices: the first one outside [0, C) that
 * is not the ignore index. */
static void class_index_error(const loss_cfg *c, const loss_data *d) {
    int64_t classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    int64_t ignore = c->have_ignore ? (int64_t)c->ignore_index : -100;
    bad_report r;
    find_bad(&r, c, d, BAD_TARGET_CLASS);
    if (r.index >= 0 && !c->have_ignore && !(c->kind->flags & LK_CLASS_TARGET))
        cli_error("%s: class index %.17g outside [0, %lld) (the input has %lld classes on axis "
                  "1; --ignore-index V skips V)",
                  c->target, r.value, (long long)classes, (long long)classes);
    else if (r.index >= 0)
        cli_error("%s: class index %.17g outside [0, %lld) (the input has %lld classes on axis "
                  "%d) and not the ignore index %lld",
                  c->target, r.value, (long long)classes, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1, (long long)ignore);
    else
        cli_error("%s: class index outside [0, %lld)", c->target, (long long)classes);
}

/* A SEGLOSS_ERR_TARGET: the first bad value says what went wrong. */
static void target_error(const loss_cfg *c, const loss_data *d) {
    if (loss_class_target(c)) {
        class_index_error(c, d);
        return;
    }
    const char *msg = "target values outside [0,1]";
    bad_report r;
    find_bad(&r, c, d, BAD_TARGET_DENSE);
    if (r.index >= 0 && isnan(r.value)) cli_error("%s: target contains NaN", c->target);
    else if (r.max == 255.0)
        cli_error("%s: %s (masks saved as 0/255? divide by 255)%s", c->target, msg,
                  (c->kind->groups & LG(IGNORE))
                      ? "; if 255 marks void pixels, use --ignore-index 255"
                      : "");
    else if (r.index >= 0 && r.value > 0.0 && r.value < 1.0)
        cli_error("%s: %s dtype target values must be 0 or 1, found %g", c->target,
                  segloss_dtype_name(d->target.dtype), r.value);
    else if (r.index >= 0) cli_error("%s: %s (found %g)", c->target, msg, r.value);
    else cli_error("%s: %s", c->target, msg);
}

int loss_fail(const loss_cfg *c, const loss_data *d, segloss_status st) {
    char s[CLI_SHAPE_STRLEN];
    const loss_kind *k = c->kind;
    switch (st) {
    case SEGLOSS_ERR_DOMAIN: {
        bad_report r;
        find_bad(&r, c, d, BAD_INPUT_NAN);
        if (r.index >= 0) cli_error("%s: NaN values (probabilities must lie in [0,1])", c->input);
        else cli_error("%s: values outside [0,1]%s", c->input, k->domain_hint);
        break;
    }
    case SEGLOSS_ERR_TARGET: target_error(c, d); break;
    case SEGLOSS_ERR_SHAPE:
        cli_error("%s: shape %s not supported by %s%s", c->input,
                  cli_shape_str(s, sizeof s, &d->shape), k->name,
                  c->region.activation == SEGLOSS_ACTIVATION_SOFTMAX
                      ? " --activation softmax (needs (N, C, spatial...) with C >= 2)"
                  : (k->flags & LK_REGION)
                      ? " (needs 1 to 5 dimensions: (N, C, spatial...) or one image)"
                      : "");
        break;
    case SEGLOSS_ERR_NONFINITE:
        cli_error("%s: %s (%s needs finite inputs)", c->input, segloss_strerror(st), k->name);
        break;
    case SEGLOSS_ERR_EMPTY:
    case SEGLOSS_ERR_OVERFLOW:
    case SEGLOSS_ERR_DTYPE: cli_error("%s: %s", c->input, segloss_strerror(st)); break;
    case SEGLOSS_ERR_ARG: cli_error("loss %s: %s", k->name, segloss_strerror(st)); break;
    case SEGLOSS_ERR_NOMEM: cli_error("out of memory"); break;
    default: cli_error("loss %s: internal error: %s", k->name, segloss_strerror(st)); break;
    }
    return cli_status_exit(st);
}
