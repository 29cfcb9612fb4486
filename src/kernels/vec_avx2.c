/* AVX2+FMA float32 element kernels ("avx2" table of vec.h).
 *
 * Every function carries __attribute__((target("avx2,fma"))): the file is
 * compiled with the library's ordinary flags and the code runs only after
 * dispatch.c has checked the CPU.
 *
 * Layout of a block of n elements: steps of VK = 4 vectors (32 elements)
 * whose computations are independent: the dependency chains of exp and log
 * are long (~100 cycles), and the out-of-order window does not reach far
 * enough ahead to overlap one vector with the next: with four in flight
 * the FMA units are kept busy. Then single vectors, then the last n mod 8
 * elements copied into zero-padded 8-lane buffers. Every element goes
 * through the same sequence of operations, so its result does not depend on
 * its position or on the pointers' alignment.
 *
 * Sums: each element loss (float) is added in double to the sum of its lane
 * (index mod 8), in index order: two __m256d, A0 = lanes 0-3, A1 = lanes
 * 4-7; padded tail lanes are masked to +0. At the end S = A0 + A1 lane-wise,
 * then (S0 + S1) + (S2 + S3). The result depends only on n and the data.
 *
 * Separate multiply and add intrinsics are never fused (GCC: ISO C mode
 * means -ffp-contract=off; Clang: the pragma below), so the FMAs are exactly
 * those written, in every kernel alike. */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)

#include <immintrin.h>
#include <string.h>

#define AVX2_FN __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((target("avx2,fma"), always_inline))

#define SET1(c) _mm256_set1_ps(c)

/* exp(r) - 1 - r ~ r^2 (c2 + c3 r + ... + c6 r^4), Estrin's scheme. */
AVX2_INLINE __m256 v_exp_poly(__m256 r) {
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 p56 = _mm256_fmadd_ps(SET1(SEGLOSS__EXP_C6), r, SET1(SEGLOSS__EXP_C5));
    __m256 p34 = _mm256_fmadd_ps(SET1(SEGLOSS__EXP_C4), r, SET1(SEGLOSS__EXP_C3));
    __m256 p = _mm256_fmadd_ps(p56, r2, p34);
    p = _mm256_fmadd_ps(p, r, SET1(SEGLOSS__EXP_C2));
    return _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), SET1(1.0f));
}

/* Cody–Waite: n = round(t log2e) (the 1.5*2^23 trick: the low bits of z are
 * n), r = t - n ln2 in two parts (exact first step). Returns p(r), n in *ni. */
AVX2_INLINE __m256 v_exp_reduce(__m256 t, __m256i *ni) {
    const __m256 magic = SET1(0x1.8p23f);
    __m256 z = _mm256_fmadd_ps(t, SET1(SEGLOSS__LOG2E), magic);
    __m256 nf = _mm256_sub_ps(z, magic);
    *ni = _mm256_sub_epi32(_mm256_castps_si256(z), _mm256_castps_si256(magic));
    __m256 r = _mm256_fnmadd_ps(nf, SET1(SEGLOSS__EXP_LN2_HI), t);
    r = _mm256_fnmadd_ps(nf, SET1(SEGLOSS__EXP_LN2_LO), r);
    return v_exp_poly(r);
}

/* The complete exp(t) for t <= 0 or NaN, any lane: t clamped at -110
 * (max(-110, t) keeps a NaN t: maxps returns its second operand when one is
 * NaN, and a NaN p stays NaN whatever n is), then p * 2^n1 * 2^n2 with
 * n1 = n >> 1, n2 = n - n1, both scales normal: a result in the denormal
 * range is rounded once, and t < -103.98 gives exactly 0. */
