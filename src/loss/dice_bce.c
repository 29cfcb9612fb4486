/* Dice + BCE-with-logits — MONAI DiceCELoss with one channel — forward,
 * backward, and both in one call.
 *
 *   loss = lambda_dice * dice(x, y) + lambda_bce * bce(x, y)
 * dice: segloss_dice with opts->dice (sigmoid on logits, dense target).
 * bce:  l_i = (1-y_i) softplus(x_i) + pw_i y_i softplus(-x_i) over every
 *       element not ignored (all channels); MEAN divides by their count K
 *       (0 when K = 0), SUM adds. This is BCEWithLogitsLoss(pos_weight) in
 *       the stable form of bce_logits.c:
 *         dl_i/dx_i = (1-y_i) sigmoid(x_i) - pw_i y_i sigmoid(-x_i).
 * The reduction (MEAN or SUM) is opts->dice.reduction, for both parts, as
 * MONAI passes its one reduction to both; NONE is an error there and here.
 *
 * Computation (forward, backward and forward_backward share it, so they
 * give the same bits; Dice alone, dice.c's sigmoid case, too). Work item
 * (n, c, b) is spatial block b (SEGLOSS_BLOCK elements) of the channel
 * plane (n, c); the float32 kernels of kernels/vec.h do the arithmetic,
 * sums are double.
 *  pass 1  (dbce kernel) reads x and y once: e = exp(-|x|), the small
 *          sigmoid s = e/(1+e), p = sigmoid(x), the BCE loss terms and the
 *          item's Dice sums I, P, G. With a gradient to compute it writes s,
 *          signed like x, into grad: all that pass 2 needs of x. A dropped
 *          channel (no_background) takes the plain BCE kernels, which write
 *          its final (BCE-only) gradient.
 *  pass 2  (dice_grad kernel), once the Dice sums of the images involved are
 *          complete (d loss/d I, d loss/d P per group), replaces s in grad
 *          by the gradient
 *            lambda_bce up/K [(1-y) sigmoid(x) - pw y sigmoid(-x)]
 *              + (dI y + dP dP/dp) s (1-s)
 *          from s, y and pw alone: arithmetic, no exp, no division.
 * The images go through in phases of at least PHASE_MIN elements (four
 * 512x512 images), pass 1 then pass 2 for each phase, so that pass 2 finds
 * the phase's target and grad in cache (L2/L3: 5 MiB per 2^20 elements
 * with a uint8 target). Memory traffic per element, uint8 target, no
 * pos_weight: pass 1 reads x and y (5 B) and writes s (4 B) from/to memory;
 * pass 2 reads y and s and writes the gradient (9 B) in cache: about the
 * 9 B of a bce-logits pass. Larger phases mean fewer thread barriers (two
 * per phase), which matters on a busy machine. With batch (or smp) the
 * Dice sums run over N, so there is one phase and pass 2 reads from
 * memory. Non-temporal stores are not used: pass 2 reads grad back. With
 * ignore_index and MEAN the BCE factor needs K first: a pass over the
 * targets alone counts it.
 *
 * Targets: uint8 (and bool whose block bytes are all 0/1) are read as bytes
 * by the _u8 kernels, float32 without ignore_index in place; other dtypes
 * go through a float buffer (loss/elementwise.h's loader: the same checks
 * and ignore rule as the region losses). Ignored elements get gradient 0
 * and are not read. Determinism: per-item partial sums, combined in item
 * order; the phases and items depend only on the shape. */
#include "kernels/vec.h"
#include "core/target.h"
#include "loss/region.h"

#include <math.h>
#include <stdlib.h>

#define DICE_ALLOW (SEGLOSS__REGION_SQUARED | SEGLOSS__REGION_JACCARD | SEGLOSS__REGION_SMP)
#define DICE_BCE_ALLOW (DICE_ALLOW | SEGLOSS__REGION_LOGITS)

/* Elements per phase, at least (whole images). */
#define PHASE_MIN ((int64_t)1 << 20)
static int64_t g_phase_min; /* test hook; 0: PHASE_MIN */

void segloss__dice_bce_set_phase_min(int64_t elems) { g_phase_min = elems > 0 ? elems : 0; }

/* Partial sums per work item. */
enum { PT_BCE, PT_I, PT_P, PT_G, PT_COUNT, PT_N };

enum { DB_LOSS = 1, DB_GRAD = 2 };

typedef struct dbce {
    segloss__region r;
    segloss_bcast pw;
    const segloss_vec_ops *vo;
    int mode;                 /* DB_LOSS and/or DB_GRAD */
    int bce;                  /* 0: Dice alone (segloss__dice_sigmoid) */
    float *grad;
    double bscale;            /* BCE gradient factor: lambda_bce * upstream / K */
    double *part;             /* [item][PT_N], item = (n*C + c)*nb + b */
    double *f;                /* item losses of the Dice part, per group */
    int64_t item0;            /* first item of the current phase */
} dbce;

