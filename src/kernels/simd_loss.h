/* The vector kernels of vec.h's table (sigmoid, BCE with logits, the Dice +
 * BCE passes), written once over the primitives listed in simd_math.h and
 * included by each ISA file, which then returns &simd_ops (named SIMD_NAME).
 *
 * Layout of a block of n elements: steps of VK vectors whose computations
 * are independent, then single vectors, then the last n mod VW elements
 * copied into zero-padded buffers of one vector.
 *
 * Sums: each element loss (float) is added in double to the sum of its lane
 * (index mod VW), in index order; padded tail lanes are masked to +0; the
 * lane sums are combined in a fixed order (vacc_total). The result depends
 * only on n and the data (and on the path: its width and order). */
#ifndef SEGLOSS_KERNELS_SIMD_LOSS_H
#define SEGLOSS_KERNELS_SIMD_LOSS_H

#include "kernels/simd_math.h"

/* The loads and exp of a sigmoid step at i. */
SIMD_INLINE void sigmoid_step_a(vf *xv, vf *e, const float *x, int64_t i) {
    FOR_K(VK, xv[j] = vload(x + i + VW * j));
    v_exp_negabs_k(e, xv, VK);
}

/* sigmoid: see vec.h for the accuracy of each path. Software pipelined as
 * the loss loops below: the next step's exp before this step's division. */
static void sigmoid_simd(float *out, const float *x, int64_t n) {
    const int64_t S = VW * VK;
    int64_t i = 0;
    if (n >= S) {
        vf x0[VK], e0[VK], x1[VK], e1[VK];
        sigmoid_step_a(x0, e0, x, 0);
        for (; i + 2 * S <= n; i += 2 * S) {
            sigmoid_step_a(x1, e1, x, i + S);
            FOR_K(VK, vstore(out + i + VW * j, v_sigmoid_of(x0[j], e0[j])));
            if (i + 3 * S <= n) sigmoid_step_a(x0, e0, x, i + 2 * S);
            FOR_K(VK, vstore(out + i + S + VW * j, v_sigmoid_of(x1[j], e1[j])));
        }
        if (i + S <= n) { /* x0, e0 hold the step at i */
            FOR_K(VK, vstore(out + i + VW * j, v_sigmoid_of(x0[j], e0[j])));
            i += S;
        }
    }
    for (; i + VW <= n; i += VW) {
        vf xv = vload(x + i), e;
        v_exp_negabs_k(&e, &xv, 1);
        vstore(out + i, v_sigmoid_of(xv, e));
    }
    if (i < n) {
        float buf[VW] = {0};
        size_t r = (size_t)(n - i);
        memcpy(buf, x + i, r * sizeof *buf);
        vf xv = vload(buf), e;
        v_exp_negabs_k(&e, &xv, 1);
        vstore(buf, v_sigmoid_of(xv, e));
        memcpy(out + i, buf, r * sizeof *buf);
    }
}

/* ------------------------------------------------------------------------ */
/* BCE with logits                                                           */
/* ------------------------------------------------------------------------ */

/* Inputs of one vector: y, and w, pw, s (the upstream factor) when used. */
typedef struct v_in {
    vf x, y, w, pw, s;
} v_in;

/* Which inputs a loop instance uses (constants after inlining): plain means
 * w, pw and gvec are all NULL, and the multiplications by 1 are left out
 * (they are exact; the plain loss term is arranged differently, v_loss:
 * the same bits as the general path with unit weights for 0/1 targets). */
typedef struct v_mode {
    int loss, grad, bytes, plain;
    int lplain; /* w and pw NULL (gvec may be set): v_loss_plain */
} v_mode;

/* Pointers of one kernel call. */
typedef struct v_args {
    const float *x, *yf, *w, *pw, *gvec;
    const uint8_t *yb;
    float gs;
} v_args;

