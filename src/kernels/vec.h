/* Vectorised float32 element kernels — private API.
 *
 * Five implementations of the same kernels, chosen at run time
 * (dispatch.c):
 *   "scalar"    plain C11 float code, one element at a time (vec_scalar.c),
 *               always built: the reference path (SEGLOSS_FORCE_SCALAR=1);
 *   "portable"  GCC/Clang generic vectors of 4 floats (vec_portable.c),
 *               built with the ordinary flags: SSE2 on x86-64, NEON on
 *               aarch64; used when no ISA-specific table below applies;
 *   "avx2"      AVX2+FMA, 8 lanes (vec_avx2.c, compiled with -mavx2 -mfma);
 *   "avx512"    AVX-512F/BW/DQ/VL, 16 lanes (vec_avx512.c, compiled with
 *               -mavx512f -mavx512bw -mavx512dq -mavx512vl);
 *   "neon"      AArch64 Advanced SIMD with FMA, 4 lanes (vec_neon.c).
 * The four vector tables are one source, simd_math.h and simd_loss.h (with
 * simd_dice.h), over per-ISA primitives (simd_x86.h: those AVX2 and
 * AVX-512 spell alike);
 * portable has no FMA (two roundings where the others
 * fuse) and divides num/(1+e) in double (1 + e exact there, the quotient
 * rounded to double, then to float), with the accuracy of the scalar and
 * FMA paths. segloss__vec_ops() returns the best table of this CPU
 * (avx512, avx2, neon, portable), or the one the environment variables
 * SEGLOSS_ISA=scalar|portable|avx2|avx512|neon or SEGLOSS_FORCE_SCALAR=1
 * (read once) ask for, so that tests and benchmarks can run every path.
 *
 * All follow the double reference of kernels/scalar.h in float arithmetic:
 *   e = exp(-|x|)     Cody–Waite reduction, degree-6 polynomial, 2^n applied
 *                     in two steps where the result is denormal, so that it
 *                     is rounded once, and exp(t) = 0 for t < -103.97
 *   sigmoid(x) = N/(1+e), N = 1 (x >= 0) or e (x < 0): q = N/u by true
 *                     division (u = 1 + e rounded), then q + r/(1+e) with the
 *                     remainder against 1 + e itself, r = (N - q) - q e
 *                     (N - q exact), which takes out the rounding of u
 *                     (nearly correctly rounded N/(1+e)); portable: N/(1+e)
 *                     in double, rounded to float; scalar: q + (N - q(u+c))/u
 *                     with c = e - (u - 1) and 1/u from a quadratic
 *   L = log1p(e)      vector paths: from e itself, never from a rounded 1 + e:
 *                     f = e (e <= 1/2) or (e - 1)/2 (exact), L = k ln2 +
 *                     f + f^2 q(f), q of degree 8 on [-1/4, 1/2]; scalar:
 *                     log(u) + c/u, log(u) = k ln2 + log(m) by the
 *                     exponent/mantissa split (m in [sqrt(1/2), sqrt 2]) and
 *                     a degree-10 polynomial, c/u the part of e lost in
 *                     rounding 1 + e (for e < 2^-24 both give L = e exactly)
 *   softplus(+-x) = L + max(+-x, 0)
 * and BCE with logits in the cancellation-free form of loss/bce_logits.c:
 *   l_i = w_i * [ (1-y_i) * softplus(x_i) + pw_i*y_i * softplus(-x_i) ]
 *   g_i = s_i * w_i * [ (1-y_i)*sigmoid(x_i) - pw_i*y_i*sigmoid(-x_i) ]
 *       = s_i * w_i * [ (1-y_i)*N1 - pw_i*y_i*N2 ] / (1+e)  (one division,
 *         as sigmoid; N1, N2 = the numerators of sigmoid(x), sigmoid(-x))
 *   s_i = gscale * (gvec ? gvec[i] : 1)
 * Special values behave as in the double driver: NaN propagates; sigmoid
 * +-inf -> 1/0; softplus(+-x) of infinite x is inf or 0; a zero factor times
 * an infinite softplus (y = 0 with x = -inf, y = 1 with x = +inf) gives NaN,
 * exactly as (1-y)*inf does in loss/bce_logits.c and in PyTorch.
 *
 * ACCURACY, measured against the double reference (exp and log1p in
 * double, glibc) at every float x in [-100, 100] (tests/test_kernels.c,
 * kernel_sweep_full; the error is in ulps of the reference's float binade,
 * 2^-149 in the denormal range, so x < -87.3 is included), y = 0 and y = 1,
 * no weights:
 *
 *   kernel / term                     path      max ulp   at x
 *   sigmoid                           avx2      1.501     -5.84655666
 *                                     avx512    as avx2 (same bits)
 *                                     scalar    1.489     -5.54199123
 *                                     portable  1.480     -4.8464551
 *                                               (quotient in double)
 *   bcel loss, y = 0: softplus(x)     avx2      1.715     -0.469700277
 *                                     avx512    as avx2 (same bits)
 *                                     scalar    1.800     -1.28737533
 *                                     portable  1.759     -1.26240945
 *   bcel loss, y = 1: softplus(-x)    all       as y = 0 at -x (same bits)
 *   bcel grad, y = 0: sigmoid(x)      all       as sigmoid (same bits)
 *   bcel grad, y = 1: -sigmoid(-x)    all       as sigmoid at -x
 *   neon (qemu, every 997th float): sigmoid 1.437, softplus 1.567 ulp;
 *   the same operations as avx2 (FMA), 4 lanes.
 * avx512 runs avx2's operation sequence on 16 lanes: element results are
 * the same bits (sums differ in the last bits: other lanes).
 *
 * Outside [-100, 100]: sigmoid is 1 or a denormal/0 within 1 ulp of the
 * 2^-149 grid, softplus(+-x) is |x| or 0 up to FLT_MAX (no overflow).
 * Weights, soft labels and the upstream factor add one rounding per
 * product (the tests bound them at 1e-6 relative, against the double
 * formula). Sums of 2^20 random elements: 1.9e-9 (avx2) and 2.3e-9
 * (scalar) relative to the double reference.
 *
 * Block kernels: outputs first, then const inputs, then n, then options; the
 * float-target forward/backward have exactly the signatures of
 * loss/elementwise.h's segloss_ew_fwd / segloss_ew_bwd, so they plug into
 * that driver (blocks of SEGLOSS_BLOCK, block sums combined in order by the
 * caller). Pointers need no alignment; n is any value >= 0. w, pw, gvec are
 * NULL when absent (= 1). An output may be the same array as an input of the
 * same type (in place) but must not overlap it otherwise; elems and grad must
 * not overlap each other.
 *
 * Sums: each element loss is rounded to float, then added in double, lane by
 * lane (lane = index mod the vector width from the start of the block; one
 * running sum in the scalar path), lanes combined in a fixed order. The sum
 * depends only on (n, data, path): not on alignment, not on the thread
 * count.
 *
 * float targets: the bcel and dbce kernels check every y in [0, 1] (NaN is
 * out of range, -0.0 in) in the same pass and return SEGLOSS_ERR_TARGET when
 * one is not (the outputs are then unspecified): the callers need no
 * separate check pass. dice_grad (pass 2) does not check.
 *
 * uint8 targets: the _u8 kernels read y as bytes that must be 0 or 1 and give
 * the same bits as the float kernels on y = (float)byte. Any other byte makes
 * them return SEGLOSS_ERR_TARGET (the outputs are then unspecified); a bool
 * array whose bytes may be other than 0/1 must be converted first.
 *
 * The region losses' float32 engine (loss/region_fast.c: dice, jaccard,
 * tversky, generalized dice, dice + bce), two passes over each channel plane:
 *   dbce       pass 1: from e = exp(-|x|) and the small sigmoid
 *                s = sigmoid(-|x|) = e/(1+e)   (one division, as sigmoid)
 *              p = sigmoid(x) = s (x < 0) or 1 - s (x >= 0: no cancellation,
 *              s <= 1/2), and
 *                sums[0] = sum l_i      (SEGLOSS_DBCE_LOSS: the bcel loss
 *                                        terms with pw, no w; their bits)
 *                sums[1] = sum p_i y_i
 *                sums[2] = sum p_i      (SEGLOSS_DBCE_SQUARED: sum p_i^2)
 *                sums[3] = sum y_i      (SEGLOSS_DBCE_SQUARED: sum y_i^2)
 *              every term rounded to float, then added in double in the
 *              order described for the loss sum (vector paths, all four
 *              sums, sums[0] too since session 8: the terms of 8
 *              consecutive vectors first added lane-wise in float,
 *              ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)); see
 *              simd_dice.h's dbce_loop). When sig != NULL,
 *              sig[i] = s_i with the sign bit of x_i: everything pass 2
 *              needs of x, so pass 2 neither reads x nor computes an exp.
 *   dice_grad  pass 2, in place: on entry g[i] holds sig[i] of pass 1; on
 *              return the gradient
 *                g_i = gb [(1-y_i) sigmoid(x_i) - pw_i y_i sigmoid(-x_i)]
 *                      + (a y_i + d dp_i) s_i (1 - s_i)
 *              (BCE part: omitted when gb = 0; Dice part: sigmoid'(x) =
 *              s (1-s), dp = 1, or 2p with squared), the sigmoids being s
 *              and 1 - s by the sign bit.
 * ACCURACY (error analysis; tests/test_fused.c checks s to 2e-7 relative,
 * each sum to 3e-7 of the sum of |terms|, each gradient term to 6e-7
 * relative, on both paths): s as sigmoid (<= 1.49 ulp); p = 1 - s adds
 * half an ulp of p (s <= 1/2, so s's error is at most 0.75 ulp of p); a
 * BCE gradient term <= 2 ulp, the Dice term <= ~4 ulp of itself (a*y + d*dp
 * is formed in float; the AVX2 path fuses multiply-adds that the scalar
 * path rounds twice, so the two paths may differ in the last bits). Below
 * x = -87.3 the small sigmoid is denormal and so are the terms made from it.
 */
