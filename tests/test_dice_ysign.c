/* The Dice gradient without re-reading the target (SEGLOSS_DBCE_YSIGN and
 * dice_grad_ys, kernels/vec.h; used by loss/region_fast.c for the region
 * losses' gradient without BCE and without squared), on every kernel
 * table this CPU has.
 *
 *  dice_ysign_kernels   pass 1 with YSIGN gives the same sums and the same
 *                       |s| as without it, the sign bit of 0.5 - y, and the
 *                       0/1 flag (binary float targets, bytes, soft
 *                       targets, -0.0); pass 2 from the signs alone gives
 *                       the same bits as dice_grad reading the targets
 *  dice_ysign_loss      segloss_dice_forward_backward with binary, soft,
 *                       -0.0 and empty targets per image, and uint8 targets
 *                       with ignore_index, against the gradient written
 *                       out in double here
 */
#include "tf.h"

#include "kernels/vec.h"

#include <math.h>
#include <segloss.h>
#include <stdint.h>
#include <string.h>

static uint64_t ys_state;
static double ys_uniform(void) {
    ys_state ^= ys_state >> 12;
    ys_state ^= ys_state << 25;
    ys_state ^= ys_state >> 27;
    return (double)((ys_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

TEST(dice_ysign_kernels) {
    enum { M = 700 };
    static float x[M], yf[M], sig0[M], sig1[M], g0[M], g1[M];
    static uint8_t yb[M];
    ys_state = 17;
    for (int i = 0; i < M; i++) {
        x[i] = (float)(ys_uniform() * 30 - 15);
        if (i % 97 == 3) x[i] = -0.0f;
        if (i % 89 == 5) x[i] = (float)(ys_uniform() * 200 - 100);
        yb[i] = (uint8_t)(ys_uniform() < 0.4);
    }
    static const int lens[] = {0, 1, 5, 15, 16, 17, 63, 64, 65, 127, 128, 129, 300, M};
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    int ntab = segloss__vec_tables(tab);
    for (int t = 0; t < ntab; t++) {
        const segloss_vec_ops *o = tab[t];
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int n = lens[li];
            /* kind 0: binary floats, 1: bytes, 2: one soft value, 3: one -0.0 */
            for (int kind = 0; kind < 4; kind++) {
                for (int i = 0; i < M; i++) yf[i] = (float)yb[i];
                int at = n * 2 / 3;
                if (n > 0 && kind == 2) yf[at] = 0.625f;
                if (n > 0 && kind == 3) yf[at] = -0.0f;
                double s0[4] = {-1, -1, -1, -1}, s1[4] = {-1, -1, -1, -1};
                segloss_status st0, st1;
                if (kind == 1) {
                    st0 = o->dbce_u8(s0, sig0, x, yb, NULL, n, 0);
                    st1 = o->dbce_u8(s1, sig1, x, yb, NULL, n, SEGLOSS_DBCE_YSIGN);
                } else {
                    st0 = o->dbce(s0, sig0, x, yf, NULL, n, 0);
                    st1 = o->dbce(s1, sig1, x, yf, NULL, n, SEGLOSS_DBCE_YSIGN);
                }
                CHECK_EQ_INT(st0, SEGLOSS_OK);
                CHECK_EQ_INT(st1, SEGLOSS_OK);
                CHECK_MSG(memcmp(s0 + 1, s1 + 1, 3 * sizeof *s0) == 0,
                          "%s n=%d kind %d: sums differ with YSIGN", o->name, n, kind);
                int binary = !(n > 0 && kind >= 2);
                CHECK_MSG(s1[0] == (binary ? 1.0 : 0.0), "%s n=%d kind %d: flag %g", o->name, n,
                          kind, s1[0]);
                int mag = 1, sign = 1;
                for (int i = 0; i < n; i++) {
                    float y = kind == 1 ? (float)yb[i] : yf[i];
                    mag &= fabsf(sig0[i]) == fabsf(sig1[i]) &&
                           signbit(fabsf(sig0[i])) == signbit(fabsf(sig1[i]));
                    sign &= !signbit(sig1[i]) == !(y > 0.5f);
                }
                CHECK_MSG(mag && sign, "%s n=%d kind %d: stored s (magnitude %d, sign %d)",
                          o->name, n, kind, mag, sign);
                /* pass 2: from the signs (binary) or reading y (the sign unused) */
                const float a = 0.37f, d = -0.81f;
                memcpy(g0, sig0, sizeof g0);
                memcpy(g1, sig1, sizeof g1);
                if (kind == 1) o->dice_grad_u8(g0, yb, NULL, 0.0f, a, d, 0, n);
                else o->dice_grad(g0, yf, NULL, 0.0f, a, d, 0, n);
                if (binary) o->dice_grad_ys(g1, a, d, n);
                else o->dice_grad(g1, yf, NULL, 0.0f, a, d, 0, n);
                CHECK_MSG(memcmp(g0, g1, (size_t)n * sizeof *g0) == 0,
                          "%s n=%d kind %d: gradient bits differ", o->name, n, kind);
                CHECK(n == M || g1[n] == sig1[n]); /* nothing written past n */
            }
        }
    }
}

/* d loss / d x of MONAI's DiceLoss(sigmoid=True), mean over (n, c), in
 * double; elements whose byte is `ign` (>= 0) are left out and get 0. */
static void dice_grad_ref(double *ref, const float *x, const float *yf, const uint8_t *yb,
                          int ign, int64_t groups, int64_t s) {
    for (int64_t gi = 0; gi < groups; gi++) {
        double I = 0, P = 0, G = 0;
        for (int64_t k = gi * s; k < (gi + 1) * s; k++) {
            if (yb && yb[k] == ign) continue;
            double p = 1 / (1 + exp(-(double)x[k])), y = yb ? yb[k] : yf[k];
            I += p * y, P += p, G += y;
        }
        double den = P + G + 1e-5;
        double dI = -2 / den / (double)groups, dP = (2 * I + 1e-5) / (den * den) / (double)groups;
        for (int64_t k = gi * s; k < (gi + 1) * s; k++) {
            double p = 1 / (1 + exp(-(double)x[k])), y = yb ? yb[k] : yf[k];
            ref[k] = (yb && yb[k] == ign) ? 0.0 : (dI * y + dP) * p * (1 - p);
        }
    }
}

/* Runs on kernel table k (-1: the default again); returns its name. */
static const char *use_path(int k) {
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    segloss__vec_tables(tab);
    if (k < 0) {
        segloss__vec_force_scalar(-1);
        return "default";
    }
    segloss__vec_force(tab[k]);
    return segloss__vec_ops()->name;
}

TEST(dice_ysign_loss) {
    enum { N = 5, C = 2, S = 48 * 40, E = N * C * S };
    static float x[E], yf[E], g[E];
    static double ref[E];
    static uint8_t yb[E], yb0[E];
    ys_state = 5;
    for (int i = 0; i < E; i++) {
        x[i] = (float)(ys_uniform() * 12 - 6);
        yb[i] = (uint8_t)(ys_uniform() < 0.3);
        yf[i] = (float)yb[i];
    }
    yf[1 * C * S + 100] = 0.25f;  /* image 1, channel 0: one soft target */
    yf[2 * C * S + S + 7] = -0.0f; /* image 2, channel 1: -0.0 */
    for (int i = 3 * C * S; i < 4 * C * S; i++) yf[i] = 0.0f; /* image 3: empty */
    segloss_shape shape = {4, {N, C, 48, 40}};
    segloss_dice_opts opts = segloss_dice_opts_default();
    int nt[2] = {1, 3};
    memcpy(yb0, yb, sizeof yb);
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    for (int t = 0; t < segloss__vec_tables(tab); t++) {
        const char *path = use_path(t);
        for (int ti = 0; ti < 2; ti++) {
            segloss_set_num_threads(nt[ti]);
            for (int route = 0; route < 2; route++) {
                /* route 0: float targets; 1: bytes with ignore_index 7 */
                segloss_target tg = {route ? (const void *)yb : (const void *)yf,
                                     route ? SEGLOSS_U8 : SEGLOSS_F32};
                if (route) {
                    for (int i = 0; i < E; i += 37) yb[i] = 7;
                    opts.ignore_index = 7;
                }
                double loss;
                CHECK_EQ_INT(segloss_dice_forward_backward(&loss, NULL, g, x, &tg, &shape, &opts,
                                                           NULL),
                             SEGLOSS_OK);
                dice_grad_ref(ref, x, route ? NULL : yf, route ? yb : NULL, route ? 7 : -1,
                              N * C, S);
                double worst = 0;
                for (int i = 0; i < E; i++) {
                    double err = fabs(g[i] - ref[i]) / (1e-6 * fabs(ref[i]) + 1e-12);
                    if (err > worst) worst = err;
                }
                CHECK_MSG(worst <= 1.0, "%s, %d threads, route %d: gradient error %.3g of tol",
                          path, nt[ti], route, worst);
                if (route) {
                    memcpy(yb, yb0, sizeof yb);
                    opts.ignore_index = SEGLOSS_IGNORE_NONE;
                }
            }
        }
    }
    segloss_set_num_threads(0);
    use_path(-1);
}
