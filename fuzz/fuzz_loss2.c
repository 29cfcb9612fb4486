/* Fuzz target: the second-edition losses of segloss.h (dice-ce, dice-focal,
 * generalized-dice-focal, mcc, topk-ce, lovasz-softmax, hausdorff-dt,
 * boundary, unified-focal, gwdl, cldice, dice-cldice) and the data-parallel statistics API (segloss_region_stats,
 * segloss_*_loss_from_stats, segloss_*_backward_from_stats), fed with
 * arbitrary shapes, options, target dtypes and values.
 *
 * Input layout: the case header of loss_common.h (family, rank, dims,
 * reduction), then the family's options, the target and the values, one
 * byte per element; missing bytes read as 0, so every input is a complete
 * case. Buffers have exactly the documented sizes (ASan guards their
 * ends). Properties checked, as in fuzz_loss.c: a status in range, never
 * INTERNAL, never NOMEM on these tiny problems; success only on a valid
 * shape and where the item-shape helper (or the documented scalar) allows
 * it; with NONE every loss element is written and the loss is their sum;
 * a second forward gives the same bits; a backward writes every gradient
 * element; the fused calls (every loss here but mcc and lovasz-softmax,
 * which have none) give the same success and bits as the forward and
 * backward apart. The statistics family splits
 * the batch in two "ranks": the parts' statistics add up to the whole
 * batch's, and the loss and each rank's gradient from the summed
 * statistics equal the whole batch's (1e-9 relative on probabilities). */
#include "loss_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum family {
    F_DICE_CE,
    F_DICE_FOCAL,
    F_GDICE_FOCAL,
    F_MCC,
    F_TOPK_CE,
    F_LOVASZ_SOFTMAX,
    F_HAUSDORFF_DT,
    F_BOUNDARY,
    F_STATS,
    F_UNIFIED_FOCAL,
    F_GWDL,
    F_CLDICE,
    F_DICE_CLDICE,
    F_COUNT
};

/* A scalar loss (the reduced value only): NONE is an error. */
static int64_t scalar_items(const fcase *c) {
    return c->red == SEGLOSS_REDUCTION_NONE ? -1 : 1;
}

/* The region options and a matching target (class indices with INDEX, or
 * AUTO with SOFTMAX; dense otherwise). */
static int region_case(fcase *c, segloss_dice_opts *r, fuzz_bytes *in, int flags, int prob,
                       int64_t classes) {
    fill_region(r, in, flags);
    r->reduction = c->red;
    int index = r->target_kind == SEGLOSS_TARGET_INDEX ||
                (r->target_kind == SEGLOSS_TARGET_AUTO && r->activation == SEGLOSS_ACTIVATION_SOFTMAX);
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, index, index ? index_count(c, 0) : n, classes);
    fill_floats(c->x, n, in, prob);
    return index;
}

/* Scalar losses take no loss array: the upstream gradient only (one
 * value, or NULL meaning 1). */
static void scalar_outputs(fcase *c, fuzz_bytes *in) {
    make_outputs(c, 1, in);
    free(c->elems);
    c->elems = NULL;
}

LOSS_CALLS(dice_ce, segloss_dice_ce_opts, 0)
LOSS_CALLS(dice_focal, segloss_dice_focal_opts, 0)
LOSS_CALLS(generalized_dice_focal, segloss_generalized_dice_focal_opts, 0)
LOSS_CALLS_NO_FUSED(mcc, segloss_mcc_opts, 1)
LOSS_CALLS_NO_FUSED(lovasz_softmax, segloss_lovasz_opts, 0)
LOSS_CALLS(hausdorff_dt, segloss_hausdorff_dt_opts, 0)
LOSS_CALLS(gwdl, segloss_gwdl_opts, 0)

/* One-value losses with a fused call and no loss array: the forward twice,
 * the backward, the fused call. items: what check_forward expects (-1: the
 * call must fail). ONE_VALUE_CALLS(name, T) defines name##_calls. */