#ifndef SEGLOSS_KERNELS_VEC_H
#define SEGLOSS_KERNELS_VEC_H

#include <segloss.h>

#include <stdint.h>

/* y[i] = sigmoid(x[i]). out may be x. */
typedef void (*segloss_vec_sigmoid_fn)(float *out, const float *x, int64_t n);

/* *sum = sum_i l_i (double); elems[i] = l_i when elems != NULL. */
typedef segloss_status (*segloss_vec_bcel_fwd_fn)(double *sum, float *elems, const float *x,
                                                  const float *y, const float *w,
                                                  const float *pw, int64_t n);
/* grad[i] = g_i; the upstream factor s_i is formed in float:
 * (float)gscale * gvec[i], or (float)gscale. */
typedef segloss_status (*segloss_vec_bcel_bwd_fn)(float *grad, const float *x, const float *y,
                                                  const float *w, const float *pw,
                                                  const float *gvec, double gscale, int64_t n);
/* Both in one pass: *sum and elems (may be NULL) as the forward, grad as the
 * backward; the same bits as the two separate kernels. */
typedef segloss_status (*segloss_vec_bcel_fused_fn)(double *sum, float *elems, float *grad,
                                                    const float *x, const float *y,
                                                    const float *w, const float *pw,
                                                    const float *gvec, double gscale,
                                                    int64_t n);
