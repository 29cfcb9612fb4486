/* Portable float32 element kernels ("scalar" table of vec.h).
 *
 * The same algorithm as vec_avx2.c in plain C11 float arithmetic: a*b + c,
 * never fused (GCC does not contract in ISO C mode, the pragma below tells
 * Clang), so the results do not depend on -m flags or on the target's FMA.
 * The one step that needs more than float without an FMA, the exact
 * remainder of a division, is done in double. Elements go 4 at a time,
 * stage by stage (exp of 4, then log of 4, ...), for the out-of-order core;
 * data-dependent choices are bit masks, not branches. See vec.h for the
 * formulas, special values and the sum order (one running double sum, in
 * index order). */
#include "kernels/vec.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <math.h>
#include <string.h>

/* The loop below is instantiated once per kernel with constant flags. */
#if defined(__GNUC__)
#define SCALAR_INLINE static inline __attribute__((always_inline))
#else
#define SCALAR_INLINE static inline
#endif

/* mask ? a : b, mask all ones or zero, without a branch: the conditions
 * below (sign of x, |x| < 0.88) are data-dependent and would mispredict. */
static inline float sel(uint32_t mask, float a, float b) {
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & mask) | (ub & ~mask);
    memcpy(&a, &ua, sizeof a);
    return a;
}

/* All ones when the sign bit of x is set (x < 0, -0.0, negative NaN). */
static inline uint32_t sign_mask(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return 0u - (u >> 31);
}

/* 2 when a float target lies outside [0, 1] (NaN included), else 0: ORed
 * into the kernels' `bad` with the bytes of a byte target, whose check is
 * bad & ~1. */
static inline unsigned unit_bad(float y) { return (y >= 0.0f && y <= 1.0f) ? 0u : 2u; }

/* exp(t) for t <= 0 (t = -|x|); NaN -> NaN, -inf -> 0. The scale 2^n is
 * applied as 2^n1 * 2^n2 (both normal), so a result in the denormal range
 * is rounded once, from p*2^n1, and results below 2^-150 are exactly 0. */
static inline float exp_nonpos(float t) {
    float tn = t >= SEGLOSS__EXP_MIN ? t : SEGLOSS__EXP_MIN; /* NaN -> -110 */
    t = t < SEGLOSS__EXP_MIN ? SEGLOSS__EXP_MIN : t;          /* NaN stays */
    /* n = round(t*log2e) (half away from zero; t*log2e <= 0) */
    int32_t n = (int32_t)(tn * SEGLOSS__LOG2E - 0.5f);
    float nf = (float)n;
    float r = t - nf * SEGLOSS__EXP_LN2_HI; /* exact */
    r = r - nf * SEGLOSS__EXP_LN2_LO;
    /* exp(r) ~ 1 + r + r^2 (c2 + c3 r + ... + c6 r^4), Estrin's scheme */
    float r2 = r * r;
    float p56 = SEGLOSS__EXP_C6 * r + SEGLOSS__EXP_C5;
    float p34 = SEGLOSS__EXP_C4 * r + SEGLOSS__EXP_C3;
    float p = (p56 * r2 + p34) * r + SEGLOSS__EXP_C2;
    p = (p * r2 + r) + 1.0f;
    int32_t n1 = n / 2, n2 = n - n1; /* n in [-159, 0]: both in [-80, 0] */
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return (p * s1) * s2;
}

/* u = 1 + e rounded, d = u - 1 and c = e - d, what the rounding lost (both
 * exact): 1 + e = u + c exactly. */
typedef struct onepe {
    float u, d, c;
} onepe;

static inline onepe one_plus(float e) {
    onepe o;
    o.u = 1.0f + e;
    o.d = o.u - 1.0f;
    o.c = e - o.d;
    return o;
}

/* num/(1+e) = num/(u+c) nearly correctly rounded (see vec_avx2.c): q =
 * num/u, remainder num - q(u+c) (in double, where q u is exact: the one
 * step that needs more than float without an FMA), q + remainder/u. */