typedef struct one_value_calls {
    segloss_status (*fwd)(double *, const float *, const segloss_target *, const segloss_shape *,
                          const void *);
    segloss_status (*bwd)(float *, const float *, const segloss_target *, const segloss_shape *,
                          const void *, const float *);
    segloss_status (*fb)(double *, float *, const float *, const segloss_target *,
                         const segloss_shape *, const void *, const float *);
} one_value_calls;

static void run_one_value(fcase *c, fuzz_bytes *in, int null_arg, int64_t items,
                          const one_value_calls *k, const void *o) {
    scalar_outputs(c, in);
    const float *xa = null_arg ? NULL : c->x;
    double loss = 0, loss2 = 0;
    segloss_status st = k->fwd(&loss, xa, &c->target, &c->shape, o);
    check_forward(c, st, loss, items);
    segloss_status st2 = k->fwd(&loss2, xa, &c->target, &c->shape, o);
    check_repeat(c, st, loss, st2, loss2);
    segloss_status st_b = k->bwd(c->grad, xa, &c->target, &c->shape, o, c->grad_out);
    check_backward(c, st_b);
    fused f;
    fused_alloc(&f, c, 1);
    st2 = k->fb(&loss2, f.grad, xa, &c->target, &c->shape, o, c->grad_out);
    check_fused(c, &f, st, st_b, loss, st2, loss2);
}

#define ONE_VALUE_CALLS(name, T)                                                              \
    static segloss_status name##_f(double *l, const float *x, const segloss_target *t,          \
                                   const segloss_shape *s, const void *o) {                     \
        return segloss_##name##_forward(l, x, t, s, (const T *)o);                              \
    }                                                                                           \
    static segloss_status name##_b(float *g, const float *x, const segloss_target *t,           \
                                   const segloss_shape *s, const void *o, const float *go) {    \
        return segloss_##name##_backward(g, x, t, s, (const T *)o, go);                         \
    }                                                                                           \
    static segloss_status name##_fb(double *l, float *g, const float *x, const segloss_target *t, \
                                    const segloss_shape *s, const void *o, const float *go) {   \
        return segloss_##name##_forward_backward(l, g, x, t, s, (const T *)o, go);              \
    }                                                                                           \
    static const one_value_calls name##_calls = {name##_f, name##_b, name##_fb};
ONE_VALUE_CALLS(topk_ce, segloss_topk_ce_opts)
ONE_VALUE_CALLS(boundary, segloss_boundary_opts)
ONE_VALUE_CALLS(unified_focal, segloss_unified_focal_opts)
ONE_VALUE_CALLS(cldice, segloss_cldice_opts)
ONE_VALUE_CALLS(dice_cldice, segloss_dice_cldice_opts)

static void run_dice_ce(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_dice_ce_opts o = f & 1 ? segloss_dice_ce_opts_nnunet() : segloss_dice_ce_opts_default();
    if (f & 2) fill_region(&o.dice, in, 0); /* else the preset's */
    o.dice.reduction = c->red;
    if (f & 4) {
        o.lambda_dice = value_param(fuzz_u8(in));
        o.lambda_ce = value_param(fuzz_u8(in));
    }
    if (f & 8) o.label_smoothing = value_param(fuzz_u8(in));
    /* Class indices for C > 1 (a DENSE target kind is rejected), the BCE
     * branch's dense target for C = 1 or ndim <= 2. */
    int multi = c->shape_ok && c->shape.ndim >= 3 && c->shape.dim[1] > 1;
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, multi, multi ? index_count(c, 0) : n, classes);
    fill_floats(c->x, n, in, prob);
    int64_t items = scalar_items(c);
    scalar_outputs(c, in);
    run_calls(c, null_arg, items, &dice_ce_calls, &o);
}

