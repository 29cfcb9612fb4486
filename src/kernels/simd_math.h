/* The element functions of the vector kernels, written once over a small
 * set of vector primitives that each ISA file defines before including
 * this header (vec_avx2.c, vec_avx512.c, vec_neon.c, vec_portable.c):
 *
 *   VW                 floats per vector
 *   vf, vi, vm         float vector, int32 vector, lane mask
 *   vset1 vzero vload vstore  vadd vsub vmul vmax(a, b)
 *                      (vmax returns b when a lane of either is NaN, or
 *                      NaN: both keep a NaN b)
 *   vfma(a, b, c)      a*b + c       vfnma(a, b, c)  c - a*b
 *   vfms(a, b, c)      a*b - c       (fused where the ISA has an FMA,
 *                      two roundings in the portable path)
 *   vdiv(a, b), vfnma_exact(a, b, c)  a/b, and c - a*b rounded once (the
 *                      exact remainder of a division: an FMA); not needed
 *                      when the file defines SIMD_DIV_1PE (v_div_onepe)
 *   vor vand vxor      bitwise on floats; vabs clears the sign bit
 *   vsignm(x)          mask of the lanes whose sign bit is set
 *   vcmp_gt(a, b), vcmp_nge(a, b)   a > b, !(a >= b) (true on NaN)
 *   vsel(m, a, b)      m ? a : b per lane
 *   vm_none() vm_or vm_any vm_first(r) (lanes < r)
 *   vi_of vf_of        reinterpret; vi_add vi_sub vi_set1 vi_shl23 vi_sra1
 *   vload_u8(p, &bad)  VW bytes as floats, ORed into bad (vi);
 *                      vbad_any(bad): a byte other than 0/1 was seen;
 *                      optional SIMD_LOAD_U8_STEP: vload_u8_step(p, y, &bad),
 *                      the VK byte vectors of a step from one load (default
 *                      below: VK calls of vload_u8)
 *   vacc, vacc_zero, vacc_add(&a, v), vacc_total(a)   per-lane double sums
 *                      in index order, combined in a fixed order
 *   optional SIMD_MAXU: vi_maxu(a, b) (unsigned lane maxima) and
 *                      vi_anyu_gt(a, c) (a lane > c, unsigned): the range
 *                      checks below in one operation per vector
 *   optional SIMD_SEL_NEG_1M: vsel_neg_1m(x, s), x's sign bit set ? s : 1-s
 *                      (default below: vsel and vsub)
 *   optional SIMD_FEW_REGS: the ISA has 16 vector registers (SSE2); a
 *                      loop that would spill is then not software pipelined
 *
 * The algorithm and its accuracy are described in vec.h. Every element goes
 * through the same sequence of operations, so a result does not depend on
 * the element's position or on the pointers' alignment. Separate multiply
 * and add primitives are never fused (GCC: ISO C mode means
 * -ffp-contract=off; Clang: the pragma in each ISA file), so the only FMAs
 * are the ones written here. */
#ifndef SEGLOSS_KERNELS_SIMD_MATH_H
#define SEGLOSS_KERNELS_SIMD_MATH_H

#include "kernels/vec.h"

#include <string.h>

#define VK 4 /* vectors per step */

/* Runs stmt for j = 0 .. k-1, k = 1 or VK (a constant after inlining),
 * unrolled by hand: GCC -O2 does not unroll such loops and then keeps the
 * vector arrays they index in memory. Four independent vectors per step:
 * the dependency chains of exp and log are long (~100 cycles), and the
 * out-of-order window does not reach far enough ahead to overlap one
 * vector with the next. */
#define FOR_K(k, stmt)                                                      \
    do {                                                                    \
        { const int j = 0; stmt; }                                          \
        if ((k) > 1) {                                                      \
            { const int j = 1; stmt; }                                      \
            { const int j = 2; stmt; }                                      \
            { const int j = 3; stmt; }                                      \
        }                                                                   \
    } while (0)

/* exp(r) - 1 - r ~ r^2 (c2 + c3 r + ... + c6 r^4), Estrin's scheme. */
SIMD_INLINE vf v_exp_poly(vf r) {
    vf r2 = vmul(r, r);
    vf p56 = vfma(vset1(SEGLOSS__EXP_C6), r, vset1(SEGLOSS__EXP_C5));
    vf p34 = vfma(vset1(SEGLOSS__EXP_C4), r, vset1(SEGLOSS__EXP_C3));
    vf p = vfma(p56, r2, p34);
    p = vfma(p, r, vset1(SEGLOSS__EXP_C2));
    return vadd(vfma(p, r2, r), vset1(1.0f));
}