static inline float div_onepe(float num, onepe o) {
    float q = num / o.u;
    float r = (float)(((double)num - (double)q * o.u) - (double)q * o.c);
    float ru = (SEGLOSS__RCP_C2 * o.u + SEGLOSS__RCP_C1) * o.u + SEGLOSS__RCP_C0;
    return q + r * ru;
}

/* log1p(e) for e in [0, 1] (or NaN) as A + B, A exact (see vec_avx2.c). */
static inline float log1p_e(float e, onepe o) {
    uint32_t big = 0u - (uint32_t)(o.u > SEGLOSS__SQRT2);
    float f = sel(big, o.u * 0.5f - 1.0f, o.d); /* u/2 - 1 or u - 1, exact */
    float f2 = f * f;
    float f4 = f2 * f2;
    /* q(f) = c2 + c3 f + ... + c10 f^8, Estrin's scheme */
    float q23 = SEGLOSS__LOG_C3 * f + SEGLOSS__LOG_C2;
    float q45 = SEGLOSS__LOG_C5 * f + SEGLOSS__LOG_C4;
    float q67 = SEGLOSS__LOG_C7 * f + SEGLOSS__LOG_C6;
    float q89 = SEGLOSS__LOG_C9 * f + SEGLOSS__LOG_C8;
    float qhi = (SEGLOSS__LOG_C10 * f2 + q89) * f2 + q67;
    float q = qhi * f4 + (q45 * f2 + q23);
    float cm = o.c * ((1.0f - f) * (f2 + 1.0f)); /* c/m */
    float b = f2 * q + sel(big, f + (cm * 0.5f + SEGLOSS__LN2_LO), cm - o.c);
    return sel(big, SEGLOSS__LN2_HI, e) + b;
}

/* sigmoid. ACCURACY (every float in [-100, 100] against the double
 * reference, see vec.h): max 1.489 ulp at x = -5.54199123 (-0x1.62affcp+2),
 * denormal results (x < -87.3) included. */
static void sigmoid_scalar(float *out, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float xs[4], e[4], o[4];
        for (int k = 0; k < 4; k++) xs[k] = x[i + k];
        for (int k = 0; k < 4; k++) e[k] = exp_nonpos(-fabsf(xs[k]));
        for (int k = 0; k < 4; k++) o[k] = div_onepe(sel(sign_mask(xs[k]), e[k], 1.0f), one_plus(e[k]));
        for (int k = 0; k < 4; k++) out[i + k] = o[k];
    }
    for (; i < n; i++) {
        float xi = x[i];
        float e = exp_nonpos(-fabsf(xi));
        out[i] = div_onepe(sel(sign_mask(xi), e, 1.0f), one_plus(e));
    }
}

/* BCE with logits, k elements (1 or SK) at a time, stage by stage: the
 * chains of exp and log are long, and interleaving independent elements
 * lets the out-of-order core overlap them. */
#define SK 4

SCALAR_INLINE void bcel_k(float *l, float *g, const float *x, const float *y, const float *w,
                          const float *pw, const float *s, int k, int want_loss, int want_grad) {
    float e[SK];
    onepe o[SK];
    for (int j = 0; j < k; j++) e[j] = exp_nonpos(-fabsf(x[j]));
    for (int j = 0; j < k; j++) o[j] = one_plus(e[j]);
    if (want_loss) {
        for (int j = 0; j < k; j++) {
            float lg = log1p_e(e[j], o[j]);
            float spp = lg + (x[j] > 0.0f ? x[j] : 0.0f);  /* softplus(x) */
            float spn = lg + (x[j] < 0.0f ? -x[j] : 0.0f); /* softplus(-x) */
            l[j] = ((1.0f - y[j]) * spp + pw[j] * y[j] * spn) * w[j];
        }
    }
    if (want_grad) {
        for (int j = 0; j < k; j++) {
            uint32_t neg = sign_mask(x[j]);
            float n1 = sel(neg, e[j], 1.0f), n2 = sel(neg, 1.0f, e[j]);
            g[j] = (div_onepe((1.0f - y[j]) * n1 - pw[j] * y[j] * n2, o[j]) * w[j]) * s[j];
        }
    }
}

