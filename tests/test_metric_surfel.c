/* --surface surfel against DeepMind surface-distance's own code
 * (compute_surface_distances, compute_robust_hausdorff,
 * compute_average_surface_distance, compute_surface_dice_at_tolerance):
 * 2-D and 3-D masks, anisotropic spacing, single voxels, border-touching
 * and full-image masks, identical masks, empty masks, random masks that
 * hold every neighbourhood code. References:
 * tests/data/metric/surfel_ref.txt from tools/ref/gen_surfel_ref.py. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int close9(double a, double r) { return ref_close(a, r, 1e-9, 1e-12); }

static segloss_metric_opts surfel_opts(const double sp[3], int nd) {
    segloss_metric_opts o = segloss_metric_opts_default();
    for (int a = 0; a < nd; a++) o.spacing[a] = sp[a];
    o.surface = SEGLOSS_SURFACE_SURFEL;
    return o;
}

TEST(surfel_equals_deepmind) {
    char *text = ref_read_file(tf_data_path("metric/surfel_ref.txt"));
    CHECK_MSG(text != NULL, "cannot read metric/surfel_ref.txt");
    if (!text) return;
    ref_lexer lx = {text};
    int ncase = 0, ndist = 0, nempty = 0;
    char *t;
    while ((t = ref_tok(&lx)) != NULL) {
        CHECK_MSG(strcmp(t, "case") == 0, "expected case, got %s", t);
        if (strcmp(t, "case") != 0) break;
        int64_t nd;
        ref_tok_i64(&lx, &nd);
        segloss_shape shape = {(int)nd, {1, 1, 1}};
        int64_t n = 1;
        double sp[3] = {1, 1, 1};
        for (int a = 0; a < nd; a++) {
            ref_tok_i64(&lx, &shape.dim[a]);
            n *= shape.dim[a];
        }
        for (int a = 0; a < nd; a++) ref_tok_f64(&lx, &sp[a]);
        uint8_t *pred = ref_read_mask(&lx, "pred", n), *ref = ref_read_mask(&lx, "ref", n);
        CHECK(pred && ref);
        if (!pred || !ref) break;
        ncase++;
        t = ref_tok(&lx);
        segloss_metric_opts o = surfel_opts(sp, (int)nd);
        segloss_surface_metrics sm;
        if (strcmp(t, "empty") == 0) {
            int64_t na, nb;
            ref_tok_i64(&lx, &na);
            ref_tok_i64(&lx, &nb);
            CHECK_EQ_INT(segloss_surface_distances_binary(&sm, pred, ref, &shape, &o),
                         SEGLOSS_OK);
            CHECK(isnan(sm.hd) && isnan(sm.hd95) && isnan(sm.masd));
            CHECK(sm.nsd == 0.0 || (na == 0 && nb == 0 && isnan(sm.nsd)));
            nempty++;
        } else {
            int64_t ng, np;
            double v[9];
            ref_tok_i64(&lx, &ng);
            ref_tok_i64(&lx, &np);
            for (int i = 0; i < 9; i++) ref_tok_f64(&lx, &v[i]);
            const double pct[3] = {100.0, 95.0, 50.0};
            for (int k = 0; k < 3; k++) {
                o.percentile = pct[k];
                for (int tol = 1; tol <= 2; tol++) {
                    o.tolerance = tol;
                    CHECK_EQ_INT(segloss_surface_distances_binary(&sm, pred, ref, &shape, &o),
                                 SEGLOSS_OK);
                    CHECK_MSG(close9(sm.hd95, v[k]), "case %d p%g: %.17g vs DeepMind %.17g",
                              ncase, pct[k], sm.hd95, v[k]);
                    CHECK_MSG(close9(sm.nsd, v[6 + tol]),
                              "case %d nsd tau %d: %.17g vs DeepMind %.17g", ncase, tol,
                              sm.nsd, v[6 + tol]);
                }
            }
            CHECK_MSG(close9(sm.hd, v[0]), "case %d hd %.17g vs %.17g", ncase, sm.hd, v[0]);
            /* DeepMind's gt is segloss's ref, its pred segloss's pred */
            CHECK(close9(sm.mean_ref_to_pred, v[3]));
            CHECK(close9(sm.mean_pred_to_ref, v[4]));
            CHECK(close9(sm.masd, 0.5 * (v[3] + v[4])));
            CHECK(close9(sm.max_ref_to_pred, v[5]));
            CHECK(close9(sm.max_pred_to_ref, v[6]));
            CHECK_EQ_INT(sm.n_surface_ref, ng);
            CHECK_EQ_INT(sm.n_surface_pred, np);
            ndist++;
        }
        free(pred);
        free(ref);
    }
    CHECK(ncase >= 15 && ndist >= 12 && nempty == 3);
    free(text);
}

