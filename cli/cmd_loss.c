/* segloss loss KIND -i INPUT.npy -t TARGET.npy [options]
 *
 * A thin layer over the library's loss calls: read the arrays, check them
 * (naming the file at fault), run forward (and backward with --grad), then
 * write every output all-or-nothing and print the loss.
 *
 * Adding a loss is one entry in `kinds` (name, option groups, forward,
 * backward, shape of the --out array) plus, if it has options of its own,
 * one opt_group. */
#include "commands.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Parsed command line and loaded arrays                                   */
/* ---------------------------------------------------------------------- */
struct loss_kind;

typedef struct loss_cfg {
    const struct loss_kind *kind;
    const char *input, *target, *weight, *pos_weight, *grad_path, *out_path;
    segloss_reduction reduction;
    int json;
    segloss_dice_opts region;  /* region losses: activation, smoothing, flags */
    int have_snr, have_sdr;
    /* focal, ce, lovasz-hinge, and --ignore-index (bce, bce-logits, focal) */
    int have_ignore, have_alpha, have_gamma, per_image;
    double ignore_index, focal_alpha, focal_gamma, label_smoothing;
    const char *class_weight;
    /* tversky, generalized-dice, dice-bce */
    int have_tv_alpha, have_tv_beta, have_tv_gamma, have_ld, have_lb;
    double tv_alpha, tv_beta, tv_gamma, lambda_dice, lambda_bce;
    segloss_gdice_weight w_type;
    size_t max_bytes;          /* --max-bytes: cap on each file's data (0: none) */
    int allow_nonfinite;       /* --allow-nonfinite */
} loss_cfg;

typedef struct loss_data {
    segloss_npy in, tgt, w, pw;      /* files as read */
    const float *x;                  /* input as float32 */
    segloss_shape shape;             /* input's (= target's) shape */
    int64_t numel;
    segloss_target target;
    segloss_farray weight, pos_weight;
    segloss_farray class_weight;     /* ce --class-weight */
    void *owned[4];                  /* converted copies, freed at the end */
    int binary_bce;                  /* bce on predictions that are all 0 or 1 */
} loss_data;

/* ---------------------------------------------------------------------- */
/* The losses                                                              */
/* ---------------------------------------------------------------------- */
typedef segloss_status (*forward_fn)(const loss_cfg *, const loss_data *, double *loss,
                                     float *elems);
typedef segloss_status (*backward_fn)(const loss_cfg *, const loss_data *, float *grad,
                                      const float *grad_out);
/* Forward and backward in one call (the library's fused
 * segloss_*_forward_backward: the same bits as the two calls). */
typedef segloss_status (*fused_fn)(const loss_cfg *, const loss_data *, double *loss,
                                   float *elems, float *grad, const float *grad_out);
/* Shape of the per-item loss array written by --out. */
typedef segloss_status (*out_shape_fn)(const loss_cfg *, const loss_data *, segloss_shape *);

static segloss_bce_opts bce_opts(const loss_cfg *c, const loss_data *d) {
    segloss_bce_opts o = {0};
    o.reduction = c->reduction;
    o.weight = d->weight;
    o.pos_weight = d->pos_weight;
    o.has_ignore_index = c->have_ignore;
    o.ignore_index = c->ignore_index;
    return o;
}

static segloss_dice_opts dice_opts(const loss_cfg *c) {
    segloss_dice_opts o = c->region;
    o.reduction = c->reduction;
    o.has_ignore_index = c->have_ignore;
    o.ignore_index = c->ignore_index;
    return o;
}

static segloss_status bce_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                              float *elems) {
    segloss_bce_opts o = bce_opts(c, d);
    return segloss_bce_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status bce_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                              const float *grad_out) {
    segloss_bce_opts o = bce_opts(c, d);
    return segloss_bce_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_status bcel_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                               float *elems) {
    segloss_bce_opts o = bce_opts(c, d);
    return segloss_bce_logits_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status bcel_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                               const float *grad_out) {
    segloss_bce_opts o = bce_opts(c, d);
    return segloss_bce_logits_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_status bcel_fused(const loss_cfg *c, const loss_data *d, double *loss,
                                 float *elems, float *grad, const float *grad_out) {
    segloss_bce_opts o = bce_opts(c, d);
    return segloss_bce_logits_forward_backward(loss, elems, grad, d->x, &d->target, &d->shape,
                                               &o, grad_out);
}

static segloss_status dice_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                               float *elems) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_dice_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status dice_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                               const float *grad_out) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_dice_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_status dice_fused(const loss_cfg *c, const loss_data *d, double *loss,
                                 float *elems, float *grad, const float *grad_out) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_dice_forward_backward(loss, elems, grad, d->x, &d->target, &d->shape, &o,
                                         grad_out);
}

static segloss_status jaccard_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                  float *elems) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_jaccard_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status jaccard_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                  const float *grad_out) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_jaccard_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_tversky_opts tversky_opts(const loss_cfg *c) {
    segloss_tversky_opts o = {0};
    o.region = dice_opts(c);
    o.custom_params = 1; /* MONAI's defaults unless given */
    o.alpha = c->have_tv_alpha ? c->tv_alpha : 0.5;
    o.beta = c->have_tv_beta ? c->tv_beta : 0.5;
    o.gamma = c->have_tv_gamma ? c->tv_gamma : 1.0;
    return o;
}

static segloss_status tversky_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                  float *elems) {
    segloss_tversky_opts o = tversky_opts(c);
    return segloss_tversky_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status tversky_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                  const float *grad_out) {
    segloss_tversky_opts o = tversky_opts(c);
    return segloss_tversky_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_generalized_dice_opts gdice_opts(const loss_cfg *c) {
    segloss_generalized_dice_opts o = {0};
    o.region = dice_opts(c);
    o.w_type = c->w_type;
    return o;
}

static segloss_status gdice_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                float *elems) {
    segloss_generalized_dice_opts o = gdice_opts(c);
    return segloss_generalized_dice_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status gdice_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                const float *grad_out) {
    segloss_generalized_dice_opts o = gdice_opts(c);
    return segloss_generalized_dice_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_dice_bce_opts dice_bce_opts(const loss_cfg *c, const loss_data *d) {
    segloss_dice_bce_opts o = {0};
    o.dice = dice_opts(c);
    o.pos_weight = d->pos_weight;
    o.custom_lambdas = 1;
    o.lambda_dice = c->have_ld ? c->lambda_dice : 1.0;
    o.lambda_bce = c->have_lb ? c->lambda_bce : 1.0;
    return o;
}

static segloss_status dice_bce_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                   float *elems) {
    segloss_dice_bce_opts o = dice_bce_opts(c, d);
    (void)elems; /* mean or sum only */
    return segloss_dice_bce_forward(loss, NULL, d->x, &d->target, &d->shape, &o);
}

