/* segloss_region_metrics_compute (nnU-Net regions and ignore label) against
 * counts and scores written here: a hand-worked case, and random maps whose
 * confusion counts are brute-forced voxel by voxel. */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(metric_regions_hand) {
    /* ignore 3: voxels 2 and 3 (ref == 3) leave every count */
    int32_t p[6] = {1, 2, 0, 3, 2, 1}, r[6] = {1, 1, 3, 3, 2, 0};
    segloss_shape sh = {1, {6}};
    segloss_label_array A = {p, SEGLOSS_I32}, B = {r, SEGLOSS_I32};
    segloss_metric_opts o = segloss_metric_opts_default();
    o.distances = 1;
    const int64_t ign = 3;
    /* regions {1,2} and {3} */
    int64_t labs[3] = {1, 2, 3}, offs[3] = {0, 2, 3};
    segloss_label_metrics m[2];
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, 2, &ign, &A, &B, &sh, &o),
                 SEGLOSS_OK);
    /* {1,2}: pred 1,1,-,-,1,1  ref 1,1,-,-,1,0 */
    CHECK_EQ_INT(m[0].stats.label, 0);
    CHECK_EQ_INT(m[0].stats.conf.tp, 3);
    CHECK_EQ_INT(m[0].stats.conf.fp, 1);
    CHECK_EQ_INT(m[0].stats.conf.fn, 0);
    CHECK_EQ_INT(m[0].stats.conf.tn, 0);
    CHECK_CLOSE(m[0].overlap.dice, 6.0 / 7.0, 1e-15, 0);
    CHECK_CLOSE(m[0].overlap.iou, 3.0 / 4.0, 1e-15, 0);
    CHECK_CLOSE(m[0].surface.hd, 1.0, 1e-15, 0);
    /* {3}: only ignored voxels hold 3: both maps empty */
    CHECK_EQ_INT(m[1].stats.label, 1);
    CHECK_EQ_INT(m[1].stats.conf.tp + m[1].stats.conf.fp + m[1].stats.conf.fn, 0);
    CHECK_EQ_INT(m[1].stats.conf.tn, 4);
    CHECK(isnan(m[1].overlap.dice));
    /* no ignore label: voxels 2 and 3 are negatives of {1,2} */
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, 2, NULL, &A, &B, &sh, &o),
                 SEGLOSS_OK);
    CHECK_EQ_INT(m[0].stats.conf.tn, 2);
    CHECK_CLOSE(m[0].overlap.dice, 6.0 / 7.0, 1e-15, 0);
    CHECK_EQ_INT(m[1].stats.conf.tp, 1); /* voxel 3 */
    CHECK_EQ_INT(m[1].stats.conf.fn, 1); /* voxel 2 */
    /* one label per region (offsets NULL): stats.label is the label */
    int64_t single[2] = {3, 1};
    CHECK_EQ_INT(segloss_region_metrics_compute(m, single, NULL, 2, &ign, &A, &B, &sh, NULL),
                 SEGLOSS_OK);
    CHECK_EQ_INT(m[0].stats.label, 3);
    CHECK_EQ_INT(m[0].stats.conf.tn, 4);
    CHECK_EQ_INT(m[1].stats.label, 1);
    /* label 1: pred 1,0,-,-,0,1  ref 1,1,-,-,0,0 */
    CHECK_EQ_INT(m[1].stats.conf.tp, 1);
    CHECK_EQ_INT(m[1].stats.conf.fp, 1);
    CHECK_EQ_INT(m[1].stats.conf.fn, 1);
    CHECK_EQ_INT(m[1].stats.conf.tn, 1);
    CHECK_CLOSE(m[1].overlap.dice, 0.5, 1e-15, 0);
    CHECK(isnan(m[1].surface.hd)); /* distances not requested (NULL opts) */
}