static AVX2_FN __m256 v_exp_nonpos_slow(__m256 t) {
    __m256i n;
    __m256 p = v_exp_reduce(_mm256_max_ps(SET1(SEGLOSS__EXP_MIN), t), &n);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256i n1 = _mm256_srai_epi32(n, 1);
    __m256i n2 = _mm256_sub_epi32(n, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

#define VK 4 /* vectors per step */

/* Runs stmt for j = 0 .. k-1, k = 1 or VK (a constant after inlining),
 * unrolled by hand: GCC -O2 does not unroll such loops and then keeps the
 * __m256 arrays they index in memory. */
#define FOR_K(k, stmt)                                                      \
    do {                                                                    \
        { const int j = 0; stmt; }                                          \
        if ((k) > 1) {                                                      \
            { const int j = 1; stmt; }                                      \
            { const int j = 2; stmt; }                                      \
            { const int j = 3; stmt; }                                      \
        }                                                                   \
    } while (0)

/* exp(t) for t = -|x| of k vectors (k = 1 or VK, a constant after
 * inlining). Fast path: n added to the exponent field of p, exact while the
 * result is normal (t >= -86); when a lane is below -86 or NaN (rare), the
 * k vectors are recomputed by the complete version, which gives the same
 * bits in the other lanes (both scalings are exact there). */
AVX2_INLINE void v_exp_nonpos_k(__m256 *e, const __m256 *t, int k) {
    __m256 slow = _mm256_setzero_ps();
    FOR_K(k, {
        __m256i n;
        __m256 p = v_exp_reduce(t[j], &n);
        e[j] = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(n, 23)));
        slow = _mm256_or_ps(slow, _mm256_cmp_ps(t[j], SET1(-86.0f), _CMP_NGE_UQ));
    });
    if (__builtin_expect(_mm256_movemask_ps(slow) != 0, 0)) FOR_K(k, e[j] = v_exp_nonpos_slow(t[j]));
}

/* u = 1 + e rounded, d = u - 1 and c = e - d, what the rounding lost (both
 * exact, Fast2Sum since e <= 1): 1 + e = u + c exactly. */
typedef struct v_onepe {
    __m256 u, d, c;
} v_onepe;

AVX2_INLINE v_onepe v_one_plus(__m256 e) {
    v_onepe o;
    o.u = _mm256_add_ps(SET1(1.0f), e);
    o.d = _mm256_sub_ps(o.u, SET1(1.0f));
    o.c = _mm256_sub_ps(e, o.d);
    return o;
}

/* num/(1+e) = num/(u+c), nearly correctly rounded: q = num/u (true
 * division), the remainder num - q(u+c) (the FMA gives num - q u exactly),
 * and q + remainder/u with 1/u from a quadratic (1% relative error, on a
 * remainder below 2 ulp of q: < 0.02 ulp; deterministic, unlike rcpps). */
AVX2_INLINE __m256 v_div_onepe(__m256 num, v_onepe o) {
    __m256 q = _mm256_div_ps(num, o.u);
    __m256 r = _mm256_fnmadd_ps(q, o.u, num);
    r = _mm256_fnmadd_ps(q, o.c, r);
    __m256 ru = _mm256_fmadd_ps(SET1(SEGLOSS__RCP_C2), o.u, SET1(SEGLOSS__RCP_C1));
    ru = _mm256_fmadd_ps(ru, o.u, SET1(SEGLOSS__RCP_C0));
    return _mm256_fmadd_ps(r, ru, q);
}

/* log1p(e) for e in [0, 1] (or NaN). u = 2^k m, m in (sqrt(1/2), sqrt 2],
 * f = m - 1 (exact), log(m) = f + f^2 q(f) (q by Estrin's scheme), and
 * log(1 + e) = log(u) + log(1 + c/u) ~ log(u) + c/u. Arranged as L = A + B
 * with A exact and B small, so that L is rounded once at the end:
 *   k = 0 (f = u - 1 = e - c):  A = e,      B = f^2 q + (c/u - c)
 *   k = 1:                      A = LN2_HI, B = f^2 q + (f + LN2_LO + c/u)
 * c/u = c (1-f)(1+f^2) 2^-k: relative error f^4 < 3% on a term below
 * 2^-24, and exactly c when u = 1 (e < 2^-24: L = e). */