static segloss_status dice_bce_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                   const float *grad_out) {
    segloss_dice_bce_opts o = dice_bce_opts(c, d);
    return segloss_dice_bce_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_status dice_bce_fused(const loss_cfg *c, const loss_data *d, double *loss,
                                     float *elems, float *grad, const float *grad_out) {
    segloss_dice_bce_opts o = dice_bce_opts(c, d);
    (void)elems; /* mean or sum only */
    return segloss_dice_bce_forward_backward(loss, NULL, grad, d->x, &d->target, &d->shape, &o,
                                             grad_out);
}

static segloss_focal_opts focal_opts(const loss_cfg *c, const loss_data *d) {
    segloss_focal_opts o = {0};
    o.reduction = c->reduction;
    o.weight = d->weight;
    o.custom_params = 1; /* torchvision's defaults unless given */
    o.alpha = c->have_alpha ? c->focal_alpha : 0.25;
    o.gamma = c->have_gamma ? c->focal_gamma : 2.0;
    o.has_ignore_index = c->have_ignore;
    o.ignore_index = c->ignore_index;
    return o;
}

static segloss_status focal_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                float *elems) {
    segloss_focal_opts o = focal_opts(c, d);
    return segloss_focal_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status focal_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                const float *grad_out) {
    segloss_focal_opts o = focal_opts(c, d);
    return segloss_focal_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

static segloss_ce_opts ce_opts(const loss_cfg *c, const loss_data *d) {
    segloss_ce_opts o = {0};
    o.reduction = c->reduction;
    o.class_weight = d->class_weight;
    o.custom_ignore_index = c->have_ignore;
    o.ignore_index = (int64_t)c->ignore_index;
    o.label_smoothing = c->label_smoothing;
    return o;
}

static segloss_status ce_fwd(const loss_cfg *c, const loss_data *d, double *loss, float *elems) {
    segloss_ce_opts o = ce_opts(c, d);
    return segloss_ce_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status ce_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                             const float *grad_out) {
    segloss_ce_opts o = ce_opts(c, d);
    return segloss_ce_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

/* ce: the target's shape, i.e. the input's without axis 1 ((C) -> ()). */
static segloss_status class_index_shape(const loss_cfg *c, const loss_data *d,
                                        segloss_shape *out) {
    (void)c;
    memset(out, 0, sizeof *out);
    if (d->shape.ndim < 1) return SEGLOSS_ERR_SHAPE;
    if (d->shape.ndim == 1) return SEGLOSS_OK;
    out->ndim = d->shape.ndim - 1;
    out->dim[0] = d->shape.dim[0];
    for (int k = 2; k < d->shape.ndim; k++) out->dim[k - 1] = d->shape.dim[k];
    return SEGLOSS_OK;
}

static segloss_lovasz_opts lovasz_opts(const loss_cfg *c) {
    segloss_lovasz_opts o = {0};
    o.reduction = c->reduction;
    o.per_image = c->per_image;
    o.has_ignore_index = c->have_ignore;
    o.ignore_index = c->ignore_index;
    return o;
}

static segloss_status lovasz_fwd(const loss_cfg *c, const loss_data *d, double *loss,
                                 float *elems) {
    segloss_lovasz_opts o = lovasz_opts(c);
    return segloss_lovasz_hinge_forward(loss, elems, d->x, &d->target, &d->shape, &o);
}

static segloss_status lovasz_bwd(const loss_cfg *c, const loss_data *d, float *grad,
                                 const float *grad_out) {
    segloss_lovasz_opts o = lovasz_opts(c);
    return segloss_lovasz_hinge_backward(grad, d->x, &d->target, &d->shape, &o, grad_out);
}

/* lovasz-hinge: one value per item, shape (items,). */
static segloss_status lovasz_shape(const loss_cfg *c, const loss_data *d, segloss_shape *out) {
    segloss_lovasz_opts o = lovasz_opts(c);
    memset(out, 0, sizeof *out);
    out->ndim = 1;
    return segloss_lovasz_num_items(&out->dim[0], &d->shape, &o);
}

static segloss_status elementwise_shape(const loss_cfg *c, const loss_data *d,
                                        segloss_shape *out) {
    (void)c;
    *out = d->shape;
    return SEGLOSS_OK;
}

/* Region losses (dice, jaccard, tversky): one value per (n, c), or per c
 * with --batch or --smp; C - 1 channels with --no-background. Arrays of
 * ndim <= 2 are one image (N = C = 1). */
static segloss_status region_shape(const loss_cfg *c, const loss_data *d, segloss_shape *out) {
    segloss_dice_opts o = dice_opts(c);
    return segloss_region_items_shape(out, &d->shape, &o);
}

/* generalized-dice: one value per image, (N,), or (1,) with --batch. */
static segloss_status gdice_shape(const loss_cfg *c, const loss_data *d, segloss_shape *out) {
    segloss_generalized_dice_opts o = gdice_opts(c);
    return segloss_generalized_dice_items_shape(out, &d->shape, &o);
}

/* dice-bce: mean or sum only, a scalar. */
static segloss_status scalar_shape(const loss_cfg *c, const loss_data *d, segloss_shape *out) {
    (void)c;
    (void)d;
    memset(out, 0, sizeof *out);
    return SEGLOSS_OK;
}


/* ---------------------------------------------------------------------- */
/* Options                                                                  */
/* ---------------------------------------------------------------------- */
typedef struct opt_spec {
    const char *short_name;  /* "-i" or NULL */
    const char *name;        /* "--input" */
    const char *metavar;     /* NULL: a flag without value */
    int (*apply)(loss_cfg *c, const char *name, const char *val); /* 0 or exit code */
    const char *help;
} opt_spec;

typedef struct opt_group {
    const char *title;
    const opt_spec *specs;   /* terminated by an entry with name == NULL */
} opt_group;

static int set_input(loss_cfg *c, const char *n, const char *v) { (void)n; c->input = v; return 0; }
static int set_target(loss_cfg *c, const char *n, const char *v) { (void)n; c->target = v; return 0; }
static int set_grad(loss_cfg *c, const char *n, const char *v) { (void)n; c->grad_path = v; return 0; }
static int set_out(loss_cfg *c, const char *n, const char *v) { (void)n; c->out_path = v; return 0; }
static int set_json(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->json = 1; return 0; }
static int set_allow_nonfinite(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->allow_nonfinite = 1; return 0; }
static int set_max_bytes(loss_cfg *c, const char *n, const char *v) { return cli_parse_bytes(v, n, &c->max_bytes); }
static int set_weight(loss_cfg *c, const char *n, const char *v) { (void)n; c->weight = v; return 0; }
static int set_pos_weight(loss_cfg *c, const char *n, const char *v) { (void)n; c->pos_weight = v; return 0; }
static int set_squared(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.squared = 1; return 0; }
static int set_jaccard(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.jaccard = 1; return 0; }
static int set_batch(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.batch = 1; return 0; }

static int set_no_background(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.no_background = 1; return 0; }
static int set_smp(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.smp = 1; return 0; }
static int set_log_loss(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->region.log_loss = 1; return 0; }

/* A finite number (>= 0 when nonneg; > 0 when positive). */
static int parse_param(const char *n, const char *v, double *out, int nonneg, int positive) {
    if (cli_parse_double(v, n, out)) return CLI_USAGE;
    if (!isfinite(*out) || (nonneg && *out < 0) || (positive && !(*out > 0))) {
        cli_error("invalid value for %s: '%s' (%s)", n, v,
                  positive ? "must be > 0" : nonneg ? "must be >= 0" : "must be finite");
        return CLI_USAGE;
    }
    return 0;
}

static int set_tv_alpha(loss_cfg *c, const char *n, const char *v) {
    c->have_tv_alpha = 1;
    return parse_param(n, v, &c->tv_alpha, 0, 0);
}

static int set_tv_beta(loss_cfg *c, const char *n, const char *v) {
    c->have_tv_beta = 1;
    return parse_param(n, v, &c->tv_beta, 0, 0);
}

static int set_tv_gamma(loss_cfg *c, const char *n, const char *v) {
    c->have_tv_gamma = 1;
    return parse_param(n, v, &c->tv_gamma, 0, 1);
}

static int set_lambda_dice(loss_cfg *c, const char *n, const char *v) {
    c->have_ld = 1;
    return parse_param(n, v, &c->lambda_dice, 1, 0);
}

static int set_lambda_bce(loss_cfg *c, const char *n, const char *v) {
    c->have_lb = 1;
    return parse_param(n, v, &c->lambda_bce, 1, 0);
}

static int set_w_type(loss_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "square") == 0) c->w_type = SEGLOSS_GDICE_SQUARE;
    else if (strcmp(v, "simple") == 0) c->w_type = SEGLOSS_GDICE_SIMPLE;
    else if (strcmp(v, "uniform") == 0) c->w_type = SEGLOSS_GDICE_UNIFORM;
    else {
        cli_error("invalid value for %s: '%s' (expected square, simple or uniform)", n, v);
        return CLI_USAGE;
    }
    return 0;
}