static void run_dice_focal(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    double gamma = value_param(fuzz_u8(in)), alpha = value_param(fuzz_u8(in));
    double l1 = value_param(fuzz_u8(in)), l2 = value_param(fuzz_u8(in));
    int64_t items = scalar_items(c);
    if (c->family == F_DICE_FOCAL) {
        segloss_dice_focal_opts o = segloss_dice_focal_opts_default();
        region_case(c, &o.dice, in, FILL_SQUARED, prob, classes);
        if (f & 1) { /* else MONAI's defaults */
            o.gamma = gamma;
            o.alpha = alpha;
        }
        if (f & 2) {
            o.lambda_dice = l1;
            o.lambda_focal = l2;
        }
        scalar_outputs(c, in);
        run_calls(c, null_arg, items, &dice_focal_calls, &o);
    } else {
        segloss_generalized_dice_focal_opts o = segloss_generalized_dice_focal_opts_default();
        region_case(c, &o.gdice.region, in, 0, prob, classes);
        o.gdice.w_type = (segloss_gdice_weight)(fuzz_u8(in) % 4); /* 3 is invalid */
        if (f & 1) {
            o.gamma = gamma;
            o.alpha = alpha;
        }
        if (f & 2) {
            o.lambda_gdl = l1;
            o.lambda_focal = l2;
        }
        scalar_outputs(c, in);
        run_calls(c, null_arg, items, &generalized_dice_focal_calls, &o);
    }
}

static void run_mcc(fcase *c, fuzz_bytes *in, int prob, int null_arg) {
    uint8_t f = fuzz_u8(in);
    segloss_mcc_opts o = segloss_mcc_opts_default();
    o.reduction = c->red;
    o.activation = pick_activation(fuzz_u8(in));
    if (f & 1) o.eps = value_param(fuzz_u8(in));
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, 0, n, 2);
    fill_floats(c->x, n, in, prob);
    int64_t items = c->shape_ok ? 1 : -1; /* one value for every reduction */
    make_outputs(c, 1, in);
    run_calls(c, null_arg, items, &mcc_calls, &o);
}

static void run_topk_ce(fcase *c, fuzz_bytes *in, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_topk_ce_opts o = segloss_topk_ce_opts_default();
    c->w1 = make_class_weight(&o.ce.class_weight, c, classes, f & 8, in);
    if (f & 1) o.ce.ignore_index = ignore_param(fuzz_u8(in)); /* else -100 */
    if (f & 2) o.ce.label_smoothing = value_param(fuzz_u8(in));
    if (f & 4) o.k = value_param(fuzz_u8(in));
    o.ce.reduction = c->red; /* not used: always the top-k mean */
    int64_t tcount = index_count(c, 1);
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, 1, tcount, classes);
    fill_floats(c->x, n, in, 0);
    /* one value whatever the reduction: NONE is not an error here */
    run_one_value(c, in, null_arg, c->shape_ok ? 1 : -1, &topk_ce_calls, &o);
}

static void run_lovasz_softmax(fcase *c, fuzz_bytes *in, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_lovasz_opts o = segloss_lovasz_opts_default();
    o.reduction = c->red;
    o.per_image = f & 1;
    o.ignore_index = (f & 2) != 0 ? ignore_param(fuzz_u8(in)) : SEGLOSS_IGNORE_NONE;
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, 1, index_count(c, 0), classes);
    fill_floats(c->x, n, in, 0);
    /* The items are the hinge's over the image axis: the batch, or N. */
    segloss_shape lshape;
    int64_t items = shape_count(segloss_lovasz_items_shape(&lshape, &c->shape, &o), &lshape);
    make_outputs(c, items, in);
    run_calls(c, null_arg, items, &lovasz_softmax_calls, &o);
}

/* hausdorff-dt and boundary: activation, target kind, no_background. */
static int distance_target(fcase *c, fuzz_bytes *in, segloss_activation act,
                           segloss_target_kind kind, int prob, int64_t classes) {
    int index = kind == SEGLOSS_TARGET_INDEX ||
                (kind == SEGLOSS_TARGET_AUTO && act == SEGLOSS_ACTIVATION_SOFTMAX);
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, index, index ? index_count(c, 0) : n, classes);
    fill_floats(c->x, n, in, prob);
    return index;
}

