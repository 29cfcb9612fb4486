/* Second-edition metrics: closed-form values from counts, the 0/0 rule,
 * and the empty-mask values of the mask metrics and the new distances. */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <string.h>

TEST(metric_confusion_closed_form) {
    /* TP 6, FP 2, FN 3, TN 9: N = 20 */
    segloss_confusion c = {6, 2, 3, 9};
    segloss_metric_opts o = segloss_metric_opts_default();
    o.spacing[0] = 0.5;
    o.spacing[1] = 2.0;
    o.spacing[2] = 1.5;
    segloss_overlap_scores s;
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &c, &o), SEGLOSS_OK);
    const double sens = 6.0 / 9.0, spec = 9.0 / 11.0;
    CHECK_CLOSE(s.mcc, (6.0 * 9 - 2.0 * 3) / sqrt(8.0 * 9 * 11 * 12), 1e-15, 1e-14);
    /* p_o = 15/20, p_e = (8*9 + 12*11)/400 = 204/400 */
    CHECK_CLOSE(s.kappa, (0.75 - 0.51) / (1 - 0.51), 1e-15, 1e-14);
    CHECK_CLOSE(s.fbeta, 12.0 / 17.0, 1e-15, 1e-14);
    CHECK_CLOSE(s.balanced_accuracy, (sens + spec) / 2, 1e-15, 1e-14);
    CHECK_CLOSE(s.youden, sens + spec - 1, 1e-15, 1e-14);
    CHECK_CLOSE(s.npv, 9.0 / 12.0, 0, 1e-15);
    CHECK_CLOSE(s.fpr, 2.0 / 11.0, 0, 1e-15);
    CHECK_CLOSE(s.fnr, 3.0 / 9.0, 0, 1e-15);
    CHECK_CLOSE(s.fdr, 2.0 / 8.0, 0, 1e-15);
    CHECK_CLOSE(s.for_, 3.0 / 12.0, 0, 1e-15);
    CHECK_CLOSE(s.lr_pos, sens / (2.0 / 11.0), 0, 1e-14);
    CHECK_CLOSE(s.lr_neg, (1 - sens) / spec, 0, 1e-14);
    CHECK_CLOSE(s.vol_pred, 8 * 1.5, 0, 1e-15);
    CHECK_CLOSE(s.vol_ref, 9 * 1.5, 0, 1e-15);
    CHECK_CLOSE(s.vol_diff, -1.5, 0, 1e-15);
    /* beta 2: 5 TP / (5 TP + 4 FN + FP) */
    o.beta = 2.0;
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &c, &o), SEGLOSS_OK);
    CHECK_CLOSE(s.fbeta, 30.0 / (30.0 + 12.0 + 2.0), 0, 1e-15);
    o.beta = -1.0;
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &c, &o), SEGLOSS_ERR_ARG);
    o.beta = 0.0; /* read as 1 */
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &c, &o), SEGLOSS_OK);
    CHECK_CLOSE(s.fbeta, 12.0 / 17.0, 1e-15, 1e-14);
}

TEST(metric_confusion_zero_denominators) {
    segloss_overlap_scores s;
    /* both masks empty: every ratio with TP+FP or TP+FN below is 0/0 */
    segloss_confusion both = {0, 0, 0, 10};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &both, NULL), SEGLOSS_OK);
    CHECK(isnan(s.mcc) && isnan(s.kappa) && isnan(s.fbeta) && isnan(s.balanced_accuracy));
    CHECK(isnan(s.youden) && isnan(s.fnr) && isnan(s.fdr) && isnan(s.lr_pos) && isnan(s.lr_neg));
    CHECK_CLOSE(s.npv, 1.0, 0, 0);
    CHECK_CLOSE(s.fpr, 0.0, 0, 0);
    CHECK_CLOSE(s.for_, 0.0, 0, 0);
    CHECK_CLOSE(s.vol_pred, 0.0, 0, 0);
    segloss_metric_opts o = segloss_metric_opts_default();
    o.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &both, &o), SEGLOSS_OK);
    CHECK(s.mcc == 1.0 && s.kappa == 1.0 && s.fbeta == 1.0 && s.lr_pos == 1.0);
    /* a perfect prediction: FP = 0 makes lr_pos undefined, not infinite */
    segloss_confusion perfect = {4, 0, 0, 6};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &perfect, NULL), SEGLOSS_OK);
    CHECK(isnan(s.lr_pos));
    CHECK_CLOSE(s.lr_neg, 0.0, 0, 0);
    CHECK_CLOSE(s.mcc, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.kappa, 1.0, 0, 1e-15);
    /* every voxel predicted: TN + FN = 0 */
    segloss_confusion allpos = {4, 6, 0, 0};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &allpos, NULL), SEGLOSS_OK);
    CHECK(isnan(s.npv) && isnan(s.for_) && isnan(s.mcc) && isnan(s.lr_neg));
    CHECK_CLOSE(s.kappa, 0.0, 1e-15, 0);
}

