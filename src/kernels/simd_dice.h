/* The Dice + BCE kernels of vec.h's table: pass 1 (dbce: the loss terms,
 * the Dice sums and the signed small sigmoid) and pass 2 (dice_grad: the
 * gradient from it). Part of simd_loss.h, which includes it after the BCE
 * kernels whose loss terms pass 1 shares (v_loss_term, v_loss_plain); the
 * block layout and the sums are described at the top of simd_loss.h. */
#ifndef SEGLOSS_KERNELS_SIMD_DICE_H
#define SEGLOSS_KERNELS_SIMD_DICE_H

#include "kernels/simd_math.h"

/* One vector of targets, bytes (ORed into *bad for the 0/1 check) or floats
 * (range-checked into *badf when badf != NULL). */
SIMD_INLINE vf v_load_yb(const float *yf, const uint8_t *yb, int64_t i, vi *bad,
                          vunit *badf) {
    if (yb) return vload_u8(yb + i, bad);
    return badf ? vload_unit(yf + i, badf) : vload(yf + i);
}

/* Pass 1 on k vectors (k = 1 or VK), from e = exp(-|x|): the small
 * sigmoid s (returned with x's sign bit in sg, or with ys the sign
 * bit of 0.5 - y: set for y = 1, clear for y = 0), the loss terms (loss 1:
 * with pw, 2: without) and the Dice terms. */
SIMD_INLINE void v_dbce_k(vf *l, vf *py, vf *pp, vf *yy, vf *sg, const vf *x, const vf *y,
                          const vf *pw, const vf *e, int sq, int k, int loss, int ys) {
    const vf sign = vset1(-0.0f);
    vf u[VK];
    FOR_K(k, u[j] = v_one_plus(e[j]));
    FOR_K(k, {
        vf s = v_div_onepe(e[j], e[j], u[j]);
        vf p = vsel_neg_1m(x[j], s);
        sg[j] = vor(s, vand(ys ? vsub(vset1(0.5f), y[j]) : x[j], sign));
        py[j] = vmul(p, y[j]);
        pp[j] = sq ? vmul(p, p) : p;
        yy[j] = sq ? vmul(y[j], y[j]) : y[j];
    });
    if (loss == 1) /* the bcel loss term (w = 1) */
        FOR_K(k, l[j] = v_loss_term(x[j], y[j], vmul(pw[j], y[j]), v_log1p_e(e[j])));
    else if (loss == 2) /* the same without pos_weight: the plain kernels' */
        FOR_K(k, l[j] = v_loss_plain(x[j], y[j], v_log1p_e(e[j])));
}

/* The inputs of one step (VK vectors) and their e = exp(-|x|). */
typedef struct dbce_in {
    vf x[VK], y[VK], pw[VK], e[VK];
} dbce_in;

/* Pass-1 loop arguments (the flags are constants after inlining). */
typedef struct dbce_args {
    float *sig;
    const float *x, *yf, *pw;
    const uint8_t *yb;
    int sq, loss, ys;
} dbce_args;

/* The first half of a step at i: its loads and exp. */
SIMD_INLINE void dbce_step_a(dbce_in *in, const dbce_args *a, int64_t i, vi *bad, vunit *badf) {
    v_prefetch_f(a->x, i);
    if (a->yb) v_prefetch_b(a->yb, i);
    else v_prefetch_f(a->yf, i);
    if (a->sig) v_prefetchw_f(a->sig, i);
    if (a->yb) vload_u8_step(a->yb + i, in->y, bad);
    FOR_K(VK, {
        in->x[j] = vload(a->x + i + VW * j);
        if (!a->yb) in->y[j] = vload_unit(a->yf + i + VW * j, badf);
        in->pw[j] = a->pw ? vload(a->pw + i + VW * j) : vset1(1.0f);
    });
    v_exp_negabs_k(in->e, in->x, VK);
}

/* The second half: the step's Dice terms added in float, (v0 + v1) +
 * (v2 + v3), into f[0..2], its loss terms the same way into f[3] (with
 * a->loss), s into sig. */