/* Distance from corner p to the nearest of q[0..n), spacing s0, s1. */
static double nearest(const int p[2], const int (*q)[2], int n, double s0, double s1) {
    double best = INFINITY;
    for (int j = 0; j < n; j++) {
        const double a = (p[0] - q[j][0]) * s0, b = (p[1] - q[j][1]) * s1;
        best = fmin(best, sqrt(a * a + b * b));
    }
    return best;
}

/* The pooled fields, from the definition by brute force on a small case:
 * weights from DeepMind's 2-D contour lengths, distances by brute force
 * over the corner grid. */
TEST(surfel_pooled_2d_brute_force) {
    /* 3x4 image; pred = one voxel (1,1), ref = voxels (1,2),(2,2) */
    uint8_t pred[12] = {0}, ref[12] = {0};
    pred[1 * 4 + 1] = 1;
    ref[1 * 4 + 2] = ref[2 * 4 + 2] = 1;
    const double s0 = 0.5, s1 = 2.0;
    const double sp[3] = {s0, s1, 1};
    segloss_shape shape = {2, {3, 4, 1}};
    segloss_metric_opts o = surfel_opts(sp, 2);
    segloss_surface_metrics sm;
    CHECK_EQ_INT(segloss_surface_distances_binary(&sm, pred, ref, &shape, &o), SEGLOSS_OK);
    /* pred surfels: the 4 corners of voxel (1,1): (1,1),(1,2),(2,1),(2,2),
     * each one voxel inside: weight h. ref: corners (1,2),(1,3) [h],
     * (2,2),(2,3) [column of two: s0], (3,2),(3,3) [h]. */
    const double h = 0.5 * sqrt(s0 * s0 + s1 * s1);
    const int pc[4][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}};
    const int rc[6][2] = {{1, 2}, {1, 3}, {2, 2}, {2, 3}, {3, 2}, {3, 3}};
    const double rw[6] = {h, h, s0, s0, h, h};
    double dsum = 0, wsum = 0, d[10], w[10];
    int k = 0;
    for (int i = 0; i < 4; i++, k++) {
        d[k] = nearest(pc[i], rc, 6, s0, s1);
        w[k] = h;
    }
    for (int j = 0; j < 6; j++, k++) {
        d[k] = nearest(rc[j], pc, 4, s0, s1);
        w[k] = rw[j];
    }
    for (int i = 0; i < 10; i++) {
        dsum += d[i] * w[i];
        wsum += w[i];
    }
    const double mean = dsum / wsum;
    double ss = 0;
    for (int i = 0; i < 10; i++) ss += w[i] * (d[i] - mean) * (d[i] - mean);
    CHECK_EQ_INT(sm.n_surface_pred, 4);
    CHECK_EQ_INT(sm.n_surface_ref, 6);
    CHECK(close9(sm.assd, mean));
    CHECK(close9(sm.sd_std, sqrt(ss / wsum)));
    /* weighted median: the smallest d whose cumulative weight reaches half */
    double med = NAN;
    for (double cut = 0; isnan(med); cut += 0) {
        double best = INFINITY;
        for (int i = 0; i < 10; i++)
            if (d[i] >= cut && d[i] < best) best = d[i];
        double cw = 0;
        for (int i = 0; i < 10; i++)
            if (d[i] <= best) cw += w[i];
        if (cw / wsum >= 0.5) med = best;
        cut = nextafter(best, INFINITY);
    }
    CHECK(close9(sm.sd_median, med));
}

TEST(surfel_rank1_and_bad_kind) {
    uint8_t a[5] = {0, 1, 1, 0, 0}, b[5] = {0, 0, 1, 1, 0};
    segloss_shape shape = {1, {5, 1, 1}};
    segloss_metric_opts o = segloss_metric_opts_default();
    segloss_surface_metrics sm;
    o.surface = SEGLOSS_SURFACE_SURFEL;
    CHECK_EQ_INT(segloss_surface_distances_binary(&sm, a, b, &shape, &o), SEGLOSS_ERR_ARG);
    o.surface = (segloss_surface_kind)7;
    CHECK_EQ_INT(segloss_surface_distances_binary(&sm, a, b, &shape, &o), SEGLOSS_ERR_ARG);
    o.surface = SEGLOSS_SURFACE_VOXEL;
    CHECK_EQ_INT(segloss_surface_distances_binary(&sm, a, b, &shape, &o), SEGLOSS_OK);
}
