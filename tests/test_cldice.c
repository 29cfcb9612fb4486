/* cldice and dice-cldice (MONAI SoftclDiceLoss, SoftDiceclDiceLoss):
 *  - tests/data/cldice_ref.txt from MONAI 1.5.0's real code
 *    (tools/ref/gen_cldice_loss_ref.py, float64 torch autograd): 2-D and
 *    3-D, batch > 1, C = 1 and C > 1, empty and full targets, extreme
 *    probabilities, exact ties (0/1 masks and grey levels as predictions,
 *    where the gradient depends on torch's pooling and min tie rules);
 *    loss within 2e-5 relative, gradient within 1e-5 of its largest entry;
 *  - central finite differences in double away from ties: distinct input
 *    values on a 2^-12 grid in [0.05, 0.95], step 2^-16 (exact on the
 *    float32 inputs), so no comparison of the pooling and no relu changes
 *    side within a step;
 *  - statuses and the fused call's bits. */
#include "gradcheck_util.h"
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cl_case {
    char name[64], kind[16];
    segloss_shape shape;
    ref_arr x, t, grad;
    segloss_dtype tdtype;
    segloss_dice_cldice_opts o;
    double loss;
} cl_case;

/* The opts line: iter=, smooth=, alpha=, act=, nobg= (any order). */
static int parse_opts(char *line, segloss_dice_cldice_opts *o) {
    char *save = NULL;
    for (char *kv = strtok_r(line, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) return 0;
        *eq++ = 0;
        if (!strcmp(kv, "iter")) o->cldice.iter = atoi(eq);
        else if (!strcmp(kv, "smooth")) o->cldice.smooth = strtod(eq, NULL);
        else if (!strcmp(kv, "alpha")) o->alpha = strtod(eq, NULL);
        else if (!strcmp(kv, "nobg")) o->cldice.no_background = atoi(eq);
        else if (!strcmp(kv, "act"))
            o->cldice.activation = !strcmp(eq, "softmax")   ? SEGLOSS_ACTIVATION_SOFTMAX
                                   : !strcmp(eq, "sigmoid") ? SEGLOSS_ACTIVATION_SIGMOID
                                                            : SEGLOSS_ACTIVATION_NONE;
        else return 0;
    }
    return 1;
}

/* One case; 1 ok, 0 at the end, -1 on a format error. */
static int next_case(ref_lexer *lx, cl_case *c) {
    memset(c, 0, sizeof *c);
    c->o = segloss_dice_cldice_opts_default();
    char *t = ref_tok(lx);
    if (!t) return 0;
    if (strcmp(t, "case") || !(t = ref_tok(lx))) return -1;
    snprintf(c->name, sizeof c->name, "%s", t);
    int ok = 1;
    while (ok && (t = ref_tok(lx)) && strcmp(t, "end")) {
        if (!strcmp(t, "kind")) {
            ok = (t = ref_tok(lx)) != NULL;
            if (ok) snprintf(c->kind, sizeof c->kind, "%s", t);
        } else if (!strcmp(t, "shape")) ok = ref_parse_shape(lx, &c->shape);
        else if (!strcmp(t, "x")) ok = ref_parse_array(lx, 1, &c->x);
        else if (!strcmp(t, "target"))
            ok = (t = ref_tok(lx)) && ref_parse_dtype(t, &c->tdtype) &&
                 ref_parse_array(lx, 0, &c->t);
        else if (!strcmp(t, "opts")) ok = parse_opts(ref_rest_of_line(lx), &c->o);
        else if (!strcmp(t, "loss")) ok = ref_tok_f64(lx, &c->loss);
        else if (!strcmp(t, "grad")) ok = ref_parse_array(lx, 0, &c->grad);
        else ok = 0;
    }
    return ok && t ? 1 : -1;
}

/* The case's loss through the fused call, checked against the two calls. */
static segloss_status run(const cl_case *c, double *loss, float *g, const float *x,
                          const segloss_target *t, int64_t n) {
    int dcl = !strcmp(c->kind, "dice-cldice");
    segloss_status st = dcl ? segloss_dice_cldice_forward_backward(loss, g, x, t, &c->shape,
                                                                   &c->o, NULL)
                            : segloss_cldice_forward_backward(loss, g, x, t, &c->shape,
                                                              &c->o.cldice, NULL);
    double l2 = NAN;
    float *g2 = malloc((size_t)n * sizeof *g2);
    segloss_status s2 =
        dcl ? segloss_dice_cldice_forward(&l2, x, t, &c->shape, &c->o)
            : segloss_cldice_forward(&l2, x, t, &c->shape, &c->o.cldice);
    if (s2 == SEGLOSS_OK)
        s2 = dcl ? segloss_dice_cldice_backward(g2, x, t, &c->shape, &c->o, NULL)
                 : segloss_cldice_backward(g2, x, t, &c->shape, &c->o.cldice, NULL);
    CHECK_MSG(s2 == st, "%s: status %d vs fused %d", c->name, s2, st);
    if (st == SEGLOSS_OK && s2 == SEGLOSS_OK)
        CHECK_MSG(l2 == *loss && !memcmp(g, g2, (size_t)n * sizeof *g),
                  "%s: the fused call differs from forward + backward", c->name);
    free(g2);
    return st;
}

