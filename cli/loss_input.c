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
    segloss_npy_free(&d->dm);
    for (int k = 0; k < 4; k++) free(d->owned[k]);
}

/* ---------------------------------------------------------------------- */
/* The first bad value                                                      */
/* ---------------------------------------------------------------------- */
/* The ignore value the kind's library call applies: ce's default
 * (PyTorch's -100) unless --ignore-index; the other kinds' none. */
static int64_t lib_ignore(const loss_cfg *c) {
    return loss_ignore_value(c, (c->kind->flags & LK_CLASS_TARGET)
                                    ? segloss_ce_opts_default().ignore_index
                                    : SEGLOSS_IGNORE_NONE);
}

/* 1 when n > 0 and every value is exactly 0 or 1 (bce on binarised
 * predictions: a warning, not a rule of the library). */
static int all_binary(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(x[i] == 0.0f || x[i] == 1.0f)) return 0;
    return n > 0;
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

/* Before the loss runs: non-finite inputs (the library's FINITE input
 * rule, every element) are an error unless --allow-nonfinite (LK_FINITE
 * kinds refuse them always). Also notes bce predictions that are all
 * exactly 0 or 1 (a warning once the loss is computed). */
static int check_input_values(const loss_cfg *c, loss_data *d) {
    const loss_kind *k = c->kind;
    segloss_check_report r;
    if (segloss_input_check(&r, d->x, d->numel, SEGLOSS_INPUT_FINITE) == SEGLOSS_ERR_NOMEM)
        return loss_oom();
    if (r.count && (!c->allow_nonfinite || (k->flags & LK_FINITE))) {
        cli_error("%s: %lld non-finite value%s (first at index %lld: %s); %s", c->input,
                  (long long)r.count, r.count == 1 ? "" : "s", (long long)r.index,
                  nonfinite_name(r.value),
                  (k->flags & LK_FINITE)
                      ? k->finite_why
                      : "pass --allow-nonfinite to propagate them as PyTorch does");
        return CLI_INPUT;
    }
    d->binary_bce = (k->flags & LK_PROBS) && all_binary(d->x, d->numel);
    return CLI_OK;
}

/* gwdl --distance-matrix: (C, C) for the input's C channels (axis 1), any
 * numeric dtype, finite, >= 0 and not all 0 (the library divides by the
 * largest entry). */