/* The same with y as 0/1 bytes. */
typedef segloss_status (*segloss_vec_bcel_fwd_u8_fn)(double *sum, float *elems, const float *x,
                                                     const uint8_t *y, const float *w,
                                                     const float *pw, int64_t n);
typedef segloss_status (*segloss_vec_bcel_bwd_u8_fn)(float *grad, const float *x,
                                                     const uint8_t *y, const float *w,
                                                     const float *pw, const float *gvec,
                                                     double gscale, int64_t n);
typedef segloss_status (*segloss_vec_bcel_fused_u8_fn)(double *sum, float *elems, float *grad,
                                                       const float *x, const uint8_t *y,
                                                       const float *w, const float *pw,
                                                       const float *gvec, double gscale,
                                                       int64_t n);

/* Dice + BCE pass 1 (see above); flags: SEGLOSS_DBCE_*. sums[0] is written
 * only with SEGLOSS_DBCE_LOSS or SEGLOSS_DBCE_YSIGN; sig may be NULL (pass
 * 2 not needed).
 * SEGLOSS_DBCE_YSIGN (neither LOSS nor SQUARED, pw unused: the Dice
 * gradient alone): sig[i] = s_i with the sign bit of 0.5 - y_i instead of
 * x_i's (set for y = 1, clear for y = 0; the Dice part of pass 2 does not
 * use x's sign without squared), and sums[0] = 1 when every y_i is 0 or 1
 * (bytes: always), else 0. Then dice_grad_ys computes the gradient from
 * sig alone, without reading y (else dice_grad, which reads y, as usual). */