TEST(cldice_ref_cases) {
    char *text = ref_read_file(tf_data_path("cldice_ref.txt"));
    CHECK_MSG(text != NULL, "cannot read cldice_ref.txt");
    if (!text) return;
    ref_lexer lx = {text};
    cl_case c;
    int r, cases = 0;
    double worst_loss = 0, worst_grad = 0;
    while ((r = next_case(&lx, &c)) == 1) {
        cases++;
        float *x = ref_arr_to_f32(&c.x);
        void *tb = ref_make_target(c.t.v, c.t.n, c.tdtype);
        segloss_target t = {tb, c.tdtype};
        float *g = ref_nan_buffer(c.x.n);
        double loss = NAN;
        segloss_status st = run(&c, &loss, g, x, &t, c.x.n);
        CHECK_MSG(st == SEGLOSS_OK, "%s: status %s", c.name, segloss_strerror(st));
        if (st == SEGLOSS_OK)
            ref_check_loss_grad(c.name, loss, c.loss, c.loss == 0 ? 1e-12 : 0.0, g, &c.grad,
                                &worst_loss, &worst_grad);
        free(x);
        free(tb);
        free(g);
        ref_arr_free(&c.x);
        ref_arr_free(&c.t);
        ref_arr_free(&c.grad);
    }
    CHECK_MSG(r == 0, "cldice_ref.txt: format error after %d cases", cases);
    CHECK(cases >= 32);
    if (getenv("SEGLOSS_TEST_VERBOSE"))
        printf("cldice ref: %d cases, worst loss rel %.3g, worst grad %.3g of max\n", cases,
               worst_loss, worst_grad);
    free(text);
}

/* Finite differences: F(xs) = the loss at the float32 inputs xs. */
typedef struct fd_ctx {
    const segloss_shape *shape;
    const segloss_target *t;
    const segloss_dice_cldice_opts *o;
    int64_t n;
} fd_ctx;

static double fd_loss(const void *vctx, const double *xs) {
    const fd_ctx *f = vctx;
    float *x = malloc((size_t)f->n * sizeof *x);
    for (int64_t i = 0; i < f->n; i++) x[i] = (float)xs[i];
    double l = NAN;
    segloss_status st = segloss_dice_cldice_forward(&l, x, f->t, f->shape, f->o);
    free(x);
    return st == SEGLOSS_OK ? l : NAN;
}

static void fd_check(const char *what, segloss_shape sh, double alpha, int iter, uint64_t seed) {
    int64_t n = 1;
    for (int k = 0; k < sh.ndim; k++) n *= sh.dim[k];
    double *xs = malloc((size_t)n * sizeof *xs), *fd = malloc((size_t)n * sizeof *fd);
    float *x = malloc((size_t)n * sizeof *x), *g = malloc((size_t)n * sizeof *g);
    float *y = malloc((size_t)n * sizeof *y);
    /* distinct values: a shuffled run of the 2^-12 grid from 0.05 */
    for (int64_t i = 0; i < n; i++) xs[i] = (205 + 3 * i) / 4096.0;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(gcu_uniform53(&seed) * (double)(i + 1));
        double v = xs[i];
        xs[i] = xs[j];
        xs[j] = v;
    }
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)xs[i];
        y[i] = gcu_uniform53(&seed) < 0.4 ? 1.0f : 0.0f;
    }
    segloss_target t = {y, SEGLOSS_F32};
    segloss_dice_cldice_opts o = segloss_dice_cldice_opts_default();
    o.alpha = alpha;
    o.cldice.iter = iter;
    fd_ctx f = {&sh, &t, &o, n};
    segloss_status st = segloss_dice_cldice_backward(g, x, &t, &sh, &o, NULL);
    CHECK_MSG(st == SEGLOSS_OK, "%s: %s", what, segloss_strerror(st));
    double mx = 0;
    for (int64_t i = 0; i < n; i++) {
        fd[i] = gcu_central_diff(fd_loss, &f, xs, i, 0x1p-16);
        mx = fmax(mx, fabs(fd[i]));
    }
    int64_t at = -1, checked = 0;
    double err = gcu_max_err(g, fd, NULL, n, &at, &checked);
    CHECK_MSG(st != SEGLOSS_OK || (checked == n && err <= 1e-6 * mx && mx > 0),
              "%s: |g - fd| %.3g of %.3g at %lld (%lld checked)", what, err, mx, (long long)at,
              (long long)checked);
    free(xs);
    free(fd);
    free(x);
    free(g);
    free(y);
}