static void run_hausdorff_dt(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_hausdorff_dt_opts o = segloss_hausdorff_dt_opts_default();
    o.reduction = c->red;
    o.activation = pick_activation(fuzz_u8(in));
    o.target_kind = (segloss_target_kind)(fuzz_u8(in) % 4); /* 3 is invalid */
    o.no_background = (f & 1) != 0;
    o.batch = (f & 2) != 0;
    o.log = (f & 4) != 0;
    if (f & 8) o.alpha = value_param(fuzz_u8(in));
    distance_target(c, in, o.activation, o.target_kind, prob, classes);
    segloss_shape ishape;
    int64_t items = shape_count(segloss_hausdorff_dt_items_shape(&ishape, &c->shape, &o), &ishape);
    make_outputs(c, items, in);
    run_calls(c, null_arg, items, &hausdorff_dt_calls, &o);
}

static void run_boundary(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_boundary_opts o = segloss_boundary_opts_default();
    o.reduction = c->red;
    if (f & 1) o.activation = pick_activation(fuzz_u8(in)); /* else SOFTMAX */
    o.target_kind = (segloss_target_kind)(fuzz_u8(in) % 4);
    o.no_background = (f & 2) != 0;
    distance_target(c, in, o.activation, o.target_kind, prob, classes);
    run_one_value(c, in, null_arg, scalar_items(c), &boundary_calls, &o);
}

static void run_unified_focal(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_unified_focal_opts o = segloss_unified_focal_opts_default();
    o.activation = pick_activation(fuzz_u8(in));
    o.target_kind = (segloss_target_kind)(fuzz_u8(in) % 4);
    if (f & 1) { /* else MONAI's defaults */
        o.weight = value_param(fuzz_u8(in));
        o.delta = value_param(fuzz_u8(in));
        o.gamma = value_param(fuzz_u8(in));
    }
    if (f & 2) o.epsilon = value_param(fuzz_u8(in));
    distance_target(c, in, o.activation, o.target_kind, prob, classes);
    run_one_value(c, in, null_arg, c->shape_ok ? 1 : scalar_items(c), &unified_focal_calls, &o);
}

static void run_cldice(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_dice_cldice_opts o = segloss_dice_cldice_opts_default();
    o.cldice.activation = pick_activation(fuzz_u8(in));
    o.cldice.target_kind = (segloss_target_kind)(fuzz_u8(in) % 4);
    o.cldice.no_background = !(f & 1);
    if (f & 2) o.cldice.iter = (int)(fuzz_u8(in) % 8) - 1; /* -1 is invalid */
    if (f & 4) o.cldice.smooth = value_param(fuzz_u8(in));
    if (f & 8) o.alpha = value_param(fuzz_u8(in));
    distance_target(c, in, o.cldice.activation, o.cldice.target_kind, prob, classes);
    if (c->family == F_CLDICE)
        run_one_value(c, in, null_arg, c->shape_ok ? 1 : scalar_items(c), &cldice_calls, &o.cldice);
    else
        run_one_value(c, in, null_arg, c->shape_ok ? 1 : scalar_items(c), &dice_cldice_calls,
                      &o);
}

/* gwdl: logits (N, C, spatial...), class indices, a C x C matrix from the
 * input (now and then of the wrong size, or with negative, NaN or all-zero
 * entries). */