static int set_per_image(loss_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->per_image = 1; return 0; }
static int set_class_weight(loss_cfg *c, const char *n, const char *v) { (void)n; c->class_weight = v; return 0; }

static int set_ignore_index(loss_cfg *c, const char *n, const char *v) {
    c->have_ignore = 1;
    return cli_parse_double(v, n, &c->ignore_index) ? CLI_USAGE : 0;
}

static int set_focal_alpha(loss_cfg *c, const char *n, const char *v) {
    c->have_alpha = 1;
    return cli_parse_double(v, n, &c->focal_alpha) ? CLI_USAGE : 0;
}

static int set_focal_gamma(loss_cfg *c, const char *n, const char *v) {
    c->have_gamma = 1;
    if (cli_parse_double(v, n, &c->focal_gamma)) return CLI_USAGE;
    if (c->focal_gamma < 0) {
        cli_error("invalid value for %s: '%s' (must be >= 0)", n, v);
        return CLI_USAGE;
    }
    return 0;
}

static int set_label_smoothing(loss_cfg *c, const char *n, const char *v) {
    if (cli_parse_double(v, n, &c->label_smoothing)) return CLI_USAGE;
    if (!(c->label_smoothing >= 0 && c->label_smoothing <= 1)) {
        cli_error("invalid value for %s: '%s' (must lie in [0, 1])", n, v);
        return CLI_USAGE;
    }
    return 0;
}

static int set_reduction(loss_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "mean") == 0) c->reduction = SEGLOSS_REDUCTION_MEAN;
    else if (strcmp(v, "sum") == 0) c->reduction = SEGLOSS_REDUCTION_SUM;
    else if (strcmp(v, "none") == 0) c->reduction = SEGLOSS_REDUCTION_NONE;
    else {
        cli_error("invalid value for %s: '%s' (expected mean, sum or none)", n, v);
        return CLI_USAGE;
    }
    return 0;
}

static int set_activation(loss_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "sigmoid") == 0) c->region.activation = SEGLOSS_ACTIVATION_SIGMOID;
    else if (strcmp(v, "none") == 0) c->region.activation = SEGLOSS_ACTIVATION_NONE;
    else if (strcmp(v, "softmax") == 0) c->region.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    else {
        cli_error("invalid value for %s: '%s' (expected sigmoid, none or softmax)", n, v);
        return CLI_USAGE;
    }
    return 0;
}

static int set_smooth_nr(loss_cfg *c, const char *n, const char *v) {
    c->have_snr = 1;
    return cli_parse_double(v, n, &c->region.smooth_nr) ? CLI_USAGE : 0;
}

static int set_smooth_dr(loss_cfg *c, const char *n, const char *v) {
    c->have_sdr = 1;
    return cli_parse_double(v, n, &c->region.smooth_dr) ? CLI_USAGE : 0;
}

