/* The double-precision softmax kernel of vec.h (segloss_vec_softmax_d_fn),
 * included by each vector ISA file after simd_softmax.h; the file returns
 * softmax_d_simd from its segloss__vec_softmax_d_<isa>() getter.
 *
 * Written in GCC/Clang generic vectors of SD_W doubles (4 with AVX: the
 * avx2 and avx512 tables; 2 otherwise: SSE2 on portable, NEON); multiplies and adds are
 * never fused (ISO C mode, the Clang pragma in each ISA file), so every
 * table gives the same bits.
 *
 * exp(t) for t = x - max <= 0 (or NaN): Cody–Waite, n = round(t/ln 2) by
 * the 1.5*2^52 trick, r = t - n ln2 in two parts (fdlibm's split: n*LN2_HI
 * exact), |r| <= 0.347, Taylor polynomial of degree 12 by Estrin's scheme
 * (truncation 1.7e-16 relative), 2^n added to the exponent field; t < -708
 * gives 0 (the exact value is below 2^-1021: nothing next to the 1 of the
 * maximum). Relative error a few 1e-16, against glibc's exp in the tests.
 * log as fdlibm's (below). */
#ifndef SEGLOSS_KERNELS_SIMD_SOFTMAX_D_H
#define SEGLOSS_KERNELS_SIMD_SOFTMAX_D_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX__)
#define SD_W 4 /* doubles per vector */
#else
#define SD_W 2
#endif
typedef double sd_v __attribute__((vector_size(SD_W * 8)));
typedef int64_t sd_i __attribute__((vector_size(SD_W * 8)));

SIMD_INLINE sd_v sd_sel(sd_i m, sd_v a, sd_v b) {
    return (sd_v)(((sd_i)a & m) | ((sd_i)b & ~m));
}

typedef float sd_f __attribute__((vector_size(SD_W * 4)));

SIMD_INLINE sd_v sd_load(const float *p, int64_t r) {
    if (r == SD_W) {
        sd_f f;
        memcpy(&f, p, sizeof f);
        return __builtin_convertvector(f, sd_v);
    }
    double b[SD_W] = {0.0};
    for (int64_t j = 0; j < r; j++) b[j] = p[j];
    sd_v v;
    memcpy(&v, b, sizeof v);
    return v;
}

SIMD_INLINE sd_v sd_set1(double a) { return (sd_v){0.0} + a; }

SIMD_INLINE void sd_store(double *p, sd_v v, int64_t r) {
    if (r == SD_W) memcpy(p, &v, sizeof v);
    else memcpy(p, &v, (size_t)r * sizeof(double));
}

SIMD_INLINE sd_v sd_exp_nonpos(sd_v t) {
    const sd_v lo = sd_set1(-708.0), magic = sd_set1(0x1.8p52);
    sd_i small = t < lo; /* false on NaN: NaN goes through */
    t = sd_sel(small, lo, t);
    sd_v z = t * 0x1.71547652b82fep+0 + magic;
    sd_v nf = z - magic;
    sd_i n = (sd_i)z - (sd_i)magic;
    sd_v r = (t - nf * 6.93147180369123816490e-01) - nf * 1.90821492927058770002e-10;
    sd_v r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    sd_v a0 = 1.0 + r, a1 = 1.0 / 2 + r * (1.0 / 6), a2 = 1.0 / 24 + r * (1.0 / 120);
    sd_v a3 = 1.0 / 720 + r * (1.0 / 5040), a4 = 1.0 / 40320 + r * (1.0 / 362880);
    sd_v a5 = 1.0 / 3628800 + r * (1.0 / 39916800);
    sd_v b0 = a0 + r2 * a1, b1 = a2 + r2 * a3, b2 = a4 + r2 * a5;
    sd_v c0 = b0 + r4 * b1, c1 = b2 + r4 * (1.0 / 479001600);
    sd_v p = c0 + r8 * c1;
    sd_v e = (sd_v)((sd_i)p + (n << 52));
    return sd_sel(small, sd_set1(0.0), e);
}

/* log(s) for s >= 1 (a sum of exps that holds the 1 of the maximum), NaN
 * or +inf passed through: fdlibm's e_log.c (s = 2^k (1 + f), 1 + f in
 * [sqrt(1/2), sqrt 2), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)),
 * s = f/(2 + f), R of degree 7, < 1 ulp). */
SIMD_INLINE sd_v sd_log_ge1(sd_v v) {
    sd_i b = (sd_i)v;
    sd_i k = ((b >> 52) & 0x7ff) - 1023;
    sd_v m = (sd_v)((b & 0xfffffffffffffLL) | 0x3ff0000000000000LL);
    sd_i big = m > 1.4142135623730951;
    m = sd_sel(big, m * 0.5, m);
    k = k + (big & 1);
    sd_v kd = __builtin_convertvector(k, sd_v);
    sd_v f = m - 1.0;
    sd_v hfsq = 0.5 * f * f;
    sd_v sv = f / (2.0 + f), z = sv * sv, w = z * z;
    sd_v t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 +
                                                   w * 1.531383769920937332e-01));
    sd_v t2 = z * (6.666666666666735130e-01 +
                   w * (2.857142874366239149e-01 +
                        w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    sd_v R = t2 + t1;
    sd_v r = kd * 6.93147180369123816490e-01 -
             ((hfsq - (sv * (hfsq + R) + kd * 1.90821492927058770002e-10)) - f);
    return sd_sel(v < __builtin_inf(), r, v);
}

static void softmax_d_simd(double *e, int64_t es, double *sum, double *lse, const float *x,
                           int64_t xs, int64_t c, int64_t n) {
    for (int64_t i = 0; i < n; i += SD_W) {
        int64_t r = n - i < SD_W ? n - i : SD_W;
        const float *x0 = x + i;
        sd_v m = sd_load(x0, r);
        sd_i nan = m != m;
        for (int64_t k = 1; k < c; k++) {
            sd_v v = sd_load(x0 + k * xs, r);
            nan |= v != v;
            m = sd_sel(v > m, v, m);
        }
        m = sd_sel(nan, m - m + __builtin_nan(""), m);
        sd_v s = sd_set1(0.0); /* NaN comes through the exps */
        for (int64_t k = 0; k < c; k++) {
            sd_v v = sd_exp_nonpos(sd_load(x0 + k * xs, r) - m);
            s += v;
            if (e) sd_store(e + k * es + i, v, r);
        }
        sd_store(sum + i, s, r);
        if (lse) sd_store(lse + i, m + sd_log_ge1(s), r);
    }
}

/* e[i] = exp(-|x[i]|), L[i] = log1p(e[i]) = log(u) + (e - (u - 1))/u with
 * u = 1 + e rounded (the correction restores what the rounding lost). */
static void softplus_d_simd(double *e, double *L, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += SD_W) {
        int64_t r = n - i < SD_W ? n - i : SD_W;
        sd_v v = sd_load(x + i, r);
        sd_v t = sd_sel(v > 0.0, -v, v); /* -|x|, NaN kept */
        sd_v ev = sd_exp_nonpos(t), u = 1.0 + ev;
        sd_store(e + i, ev, r);
        sd_store(L + i, sd_log_ge1(u) + (ev - (u - 1.0)) / u, r);
    }
}

#endif