static void run_gwdl(fcase *c, fuzz_bytes *in, int null_arg, int64_t classes) {
    uint8_t f = fuzz_u8(in);
    segloss_gwdl_opts o = segloss_gwdl_opts_default();
    o.reduction = c->red;
    o.weighting_mode = (segloss_gwdl_weighting)(f / 2 % 3); /* 2 is invalid */
    if (f & 8) {
        o.smooth_nr = value_param(fuzz_u8(in));
        o.smooth_dr = value_param(fuzz_u8(in));
    }
    int64_t m = classes >= 0 && classes <= 8 ? classes : 2;
    if (f & 16) m = m > 1 ? m - 1 : m + 1; /* the wrong size */
    c->w1 = alloc_exact(m * m, sizeof(float));
    for (int64_t k = 0; k < m * m; k++) {
        uint8_t b = fuzz_u8(in);
        c->w1[k] = b < 240 ? (float)(b % 5) / 4.0f : value_logit(b % 16);
    }
    o.dist_matrix = (f & 32) && f & 64 ? NULL : c->w1;
    o.num_classes = m;
    int64_t n = c->numel >= 0 ? c->numel : 1;
    make_target(c, in, 1, index_count(c, 0), classes);
    fill_floats(c->x, n, in, 0);
    /* items: one per image */
    int64_t items = c->shape_ok && c->shape.ndim >= 3 ? c->shape.dim[0] : -1;
    if (c->red != SEGLOSS_REDUCTION_NONE) items = 1;
    make_outputs(c, items, in);
    run_calls(c, null_arg, items, &gwdl_calls, &o);
}

/* The region losses of the statistics API, behind one interface. */
typedef struct stats_loss {
    int kind; /* 0 dice, 1 jaccard, 2 tversky, 3 generalized dice */
    segloss_dice_opts d;
    segloss_tversky_opts t;
    segloss_generalized_dice_opts g;
} stats_loss;

static segloss_status sl_items(const stats_loss *s, segloss_shape *items, const segloss_shape *shape) {
    switch (s->kind) {
    case 2: return segloss_tversky_items_shape(items, shape, &s->t);
    case 3: return segloss_generalized_dice_items_shape(items, shape, &s->g);
    default: return segloss_dice_items_shape(items, shape, &s->d);
    }
}

static segloss_status sl_loss(const stats_loss *s, double *loss, float *elems, const double *stats,
                              const segloss_shape *shape, const segloss_batch_part *part) {
    switch (s->kind) {
    case 0: return segloss_dice_loss_from_stats(loss, elems, stats, shape, &s->d, part);
    case 1: return segloss_jaccard_loss_from_stats(loss, elems, stats, shape, &s->d, part);
    case 2: return segloss_tversky_loss_from_stats(loss, elems, stats, shape, &s->t, part);
    default: return segloss_generalized_dice_loss_from_stats(loss, elems, stats, shape, &s->g, part);
    }
}

static segloss_status sl_backward(const stats_loss *s, float *grad, const float *x,
                                  const segloss_target *t, const segloss_shape *shape,
                                  const segloss_batch_part *part, const double *stats,
                                  const float *grad_out) {
    switch (s->kind) {
    case 0: return segloss_dice_backward_from_stats(grad, x, t, shape, &s->d, part, stats, grad_out);
    case 1: return segloss_jaccard_backward_from_stats(grad, x, t, shape, &s->d, part, stats, grad_out);
    case 2: return segloss_tversky_backward_from_stats(grad, x, t, shape, &s->t, part, stats, grad_out);
    default:
        return segloss_generalized_dice_backward_from_stats(grad, x, t, shape, &s->g, part, stats,
                                                            grad_out);
    }
}

/* Two ranks: images [0, n1) and [n1, N). Their statistics add up to the
 * whole batch's; the loss from the sum and each rank's gradient equal the
 * whole batch's. Only where the sums are of non-negative terms (an
 * activation, non-negative smoothing and Tversky weights), so that a
 * different order of the additions changes them by rounding alone. */
