/* Tests of the float32 element kernels (src/kernels/vec.h), both tables:
 * every table this CPU has (scalar and portable always; avx2, avx512 on
 * x86 CPUs with those ISAs; neon on aarch64); absent ones print SKIP.
 *
 *  kernel_dispatch         table choice and the force-scalar override
 *  kernel_special_values   +-inf, NaN, +-0, denormals, huge |x|, the
 *                          denormal sigmoid range
 *  kernel_lengths_offsets  n = 0..70 at float offsets 0..7 (byte offsets
 *                          for uint8 targets), all weight combinations,
 *                          against the double reference; guard elements
 *                          untouched; results independent of the offset;
 *                          fused = forward + backward bit for bit; uint8 =
 *                          float target bit for bit; bad bytes rejected
 *  kernel_sum_large        2^20 elements: sum within 1e-7 relative of the
 *                          double reference, same bits on every call, at
 *                          every offset, in 8192-blocks
 *  kernel_sweep_dense      every 7th float in [-100, 100] (all exponents;
 *                          every 61st under ASan, every kth with
 *                          SEGLOSS_SWEEP_STRIDE=k): sigmoid, softplus(x)
 *                          (y = 0), softplus(-x) (y = 1) and both
 *                          gradients <= 2 ulp
 *  kernel_sweep_full       every float in [-100, 100]; runs only with
 *                          SEGLOSS_FULL_SWEEP=1 (about 8 CPU-minutes for
 *                          the four x86 paths, in parallel with OpenMP)
 * The sweeps print the measured max ulp error and where it occurs. */
#include "tf.h"

#include "kernels/scalar.h"
#include "kernels/vec.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Double reference (the formulas of loss/bce_logits.c)                      */
/* ------------------------------------------------------------------------ */

static double ref_loss(double x, double y, double w, double pw) {
    double lg = log1p(exp(-fabs(x)));
    return w * ((1.0 - y) * (lg + fmax(x, 0.0)) + pw * y * (lg + fmax(-x, 0.0)));
}

static double ref_grad(double x, double y, double w, double pw, double s) {
    return (w * ((1.0 - y) * segloss__sigmoid_d(x) - pw * y * segloss__sigmoid_d(-x))) * s;
}

/* Size of one float32 ulp at r's binade (2^-149 in the denormal range). */
static double ulp_of(double r) {
    uint64_t b;
    memcpy(&b, &r, sizeof b);
    int ex = (int)((b >> 52) & 0x7ff) - 1023;
    if (ex < -126) ex = -126;
    uint64_t u = (uint64_t)(ex - 23 + 1023) << 52;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Error of got in ulps of ref; NaN/inf must match exactly (else 1e30). */
static double ulp_err(float got, double ref) {
    if (isnan(ref)) return isnan(got) ? 0.0 : 1e30;
    if (isinf(ref)) return (double)got == ref ? 0.0 : 1e30;
    if (!isfinite(got)) return 1e30;
    return fabs((double)got - ref) / ulp_of(ref);
}

/* Same bits, or both NaN. */
static int same_float(float a, float b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static float f_of_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Deterministic pseudo-random numbers (xorshift64*); each test seeds it, so
 * its data do not depend on which tests ran before. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s ? s : 0x9E3779B97F4A7C15ull; }
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(rng_next() >> 40) / (double)(1ull << 24));
}

/* The tables under test: every one this CPU has (scalar always). */
static int get_tables(const segloss_vec_ops **t, int print_skip) {
    int n = segloss__vec_tables(t);
    if (print_skip) {
        static const char *const all[] = {"portable", "avx2", "avx512", "neon"};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
            int have = 0;
            for (int i = 0; i < n; i++) have |= strcmp(t[i]->name, all[k]) == 0;
            if (!have) printf("SKIP: %s kernels (not on this CPU or target)\n", all[k]);
        }
    }
    return n;
}

/* ------------------------------------------------------------------------ */

/* Which ISA this CPU has, asked independently of dispatch.c. */
static int cpu_has(const char *isa) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx2") == 0) return avx2;
    if (strcmp(isa, "avx512") == 0)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return strcmp(isa, "portable") == 0;
#elif defined(__aarch64__)
    return strcmp(isa, "neon") == 0 || strcmp(isa, "portable") == 0;
#else
    return strcmp(isa, "portable") == 0;
#endif
}