AVX2_INLINE __m256 v_log1p_e(__m256 e, v_onepe o) {
    const __m256 one = SET1(1.0f);
    __m256 big = _mm256_cmp_ps(o.u, SET1(SEGLOSS__SQRT2), _CMP_GT_OQ);
    /* f = u - 1 or u/2 - 1, both exact */
    __m256 f = _mm256_blendv_ps(o.d, _mm256_fmsub_ps(o.u, SET1(0.5f), one), big);
    __m256 f2 = _mm256_mul_ps(f, f);
    __m256 f4 = _mm256_mul_ps(f2, f2);
    __m256 q23 = _mm256_fmadd_ps(SET1(SEGLOSS__LOG_C3), f, SET1(SEGLOSS__LOG_C2));
    __m256 q45 = _mm256_fmadd_ps(SET1(SEGLOSS__LOG_C5), f, SET1(SEGLOSS__LOG_C4));
    __m256 q67 = _mm256_fmadd_ps(SET1(SEGLOSS__LOG_C7), f, SET1(SEGLOSS__LOG_C6));
    __m256 q89 = _mm256_fmadd_ps(SET1(SEGLOSS__LOG_C9), f, SET1(SEGLOSS__LOG_C8));
    __m256 qhi = _mm256_fmadd_ps(SET1(SEGLOSS__LOG_C10), f2, q89);
    qhi = _mm256_fmadd_ps(qhi, f2, q67);
    __m256 qlo = _mm256_fmadd_ps(q45, f2, q23);
    __m256 q = _mm256_fmadd_ps(qhi, f4, qlo);
    __m256 cm = _mm256_mul_ps(o.c, _mm256_mul_ps(_mm256_sub_ps(one, f), _mm256_add_ps(f2, one)));
    __m256 x0 = _mm256_sub_ps(cm, o.c);
    __m256 x1 = _mm256_add_ps(f, _mm256_fmadd_ps(cm, SET1(0.5f), SET1(SEGLOSS__LN2_LO)));
    __m256 bsm = _mm256_fmadd_ps(f2, q, _mm256_blendv_ps(x0, x1, big));
    return _mm256_add_ps(_mm256_blendv_ps(e, SET1(SEGLOSS__LN2_HI), big), bsm);
}

AVX2_INLINE __m256 v_neg_abs(__m256 x) { return _mm256_or_ps(x, SET1(-0.0f)); }

/* sigmoid(x) = num/(1+e), num = 1 (x >= 0) or e (x < 0): blendv picks on the
 * sign bit, so -0.0 takes e/(1+e) = 1/2 too. */
AVX2_INLINE __m256 v_sigmoid_of(__m256 x, __m256 e) {
    return v_div_onepe(_mm256_blendv_ps(SET1(1.0f), e, x), v_one_plus(e));
}

/* sigmoid. ACCURACY (every float in [-100, 100] against the double
 * reference, see vec.h): max 1.489 ulp at x = -5.54199123 (-0x1.62affcp+2),
 * denormal results (x < -87.3) included. */
static AVX2_FN void sigmoid_avx2(float *out, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 * VK <= n; i += 8 * VK) {
        __m256 xv[VK], t[VK], e[VK];
        FOR_K(VK, xv[j] = _mm256_loadu_ps(x + i + 8 * j); t[j] = v_neg_abs(xv[j]));
        v_exp_nonpos_k(e, t, VK);
        FOR_K(VK, _mm256_storeu_ps(out + i + 8 * j, v_sigmoid_of(xv[j], e[j])));
    }
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i), t = v_neg_abs(xv), e;
        v_exp_nonpos_k(&e, &t, 1);
        _mm256_storeu_ps(out + i, v_sigmoid_of(xv, e));
    }
    if (i < n) {
        float buf[8] = {0};
        size_t r = (size_t)(n - i);
        memcpy(buf, x + i, r * sizeof *buf);
        __m256 xv = _mm256_loadu_ps(buf), t = v_neg_abs(xv), e;
        v_exp_nonpos_k(&e, &t, 1);
        _mm256_storeu_ps(buf, v_sigmoid_of(xv, e));
        memcpy(out + i, buf, r * sizeof *buf);
    }
}

/* ------------------------------------------------------------------------ */
/* BCE with logits                                                           */
/* ------------------------------------------------------------------------ */

/* Inputs of 8 elements: y, and w, pw, s (the upstream factor) when used. */
typedef struct v_in {
    __m256 x, y, w, pw, s;
} v_in;

/* Which inputs a loop instance uses (constants after inlining): plain means
 * w, pw and gvec are all NULL, and the multiplications by 1 are left out
 * (they are exact: the same bits as the general path with unit weights). */
typedef struct v_mode {
    int loss, grad, bytes, plain;
} v_mode;

/* Pointers of one kernel call. */
typedef struct v_args {
    const float *x, *yf, *w, *pw, *gvec;
    const uint8_t *yb;
    float gs;
} v_args;

