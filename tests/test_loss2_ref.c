/* Second-edition losses against the peers' real code: tests/data/
 * loss2_ref.txt, written by tools/ref/gen_loss2_ref.py from MONAI 1.5.0
 * (DiceCELoss, DiceFocalLoss, GeneralizedDiceFocalLoss) and nnU-Net 2.8.1
 * (DC_and_CE_loss) (float64 torch, autograd gradients). Each case: the
 * loss within 2e-5 relative, the gradient within 1e-5 of its largest
 * entry. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct opt_kv {
    char key[16];
    double val;
    char sval[16];
} opt_kv;

typedef struct l2case {
    char name[96], kind[32];
    segloss_shape shape;
    ref_arr x, t, grad, dm;         /* dm: gwdl's distance matrix */
    segloss_dtype tdtype;
    opt_kv opt[16];
    int nopt;
    double loss;
} l2case;

/* A numeric option (def when absent). */
static double optv(const l2case *c, const char *k, double def) {
    for (int i = 0; i < c->nopt; i++)
        if (!strcmp(c->opt[i].key, k)) return c->opt[i].val;
    return def;
}

/* A string option (NULL when absent). */
static const char *opts(const l2case *c, const char *k) {
    for (int i = 0; i < c->nopt; i++)
        if (!strcmp(c->opt[i].key, k)) return c->opt[i].sval;
    return NULL;
}

/* Parses one case; 1 ok, 0 at the end, -1 on a format error. */
static int parse_case(ref_lexer *lx, l2case *c) {
    memset(c, 0, sizeof *c);
    char *t = ref_tok(lx);
    if (!t) return 0;
    if (strcmp(t, "case") || !(t = ref_tok(lx))) return -1;
    snprintf(c->name, sizeof c->name, "%s", t);
    while ((t = ref_tok(lx)) && strcmp(t, "end")) {
        if (!strcmp(t, "kind")) {
            if (!(t = ref_tok(lx))) return -1;
            snprintf(c->kind, sizeof c->kind, "%s", t);
        } else if (!strcmp(t, "shape")) {
            if (!ref_parse_shape(lx, &c->shape)) return -1;
        } else if (!strcmp(t, "x")) {
            if (!ref_parse_array(lx, 1, &c->x)) return -1;
        } else if (!strcmp(t, "target")) {
            if (!(t = ref_tok(lx)) || !ref_parse_dtype(t, &c->tdtype)) return -1;
            if (!ref_parse_array(lx, 0, &c->t)) return -1;
        } else if (!strcmp(t, "opts")) {
            char *line = ref_rest_of_line(lx), *save = NULL;
            for (char *kv = strtok_r(line, " ", &save); kv && c->nopt < 16;
                 kv = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(kv, '=');
                if (!eq) return -1;
                *eq = 0;
                opt_kv *o = &c->opt[c->nopt++];
                snprintf(o->key, sizeof o->key, "%s", kv);
                snprintf(o->sval, sizeof o->sval, "%s", eq + 1);
                o->val = strtod(eq + 1, NULL);
            }
        } else if (!strcmp(t, "loss")) {
            if (!ref_tok_f64(lx, &c->loss)) return -1;
        } else if (!strcmp(t, "dm")) {
            if (!ref_parse_array(lx, 1, &c->dm)) return -1;
        } else if (!strcmp(t, "grad")) {
            if (!ref_parse_array(lx, 0, &c->grad)) return -1;
        } else {
            return -1;
        }
    }
    return t ? 1 : -1;
}

static segloss_activation act_of(const l2case *c, segloss_activation def) {
    const char *a = opts(c, "act");
    if (!a) return def;
    return !strcmp(a, "softmax") ? SEGLOSS_ACTIVATION_SOFTMAX
           : !strcmp(a, "none")  ? SEGLOSS_ACTIVATION_NONE
                                 : SEGLOSS_ACTIVATION_SIGMOID;
}

static segloss_reduction red_of(const l2case *c) {
    const char *r = opts(c, "red");
    if (!r || !strcmp(r, "mean")) return SEGLOSS_REDUCTION_MEAN;
    return !strcmp(r, "sum") ? SEGLOSS_REDUCTION_SUM : SEGLOSS_REDUCTION_NONE;
}

