/* Portable float32 element kernels ("portable" table of vec.h): the vector
 * primitives of simd_math.h as GCC/Clang generic vectors of 4 floats, which
 * the compiler maps to the target's baseline SIMD (SSE2 on x86-64, which
 * every x86-64 CPU has; NEON, AltiVec, ...) or to scalar code. The table
 * used when the CPU has none of the ISA-specific paths; built with the
 * library's ordinary flags.
 *
 * There is no FMA: vfma(a, b, c) is a*b + c with two roundings (ISO C mode
 * does not contract them; the pragma tells Clang), as in vec_scalar.c. The
 * division num/(1+e) of the sigmoids and gradients is done in double
 * instead of the FMA paths' corrected float quotient (SIMD_DIV_1PE below):
 * fewer instructions without an FMA, and as accurate (the quotient is
 * rounded to double, then to float). Bytes are widened by interleaving
 * with zeros, a step's 16 at once; on x86 the lane-mask test is SSE2's
 * movmskps. (Session 5, 1 thread, dice pass 1 sums-only 2.0 -> 1.65
 * ns/element, pass 2 0.30 -> 0.21; see docs/benchmarks-kernels.md.)
 *
 * Sums: 4 double lanes, (S0 + S1) + (S2 + S3) at the end. */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
/* GCC on x86 does not schedule before register allocation by default; with
 * 16 xmm registers for the four-vector steps it then spills less (dice pass
 * 1: 9-11% faster). Scheduling does not change the results. */
#pragma GCC optimize("schedule-insns", "sched-pressure")
#endif

#if defined(__GNUC__)

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SIMD_NAME "portable"
#if defined(__x86_64__) || defined(__i386__)
#define SIMD_FEW_REGS 1 /* 16 xmm registers (simd_loss.h's bcel_loop) */
#endif
#define VW 4
#define SIMD_INLINE static inline __attribute__((always_inline))
#define SIMD_NOINLINE static

typedef float vf __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));
typedef uint32_t vu __attribute__((vector_size(16)));
typedef double vd2 __attribute__((vector_size(16)));
typedef vi vm; /* -1 / 0 lanes */

SIMD_INLINE vf vset1(float c) { return (vf){c, c, c, c}; }
SIMD_INLINE vi vi_set1(int c) { return (vi){c, c, c, c}; }
SIMD_INLINE vf vzero(void) { return vset1(0.0f); }
SIMD_INLINE vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
SIMD_INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
SIMD_INLINE vf vadd(vf a, vf b) { return a + b; }
SIMD_INLINE vf vsub(vf a, vf b) { return a - b; }
SIMD_INLINE vf vmul(vf a, vf b) { return a * b; }
SIMD_INLINE vf vfma(vf a, vf b, vf c) { return a * b + c; }
SIMD_INLINE vf vfnma(vf a, vf b, vf c) { return c - a * b; }
SIMD_INLINE vf vfms(vf a, vf b, vf c) { return a * b - c; }
SIMD_INLINE vf vdiv(vf a, vf b) { return a / b; }
/* num/(1 + e) in double: 1 + e is exact there to 2^-53, and the quotient
 * is rounded to double, then to float (simd_math.h's v_div_onepe). */