#define SEGLOSS_DBCE_LOSS 1u
#define SEGLOSS_DBCE_SQUARED 4u
#define SEGLOSS_DBCE_YSIGN 8u
typedef segloss_status (*segloss_vec_dbce_fn)(double *sums, float *sig, const float *x,
                                              const float *y, const float *pw, int64_t n,
                                              unsigned flags);
typedef segloss_status (*segloss_vec_dbce_u8_fn)(double *sums, float *sig, const float *x,
                                                 const uint8_t *y, const float *pw, int64_t n,
                                                 unsigned flags);
/* Dice + BCE pass 2 (see above); pw may be NULL. The _u8 variant does not
 * check the bytes (pass 1 did). */
typedef void (*segloss_vec_dice_grad_fn)(float *g, const float *y, const float *pw, float gb,
                                         float a, float d, int squared, int64_t n);
typedef void (*segloss_vec_dice_grad_u8_fn)(float *g, const uint8_t *y, const float *pw,
                                            float gb, float a, float d, int squared,
                                            int64_t n);
/* Pass 2 after SEGLOSS_DBCE_YSIGN with sums[0] = 1: y_i = 1 where sig[i]'s
 * sign bit is set, else 0; the same bits as dice_grad(g, y, NULL, 0, a, d,
 * 0, n) with those y. */
typedef void (*segloss_vec_dice_grad_ys_fn)(float *g, float a, float d, int64_t n);

typedef struct segloss_vec_ops {
    const char *name;                      /* "scalar", "portable", "avx2", ... */
    int width;                             /* floats per vector: 1, 4, 8 or 16 */
    segloss_vec_sigmoid_fn sigmoid;
    segloss_vec_bcel_fwd_fn bcel_fwd;
    segloss_vec_bcel_bwd_fn bcel_bwd;
    segloss_vec_bcel_fused_fn bcel_fused;
    segloss_vec_bcel_fwd_u8_fn bcel_fwd_u8;
    segloss_vec_bcel_bwd_u8_fn bcel_bwd_u8;
    segloss_vec_bcel_fused_u8_fn bcel_fused_u8;
    segloss_vec_dbce_fn dbce;
    segloss_vec_dbce_u8_fn dbce_u8;
    segloss_vec_dice_grad_fn dice_grad;
    segloss_vec_dice_grad_u8_fn dice_grad_u8;
    segloss_vec_dice_grad_ys_fn dice_grad_ys;
} segloss_vec_ops;

/* The table to use (dispatch.c): the best this CPU has (avx512, avx2, neon,
 * portable), or the one SEGLOSS_ISA / SEGLOSS_FORCE_SCALAR asks for. Never
 * NULL; thread-safe. */
const segloss_vec_ops *segloss__vec_ops(void);
/* Always available. */
const segloss_vec_ops *segloss__vec_ops_scalar(void);
/* Each NULL when the CPU lacks the ISA or the build did not compile it. */
const segloss_vec_ops *segloss__vec_ops_portable(void);
const segloss_vec_ops *segloss__vec_ops_avx2(void);
const segloss_vec_ops *segloss__vec_ops_avx512(void);
const segloss_vec_ops *segloss__vec_ops_neon(void);
/* Every table this CPU has, scalar first, then portable, avx2, avx512,
 * neon; returns the count (at most SEGLOSS__VEC_MAX_TABLES). */
#define SEGLOSS__VEC_MAX_TABLES 5
int segloss__vec_tables(const segloss_vec_ops **out);
/* mode 1: segloss__vec_ops() returns the scalar table; 0: the best table,
 * ignoring SEGLOSS_FORCE_SCALAR and SEGLOSS_ISA; -1: back to the default
 * (the environment decides). For tests and benchmarks. */
void segloss__vec_force_scalar(int mode);
/* segloss__vec_ops() returns t (one of this CPU's tables) until the next
 * call; NULL: back to the default. For tests. */
void segloss__vec_force(const segloss_vec_ops *t);

/* The tables without the CPU check (dispatch.c does it); NULL when not
 * compiled for the ISA. Defined in vec_portable.c, vec_avx2.c,
 * vec_avx512.c, vec_neon.c (one source, simd_math.h and simd_loss.h with
 * simd_dice.h, over
 * per-ISA vector primitives). */