SIMD_INLINE void dbce_step_b(vf *f, const dbce_in *in, const dbce_args *a, int64_t i, vf *nb) {
    vf l[VK], py[VK], pp[VK], yy[VK], sg[VK];
    v_dbce_k(l, py, pp, yy, sg, in->x, in->y, in->pw, in->e, a->sq, VK, a->loss, a->ys);
    if (a->ys && !a->yb) FOR_K(VK, *nb = v_nonbinary(*nb, in->y[j]));
    if (a->loss) f[3] = vadd(vadd(l[0], l[1]), vadd(l[2], l[3]));
    f[0] = vadd(vadd(py[0], py[1]), vadd(py[2], py[3]));
    f[1] = vadd(vadd(pp[0], pp[1]), vadd(pp[2], pp[3]));
    f[2] = vadd(vadd(yy[0], yy[1]), vadd(yy[2], yy[3]));
    if (a->sig) FOR_K(VK, vstore(a->sig + i + VW * j, sg[j]));
}

/* The pass-1 loop; yf or yb, squared and loss are constants after inlining.
 * The sums (the loss terms' and the Dice terms'): the eight vectors of two
 * steps are first added in float, ((v0 + v1) + (v2 + v3)) + ((v4 + v5) +
 * (v6 + v7)), then once into the double lane sums (a lone last step: its
 * four; the single vectors after it one by one, padded tail lanes masked):
 * an eighth of the float-to-double conversions, which limit this loop
 * (AVX2: 0.80 -> 0.65 ns/element for the Dice sums alone with four; the
 * loss sum the same way since session 8: dice-bce pass 1 in L1 7% faster),
 * for three more roundings per 8 terms of the same sign (nonnegative
 * terms: relative error of the total below 3 * 2^-24 < 2^-22, typically
 * far less).
 * Software pipelined: the loads and exp of the next step are issued before
 * the division and sums of the current one, so that the two long
 * dependency chains overlap (the out-of-order window alone does not reach
 * a whole step ahead): 10-19% faster in L1. In memory it needs the
 * prefetches of dbce_step_a: without them dice-bce (1 thread, float32
 * target) was slower pipelined than not (0.91-1.10 against 0.68-0.99
 * ns/element). Pipelining changes neither the operations on an element
 * nor the order of the sums. */
SIMD_INLINE segloss_status dbce_loop(double *sums, float *sig, const float *x, const float *yf,
                                     const uint8_t *yb, const float *pw, int squared, int64_t n,
                                     int loss, int ys) {
    const dbce_args a = {sig, x, yf, pw, yb, squared, loss, ys};
    const int64_t S = VW * VK;
    vacc acc[4] = {vacc_zero(), vacc_zero(), vacc_zero(), vacc_zero()};
    vf nb = vzero();
    const int sq = squared;
    vi bad = vi_set1(0);
    vunit badf = vunit_none();
    vf xv[VK], yv[VK], pwv[VK], l[VK], py[VK], pp[VK], yy[VK], sg[VK], ev[VK];
    int64_t i = 0;
    if (n >= 2 * S) {
        dbce_in in0, in1;
        dbce_step_a(&in0, &a, 0, &bad, &badf);
        for (; i + 2 * S <= n; i += 2 * S) {
            vf f0[4], f1[4];
            dbce_step_a(&in1, &a, i + S, &bad, &badf);
            dbce_step_b(f0, &in0, &a, i, &nb);
            if (i + 4 * S <= n) dbce_step_a(&in0, &a, i + 2 * S, &bad, &badf);
            dbce_step_b(f1, &in1, &a, i + S, &nb);
            for (int q = 0; q < 3; q++) vacc_add(&acc[q + 1], vadd(f0[q], f1[q]));
            if (loss) vacc_add(&acc[0], vadd(f0[3], f1[3]));
        }
    }
    if (i + S <= n) {
        vf f0[4];
        dbce_in in0;
        dbce_step_a(&in0, &a, i, &bad, &badf);
        dbce_step_b(f0, &in0, &a, i, &nb);
        for (int q = 0; q < 3; q++) vacc_add(&acc[q + 1], f0[q]);
        if (loss) vacc_add(&acc[0], f0[3]);
        i += S;
    }
    for (; i < n; i += VW) {
        /* single vectors, the last one zero-padded at index 0 */
        size_t r = (size_t)(n - i < VW ? n - i : VW), fb = r * sizeof(float);
        float bx[VW] = {0}, by[VW] = {0}, bpw[VW] = {0};
        uint8_t bb[VW] = {0};
        memcpy(bx, x + i, fb);
        if (yb) memcpy(bb, yb + i, r);
        else memcpy(by, yf + i, fb);
        if (pw) memcpy(bpw, pw + i, fb);
        xv[0] = vload(bx);
        yv[0] = v_load_yb(by, yb ? bb : NULL, 0, &bad, &badf);
        pwv[0] = pw ? vload(bpw) : vset1(1.0f);
        v_exp_negabs_k(ev, xv, 1);
        v_dbce_k(l, py, pp, yy, sg, xv, yv, pwv, ev, sq, 1, loss, ys);
        if (ys && !yb) nb = v_nonbinary(nb, yv[0]); /* padded lanes: y = 0 */
        vm keep = vm_first((int)r);
        if (loss) vacc_add(&acc[0], vsel(keep, l[0], vzero()));
        vacc_add(&acc[1], vsel(keep, py[0], vzero()));
        vacc_add(&acc[2], vsel(keep, pp[0], vzero()));
        vacc_add(&acc[3], vsel(keep, yy[0], vzero()));
        if (sig) {
            vstore(bx, sg[0]);
            memcpy(sig + i, bx, fb);
        }
    }
    for (int k = loss ? 0 : 1; k < 4; k++) sums[k] = vacc_total(acc[k]);
    if (ys) sums[0] = (yb || !v_any_bits(nb)) ? 1.0 : 0.0;
    if (yb ? vbad_any(bad) : (vunit_bad(badf) && !unit_exact(yf, n))) return SEGLOSS_ERR_TARGET;
    return SEGLOSS_OK;
}

