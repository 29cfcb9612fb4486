/* The softmax kernels of kernels/vec.h (segloss_vec_softmax_fn in float32,
 * segloss_vec_softmax_d_fn in double) on every table of this CPU, against
 * a long-double reference per position: random logits over a wide range,
 * ties at the maximum, one dominant class, exp(x - max) in the denormal
 * range, NaN and infinite logits; lengths that leave a short last vector.
 * And segloss_vec_softplus_d_fn (exp(-|x|), log1p of it). */
#include "tf.h"

#include "kernels/vec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SK_C 5
#define SK_N 203 /* not a multiple of any vector width */

static double sk_uniform(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1p-53;
}

/* Reference of position i: max, sum of exp(x - max), p_k. */
static void sk_ref(const float *x, int64_t xs, int64_t c, int64_t i, long double *mx,
                   long double *sum, long double *p) {
    long double m = x[i];
    for (int64_t k = 1; k < c; k++)
        if (x[k * xs + i] > m || isnan(x[k * xs + i])) m = x[k * xs + i];
    long double s = 0.0L;
    for (int64_t k = 0; k < c; k++) s += expl((long double)x[k * xs + i] - m);
    for (int64_t k = 0; k < c; k++) p[k] = expl((long double)x[k * xs + i] - m) / s;
    *mx = m;
    *sum = s;
}

static void sk_fill(float *x, int64_t c, uint64_t seed) {
    for (int64_t i = 0; i < c * SK_N; i++) x[i] = (float)(40.0 * sk_uniform(&seed) - 20.0);
    /* position 0: a tie at the maximum; 1: one class far above (p ~ 1);
     * 2: exp(x - max) below 2^-1022 in double, denormal in float; 3: all equal */
    for (int64_t k = 0; k < c; k++) {
        x[k * SK_N + 0] = k < 2 ? 3.0f : -1.0f;
        x[k * SK_N + 1] = k == 1 ? 30.0f : -0.5f * (float)k;
        x[k * SK_N + 2] = k == 0 ? 0.0f : -720.0f - (float)k;
        x[k * SK_N + 3] = 0.25f;
    }
    x[3 * SK_N + 2] = -95.0f;
}

TEST(softmax_kernels_accuracy) {
    const segloss_vec_ops *tabs[SEGLOSS__VEC_MAX_TABLES];
    int nt = segloss__vec_tables(tabs);
    static float x[SK_C * SK_N], p[SK_C * SK_N];
    static float mxf[SK_N], spf[SK_N];
    static double e[SK_C * SK_N], sum[SK_N], lse[SK_N];
    for (int t = 0; t < nt; t++) {
        segloss_vec_softmax_fn f = segloss__vec_softmax(tabs[t]);
        segloss_vec_softmax_d_fn fd = segloss__vec_softmax_d(tabs[t]);
        for (int64_t c = 1; c <= SK_C; c++) {
            sk_fill(x, c, 17 + (uint64_t)c);
            f(p, SK_N, mxf, spf, x, SK_N, c, SK_N);
            fd(e, SK_N, sum, lse, x, SK_N, c, SK_N);
            /* float: relative to the reference's own bound: 4 ulp plus the
             * rounding of x - max in float (|x - max| 2^-24 relative), and
             * the denormal grid; double: relative, or absolute below 2^-1021
             * (flushed to 0 there) */
            double perr = 0.0, sperr = 0.0, serr = 0.0, lerr = 0.0, eerr = 0.0;
            for (int64_t i = 0; i < SK_N; i++) {
                long double m, s, pr[SK_C];
                sk_ref(x, SK_N, c, i, &m, &s, pr);
                CHECK(mxf[i] == (float)m);
                long double sptol = 0x1p-149L * (long double)c, spr = 0.0L, cnt = -1.0L;
                for (int64_t k = 0; k < c; k++) {
                    long double dxm = m - (long double)x[k * SK_N + i];
                    long double tol = pr[k] * (2.4e-7L + 0x1p-24L * dxm) + 0x1p-149L;
                    double d = (double)(fabsl(p[k * SK_N + i] - pr[k]) / tol);
                    if (d > perr) perr = d;
                    long double ek = expl(-dxm);
                    if (dxm > 0) {
                        sptol += ek * (4.8e-7L + 0x1p-24L * dxm);
                        spr += ek;
                    } else {
                        cnt += 1.0L;
                    }
                    double de = (double)fabsl(e[k * SK_N + i] - ek);
                    double rele = ek < 0x1p-1021L ? de / 0x1p-1021 * 1e-15 : de / (double)ek;
                    if (rele > eerr) eerr = rele;
                }
                spr += cnt; /* sp without the 1 of the maximum */
                sptol += spr * 0x1p-24L * (long double)c; /* the float sum */
                double ds = (double)(fabsl(spf[i] - spr) / sptol);
                if (ds > sperr) sperr = ds;
                double dsum = fabs((double)((sum[i] - s) / s));
                if (dsum > serr) serr = dsum;
                long double l = m + logl(s);
                double dl = fabs((double)((lse[i] - l) / fmaxl(fabsl(l), 1.0L)));
                if (dl > lerr) lerr = dl;
            }
            CHECK_MSG(perr <= 1.0, "%s C=%lld: p err %.3g of its bound", tabs[t]->name,
                      (long long)c, perr);
            CHECK_MSG(sperr <= 1.0, "%s C=%lld: sp err %.3g of its bound", tabs[t]->name,
                      (long long)c, sperr);
            CHECK_MSG(eerr <= 1e-15 && serr <= 1e-15 && lerr <= 1e-15,
                      "%s C=%lld: double exp %.3g, sum %.3g, lse %.3g", tabs[t]->name,
                      (long long)c, eerr, serr, lerr);
            if (getenv("SEGLOSS_TEST_VERBOSE"))
                printf("  softmax %-8s C=%lld  p %.3g  sp %.3g  exp %.3g  sum %.3g  lse %.3g\n",
                       tabs[t]->name, (long long)c, perr, sperr, eerr, serr, lerr);
        }
    }
}

