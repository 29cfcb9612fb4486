/* AArch64 NEON float32 element kernels ("neon" table of vec.h): the vector
 * primitives of simd_math.h on float32x4_t, then the kernels of
 * simd_loss.h. Advanced SIMD (with FMA and vector division) is part of
 * every AArch64 CPU, so the table exists whenever this file is built for
 * aarch64, with the ordinary flags; on other targets it is NULL.
 *
 * vmax is NEON's, which returns NaN when either lane is NaN (x86's returns
 * the second operand): both keep a NaN t in the exp clamp, and a NaN x
 * gives a NaN loss either way.
 *
 * Sums: two float64x2_t, A0 = lanes 0-1, A1 = lanes 2-3; at the end
 * (A0[0] + A0[1]) + (A1[0] + A1[1]). */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>
#include <string.h>

#define SIMD_NAME "neon"
#define VW 4
#define SIMD_INLINE static inline __attribute__((always_inline))
#define SIMD_NOINLINE static

typedef float32x4_t vf;
typedef int32x4_t vi;
typedef uint32x4_t vm;

SIMD_INLINE vf vset1(float c) { return vdupq_n_f32(c); }
SIMD_INLINE vf vzero(void) { return vdupq_n_f32(0.0f); }
SIMD_INLINE vf vload(const float *p) { return vld1q_f32(p); }
SIMD_INLINE void vstore(float *p, vf v) { vst1q_f32(p, v); }
SIMD_INLINE vf vadd(vf a, vf b) { return vaddq_f32(a, b); }
SIMD_INLINE vf vsub(vf a, vf b) { return vsubq_f32(a, b); }
SIMD_INLINE vf vmul(vf a, vf b) { return vmulq_f32(a, b); }
SIMD_INLINE vf vdiv(vf a, vf b) { return vdivq_f32(a, b); }
SIMD_INLINE vf vmax(vf a, vf b) { return vmaxq_f32(a, b); }
SIMD_INLINE vf vfma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
SIMD_INLINE vf vfnma(vf a, vf b, vf c) { return vfmsq_f32(c, a, b); }
SIMD_INLINE vf vfms(vf a, vf b, vf c) { return vnegq_f32(vfmsq_f32(c, a, b)); }
SIMD_INLINE vf vfnma_exact(vf a, vf b, vf c) { return vfmsq_f32(c, a, b); }
SIMD_INLINE vf vor(vf a, vf b) {
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
}
SIMD_INLINE vf vand(vf a, vf b) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
}
SIMD_INLINE vf vxor(vf a, vf b) {
    return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
}
SIMD_INLINE vf vabs(vf a) { return vabsq_f32(a); }
SIMD_INLINE vm vsignm(vf x) {
    return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31));
}
SIMD_INLINE vm vcmp_gt(vf a, vf b) { return vcgtq_f32(a, b); }
SIMD_INLINE vm vcmp_nge(vf a, vf b) { return vmvnq_u32(vcgeq_f32(a, b)); }
SIMD_INLINE vf vsel(vm m, vf a, vf b) { return vbslq_f32(m, a, b); }
SIMD_INLINE vm vm_none(void) { return vdupq_n_u32(0); }
SIMD_INLINE vm vm_or(vm a, vm b) { return vorrq_u32(a, b); }
SIMD_INLINE int vm_any(vm m) { return vmaxvq_u32(m) != 0; }
SIMD_INLINE vm vm_first(int r) {
    static const uint32_t lane[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(lane), vdupq_n_u32((uint32_t)r));
}
/* unsigned lane maxima (simd_math.h: the target and exp range checks) */
#define SIMD_MAXU 1
SIMD_INLINE vi vi_maxu(vi a, vi b) {
    return vreinterpretq_s32_u32(vmaxq_u32(vreinterpretq_u32_s32(a), vreinterpretq_u32_s32(b)));
}
SIMD_INLINE int vi_anyu_gt(vi a, unsigned c) { return vmaxvq_u32(vreinterpretq_u32_s32(a)) > c; }
SIMD_INLINE vi vi_of(vf a) { return vreinterpretq_s32_f32(a); }
SIMD_INLINE vf vf_of(vi a) { return vreinterpretq_f32_s32(a); }
SIMD_INLINE vi vi_add(vi a, vi b) { return vaddq_s32(a, b); }
SIMD_INLINE vi vi_sub(vi a, vi b) { return vsubq_s32(a, b); }
SIMD_INLINE vi vi_set1(int c) { return vdupq_n_s32(c); }
SIMD_INLINE vi vi_shl23(vi a) { return vshlq_n_s32(a, 23); }
SIMD_INLINE vi vi_sra1(vi a) { return vshrq_n_s32(a, 1); }

/* 4 bytes -> 4 floats; ORs the bytes into *bad for the 0/1 check. */
SIMD_INLINE vf vload_u8(const uint8_t *p, vi *bad) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    uint32x4_t v = vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8((uint64_t)w))));
    *bad = vorrq_s32(*bad, vreinterpretq_s32_u32(v));
    return vcvtq_f32_u32(v);
}
SIMD_INLINE int vbad_any(vi bad) {
    return vmaxvq_u32(vandq_u32(vreinterpretq_u32_s32(bad), vdupq_n_u32(~1u))) != 0;
}

typedef struct vacc {
    float64x2_t a0, a1;
} vacc;
SIMD_INLINE vacc vacc_zero(void) {
    vacc a = {vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
    return a;
}
SIMD_INLINE void vacc_add(vacc *a, vf l) {
    a->a0 = vaddq_f64(a->a0, vcvt_f64_f32(vget_low_f32(l)));
    a->a1 = vaddq_f64(a->a1, vcvt_high_f64_f32(l));
}
SIMD_INLINE double vacc_total(vacc a) {
    return (vgetq_lane_f64(a.a0, 0) + vgetq_lane_f64(a.a0, 1)) +
           (vgetq_lane_f64(a.a1, 0) + vgetq_lane_f64(a.a1, 1));
}

#include "kernels/simd_loss.h"

const segloss_vec_ops *segloss__vec_ops_neon_table(void) { return &simd_ops; }

#include "kernels/simd_softmax.h"

segloss_vec_softmax_fn segloss__vec_softmax_neon(void) { return softmax_simd; }

#include "kernels/simd_softmax_d.h"

segloss_vec_softmax_d_fn segloss__vec_softmax_d_neon(void) { return softmax_d_simd; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_neon(void) { return softplus_d_simd; }

#else /* not aarch64: no table */

const segloss_vec_ops *segloss__vec_ops_neon_table(void) { return NULL; }

segloss_vec_softmax_fn segloss__vec_softmax_neon(void) { return NULL; }
segloss_vec_softmax_d_fn segloss__vec_softmax_d_neon(void) { return NULL; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_neon(void) { return NULL; }

#endif