TEST(metric_regions_errors) {
    uint8_t p[4] = {0, 1, 1, 0}, r[4] = {1, 1, 0, 0};
    float f[4] = {0};
    uint64_t big[4] = {0, 1, (uint64_t)INT64_MAX + 1, 0};
    segloss_shape sh = {1, {4}};
    segloss_label_array A = {p, SEGLOSS_U8}, B = {r, SEGLOSS_U8};
    segloss_label_array F = {f, SEGLOSS_F32}, U = {big, SEGLOSS_U64};
    segloss_label_metrics m[2];
    int64_t labs[2] = {1, 2}, offs[3] = {0, 1, 2}, bad[3] = {0, 2, 1};
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, -1, NULL, &A, &B, &sh, NULL),
                 SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, bad, 2, NULL, &A, &B, &sh, NULL),
                 SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_region_metrics_compute(NULL, labs, offs, 2, NULL, &A, &B, &sh, NULL),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_metrics_compute(m, NULL, NULL, 2, NULL, &A, &B, &sh, NULL),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, 2, NULL, &F, &B, &sh, NULL),
                 SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, 2, NULL, &A, &U, &sh, NULL),
                 SEGLOSS_ERR_DOMAIN);
    CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, 0, NULL, &A, &B, &sh, NULL),
                 SEGLOSS_OK);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static int64_t rnd_int(int64_t n) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (int64_t)(x % (uint64_t)n);
}

static int member(int64_t v, const int64_t *s, int64_t n) {
    for (int64_t k = 0; k < n; k++)
        if (s[k] == v) return 1;
    return 0;
}

TEST(metric_regions_random) {
    for (int it = 0; it < 200; it++) {
        int ndim = 1 + (int)rnd_int(3);
        segloss_shape sh = {ndim, {0}};
        int64_t n = 1;
        for (int d = 0; d < ndim; d++) n *= sh.dim[d] = 1 + rnd_int(ndim == 1 ? 40 : 9);
        int16_t *p = malloc((size_t)n * sizeof *p), *r = malloc((size_t)n * sizeof *r);
        CHECK(p && r);
        if (!p || !r) return;
        for (int64_t i = 0; i < n; i++) {
            p[i] = (int16_t)(rnd_int(6) - 1); /* -1..4 */
            r[i] = (int16_t)(rnd_int(6) - 1);
        }
        /* up to 4 regions of 0..3 labels drawn from -1..4 */
        int64_t labs[12], offs[5] = {0};
        int64_t nr = 1 + rnd_int(4);
        for (int64_t q = 0; q < nr; q++) {
            int64_t k = rnd_int(4);
            for (int64_t j = 0; j < k; j++) labs[offs[q] + j] = rnd_int(6) - 1;
            offs[q + 1] = offs[q] + k;
        }
        int64_t ign = rnd_int(6) - 1;
        const int use_ign = (int)rnd_int(3) != 0;
        segloss_label_array A = {p, SEGLOSS_I16}, B = {r, SEGLOSS_I16};
        segloss_label_metrics m[4];
        CHECK_EQ_INT(segloss_region_metrics_compute(m, labs, offs, nr, use_ign ? &ign : NULL,
                                                    &A, &B, &sh, NULL),
                     SEGLOSS_OK);
        for (int64_t q = 0; q < nr; q++) {
            const int64_t *s = labs + offs[q], ns = offs[q + 1] - offs[q];
            int64_t tp = 0, fp = 0, fn = 0, tn = 0;
            for (int64_t i = 0; i < n; i++) {
                if (use_ign && r[i] == ign) continue;
                int a = member(p[i], s, ns), b = member(r[i], s, ns);
                tp += a && b;
                fp += a && !b;
                fn += !a && b;
                tn += !a && !b;
            }
            CHECK_EQ_INT(m[q].stats.label, q);
            CHECK_EQ_INT(m[q].stats.conf.tp, tp);
            CHECK_EQ_INT(m[q].stats.conf.fp, fp);
            CHECK_EQ_INT(m[q].stats.conf.fn, fn);
            CHECK_EQ_INT(m[q].stats.conf.tn, tn);
            if (2 * tp + fp + fn > 0)
                CHECK_CLOSE(m[q].overlap.dice, 2.0 * (double)tp / (double)(2 * tp + fp + fn),
                            1e-14, 0);
            else
                CHECK(isnan(m[q].overlap.dice));
            if (tp + fp + fn + tn > 0)
                CHECK_CLOSE(m[q].overlap.accuracy, (double)(tp + tn) / (double)(tp + fp + fn + tn),
                            1e-14, 0);
        }
        free(p);
        free(r);
    }
}
