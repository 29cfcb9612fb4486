/* The float32 engine of the region losses: activation SIGMOID on logits
 * with a DENSE target, forward, backward or both, optionally with the BCE
 * term of dice + bce. The loss is its item function (region.h); the engine
 * gathers the group sums and spreads d loss / d I, d loss / d P back.
 *
 * With the BCE term (segloss__fast_bce):
 *   loss = lambda_region * region(x, y) + lambda_bce * bce(x, y)
 *   bce: l_i = (1-y_i) softplus(x_i) + pw_i y_i softplus(-x_i) over every
 *        element not ignored (all channels); MEAN divides by their count K
 *        (0 when K = 0), SUM adds (bce_logits.c's stable form):
 *          dl_i/dx_i = (1-y_i) sigmoid(x_i) - pw_i y_i sigmoid(-x_i).
 *
 * Computation (forward, backward and both share it, so they give the same
 * bits). Work item (n, c, b) is spatial block b (SEGLOSS_BLOCK elements) of
 * the channel plane (n, c); the float32 kernels of kernels/vec.h do the
 * arithmetic, sums are double.
 *  pass 1  (dbce kernel) reads x and y once: e = exp(-|x|), the small
 *          sigmoid s = e/(1+e), p = sigmoid(x), the BCE loss terms and the
 *          item's sums I, P, G. With a gradient to compute it writes s,
 *          signed like x, into grad: all that pass 2 needs of x. A dropped
 *          channel (no_background) takes the plain BCE kernels, which write
 *          its final (BCE-only) gradient; without BCE its gradient is 0 and
 *          its target is not read.
 *  pass 2  (dice_grad kernel), once the sums of the images involved are
 *          complete (d loss/d I, d loss/d P per group from the items),
 *          replaces s in grad by the gradient
 *            lambda_bce up/K [(1-y) sigmoid(x) - pw y sigmoid(-x)]
 *              + (dI y + dP dP/dp) s (1-s)
 *          from s, y and pw alone: arithmetic, no exp, no division.
 *  ysign   Without the BCE term and without squared, pass 2 needs neither
 *          x's sign nor, for targets that are all 0 or 1, y itself: pass 1
 *          (SEGLOSS_DBCE_YSIGN) stores s with y's bit in the sign and
 *          reports per item whether every target was 0 or 1; pass 2 then
 *          takes y from the sign (dice_grad_ys) and does not read the
 *          target (the same bits). An item with soft targets (or -0.0)
 *          reads y as above. Only on the 8- and 16-lane paths (avx2,
 *          avx512): on the 4-lane ones pass 1's extra operations cost
 *          more than pass 2 saves. At 1 thread pass 2 is bound by the
 *          reads from L2/L3; not reading y took dice forward+backward
 *          (16x1x512x512, float32 target) from 0.50-0.54 to 0.40-0.46
 *          ns/element.
 * Scheduling. Per-image sums (no batch, no smp) with a gradient and at
 * least 4 images per thread: one task per image, scheduled by
 * core/parallel.c (one parallel region per call; each thread runs its own
 * contiguous range of images, then halves of the others'), runs pass 1
 * on the image's blocks, adds its sums, evaluates its items and runs pass
 * 2, so that pass 2 finds the image's target and s in the cache of the
 * core that wrote them (a 512x512 image with a uint8 target: 1.25 MiB)
 * and no thread waits for another. Otherwise (fewer images, or sums over
 * N, or the loss alone) the images go through in phases of at least
 * PHASE_MIN elements (four 512x512 images), pass 1 then pass 2 for each
 * phase (two parallel regions), so that pass 2 finds
 * the phase's target and grad in cache (L2/L3: 5 MiB per 2^20 elements
 * with a uint8 target). Memory traffic per element, uint8 target, no
 * pos_weight: pass 1 reads x and y (5 B) and writes s (4 B) from/to memory;
 * pass 2 reads y and s and writes the gradient (9 B) in cache: about the
 * 9 B of a bce-logits pass. Larger phases mean fewer thread barriers (two
 * per phase), which matters on a busy machine. With batch (or smp) the
 * sums run over N, so there is one phase and pass 2 reads from memory.
 * Non-temporal stores are not used: pass 2 reads grad back. With
 * ignore_index and MEAN the BCE factor needs K first: a pass over the
 * targets alone counts it.
 *
 * Targets: uint8 (and bool whose block bytes are all 0/1) are read as bytes
 * by the _u8 kernels, float32 without ignore_index in place (range-checked
 * by pass 1's kernels in their own pass); other dtypes
 * go through a float buffer (core/target.h's decoder: the same checks and
 * ignore rule as every loss). Ignored elements get gradient 0 and are not
 * read. Determinism: per-item partial sums, combined in item order; the
 * phases and items depend only on the shape, and both schedules make the
 * same sums and items from the same partials in the same order: the same
 * bits whichever runs, for any thread count. */