const segloss_vec_ops *segloss__vec_ops_portable_table(void);
const segloss_vec_ops *segloss__vec_ops_avx2_table(void);
const segloss_vec_ops *segloss__vec_ops_avx512_table(void);
const segloss_vec_ops *segloss__vec_ops_neon_table(void);

/* Constants shared by both paths (float hex literals). */
#define SEGLOSS__LOG2E     0x1.715476p+0f   /* 1/ln 2 */
#define SEGLOSS__EXP_MIN   (-110.0f)        /* exp(t) == 0 in float for t < -103.98 */
/* Cody–Waite: ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits so that
 * n*LN2_HI is exact for |n| < 2^15 and t - n*LN2_HI is exact. */
#define SEGLOSS__EXP_LN2_HI 0x1.63p-1f
#define SEGLOSS__EXP_LN2_LO (-0x1.bd0106p-13f)
/* exp(r) ~ 1 + r + c2 r^2 + ... + c6 r^6 on [-ln2/2, ln2/2]: minimax for
 * relative error (Remez), 2^-28.0 with the coefficients rounded to float. */
#define SEGLOSS__EXP_C2 0x1.fffffcp-2f
#define SEGLOSS__EXP_C3 0x1.555492p-3f
#define SEGLOSS__EXP_C4 0x1.5558f2p-5f
#define SEGLOSS__EXP_C5 0x1.1239d4p-7f
#define SEGLOSS__EXP_C6 0x1.6a244cp-10f
/* log(1+f) ~ f + f^2 (c2 + c3 f + ... + c10 f^8) on [sqrt(1/2)-1, sqrt2-1]:
 * minimax for relative error, 2^-27.0 with the coefficients rounded (the
 * scalar path's log1p; the vector paths use SEGLOSS__LOG1P_C*). */
#define SEGLOSS__LOG_C2  (-0x1.fffff8p-2f)
#define SEGLOSS__LOG_C3  0x1.555550p-2f
#define SEGLOSS__LOG_C4  (-0x1.000430p-2f)
#define SEGLOSS__LOG_C5  0x1.99a48cp-3f
#define SEGLOSS__LOG_C6  (-0x1.5425ecp-3f)
#define SEGLOSS__LOG_C7  0x1.226424p-3f
#define SEGLOSS__LOG_C8  (-0x1.0f35fep-3f)
#define SEGLOSS__LOG_C9  0x1.08a42cp-3f
#define SEGLOSS__LOG_C10 (-0x1.39236ap-4f)
/* 1/u ~ C0 + C1 u + C2 u^2 on [1, 2], 1.01% relative (minimax; scalar path). */
#define SEGLOSS__RCP_C0  0x1.0f83e6p+1f
#define SEGLOSS__RCP_C1  (-0x1.745d26p+0f)
#define SEGLOSS__RCP_C2  0x1.4afd7cp-2f
/* log1p(f) ~ f + f^2 (c2 + c3 f + ... + c10 f^8) on [-1/4, 1/2]: minimax
 * for relative error, 2^-27.6 with the coefficients rounded to float
 * (simd_math.h's log1p of e in [0, 1]). */
#define SEGLOSS__LOG1P_C2  (-0x1p-1f)
#define SEGLOSS__LOG1P_C3  0x1.5555a4p-2f
#define SEGLOSS__LOG1P_C4  (-0x1.00004ap-2f)
#define SEGLOSS__LOG1P_C5  0x1.99699ep-3f
#define SEGLOSS__LOG1P_C6  (-0x1.54ed96p-3f)
#define SEGLOSS__LOG1P_C7  0x1.28807ap-3f
#define SEGLOSS__LOG1P_C8  (-0x1.0d98f2p-3f)
#define SEGLOSS__LOG1P_C9  0x1.acf4bap-4f
#define SEGLOSS__LOG1P_C10 (-0x1.71e354p-5f)
/* 1/u ~ C0 + C1 u on [1, 2], 5.9% relative (minimax: 24/17 - 8/17 u). */
#define SEGLOSS__RCP1_C0 0x1.69696ap+0f
#define SEGLOSS__RCP1_C1 (-0x1.e1e1e2p-2f)
#define SEGLOSS__SQRT2   0x1.6a09e6p+0f
#define SEGLOSS__LN2_HI  0x1.62e430p-1f     /* float(ln 2) */
#define SEGLOSS__LN2_LO  (-0x1.05c610p-29f) /* ln 2 - LN2_HI */