/* 8 bytes -> 8 floats; ORs the bytes into *bad for the 0/1 check. */
AVX2_INLINE __m256 v_load_u8(const uint8_t *p, __m256i *bad) {
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    *bad = _mm256_or_si256(*bad, v);
    return _mm256_cvtepi32_ps(v);
}

AVX2_INLINE v_in v_load(const v_args *a, int64_t i, v_mode md, __m256i *bad) {
    v_in v;
    v.x = _mm256_loadu_ps(a->x + i);
    v.y = md.bytes ? v_load_u8(a->yb + i, bad) : _mm256_loadu_ps(a->yf + i);
    v.w = v.pw = SET1(1.0f);
    v.s = SET1(a->gs);
    if (!md.plain) {
        if (a->w) v.w = _mm256_loadu_ps(a->w + i);
        if (a->pw) v.pw = _mm256_loadu_ps(a->pw + i);
        if (md.grad && a->gvec) v.s = _mm256_mul_ps(v.s, _mm256_loadu_ps(a->gvec + i));
    }
    return v;
}

/* l = w [(1-y) softplus(x) + pw y softplus(-x)], softplus(+-x) = lg +
 * max(+-x, 0). (max(x, 0) turns a NaN x into 0; lg is NaN then.) */
AVX2_INLINE __m256 v_loss(const v_in *v, __m256 lg, v_mode md) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 spp = _mm256_add_ps(lg, _mm256_max_ps(v->x, zero));
    __m256 spn = _mm256_add_ps(lg, _mm256_max_ps(_mm256_xor_ps(v->x, SET1(-0.0f)), zero));
    __m256 pwy = md.plain ? v->y : _mm256_mul_ps(v->pw, v->y);
    __m256 l = _mm256_fmadd_ps(pwy, spn, _mm256_mul_ps(_mm256_sub_ps(SET1(1.0f), v->y), spp));
    return md.plain ? l : _mm256_mul_ps(l, v->w);
}

/* g = s w [(1-y) N1 - pw y N2] / (1+e), N1, N2 the numerators of sigmoid(x)
 * and sigmoid(-x) (1 or e, by the sign bit of x). */
AVX2_INLINE __m256 v_grad(const v_in *v, __m256 e, v_onepe o, v_mode md) {
    const __m256 one = SET1(1.0f);
    __m256 n1 = _mm256_blendv_ps(one, e, v->x);
    __m256 n2 = _mm256_blendv_ps(e, one, v->x);
    __m256 pwy = md.plain ? v->y : _mm256_mul_ps(v->pw, v->y);
    __m256 num = _mm256_fnmadd_ps(pwy, n2, _mm256_mul_ps(_mm256_sub_ps(one, v->y), n1));
    __m256 g = v_div_onepe(num, o);
    if (!md.plain) g = _mm256_mul_ps(g, v->w);
    return _mm256_mul_ps(g, v->s);
}