/* One block's target as the kernels read it, plus pos_weight. */
typedef struct tview {
    segloss__tblock t;
    const float *pw;
    float pwbuf[SEGLOSS_BLOCK];
} tview;

/* Target (and pos_weight) of flat elements [off, off+len). check = 0 skips
 * the [0,1] check of in-place float targets (pass 2: done in pass 1). */
static segloss_status load_view(const dbce *d, tview *v, int64_t off, int64_t len, int check,
                                int want_pw) {
    v->pw = want_pw ? segloss__bcast_view(v->pwbuf, &d->pw, off, off + len) : NULL;
    return segloss__tblock_load(&v->t, d->r.t, off, len, d->r.ign, 1, check);
}

/* Flat offset, length, channel and image of work item w. */
static void item_range(const segloss__region *r, int64_t w, int64_t *off, int64_t *len,
                       int64_t *c, int64_t *n) {
    int64_t plane = w / r->nb, b = w % r->nb;
    int64_t lo = b * SEGLOSS_BLOCK;
    *len = r->s - lo < SEGLOSS_BLOCK ? r->s - lo : SEGLOSS_BLOCK;
    *off = plane * r->s + lo;
    *c = plane % r->c;
    *n = plane / r->c;
}

/* The kernels of pass 1 on one run: s[PT_BCE..PT_G] receive its sums. */
static segloss_status pass1_run(const dbce *d, const tview *v, int64_t off, int64_t i,
                                int64_t len, int kept, double *s) {
    const segloss_vec_ops *vo = d->vo;
    const float *x = d->r.x + off + i, *pw = v->pw ? v->pw + i : NULL;
    float *g = (d->mode & DB_GRAD) ? d->grad + off + i : NULL;
    if (kept) {
        /* the sums, and in grad the signed small sigmoid for pass 2 */
        unsigned fl = (d->r.squared ? SEGLOSS_DBCE_SQUARED : 0u) |
                      ((d->bce && (d->mode & DB_LOSS)) ? SEGLOSS_DBCE_LOSS : 0u);
        return v->t.yb ? vo->dbce_u8(s, g, x, v->t.yb + i, pw, len, fl)
                     : vo->dbce(s, g, x, v->t.yf + i, pw, len, fl);
    }
    if (v->t.yb) {
        const uint8_t *y = v->t.yb + i;
        if (d->mode == (DB_LOSS | DB_GRAD))
            return vo->bcel_fused_u8(s, NULL, g, x, y, NULL, pw, NULL, d->bscale, len);
        if (d->mode == DB_LOSS) return vo->bcel_fwd_u8(s, NULL, x, y, NULL, pw, len);
        return vo->bcel_bwd_u8(g, x, y, NULL, pw, NULL, d->bscale, len);
    }
    const float *y = v->t.yf + i;
    if (d->mode == (DB_LOSS | DB_GRAD))
        return vo->bcel_fused(s, NULL, g, x, y, NULL, pw, NULL, d->bscale, len);
    if (d->mode == DB_LOSS) return vo->bcel_fwd(s, NULL, x, y, NULL, pw, len);
    return vo->bcel_bwd(g, x, y, NULL, pw, NULL, d->bscale, len);
}

static segloss_status pass1_item(void *ctx, int64_t k) {
    const dbce *d = ctx;
    const segloss__region *r = &d->r;
    int64_t w = d->item0 + k, off, len, c, n;
    item_range(r, w, &off, &len, &c, &n);
    double *pt = d->part + w * PT_N;
    for (int q = 0; q < PT_N; q++) pt[q] = 0.0;
    if (!d->bce && c < r->c0) {
        /* Dice alone, dropped channel: gradient 0, target not read (as the
         * region sweep) */
        if (d->mode & DB_GRAD) memset(d->grad + off, 0, (size_t)len * sizeof *d->grad);
        return SEGLOSS_OK;
    }
    tview v;
    segloss_status st = load_view(d, &v, off, len, 1, 1);
    if (st != SEGLOSS_OK) return st;
    if (v.t.ign && (d->mode & DB_GRAD))
        for (int64_t i = 0; i < len; i++)
            if (v.t.ign[i]) d->grad[off + i] = 0.0f;
    int64_t i = 0, j;
    while (segloss__next_run(v.t.ign, len, &i, &j)) {
        double s[4] = {0.0, 0.0, 0.0, 0.0};
        st = pass1_run(d, &v, off, i, j - i, c >= r->c0, s);
        if (st != SEGLOSS_OK) return st;
        for (int q = 0; q < 4; q++) pt[q] += s[q];
        i = j;
    }
    pt[PT_COUNT] = (double)v.t.n_valid;
    return SEGLOSS_OK;
}

