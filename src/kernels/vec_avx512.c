/* AVX-512 float32 element kernels ("avx512" table of vec.h): the vector
 * primitives of simd_math.h on __m512 (16 lanes) with __mmask16 lane masks,
 * then the kernels of simd_loss.h. Needs AVX-512F, DQ (float bitwise
 * operations, the sign-bit mask), BW and VL (the byte-target loads).
 *
 * The Makefile compiles this file alone with -mavx512f -mavx512bw
 * -mavx512dq -mavx512vl on x86 targets; nothing in it runs before
 * dispatch.c has checked the CPU. Without those flags the table is NULL.
 *
 * Sums: two __m512d, A0 = lanes 0-7, A1 = lanes 8-15; at the end S = A0 +
 * A1 lane-wise, then ((S0 + S1) + (S2 + S3)) + ((S4 + S5) + (S6 + S7)). */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && \
    defined(__AVX512VL__) && defined(__FMA__)

#include <immintrin.h>

#define SIMD_NAME "avx512"
#define VW 16
#define SIMD_INLINE static inline __attribute__((always_inline))
#define SIMD_NOINLINE static

typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vm;

#define MM_PREFIX _mm512_
#define MM_SI si512
#include "kernels/simd_x86.h"

SIMD_INLINE vm vsignm(vf x) { return _mm512_movepi32_mask(_mm512_castps_si512(x)); }
SIMD_INLINE vm vcmp_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
SIMD_INLINE vm vcmp_nge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_NGE_UQ); }
SIMD_INLINE vf vsel(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
SIMD_INLINE vm vm_none(void) { return 0; }
SIMD_INLINE vm vm_or(vm a, vm b) { return (vm)(a | b); }
SIMD_INLINE int vm_any(vm m) { return m != 0; }
SIMD_INLINE vm vm_first(int r) { return (vm)((1u << r) - 1u); } /* r <= 16 */
/* unsigned lane maxima (simd_math.h: the target and exp range checks) */
#define SIMD_MAXU 1
SIMD_INLINE vi vi_maxu(vi a, vi b) { return _mm512_max_epu32(a, b); }
SIMD_INLINE int vi_anyu_gt(vi a, unsigned c) {
    return _mm512_cmpgt_epu32_mask(a, _mm512_set1_epi32((int)c)) != 0;
}
/* x's sign bit set ? s : 1 - s, the subtraction under the lanes' mask */
#define SIMD_SEL_NEG_1M 1
SIMD_INLINE vf vsel_neg_1m(vf x, vf s) {
    __mmask16 pos = _mm512_testn_epi32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
    return _mm512_mask_sub_ps(s, pos, _mm512_set1_ps(1.0f), s);
}

/* 16 bytes -> 16 floats; ORs the bytes into *bad for the 0/1 check. */
SIMD_INLINE vf vload_u8(const uint8_t *p, vi *bad) {
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    *bad = _mm512_or_si512(*bad, v);
    return _mm512_cvtepi32_ps(v);
}
SIMD_INLINE int vbad_any(vi bad) {
    return _mm512_test_epi32_mask(bad, _mm512_set1_epi32(~1)) != 0;
}

typedef struct vacc {
    __m512d a0, a1;
} vacc;
SIMD_INLINE vacc vacc_zero(void) {
    vacc a = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    return a;
}
SIMD_INLINE void vacc_add(vacc *a, vf l) {
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(l), 1));
    a->a0 = _mm512_add_pd(a->a0, _mm512_cvtps_pd(_mm512_castps512_ps256(l)));
    a->a1 = _mm512_add_pd(a->a1, _mm512_cvtps_pd(hi));
}
SIMD_INLINE double vacc_total(vacc a) {
    double s[8];
    _mm512_storeu_pd(s, _mm512_add_pd(a.a0, a.a1));
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#include "kernels/simd_loss.h"

const segloss_vec_ops *segloss__vec_ops_avx512_table(void) { return &simd_ops; }

#include "kernels/simd_softmax.h"

segloss_vec_softmax_fn segloss__vec_softmax_avx512(void) { return softmax_simd; }

#include "kernels/simd_softmax_d.h"

segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx512(void) { return softmax_d_simd; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx512(void) { return softplus_d_simd; }

#else /* not compiled with AVX-512: no table */

const segloss_vec_ops *segloss__vec_ops_avx512_table(void) { return NULL; }

segloss_vec_softmax_fn segloss__vec_softmax_avx512(void) { return NULL; }
segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx512(void) { return NULL; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx512(void) { return NULL; }

#endif