/* Adds the 8 float lanes of l to the double lane sums. */
AVX2_INLINE void v_acc(__m256d *a0, __m256d *a1, __m256 l) {
    *a0 = _mm256_add_pd(*a0, _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
    *a1 = _mm256_add_pd(*a1, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
}

/* Loss and/or gradient of k vectors (k = 1 or VK). */
AVX2_INLINE void v_bcel_k(__m256 *l, __m256 *g, const v_in *v, int k, v_mode md) {
    __m256 t[VK], e[VK];
    v_onepe o[VK];
    FOR_K(k, t[j] = v_neg_abs(v[j].x));
    v_exp_nonpos_k(e, t, k);
    FOR_K(k, o[j] = v_one_plus(e[j]));
    if (md.loss) FOR_K(k, l[j] = v_loss(&v[j], v_log1p_e(e[j], o[j]), md));
    if (md.grad) FOR_K(k, g[j] = v_grad(&v[j], e[j], o[j], md));
}

/* The loop of every BCE kernel (see the top of the file for the layout). */
AVX2_INLINE segloss_status bcel_loop(double *sum, float *elems, float *grad, const v_args *a,
                                     int64_t n, v_mode md) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    __m256i bad = _mm256_setzero_si256();
    v_in v[VK];
    __m256 l[VK], g[VK];
    int64_t i = 0;
    for (; i + 8 * VK <= n; i += 8 * VK) {
        FOR_K(VK, v[j] = v_load(a, i + 8 * j, md, &bad));
        v_bcel_k(l, g, v, VK, md);
        if (md.loss) {
            if (elems) FOR_K(VK, _mm256_storeu_ps(elems + i + 8 * j, l[j]));
            FOR_K(VK, v_acc(&a0, &a1, l[j])); /* in index order */
        }
        if (md.grad) FOR_K(VK, _mm256_storeu_ps(grad + i + 8 * j, g[j]));
    }
    for (; i + 8 <= n; i += 8) {
        v[0] = v_load(a, i, md, &bad);
        v_bcel_k(l, g, v, 1, md);
        if (md.loss) {
            if (elems) _mm256_storeu_ps(elems + i, l[0]);
            v_acc(&a0, &a1, l[0]);
        }
        if (md.grad) _mm256_storeu_ps(grad + i, g[0]);
    }
    if (i < n) {
        /* tail: zero-padded copies at index 0, padded lanes masked out */
        size_t r = (size_t)(n - i), fb = r * sizeof(float);
        float bx[8] = {0}, by[8] = {0}, bw[8] = {0}, bpw[8] = {0}, bg[8] = {0};
        uint8_t bb[8] = {0};
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
        v[0] = v_load(&t, 0, md, &bad);
        v_bcel_k(l, g, v, 1, md);
        if (md.loss) {
            __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), lane));
            l[0] = _mm256_and_ps(l[0], keep);
            v_acc(&a0, &a1, l[0]);
            if (elems) {
                _mm256_storeu_ps(bx, l[0]);
                memcpy(elems + i, bx, fb);
            }
        }
        if (md.grad) {
            _mm256_storeu_ps(bx, g[0]);
            memcpy(grad + i, bx, fb);
        }
    }
    if (md.loss) {
        double s[4];
        _mm256_storeu_pd(s, _mm256_add_pd(a0, a1));
        *sum = (s[0] + s[1]) + (s[2] + s[3]);
    }
    if (md.bytes) {
        __m256i hi = _mm256_andnot_si256(_mm256_set1_epi32(1), bad);
        if (!_mm256_testz_si256(hi, hi)) return SEGLOSS_ERR_TARGET;
    }
    return SEGLOSS_OK;
}

/* Runs the loop instance for the call's weights: plain (no w, pw, gvec) or
 * general. */
AVX2_INLINE segloss_status bcel_run(double *sum, float *elems, float *grad, const v_args *a,
                                    int64_t n, int loss, int grad_, int bytes) {
    if (!a->w && !a->pw && !a->gvec) {
        v_mode md = {loss, grad_, bytes, 1};
        return bcel_loop(sum, elems, grad, a, n, md);
    }
    v_mode md = {loss, grad_, bytes, 0};
    return bcel_loop(sum, elems, grad, a, n, md);
}

/* BCE with logits: forward, backward, fused; float or 0/1-byte targets.
 * ACCURACY (every float in [-100, 100], no weights, see vec.h):
 *   loss y = 0 (softplus(x)): max 1.723 ulp at x = -1.26656735 (-0x1.443dc2p+0);
 *   loss y = 1 (softplus(-x)): the same at -x;
 *   grad y = 0 / y = 1: as sigmoid(x) / -sigmoid(-x), max 1.489 ulp. */
static AVX2_FN segloss_status bcel_fwd_avx2(double *sum, float *elems, const float *x,
                                            const float *y, const float *w, const float *pw,
                                            int64_t n) {
    v_args a = {x, y, w, pw, NULL, NULL, 1.0f};
    return bcel_run(sum, elems, NULL, &a, n, 1, 0, 0);
}

static AVX2_FN segloss_status bcel_bwd_avx2(float *grad, const float *x, const float *y,
                                            const float *w, const float *pw, const float *gvec,
                                            double gscale, int64_t n) {
    v_args a = {x, y, w, pw, gvec, NULL, (float)gscale};
    return bcel_run(NULL, NULL, grad, &a, n, 0, 1, 0);
}

static AVX2_FN segloss_status bcel_fused_avx2(double *sum, float *elems, float *grad,
                                              const float *x, const float *y, const float *w,
                                              const float *pw, const float *gvec, double gscale,
                                              int64_t n) {
    v_args a = {x, y, w, pw, gvec, NULL, (float)gscale};
    return bcel_run(sum, elems, grad, &a, n, 1, 1, 0);
}