TEST(metric_evalseg_closed_form) {
    segloss_overlap_scores s;
    /* identical masks: 4 foreground, 12 background voxels */
    segloss_confusion same = {4, 0, 0, 12};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &same, NULL), SEGLOSS_OK);
    const double h = -(0.25 * log2(0.25) + 0.75 * log2(0.75));
    CHECK_CLOSE(s.gce, 0.0, 0, 0);
    CHECK_CLOSE(s.ri, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.ari, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.mi, h, 0, 1e-15);
    CHECK_CLOSE(s.voi, 0.0, 1e-15, 0);
    CHECK_CLOSE(s.icc, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.pbd, 0.0, 0, 0);
    CHECK_CLOSE(s.auc, 1.0, 0, 0);
    /* complementary masks: the same partition of the voxels, relabelled */
    segloss_confusion comp = {0, 12, 4, 0};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &comp, NULL), SEGLOSS_OK);
    CHECK_CLOSE(s.ri, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.ari, 1.0, 0, 1e-15);
    CHECK_CLOSE(s.voi, 0.0, 1e-15, 0);
    CHECK_CLOSE(s.auc, 0.0, 0, 0);
    CHECK(isnan(s.pbd));
    /* GlobalConsistencyError.h:74: E1 = FN(FN+2TP)/(TP+FN) + FP(FP+2TN)/(TN+FP)
     * = 3*15/9 + 2*20/11, E2 = 2*14/8 + 3*21/12, over N = 20 */
    segloss_confusion c = {6, 2, 3, 9};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &c, NULL), SEGLOSS_OK);
    const double e1 = 45.0 / 9 + 40.0 / 11, e2 = 28.0 / 8 + 63.0 / 12;
    CHECK_CLOSE(s.gce, (e1 < e2 ? e1 : e2) / 20, 0, 1e-15);
    CHECK_CLOSE(s.pbd, 5.0 / 12.0, 0, 1e-15);
    /* pair counts: 190 pairs; same class in both: C(6,2)+C(2,2)+C(3,2)+C(9,2)
     * = 15+1+3+36 = 55; same in B: C(9,2)+C(11,2) = 36+55 = 91; same in A:
     * C(8,2)+C(12,2) = 28+66 = 94; agreements = 190 + 2*55 - 91 - 94 */
    CHECK_CLOSE(s.ri, 115.0 / 190.0, 0, 1e-15);
    const double ex = 91.0 * 94.0 / 190.0;
    CHECK_CLOSE(s.ari, (55.0 - ex) / ((91.0 + 94.0) / 2 - ex), 0, 1e-14);
}

/* One label of a 2-D case through segloss_label_metrics_compute. */
static void label2d(segloss_label_metrics *m, const uint8_t *p, const uint8_t *r, int64_t h,
                    int64_t w, const segloss_metric_opts *o) {
    segloss_shape shape = {2, {h, w}};
    segloss_label_array pa = {p, SEGLOSS_U8}, ra = {r, SEGLOSS_U8};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &shape), SEGLOSS_OK);
    int64_t lab = 1;
    CHECK_EQ_INT(segloss_label_metrics_compute(m, &lab, 1, &set, &pa, &ra, &shape, o),
                 SEGLOSS_OK);
    segloss_label_set_free(&set);
}