SIMD_INLINE v_in v_load(const v_args *a, int64_t i, v_mode md, vi *bad, vunit *badf) {
    v_in v;
    v.x = vload(a->x + i);
    v.y = md.bytes ? vload_u8(a->yb + i, bad) : vload_unit(a->yf + i, badf);
    v.w = v.pw = vset1(1.0f);
    v.s = vset1(a->gs);
    if (!md.plain) {
        if (a->w) v.w = vload(a->w + i);
        if (a->pw) v.pw = vload(a->pw + i);
        if (md.grad && a->gvec) v.s = vmul(v.s, vload(a->gvec + i));
    }
    return v;
}

/* softplus(+-x) = lg + max(+-x, 0) and the loss term
 * (1-y) softplus(x) + pwy softplus(-x). */
SIMD_INLINE vf v_loss_term(vf x, vf y, vf pwy, vf lg) {
    const vf zero = vzero();
    vf spp = vadd(lg, vmax(x, zero));
    vf spn = vadd(lg, vmax(vxor(x, vset1(-0.0f)), zero));
    return vfma(pwy, spn, vmul(vsub(vset1(1.0f), y), spp));
}

/* l = w [(1-y) softplus(x) + pw y softplus(-x)]. Plain (w = pw = 1): as
 * lg + [(1-y) max(x, 0) + y max(-x, 0)], two operations fewer and lg added
 * last; for y = 0 and y = 1 the same bits as v_loss_term (lg + max(+-x, 0),
 * and NaN where a zero factor meets an infinite max), for soft labels
 * within a rounding of it. */
SIMD_INLINE vf v_loss_plain(vf x, vf y, vf lg) {
    const vf zero = vzero();
    vf a = vmax(x, zero), b = vmax(vxor(x, vset1(-0.0f)), zero);
    return vadd(lg, vfma(y, b, vmul(vsub(vset1(1.0f), y), a)));
}

SIMD_INLINE vf v_loss(const v_in *v, vf lg, v_mode md) {
    if (md.lplain) return v_loss_plain(v->x, v->y, lg);
    return vmul(v_loss_term(v->x, v->y, vmul(v->pw, v->y), lg), v->w);
}

/* g = s w [(1-y) N1 - pw y N2] / (1+e), N1, N2 the numerators of sigmoid(x)
 * and sigmoid(-x) (1 or e, by the sign bit of x). */
SIMD_INLINE vf v_grad(const v_in *v, vf e, vf u, v_mode md) {
    const vf one = vset1(1.0f);
    vm neg = vsignm(v->x);
    vf n1 = vsel(neg, e, one);
    vf n2 = vsel(neg, one, e);
    vf pwy = md.plain ? v->y : vmul(v->pw, v->y);
    vf num = vfnma(pwy, n2, vmul(vsub(one, v->y), n1));
    vf g = v_div_onepe(num, e, u);
    if (!md.plain) g = vmul(g, v->w);
    return vmul(g, v->s);
}

/* Loss and/or gradient of k vectors from their e. */
SIMD_INLINE void v_bcel_k(vf *l, vf *g, const v_in *v, const vf *e, int k, v_mode md) {
    vf u[VK];
    FOR_K(k, u[j] = v_one_plus(e[j]));
    if (md.loss) FOR_K(k, l[j] = v_loss(&v[j], v_log1p_e(e[j]), md));
    if (md.grad) FOR_K(k, g[j] = v_grad(&v[j], e[j], u[j], md));
}

/* One step's inputs (VK vectors) and their e = exp(-|x|). */
typedef struct bcel_in {
    v_in v[VK];
    vf e[VK];
} bcel_in;

/* The first half of a step at i: its loads and exp. */
SIMD_INLINE void bcel_step_a(bcel_in *in, const v_args *a, int64_t i, v_mode md, vi *bad,
                             vunit *badf) {
    vf x[VK];
    FOR_K(VK, in->v[j] = v_load(a, i + VW * j, md, bad, badf); x[j] = in->v[j].x);
    v_exp_negabs_k(in->e, x, VK);
}

/* The second half: the loss terms (stored, added in index order) and the
 * gradient. */