/* The region options of a case on top of d. */
static void region_opts(const l2case *c, segloss_dice_opts *d) {
    d->reduction = red_of(c);
    d->activation = act_of(c, d->activation);
    d->smooth_nr = optv(c, "snr", d->smooth_nr);
    d->smooth_dr = optv(c, "sdr", d->smooth_dr);
    d->batch = (int)optv(c, "batch", d->batch);
    d->no_background = (int)optv(c, "nobg", d->no_background);
    const char *tk = opts(c, "tkind");
    if (tk) d->target_kind = !strcmp(tk, "index") ? SEGLOSS_TARGET_INDEX : SEGLOSS_TARGET_DENSE;
}

/* Runs the case's loss: forward_backward, with the forward and backward
 * alone checked to give the same bits. */
static segloss_status run_case(const l2case *c, double *loss, float *grad, const float *x,
                               const segloss_target *t) {
    if (!strcmp(c->kind, "dice-ce")) {
        segloss_dice_ce_opts o = optv(c, "nnunet", 0) ? segloss_dice_ce_opts_nnunet()
                                                      : segloss_dice_ce_opts_default();
        region_opts(c, &o.dice);
        o.lambda_dice = optv(c, "ld", 1.0);
        o.lambda_ce = optv(c, "lc", 1.0);
        o.label_smoothing = optv(c, "ls", 0.0);
        segloss_status st = segloss_dice_ce_forward_backward(loss, NULL, grad, x, t, &c->shape,
                                                             &o, NULL);
        double l2 = 0;
        if (st == SEGLOSS_OK) st = segloss_dice_ce_forward(&l2, NULL, x, t, &c->shape, &o);
        CHECK_MSG(st != SEGLOSS_OK || l2 == *loss, "%s: forward %.17g vs forward_backward %.17g",
                  c->name, l2, *loss);
        return st;
    }
    if (!strcmp(c->kind, "dice-focal")) {
        segloss_dice_focal_opts o = segloss_dice_focal_opts_default();
        region_opts(c, &o.dice);
        o.gamma = optv(c, "gamma", o.gamma);
        o.alpha = optv(c, "alpha", o.alpha);
        o.lambda_dice = optv(c, "ld", 1.0);
        o.lambda_focal = optv(c, "lf", 1.0);
        segloss_status st = segloss_dice_focal_forward(loss, NULL, x, t, &c->shape, &o);
        return st ? st : segloss_dice_focal_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "generalized-dice-focal")) {
        segloss_generalized_dice_focal_opts o = segloss_generalized_dice_focal_opts_default();
        region_opts(c, &o.gdice.region);
        const char *w = opts(c, "wtype");
        if (w) o.gdice.w_type = !strcmp(w, "simple")    ? SEGLOSS_GDICE_SIMPLE
                                : !strcmp(w, "uniform") ? SEGLOSS_GDICE_UNIFORM
                                                        : SEGLOSS_GDICE_SQUARE;
        o.gamma = optv(c, "gamma", o.gamma);
        o.lambda_gdl = optv(c, "lgdl", 1.0);
        o.lambda_focal = optv(c, "lf", 1.0);
        segloss_status st = segloss_generalized_dice_focal_forward(loss, NULL, x, t, &c->shape, &o);
        return st ? st
                  : segloss_generalized_dice_focal_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "mcc")) {
        segloss_mcc_opts o = segloss_mcc_opts_default();
        o.activation = act_of(c, o.activation);
        o.eps = optv(c, "eps", o.eps);
        segloss_status st = segloss_mcc_forward(loss, NULL, x, t, &c->shape, &o);
        return st ? st : segloss_mcc_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "topk-ce")) {
        segloss_topk_ce_opts o = segloss_topk_ce_opts_default();
        o.k = optv(c, "k", o.k);
        o.ce.label_smoothing = optv(c, "ls", 0.0);
        o.ce.ignore_index = (int64_t)optv(c, "ign", -100);
        segloss_status st = segloss_topk_ce_forward(loss, x, t, &c->shape, &o);
        return st ? st : segloss_topk_ce_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "lovasz-softmax")) {
        segloss_lovasz_opts o = segloss_lovasz_opts_default();
        o.per_image = (int)optv(c, "per_image", 0);
        o.ignore_index = (int64_t)optv(c, "ign", (double)SEGLOSS_IGNORE_NONE);
        if (!opts(c, "ign")) o.ignore_index = SEGLOSS_IGNORE_NONE;
        segloss_status st = segloss_lovasz_softmax_forward(loss, NULL, x, t, &c->shape, &o);
        return st ? st : segloss_lovasz_softmax_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "hausdorff-dt")) {
        segloss_hausdorff_dt_opts o = segloss_hausdorff_dt_opts_default();
        o.reduction = red_of(c);
        o.activation = act_of(c, o.activation);
        o.no_background = (int)optv(c, "nobg", 1);
        o.batch = (int)optv(c, "batch", 0);
        o.alpha = optv(c, "alpha", o.alpha);
        o.log = (int)optv(c, "log", 0);
        segloss_status st = segloss_hausdorff_dt_forward(loss, NULL, x, t, &c->shape, &o);
        return st ? st : segloss_hausdorff_dt_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "boundary")) {
        segloss_boundary_opts o = segloss_boundary_opts_default();
        o.no_background = (int)optv(c, "nobg", 0);
        segloss_status st = segloss_boundary_forward(loss, x, t, &c->shape, &o);
        return st ? st : segloss_boundary_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "unified-focal")) {
        segloss_unified_focal_opts o = segloss_unified_focal_opts_default();
        o.activation = act_of(c, o.activation);
        const char *tk = opts(c, "tkind");
        if (tk) o.target_kind = !strcmp(tk, "index") ? SEGLOSS_TARGET_INDEX : SEGLOSS_TARGET_DENSE;
        o.weight = optv(c, "w", o.weight);
        o.delta = optv(c, "delta", o.delta);
        o.gamma = optv(c, "gamma", o.gamma);
        segloss_status st = segloss_unified_focal_forward(loss, x, t, &c->shape, &o);
        return st ? st : segloss_unified_focal_backward(grad, x, t, &c->shape, &o, NULL);
    }
    if (!strcmp(c->kind, "gwdl")) {
        segloss_gwdl_opts o = segloss_gwdl_opts_default();
        float *m = ref_arr_to_f32(&c->dm);
        o.dist_matrix = m;
        o.num_classes = c->shape.dim[1];
        o.reduction = red_of(c);
        const char *mode = opts(c, "mode");
        if (mode && !strcmp(mode, "GDL")) o.weighting_mode = SEGLOSS_GWDL_GDL;
        o.smooth_nr = optv(c, "snr", o.smooth_nr);
        o.smooth_dr = optv(c, "sdr", o.smooth_dr);
        segloss_status st = segloss_gwdl_forward(loss, NULL, x, t, &c->shape, &o);
        if (!st) st = segloss_gwdl_backward(grad, x, t, &c->shape, &o, NULL);
        free(m);
        return st;
    }
    tf_fail(__FILE__, __LINE__, "%s: unknown kind %s", c->name, c->kind);
    return SEGLOSS_ERR_ARG;
}