/* The common loop of the BCE kernels; y is yf (float) or yb (bytes). */
SCALAR_INLINE segloss_status bcel_loop(double *sum, float *elems, float *grad, const float *x,
                                       const float *yf, const uint8_t *yb, const float *w,
                                       const float *pw, const float *gvec, double gscale,
                                       int64_t n, int want_loss, int want_grad) {
    double acc = 0.0;
    unsigned bad = 0;
    float gs = (float)gscale;
    for (int64_t i = 0; i < n;) {
        int k = n - i >= SK ? SK : 1;
        float xs[SK], ys[SK], ws[SK], pws[SK], ss[SK], l[SK], g[SK];
        for (int j = 0; j < k; j++) {
            xs[j] = x[i + j];
            if (yb) {
                bad |= yb[i + j];
                ys[j] = (float)yb[i + j];
            } else {
                ys[j] = yf[i + j];
                bad |= unit_bad(ys[j]);
            }
            ws[j] = w ? w[i + j] : 1.0f;
            pws[j] = pw ? pw[i + j] : 1.0f;
            ss[j] = gvec ? gs * gvec[i + j] : gs;
        }
        bcel_k(l, g, xs, ys, ws, pws, ss, k, want_loss, want_grad);
        for (int j = 0; j < k; j++) {
            if (want_loss) {
                if (elems) elems[i + j] = l[j];
                acc += (double)l[j];
            }
            if (want_grad) grad[i + j] = g[j];
        }
        i += k;
    }
    if (want_loss) *sum = acc;
    return (bad & ~1u) ? SEGLOSS_ERR_TARGET : SEGLOSS_OK;
}

/* BCE with logits: forward, backward, fused; float or 0/1-byte targets.
 * ACCURACY (every float in [-100, 100], no weights, see vec.h):
 *   loss y = 0 (softplus(x)): max 1.800 ulp at x = -1.28737533 (-0x1.49916ep+0);
 *   loss y = 1 (softplus(-x)): the same at -x;
 *   grad y = 0 / y = 1: as sigmoid(x) / -sigmoid(-x), max 1.489 ulp. */
static segloss_status bcel_fwd_scalar(double *sum, float *elems, const float *x,
                                      const float *y, const float *w, const float *pw,
                                      int64_t n) {
    return bcel_loop(sum, elems, NULL, x, y, NULL, w, pw, NULL, 1.0, n, 1, 0);
}

static segloss_status bcel_bwd_scalar(float *grad, const float *x, const float *y,
                                      const float *w, const float *pw, const float *gvec,
                                      double gscale, int64_t n) {
    return bcel_loop(NULL, NULL, grad, x, y, NULL, w, pw, gvec, gscale, n, 0, 1);
}

static segloss_status bcel_fused_scalar(double *sum, float *elems, float *grad, const float *x,
                                        const float *y, const float *w, const float *pw,
                                        const float *gvec, double gscale, int64_t n) {
    return bcel_loop(sum, elems, grad, x, y, NULL, w, pw, gvec, gscale, n, 1, 1);
}

static segloss_status bcel_fwd_u8_scalar(double *sum, float *elems, const float *x,
                                         const uint8_t *y, const float *w, const float *pw,
                                         int64_t n) {
    return bcel_loop(sum, elems, NULL, x, NULL, y, w, pw, NULL, 1.0, n, 1, 0);
}

static segloss_status bcel_bwd_u8_scalar(float *grad, const float *x, const uint8_t *y,
                                         const float *w, const float *pw, const float *gvec,
                                         double gscale, int64_t n) {
    return bcel_loop(NULL, NULL, grad, x, NULL, y, w, pw, gvec, gscale, n, 0, 1);
}

static segloss_status bcel_fused_u8_scalar(double *sum, float *elems, float *grad,
                                           const float *x, const uint8_t *y, const float *w,
                                           const float *pw, const float *gvec, double gscale,
                                           int64_t n) {
    return bcel_loop(sum, elems, grad, x, NULL, y, w, pw, gvec, gscale, n, 1, 1);
}

/* Dice + BCE pass 1 (see vec.h), SK elements at a time, stage by stage;
 * four running double sums in index order. */