SIMD_INLINE vd2 vd_lo(vf a) { return (vd2){a[0], a[1]}; }
SIMD_INLINE vd2 vd_hi(vf a) { return (vd2){a[2], a[3]}; }
SIMD_INLINE vf vdiv_1pe(vf num, vf e) {
    const vd2 one = {1.0, 1.0};
    vd2 lo = vd_lo(num) / (one + vd_lo(e));
    vd2 hi = vd_hi(num) / (one + vd_hi(e));
    return (vf){(float)lo[0], (float)lo[1], (float)hi[0], (float)hi[1]};
}
#define SIMD_DIV_1PE vdiv_1pe
SIMD_INLINE vf vor(vf a, vf b) { return (vf)((vi)a | (vi)b); }
SIMD_INLINE vf vand(vf a, vf b) { return (vf)((vi)a & (vi)b); }
SIMD_INLINE vf vxor(vf a, vf b) { return (vf)((vi)a ^ (vi)b); }
SIMD_INLINE vf vabs(vf a) { return (vf)((vi)a & vi_set1(0x7fffffff)); }
SIMD_INLINE vm vsignm(vf x) { return (vi)x >> 31; }
SIMD_INLINE vm vcmp_gt(vf a, vf b) { return a > b; }
SIMD_INLINE vm vcmp_nge(vf a, vf b) { return ~(a >= b); }
SIMD_INLINE vf vsel(vm m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
SIMD_INLINE vf vmax(vf a, vf b) { return vsel(a > b, a, b); } /* b if NaN */
SIMD_INLINE vm vm_none(void) { return (vi){0, 0, 0, 0}; }
SIMD_INLINE vm vm_or(vm a, vm b) { return a | b; }
/* m: lanes -1 or 0 */
#if defined(__SSE2__)
SIMD_INLINE int vm_any(vm m) { return _mm_movemask_ps((__m128)m) != 0; }
#else
SIMD_INLINE int vm_any(vm m) { return (m[0] | m[1] | m[2] | m[3]) != 0; }
#endif
SIMD_INLINE vm vm_first(int r) { return (vi){0, 1, 2, 3} < vi_set1(r); }
SIMD_INLINE vi vi_of(vf a) { return (vi)a; }
SIMD_INLINE vf vf_of(vi a) { return (vf)a; }
/* integer add, subtract and shift in unsigned arithmetic (no overflow) */
SIMD_INLINE vi vi_add(vi a, vi b) { return (vi)((vu)a + (vu)b); }
SIMD_INLINE vi vi_sub(vi a, vi b) { return (vi)((vu)a - (vu)b); }
SIMD_INLINE vi vi_shl23(vi a) { return (vi)((vu)a << 23); }
SIMD_INLINE vi vi_sra1(vi a) { return a >> 1; }

/* 4 bytes -> 4 floats; ORs the bytes into *bad for the 0/1 check. The
 * bytes are widened by interleaving with zeros (SSE2: movd, punpcklbw,
 * punpcklwd, cvtdq2ps; NEON: zip) rather than gathered one by one. */
typedef uint8_t vb __attribute__((vector_size(16)));
typedef uint16_t vh __attribute__((vector_size(16)));
#if defined(__clang__)
#define VSHUF(a, b, vt, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define VSHUF(a, b, vt, ...) __builtin_shuffle(a, b, (vt){__VA_ARGS__})
#endif
#if defined(__clang__) || __GNUC__ >= 9
#define VCVT_I2F(v) __builtin_convertvector(v, vf)
#else
#define VCVT_I2F(v) ((vf){(float)(v)[0], (float)(v)[1], (float)(v)[2], (float)(v)[3]})
#endif
SIMD_INLINE vf vload_u8(const uint8_t *p, vi *bad) {
    int32_t w;
    memcpy(&w, p, sizeof w);
    vb b = (vb)(vi){w, 0, 0, 0}, bz = {0};
    vh h = (vh)VSHUF(b, bz, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), hz = {0};
    vi v = (vi)VSHUF(h, hz, vh, 0, 8, 1, 9, 2, 10, 3, 11);
    *bad |= v;
    return VCVT_I2F(v);
}
/* The 4 vectors of a step (16 bytes) at once: one load, four unpacks. The
 * bytes are ORed into *bad as they lie (four per lane), hence the test of
 * every byte's bits 1-7 in vbad_any. */
#define SIMD_LOAD_U8_STEP vload_u8_step
SIMD_INLINE void vload_u8_step(const uint8_t *p, vf *y, vi *bad) {
    vb b, bz = {0};
    memcpy(&b, p, sizeof b);
    *bad |= (vi)b;
    vh lo = (vh)VSHUF(b, bz, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    vh hi = (vh)VSHUF(b, bz, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    vh hz = {0};
    y[0] = VCVT_I2F((vi)VSHUF(lo, hz, vh, 0, 8, 1, 9, 2, 10, 3, 11));
    y[1] = VCVT_I2F((vi)VSHUF(lo, hz, vh, 4, 12, 5, 13, 6, 14, 7, 15));
    y[2] = VCVT_I2F((vi)VSHUF(hi, hz, vh, 0, 8, 1, 9, 2, 10, 3, 11));
    y[3] = VCVT_I2F((vi)VSHUF(hi, hz, vh, 4, 12, 5, 13, 6, 14, 7, 15));
}
SIMD_INLINE int vbad_any(vi bad) { return vm_any((bad & vi_set1((int32_t)0xfefefefeu)) != 0); }

typedef struct vacc {
    vd2 a0, a1; /* lanes 0-1, 2-3 */
} vacc;
SIMD_INLINE vacc vacc_zero(void) {
    vacc a = {{0.0, 0.0}, {0.0, 0.0}};
    return a;
}
SIMD_INLINE void vacc_add(vacc *a, vf l) {
    a->a0 += (vd2){l[0], l[1]};
    a->a1 += (vd2){l[2], l[3]};
}
SIMD_INLINE double vacc_total(vacc a) { return (a.a0[0] + a.a0[1]) + (a.a1[0] + a.a1[1]); }

#include "kernels/simd_loss.h"

const segloss_vec_ops *segloss__vec_ops_portable_table(void) { return &simd_ops; }

#include "kernels/simd_softmax.h"

segloss_vec_softmax_fn segloss__vec_softmax_portable(void) { return softmax_simd; }

#include "kernels/simd_softmax_d.h"

segloss_vec_softmax_d_fn segloss__vec_softmax_d_portable(void) { return softmax_d_simd; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_portable(void) { return softplus_d_simd; }

#else /* no generic vectors: the scalar table serves */

const segloss_vec_ops *segloss__vec_ops_portable_table(void) { return NULL; }

segloss_vec_softmax_fn segloss__vec_softmax_portable(void) { return NULL; }
segloss_vec_softmax_d_fn segloss__vec_softmax_d_portable(void) { return NULL; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_portable(void) { return NULL; }

#endif