static AVX2_FN segloss_status bcel_fwd_u8_avx2(double *sum, float *elems, const float *x,
                                               const uint8_t *y, const float *w,
                                               const float *pw, int64_t n) {
    v_args a = {x, NULL, w, pw, NULL, y, 1.0f};
    return bcel_run(sum, elems, NULL, &a, n, 1, 0, 1);
}

static AVX2_FN segloss_status bcel_bwd_u8_avx2(float *grad, const float *x, const uint8_t *y,
                                               const float *w, const float *pw,
                                               const float *gvec, double gscale, int64_t n) {
    v_args a = {x, NULL, w, pw, gvec, y, (float)gscale};
    return bcel_run(NULL, NULL, grad, &a, n, 0, 1, 1);
}

static AVX2_FN segloss_status bcel_fused_u8_avx2(double *sum, float *elems, float *grad,
                                                 const float *x, const uint8_t *y,
                                                 const float *w, const float *pw,
                                                 const float *gvec, double gscale, int64_t n) {
    v_args a = {x, NULL, w, pw, gvec, y, (float)gscale};
    return bcel_run(sum, elems, grad, &a, n, 1, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* Dice + BCE                                                                */
/* ------------------------------------------------------------------------ */

/* 8 targets, bytes (ORed into *bad for the 0/1 check) or floats. */
AVX2_INLINE __m256 v_load_yb(const float *yf, const uint8_t *yb, int64_t i, __m256i *bad) {
    return yb ? v_load_u8(yb + i, bad) : _mm256_loadu_ps(yf + i);
}

/* Pass 1 on k vectors (k = 1 or VK): the small sigmoid s (returned with x's
 * sign bit in sg), the loss terms (loss != 0) and the Dice terms. */
AVX2_INLINE void v_dbce_k(__m256 *l, __m256 *py, __m256 *pp, __m256 *yy, __m256 *sg,
                          const __m256 *x, const __m256 *y, const __m256 *pw, __m256 sq, int k,
                          int loss) {
    const __m256 one = SET1(1.0f), zero = _mm256_setzero_ps(), sign = SET1(-0.0f);
    __m256 t[VK], e[VK];
    v_onepe o[VK];
    FOR_K(k, t[j] = v_neg_abs(x[j]));
    v_exp_nonpos_k(e, t, k);
    FOR_K(k, o[j] = v_one_plus(e[j]));
    FOR_K(k, {
        __m256 s = v_div_onepe(e[j], o[j]);
        __m256 p = _mm256_blendv_ps(_mm256_sub_ps(one, s), s, x[j]);
        sg[j] = _mm256_or_ps(s, _mm256_and_ps(x[j], sign));
        py[j] = _mm256_mul_ps(p, y[j]);
        pp[j] = _mm256_blendv_ps(p, _mm256_mul_ps(p, p), sq);
        yy[j] = _mm256_blendv_ps(y[j], _mm256_mul_ps(y[j], y[j]), sq);
    });
    if (loss)
        FOR_K(k, {
            /* the bcel loss term (v_loss, w = 1) */
            __m256 lg = v_log1p_e(e[j], o[j]);
            __m256 spp = _mm256_add_ps(lg, _mm256_max_ps(x[j], zero));
            __m256 spn = _mm256_add_ps(lg, _mm256_max_ps(_mm256_xor_ps(x[j], sign), zero));
            l[j] = _mm256_fmadd_ps(_mm256_mul_ps(pw[j], y[j]), spn,
                                   _mm256_mul_ps(_mm256_sub_ps(one, y[j]), spp));
        });
}

/* The pass-1 loop; yf or yb and loss are constants after inlining. The
 * loss sum as the bcel loop's: per lane in index order, padded tail lanes
 * masked. The Dice sums: each step's four vectors are first added in float,
 * (v0 + v1) + (v2 + v3), then once into the double lane sums: a quarter of
 * the float-to-double conversions, which limit this loop (0.80 -> 0.65
 * ns/element for the sums alone), for two more roundings per 4 terms of
 * the same sign (nonnegative terms: relative error of the total < 2^-22,
 * typically far less). */
AVX2_INLINE segloss_status dbce_loop(double *sums, float *sig, const float *x, const float *yf,
                                     const uint8_t *yb, const float *pw, int squared, int64_t n,
                                     int loss) {
    __m256d acc[8];
    for (int k = 0; k < 8; k++) acc[k] = _mm256_setzero_pd();
    const __m256 sq = _mm256_castsi256_ps(_mm256_set1_epi32(squared ? -1 : 0));
    __m256i bad = _mm256_setzero_si256();
    __m256 xv[VK], yv[VK], pwv[VK], l[VK], py[VK], pp[VK], yy[VK], sg[VK];
    int64_t i = 0;
    for (; i + 8 * VK <= n; i += 8 * VK) {
        FOR_K(VK, {
            xv[j] = _mm256_loadu_ps(x + i + 8 * j);
            yv[j] = v_load_yb(yf, yb, i + 8 * j, &bad);
            pwv[j] = pw ? _mm256_loadu_ps(pw + i + 8 * j) : SET1(1.0f);
        });
        v_dbce_k(l, py, pp, yy, sg, xv, yv, pwv, sq, VK, loss);
        if (loss) FOR_K(VK, v_acc(&acc[0], &acc[1], l[j]));
        v_acc(&acc[2], &acc[3], _mm256_add_ps(_mm256_add_ps(py[0], py[1]), _mm256_add_ps(py[2], py[3])));
        v_acc(&acc[4], &acc[5], _mm256_add_ps(_mm256_add_ps(pp[0], pp[1]), _mm256_add_ps(pp[2], pp[3])));
        v_acc(&acc[6], &acc[7], _mm256_add_ps(_mm256_add_ps(yy[0], yy[1]), _mm256_add_ps(yy[2], yy[3])));
        if (sig) FOR_K(VK, _mm256_storeu_ps(sig + i + 8 * j, sg[j]));
    }
    for (; i < n; i += 8) {
        /* single vectors, the last one zero-padded at index 0 */
        size_t r = (size_t)(n - i < 8 ? n - i : 8), fb = r * sizeof(float);
        float bx[8] = {0}, by[8] = {0}, bpw[8] = {0};
        uint8_t bb[8] = {0};
        memcpy(bx, x + i, fb);
        if (yb) memcpy(bb, yb + i, r);
        else memcpy(by, yf + i, fb);
        if (pw) memcpy(bpw, pw + i, fb);
        xv[0] = _mm256_loadu_ps(bx);
        yv[0] = v_load_yb(by, yb ? bb : NULL, 0, &bad);
        pwv[0] = pw ? _mm256_loadu_ps(bpw) : SET1(1.0f);
        v_dbce_k(l, py, pp, yy, sg, xv, yv, pwv, sq, 1, loss);
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), lane));
        if (loss) v_acc(&acc[0], &acc[1], _mm256_and_ps(l[0], keep));
        v_acc(&acc[2], &acc[3], _mm256_and_ps(py[0], keep));
        v_acc(&acc[4], &acc[5], _mm256_and_ps(pp[0], keep));
        v_acc(&acc[6], &acc[7], _mm256_and_ps(yy[0], keep));
        if (sig) {
            _mm256_storeu_ps(bx, sg[0]);
            memcpy(sig + i, bx, fb);
        }
    }
    for (int k = loss ? 0 : 1; k < 4; k++) {
        double s4[4];
        _mm256_storeu_pd(s4, _mm256_add_pd(acc[2 * k], acc[2 * k + 1]));
        sums[k] = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    }
    __m256i hi = _mm256_andnot_si256(_mm256_set1_epi32(1), bad);
    return _mm256_testz_si256(hi, hi) ? SEGLOSS_OK : SEGLOSS_ERR_TARGET;
}