static int load_dist_matrix(const loss_cfg *c, loss_data *d) {
    char s1[CLI_SHAPE_STRLEN];
    int rc = cli_read_npy(&d->dm, c->dist_matrix, c->max_bytes);
    if (rc) return rc;
    int64_t ch = d->shape.ndim >= 2 ? d->shape.dim[1] : 0;
    if (d->dm.shape.ndim != 2 || d->dm.shape.dim[0] != ch || d->dm.shape.dim[1] != ch) {
        cli_error("%s: distance matrix of shape %s, expected (%lld, %lld) for the %lld classes "
                  "of %s (axis 1)",
                  c->dist_matrix, cli_shape_str(s1, sizeof s1, &d->dm.shape), (long long)ch,
                  (long long)ch, (long long)ch, c->input);
        return CLI_INPUT;
    }
    if ((rc = as_f32(d, &d->dm, &d->dist_matrix)) ||
        (rc = check_weights(d->dist_matrix, d->dm.numel, c->dist_matrix, "distance")))
        return rc;
    for (int64_t i = 0; i < d->dm.numel; i++)
        if (d->dist_matrix[i] > 0.0f) return CLI_OK;
    cli_error("%s: every distance is 0 (the matrix is divided by its largest entry)",
              c->dist_matrix);
    return CLI_INPUT;
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
    int class_index = loss_class_target(c, d);
    const char *who = (c->kind->flags & LK_CLASS_TARGET) ||
                              ((c->kind->flags & LK_MULTICLASS) && !c->have_activation)
                          ? c->kind->name
                          : "--activation softmax";
    if (class_index && (d->tgt.dtype == SEGLOSS_F32 || d->tgt.dtype == SEGLOSS_F64)) {
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
    if (c->dist_matrix && (rc = load_dist_matrix(c, d))) return rc;
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* Errors from the loss itself                                              */
/* ---------------------------------------------------------------------- */
/* A SEGLOSS_ERR_TARGET: the library's own check names the first bad
 * element (flat index into the target) and its value. */
static void target_error(const loss_cfg *c, const loss_data *d) {
    int cls = loss_class_target(c, d);
    int64_t classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    segloss_check_report r;
    segloss_target_check(&r, &d->target, d->tgt.numel,
                         cls ? SEGLOSS_TARGET_INDEX : SEGLOSS_TARGET_DENSE, classes, lib_ignore(c));
    long long at = (long long)r.index;
    if (r.index < 0)
        cli_error("%s: %s", c->target,
                  cls ? "class index outside [0, C)" : "target values outside [0,1]");
    else if (cls && c->have_ignore)
        cli_error("%s: class index %.17g at index %lld outside [0, %lld) (the input has %lld "
                  "classes on axis %d) and not the ignore index %lld",
                  c->target, r.value, at, (long long)classes, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1, (long long)lib_ignore(c));
    else if (cls && (c->kind->flags & LK_CLASS_TARGET))
        cli_error("%s: class index %.17g at index %lld outside [0, %lld) (the input has %lld "
                  "classes on axis %d) and not the ignore index -100",
                  c->target, r.value, at, (long long)classes, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1);
    else if (cls)
        cli_error("%s: class index %.17g at index %lld outside [0, %lld) (the input has %lld "
                  "classes on axis 1; --ignore-index V skips V)",
                  c->target, r.value, at, (long long)classes, (long long)classes);
    else if (isnan(r.value)) cli_error("%s: target contains NaN (first at index %lld)", c->target, at);
    else if (r.value == 255.0)
        cli_error("%s: target values outside [0,1] (first at index %lld: 255; masks saved as "
                  "0/255? divide by 255)%s",
                  c->target, at,
                  (c->kind->groups & LG(IGNORE))
                      ? "; if 255 marks void pixels, use --ignore-index 255"
                      : "");
    else if (d->target.dtype == SEGLOSS_F32 || d->target.dtype == SEGLOSS_F64)
        cli_error("%s: target values outside [0,1] (first at index %lld: %g)", c->target, at,
                  r.value);
    else
        cli_error("%s: %s target values must be 0 or 1 (first at index %lld: %.17g)", c->target,
                  segloss_dtype_name(d->target.dtype), at, r.value);
}

int loss_fail(const loss_cfg *c, const loss_data *d, segloss_status st) {
    char s[CLI_SHAPE_STRLEN];
    const loss_kind *k = c->kind;
    switch (st) {
    case SEGLOSS_ERR_DOMAIN: {
        segloss_check_report r;
        segloss_input_check(&r, d->x, d->numel, SEGLOSS_INPUT_PROB);
        if (r.index >= 0 && isnan(r.value))
            cli_error("%s: NaN values (first at index %lld; probabilities must lie in [0,1])",
                      c->input, (long long)r.index);
        else if (r.index >= 0)
            cli_error("%s: values outside [0,1] (first at index %lld: %g)%s", c->input,
                      (long long)r.index, r.value, k->domain_hint);
        else cli_error("%s: values outside [0,1]%s", c->input, k->domain_hint);
        break;
    }
    case SEGLOSS_ERR_TARGET: target_error(c, d); break;
    case SEGLOSS_ERR_SHAPE:
        cli_error("%s: shape %s not supported by %s%s", c->input,
                  cli_shape_str(s, sizeof s, &d->shape), k->name,
                  (k->groups & LG(UNIFIED_FOCAL))
                      ? " (binary: needs (N, C, spatial...) with 1 to 3 spatial axes and C = 1 or "
                        "2; C = 2 with --activation softmax)"
                  : loss_activation(c, d) == SEGLOSS_ACTIVATION_SOFTMAX
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
