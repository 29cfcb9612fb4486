/* Portable float32 element kernels ("portable" table of vec.h): the vector
 * primitives of simd_math.h as GCC/Clang generic vectors of 4 floats, which
 * the compiler maps to the target's baseline SIMD (SSE2 on x86-64, which
 * every x86-64 CPU has; NEON, AltiVec, ...) or to scalar code. The table
 * used when the CPU has none of the ISA-specific paths; built with the
 * library's ordinary flags.
 *
 * There is no FMA: vfma(a, b, c) is a*b + c with two roundings (ISO C mode
 * does not contract them; the pragma tells Clang), as in vec_scalar.c, and
 * the one step that needs the exact product, the remainder of a division,
 * is done in double (a*b exact there, the remainder exact in float).
 *
 * Sums: 4 double lanes, (S0 + S1) + (S2 + S3) at the end. */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__)

#include <string.h>

#define SIMD_NAME "portable"
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
SIMD_INLINE vf vdiv(vf a, vf b) { return a / b; }
SIMD_INLINE vf vfma(vf a, vf b, vf c) { return a * b + c; }
SIMD_INLINE vf vfnma(vf a, vf b, vf c) { return c - a * b; }
SIMD_INLINE vf vfms(vf a, vf b, vf c) { return a * b - c; }
SIMD_INLINE vf vfnma_exact(vf a, vf b, vf c) {
    vd2 lo = (vd2){c[0], c[1]} - (vd2){a[0], a[1]} * (vd2){b[0], b[1]};
    vd2 hi = (vd2){c[2], c[3]} - (vd2){a[2], a[3]} * (vd2){b[2], b[3]};
    return (vf){(float)lo[0], (float)lo[1], (float)hi[0], (float)hi[1]};
}
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
SIMD_INLINE int vm_any(vm m) { return (m[0] | m[1] | m[2] | m[3]) != 0; }
SIMD_INLINE vm vm_bool(int flag) { return vm_none() - (flag != 0); }
SIMD_INLINE vm vm_first(int r) { return (vi){0, 1, 2, 3} < vi_set1(r); }
SIMD_INLINE vi vi_of(vf a) { return (vi)a; }
SIMD_INLINE vf vf_of(vi a) { return (vf)a; }
/* integer add, subtract and shift in unsigned arithmetic (no overflow) */
SIMD_INLINE vi vi_add(vi a, vi b) { return (vi)((vu)a + (vu)b); }
SIMD_INLINE vi vi_sub(vi a, vi b) { return (vi)((vu)a - (vu)b); }
SIMD_INLINE vi vi_shl23(vi a) { return (vi)((vu)a << 23); }
SIMD_INLINE vi vi_sra1(vi a) { return a >> 1; }

/* 4 bytes -> 4 floats; ORs the bytes into *bad for the 0/1 check. */
SIMD_INLINE vf vload_u8(const uint8_t *p, vi *bad) {
    vi v = {p[0], p[1], p[2], p[3]};
    *bad |= v;
    return (vf){(float)v[0], (float)v[1], (float)v[2], (float)v[3]};
}
SIMD_INLINE int vbad_any(vi bad) { return vm_any(bad & vi_set1(~1)); }

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