SIMD_INLINE void bcel_step_b(vacc *acc, float *elems, float *grad, const bcel_in *in, int64_t i,
                             v_mode md) {
    vf l[VK], g[VK];
    v_bcel_k(l, g, in->v, in->e, VK, md);
    if (md.loss) {
        if (elems) FOR_K(VK, vstore(elems + i + VW * j, l[j]));
        FOR_K(VK, vacc_add(acc, l[j])); /* in index order */
    }
    if (md.grad) FOR_K(VK, vstore(grad + i + VW * j, g[j]));
}

/* The loop of every BCE kernel (see the top of the file for the layout).
 * Software pipelined as dbce_loop: the next step's loads and exp are
 * issued before this step's log1p, division and sums; not the fused
 * kernels (loss and gradient) on an ISA with 16 vector registers
 * (SIMD_FEW_REGS), where the second step's state spills (portable on x86,
 * fused: 2.30 -> 2.45 ns/element in L1, while forward and backward gain
 * 7%). */
SIMD_INLINE segloss_status bcel_loop(double *sum, float *elems, float *grad, const v_args *a,
                                     int64_t n, v_mode md) {
    const int64_t S = VW * VK;
#if defined(SIMD_FEW_REGS)
    const int pipe = !(md.loss && md.grad);
#else
    const int pipe = 1;
#endif
    vacc acc = vacc_zero();
    vi bad = vi_set1(0);
    vunit badf = vunit_none();
    v_in v[VK];
    vf l[VK], g[VK], e[VK];
    int64_t i = 0;
    for (; !pipe && i + S <= n; i += S) {
        bcel_in in0;
        bcel_step_a(&in0, a, i, md, &bad, &badf);
        bcel_step_b(&acc, elems, grad, &in0, i, md);
    }
    if (pipe && n >= S) {
        bcel_in in0, in1;
        bcel_step_a(&in0, a, 0, md, &bad, &badf);
        for (; i + 2 * S <= n; i += 2 * S) {
            bcel_step_a(&in1, a, i + S, md, &bad, &badf);
            bcel_step_b(&acc, elems, grad, &in0, i, md);
            if (i + 3 * S <= n) bcel_step_a(&in0, a, i + 2 * S, md, &bad, &badf);
            bcel_step_b(&acc, elems, grad, &in1, i + S, md);
        }
        if (i + S <= n) { /* in0 holds the step at i */
            bcel_step_b(&acc, elems, grad, &in0, i, md);
            i += S;
        }
    }
    for (; i + VW <= n; i += VW) {
        v[0] = v_load(a, i, md, &bad, &badf);
        v_exp_negabs_k(e, &v[0].x, 1);
        v_bcel_k(l, g, v, e, 1, md);
        if (md.loss) {
            if (elems) vstore(elems + i, l[0]);
            vacc_add(&acc, l[0]);
        }
        if (md.grad) vstore(grad + i, g[0]);
    }
    if (i < n) {
        /* tail: zero-padded copies at index 0, padded lanes masked out */
        size_t r = (size_t)(n - i), fb = r * sizeof(float);
        float bx[VW] = {0}, by[VW] = {0}, bw[VW] = {0}, bpw[VW] = {0}, bg[VW] = {0};
        uint8_t bb[VW] = {0};
        v_args t = *a;
        memcpy(bx, a->x + i, fb);
        t.x = bx;
        if (md.bytes) {
            memcpy(bb, a->yb + i, r);
            t.yb = bb;
        } else {
            memcpy(by, a->yf + i, fb);
            t.yf = by;
        }
        if (a->w) memcpy(bw, a->w + i, fb), t.w = bw;
        if (a->pw) memcpy(bpw, a->pw + i, fb), t.pw = bpw;
        if (a->gvec) memcpy(bg, a->gvec + i, fb), t.gvec = bg;
        v[0] = v_load(&t, 0, md, &bad, &badf);
        v_exp_negabs_k(e, &v[0].x, 1);
        v_bcel_k(l, g, v, e, 1, md);
        if (md.loss) {
            l[0] = vsel(vm_first((int)r), l[0], vzero());
            vacc_add(&acc, l[0]);
            if (elems) {
                vstore(bx, l[0]);
                memcpy(elems + i, bx, fb);
            }
        }
        if (md.grad) {
            vstore(bx, g[0]);
            memcpy(grad + i, bx, fb);
        }
    }
    if (md.loss) *sum = vacc_total(acc);
    if (md.bytes ? vbad_any(bad) : (vunit_bad(badf) && !unit_exact(a->yf, n)))
        return SEGLOSS_ERR_TARGET;
    return SEGLOSS_OK;
}