static void check_split(const fcase *c, const stats_loss *s, const segloss_dice_opts *r, int index,
                        const double *whole, int64_t count, double loss, fuzz_bytes *in) {
    if (c->shape.ndim < 3 || c->shape.dim[0] < 2 || r->activation == SEGLOSS_ACTIVATION_NONE) return;
    if (!(r->smooth_nr >= 0 && r->smooth_dr >= 0)) return;
    if (s->kind == 2 && !(s->t.alpha >= 0 && s->t.beta >= 0)) return;
    int64_t big_n = c->shape.dim[0], n1 = 1 + fuzz_u8(in) % (big_n - 1);
    int64_t per_x = c->numel / big_n;
    int64_t per_t = (index ? index_count(c, 0) : c->numel) / big_n;
    size_t es = segloss_dtype_size(c->target.dtype);
    segloss_shape sh[2] = {c->shape, c->shape};
    sh[0].dim[0] = n1;
    sh[1].dim[0] = big_n - n1;
    segloss_batch_part part[2] = {{big_n, 0}, {big_n, n1}};
    double *sum = calloc((size_t)count + 1, sizeof(double));
    double *mine = alloc_exact(count, sizeof(double));
    if (!sum) abort();
    for (int k = 0; k < 2; k++) {
        int64_t cnt = -1;
        FUZZ_CHECK(segloss_region_stats_count(&cnt, &sh[k], r, &part[k]) == SEGLOSS_OK && cnt == count);
        segloss_target t = {(const char *)c->target.data + (size_t)(part[k].n_offset * per_t) * es,
                            c->target.dtype};
        segloss_status st = segloss_region_stats(mine, c->x + part[k].n_offset * per_x, &t, &sh[k], r,
                                                 &part[k]);
        FUZZ_CHECK_MSG(st == SEGLOSS_OK, "rank %d: stats status %d, the whole batch's 0", k, (int)st);
        for (int64_t j = 0; j < count; j++) sum[j] += mine[j];
    }
    for (int64_t j = 0; j < count; j++)
        FUZZ_CHECK_MSG(fuzz_close(sum[j], whole[j], 1e-12), "stats[%lld]: ranks %.17g, whole %.17g",
                       (long long)j, sum[j], whole[j]);
    float gmax = 0.0f;
    for (int64_t j = 0; j < c->numel; j++)
        if (isfinite(c->grad[j])) gmax = fmaxf(gmax, fabsf(c->grad[j]));
    for (int k = 0; k < 2; k++) {
        double lk = 0;
        segloss_status st = sl_loss(s, &lk, NULL, sum, &sh[k], &part[k]);
        if (c->red == SEGLOSS_REDUCTION_NONE) {
            FUZZ_CHECK(st == SEGLOSS_OK || st == SEGLOSS_ERR_ARG); /* NONE may need elems */
        } else {
            FUZZ_CHECK_MSG(st == SEGLOSS_OK, "rank %d: loss from stats status %d", k, (int)st);
            FUZZ_CHECK_MSG(fuzz_close(lk, loss, 1e-9), "rank %d: loss %.17g, whole %.17g", k, lk, loss);
        }
        int64_t nk = sh[k].dim[0] * per_x, off = part[k].n_offset * per_x;
        float *g = alloc_exact(nk, sizeof(float));
        segloss_target t = {(const char *)c->target.data + (size_t)(part[k].n_offset * per_t) * es,
                            c->target.dtype};
        st = sl_backward(s, g, c->x + off, &t, &sh[k], &part[k], sum, c->grad_out);
        FUZZ_CHECK_MSG(st == SEGLOSS_OK, "rank %d: backward from stats status %d", k, (int)st);
        for (int64_t j = 0; j < nk; j++) {
            float a = g[j], b = c->grad[off + j];
            int ok = isnan(a) ? isnan(b) : !isfinite(a) ? a == b
                                                        : fabsf(a - b) <= 1e-5f * gmax + 1e-30f;
            FUZZ_CHECK_MSG(ok, "rank %d: gradient[%lld] %.9g, whole batch %.9g", k, (long long)j,
                           (double)a, (double)b);
        }
        free(g);
    }
    free(sum);
    free(mine);
}