/* Softmax over axis 1 (appended for the softmax cross-entropy family,
 * loss/softmax.c; kernels/simd_softmax.h). For positions i in [0, n), the
 * C logits x[k*xs + i] (k < C):
 *   mx[i] = max_k x (NaN when one is NaN)
 *   p[k*ps + i] = exp(x_k - mx) / sum_j exp(x_j - mx)   (skipped when p is NULL)
 *   sp[i] = sum_j exp(x_j - mx) - 1, formed without the 1 of the maximum
 *           (sum over the channels below it, plus the count at it - 1)
 * so that -log p_y = log1p(sp) + (mx - x_y) keeps its relative accuracy
 * when one class dominates. exp as the sigmoid's (<= 2 ulp) of x - mx
 * rounded to float (as PyTorch's softmax: |x - mx| 2^-24 relative more),
 * the sum in float in class order, p = e * (1/sum); tests/
 * test_softmax_kernels.c checks p and sp against a long-double reference
 * to 4 ulp plus that rounding. p may be the input (ps == xs, in
 * place); mx and sp must not overlap either. */
typedef void (*segloss_vec_softmax_fn)(float *p, int64_t ps, float *mx, float *sp,
                                       const float *x, int64_t xs, int64_t c, int64_t n);
/* The softmax kernel of table t (dispatch.c); never NULL for a table of
 * this CPU. */
segloss_vec_softmax_fn segloss__vec_softmax(const segloss_vec_ops *t);
/* Per file, without the CPU check; NULL when not compiled for the ISA. */
segloss_vec_softmax_fn segloss__vec_softmax_scalar(void);
segloss_vec_softmax_fn segloss__vec_softmax_portable(void);
segloss_vec_softmax_fn segloss__vec_softmax_avx2(void);
segloss_vec_softmax_fn segloss__vec_softmax_avx512(void);
segloss_vec_softmax_fn segloss__vec_softmax_neon(void);

/* The same in double, for loss values (kernels/simd_softmax_d.h): for
 * positions i in [0, n), with mx = max_k x[k*xs + i] (NaN when one is NaN),
 *   e[k*es + i] = exp(x_k - mx)   (skipped when e is NULL)
 *   sum[i] = sum_k exp(x_k - mx)  (in class order)
 *   lse[i] = mx + log(sum[i])     (skipped when lse is NULL)
 * exp within a few 1e-16 relative (0 below exp(-708)), log within 1 ulp
 * (fdlibm's); the scalar table uses libm's exp and log. p_k = e_k / sum. */
typedef void (*segloss_vec_softmax_d_fn)(double *e, int64_t es, double *sum, double *lse,
                                         const float *x, int64_t xs, int64_t c, int64_t n);
segloss_vec_softmax_d_fn segloss__vec_softmax_d(const segloss_vec_ops *t);
segloss_vec_softmax_d_fn segloss__vec_softmax_d_scalar(void);
segloss_vec_softmax_d_fn segloss__vec_softmax_d_portable(void);
segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx2(void);
segloss_vec_softmax_d_fn segloss__vec_softmax_d_avx512(void);
segloss_vec_softmax_d_fn segloss__vec_softmax_d_neon(void);

/* e[i] = exp(-|x[i]|) and L[i] = log1p(e[i]) in double (the focal terms'
 * softplus and sigmoid: softplus(+-x) = L + max(+-x, 0), sigmoid(x) =
 * 1/(1+e) or e/(1+e)), the exp and log of simd_softmax_d.h; the scalar
 * table uses libm's exp and log1p. */
typedef void (*segloss_vec_softplus_d_fn)(double *e, double *L, const float *x, int64_t n);
segloss_vec_softplus_d_fn segloss__vec_softplus_d(const segloss_vec_ops *t);
segloss_vec_softplus_d_fn segloss__vec_softplus_d_scalar(void);
segloss_vec_softplus_d_fn segloss__vec_softplus_d_portable(void);
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx2(void);
segloss_vec_softplus_d_fn segloss__vec_softplus_d_avx512(void);
segloss_vec_softplus_d_fn segloss__vec_softplus_d_neon(void);

#endif