#include "core/target.h"
#include "kernels/vec.h"
#include "loss/region.h"

#include <math.h>
#include <stdlib.h>

/* Elements per phase, at least (whole images). */
#define PHASE_MIN ((int64_t)1 << 20)
static int64_t g_phase_min; /* test hook; 0: PHASE_MIN (> 0: no image tasks) */

void segloss__region_fast_set_phase_min(int64_t elems) { g_phase_min = elems > 0 ? elems : 0; }

/* Partial sums per work item; PT_BIN: 1 when pass 1 stored y in the sign
 * bits (ysign) and every target of the item is 0 or 1. */
enum { PT_BCE, PT_I, PT_P, PT_G, PT_COUNT, PT_BIN, PT_N };

typedef struct dbce {
    segloss__region r;
    const segloss__region_loss *L;
    segloss_bcast pw;
    const segloss_vec_ops *vo;
    int mode;                 /* SEGLOSS__FAST_LOSS and/or SEGLOSS__FAST_GRAD */
    int bce;                  /* 1: with the BCE term (dice + bce) */
    int ysign;                /* pass 1 stores y in s's sign bit (see the top) */
    float *grad;
    double bscale;            /* BCE gradient factor: lambda_bce * upstream / K */
    double *part;             /* [item][PT_N], item = (n*C + c)*nb + b */
    double *f;                /* item losses of the region loss */
    int64_t item0;            /* first item of the current phase */
} dbce;

/* One block's target as the kernels read it, plus pos_weight. */
typedef struct tview {
    segloss__tblock t;
    const float *pw;
    float pwbuf[SEGLOSS_BLOCK];
} tview;

/* Target (and pos_weight) of flat elements [off, off+len). check = 0 skips
 * the [0,1] check of in-place float targets: pass 1's kernels (dbce, bcel)
 * do it in their own pass over the target, and pass 2 follows pass 1. */
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
    float *g = (d->mode & SEGLOSS__FAST_GRAD) ? d->grad + off + i : NULL;
    if (kept) {
        /* the sums, and in grad the signed small sigmoid for pass 2 */
        unsigned fl = (d->r.squared ? SEGLOSS_DBCE_SQUARED : 0u) |
                      ((d->bce && (d->mode & SEGLOSS__FAST_LOSS)) ? SEGLOSS_DBCE_LOSS : 0u) |
                      (d->ysign ? SEGLOSS_DBCE_YSIGN : 0u);
        return v->t.yb ? vo->dbce_u8(s, g, x, v->t.yb + i, pw, len, fl)
                     : vo->dbce(s, g, x, v->t.yf + i, pw, len, fl);
    }
    if (v->t.yb) {
        const uint8_t *y = v->t.yb + i;
        if (d->mode == (SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD))
            return vo->bcel_fused_u8(s, NULL, g, x, y, NULL, pw, NULL, d->bscale, len);
        if (d->mode == SEGLOSS__FAST_LOSS) return vo->bcel_fwd_u8(s, NULL, x, y, NULL, pw, len);
        return vo->bcel_bwd_u8(g, x, y, NULL, pw, NULL, d->bscale, len);
    }
    const float *y = v->t.yf + i;
    if (d->mode == (SEGLOSS__FAST_LOSS | SEGLOSS__FAST_GRAD))
        return vo->bcel_fused(s, NULL, g, x, y, NULL, pw, NULL, d->bscale, len);
    if (d->mode == SEGLOSS__FAST_LOSS) return vo->bcel_fwd(s, NULL, x, y, NULL, pw, len);
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
        if (d->mode & SEGLOSS__FAST_GRAD) memset(d->grad + off, 0, (size_t)len * sizeof *d->grad);
        return SEGLOSS_OK;
    }
    tview v;
    segloss_status st = load_view(d, &v, off, len, 0, 1);
    if (st != SEGLOSS_OK) return st;
    if (v.t.ign && (d->mode & SEGLOSS__FAST_GRAD))
        for (int64_t i = 0; i < len; i++)
            if (v.t.ign[i]) d->grad[off + i] = 0.0f;
    int64_t i = 0, j;
    int binary = d->ysign;
    while (segloss__next_run(v.t.ign, len, &i, &j)) {
        double s[4] = {0.0, 0.0, 0.0, 0.0};
        st = pass1_run(d, &v, off, i, j - i, c >= r->c0, s);
        if (st != SEGLOSS_OK) return st;
        if (d->ysign) { /* s[PT_BCE] is the kernel's 0/1 flag, not a loss */
            binary &= s[PT_BCE] == 1.0;
            s[PT_BCE] = 0.0;
        }
        for (int q = 0; q < 4; q++) pt[q] += s[q];
        i = j;
    }
    pt[PT_COUNT] = (double)v.t.n_valid;
    pt[PT_BIN] = binary;
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
    int ys = d->part[w * PT_N + PT_BIN] != 0.0; /* y in the sign bits */
    if (ys && r->ign == SEGLOSS_IGNORE_NONE) {
        d->vo->dice_grad_ys(d->grad + off, a, dd, len);
        return SEGLOSS_OK;
    }
    tview v;
    segloss_status st = load_view(d, &v, off, len, 0, d->bce);
    if (st != SEGLOSS_OK) return st;
    int64_t i = 0, j;
    while (segloss__next_run(v.t.ign, len, &i, &j)) {
        float *g = d->grad + off + i;
        const float *pw = v.pw ? v.pw + i : NULL;
        if (ys) d->vo->dice_grad_ys(g, a, dd, j - i);
        else if (v.t.yb) d->vo->dice_grad_u8(g, v.t.yb + i, pw, gb, a, dd, r->squared, j - i);
        else d->vo->dice_grad(g, v.t.yf + i, pw, gb, a, dd, r->squared, j - i);
        i = j;
    }
    return SEGLOSS_OK;
}