SCALAR_INLINE segloss_status dbce_loop(double *sums, float *sig, const float *x, const float *yf,
                                       const uint8_t *yb, const float *pw, int squared,
                                       int64_t n, int loss, int ysign) {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    unsigned bad = 0;
    int binary = 1;
    for (int64_t i = 0; i < n;) {
        int k = n - i >= SK ? SK : 1;
        float xs[SK], ys[SK], e[SK], sm[SK];
        onepe o[SK];
        for (int j = 0; j < k; j++) {
            xs[j] = x[i + j];
            if (yb) {
                bad |= yb[i + j];
                ys[j] = (float)yb[i + j];
            } else {
                ys[j] = yf[i + j];
                bad |= unit_bad(ys[j]);
            }
        }
        for (int j = 0; j < k; j++) e[j] = exp_nonpos(-fabsf(xs[j]));
        for (int j = 0; j < k; j++) o[j] = one_plus(e[j]);
        for (int j = 0; j < k; j++) sm[j] = div_onepe(e[j], o[j]);
        if (loss) {
            for (int j = 0; j < k; j++) {
                float lg = log1p_e(e[j], o[j]);
                float spp = lg + (xs[j] > 0.0f ? xs[j] : 0.0f);
                float spn = lg + (xs[j] < 0.0f ? -xs[j] : 0.0f);
                float pwj = pw ? pw[i + j] : 1.0f;
                acc[0] += (double)((1.0f - ys[j]) * spp + pwj * ys[j] * spn);
            }
        }
        for (int j = 0; j < k; j++) {
            uint32_t neg = sign_mask(xs[j]);
            float p = sel(neg, sm[j], 1.0f - sm[j]);
            acc[1] += (double)(p * ys[j]);
            acc[2] += (double)(squared ? p * p : p);
            acc[3] += (double)(squared ? ys[j] * ys[j] : ys[j]);
            if (ysign) {
                /* the sign of 0.5 - y; y*y == y only for y = +0 and 1 */
                if (!(ys[j] * ys[j] == ys[j] && !signbit(ys[j]))) binary = 0;
                if (sig) sig[i + j] = 0.5f - ys[j] < 0.0f ? -sm[j] : sm[j];
            } else if (sig) {
                sig[i + j] = sel(neg, -sm[j], sm[j]);
            }
        }
        i += k;
    }
    for (int q = loss ? 0 : 1; q < 4; q++) sums[q] = acc[q];
    if (ysign) sums[0] = binary ? 1.0 : 0.0;
    return (bad & ~1u) ? SEGLOSS_ERR_TARGET : SEGLOSS_OK;
}

static segloss_status dbce_scalar(double *sums, float *sig, const float *x, const float *y,
                                  const float *pw, int64_t n, unsigned flags) {
    int sq = (flags & SEGLOSS_DBCE_SQUARED) != 0;
    if (flags & SEGLOSS_DBCE_YSIGN) return dbce_loop(sums, sig, x, y, NULL, NULL, 0, n, 0, 1);
    if (flags & SEGLOSS_DBCE_LOSS) return dbce_loop(sums, sig, x, y, NULL, pw, sq, n, 1, 0);
    return dbce_loop(sums, sig, x, y, NULL, pw, sq, n, 0, 0);
}

static segloss_status dbce_u8_scalar(double *sums, float *sig, const float *x,
                                     const uint8_t *y, const float *pw, int64_t n,
                                     unsigned flags) {
    int sq = (flags & SEGLOSS_DBCE_SQUARED) != 0;
    if (flags & SEGLOSS_DBCE_YSIGN) return dbce_loop(sums, sig, x, NULL, y, NULL, 0, n, 0, 1);
    if (flags & SEGLOSS_DBCE_LOSS) return dbce_loop(sums, sig, x, NULL, y, pw, sq, n, 1, 0);
    return dbce_loop(sums, sig, x, NULL, y, pw, sq, n, 0, 0);
}

