/* AVX2+FMA float32 element kernels ("avx2" table of vec.h): the vector
 * primitives of simd_math.h on __m256 (8 lanes), then the kernels of
 * simd_loss.h.
 *
 * The Makefile compiles this file alone with -mavx2 -mfma on x86 targets;
 * nothing in it runs before dispatch.c has checked the CPU. Without those
 * flags (another architecture, another build) the table is NULL.
 *
 * Sums: two __m256d, A0 = lanes 0-3, A1 = lanes 4-7; at the end S = A0 + A1
 * lane-wise, then (S0 + S1) + (S2 + S3). */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>

#define SIMD_NAME "avx2"
#define VW 8
#define SIMD_INLINE static inline __attribute__((always_inline))
#define SIMD_NOINLINE static

typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vm; /* all-ones / zero lanes; blendv reads the sign bit */

#define MM_PREFIX _mm256_
#define MM_SI si256
#include "kernels/simd_x86.h"

SIMD_INLINE vm vsignm(vf x) { return x; }
SIMD_INLINE vm vcmp_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
SIMD_INLINE vm vcmp_nge(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_NGE_UQ); }
SIMD_INLINE vf vsel(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
SIMD_INLINE vm vm_none(void) { return _mm256_setzero_ps(); }
SIMD_INLINE vm vm_or(vm a, vm b) { return _mm256_or_ps(a, b); }
SIMD_INLINE int vm_any(vm m) { return _mm256_movemask_ps(m) != 0; }
SIMD_INLINE vm vm_first(int r) {
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(r), lane));
}
/* unsigned lane maxima (simd_math.h: the target and exp range checks) */
#define SIMD_MAXU 1
SIMD_INLINE vi vi_maxu(vi a, vi b) { return _mm256_max_epu32(a, b); }
SIMD_INLINE int vi_anyu_gt(vi a, unsigned c) {
    __m256i cv = _mm256_set1_epi32((int)c);
    return _mm256_movemask_epi8(_mm256_cmpeq_epi32(_mm256_max_epu32(a, cv), cv)) != -1;
}

/* 8 bytes -> 8 floats; ORs the bytes into *bad for the 0/1 check. */
SIMD_INLINE vf vload_u8(const uint8_t *p, vi *bad) {
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    *bad = _mm256_or_si256(*bad, v);
    return _mm256_cvtepi32_ps(v);
}
SIMD_INLINE int vbad_any(vi bad) {
    __m256i hi = _mm256_andnot_si256(_mm256_set1_epi32(1), bad);
    return !_mm256_testz_si256(hi, hi);
}

typedef struct vacc {
    __m256d a0, a1;
} vacc;
SIMD_INLINE vacc vacc_zero(void) {
    vacc a = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    return a;
}
SIMD_INLINE void vacc_add(vacc *a, vf l) {
    a->a0 = _mm256_add_pd(a->a0, _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
    a->a1 = _mm256_add_pd(a->a1, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
}
SIMD_INLINE double vacc_total(vacc a) {
    double s[4];
    _mm256_storeu_pd(s, _mm256_add_pd(a.a0, a.a1));
    return (s[0] + s[1]) + (s[2] + s[3]);
}

#include "kernels/simd_loss.h"

const segloss_vec_ops *segloss__vec_ops_avx2_table(void) { return &simd_ops; }

#include "kernels/simd_softmax.h"

segloss_vec_softmax_fn segloss__vec_softmax_avx2(void) { return softmax_simd; }

#include "kernels/simd_softmax_d.h"

segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx2(void) { return softmax_d_simd; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx2(void) { return softplus_d_simd; }

#else /* not compiled with AVX2 and FMA: no table */

const segloss_vec_ops *segloss__vec_ops_avx2_table(void) { return NULL; }

segloss_vec_softmax_fn segloss__vec_softmax_avx2(void) { return NULL; }
segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx2(void) { return NULL; }
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx2(void) { return NULL; }

#endif