TEST(softmax_kernels_special) {
    const segloss_vec_ops *tabs[SEGLOSS__VEC_MAX_TABLES];
    int nt = segloss__vec_tables(tabs);
    /* 3 classes x 6 positions: NaN in class 0 / 2, +inf, all -inf, -inf in one */
    float x[3 * 6] = {NAN, 1.0f, INFINITY, -INFINITY, -INFINITY, 0.0f,
                      0.0f, 1.0f, 0.0f,     -INFINITY, 0.0f,      2.0f,
                      0.0f, NAN,  1.0f,     -INFINITY, 1.0f,      1.0f};
    for (int t = 0; t < nt; t++) {
        float p[18], mx[6], sp[6];
        double e[18], sum[6], lse[6];
        segloss__vec_softmax(tabs[t])(p, 6, mx, sp, x, 6, 3, 6);
        segloss__vec_softmax_d(tabs[t])(e, 6, sum, lse, x, 6, 3, 6);
        for (int i = 0; i < 4; i++) { /* NaN, NaN, +inf, all -inf: NaN as log_softmax */
            CHECK_MSG(isnan(sp[i]) && isnan(p[i]) && isnan(sum[i]) && isnan(lse[i]),
                      "%s position %d", tabs[t]->name, i);
        }
        /* position 4: (-inf, 0, 1): p0 = 0 exactly */
        CHECK(p[4] == 0.0f && e[4] == 0.0 && isfinite(lse[4]));
        CHECK_CLOSE(lse[4], 1.0 + log(1.0 + exp(-1.0)), 0.0, 1e-15);
        CHECK_CLOSE(lse[5], 2.0 + log(1.0 + exp(-1.0) + exp(-2.0)), 0.0, 1e-15);
        CHECK_CLOSE(p[5 + 12], exp(-1.0) / (1.0 + exp(-1.0) + exp(-2.0)), 0.0, 4e-7);
    }
}

TEST(softmax_kernels_softplus_d) {
    const segloss_vec_ops *tabs[SEGLOSS__VEC_MAX_TABLES];
    int nt = segloss__vec_tables(tabs);
    enum { N = 1001 };
    static float x[N];
    static double e[N], L[N];
    uint64_t seed = 5;
    for (int i = 0; i < N; i++) x[i] = (float)(90.0 * sk_uniform(&seed) - 45.0);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = 800.0f;   /* exp(-800): 0 in the vector paths (below 2^-1021) */
    x[3] = -1e-9f;
    x[4] = INFINITY;
    x[5] = -INFINITY;
    x[6] = NAN;
    for (int t = 0; t < nt; t++) {
        segloss__vec_softplus_d(tabs[t])(e, L, x, N);
        double ee = 0.0, le = 0.0;
        for (int i = 0; i < N; i++) {
            if (i >= 4 && i <= 6) continue;
            long double er = expl(-fabsl((long double)x[i])), lr = log1pl(er);
            double de = er < 0x1p-1021L ? (double)fabsl(e[i] - er) / 0x1p-1021 * 1e-15
                                         : (double)(fabsl(e[i] - er) / er);
            double dl = lr < 0x1p-1021L ? (double)fabsl(L[i] - lr) / 0x1p-1021 * 1e-15
                                        : (double)(fabsl(L[i] - lr) / lr);
            if (de > ee) ee = de;
            if (dl > le) le = dl;
        }
        CHECK_MSG(ee <= 1e-15 && le <= 1e-15, "%s: exp %.3g, log1p %.3g", tabs[t]->name, ee, le);
        CHECK(e[4] == 0.0 && L[4] == 0.0 && e[5] == 0.0 && L[5] == 0.0);
        CHECK(isnan(e[6]) && isnan(L[6]));
        if (getenv("SEGLOSS_TEST_VERBOSE"))
            printf("  softplus_d %-8s exp %.3g  log1p %.3g\n", tabs[t]->name, ee, le);
    }
}