TEST(kernel_dispatch) {
    const segloss_vec_ops *s = segloss__vec_ops_scalar();
    CHECK(s != NULL && strcmp(s->name, "scalar") == 0 && s->width == 1);
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int nt = get_tables(tab, 1);
    CHECK(nt >= 1 && tab[0] == s);
    struct {
        const char *name;
        const segloss_vec_ops *t;
        int width;
    } isa[] = {{"portable", segloss__vec_ops_portable(), 4},
               {"avx2", segloss__vec_ops_avx2(), 8},
               {"avx512", segloss__vec_ops_avx512(), 16},
               {"neon", segloss__vec_ops_neon(), 4}};
    const segloss_vec_ops *best = s;
    int listed = 1;
    for (int k = 0; k < 4; k++) {
        /* a table exists exactly when the CPU has the ISA (the test build
         * compiles every file for its target) */
        CHECK_MSG((isa[k].t != NULL) == (cpu_has(isa[k].name) != 0), "%s: table %p, cpu %d",
                  isa[k].name, (const void *)isa[k].t, cpu_has(isa[k].name));
        if (!isa[k].t) continue;
        CHECK(strcmp(isa[k].t->name, isa[k].name) == 0 && isa[k].t->width == isa[k].width);
        CHECK(listed < nt && tab[listed] == isa[k].t);
        listed++;
    }
    CHECK(listed == nt);
    /* preference: avx512, avx2, neon, portable */
    static const int pref[] = {2, 1, 3, 0};
    for (int k = 3; k >= 0; k--)
        if (isa[pref[k]].t) best = isa[pref[k]].t;

    segloss__vec_force_scalar(1);
    CHECK(segloss__vec_ops() == s);
    CHECK(strcmp(segloss_kernel_isa(), "scalar") == 0);
    segloss__vec_force_scalar(0);
    CHECK(segloss__vec_ops() == best);
    segloss__vec_force_scalar(-1);
    /* the environment decides: SEGLOSS_FORCE_SCALAR, then SEGLOSS_ISA when
     * this CPU has it */
    const char *env = getenv("SEGLOSS_FORCE_SCALAR");
    const char *want = getenv("SEGLOSS_ISA");
    const segloss_vec_ops *expect = best;
    if (env && *env >= '1' && *env <= '9') expect = s;
    else if (want)
        for (int t = 0; t < nt; t++)
            if (strcmp(tab[t]->name, want) == 0) expect = tab[t];
    CHECK_MSG(segloss__vec_ops() == expect, "in use %s, expected %s", segloss__vec_ops()->name,
              expect->name);
    CHECK(strcmp(segloss_kernel_isa(), expect->name) == 0);
    for (int t = 0; t < nt; t++) {
        const segloss_vec_ops *o = tab[t];
        CHECK(o->sigmoid && o->bcel_fwd && o->bcel_bwd && o->bcel_fused && o->bcel_fwd_u8 &&
              o->bcel_bwd_u8 && o->bcel_fused_u8 && o->dbce && o->dbce_u8 && o->dice_grad &&
              o->dice_grad_u8);
    }
}

/* ------------------------------------------------------------------------ */