/* Dice + BCE pass 1. ACCURACY: see vec.h. */
static AVX2_FN segloss_status dbce_avx2(double *sums, float *sig, const float *x,
                                        const float *y, const float *pw, int64_t n,
                                        unsigned flags) {
    int sq = (flags & SEGLOSS_DBCE_SQUARED) != 0;
    if (flags & SEGLOSS_DBCE_LOSS) return dbce_loop(sums, sig, x, y, NULL, pw, sq, n, 1);
    return dbce_loop(sums, sig, x, y, NULL, pw, sq, n, 0);
}

static AVX2_FN segloss_status dbce_u8_avx2(double *sums, float *sig, const float *x,
                                           const uint8_t *y, const float *pw, int64_t n,
                                           unsigned flags) {
    int sq = (flags & SEGLOSS_DBCE_SQUARED) != 0;
    if (flags & SEGLOSS_DBCE_LOSS) return dbce_loop(sums, sig, x, NULL, y, pw, sq, n, 1);
    return dbce_loop(sums, sig, x, NULL, y, pw, sq, n, 0);
}

/* Pass 2 of one vector: v = the signed small sigmoid, y, pw. */
AVX2_INLINE __m256 v_dice_g(__m256 v, __m256 y, __m256 pw, __m256 gb, __m256 a, __m256 d,
                            __m256 sq, int bce) {
    const __m256 one = SET1(1.0f);
    __m256 s = _mm256_andnot_ps(SET1(-0.0f), v), b = _mm256_sub_ps(one, s);
    __m256 sx = _mm256_blendv_ps(b, s, v);   /* sigmoid(x) */
    __m256 dp = _mm256_blendv_ps(one, _mm256_add_ps(sx, sx), sq);
    __m256 t = _mm256_fmadd_ps(a, y, _mm256_mul_ps(d, dp));
    __m256 g = _mm256_mul_ps(t, _mm256_mul_ps(s, b));
    if (bce) {
        __m256 snx = _mm256_blendv_ps(s, b, v); /* sigmoid(-x) */
        __m256 bt = _mm256_fnmadd_ps(_mm256_mul_ps(pw, y), snx,
                                     _mm256_mul_ps(_mm256_sub_ps(one, y), sx));
        g = _mm256_fmadd_ps(gb, bt, g);
    }
    return g;
}