TEST(metric_mask_metrics_closed_form) {
    /* pred: 5x5 block at (0,0); ref: 5x5 block at (2,3); image 10x12 */
    uint8_t p[120], r[120], z[120];
    memset(p, 0, sizeof p);
    memset(r, 0, sizeof r);
    memset(z, 0, sizeof z);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            p[i * 12 + j] = 1;
            r[(i + 2) * 12 + j + 3] = 1;
        }
    segloss_metric_opts o = segloss_metric_opts_default();
    o.spacing[0] = 2.0;
    o.spacing[1] = 0.5;
    o.mask_metrics =
        SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST | SEGLOSS_MASK_MAHALANOBIS;
    segloss_label_metrics m;
    label2d(&m, p, r, 10, 12, &o);
    CHECK_CLOSE(m.mask.com_dist, sqrt(4.0 * 4 + 1.5 * 1.5), 0, 1e-15);
    /* two 5x5 blocks: covariance diag(2, 2) (the variance of 0..4) in voxel
     * indices whatever the spacing; shift (2, 3) */
    CHECK_CLOSE(m.mask.mahalanobis, sqrt(4.0 / 2 + 9.0 / 2), 0, 1e-14);
    /* w = 1 <= min spacing 0.5? no: w = 1 > 0.5, so X_w = X's voxels within
     * 1 of S(X): the 16 rim voxels plus, along axis 1 (spacing 0.5), the
     * ring one column in: columns 1 and 3 of rows 1..3 (distance 0.5 <
     * 1); rows are 2 apart. Per block: 16 + 6 = 22 voxels. */
    uint8_t aw[120], bw[120];
    memset(aw, 0, sizeof aw);
    memset(bw, 0, sizeof bw);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            int in = (i == 0 || i == 4 || j == 0 || j == 4 || j == 1 || j == 3);
            aw[i * 12 + j] = (uint8_t)in;
            bw[(i + 2) * 12 + j + 3] = (uint8_t)in;
        }
    int inter = 0, uni = 0;
    for (int i = 0; i < 120; i++) {
        inter += aw[i] & bw[i];
        uni += aw[i] | bw[i];
    }
    CHECK_CLOSE(m.mask.boundary_iou, (double)inter / uni, 0, 1e-15);
    CHECK(isnan(m.surface.hd)); /* distances not asked for */
    /* one mask empty: boundary_iou 0, com_dist NaN (or the diagonal) */
    label2d(&m, z, r, 10, 12, &o);
    CHECK_CLOSE(m.mask.boundary_iou, 0.0, 0, 0);
    CHECK(isnan(m.mask.com_dist));
    o.empty_distance = SEGLOSS_EMPTY_DISTANCE_DIAG;
    o.distances = 1;
    label2d(&m, z, r, 10, 12, &o);
    CHECK_CLOSE(m.mask.com_dist, sqrt(20.0 * 20 + 6.0 * 6), 0, 1e-15);
    CHECK_CLOSE(m.surface.masd, m.mask.com_dist, 0, 0);
    CHECK_CLOSE(m.surface.sd_std, m.mask.com_dist, 0, 0);
    /* both empty: boundary_iou is the empty score */
    o.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    label2d(&m, z, z, 10, 12, &o);
    CHECK_CLOSE(m.mask.boundary_iou, 1.0, 0, 0);
    CHECK(isnan(m.mask.com_dist) && isnan(m.surface.sd_median) && isnan(m.mask.mahalanobis));
    /* a flat pair (one row each): singular covariance */
    uint8_t p1[120], r1[120];
    memset(p1, 0, sizeof p1);
    memset(r1, 0, sizeof r1);
    for (int j = 2; j < 7; j++) p1[3 * 12 + j] = r1[3 * 12 + j + 2] = 1;
    label2d(&m, p1, r1, 10, 12, &o);
    CHECK(isnan(m.mask.mahalanobis));
    o.mask_metrics = 16; /* no such bit */
    segloss_shape shape = {2, {10, 12}};
    segloss_label_array pa = {p, SEGLOSS_U8}, ra = {r, SEGLOSS_U8};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &shape), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_label_metrics_compute(&m, NULL, set.count, &set, &pa, &ra, &shape, &o),
                 SEGLOSS_ERR_ARG);
    segloss_label_set_free(&set);
}