/* Dice + BCE pass 2 (see vec.h): arithmetic only, one element at a time. */
SCALAR_INLINE void dice_grad_loop(float *g, const float *yf, const uint8_t *yb, const float *pw,
                                  float gb, float a, float d, int squared, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = g[i], y = yb ? (float)yb[i] : yf[i];
        uint32_t neg = sign_mask(v);
        float s = fabsf(v), b = 1.0f - s;
        float sx = sel(neg, s, b), snx = sel(neg, b, s);
        float dp = squared ? sx + sx : 1.0f;
        float r = (a * y + d * dp) * (s * b);
        if (gb != 0.0f) {
            float pwi = pw ? pw[i] : 1.0f;
            r = r + gb * ((1.0f - y) * sx - pwi * y * snx);
        }
        g[i] = r;
    }
}

static void dice_grad_scalar(float *g, const float *y, const float *pw, float gb, float a,
                             float d, int squared, int64_t n) {
    dice_grad_loop(g, y, NULL, pw, gb, a, d, squared, n);
}

static void dice_grad_u8_scalar(float *g, const uint8_t *y, const float *pw, float gb, float a,
                                float d, int squared, int64_t n) {
    dice_grad_loop(g, NULL, y, pw, gb, a, d, squared, n);
}

/* Pass 2 after SEGLOSS_DBCE_YSIGN (vec.h): y from the sign bit. */
static void dice_grad_ys_scalar(float *g, float a, float d, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float y = signbit(g[i]) ? 1.0f : 0.0f;
        dice_grad_loop(g + i, &y, NULL, NULL, 0.0f, a, d, 0, 1);
    }
}

static const segloss_vec_ops scalar_ops = {
    "scalar",           1,
    sigmoid_scalar,     bcel_fwd_scalar,    bcel_bwd_scalar,     bcel_fused_scalar,
    bcel_fwd_u8_scalar, bcel_bwd_u8_scalar, bcel_fused_u8_scalar,
    dbce_scalar,        dbce_u8_scalar,     dice_grad_scalar,    dice_grad_u8_scalar,
    dice_grad_ys_scalar,
};

const segloss_vec_ops *segloss__vec_ops_scalar(void) { return &scalar_ops; }

/* Softmax (vec.h): the algorithm of simd_softmax.h one position at a time,
 * exp in float by libm's expf. */
static void softmax_scalar(float *p, int64_t ps, float *mx, float *sp, const float *x,
                           int64_t xs, int64_t c, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float m = x[i];
        int nan = isnan(m);
        for (int64_t k = 1; k < c; k++) {
            float v = x[k * xs + i];
            nan |= isnan(v);
            if (v > m) m = v;
        }
        if (nan) m = NAN;
        float t = 0.0f, cnt = 0.0f;
        for (int64_t k = 0; k < c; k++) {
            float v = x[k * xs + i], e = expf(v - m);
            if (m > v) t += e;
            else cnt += 1.0f;
            if (p) p[k * ps + i] = e;
        }
        if (p) {
            float q = 1.0f / (cnt + t);
            for (int64_t k = 0; k < c; k++) p[k * ps + i] *= q;
        }
        mx[i] = m;
        sp[i] = (t + (cnt - 1.0f)) + 0.0f * m;
    }
}

segloss_vec_softmax_fn segloss__vec_softmax_scalar(void) { return softmax_scalar; }

/* Softmax in double (vec.h): libm's exp and log, the reference. */
static void softmax_d_scalar(double *e, int64_t es, double *sum, double *lse, const float *x,
                             int64_t xs, int64_t c, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double m = x[i];
        for (int64_t k = 1; k < c; k++) {
            double v = x[k * xs + i];
            if (v > m || isnan(v)) m = v;
        }
        double s = 0.0;
        for (int64_t k = 0; k < c; k++) {
            double v = exp((double)x[k * xs + i] - m);
            s += v;
            if (e) e[k * es + i] = v;
        }
        sum[i] = s;
        if (lse) lse[i] = m + log(s);
    }
}

segloss_vec_softmax_d_fn segloss__vec_softmax_d_scalar(void) { return softmax_d_scalar; }

/* exp(-|x|) and its log1p (vec.h): libm's, the reference. */
static void softplus_d_scalar(double *e, double *L, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        e[i] = exp(-fabs((double)x[i]));
        L[i] = log1p(e[i]);
    }
}

segloss_vec_softplus_d_fn segloss__vec_softplus_d_scalar(void) { return softplus_d_scalar; }