/* Counts the non-ignored elements of item k (MEAN's K, before pass 1). */
static segloss_status count_item(void *ctx, int64_t k) {
    const dbce *d = ctx;
    int64_t off, len, c, n;
    item_range(&d->r, k, &off, &len, &c, &n);
    tview v;
    segloss_status st = load_view(d, &v, off, len, 1, 0);
    d->part[k * PT_N + PT_COUNT] = (double)v.t.n_valid;
    return st;
}

static segloss_status pass2_item(void *ctx, int64_t k) {
    const dbce *d = ctx;
    const segloss__region *r = &d->r;
    int64_t w = d->item0 + k, off, len, c, n;
    item_range(r, w, &off, &len, &c, &n);
    if (c < r->c0) return SEGLOSS_OK; /* dropped channel: BCE only */
    int64_t grp = r->batch ? c - r->c0 : n * r->ck + (c - r->c0);
    float a = (float)r->dI[grp], dd = (float)r->dP[grp];
    float gb = d->bce ? (float)d->bscale : 0.0f;
    tview v;
    segloss_status st = load_view(d, &v, off, len, 0, d->bce);
    if (st != SEGLOSS_OK) return st;
    int64_t i = 0, j;
    while (segloss__next_run(v.t.ign, len, &i, &j)) {
        float *g = d->grad + off + i;
        const float *pw = v.pw ? v.pw + i : NULL;
        if (v.t.yb) d->vo->dice_grad_u8(g, v.t.yb + i, pw, gb, a, dd, r->squared, j - i);
        else d->vo->dice_grad(g, v.t.yf + i, pw, gb, a, dd, r->squared, j - i);
        i = j;
    }
    return SEGLOSS_OK;
}