/* The loop instance for the flags: loss and squared become constants (loss
 * 0: none, 1: with pos_weight, 2: without, as the plain bcel kernels). */
SIMD_INLINE segloss_status dbce_run(double *sums, float *sig, const float *x, const float *yf,
                                    const uint8_t *yb, const float *pw, int64_t n,
                                    unsigned flags) {
    int sq = (flags & SEGLOSS_DBCE_SQUARED) != 0, loss = (flags & SEGLOSS_DBCE_LOSS) != 0;
    if (flags & SEGLOSS_DBCE_YSIGN) /* neither loss nor squared (vec.h) */
        return dbce_loop(sums, sig, x, yf, yb, NULL, 0, n, 0, 1);
    if (loss && pw)
        return sq ? dbce_loop(sums, sig, x, yf, yb, pw, 1, n, 1, 0)
                  : dbce_loop(sums, sig, x, yf, yb, pw, 0, n, 1, 0);
    if (loss)
        return sq ? dbce_loop(sums, sig, x, yf, yb, NULL, 1, n, 2, 0)
                  : dbce_loop(sums, sig, x, yf, yb, NULL, 0, n, 2, 0);
    return sq ? dbce_loop(sums, sig, x, yf, yb, pw, 1, n, 0, 0)
              : dbce_loop(sums, sig, x, yf, yb, pw, 0, n, 0, 0);
}

/* Dice + BCE pass 1. ACCURACY: see vec.h. */
static segloss_status dbce_simd(double *sums, float *sig, const float *x, const float *y,
                                const float *pw, int64_t n, unsigned flags) {
    return dbce_run(sums, sig, x, y, NULL, pw, n, flags);
}

static segloss_status dbce_u8_simd(double *sums, float *sig, const float *x, const uint8_t *y,
                                   const float *pw, int64_t n, unsigned flags) {
    return dbce_run(sums, sig, x, NULL, y, pw, n, flags);
}

/* Pass 2 of one vector: v = the signed small sigmoid, y, pw. sq and bce
 * are constants after inlining (without squared, dp = 1: d itself, the
 * same bits as d * 1). */
SIMD_INLINE vf v_dice_g(vf v, vf y, vf pw, vf gb, vf a, vf d, int sq, int bce) {
    const vf one = vset1(1.0f);
    vm neg = vsignm(v);
    vf s = vabs(v), b = vsub(one, s);
    vf sx = vsel(neg, s, b); /* sigmoid(x) */
    vf t = vfma(a, y, sq ? vmul(d, vadd(sx, sx)) : d);
    vf g = vmul(t, vmul(s, b));
    if (bce) {
        vf snx = vsel(neg, b, s); /* sigmoid(-x) */
        vf bt = vfnma(vmul(pw, y), snx, vmul(vsub(one, y), sx));
        g = vfma(gb, bt, g);
    }
    return g;
}