/* One image as one task: pass 1 on its items, its sums, its region items,
 * pass 2 (see the top). */
typedef struct image_job {
    dbce *d;
    double ld;
    const float *grad_out;
} image_job;

static segloss_status image_task(void *ctx, int64_t n) {
    const image_job *j = ctx;
    dbce *d = j->d;
    segloss__region *r = &d->r;
    int64_t per_img = r->c * r->nb;
    segloss_status st = SEGLOSS_OK;
    for (int64_t k = n * per_img; st == SEGLOSS_OK && k < (n + 1) * per_img; k++)
        st = pass1_item(d, k);
    if (st != SEGLOSS_OK) return st;
    segloss__region_add_sums(r, n, n + 1, d->part + r->c0 * r->nb * PT_N + PT_I,
                             r->c * r->nb * PT_N, r->nb * PT_N, PT_N);
    int64_t ipi = d->L->per_image ? 1 : r->ck; /* items per image */
    segloss__region_eval_items(r, d->L, n * ipi, (n + 1) * ipi, 1, j->ld, j->grad_out, d->f);
    for (int64_t k = n * per_img; st == SEGLOSS_OK && k < (n + 1) * per_img; k++)
        st = pass2_item(d, k);
    return st;
}

/* The images in phases (see the top): pass 1 of a phase's items, their
 * sums and region items, then (with a gradient) pass 2 of the phase. */
static segloss_status run_phases(const image_job *j, int64_t nitems) {
    dbce *d = j->d;
    segloss__region *r = &d->r;
    int64_t per_img = r->c * r->nb;
    /* images per phase: all of them without pass 2 or with sums over N */
    int64_t ipp = r->n;
    if ((d->mode & SEGLOSS__FAST_GRAD) && !r->batch) {
        int64_t img = r->c * r->s, pm = g_phase_min > 0 ? g_phase_min : PHASE_MIN;
        ipp = pm / img + (pm % img != 0);
    }
    segloss_status st = SEGLOSS_OK;
    for (int64_t n0 = 0; st == SEGLOSS_OK && n0 < r->n; n0 += ipp) {
        int64_t n1 = n0 + ipp < r->n ? n0 + ipp : r->n;
        d->item0 = n0 * per_img;
        st = segloss__for_items((n1 - n0) * per_img, pass1_item, d);
        if (st != SEGLOSS_OK) break;
        /* item (n, c, b) at ((n*C + c)*nb + b)*PT_N */
        segloss__region_add_sums(r, n0, n1, d->part + r->c0 * r->nb * PT_N + PT_I,
                                 r->c * r->nb * PT_N, r->nb * PT_N, PT_N);
        if (!(d->mode & SEGLOSS__FAST_GRAD)) continue; /* (with batch: n1 = N here) */
        /* the items of this phase are complete: their dI, dP */
        int64_t ipi = d->L->per_image ? 1 : r->ck; /* items per image */
        int64_t i0 = r->batch ? 0 : n0 * ipi, i1 = r->batch ? nitems : n1 * ipi;
        segloss__region_eval_items(r, d->L, i0, i1, 1, j->ld, j->grad_out, d->f);
        st = segloss__for_items((n1 - n0) * per_img, pass2_item, d);
    }
    return st;
}

