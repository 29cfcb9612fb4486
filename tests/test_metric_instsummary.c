/* segloss_instance_summary_*: sums, scores of the sums and NaN-skipping
 * means, against values worked out here. */
#include "tf.h"

#include <segloss.h>

#include <math.h>

static segloss_instance_metrics case_of(int64_t n_ref, int64_t n_pred, int64_t tp, int64_t fp,
                                        int64_t fn, double iou_sum, double precision,
                                        double recall, double pq) {
    segloss_instance_metrics m = {n_ref, n_pred, tp, fp, fn, iou_sum, precision, recall,
                                  0.25, pq, 0.5, 0.75};
    return m;
}

TEST(instances_summary_sums_and_means) {
    segloss_instance_summary s;
    segloss_instance_summary_init(&s);
    segloss_instance_metrics a = case_of(2, 3, 2, 1, 0, 1.5, 0.5, NAN, 0.2);
    segloss_instance_metrics b = case_of(1, 0, 0, 0, 1, 0.0, NAN, NAN, 0.0);
    segloss_instance_metrics c = case_of(4, 4, 3, 1, 1, 2.25, 1.0, 0.6, NAN);
    segloss_lesionwise la = {0, 0, 0, 0, 0.8, 3.0}, lc = {0, 0, 0, 0, NAN, 5.0};
    segloss_instance_summary_add(&s, &a, &la);
    segloss_instance_summary_add(&s, &b, NULL);
    segloss_instance_summary_add(&s, &c, &lc);
    segloss_instance_summary_finish(&s, SEGLOSS_EMPTY_SCORE_NAN);
    CHECK_EQ_INT(s.cases, 3);
    CHECK_EQ_INT(s.total.n_ref, 7);
    CHECK_EQ_INT(s.total.n_pred, 7);
    CHECK_EQ_INT(s.total.tp, 5);
    CHECK_EQ_INT(s.total.fp, 2);
    CHECK_EQ_INT(s.total.fn, 2);
    CHECK_CLOSE(s.total.iou_sum, 3.75, 0, 0);
    /* scores of the sums: tp 5, fp 2, fn 2, iou_sum 3.75 */
    CHECK_CLOSE(s.total.precision, 5.0 / 7.0, 1e-15, 0);
    CHECK_CLOSE(s.total.recall, 5.0 / 7.0, 1e-15, 0);
    CHECK_CLOSE(s.total.f1, 5.0 / 7.0, 1e-15, 0);
    CHECK_CLOSE(s.total.sq, 3.75 / 5.0, 1e-15, 0);
    CHECK_CLOSE(s.total.pq, 3.75 / 7.0, 1e-15, 0);
    /* means of the non-NaN per-case values */
    CHECK_CLOSE(s.mean.precision, 0.75, 1e-15, 0);
    CHECK_CLOSE(s.mean.recall, 0.6, 1e-15, 0);
    CHECK_CLOSE(s.mean.pq, 0.1, 1e-15, 0);
    CHECK_CLOSE(s.mean.f1, 0.25, 1e-15, 0);
    CHECK_CLOSE(s.mean.sq, 0.5, 1e-15, 0);
    CHECK_CLOSE(s.mean.rq, 0.75, 1e-15, 0);
    CHECK_EQ_INT(s.mean.tp, 0);
    CHECK_CLOSE(s.lesionwise_dice, 0.8, 1e-15, 0);
    CHECK_CLOSE(s.lesionwise_hd95, 4.0, 1e-15, 0);
}

TEST(instances_summary_empty) {
    segloss_instance_summary s;
    segloss_instance_summary_init(&s);
    segloss_instance_summary_finish(&s, SEGLOSS_EMPTY_SCORE_NAN);
    CHECK_EQ_INT(s.cases, 0);
    CHECK(isnan(s.total.precision) && isnan(s.total.pq));
    CHECK(isnan(s.mean.precision) && isnan(s.mean.rq));
    CHECK(isnan(s.lesionwise_dice) && isnan(s.lesionwise_hd95));
    /* every per-case value NaN: NaN means; empty counts score by the rule */
    segloss_instance_metrics z = case_of(0, 0, 0, 0, 0, 0.0, NAN, NAN, NAN);
    z.f1 = z.sq = z.rq = NAN;
    segloss_instance_summary_init(&s);
    segloss_instance_summary_add(&s, &z, NULL);
    segloss_instance_summary_finish(&s, SEGLOSS_EMPTY_SCORE_ONE);
    CHECK_EQ_INT(s.cases, 1);
    CHECK(s.total.precision == 1.0 && s.total.f1 == 1.0);
    CHECK(isnan(s.mean.precision) && isnan(s.mean.f1));
    segloss_instance_summary_add(NULL, &z, NULL); /* ignored */
    segloss_instance_summary_finish(NULL, SEGLOSS_EMPTY_SCORE_NAN);
}
