/* The vector kernels of vec.h's table (sigmoid, BCE with logits, and the
 * Dice + BCE passes of simd_dice.h), written once over the primitives
 * listed in simd_math.h and included by each ISA file, which then returns
 * &simd_ops (named SIMD_NAME).
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

#include "kernels/simd_dice.h"

static const segloss_vec_ops simd_ops = {
    SIMD_NAME,        VW,
    sigmoid_simd,     bcel_fwd_simd,    bcel_bwd_simd,     bcel_fused_simd,
    bcel_fwd_u8_simd, bcel_bwd_u8_simd, bcel_fused_u8_simd,
    dbce_simd,        dbce_u8_simd,     dice_grad_simd,    dice_grad_u8_simd,
    dice_grad_ys_simd,
};

#endif