TEST(kernel_special_values) {
    static const float xs[] = {
        0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN,
        1e-45f, -1e-45f, 1e-40f, -1e-40f, FLT_MIN, -FLT_MIN, 1e-8f, -1e-8f,
        0.5f, -0.5f, 1.0f, -1.0f, 0.8813736f, -0.8813736f, 16.635532f, -16.635532f,
        17.0f, -17.0f, 87.0f, -87.0f, 87.33655f, -87.33655f, 88.0f, -88.0f, 89.0f, -89.0f,
        100.0f, -100.0f, 103.27893f, -103.27893f, 103.97208f, -103.97208f, 104.0f, -104.0f,
        110.0f, -110.0f, 200.0f, -200.0f, 1e4f, -1e4f, 3e38f, -3e38f, FLT_MAX, -FLT_MAX};
    enum { N = sizeof xs / sizeof xs[0] };
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int nt = get_tables(tab, 1);
    float y0[N], y1[N], sig[N], l0[N], l1[N], g0[N], g1[N];
    uint8_t b0[N], b1[N];
    for (int i = 0; i < N; i++) y0[i] = 0.0f, y1[i] = 1.0f, b0[i] = 0, b1[i] = 1;
    for (int t = 0; t < nt; t++) {
        const segloss_vec_ops *o = tab[t];
        double s0, s1;
        o->sigmoid(sig, xs, N);
        CHECK_EQ_INT(o->bcel_fwd(&s0, l0, xs, y0, NULL, NULL, N), SEGLOSS_OK);
        CHECK_EQ_INT(o->bcel_fwd(&s1, l1, xs, y1, NULL, NULL, N), SEGLOSS_OK);
        CHECK_EQ_INT(o->bcel_bwd(g0, xs, y0, NULL, NULL, NULL, 1.0, N), SEGLOSS_OK);
        CHECK_EQ_INT(o->bcel_bwd(g1, xs, y1, NULL, NULL, NULL, 1.0, N), SEGLOSS_OK);
        CHECK(isnan(s0) && isnan(s1)); /* NaN inputs are in the block */
        for (int i = 0; i < N; i++) {
            double x = xs[i];
            double rs = segloss__sigmoid_d(x);
            double r0 = ref_loss(x, 0, 1, 1), r1 = ref_loss(x, 1, 1, 1);
            double rg0 = ref_grad(x, 0, 1, 1, 1), rg1 = ref_grad(x, 1, 1, 1, 1);
            CHECK_MSG(ulp_err(sig[i], rs) <= 2.0, "%s sigmoid(%g) = %.9g, ref %.17g", o->name,
                      x, (double)sig[i], rs);
            CHECK_MSG(ulp_err(l0[i], r0) <= 2.0, "%s loss(x=%g,y=0) = %.9g, ref %.17g", o->name,
                      x, (double)l0[i], r0);
            CHECK_MSG(ulp_err(l1[i], r1) <= 2.0, "%s loss(x=%g,y=1) = %.9g, ref %.17g", o->name,
                      x, (double)l1[i], r1);
            CHECK_MSG(ulp_err(g0[i], rg0) <= 2.0, "%s grad(x=%g,y=0) = %.9g, ref %.17g",
                      o->name, x, (double)g0[i], rg0);
            CHECK_MSG(ulp_err(g1[i], rg1) <= 2.0, "%s grad(x=%g,y=1) = %.9g, ref %.17g",
                      o->name, x, (double)g1[i], rg1);
            /* softplus of finite x never overflows: exact |x| for huge |x| */
            if (isfinite(x) && fabs(x) >= 1e4) {
                CHECK((double)l0[i] == (x > 0 ? x : 0.0));
                CHECK((double)l1[i] == (x < 0 ? -x : 0.0));
            }
        }
        /* the documented limits */
        CHECK(sig[2] == 1.0f && sig[3] == 0.0f && isnan(sig[4]) && isnan(sig[5]));
        CHECK(sig[0] == 0.5f && sig[1] == 0.5f);
        /* sigmoid(-100) = 3.7200760e-44, a denormal: within 1 ulp (2^-149) */
        double want = segloss__sigmoid_d(-100.0);
        float got;
        float m100 = -100.0f;
        o->sigmoid(&got, &m100, 1);
        CHECK_MSG(fabs((double)got - want) <= 0x1p-149, "%s sigmoid(-100) = %g, ref %g",
                  o->name, (double)got, want);
        /* each value alone (the tail path): the same results */
        for (int i = 0; i < N; i++) {
            float s1v, l1v, g1v;
            double d1;
            o->sigmoid(&s1v, &xs[i], 1);
            o->bcel_fused(&d1, &l1v, &g1v, &xs[i], &y0[i], NULL, NULL, NULL, 1.0, 1);
            CHECK_MSG(same_float(s1v, sig[i]) && same_float(l1v, l0[i]) && same_float(g1v, g0[i]),
                      "%s: x = %g alone differs from x in a block", o->name, (double)xs[i]);
        }
        /* in place, and u8 targets give the same bits */
        float inplace[N];
        memcpy(inplace, xs, sizeof inplace);
        o->sigmoid(inplace, inplace, N);
        CHECK(memcmp(inplace, sig, sizeof sig) == 0);
        float lb[N], gb[N];
        double sb;
        CHECK_EQ_INT(o->bcel_fwd_u8(&sb, lb, xs, b0, NULL, NULL, N), SEGLOSS_OK);
        CHECK(memcmp(lb, l0, sizeof lb) == 0);
        CHECK_EQ_INT(o->bcel_bwd_u8(gb, xs, b1, NULL, NULL, NULL, 1.0, N), SEGLOSS_OK);
        CHECK(memcmp(gb, g1, sizeof gb) == 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Lengths, offsets, weights                                                 */
/* ------------------------------------------------------------------------ */

#define MAXN 70
#define PAD 8
#define GUARD 12345.0f

typedef struct case_data {
    float x[MAXN], y[MAXN], w[MAXN], pw[MAXN], gv[MAXN];
    uint8_t yb[MAXN];
} case_data;

static void fill_case(case_data *c) {
    static const float specials[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 95.0f, -95.0f, 1e4f, -1e4f};
    for (int i = 0; i < MAXN; i++) {
        uint64_t k = rng_next() % 16;
        c->x[i] = k < 8 ? specials[k] : rng_uniform(-30.0f, 30.0f);
        c->y[i] = rng_uniform(0.0f, 1.0f);
        c->yb[i] = (uint8_t)(rng_next() & 1);
        c->w[i] = rng_uniform(0.0f, 2.0f);
        c->pw[i] = rng_uniform(0.5f, 3.0f);
        c->gv[i] = rng_uniform(-1.0f, 1.0f);
    }
}

/* Copies src[0..n) to a guarded buffer at float offset off. */
static float *place(float *buf, int off, const float *src, int n) {
    for (int i = 0; i < MAXN + 2 * PAD; i++) buf[i] = GUARD;
    memcpy(buf + off, src, (size_t)n * sizeof *src);
    return buf + off;
}

static int guards_ok(const float *buf, int off, int n) {
    for (int i = 0; i < MAXN + 2 * PAD; i++)
        if ((i < off || i >= off + n) && buf[i] != GUARD) return 0;
    return 1;
}

typedef struct run_out {
    float l[MAXN], g[MAXN], lf[MAXN], gf[MAXN];
    double s, sf;
} run_out;

/* Runs fwd, bwd and fused (float target, or u8 when u8) on the case at
 * offset off and checks guards and fused == separate. */
static void run_case(const segloss_vec_ops *o, const case_data *c, int n, int off, int flags,
                     int u8, run_out *r) {
    static float bx[MAXN + 2 * PAD], by[MAXN + 2 * PAD], bw[MAXN + 2 * PAD],
        bpw[MAXN + 2 * PAD], bg[MAXN + 2 * PAD], bl[MAXN + 2 * PAD], bgr[MAXN + 2 * PAD],
        bl2[MAXN + 2 * PAD], bgr2[MAXN + 2 * PAD];
    static uint8_t bb[MAXN + 2 * PAD];
    const float *x = place(bx, off, c->x, n);
    const float *y = place(by, off, c->y, n);
    const float *w = (flags & 1) ? place(bw, off, c->w, n) : NULL;
    const float *pw = (flags & 2) ? place(bpw, off, c->pw, n) : NULL;
    const float *gv = (flags & 4) ? place(bg, off, c->gv, n) : NULL;
    memset(bb, 0x77, sizeof bb);
    memcpy(bb + off, c->yb, (size_t)n);
    const uint8_t *yb = bb + off;
    float *l = place(bl, off, c->x, 0), *g = place(bgr, off, c->x, 0);
    float *l2 = place(bl2, off, c->x, 0), *g2 = place(bgr2, off, c->x, 0);
    double gscale = 0.37;
    segloss_status s1, s2, s3;
    if (u8) {
        s1 = o->bcel_fwd_u8(&r->s, l, x, yb, w, pw, n);
        s2 = o->bcel_bwd_u8(g, x, yb, w, pw, gv, gscale, n);
        s3 = o->bcel_fused_u8(&r->sf, l2, g2, x, yb, w, pw, gv, gscale, n);
    } else {
        s1 = o->bcel_fwd(&r->s, l, x, y, w, pw, n);
        s2 = o->bcel_bwd(g, x, y, w, pw, gv, gscale, n);
        s3 = o->bcel_fused(&r->sf, l2, g2, x, y, w, pw, gv, gscale, n);
    }
    CHECK(s1 == SEGLOSS_OK && s2 == SEGLOSS_OK && s3 == SEGLOSS_OK);
    CHECK_MSG(guards_ok(bl, off, n) && guards_ok(bgr, off, n) && guards_ok(bl2, off, n) &&
                  guards_ok(bgr2, off, n),
              "%s: write outside [0, n) (n %d, offset %d)", o->name, n, off);
    memcpy(r->l, l, (size_t)n * sizeof *l);
    memcpy(r->g, g, (size_t)n * sizeof *g);
    memcpy(r->lf, l2, (size_t)n * sizeof *l);
    memcpy(r->gf, g2, (size_t)n * sizeof *g);
    CHECK_MSG(memcmp(r->l, r->lf, (size_t)n * sizeof *l) == 0 &&
                  memcmp(r->g, r->gf, (size_t)n * sizeof *g) == 0 &&
                  memcmp(&r->s, &r->sf, sizeof r->s) == 0,
              "%s: fused differs from fwd+bwd (n %d, offset %d, flags %d, u8 %d)", o->name, n,
              off, flags, u8);
}

static void check_against_ref(const segloss_vec_ops *o, const case_data *c, int n, int flags,
                              int u8, const run_out *r) {
    double sref = 0.0, sabs = 0.0, worst_l = 0.0, worst_g = 0.0;
    int bad_l = -1, bad_g = -1;
    for (int i = 0; i < n; i++) {
        double x = c->x[i], y = u8 ? (double)c->yb[i] : (double)c->y[i];
        double w = (flags & 1) ? c->w[i] : 1.0, pw = (flags & 2) ? c->pw[i] : 1.0;
        double s = 0.37 * ((flags & 4) ? (double)c->gv[i] : 1.0);
        double lr = ref_loss(x, y, w, pw);
        sref += lr;
        sabs += fabs(lr);
        /* all terms of l are >= 0: a relative bound holds */
        /* results in the denormal range: 2 ulp of the 2^-149 grid */
        double dl = fabs((double)r->l[i] - lr);
        double el = dl <= 0x1p-148 ? 0.0 : dl / fabs(lr);
        if (el > worst_l) worst_l = el, bad_l = i;
        /* g is a difference: bound relative to the size of its terms */
        double sp = segloss__sigmoid_d(x), sn = segloss__sigmoid_d(-x);
        double gr = ref_grad(x, y, w, pw, s);
        double scale = fabs(w * s) * ((1 - y) * sp + pw * y * sn);
        double dg = fabs((double)r->g[i] - gr);
        double eg = dg <= 0x1p-148 ? 0.0 : dg / scale;
        if (eg > worst_g) worst_g = eg, bad_g = i;
    }
    CHECK_MSG(worst_l <= 1e-6, "%s loss n %d flags %d u8 %d: rel err %.3g at %d (x %g)",
              o->name, n, flags, u8, worst_l, bad_l, bad_l >= 0 ? (double)c->x[bad_l] : 0.0);
    CHECK_MSG(worst_g <= 1e-6, "%s grad n %d flags %d u8 %d: rel err %.3g at %d (x %g)",
              o->name, n, flags, u8, worst_g, bad_g, bad_g >= 0 ? (double)c->x[bad_g] : 0.0);
    CHECK_MSG(fabs(r->s - sref) <= 1e-6 * sabs + 2.0 * n * 0x1p-149,
              "%s sum n %d flags %d u8 %d: %.17g vs %.17g", o->name, n, flags, u8, r->s, sref);
}

TEST(kernel_lengths_offsets) {
    rng_seed(1);
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int nt = get_tables(tab, 1);
    static case_data c;
    static run_out r0, r;
    for (int t = 0; t < nt; t++) {
        const segloss_vec_ops *o = tab[t];
        for (int n = 0; n <= MAXN; n++) {
            fill_case(&c);
            for (int flags = 0; flags < 8; flags++) {
                for (int u8 = 0; u8 < 2; u8++) {
                    run_case(o, &c, n, 0, flags, u8, &r0);
                    check_against_ref(o, &c, n, flags, u8, &r0);
                    for (int off = 1; off < PAD; off++) {
                        run_case(o, &c, n, off, flags, u8, &r);
                        CHECK_MSG(memcmp(r.l, r0.l, (size_t)n * sizeof(float)) == 0 &&
                                      memcmp(r.g, r0.g, (size_t)n * sizeof(float)) == 0 &&
                                      memcmp(&r.s, &r0.s, sizeof r.s) == 0,
                                  "%s: results depend on the offset (n %d, offset %d)",
                                  o->name, n, off);
                    }
                }
            }
            /* sigmoid at every offset, in place too */
            static float bx[MAXN + 2 * PAD], bo[MAXN + 2 * PAD];
            float ref[MAXN];
            for (int off = 0; off < PAD; off++) {
                const float *x = place(bx, off, c.x, n);
                float *out = place(bo, off, c.x, 0);
                o->sigmoid(out, x, n);
                CHECK(guards_ok(bo, off, n));
                if (off == 0) memcpy(ref, out, (size_t)n * sizeof *out);
                else CHECK(memcmp(ref, out, (size_t)n * sizeof *out) == 0);
                double worst = 0.0;
                for (int i = 0; i < n; i++) {
                    double e = ulp_err(out[i], segloss__sigmoid_d(c.x[i]));
                    if (e > worst) worst = e;
                }
                CHECK_MSG(worst <= 2.0, "%s sigmoid n %d: %.2f ulp", o->name, n, worst);
            }
            /* u8 with the float target's bits, and a byte outside {0, 1} */
            float yf[MAXN], l1[MAXN], l2[MAXN], g1[MAXN], g2[MAXN];
            uint8_t yb[MAXN];
            for (int i = 0; i < n; i++) yf[i] = (float)c.yb[i], yb[i] = c.yb[i];
            double s1 = 0, s2 = 0;
            o->bcel_fused(&s1, l1, g1, c.x, yf, c.w, c.pw, c.gv, 0.5, n);
            CHECK_EQ_INT(o->bcel_fused_u8(&s2, l2, g2, c.x, yb, c.w, c.pw, c.gv, 0.5, n),
                         SEGLOSS_OK);
            CHECK(memcmp(l1, l2, (size_t)n * sizeof *l1) == 0 &&
                  memcmp(g1, g2, (size_t)n * sizeof *g1) == 0 && memcmp(&s1, &s2, sizeof s1) == 0);
            if (n > 0) {
                yb[(n * 5) / 7] = (uint8_t)(2 + n % 250);
                CHECK_EQ_INT(o->bcel_fwd_u8(&s2, l2, c.x, yb, NULL, NULL, n), SEGLOSS_ERR_TARGET);
                CHECK_EQ_INT(o->bcel_bwd_u8(g2, c.x, yb, NULL, NULL, NULL, 1.0, n),
                             SEGLOSS_ERR_TARGET);
                CHECK_EQ_INT(o->bcel_fused_u8(&s2, l2, g2, c.x, yb, NULL, NULL, NULL, 1.0, n),
                             SEGLOSS_ERR_TARGET);
            }
            /* float targets outside [0, 1] (NaN too), at one position, are
             * SEGLOSS_ERR_TARGET from the kernels' own pass; -0.0 is in range
             * (the vector paths' one-comparison check flags it, then looks
             * again exactly), so are the floats next to 1 and below 0 not */
            if (n > 0) {
                static const float badv[] = {1.5f,      -0.25f,    NAN,       0x1.000002p0f,
                                             -0x1p-149f, INFINITY, -INFINITY, -NAN};
                double sd[4];
                float sg[MAXN];
                int at = (n * 5) / 7;
                for (int i = 0; i < n; i++) yf[i] = c.y[i];
                yf[at] = -0.0f;
                CHECK_EQ_INT(o->bcel_fused(&s1, l1, g1, c.x, yf, c.w, c.pw, c.gv, 0.5, n),
                             SEGLOSS_OK);
                CHECK_EQ_INT(o->dbce(sd, sg, c.x, yf, c.pw, n, SEGLOSS_DBCE_LOSS), SEGLOSS_OK);
                CHECK_EQ_INT(o->bcel_fwd(&s2, l2, c.x, yf, NULL, NULL, n), SEGLOSS_OK);
                CHECK_EQ_INT(o->bcel_bwd(g2, c.x, yf, c.w, c.pw, c.gv, 1.0, n), SEGLOSS_OK);
                CHECK_EQ_INT(o->dbce(sd, NULL, c.x, yf, NULL, n, SEGLOSS_DBCE_SQUARED), SEGLOSS_OK);
                yf[at] = 1.0f;
                CHECK_EQ_INT(o->dbce(sd, NULL, c.x, yf, NULL, n, 0), SEGLOSS_OK);
                for (size_t b = 0; b < sizeof badv / sizeof badv[0]; b++) {
                    yf[at] = badv[b];
                    CHECK_EQ_INT(o->bcel_fwd(&s2, l2, c.x, yf, NULL, NULL, n),
                                 SEGLOSS_ERR_TARGET);
                    CHECK_EQ_INT(o->bcel_bwd(g2, c.x, yf, c.w, c.pw, c.gv, 1.0, n),
                                 SEGLOSS_ERR_TARGET);
                    CHECK_EQ_INT(o->bcel_fused(&s2, l2, g2, c.x, yf, NULL, NULL, NULL, 1.0, n),
                                 SEGLOSS_ERR_TARGET);
                    CHECK_EQ_INT(o->dbce(sd, sg, c.x, yf, NULL, n, SEGLOSS_DBCE_LOSS),
                                 SEGLOSS_ERR_TARGET);
                    CHECK_EQ_INT(o->dbce(sd, NULL, c.x, yf, c.pw, n, SEGLOSS_DBCE_SQUARED),
                                 SEGLOSS_ERR_TARGET);
                }
            }
            /* n = 0 writes the sum 0 */
            double z = 1.0;
            CHECK_EQ_INT(o->bcel_fwd(&z, NULL, c.x, c.y, NULL, NULL, 0), SEGLOSS_OK);
            CHECK(z == 0.0);
        }
    }
}

/* ------------------------------------------------------------------------ */

TEST(kernel_sum_large) {
    enum { N = 1 << 20, BLOCK = 8192 };
    rng_seed(2);
    float *x = malloc((N + 8) * sizeof *x), *y = malloc(N * sizeof *y);
    float *w = malloc(N * sizeof *w), *pw = malloc(N * sizeof *pw);
    float *xs = malloc((N + 8) * sizeof *xs);
    float *g = malloc(N * sizeof *g);
    if (!x || !y || !w || !pw || !xs || !g) {
        CHECK_MSG(0, "out of memory");
        free(x), free(y), free(w), free(pw), free(xs), free(g);
        return;
    }
    for (int i = 0; i < N; i++) {
        x[i] = rng_uniform(-20.0f, 20.0f);
        y[i] = (i % 3) ? (float)(rng_next() & 1) : rng_uniform(0.0f, 1.0f);
        w[i] = rng_uniform(0.0f, 2.0f);
        pw[i] = rng_uniform(0.5f, 3.0f);
    }
    double ref = 0.0;
    for (int i = 0; i < N; i++) ref += ref_loss(x[i], y[i], w[i], pw[i]);
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int nt = get_tables(tab, 1);
    for (int t = 0; t < nt; t++) {
        const segloss_vec_ops *o = tab[t];
        double whole, again, blocks = 0.0, fused;
        o->bcel_fwd(&whole, NULL, x, y, w, pw, N);
        o->bcel_fwd(&again, NULL, x, y, w, pw, N);
        CHECK(memcmp(&whole, &again, sizeof whole) == 0);
        CHECK_MSG(fabs(whole - ref) <= 1e-7 * fabs(ref), "%s: sum %.17g vs ref %.17g (rel %.3g)",
                  o->name, whole, ref, fabs(whole - ref) / fabs(ref));
        printf("  %s: sum of 2^20 bce-logits losses, rel err %.3g vs double reference\n",
               o->name, fabs(whole - ref) / fabs(ref));
        for (int b = 0; b < N; b += BLOCK) {
            double part;
            o->bcel_fwd(&part, NULL, x + b, y + b, w + b, pw + b, BLOCK);
            blocks += part;
        }
        CHECK_MSG(fabs(blocks - ref) <= 1e-7 * fabs(ref), "%s: block sum %.17g vs %.17g",
                  o->name, blocks, ref);
        o->bcel_fused(&fused, NULL, g, x, y, w, pw, NULL, 1.0, N);
        CHECK(memcmp(&whole, &fused, sizeof whole) == 0);
        /* same data at another alignment: same bits */
        for (int off = 1; off < 8; off += 3) {
            memcpy(xs + off, x, N * sizeof *x);
            double s;
            o->bcel_fwd(&s, NULL, xs + off, y, w, pw, N);
            CHECK_MSG(memcmp(&s, &whole, sizeof s) == 0, "%s: sum depends on alignment",
                      o->name);
        }
    }
    free(x), free(y), free(w), free(pw), free(xs), free(g);
}

/* ------------------------------------------------------------------------ */
/* Sweeps                                                                    */
/* ------------------------------------------------------------------------ */

enum { K_SIG, K_SPP, K_SPN, K_G0, K_G1, NK };
static const char *const kname[NK] = {"sigmoid", "loss y=0 (softplus(x))",
                                      "loss y=1 (softplus(-x))", "grad y=0 (sigmoid(x))",
                                      "grad y=1 (-sigmoid(-x))"};

typedef struct sweep_stats {
    double max[NK];
    float at[NK];
    int mismatch; /* fwd/bwd differ from fused */
} sweep_stats;

/* Keeps the larger error; on a tie the smaller |x|, then +x: the reported
 * place does not depend on the order in which threads finish. */
static void stat_merge(sweep_stats *into, const sweep_stats *from) {
    into->mismatch |= from->mismatch;
    for (int k = 0; k < NK; k++) {
        double a = into->max[k], b = from->max[k];
        float xa = into->at[k], xb = from->at[k];
        if (b > a || (b == a && (fabsf(xb) < fabsf(xa) || (fabsf(xb) == fabsf(xa) && xb > xa))))
            into->max[k] = b, into->at[k] = xb;
    }
}

#define HALF 2048 /* magnitudes per chunk; each is tested as +x and -x */

typedef struct sweep_buf {
    float x[2 * HALF], y0[2 * HALF], y1[2 * HALF], out[NK][2 * HALF], chk[2 * HALF];
    double rf[NK][2 * HALF];
} sweep_buf;

/* Magnitudes k*stride (as bit patterns) for k in [k0, k1), both signs, on
 * every table; the double reference is computed once per magnitude. */
static void sweep_chunk(sweep_buf *bf, const segloss_vec_ops **tab, int nt, uint32_t stride,
                        uint64_t k0, uint64_t k1, sweep_stats *st) {
    int m = 0;
    for (uint64_t k = k0; k < k1; k++, m += 2) {
        float a = f_of_bits((uint32_t)(k * stride));
        double e = exp(-(double)a), lg = log1p(e);
        double s1 = 1.0 / (1.0 + e), s0 = e / (1.0 + e);
        bf->x[m] = a;
        bf->x[m + 1] = -a;
        bf->rf[K_SIG][m] = s1, bf->rf[K_SIG][m + 1] = s0;
        bf->rf[K_SPP][m] = lg + a, bf->rf[K_SPP][m + 1] = lg;
        bf->rf[K_SPN][m] = lg, bf->rf[K_SPN][m + 1] = lg + a;
        bf->rf[K_G0][m] = s1, bf->rf[K_G0][m + 1] = s0;
        bf->rf[K_G1][m] = -s0, bf->rf[K_G1][m + 1] = -s1;
    }
    for (int t = 0; t < nt; t++) {
        const segloss_vec_ops *o = tab[t];
        double s;
        o->sigmoid(bf->out[K_SIG], bf->x, m);
        o->bcel_fused(&s, bf->out[K_SPP], bf->out[K_G0], bf->x, bf->y0, NULL, NULL, NULL, 1.0, m);
        o->bcel_fused(&s, bf->out[K_SPN], bf->out[K_G1], bf->x, bf->y1, NULL, NULL, NULL, 1.0, m);
        if (k0 % (16 * HALF) == 0) {
            /* one chunk in 16: the separate kernels give the same bits */
            o->bcel_fwd(&s, bf->chk, bf->x, bf->y0, NULL, NULL, m);
            st[t].mismatch |= memcmp(bf->chk, bf->out[K_SPP], (size_t)m * sizeof(float)) != 0;
            o->bcel_bwd(bf->chk, bf->x, bf->y1, NULL, NULL, NULL, 1.0, m);
            st[t].mismatch |= memcmp(bf->chk, bf->out[K_G1], (size_t)m * sizeof(float)) != 0;
        }
        for (int k = 0; k < NK; k++) {
            double mx = st[t].max[k];
            float at = st[t].at[k];
            for (int i = 0; i < m; i++) {
                double e = ulp_err(bf->out[k][i], bf->rf[k][i]);
                if (e > mx) mx = e, at = bf->x[i];
            }
            sweep_stats one = st[t];
            one.max[k] = mx, one.at[k] = at;
            stat_merge(&st[t], &one);
        }
    }
}

/* All floats with |x| <= 100 whose bit pattern (sign removed) is a multiple
 * of stride, both signs (in parallel when built with OpenMP). */
static void sweep(const segloss_vec_ops **tab, int nt, uint32_t stride, sweep_stats *st) {
    const uint64_t kmax = 0x42C80000u / stride; /* 100.0f */
    const int64_t nchunks = (int64_t)(kmax / HALF + 1);
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < NK; k++) st[t].max[k] = 0.0, st[t].at[k] = 0.0f;
    for (int t = 0; t < nt; t++) st[t].mismatch = 0;
    int oom = 0;
#if defined(_OPENMP)
#pragma omp parallel
#endif
    {
        sweep_buf *bf = malloc(sizeof *bf);
        sweep_stats loc[SEGLOSS__VEC_MAX_TABLES];
        memcpy(loc, st, (size_t)nt * sizeof *st);
        if (bf) {
            for (int i = 0; i < 2 * HALF; i++) bf->y0[i] = 0.0f, bf->y1[i] = 1.0f;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 16)
#endif
            for (int64_t c = 0; c < nchunks; c++) {
                uint64_t k0 = (uint64_t)c * HALF, k1 = k0 + HALF;
                if (k1 > kmax + 1) k1 = kmax + 1;
                sweep_chunk(bf, tab, nt, stride, k0, k1, loc);
            }
        }
#if defined(_OPENMP)
#pragma omp critical(kernel_sweep)
#endif
        {
            if (!bf) oom = 1;
            for (int t = 0; t < nt; t++) stat_merge(&st[t], &loc[t]);
        }
        free(bf);
    }
    CHECK_MSG(!oom, "out of memory");
}

static void run_sweep(uint32_t stride) {
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int nt = get_tables(tab, 1);
    sweep_stats st[SEGLOSS__VEC_MAX_TABLES];
    sweep(tab, nt, stride, st);
    for (int t = 0; t < nt; t++) {
        CHECK_MSG(!st[t].mismatch, "%s: fwd/bwd differ from fused in the sweep", tab[t]->name);
        for (int k = 0; k < NK; k++) {
            printf("  %-6s %-24s max %.3f ulp at x = %.9g (%a)\n", tab[t]->name, kname[k],
                   st[t].max[k], (double)st[t].at[k], (double)st[t].at[k]);
            CHECK_MSG(st[t].max[k] <= 2.0, "%s %s: %.3f ulp at x = %.9g", tab[t]->name,
                      kname[k], st[t].max[k], (double)st[t].at[k]);
        }
    }
}

/* Under AddressSanitizer the dense sweep takes every 61st float: the
 * sanitizer checks memory, which kernel_lengths_offsets covers at every
 * length and offset; the values are the same as in the normal build. */
#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_STRIDE 61
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_STRIDE 61
#endif
#endif
#ifndef SWEEP_STRIDE
#define SWEEP_STRIDE 7
#endif

TEST(kernel_sweep_dense) {
    /* SEGLOSS_SWEEP_STRIDE=k: every kth float instead (a sample under an
     * emulator: make qemu-test) */
    const char *env = getenv("SEGLOSS_SWEEP_STRIDE");
    long stride = env ? strtol(env, NULL, 10) : SWEEP_STRIDE;
    if (stride < 1 || stride > 1000000) stride = SWEEP_STRIDE;
    printf("kernel_sweep_dense: every %ldth float in [-100, 100]\n", stride);
    run_sweep((uint32_t)stride);
}

TEST(kernel_sweep_full) {
    const char *env = getenv("SEGLOSS_FULL_SWEEP");
    if (!env || *env != '1') {
        printf("SKIP: kernel_sweep_full (set SEGLOSS_FULL_SWEEP=1 to test every float)\n");
        return;
    }
    printf("kernel_sweep_full: every float in [-100, 100]\n");
    run_sweep(1);
}