AVX2_INLINE void dice_grad_loop(float *g, const float *yf, const uint8_t *yb, const float *pw,
                                float gb, float a, float d, int squared, int64_t n, int bce) {
    const __m256 gbv = SET1(gb), av = SET1(a), dv = SET1(d);
    const __m256 sq = _mm256_castsi256_ps(_mm256_set1_epi32(squared ? -1 : 0));
    __m256i bad = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pwv = pw ? _mm256_loadu_ps(pw + i) : SET1(1.0f);
        _mm256_storeu_ps(g + i, v_dice_g(_mm256_loadu_ps(g + i), v_load_yb(yf, yb, i, &bad), pwv,
                                         gbv, av, dv, sq, bce));
    }
    if (i < n) {
        size_t r = (size_t)(n - i), fb = r * sizeof(float);
        float bg[8] = {0}, by[8] = {0}, bpw[8] = {0};
        uint8_t bb[8] = {0};
        memcpy(bg, g + i, fb);
        if (yb) memcpy(bb, yb + i, r);
        else memcpy(by, yf + i, fb);
        if (pw) memcpy(bpw, pw + i, fb);
        __m256 pwv = pw ? _mm256_loadu_ps(bpw) : SET1(1.0f);
        _mm256_storeu_ps(bg, v_dice_g(_mm256_loadu_ps(bg), v_load_yb(by, yb ? bb : NULL, 0, &bad),
                                      pwv, gbv, av, dv, sq, bce));
        memcpy(g + i, bg, fb);
    }
}

static AVX2_FN void dice_grad_avx2(float *g, const float *y, const float *pw, float gb, float a,
                                   float d, int squared, int64_t n) {
    if (gb != 0.0f) dice_grad_loop(g, y, NULL, pw, gb, a, d, squared, n, 1);
    else dice_grad_loop(g, y, NULL, pw, gb, a, d, squared, n, 0);
}

static AVX2_FN void dice_grad_u8_avx2(float *g, const uint8_t *y, const float *pw, float gb,
                                      float a, float d, int squared, int64_t n) {
    if (gb != 0.0f) dice_grad_loop(g, NULL, y, pw, gb, a, d, squared, n, 1);
    else dice_grad_loop(g, NULL, y, pw, gb, a, d, squared, n, 0);
}

static const segloss_vec_ops avx2_ops = {
    "avx2",           8,
    sigmoid_avx2,     bcel_fwd_avx2,    bcel_bwd_avx2,     bcel_fused_avx2,
    bcel_fwd_u8_avx2, bcel_bwd_u8_avx2, bcel_fused_u8_avx2,
    dbce_avx2,        dbce_u8_avx2,     dice_grad_avx2,    dice_grad_u8_avx2,
};

const segloss_vec_ops *segloss__vec_ops_avx2_table(void) { return &avx2_ops; }

#else /* not x86 or not GCC/Clang: no AVX2 table */

const segloss_vec_ops *segloss__vec_ops_avx2_table(void) { return NULL; }

#endif
