/* The softmax kernel of vec.h (segloss_vec_softmax_fn), written once over
 * the primitives of simd_math.h and included by each vector ISA file after
 * simd_loss.h; the file then returns softmax_simd from its
 * segloss__vec_softmax_<isa>() getter.
 *
 * VW positions at a time (a short last group through zero-padded buffers):
 * the maximum over the C channels (NaN when any logit is NaN), e_c =
 * exp(x_c - max) by the exp of simd_math.h (t <= 0), their sum in float in
 * class order, p_c = e_c * (1/sum). sp = sum of the e_c of the channels
 * below the maximum, plus (number of channels at the maximum - 1): the sum
 * minus the exact 1 of the maximum, so that log1p(sp) keeps its relative
 * accuracy when one class dominates (sp is NaN where max is NaN or
 * infinite, as log_softmax is). */
#ifndef SEGLOSS_KERNELS_SIMD_SOFTMAX_H
#define SEGLOSS_KERNELS_SIMD_SOFTMAX_H

#include "kernels/simd_math.h"

SIMD_INLINE vf sm_load(const float *p, int64_t r) {
    if (r == VW) return vload(p);
    float b[VW] = {0};
    memcpy(b, p, (size_t)r * sizeof *b);
    return vload(b);
}

SIMD_INLINE void sm_store(float *p, vf v, int64_t r) {
    if (r == VW) {
        vstore(p, v);
        return;
    }
    float b[VW];
    vstore(b, v);
    memcpy(p, b, (size_t)r * sizeof *b);
}

static void softmax_simd(float *p, int64_t ps, float *mx, float *sp, const float *x, int64_t xs,
                         int64_t c, int64_t n) {
    const vf zero = vzero(), one = vset1(1.0f);
    for (int64_t i = 0; i < n; i += VW) {
        int64_t r = n - i < VW ? n - i : VW;
        const float *x0 = x + i;
        vf m = sm_load(x0, r);
        vm nan = vcmp_nge(m, m);
        for (int64_t k = 1; k < c; k++) {
            vf v = sm_load(x0 + k * xs, r);
            nan = vm_or(nan, vcmp_nge(v, v));
            m = vmax(v, m);
        }
        m = vsel(nan, vset1(__builtin_nanf("")), m);
        vf t = zero, cnt = zero;
        for (int64_t k = 0; k < c; k++) {
            vf v = sm_load(x0 + k * xs, r), d = vsub(v, m), e;
            v_exp_nonpos_k(&e, &d, 1);
            vm lt = vcmp_gt(m, v);
            t = vadd(t, vsel(lt, e, zero));
            cnt = vadd(cnt, vsel(lt, zero, one));
            if (p) sm_store(p + k * ps + i, e, r);
        }
        if (p) {
            vf q = vdiv(one, vadd(cnt, t));
            for (int64_t k = 0; k < c; k++)
                sm_store(p + k * ps + i, vmul(sm_load(p + k * ps + i, r), q), r);
        }
        sm_store(mx + i, m, r);
        sm_store(sp + i, vadd(vadd(t, vsub(cnt, one)), vmul(zero, m)), r);
    }
}

#endif