/* Every case of tests/data/FILE (at least min_cases of them). */
static void run_file(const char *file, int min_cases) {
    char *text = ref_read_file(tf_data_path(file));
    CHECK_MSG(text != NULL, "cannot read %s", file);
    if (!text) return;
    ref_lexer lx = {text};
    l2case c;
    int r, cases = 0;
    double worst_loss = 0, worst_grad = 0;
    while ((r = parse_case(&lx, &c)) == 1) {
        cases++;
        float *x = ref_arr_to_f32(&c.x);
        void *tb = ref_make_target(c.t.v, c.t.n, c.tdtype);
        segloss_target t = {tb, c.tdtype};
        float *g = ref_nan_buffer(c.x.n);
        double loss = NAN;
        segloss_status st = run_case(&c, &loss, g, x, &t);
        CHECK_MSG(st == SEGLOSS_OK, "%s: status %s", c.name, segloss_strerror(st));
        if (st == SEGLOSS_OK)
            ref_check_loss_grad(c.name, loss, c.loss, 0.0, g, &c.grad, &worst_loss, &worst_grad);
        free(x);
        free(tb);
        free(g);
        ref_arr_free(&c.x);
        ref_arr_free(&c.t);
        ref_arr_free(&c.grad);
        ref_arr_free(&c.dm);
    }
    CHECK_MSG(r == 0, "%s: format error after %d cases", file, cases);
    CHECK(cases >= min_cases);
    if (getenv("SEGLOSS_TEST_VERBOSE"))
        printf("%s: %d cases, worst loss rel %.3g, worst grad %.3g of max\n", file, cases,
               worst_loss, worst_grad);
    free(text);
}

TEST(loss2_ref_cases) { run_file("loss2_ref.txt", 47); }

/* unified-focal and gwdl: tests/data/loss3_ref.txt, written by
 * tools/ref/gen_loss3_ref.py from MONAI 1.5.0 (AsymmetricUnifiedFocalLoss,
 * GeneralizedWassersteinDiceLoss). */
TEST(loss3_ref_cases) { run_file("loss3_ref.txt", 17); }
