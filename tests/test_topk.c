/* topk-ce's selection against a brute-force full sort: many tied
 * per-position losses (repeated logit columns), NaN logits, every k, sizes
 * from 1 to 10^5. The reference ranks the positions
 * by segloss_ce's own unreduced losses (NaN first, larger values, lower
 * index) with qsort and takes the mean of the first K: the loss must be
 * that mean (1e-12 relative), the gradient that of ce SUM over the K
 * selected positions divided by K (same bits). */
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ranked {
    float v;
    int64_t i;
} ranked;

static int ref_order(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn ? -1 : 1;
    if (!xn && x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* One case: N = 1, C = 3, m positions; logits from a few distinct columns
 * (ties), every 7th position NaN when with_nan; with spread, logits from a
 * continuum and class weights of both signs (losses of both signs, few
 * ties: every digit of the radix selection matters). */
static void topk_case(int64_t m, double k, int with_nan, unsigned seed, int spread) {
    const int64_t c = 3;
    float *x = malloc((size_t)(c * m) * sizeof *x), *g = malloc((size_t)(c * m) * sizeof *g);
    float *gr = malloc((size_t)(c * m) * sizeof *gr), *l = malloc((size_t)m * sizeof *l);
    int64_t *t = malloc((size_t)m * sizeof *t), *sel = malloc((size_t)m * sizeof *sel);
    ranked *rk = malloc((size_t)m * sizeof *rk);
    if (!x || !g || !gr || !l || !t || !sel || !rk) abort();
    srand(seed);
    for (int64_t i = 0; i < m; i++) {
        int col = rand() % 5; /* five distinct columns: heavy ties */
        for (int64_t j = 0; j < c; j++)
            x[j * m + i] = spread ? (float)(rand() % 200001 - 100000) * 1e-4f
                                  : (float)((col * 7 + (int)j * 3) % 11) / 4.0f - 1.0f;
        if (with_nan && i % 7 == 3) x[i] = NAN;
        t[i] = rand() % c;
    }
    segloss_shape sh = {3, {1, c, m}};
    segloss_target tg = {t, SEGLOSS_I64};
    segloss_topk_ce_opts o = segloss_topk_ce_opts_default();
    o.k = k;
    static const float cw[3] = {1.0f, -0.5f, 2.0f};
    if (spread) o.ce.class_weight = (segloss_farray){cw, {1, {3}}};
    /* reference */
    segloss_ce_opts ce = o.ce;
    ce.reduction = SEGLOSS_REDUCTION_NONE;
    double unused;
    CHECK(segloss_ce_forward(&unused, l, x, &tg, &sh, &ce) == SEGLOSS_OK);
    for (int64_t i = 0; i < m; i++) rk[i] = (ranked){l[i], i};
    qsort(rk, (size_t)m, sizeof *rk, ref_order);
    int64_t kk = (int64_t)floor((double)m * k / 100.0);
    for (int64_t i = 0; i < m; i++) sel[i] = -1;
    for (int64_t j = 0; j < kk; j++) sel[rk[j].i] = t[rk[j].i];
    segloss_target ts = {sel, SEGLOSS_I64};
    ce.reduction = SEGLOSS_REDUCTION_SUM;
    ce.ignore_index = -1;
    double sum = 0;
    CHECK(segloss_ce_forward(&sum, NULL, x, &ts, &sh, &ce) == SEGLOSS_OK);
    float up = (float)(1.0 / (double)(kk > 0 ? kk : 1));
    CHECK(segloss_ce_backward(gr, x, &ts, &sh, &ce, &up) == SEGLOSS_OK);
    /* segloss */
    double loss = 0;
    CHECK(segloss_topk_ce_forward(&loss, x, &tg, &sh, &o) == SEGLOSS_OK);
    CHECK(segloss_topk_ce_backward(g, x, &tg, &sh, &o, NULL) == SEGLOSS_OK);
    double want = kk > 0 ? sum / (double)kk : NAN;
    CHECK_MSG((isnan(loss) && isnan(want)) || fabs(loss - want) <= 1e-12 * fabs(want) + 1e-300,
              "m %lld k %g nan %d: loss %.17g, brute force %.17g", (long long)m, k, with_nan, loss,
              want);
    CHECK_MSG(memcmp(g, gr, (size_t)(c * m) * sizeof *g) == 0,
              "m %lld k %g nan %d: gradient differs from the brute-force selection", (long long)m,
              k, with_nan);
    free(x);
    free(g);
    free(gr);
    free(l);
    free(t);
    free(sel);
    free(rk);
}

TEST(topk_selection_brute_force) {
    static const int64_t sizes[] = {1, 2, 3, 7, 16, 33, 100, 1000, 4099};
    static const double ks[] = {0, 1, 10, 33.3, 50, 90, 100};
    unsigned seed = 1;
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
            for (int nan = 0; nan < 2; nan++)
                for (int spread = 0; spread < 2; spread++)
                    topk_case(sizes[a], ks[b], nan, seed++, spread);
    topk_case(100000, 10, 0, seed++, 1);
    topk_case(100000, 37.5, 1, seed, 1);
}