/* Runs the loop instance for the call's weights: plain (no w, pw, gvec),
 * gvec alone, or general. */
SIMD_INLINE segloss_status bcel_run(double *sum, float *elems, float *grad, const v_args *a,
                                    int64_t n, int loss, int grad_, int bytes) {
    if (!a->w && !a->pw && !a->gvec) {
        v_mode md = {loss, grad_, bytes, 1, 1};
        return bcel_loop(sum, elems, grad, a, n, md);
    }
    if (!a->w && !a->pw) { /* gvec alone: the plain loss term all the same */
        v_mode md = {loss, grad_, bytes, 0, 1};
        return bcel_loop(sum, elems, grad, a, n, md);
    }
    v_mode md = {loss, grad_, bytes, 0, 0};
    return bcel_loop(sum, elems, grad, a, n, md);
}

/* BCE with logits: forward, backward, fused; float or 0/1-byte targets.
 * ACCURACY: see vec.h. */
static segloss_status bcel_fwd_simd(double *sum, float *elems, const float *x, const float *y,
                                    const float *w, const float *pw, int64_t n) {
    v_args a = {x, y, w, pw, NULL, NULL, 1.0f};
    return bcel_run(sum, elems, NULL, &a, n, 1, 0, 0);
}

static segloss_status bcel_bwd_simd(float *grad, const float *x, const float *y, const float *w,
                                    const float *pw, const float *gvec, double gscale,
                                    int64_t n) {
    v_args a = {x, y, w, pw, gvec, NULL, (float)gscale};
    return bcel_run(NULL, NULL, grad, &a, n, 0, 1, 0);
}

static segloss_status bcel_fused_simd(double *sum, float *elems, float *grad, const float *x,
                                      const float *y, const float *w, const float *pw,
                                      const float *gvec, double gscale, int64_t n) {
    v_args a = {x, y, w, pw, gvec, NULL, (float)gscale};
    return bcel_run(sum, elems, grad, &a, n, 1, 1, 0);
}

static segloss_status bcel_fwd_u8_simd(double *sum, float *elems, const float *x,
                                       const uint8_t *y, const float *w, const float *pw,
                                       int64_t n) {
    v_args a = {x, NULL, w, pw, NULL, y, 1.0f};
    return bcel_run(sum, elems, NULL, &a, n, 1, 0, 1);
}

static segloss_status bcel_bwd_u8_simd(float *grad, const float *x, const uint8_t *y,
                                       const float *w, const float *pw, const float *gvec,
                                       double gscale, int64_t n) {
    v_args a = {x, NULL, w, pw, gvec, y, (float)gscale};
    return bcel_run(NULL, NULL, grad, &a, n, 0, 1, 1);
}

static segloss_status bcel_fused_u8_simd(double *sum, float *elems, float *grad,
                                         const float *x, const uint8_t *y, const float *w,
                                         const float *pw, const float *gvec, double gscale,
                                         int64_t n) {
    v_args a = {x, NULL, w, pw, gvec, y, (float)gscale};
    return bcel_run(sum, elems, grad, &a, n, 1, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* Dice + BCE                                                                */
/* ------------------------------------------------------------------------ */

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

static const segloss_vec_ops simd_ops = {
    SIMD_NAME,        VW,
    sigmoid_simd,     bcel_fwd_simd,    bcel_bwd_simd,     bcel_fused_simd,
    bcel_fwd_u8_simd, bcel_bwd_u8_simd, bcel_fused_u8_simd,
    dbce_simd,        dbce_u8_simd,     dice_grad_simd,    dice_grad_u8_simd,
    dice_grad_ys_simd,
};

#endif
