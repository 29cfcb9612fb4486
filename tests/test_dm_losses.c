/* The distance-map losses' gradient paths that the MONAI reference cases
 * (test_loss2_ref.c) do not reach, by the chain rule against the paths
 * they do: with log, the gradient for upstream w is the log-free gradient
 * for upstream w / (f + 1), f the log-free item value (the reduced loss
 * for MEAN/SUM). hausdorff-dt writes the log gradient for up = 1 and
 * scales it afterwards (MEAN/SUM: one factor; NONE with batch: one per
 * channel; softmax with NONE and batch: a second sweep), or scales it as
 * it goes (NONE without batch); the log-free gradient is scaled as it
 * goes. Also: the fused boundary call gives the bits of the two calls,
 * and the results do not depend on the thread count. */
#include "segloss.h"
#include "tf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

enum { HN = 3, HC = 3, HH = 9, HW = 11, HS = HH * HW, HNUM = HN * HC * HS };

static double max_abs(const float *a, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

TEST(hausdorff_dt_log_paths) {
    static float x[HNUM], xp[HNUM], g[HNUM], e[HNUM], elems[HN * HC], w[HN * HC], w2[HN * HC];
    static uint8_t yi[HN * HS], yd[HNUM];
    for (int i = 0; i < HNUM; i++) {
        x[i] = (float)(4.0 * urand() - 2.0);
        xp[i] = (float)urand();
        yd[i] = urand() < 0.4;
    }
    for (int i = 0; i < HN * HS; i++) yi[i] = (uint8_t)(urand() * HC);
    const segloss_shape sh = {4, {HN, HC, HH, HW}};
    static const segloss_activation acts[] = {SEGLOSS_ACTIVATION_SIGMOID, SEGLOSS_ACTIVATION_SOFTMAX,
                                              SEGLOSS_ACTIVATION_NONE};
    static const segloss_reduction reds[] = {SEGLOSS_REDUCTION_MEAN, SEGLOSS_REDUCTION_SUM,
                                             SEGLOSS_REDUCTION_NONE};
    for (int a = 0; a < 3; a++)
        for (int r = 0; r < 3; r++)
            for (int b = 0; b < 2; b++)
                for (int nb = 0; nb < 2; nb++) {
                    segloss_hausdorff_dt_opts o = segloss_hausdorff_dt_opts_default();
                    o.activation = acts[a];
                    o.reduction = reds[r];
                    o.batch = b;
                    o.no_background = nb;
                    o.alpha = r == 1 ? 1.5 : 2.0;
                    const float *in = acts[a] == SEGLOSS_ACTIVATION_NONE ? xp : x;
                    segloss_target t = {acts[a] == SEGLOSS_ACTIVATION_SOFTMAX ? (void *)yi
                                                                               : (void *)yd,
                                        SEGLOSS_U8};
                    segloss_shape is;
                    CHECK(segloss_hausdorff_dt_items_shape(&is, &sh, &o) == SEGLOSS_OK);
                    const int items = (int)(is.dim[0] * (is.ndim == 2 ? is.dim[1] : 1));
                    const int none = reds[r] == SEGLOSS_REDUCTION_NONE;
                    for (int i = 0; i < items; i++) w[i] = (float)(0.5 + urand());
                    double lf = 0.0, ll = 0.0;
                    /* log-free values, then the scaled upstream */
                    CHECK(segloss_hausdorff_dt_forward(&lf, none ? elems : NULL, in, &t, &sh,
                                                       &o) == SEGLOSS_OK);
                    for (int i = 0; i < (none ? items : 1); i++)
                        w2[i] = (float)(w[i] / ((none ? elems[i] : lf) + 1.0));
                    CHECK(segloss_hausdorff_dt_backward(e, in, &t, &sh, &o, w2) == SEGLOSS_OK);
                    o.log = 1;
                    CHECK(segloss_hausdorff_dt_forward_backward(&ll, none ? elems : NULL, g, in,
                                                                &t, &sh, &o, w) == SEGLOSS_OK);
                    const double tol = 2e-6 * max_abs(e, HNUM) + 1e-30;
                    double worst = 0.0;
                    for (int i = 0; i < HNUM; i++)
                        worst = fabs(g[i] - e[i]) > worst ? fabs(g[i] - e[i]) : worst;
                    CHECK_MSG(worst <= tol && max_abs(e, HNUM) > 0.0,
                              "act %d red %d batch %d nobg %d: grad diff %.3g (tol %.3g)", a, r,
                              b, nb, worst, tol);
                    if (!none) CHECK_CLOSE(ll, log(lf + 1.0), 0, 1e-15);
                }
}

/* The fused boundary call: the bits of the forward and the backward; and
 * one thread or three give the same bits (hausdorff-dt too). */
TEST(distance_losses_fused_threads) {
    enum { N = 5, C = 3, H = 13, W = 17, S = H * W, NUM = N * C * S };
    static float x[NUM], g1[NUM], g2[NUM], g3[NUM];
    static uint8_t y[N * S];
    for (int i = 0; i < NUM; i++) x[i] = (float)(6.0 * urand() - 3.0);
    for (int i = 0; i < N * S; i++) y[i] = (uint8_t)((i / 5 + i / (7 * W)) % C);
    const segloss_shape sh = {4, {N, C, H, W}};
    segloss_target t = {y, SEGLOSS_U8};
    const float up = 0.75f;
    for (int red = 0; red < 2; red++) {
        segloss_boundary_opts o = segloss_boundary_opts_default();
        o.no_background = red;
        o.reduction = red ? SEGLOSS_REDUCTION_SUM : SEGLOSS_REDUCTION_MEAN;
        double l1 = 0, l2 = 0, l3 = 0;
        segloss_set_num_threads(1);
        CHECK(segloss_boundary_forward(&l1, x, &t, &sh, &o) == SEGLOSS_OK);
        CHECK(segloss_boundary_backward(g1, x, &t, &sh, &o, &up) == SEGLOSS_OK);
        CHECK(segloss_boundary_forward_backward(&l2, g2, x, &t, &sh, &o, &up) == SEGLOSS_OK);
        segloss_set_num_threads(3);
        CHECK(segloss_boundary_forward_backward(&l3, g3, x, &t, &sh, &o, &up) == SEGLOSS_OK);
        CHECK(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(&l1, &l3, sizeof l1) == 0);
        CHECK(memcmp(g1, g2, sizeof g1) == 0 && memcmp(g1, g3, sizeof g1) == 0);
        CHECK(max_abs(g1, NUM) > 0.0);
    }
    segloss_hausdorff_dt_opts o = segloss_hausdorff_dt_opts_default();
    o.activation = SEGLOSS_ACTIVATION_SOFTMAX;
    o.log = 1;
    double l1 = 0, l3 = 0;
    segloss_set_num_threads(1);
    CHECK(segloss_hausdorff_dt_forward_backward(&l1, NULL, g1, x, &t, &sh, &o, &up) ==
          SEGLOSS_OK);
    segloss_set_num_threads(3);
    CHECK(segloss_hausdorff_dt_forward_backward(&l3, NULL, g3, x, &t, &sh, &o, &up) ==
          SEGLOSS_OK);
    CHECK(memcmp(&l1, &l3, sizeof l1) == 0 && memcmp(g1, g3, sizeof g1) == 0);
    segloss_set_num_threads(0);
}
