/* The primitives of simd_math.h that AVX2 and AVX-512 spell alike, for
 * vec_avx2.c and vec_avx512.c: MM(op) is _mm256_op or _mm512_op (the file
 * defines MM_PREFIX, MM_SI (si256 or si512), vf and vi first). Masks, byte
 * loads and the double accumulators differ and stay in each file. */
#ifndef SEGLOSS_KERNELS_SIMD_X86_H
#define SEGLOSS_KERNELS_SIMD_X86_H

#define MM_PASTE(p, op) p##op
#define MM_JOIN(p, op) MM_PASTE(p, op)
#define MM(op) MM_JOIN(MM_PREFIX, op)

SIMD_INLINE vf vset1(float c) { return MM(set1_ps)(c); }
SIMD_INLINE vf vzero(void) { return MM(setzero_ps)(); }
SIMD_INLINE vf vload(const float *p) { return MM(loadu_ps)(p); }
SIMD_INLINE void vstore(float *p, vf v) { MM(storeu_ps)(p, v); }
SIMD_INLINE vf vadd(vf a, vf b) { return MM(add_ps)(a, b); }
SIMD_INLINE vf vsub(vf a, vf b) { return MM(sub_ps)(a, b); }
SIMD_INLINE vf vmul(vf a, vf b) { return MM(mul_ps)(a, b); }
SIMD_INLINE vf vdiv(vf a, vf b) { return MM(div_ps)(a, b); }
SIMD_INLINE vf vmax(vf a, vf b) { return MM(max_ps)(a, b); } /* b if NaN */
SIMD_INLINE vf vfma(vf a, vf b, vf c) { return MM(fmadd_ps)(a, b, c); }
SIMD_INLINE vf vfnma(vf a, vf b, vf c) { return MM(fnmadd_ps)(a, b, c); }
SIMD_INLINE vf vfms(vf a, vf b, vf c) { return MM(fmsub_ps)(a, b, c); }
SIMD_INLINE vf vfnma_exact(vf a, vf b, vf c) { return MM(fnmadd_ps)(a, b, c); }
SIMD_INLINE vf vor(vf a, vf b) { return MM(or_ps)(a, b); }
SIMD_INLINE vf vand(vf a, vf b) { return MM(and_ps)(a, b); }
SIMD_INLINE vf vxor(vf a, vf b) { return MM(xor_ps)(a, b); }
SIMD_INLINE vf vabs(vf a) { return MM(andnot_ps)(MM(set1_ps)(-0.0f), a); }
SIMD_INLINE vi vi_of(vf a) { return MM(MM_JOIN(castps_, MM_SI))(a); }
SIMD_INLINE vf vf_of(vi a) { return MM(MM_JOIN(MM_JOIN(cast, MM_SI), _ps))(a); }
SIMD_INLINE vi vi_add(vi a, vi b) { return MM(add_epi32)(a, b); }
SIMD_INLINE vi vi_sub(vi a, vi b) { return MM(sub_epi32)(a, b); }
SIMD_INLINE vi vi_set1(int c) { return MM(set1_epi32)(c); }
SIMD_INLINE vi vi_shl23(vi a) { return MM(slli_epi32)(a, 23); }
SIMD_INLINE vi vi_sra1(vi a) { return MM(srai_epi32)(a, 1); }

#endif
