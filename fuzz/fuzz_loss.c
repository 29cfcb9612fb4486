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
 * *_forward_backward calls (bce-logits, dice, generalized dice, dice-bce)
 * succeed exactly when
 * the forward and the backward both do, with the same bits; bce-logits and
 * focal report a bad target exactly when segloss_target_check does. */
#include "loss_common.h"

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

LOSS_CALLS_NO_FUSED(bce, segloss_bce_opts, 0)
LOSS_CALLS(bce_logits, segloss_bce_opts, 0)
LOSS_CALLS_NO_FUSED(focal, segloss_focal_opts, 0)
LOSS_CALLS_NO_FUSED(ce, segloss_ce_opts, 0)
LOSS_CALLS_NO_FUSED(lovasz_hinge, segloss_lovasz_opts, 0)
LOSS_CALLS(dice, segloss_dice_opts, 0)
LOSS_CALLS_NO_FUSED(jaccard, segloss_dice_opts, 0)
LOSS_CALLS_NO_FUSED(tversky, segloss_tversky_opts, 0)
LOSS_CALLS(generalized_dice, segloss_generalized_dice_opts, 0)

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
            st = run_calls(c, null_arg, items, &focal_calls, &o);
            if (!null_arg) check_target_rule(c, st, n, o.ignore_index);
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
            run_calls(c, null_arg, items, &bce_calls, &o);
        } else {
            st = run_calls(c, null_arg, items, &bce_logits_calls, &o);
            if (!null_arg) check_target_rule(c, st, n, o.ignore_index);
        }
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
        c->w1 = make_class_weight(&o.class_weight, c, classes, f & 8, in);
        static const int64_t ign[8] = {-100, 0, 1, 255, -1, INT64_MIN, INT64_MAX, 2};
        int64_t iv = ign[fuzz_u8(in) % 8];
        if (f & 1) o.ignore_index = iv; /* else PyTorch's -100 */
        o.label_smoothing = f & 2 ? value_param(fuzz_u8(in)) : 0.0;
        items = c->shape_ok ? tcount : -1;
        if (c->shape_ok && c->shape.ndim < 1) items = -1;
        make_outputs(c, items, in);
        run_calls(c, null_arg, items, &ce_calls, &o);
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
        run_calls(c, null_arg, items, &lovasz_hinge_calls, &o);
        break;
    }
    case F_DICE:
    case F_JACCARD:
    case F_TVERSKY:
    case F_GDICE:
    case F_DICE_BCE: {
        segloss_dice_opts r;
        fill_region(&r, in,
                    c->family == F_DICE      ? FILL_SQUARED | FILL_SMP
                    : c->family == F_JACCARD ? FILL_SMP
                                             : 0);
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
            run_calls(c, null_arg, items, &generalized_dice_calls, &o);
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
            run_calls(c, null_arg, items, &tversky_calls, &o);
            break;
        }
        items = shape_count(segloss_dice_items_shape(&ishape, &c->shape, &r), &ishape);
        make_outputs(c, items, in);
        run_calls(c, null_arg, items, c->family == F_DICE ? &dice_calls : &jaccard_calls, &r);
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    fcase c;
    case_begin(&c, &in, F_COUNT);
    run_case(&c, &in);
    case_free(&c);
    return 0;
}