/* Cody–Waite: n = round(t log2e) (the 1.5*2^23 trick: the low bits of z are
 * n), r = t - n ln2 in two parts (exact first step). Returns p(r), n in *ni. */
SIMD_INLINE vf v_exp_reduce(vf t, vi *ni) {
    const vf magic = vset1(0x1.8p23f);
    vf z = vfma(t, vset1(SEGLOSS__LOG2E), magic);
    vf nf = vsub(z, magic);
    *ni = vi_sub(vi_of(z), vi_of(magic));
    vf r = vfnma(nf, vset1(SEGLOSS__EXP_LN2_HI), t);
    r = vfnma(nf, vset1(SEGLOSS__EXP_LN2_LO), r);
    return v_exp_poly(r);
}

/* The complete exp(t) for t <= 0 or NaN, any lane: t clamped at -110
 * (max(-110, t) keeps a NaN t, and a NaN p stays NaN whatever n is), then
 * p * 2^n1 * 2^n2 with n1 = n >> 1, n2 = n - n1, both scales normal: a
 * result in the denormal range is rounded once, and t < -103.98 gives
 * exactly 0. */
SIMD_NOINLINE vf v_exp_nonpos_slow(vf t) {
    vi n;
    vf p = v_exp_reduce(vmax(vset1(SEGLOSS__EXP_MIN), t), &n);
    const vi bias = vi_set1(127);
    vi n1 = vi_sra1(n);
    vi n2 = vi_sub(n, n1);
    vf s1 = vf_of(vi_shl23(vi_add(n1, bias)));
    vf s2 = vf_of(vi_shl23(vi_add(n2, bias)));
    return vmul(vmul(p, s1), s2);
}

/* exp(t) for t = -|x| of k vectors (k = 1 or VK). Fast path: n added to
 * the exponent field of p, exact while the result is normal (t >= -86);
 * when a lane is below -86 or NaN (rare), the k vectors are recomputed by
 * the complete version, which gives the same bits in the other lanes (both
 * scalings are exact there). */
SIMD_INLINE void v_exp_nonpos_k(vf *e, const vf *t, int k) {
#if defined(SIMD_MAXU)
    /* t <= -0 has its sign bit set: t < -86 or NaN <=> its bits, unsigned,
     * exceed those of -86.0f (0xc2ac0000) */
    vi big = vi_of(t[0]);
    FOR_K(k, if (j) big = vi_maxu(big, vi_of(t[j])));
    int slow = vi_anyu_gt(big, 0xc2ac0000u);
#else
    vm slowm = vm_none();
    FOR_K(k, slowm = vm_or(slowm, vcmp_nge(t[j], vset1(-86.0f))));
    int slow = vm_any(slowm);
#endif
    FOR_K(k, {
        vi n;
        vf p = v_exp_reduce(t[j], &n);
        e[j] = vf_of(vi_add(vi_of(p), vi_shl23(n)));
    });
    if (__builtin_expect(slow, 0)) FOR_K(k, e[j] = v_exp_nonpos_slow(t[j]));
}

/* u = 1 + e rounded: the divisor of the true division in v_div_onepe. */
SIMD_INLINE vf v_one_plus(vf e) { return vadd(vset1(1.0f), e); }

/* num/(1+e) for e in [0, 1], nearly correctly rounded: q = num/u (true
 * division by u = 1 + e rounded), the remainder against 1 + e itself,
 * r = (num - q) - q e (num - q is exact: q lies in [num/2, num], Sterbenz;
 * then one rounding, of a remainder below 2 ulp of q), and q + r/(1+e)
 * with 1/(1+e) from a line in u (5.9% relative: < 0.09 ulp of q;
 * deterministic, unlike rcpps). An ISA file may define SIMD_DIV_1PE(num, e)
 * instead (portable: the quotient in double, where 1 + e is exact to
 * 2^-53). */