SIMD_INLINE void dice_grad_loop(float *g, const float *yf, const uint8_t *yb, const float *pw,
                                float gb, float a, float d, int64_t n, int sq, int bce) {
    const vf gbv = vset1(gb), av = vset1(a), dv = vset1(d);
    vi bad = vi_set1(0);
    int64_t i = 0;
    for (; i + VW * VK <= n; i += VW * VK) {
        vf yv[VK];
        if (yb) vload_u8_step(yb + i, yv, &bad);
        else FOR_K(VK, yv[j] = vload(yf + i + VW * j));
        FOR_K(VK, {
            vf pwv = pw ? vload(pw + i + VW * j) : vset1(1.0f);
            float *gj = g + i + VW * j;
            vstore(gj, v_dice_g(vload(gj), yv[j], pwv, gbv, av, dv, sq, bce));
        });
    }
    for (; i + VW <= n; i += VW) {
        vf pwv = pw ? vload(pw + i) : vset1(1.0f);
        vstore(g + i, v_dice_g(vload(g + i), v_load_yb(yf, yb, i, &bad, NULL), pwv, gbv, av, dv,
                               sq, bce));
    }
    if (i < n) {
        size_t r = (size_t)(n - i), fb = r * sizeof(float);
        float bg[VW] = {0}, by[VW] = {0}, bpw[VW] = {0};
        uint8_t bb[VW] = {0};
        memcpy(bg, g + i, fb);
        if (yb) memcpy(bb, yb + i, r);
        else memcpy(by, yf + i, fb);
        if (pw) memcpy(bpw, pw + i, fb);
        vf pwv = pw ? vload(bpw) : vset1(1.0f);
        vstore(bg, v_dice_g(vload(bg), v_load_yb(by, yb ? bb : NULL, 0, &bad, NULL), pwv, gbv, av,
                            dv, sq, bce));
        memcpy(g + i, bg, fb);
    }
}

/* The loop instance for (squared, gb != 0): both become constants. */
SIMD_INLINE void dice_grad_run(float *g, const float *yf, const uint8_t *yb, const float *pw,
                               float gb, float a, float d, int squared, int64_t n) {
    if (gb != 0.0f) {
        if (squared) dice_grad_loop(g, yf, yb, pw, gb, a, d, n, 1, 1);
        else dice_grad_loop(g, yf, yb, pw, gb, a, d, n, 0, 1);
    } else {
        if (squared) dice_grad_loop(g, yf, yb, pw, gb, a, d, n, 1, 0);
        else dice_grad_loop(g, yf, yb, pw, gb, a, d, n, 0, 0);
    }
}

static void dice_grad_simd(float *g, const float *y, const float *pw, float gb, float a,
                           float d, int squared, int64_t n) {
    dice_grad_run(g, y, NULL, pw, gb, a, d, squared, n);
}

static void dice_grad_u8_simd(float *g, const uint8_t *y, const float *pw, float gb, float a,
                              float d, int squared, int64_t n) {
    dice_grad_run(g, NULL, y, pw, gb, a, d, squared, n);
}

/* Pass 2 after pass 1 with SEGLOSS_DBCE_YSIGN on targets all 0 or 1: y
 * from the sign bit of g (gb = 0, not squared), then v_dice_g: the same
 * bits as dice_grad with those targets, without reading them. */
SIMD_INLINE vf v_dice_g_ys(vf v, vf a, vf d) {
    const vf one = vset1(1.0f), zero = vzero();
    return v_dice_g(v, vsel(vsignm(v), one, zero), one, zero, a, d, 0, 0);
}

static void dice_grad_ys_simd(float *g, float a, float d, int64_t n) {
    const vf av = vset1(a), dv = vset1(d);
    int64_t i = 0;
    for (; i + VW * VK <= n; i += VW * VK)
        FOR_K(VK, vstore(g + i + VW * j, v_dice_g_ys(vload(g + i + VW * j), av, dv)));
    for (; i < n; i += VW) {
        size_t r = (size_t)(n - i < VW ? n - i : VW), fb = r * sizeof(float);
        float bg[VW] = {0};
        memcpy(bg, g + i, fb);
        vstore(bg, v_dice_g_ys(vload(bg), av, dv));
        memcpy(g + i, bg, fb);
    }
}

#endif