static void run_stats(fcase *c, fuzz_bytes *in, int prob, int null_arg, int64_t classes) {
    stats_loss s;
    memset(&s, 0, sizeof s);
    s.kind = fuzz_u8(in) % 4;
    int flags = s.kind == 0 ? FILL_SQUARED | FILL_SMP : s.kind == 1 ? FILL_SMP : 0;
    segloss_dice_opts r;
    int index = region_case(c, &r, in, flags, prob, classes);
    s.d = r;
    s.t = segloss_tversky_opts_default();
    s.t.region = r;
    s.g = segloss_generalized_dice_opts_default();
    s.g.region = r;
    uint8_t f = fuzz_u8(in);
    if (s.kind == 2 && (f & 1)) {
        s.t.alpha = value_param(fuzz_u8(in));
        s.t.beta = value_param(fuzz_u8(in));
        s.t.gamma = value_param(fuzz_u8(in));
    }
    if (s.kind == 3) s.g.w_type = (segloss_gdice_weight)(f / 2 % 4);
    int64_t count = -1;
    segloss_status st = segloss_region_stats_count(&count, &c->shape, &r, NULL);
    fuzz_check_status(st);
    if (st != SEGLOSS_OK) return;
    FUZZ_CHECK_MSG(c->shape_ok && count >= 0 && count % 3 == 0, "stats count %lld", (long long)count);
    double *whole = alloc_exact(count, sizeof(double));
    st = segloss_region_stats(whole, null_arg ? NULL : c->x, &c->target, &c->shape, &r, NULL);
    fuzz_check_status(st);
    if (st == SEGLOSS_OK) {
        segloss_shape ishape;
        int64_t items = shape_count(sl_items(&s, &ishape, &c->shape), &ishape);
        make_outputs(c, items, in);
        double loss = 0;
        st = sl_loss(&s, &loss, c->elems, whole, &c->shape, NULL);
        check_forward(c, st, loss, items);
        segloss_status stb = sl_backward(&s, c->grad, c->x, &c->target, &c->shape, NULL, whole,
                                         c->grad_out);
        check_backward(c, stb);
        if (st == SEGLOSS_OK && stb == SEGLOSS_OK) check_split(c, &s, &r, index, whole, count, loss, in);
    }
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    fcase c;
    case_begin(&c, &in, F_COUNT);
    uint8_t vmode = fuzz_u8(&in);
    int prob = vmode & 1;         /* inputs as probabilities */
    int null_arg = vmode == 0xff; /* the input pointer NULL */
    int64_t n = c.numel >= 0 ? c.numel : 1;
    c.x = alloc_exact(n, sizeof(float));
    c.grad = alloc_exact(n, sizeof(float));
    for (int64_t k = 0; k < n; k++) c.grad[k] = sentinel();
    int64_t classes = c.shape_ok && c.shape.ndim >= 2 ? c.shape.dim[1]
                      : c.shape_ok && c.shape.ndim == 1 ? c.shape.dim[0] : 1;
    switch (c.family) {
    case F_DICE_CE: run_dice_ce(&c, &in, prob, null_arg, classes); break;
    case F_DICE_FOCAL:
    case F_GDICE_FOCAL: run_dice_focal(&c, &in, prob, null_arg, classes); break;
    case F_MCC: run_mcc(&c, &in, prob, null_arg); break;
    case F_TOPK_CE: run_topk_ce(&c, &in, null_arg, classes); break;
    case F_LOVASZ_SOFTMAX: run_lovasz_softmax(&c, &in, null_arg, classes); break;
    case F_HAUSDORFF_DT: run_hausdorff_dt(&c, &in, prob, null_arg, classes); break;
    case F_BOUNDARY: run_boundary(&c, &in, prob, null_arg, classes); break;
    case F_STATS: run_stats(&c, &in, prob, null_arg, classes); break;
    case F_UNIFIED_FOCAL: run_unified_focal(&c, &in, prob, null_arg, classes); break;
    case F_GWDL: run_gwdl(&c, &in, null_arg, classes); break;
    default: run_cldice(&c, &in, prob, null_arg, classes); break;
    }
    case_free(&c);
    return 0;
}