SIMD_INLINE vf v_div_onepe(vf num, vf e, vf u) {
#if defined(SIMD_DIV_1PE)
    (void)u;
    return SIMD_DIV_1PE(num, e);
#else
    vf q = vdiv(num, u);
    vf r = vfnma_exact(q, e, vsub(num, q));
    vf ru = vfma(vset1(SEGLOSS__RCP1_C1), u, vset1(SEGLOSS__RCP1_C0));
    return vfma(r, ru, q);
#endif
}

/* log1p(e) for e in [0, 1] (or NaN), from e itself (1 + e is never
 * rounded): with f = e (e <= 1/2) or f = (e - 1)/2 (e > 1/2; exact, e
 * having no bits below 2^-24 there), f in (-1/4, 1/2],
 *   log1p(e) = k ln2 + log1p(f),  log1p(f) = f + f^2 q(f)
 * (k = 0 or 1; q of degree 8 by Estrin's scheme, SEGLOSS__LOG1P_C*).
 *   k = 0:  L = e + f^2 q, one rounding
 *   k = 1:  L = LN2_HI + (f^2 q + (f + LN2_LO)) */
SIMD_INLINE vf v_log1p_e(vf e) {
    const vf half = vset1(0.5f), zero = vzero();
    vm big = vcmp_gt(e, half);
    vf f = vsel(big, vfms(e, half, half), e);
    vf f2 = vmul(f, f);
    vf f4 = vmul(f2, f2);
    vf q23 = vfma(vset1(SEGLOSS__LOG1P_C3), f, vset1(SEGLOSS__LOG1P_C2));
    vf q45 = vfma(vset1(SEGLOSS__LOG1P_C5), f, vset1(SEGLOSS__LOG1P_C4));
    vf q67 = vfma(vset1(SEGLOSS__LOG1P_C7), f, vset1(SEGLOSS__LOG1P_C6));
    vf q89 = vfma(vset1(SEGLOSS__LOG1P_C9), f, vset1(SEGLOSS__LOG1P_C8));
    vf qhi = vfma(vset1(SEGLOSS__LOG1P_C10), f2, q89);
    qhi = vfma(qhi, f2, q67);
    vf qlo = vfma(q45, f2, q23);
    vf q = vfma(qhi, f4, qlo);
    vf t = vadd(f, vsel(big, vset1(SEGLOSS__LN2_LO), zero));
    return vadd(vsel(big, vset1(SEGLOSS__LN2_HI), zero), vfma(f2, q, t));
}

/* The VK byte vectors of a step (VW * VK bytes) as floats, ORed into *bad
 * (vload_u8); an ISA file may define SIMD_LOAD_U8_STEP with one wide load. */
#if !defined(SIMD_LOAD_U8_STEP)
SIMD_INLINE void vload_u8_step(const uint8_t *p, vf *y, vi *bad) {
    FOR_K(VK, y[j] = vload_u8(p + VW * j, bad));
}
#endif

SIMD_INLINE vf v_neg_abs(vf x) { return vor(x, vset1(-0.0f)); }

/* e = exp(-|x|) of k vectors (k = 1 or VK): the e from which the kernels
 * form every sigmoid and softplus. */
SIMD_INLINE void v_exp_negabs_k(vf *e, const vf *x, int k) {
    vf t[VK];
    FOR_K(k, t[j] = v_neg_abs(x[j]));
    v_exp_nonpos_k(e, t, k);
}

/* Software prefetch, PF_AHEAD elements ahead of a step (VW * VK
 * elements) that starts at element i: its float lines (v_prefetch_f) or
 * byte lines (v_prefetch_b: once per 64 elements). Used by pass 1 (dbce),
 * whose arithmetic per element is the heaviest: there the hardware
 * prefetchers alone fall behind when the VM's memory is slow (16x1x512x512,
 * 1 thread, avx512: dice forward+backward 0.90 -> 0.70 ns/element in a
 * slow phase, unchanged in a quiet one; dice-bce with a float32 target
 * 0.95-1.0 -> 0.82-0.90 in quiet minutes). Distances tried (elements):
 * 64 (one avx512 step) did best for dice-bce, then 128, 256, 512, 2048;
 * the bce-logits loop was 5-8% slower with it, pass 2 (in cache) gained
 * nothing: neither prefetches. A prefetch never faults, so it may reach
 * past the array; its address is formed in integer arithmetic (v_pf_addr),
 * as a pointer beyond the array's end would not be valid C. */