/* Checks the options that are not the dice part's. */
static segloss_status dice_bce_check(const segloss_dice_bce_opts *o, double *ld, double *lb) {
    if (o->dice.reduction == SEGLOSS_REDUCTION_NONE) return SEGLOSS_ERR_ARG;
    *ld = o->custom_lambdas ? o->lambda_dice : 1.0;
    *lb = o->custom_lambdas ? o->lambda_bce : 1.0;
    if (!isfinite(*ld) || !isfinite(*lb) || *ld < 0.0 || *lb < 0.0) return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

/* The whole computation; mode DB_LOSS (loss, parts or elems) and/or
 * DB_GRAD. With o == NULL and dice != NULL: the Dice loss alone (dice.c's
 * sigmoid, dense-target case; elems for NONE). */
static segloss_status dice_bce_run(int mode, double *loss, double *parts, float *elems,
                                   float *grad, const float *x, const segloss_target *t,
                                   const segloss_shape *shape, const segloss_dice_bce_opts *o,
                                   const segloss_dice_opts *dice, const float *grad_out) {
    if (((mode & DB_LOSS) && !loss) || ((mode & DB_GRAD) && !grad)) return SEGLOSS_ERR_NULL;
    dbce d;
    memset(&d, 0, sizeof d);
    d.bce = o != NULL;
    double ld = 1.0, lb = 0.0;
    segloss__region *r = &d.r;
    segloss_status st = d.bce ? segloss__region_init(r, x, t, shape, &o->dice, DICE_BCE_ALLOW)
                              : segloss__region_init(r, x, t, shape, dice, DICE_ALLOW);
    if (st != SEGLOSS_OK) return st;
    if (st == SEGLOSS_OK && !segloss__region_fast_target(r->o, t))
        st = SEGLOSS_ERR_DTYPE; /* smp >= 0.4's min(p, y) with a float target */
    if (d.bce && st == SEGLOSS_OK) {
        st = dice_bce_check(o, &ld, &lb);
        if (st == SEGLOSS_OK) st = segloss__bcast_init(&d.pw, &o->pos_weight, shape);
    }
    int64_t items = r->n * r->c * r->nb, per_img = r->c * r->nb;
    if (st == SEGLOSS_OK) {
        /* items <= numel and groups <= numel: no overflow */
        d.part = malloc((size_t)items * PT_N * sizeof *d.part);
        d.f = malloc((size_t)r->groups * sizeof *d.f);
        if (!d.part || !d.f) st = SEGLOSS_ERR_NOMEM;
    }
    d.vo = segloss__vec_ops();
    d.mode = mode;
    d.grad = grad;
    segloss_reduction red = r->o->reduction;
    double g0 = grad_out ? (double)grad_out[0] : 1.0;
    if (st == SEGLOSS_OK && (mode & DB_GRAD) && d.bce) {
        double K = (double)(r->n * r->c * r->s);
        if (red == SEGLOSS_REDUCTION_MEAN && r->ign != SEGLOSS_IGNORE_NONE) {
            st = segloss__for_items(items, count_item, &d);
            K = 0.0;
            for (int64_t w = 0; st == SEGLOSS_OK && w < items; w++) K += d.part[w * PT_N + PT_COUNT];
        }
        d.bscale = lb * g0;
        if (red == SEGLOSS_REDUCTION_MEAN) d.bscale = K > 0.0 ? d.bscale / K : 0.0;
    }
    for (int64_t g = 0; st == SEGLOSS_OK && g < r->groups; g++) r->I[g] = r->P[g] = r->G[g] = 0.0;
    /* images per phase: all of them without pass 2 or with sums over N */
    int64_t ipp = r->n;
    if ((mode & DB_GRAD) && !r->batch) {
        int64_t img = r->c * r->s, pm = g_phase_min > 0 ? g_phase_min : PHASE_MIN;
        ipp = pm / img + (pm % img != 0);
    }
    for (int64_t n0 = 0; st == SEGLOSS_OK && n0 < r->n; n0 += ipp) {
        int64_t n1 = n0 + ipp < r->n ? n0 + ipp : r->n;
        d.item0 = n0 * per_img;
        st = segloss__for_items((n1 - n0) * per_img, pass1_item, &d);
        if (st != SEGLOSS_OK) break;
        /* item (n, c, b) at ((n*C + c)*nb + b)*PT_N */
        segloss__region_add_sums(r, n0, n1, d.part + r->c0 * r->nb * PT_N + PT_I,
                                 r->c * r->nb * PT_N, r->nb * PT_N, PT_N);
        if (!(mode & DB_GRAD)) continue; /* (with batch: n1 = N here) */
        /* the groups of this phase are complete: their Dice gradients */
        int64_t g0i = r->batch ? 0 : n0 * r->ck, g1i = r->batch ? r->groups : n1 * r->ck;
        for (int64_t g = g0i; g < g1i; g++) {
            double up = ld * segloss__region_upstream(grad_out, red, g, r->groups);
            d.f[g] = segloss__dice_item(r, NULL, g, up, &r->dI[g], &r->dP[g]);
        }
        st = segloss__for_items((n1 - n0) * per_img, pass2_item, &d);
    }
    if (st == SEGLOSS_OK && (mode & DB_LOSS)) {
        double bce = 0.0, K = 0.0, dsum;
        for (int64_t w = 0; w < items; w++) {
            bce += d.part[w * PT_N + PT_BCE];
            K += d.part[w * PT_N + PT_COUNT];
        }
        if (red == SEGLOSS_REDUCTION_MEAN) bce = K > 0.0 ? bce / K : 0.0;
        for (int64_t g = 0; g < r->groups; g++) {
            double a, b;
            d.f[g] = segloss__dice_item(r, NULL, g, 0.0, &a, &b);
        }
        segloss__region_reduce(&dsum, elems, d.f, r->groups, red);
        if (parts) {
            parts[0] = dsum;
            parts[1] = bce;
        }
        *loss = d.bce ? ld * dsum + lb * bce : dsum;
    }
    free(d.part);
    free(d.f);
    segloss__region_free(r);
    return st;
}

static const segloss_dice_bce_opts defaults_db;

segloss_status segloss_dice_bce_forward(double *loss, double *parts, const float *x,
                                        const segloss_target *target, const segloss_shape *shape,
                                        const segloss_dice_bce_opts *opts) {
    return dice_bce_run(DB_LOSS, loss, parts, NULL, NULL, x, target, shape,
                        opts ? opts : &defaults_db, NULL, NULL);
}

segloss_status segloss_dice_bce_backward(float *grad, const float *x,
                                         const segloss_target *target, const segloss_shape *shape,
                                         const segloss_dice_bce_opts *opts,
                                         const float *grad_out) {
    return dice_bce_run(DB_GRAD, NULL, NULL, NULL, grad, x, target, shape,
                        opts ? opts : &defaults_db, NULL, grad_out);
}

segloss_status segloss_dice_bce_forward_backward(double *loss, double *parts, float *grad,
                                                 const float *x, const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_dice_bce_opts *opts,
                                                 const float *grad_out) {
    return dice_bce_run(DB_LOSS | DB_GRAD, loss, parts, NULL, grad, x, target, shape,
                        opts ? opts : &defaults_db, NULL, grad_out);
}

segloss_status segloss__dice_sigmoid(int want_loss, int want_grad, double *loss, float *elems,
                                     float *grad, const float *x, const segloss_target *target,
                                     const segloss_shape *shape, const segloss_dice_opts *opts,
                                     const float *grad_out) {
    int mode = (want_loss ? DB_LOSS : 0) | (want_grad ? DB_GRAD : 0);
    return dice_bce_run(mode, loss, NULL, elems, grad, x, target, shape, NULL, opts, grad_out);
}