static const opt_spec common_specs[] = {
    {"-i", "--input", "FILE", set_input, "predictions (.npy, float32 or float64)"},
    {"-t", "--target", "FILE", set_target,
     "target (.npy, the input's shape): float in [0,1],\n"
     "or an integer/bool 0/1 mask"},
    {NULL, "--reduction", "R", set_reduction, "mean (default), sum or none"},
    {NULL, "--grad", "FILE", set_grad,
     "write d(loss)/d(input), float32 .npy of the input's shape\n"
     "(upstream gradient: ones of the loss's shape with --reduction none)"},
    {NULL, "--out", "FILE", set_out,
     "write the loss array (float32 .npy); needs --reduction none"},
    {NULL, "--json", NULL, set_json, "print {\"kind\",\"loss\",\"reduction\",\"numel\"} as JSON"},
    {NULL, "--allow-nonfinite", NULL, set_allow_nonfinite,
     "let NaN/inf in the input propagate as in PyTorch\n"
     "(default: an error giving their count and the first)"},
    {NULL, "--max-bytes", "N[K|M|G]", set_max_bytes,
     "cap on the data of each file read (default 8G, or half\n"
     "the physical memory if less; 0 = no cap)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec weight_specs[] = {
    {NULL, "--weight", "FILE", set_weight,
     "weights (.npy), broadcast against the input like NumPy/PyTorch"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec pos_weight_specs[] = {
    {NULL, "--pos-weight", "a,b,...|FILE.npy", set_pos_weight,
     "a list: one weight per channel (axis 1) of an (N, C, ...) input;\n"
     "a .npy file: broadcast right-aligned exactly as PyTorch does\n"
     "(a 1-D file of length L weighs the LAST axis, not the channels);\n"
     "a value ending in .npy is read as a file"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec region_specs[] = {
    {NULL, "--activation", "A", set_activation,
     "sigmoid (default: the input is logits), none (probabilities)\n"
     "or softmax (over axis 1; the target is then class indices of\n"
     "the input's shape without axis 1)"},
    {NULL, "--smooth-nr", "X", set_smooth_nr, "numerator smoothing (default 1e-5; 0 with --smp)"},
    {NULL, "--smooth-dr", "X", set_smooth_dr, "denominator smoothing (default 1e-5; 0 with --smp)"},
    {NULL, "--batch", NULL, set_batch, "sum over the batch axis before the ratio"},
    {NULL, "--no-background", NULL, set_no_background,
     "leave channel 0 out (MONAI include_background=False)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec dice_specs[] = {
    {NULL, "--squared", NULL, set_squared, "squared sums in the denominator (sum p^2 + sum y^2)"},
    {NULL, "--jaccard", NULL, set_jaccard, "Jaccard form: denominator 2*(sum p + sum y - sum p*y)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec smp_specs[] = {
    {NULL, "--smp", NULL, set_smp,
     "smp DiceLoss/JaccardLoss: sums over batch and space per\n"
     "class, smoothing 0, denominator >= 1e-7, classes absent from\n"
     "the target give 0 (and count in the mean)"},
    {NULL, "--log-loss", NULL, set_log_loss, "-ln(max(score, 1e-7)) instead of 1 - score"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec tversky_specs[] = {
    {NULL, "--alpha", "A", set_tv_alpha, "weight of false positives (default 0.5)"},
    {NULL, "--beta", "B", set_tv_beta, "weight of false negatives (default 0.5)"},
    {NULL, "--gamma", "G", set_tv_gamma, "focal exponent (1 - TI)^G (default 1; > 0)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec gdice_specs[] = {
    {NULL, "--w-type", "W", set_w_type,
     "class weights 1/G^2 (square, default), 1/G (simple), 1 (uniform)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec dice_bce_specs[] = {
    {NULL, "--lambda-dice", "L", set_lambda_dice, "weight of the Dice part (default 1)"},
    {NULL, "--lambda-bce", "L", set_lambda_bce, "weight of the BCE part (default 1)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec ignore_specs[] = {
    {NULL, "--ignore-index", "V", set_ignore_index,
     "target elements equal to V (e.g. 255 for void pixels) count\n"
     "for nothing: no loss, no gradient, not in the mean's count\n"
     "(ce: a class index; default -100)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec focal_specs[] = {
    {NULL, "--alpha", "A", set_focal_alpha, "weight of positives (default 0.25; < 0: off)"},
    {NULL, "--gamma", "G", set_focal_gamma, "focusing exponent (default 2; >= 0)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec ce_specs[] = {
    {NULL, "--class-weight", "a,b,...", set_class_weight,
     "one weight per class (axis 1); mean divides by the sum\n"
     "of the targets' weights, as PyTorch"},
    {NULL, "--label-smoothing", "E", set_label_smoothing, "in [0, 1] (default 0)"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_spec lovasz_specs[] = {
    {NULL, "--per-image", NULL, set_per_image,
     "one loss per image (axis 0 of an array of ndim >= 3), averaged"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const opt_group common_group = {"Options", common_specs};
static const opt_group weight_group = {"bce, bce-logits, focal", weight_specs};
static const opt_group pos_weight_group = {"bce-logits, dice-bce", pos_weight_specs};
static const opt_group region_group = {
    "region losses (dice, jaccard, tversky, generalized-dice, dice-bce)", region_specs};
static const opt_group dice_group = {"dice, dice-bce", dice_specs};
static const opt_group smp_group = {"dice, jaccard, dice-bce", smp_specs};
static const opt_group tversky_group = {"tversky", tversky_specs};
static const opt_group gdice_group = {"generalized-dice", gdice_specs};
static const opt_group dice_bce_group = {"dice-bce (dice part: logits, dense target)",
                                         dice_bce_specs};
static const opt_group ignore_group = {"every loss", ignore_specs};
static const opt_group focal_group = {"focal", focal_specs};
static const opt_group ce_group = {"ce (input (N, C, ...), target (N, ...) of class indices)",
                                   ce_specs};
static const opt_group lovasz_group = {"lovasz-hinge", lovasz_specs};

/* Every group, for help and for "option does not apply to KIND". */
static const opt_group *const all_groups[] = {&common_group, &weight_group, &pos_weight_group,
                                              &region_group, &ignore_group, &focal_group,
                                              &ce_group, &lovasz_group, &dice_group, &smp_group,
                                              &tversky_group, &gdice_group, &dice_bce_group,
                                              NULL};

typedef struct loss_kind {
    const char *name;
    const char *summary;
    const opt_group *const *groups;  /* NULL-terminated; common_group first */
    forward_fn forward;
    backward_fn backward;
    out_shape_fn out_shape;
    const char *domain_hint;         /* after "INPUT: values outside [0,1]" */
    fused_fn fused;                  /* with --grad, instead of the two; may be NULL */
} loss_kind;

static const opt_group *const bce_groups[] = {&common_group, &weight_group, &ignore_group, NULL};
static const opt_group *const bcel_groups[] = {&common_group, &weight_group, &pos_weight_group,
                                               &ignore_group, NULL};
static const opt_group *const focal_groups[] = {&common_group, &weight_group, &focal_group,
                                                &ignore_group, NULL};
static const opt_group *const ce_groups[] = {&common_group, &ce_group, &ignore_group, NULL};
static const opt_group *const lovasz_groups[] = {&common_group, &lovasz_group, &ignore_group,
                                                 NULL};
static const opt_group *const region_groups[] = {&common_group, &region_group, &dice_group,
                                                 &smp_group, &ignore_group, NULL};
static const opt_group *const jaccard_groups[] = {&common_group, &region_group, &smp_group,
                                                  &ignore_group, NULL};
static const opt_group *const tversky_groups[] = {&common_group, &region_group, &tversky_group,
                                                  &ignore_group, NULL};
static const opt_group *const gdice_groups[] = {&common_group, &region_group, &gdice_group,
                                                &ignore_group, NULL};
static const opt_group *const dice_bce_groups[] = {&common_group, &region_group, &dice_group,
                                                   &smp_group, &dice_bce_group,
                                                   &pos_weight_group, &ignore_group, NULL};

static const loss_kind kinds[] = {
    {"bce", "BCE on probabilities in [0,1] (torch BCELoss)", bce_groups, bce_fwd, bce_bwd,
     elementwise_shape, "; did you mean bce-logits?", NULL},
    {"bce-logits", "BCE on logits (torch BCEWithLogitsLoss)", bcel_groups, bcel_fwd, bcel_bwd,
     elementwise_shape, "", bcel_fused},
    {"dice", "soft Dice on (N, C, spatial...) (MONAI DiceLoss)", region_groups, dice_fwd,
     dice_bwd, region_shape,
     " (--activation none expects probabilities; drop it for logits)", dice_fused},
    {"focal", "sigmoid focal loss on logits (torchvision sigmoid_focal_loss)", focal_groups,
     focal_fwd, focal_bwd, elementwise_shape, "", NULL},
    {"ce", "softmax cross-entropy over axis 1 (torch CrossEntropyLoss)", ce_groups, ce_fwd,
     ce_bwd, class_index_shape, "", NULL},
    {"lovasz-hinge", "binary Lovasz hinge on logits (smp LovaszLoss)", lovasz_groups,
     lovasz_fwd, lovasz_bwd, lovasz_shape, "", NULL},
    {"jaccard", "soft IoU, 1 - (I + s)/(P + G - I + s)", jaccard_groups, jaccard_fwd, jaccard_bwd,
     region_shape, " (--activation none expects probabilities; drop it for logits)", NULL},
    {"tversky", "Tversky loss, focal with --gamma (MONAI TverskyLoss)", tversky_groups,
     tversky_fwd, tversky_bwd, region_shape,
     " (--activation none expects probabilities; drop it for logits)", NULL},
    {"generalized-dice", "generalized Dice (MONAI GeneralizedDiceLoss)", gdice_groups, gdice_fwd,
     gdice_bwd, gdice_shape, " (--activation none expects probabilities; drop it for logits)",
     NULL},
    {"dice-bce", "Dice + BCE-with-logits (MONAI DiceCELoss, one channel)", dice_bce_groups,
     dice_bce_fwd, dice_bce_bwd, scalar_shape, "", dice_bce_fused},
};
#define NUM_KINDS (sizeof kinds / sizeof kinds[0])

static void print_opt(FILE *f, const opt_spec *s) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s%s%s", s->short_name ? s->short_name : "",
             s->short_name ? ", " : "", s->name, s->metavar ? " " : "",
             s->metavar ? s->metavar : "");
    const char *h = s->help;
    int first = 1;
    while (*h) {
        const char *nl = strchr(h, '\n');
        int len = nl ? (int)(nl - h) : (int)strlen(h);
        if (first && strlen(head) <= 22) fprintf(f, "  %-22s  %.*s\n", head, len, h);
        else if (first) fprintf(f, "  %s\n  %-22s  %.*s\n", head, "", len, h);
        else fprintf(f, "  %-22s  %.*s\n", "", len, h);
        first = 0;
        h = nl ? nl + 1 : h + len;
    }
}

static void loss_usage(FILE *f) {
    fprintf(f,
            "Usage: segloss loss KIND -i INPUT.npy -t TARGET.npy [options]\n"
            "\n"
            "Computes a loss of the predictions INPUT against TARGET (same shape; for ce\n"
            "and --activation softmax the class indices, the input's shape without\n"
            "axis 1) and prints it with 9 significant digits (with --reduction none:\n"
            "the sum of the loss array).\n"
            "Writes the gradient with --grad.\n"
            "\n"
            "Kinds:\n");
    for (size_t k = 0; k < NUM_KINDS; k++)
        fprintf(f, "  %-16s %s\n", kinds[k].name, kinds[k].summary);
    for (int g = 0; all_groups[g]; g++) {
        fprintf(f, "\n%s:\n", all_groups[g]->title);
        for (const opt_spec *s = all_groups[g]->specs; s->name; s++) print_opt(f, s);
        if (g == 0) print_opt(f, &(opt_spec){"-h", "--help", NULL, NULL, "this help"});
    }
    fprintf(f,
            "\n"
            "Options take their value as '--opt value' or '--opt=value'.\n"
            "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or unwritable file,\n"
            "3 internal error. On failure no output file is created or changed.\n");
}

static int usage_error(void) {
    cli_error("try 'segloss loss --help'");
    return CLI_USAGE;
}

/* The spec matching arg among `groups`, with its inline value. */
static const opt_spec *find_opt(const opt_group *const *groups, const char *arg,
                                const char **inline_val) {
    for (int g = 0; groups[g]; g++)
        for (const opt_spec *s = groups[g]->specs; s->name; s++)
            if (cli_match(arg, s->name, inline_val) ||
                (s->short_name && cli_match(arg, s->short_name, inline_val)))
                return s;
    return NULL;
}

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* Finds KIND: the first argument that is neither an option nor the value
 * of one (so KIND may come anywhere). Returns its index, or 0. */
static int find_kind_arg(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *inl;
        const opt_spec *s = find_opt(all_groups, argv[i], &inl);
        if (s) {
            if (s->metavar && !inl) i++;
            continue;
        }
        if (argv[i][0] != '-') return i;
    }
    return 0;
}

/* "bce, bce-logits, ..." from the kinds table. */
static const char *kind_names(void) {
    static char buf[512];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < NUM_KINDS && len < sizeof buf; k++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? ", " : "",
                                kinds[k].name);
    return buf;
}

static int parse_args(loss_cfg *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    c->max_bytes = cli_default_max_bytes();
    int ki = find_kind_arg(argc, argv);
    if (!ki) {
        cli_error("loss: missing KIND (one of: %s)", kind_names());
        return usage_error();
    }
    for (size_t k = 0; k < NUM_KINDS; k++)
        if (strcmp(argv[ki], kinds[k].name) == 0) c->kind = &kinds[k];
    if (!c->kind) {
        cli_error("loss: unknown KIND '%s' (one of: %s)", argv[ki], kind_names());
        return usage_error();
    }
    for (int i = 1; i < argc; i++) {
        if (i == ki) continue;
        const char *arg = argv[i], *inl;
        const opt_spec *s = find_opt(c->kind->groups, arg, &inl);
        if (!s) {
            if (find_opt(all_groups, arg, &inl))
                cli_error("loss %s: option '%s' does not apply to this loss", c->kind->name,
                          arg);
            else if (arg[0] == '-') cli_error("loss: unknown option '%s'", arg);
            else cli_error("loss: unexpected argument '%s'", arg);
            return usage_error();
        }
        const char *val = NULL;
        if (s->metavar) {
            val = cli_optarg(argc, argv, &i, s->name, inl);
            if (!val) return usage_error();
        } else if (inl) {
            cli_error("option %s takes no value", s->name);
            return usage_error();
        }
        int rc = s->apply(c, s->name, val);
        if (rc) return rc == CLI_USAGE ? usage_error() : rc;
    }
    if (!c->input || !c->target) {
        cli_error("loss: missing %s", !c->input ? "-i INPUT.npy" : "-t TARGET.npy");
        return usage_error();
    }
    if (c->out_path && c->reduction != SEGLOSS_REDUCTION_NONE) {
        cli_error("loss: --out writes the loss array and needs --reduction none");
        return usage_error();
    }
    if (c->out_path && c->grad_path && strcmp(c->out_path, c->grad_path) == 0) {
        cli_error("loss: --grad and --out name the same file '%s'", c->out_path);
        return usage_error();
    }
    if (c->have_ignore && c->kind->out_shape == class_index_shape &&
        !(c->ignore_index == floor(c->ignore_index) && fabs(c->ignore_index) < 0x1p62)) {
        cli_error("loss ce: --ignore-index must be an integer class index, got %.17g",
                  c->ignore_index);
        return usage_error();
    }
    /* dice-bce: MONAI's DiceCELoss takes logits and reduces to one number */
    if (c->kind->out_shape == scalar_shape &&
        (c->reduction == SEGLOSS_REDUCTION_NONE ||
         c->region.activation != SEGLOSS_ACTIVATION_SIGMOID)) {
        cli_error("loss dice-bce: %s",
                  c->reduction == SEGLOSS_REDUCTION_NONE
                      ? "--reduction none is not supported (mean or sum, as MONAI DiceCELoss)"
                      : "the input is logits: --activation must be sigmoid");
        return usage_error();
    }
    if (c->region.smp && (c->region.squared || c->region.jaccard)) {
        cli_error("loss %s: --smp does not combine with --squared or --jaccard", c->kind->name);
        return usage_error();
    }
    /* One smoothing term given: the other keeps its default (MONAI's, or
     * smp's 0 with --smp). */
    if (c->have_snr || c->have_sdr) {
        double dflt = c->region.smp ? 0.0 : 1e-5;
        c->region.custom_smooth = 1;
        if (!c->have_snr) c->region.smooth_nr = dflt;
        if (!c->have_sdr) c->region.smooth_dr = dflt;
    }
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* Loading and checking the arrays                                          */
/* ---------------------------------------------------------------------- */
/* Targets of class indices, the input's shape without axis 1: ce, and the
 * region losses with --activation softmax (only they take --activation). */
static int takes_class_index(const loss_cfg *c) {
    return c->kind->out_shape == class_index_shape ||
           c->region.activation == SEGLOSS_ACTIVATION_SOFTMAX;
}

static void *keep(loss_data *d, void *p) {
    for (int k = 0; k < 4; k++)
        if (!d->owned[k]) return d->owned[k] = p;
    free(p); /* cannot happen: at most four conversions */
    return NULL;
}

static void free_data(loss_data *d) {
    segloss_npy_free(&d->in);
    segloss_npy_free(&d->tgt);
    segloss_npy_free(&d->w);
    segloss_npy_free(&d->pw);
    for (int k = 0; k < 4; k++) free(d->owned[k]);
}

static int oom(void) {
    cli_error("out of memory");
    return CLI_INTERNAL;
}

/* A float32 view of any array: the data itself when it is float32 and
 * aligned, otherwise a converted copy. */
static int as_f32(loss_data *d, const segloss_npy *a, const float **out) {
    if (a->dtype == SEGLOSS_F32 && (uintptr_t)a->data % _Alignof(float) == 0) {
        *out = a->data;
        return CLI_OK;
    }
    float *buf = keep(d, malloc((size_t)a->numel * sizeof(float) + 1));
    if (!buf) return oom();
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

/* Weights must be finite and >= 0 (PyTorch accepts anything: a NaN weight
 * makes the loss NaN, a negative one rewards mistakes). Returns an exit
 * code; `what` names the weights in the message. */
static int check_weights(const float *w, int64_t n, const char *path, const char *what) {
    int64_t first;
    const char *val;
    int64_t bad = cli_count_nonfinite(w, n, NULL, NULL, &first, &val);
    if (bad) {
        cli_error("%s: %lld non-finite %s value%s (first at index %lld: %s); weights must be "
                  "finite and >= 0",
                  path, (long long)bad, what, bad == 1 ? "" : "s", (long long)first, val);
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

/* --pos-weight a,b,c: one weight per channel (axis 1), as an array of shape
 * (C, 1, ..., 1) and rank ndim-1 so that it broadcasts against axis 1. */
static int load_pos_weight_list(loss_data *d, const char *list, const char *input) {
    char s[CLI_SHAPE_STRLEN];
    int64_t count = 1;
    for (const char *p = list; *p; p++) count += *p == ',';
    float *pw = keep(d, malloc((size_t)count * sizeof(float)));
    char *copy = malloc(strlen(list) + 1);
    if (!pw || !copy) {
        free(copy);
        return oom();
    }
    strcpy(copy, list);
    char *field = copy;
    for (int64_t k = 0; k < count; k++) {
        char *comma = strchr(field, ',');
        if (comma) *comma = '\0';
        double v;
        if (cli_parse_double(field, "--pos-weight", &v)) {
            free(copy);
            return CLI_USAGE;
        }
        if (v < 0) {
            cli_error("invalid value for --pos-weight: '%s' (weights must be >= 0)", field);
            free(copy);
            return CLI_USAGE;
        }
        pw[k] = (float)v;
        field = comma ? comma + 1 : field + strlen(field);
    }
    free(copy);
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
    int64_t count = 1;
    for (const char *p = c->class_weight; *p; p++) count += *p == ',';
    int64_t classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    if (count != classes) {
        char s[CLI_SHAPE_STRLEN];
        cli_error("--class-weight has %lld value%s but %s has %lld classes (axis %d of %s)",
                  (long long)count, count == 1 ? "" : "s", c->input, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1, cli_shape_str(s, sizeof s, &d->shape));
        return CLI_USAGE;
    }
    float *w = keep(d, malloc((size_t)count * sizeof(float)));
    if (!w) return oom();
    const char *field = c->class_weight;
    char buf[64];
    for (int64_t k = 0; k < count; k++) {
        const char *comma = strchr(field, ',');
        size_t len = comma ? (size_t)(comma - field) : strlen(field);
        if (len >= sizeof buf) len = sizeof buf - 1; /* too long: fails as a number */
        memcpy(buf, field, len);
        buf[len] = '\0';
        double v;
        if (cli_parse_double(buf, "--class-weight", &v)) return CLI_USAGE;
        if (v < 0) {
            cli_error("invalid value for --class-weight: '%s' (weights must be >= 0)", buf);
            return CLI_USAGE;
        }
        w[k] = (float)v;
        field = comma ? comma + 1 : field + len;
    }
    d->class_weight.data = w;
    memset(&d->class_weight.shape, 0, sizeof d->class_weight.shape);
    d->class_weight.shape.ndim = 1;
    d->class_weight.shape.dim[0] = count;
    return CLI_OK;
}

/* The raw target value at flat index j, as a double (bool: 0/1). */
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

typedef struct ignore_ctx {
    const loss_data *d;
    double value;        /* the ignore index */
    int class_index;     /* targets of class indices (input's shape without axis 1) */
    int64_t classes, inner;
} ignore_ctx;

/* Whether input element i is excluded by the ignore index, i.e. never read
 * by the loss (docs/losses-element.md, docs/losses-region.md): its target
 * element, or with class indices its pixel's target, equals the index. */
static int input_ignored(const void *ctx, int64_t i) {
    const ignore_ctx *g = ctx;
    int64_t j = i;
    if (g->class_index) {
        if (g->d->shape.ndim < 2) j = 0;
        else j = i / (g->classes * g->inner) * g->inner + i % g->inner;
    }
    return target_at(g->d, j) == g->value;
}

/* One pass over the input before the loss runs: non-finite values are an
 * error unless --allow-nonfinite (bce and lovasz-hinge refuse them always:
 * PyTorch's BCELoss rejects them, and lovasz-hinge sorts the logits);
 * inputs at ignored elements are not read by the losses and not checked.
 * Also notes bce predictions that are all exactly 0 or 1 (a warning once
 * the loss is computed). */
static int check_input_values(const loss_cfg *c, loss_data *d) {
    ignore_ctx g = {d, 0.0, takes_class_index(c), 1, 1};
    int is_ce = c->kind->out_shape == class_index_shape;
    int ignoring = c->have_ignore || is_ce;
    if (is_ce) g.value = c->have_ignore ? (double)(int64_t)c->ignore_index : -100.0;
    else g.value = c->ignore_index;
    if (g.class_index && d->shape.ndim >= 2) {
        g.classes = d->shape.dim[1];
        for (int k = 2; k < d->shape.ndim; k++) g.inner *= d->shape.dim[k];
    }
    int (*skip)(const void *, int64_t) = ignoring ? input_ignored : NULL;
    int64_t first;
    const char *val;
    int64_t bad = cli_count_nonfinite(d->x, d->numel, skip, &g, &first, &val);
    int is_bce = c->kind->forward == bce_fwd, is_lovasz = c->kind->forward == lovasz_fwd;
    if (bad && (!c->allow_nonfinite || is_bce || is_lovasz)) {
        cli_error("%s: %lld non-finite value%s (first at index %lld: %s); %s", c->input,
                  (long long)bad, bad == 1 ? "" : "s", (long long)first, val,
                  is_bce      ? "bce needs probabilities in [0,1] (as PyTorch's BCELoss)"
                  : is_lovasz ? "lovasz-hinge sorts the logits and needs them finite"
                              : "pass --allow-nonfinite to propagate them as PyTorch does");
        return CLI_INPUT;
    }
    if (is_bce) {
        int64_t seen = 0;
        int binary = 1;
        for (int64_t i = 0; i < d->numel && binary; i++) {
            if (skip && skip(&g, i)) continue;
            seen++;
            binary = d->x[i] == 0.0f || d->x[i] == 1.0f;
        }
        d->binary_bce = binary && seen > 0;
    }
    return CLI_OK;
}

static int ends_with_npy(const char *s) {
    size_t n = strlen(s);
    return n >= 4 && (strcmp(s + n - 4, ".npy") == 0 || strcmp(s + n - 4, ".NPY") == 0);
}

static int load_data(const loss_cfg *c, loss_data *d) {
    char s1[CLI_SHAPE_STRLEN], s2[CLI_SHAPE_STRLEN];
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

    if ((rc = cli_read_npy(&d->tgt, c->target, c->max_bytes))) return rc;
    const segloss_shape *ts = &d->tgt.shape;
    int class_index = takes_class_index(c);
    const char *who = c->kind->out_shape == class_index_shape ? "ce" : "--activation softmax";
    if (class_index && (d->tgt.dtype == SEGLOSS_F32 || d->tgt.dtype == SEGLOSS_F64 ||
                        d->tgt.dtype == SEGLOSS_BOOL)) {
        cli_error("%s: %s needs integer class indices, got dtype %s", c->target, who,
                  segloss_dtype_name(d->tgt.dtype));
        return CLI_INPUT;
    }
    segloss_shape want = d->shape;
    if (class_index) class_index_shape(c, d, &want);
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
        if (!copy) return oom();
        memcpy(copy, d->tgt.data, (size_t)d->tgt.numel * esize);
        d->target.data = copy;
    }
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
        if (rc) return rc == CLI_USAGE ? usage_error() : rc;
    }
    if (c->class_weight && (rc = load_class_weight(c, d)))
        return rc == CLI_USAGE ? usage_error() : rc;
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* Errors from the loss itself                                              */
/* ---------------------------------------------------------------------- */
/* Describes a SEGLOSS_ERR_TARGET: the first bad value says what went wrong. */
/* ce: the first class index outside [0, C) that is not --ignore-index. */
static void class_index_error(const loss_cfg *c, const loss_data *d) {
    int64_t classes = d->shape.ndim == 1 ? d->shape.dim[0] : d->shape.dim[1];
    int64_t ignore = c->have_ignore ? (int64_t)c->ignore_index : -100;
    segloss_shape ts;
    int64_t n = 0;
    class_index_shape(c, d, &ts);
    segloss_shape_numel(&ts, &n);
    double bad = 0;
    int found = 0;
    size_t es = segloss_dtype_size(d->target.dtype);
    for (int64_t i = 0; i < n && !found; i++) {
        const unsigned char *src = (const unsigned char *)d->target.data + (size_t)i * es;
        double v;
        switch (d->target.dtype) {
#define CLI_CLS(T)                                                          \
    {                                                                       \
        T k_;                                                               \
        memcpy(&k_, src, sizeof k_);                                        \
        v = (double)k_;                                                     \
        break;                                                              \
    }
        case SEGLOSS_U8: CLI_CLS(uint8_t)
        case SEGLOSS_I8: CLI_CLS(int8_t)
        case SEGLOSS_I16: CLI_CLS(int16_t)
        case SEGLOSS_I32: CLI_CLS(int32_t)
        case SEGLOSS_I64: CLI_CLS(int64_t)
        case SEGLOSS_U16: CLI_CLS(uint16_t)
        case SEGLOSS_U32: CLI_CLS(uint32_t)
        case SEGLOSS_U64: CLI_CLS(uint64_t)
#undef CLI_CLS
        default: v = -1; break;
        }
        if (v != (double)ignore && !(v >= 0 && v < (double)classes)) {
            bad = v;
            found = 1;
        }
    }
    if (found && !c->have_ignore && c->kind->out_shape != class_index_shape)
        cli_error("%s: class index %.17g outside [0, %lld) (the input has %lld classes on axis "
                  "1; --ignore-index V skips V)",
                  c->target, bad, (long long)classes, (long long)classes);
    else if (found)
        cli_error("%s: class index %.17g outside [0, %lld) (the input has %lld classes on axis "
                  "%d) and not the ignore index %lld",
                  c->target, bad, (long long)classes, (long long)classes,
                  d->shape.ndim == 1 ? 0 : 1, (long long)ignore);
    else
        cli_error("%s: class index outside [0, %lld)", c->target, (long long)classes);
}

static void target_error(const loss_cfg *c, const loss_data *d) {
    if (takes_class_index(c)) {
        class_index_error(c, d);
        return;
    }
    const char *msg = "target values outside [0,1]";
    float *t = malloc((size_t)d->numel * sizeof(float));
    if (!t || segloss_convert_to_f32(t, d->target.data, d->target.dtype, d->numel) !=
                  SEGLOSS_OK) {
        cli_error("%s: %s", c->target, msg);
        free(t);
        return;
    }
    float bad = 0.0f, max = 0.0f;
    int found = 0;
    for (int64_t i = 0; i < d->numel; i++) {
        float v = t[i];
        if (c->have_ignore && v == (float)c->ignore_index) continue;
        int ok = d->target.dtype == SEGLOSS_F32 || d->target.dtype == SEGLOSS_F64
                     ? (v >= 0.0f && v <= 1.0f)
                     : (v == 0.0f || v == 1.0f);
        if (!ok && !found) {
            bad = v;
            found = 1;
        }
        if (v > max) max = v;
    }
    free(t);
    if (found && isnan(bad)) cli_error("%s: target contains NaN", c->target);
    else if (max == 255.0f) {
        const char *inl;
        cli_error("%s: %s (masks saved as 0/255? divide by 255)%s", c->target, msg,
                  find_opt(c->kind->groups, "--ignore-index", &inl)
                      ? "; if 255 marks void pixels, use --ignore-index 255"
                      : "");
    }
    else if (found && bad > 0.0f && bad < 1.0f)
        cli_error("%s: %s dtype target values must be 0 or 1, found %g", c->target,
                  segloss_dtype_name(d->target.dtype), (double)bad);
    else if (found) cli_error("%s: %s (found %g)", c->target, msg, (double)bad);
    else cli_error("%s: %s", c->target, msg);
}

static int loss_error(const loss_cfg *c, const loss_data *d, segloss_status st) {
    char s[CLI_SHAPE_STRLEN];
    switch (st) {
    case SEGLOSS_ERR_DOMAIN: {
        int has_nan = 0;
        for (int64_t i = 0; i < d->numel && !has_nan; i++) has_nan = isnan(d->x[i]);
        if (has_nan) cli_error("%s: NaN values (probabilities must lie in [0,1])", c->input);
        else cli_error("%s: values outside [0,1]%s", c->input, c->kind->domain_hint);
        break;
    }
    case SEGLOSS_ERR_TARGET: target_error(c, d); break;
    case SEGLOSS_ERR_SHAPE:
        cli_error("%s: shape %s not supported by %s%s", c->input,
                  cli_shape_str(s, sizeof s, &d->shape), c->kind->name,
                  c->region.activation == SEGLOSS_ACTIVATION_SOFTMAX
                      ? " --activation softmax (needs (N, C, spatial...) with C >= 2)"
                  : c->kind->out_shape == region_shape || c->kind->out_shape == gdice_shape ||
                          c->kind->out_shape == scalar_shape
                      ? " (needs 1 to 5 dimensions: (N, C, spatial...) or one image)"
                      : "");
        break;
    case SEGLOSS_ERR_NONFINITE:
        cli_error("%s: %s (%s needs finite inputs)", c->input, segloss_strerror(st),
                  c->kind->name);
        break;
    case SEGLOSS_ERR_EMPTY:
    case SEGLOSS_ERR_OVERFLOW:
    case SEGLOSS_ERR_DTYPE: cli_error("%s: %s", c->input, segloss_strerror(st)); break;
    case SEGLOSS_ERR_ARG: cli_error("loss %s: %s", c->kind->name, segloss_strerror(st)); break;
    case SEGLOSS_ERR_NOMEM: cli_error("out of memory"); break;
    default: cli_error("loss %s: internal error: %s", c->kind->name, segloss_strerror(st)); break;
    }
    return cli_status_exit(st);
}

/* ---------------------------------------------------------------------- */
/* The command                                                              */
/* ---------------------------------------------------------------------- */
static const char *reduction_name(segloss_reduction r) {
    return r == SEGLOSS_REDUCTION_SUM ? "sum" : r == SEGLOSS_REDUCTION_NONE ? "none" : "mean";
}

/* Forward, backward (in one call where the kind has a fused one), outputs.
 * Buffers are freed by the caller. */
static int run(const loss_cfg *c, loss_data *d, float **elems, float **grad, float **ones,
               double *loss) {
    segloss_shape oshape;
    int64_t onum;
    segloss_status st = c->kind->out_shape(c, d, &oshape);
    if (st == SEGLOSS_OK) st = segloss_shape_numel(&oshape, &onum);
    if (st != SEGLOSS_OK) return loss_error(c, d, st);

    int none = c->reduction == SEGLOSS_REDUCTION_NONE;
    int fused = c->grad_path && c->kind->fused;
    if (none && !(*elems = malloc((size_t)onum * sizeof(float) + 1))) return oom();
    if (!fused) {
        st = c->kind->forward(c, d, loss, *elems);
        if (st != SEGLOSS_OK) return loss_error(c, d, st);
    }

    if (c->grad_path) {
        if (!(*grad = malloc((size_t)d->numel * sizeof(float)))) return oom();
        if (none) {
            if (!(*ones = malloc((size_t)onum * sizeof(float) + 1))) return oom();
            for (int64_t k = 0; k < onum; k++) (*ones)[k] = 1.0f;
        }
        st = fused ? c->kind->fused(c, d, loss, *elems, *grad, *ones)
                   : c->kind->backward(c, d, *grad, *ones);
        if (st != SEGLOSS_OK) return loss_error(c, d, st);
    }

    /* Everything is computed: now the outputs, all or nothing. */
    cli_outputs outs = {0};
    int rc = CLI_OK;
    if (c->grad_path)
        rc = cli_stage_npy(&outs, c->grad_path, *grad, SEGLOSS_F32, &d->shape);
    if (!rc && c->out_path) rc = cli_stage_npy(&outs, c->out_path, *elems, SEGLOSS_F32, &oshape);
    if (!rc) rc = cli_commit(&outs);
    cli_discard(&outs);
    return rc;
}

int cmd_loss(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            loss_usage(stdout);
            return CLI_OK;
        }
    }
    loss_cfg c;
    int rc = parse_args(&c, argc, argv);
    if (rc) return rc;

    loss_data d;
    memset(&d, 0, sizeof d);
    float *elems = NULL, *grad = NULL, *ones = NULL;
    double loss = 0.0;
    rc = load_data(&c, &d);
    if (!rc) rc = run(&c, &d, &elems, &grad, &ones, &loss);
    if (!rc) {
        if (d.binary_bce)
            cli_error("warning: %s: predictions are binary (only 0 and 1): BCE will be "
                      "dominated by the -100 log clamp; feed probabilities or use bce-logits "
                      "on logits",
                      c.input);
        if (c.json) {
            printf("{\"kind\":\"%s\",\"loss\":", c.kind->name);
            cli_json_number(loss);
            printf(",\"reduction\":\"%s\",\"numel\":%lld}\n", reduction_name(c.reduction),
                   (long long)d.numel);
        } else {
            cli_text_number(loss);
            putchar('\n');
        }
        if (fflush(stdout) != 0) {
            cli_error("cannot write to standard output");
            rc = CLI_INTERNAL;
        }
    }
    free(elems);
    free(grad);
    free(ones);
    free_data(&d);
    return rc;
}