segloss_status segloss__region_fast(const segloss__region_loss *L, const segloss__fast_bce *bce,
                                    int mode, double *loss, float *elems,
                                    float *grad, const float *x, const segloss_target *t,
                                    const segloss_shape *shape, const segloss_dice_opts *opts,
                                    const float *grad_out) {
    if (((mode & SEGLOSS__FAST_LOSS) && !loss) || ((mode & SEGLOSS__FAST_GRAD) && !grad))
        return SEGLOSS_ERR_NULL;
    dbce d;
    memset(&d, 0, sizeof d);
    d.L = L;
    d.bce = bce != NULL;
    double ld = bce ? bce->lambda_region : 1.0, lb = bce ? bce->lambda_bce : 0.0;
    segloss__region *r = &d.r;
    segloss_status st =
        segloss__region_init(r, x, t, shape, opts, L->allow | (bce ? SEGLOSS__REGION_LOGITS : 0u));
    if (st != SEGLOSS_OK) return st;
    if (!segloss__region_fast_target(r->o, t))
        st = SEGLOSS_ERR_DTYPE; /* smp >= 0.4's min(p, y) with a float target */
    if (st == SEGLOSS_OK && bce) {
        /* as MONAI, one reduction for both parts, and NONE is an error */
        if (opts->reduction == SEGLOSS_REDUCTION_NONE || !isfinite(ld) || !isfinite(lb) ||
            ld < 0.0 || lb < 0.0)
            st = SEGLOSS_ERR_ARG;
        else if (bce->pos_weight)
            st = segloss__bcast_init(&d.pw, bce->pos_weight, shape);
    }
    int64_t items = r->n * r->c * r->nb;
    int64_t nitems = segloss__region_items(r, L);
    if (st == SEGLOSS_OK) {
        /* items <= numel and nitems <= groups <= numel: no overflow */
        d.part = malloc((size_t)items * PT_N * sizeof *d.part);
        d.f = malloc((size_t)nitems * sizeof *d.f);
        if (!d.part || !d.f) st = SEGLOSS_ERR_NOMEM;
    }
    d.vo = segloss__vec_ops();
    d.mode = mode;
    /* the Dice gradient alone needs of y only whether it is 0 or 1; on the
     * 4-lane paths pass 1's arithmetic outweighs what pass 2 saves
     * (portable, 1 thread: 1.83 -> 1.90 ns/element with it) */
    d.ysign = (mode & SEGLOSS__FAST_GRAD) && !d.bce && !r->squared && d.vo->width >= 8;
    d.grad = grad;
    segloss_reduction red = r->o->reduction;
    double g0 = grad_out ? (double)grad_out[0] : 1.0;
    if (st == SEGLOSS_OK && (mode & SEGLOSS__FAST_GRAD) && d.bce) {
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
    if (st == SEGLOSS_OK) {
        image_job j = {&d, ld, grad_out};
        if ((mode & SEGLOSS__FAST_GRAD) && !r->batch && g_phase_min <= 0 &&
            r->n >= 4 * (int64_t)segloss_get_num_threads())
            st = segloss__for_items(r->n, image_task, &j);
        else
            st = run_phases(&j, nitems);
    }
    if (st == SEGLOSS_OK && (mode & SEGLOSS__FAST_LOSS)) {
        double bsum = 0.0, K = 0.0, dsum;
        for (int64_t w = 0; w < items; w++) {
            bsum += d.part[w * PT_N + PT_BCE];
            K += d.part[w * PT_N + PT_COUNT];
        }
        if (red == SEGLOSS_REDUCTION_MEAN) bsum = K > 0.0 ? bsum / K : 0.0;
        segloss__region_eval_items(r, L, 0, nitems, 0, 0.0, NULL, d.f);
        segloss__region_reduce(&dsum, elems, d.f, nitems, red);
        *loss = d.bce ? ld * dsum + lb * bsum : dsum;
    }
    free(d.part);
    free(d.f);
    segloss__region_free(r);
    return st;
}