TEST(cldice_finite_differences) {
    fd_check("cldice 2-D", (segloss_shape){4, {2, 2, 8, 9}}, 1.0, 3, 11);
    fd_check("dice-cldice 2-D iter 5", (segloss_shape){4, {1, 3, 10, 7}}, 0.3, 5, 12);
    fd_check("dice-cldice 3-D", (segloss_shape){5, {2, 2, 4, 5, 6}}, 0.5, 2, 13);
}

TEST(cldice_statuses) {
    float x[2 * 2 * 3 * 3], y[2 * 2 * 3 * 3];
    for (int i = 0; i < 36; i++) {
        x[i] = (float)(i % 7) / 7.0f;
        y[i] = (float)(i % 2);
    }
    segloss_target t = {y, SEGLOSS_F32};
    segloss_shape sh = {4, {2, 2, 3, 3}}, sh3 = {3, {2, 2, 9}};
    double l = 0;
    float g[36];
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh3, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_cldice_forward(NULL, x, &t, &sh, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_dice_cldice_backward(NULL, x, &t, &sh, NULL, NULL), SEGLOSS_ERR_NULL);
    segloss_cldice_opts o = segloss_cldice_opts_default();
    o.iter = -1;
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh, &o), SEGLOSS_ERR_ARG);
    o = segloss_cldice_opts_default();
    o.smooth = NAN;
    CHECK_EQ_INT(segloss_cldice_backward(g, x, &t, &sh, &o, NULL), SEGLOSS_ERR_ARG);
    segloss_dice_cldice_opts d = segloss_dice_cldice_opts_default();
    d.alpha = INFINITY;
    CHECK_EQ_INT(segloss_dice_cldice_forward(&l, x, &t, &sh, &d), SEGLOSS_ERR_ARG);
    x[5] = 1.5f; /* probabilities: [0,1] */
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh, NULL), SEGLOSS_ERR_DOMAIN);
    o = segloss_cldice_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SIGMOID;
    x[5] = NAN;
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh, &o), SEGLOSS_ERR_NONFINITE);
    x[5] = 0.5f;
    y[12] = 2.0f; /* channel 1 (channel 0 is not read) */
    CHECK_EQ_INT(segloss_cldice_forward(&l, x, &t, &sh, NULL), SEGLOSS_ERR_TARGET);
}

/* The gradient scales with grad_out; C = 1 keeps nothing (MONAI): 0. */
TEST(cldice_grad_out_and_one_channel) {
    float x[2 * 2 * 4 * 4], y[2 * 2 * 4 * 4], g1[32 * 2], g2[32 * 2];
    uint64_t seed = 5;
    for (int i = 0; i < 64; i++) {
        x[i] = (float)gcu_uniform53(&seed);
        y[i] = gcu_uniform53(&seed) < 0.5 ? 1.0f : 0.0f;
    }
    segloss_target t = {y, SEGLOSS_F32};
    segloss_shape sh = {4, {2, 2, 4, 4}}, sh1 = {4, {4, 1, 4, 4}};
    float up = -2.5f;
    CHECK_EQ_INT(segloss_dice_cldice_backward(g1, x, &t, &sh, NULL, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_dice_cldice_backward(g2, x, &t, &sh, NULL, &up), SEGLOSS_OK);
    int bad = 0;
    for (int i = 0; i < 64; i++) bad += fabsf(g2[i] - up * g1[i]) > 1e-6f * fabsf(g1[i]) + 1e-12f;
    CHECK_EQ_INT(bad, 0);
    double l = -1;
    CHECK_EQ_INT(segloss_dice_cldice_forward_backward(&l, g1, x, &t, &sh1, NULL, NULL),
                 SEGLOSS_OK);
    bad = 0;
    for (int i = 0; i < 64; i++) bad += g1[i] != 0.0f;
    CHECK(l == 0.0 && bad == 0);
}