#define PF_AHEAD 64
SIMD_INLINE const void *v_pf_addr(const void *p, int64_t byte_off) {
    return (const void *)((uintptr_t)p + (uintptr_t)byte_off);
}
SIMD_INLINE void v_prefetch_f(const float *p, int64_t i) {
    for (int q = 0; q < VW * VK; q += 16)
        __builtin_prefetch(v_pf_addr(p, (i + PF_AHEAD + q) * (int64_t)sizeof *p));
}
/* The same for an array the step will write (asked for writing; without
 * -mprfchw GCC emits an ordinary prefetch, PREFETCHT0 on x86): the store
 * stream's line fills start ahead too instead of stalling the stores
 * (dice-bce with a float32 target, 1 thread, quiet: 0.77-0.82 -> 0.65-0.68
 * ns/element; uint8 target 3-7% faster; dice unchanged). */
SIMD_INLINE void v_prefetchw_f(const float *p, int64_t i) {
    for (int q = 0; q < VW * VK; q += 16)
        __builtin_prefetch(v_pf_addr(p, (i + PF_AHEAD + q) * (int64_t)sizeof *p), 1);
}
SIMD_INLINE void v_prefetch_b(const uint8_t *p, int64_t i) {
    if (VW * VK >= 64 || i % 64 == 0)
        for (int q = 0; q < VW * VK; q += 64) __builtin_prefetch(v_pf_addr(p, i + PF_AHEAD + q));
}

/* The range check of a float target, folded into a kernel's own pass over
 * it: vunit_none() starts it, vload_unit(p, &acc) loads one vector and adds
 * its lanes, vunit_bad(acc) at the end says whether a lane may lie outside
 * [0, 1] (NaN included); -0.0 is in range (as -0.0 >= 0). With SIMD_MAXU it
 * is one operation per vector: the largest bit pattern seen, unsigned, must
 * not exceed 1.0f's (0x3f800000), which every float in [+0, 1] meets and
 * every negative float, float > 1 and NaN fails, but -0.0 fails too: a
 * kernel whose check fails looks again with unit_exact before it reports
 * the target. Otherwise two comparisons per vector. */
#if defined(SIMD_MAXU)
typedef vi vunit;
SIMD_INLINE vunit vunit_none(void) { return vi_set1(0); }
SIMD_INLINE vf vload_unit(const float *p, vunit *acc) {
    vf y = vload(p);
    *acc = vi_maxu(*acc, vi_of(y));
    return y;
}
SIMD_INLINE int vunit_bad(vunit acc) { return vi_anyu_gt(acc, 0x3f800000u); }
#else
typedef vm vunit;
SIMD_INLINE vunit vunit_none(void) { return vm_none(); }
SIMD_INLINE vf vload_unit(const float *p, vunit *acc) {
    vf y = vload(p);
    *acc = vm_or(*acc, vm_or(vcmp_nge(y, vzero()), vcmp_nge(vset1(1.0f), y)));
    return y;
}
SIMD_INLINE int vunit_bad(vunit acc) { return vm_any(acc); }
#endif

/* Every y[i] in [0, 1] (-0.0 included, NaN not): the exact check behind a
 * failed vunit_bad. */
static inline int unit_exact(const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f)) return 0;
    return 1;
}

/* acc with the bits of y*y ^ y ORed in: zero while every y is 0 or 1
 * (y*y == y exactly only there in [0, 1]; -0.0 counts as not binary). */
SIMD_INLINE vf v_nonbinary(vf acc, vf y) { return vor(acc, vxor(vmul(y, y), y)); }

/* A lane of v has a bit set. */
SIMD_INLINE int v_any_bits(vf v) {
#if defined(SIMD_MAXU)
    return vi_anyu_gt(vi_of(v), 0u);
#else
    return vm_any(vi_of(v) != vi_set1(0)); /* portable: generic vectors */
#endif
}

#if !defined(SIMD_SEL_NEG_1M)
SIMD_INLINE vf vsel_neg_1m(vf x, vf s) { return vsel(vsignm(x), s, vsub(vset1(1.0f), s)); }
#endif

/* sigmoid(x) = num/(1+e), num = 1 (x >= 0) or e (x < 0), chosen by the
 * sign bit: -0.0 takes e/(1+e) = 1/2 too. */
SIMD_INLINE vf v_sigmoid_of(vf x, vf e) {
    return v_div_onepe(vsel(vsignm(x), e, vset1(1.0f)), e, v_one_plus(e));
}

#endif
