/* Instance scores from counts.
 *
 *   precision = tp/(tp+fp)   recall = tp/(tp+fn)
 *   f1 = rq = tp/(tp + fp/2 + fn/2)   sq = iou_sum/tp
 *   pq = iou_sum/(tp + fp/2 + fn/2)  (= sq*rq when tp > 0; 0 when tp = 0
 *        and fp + fn > 0, as sq*rq is in the limit and as MONAI reports)
 * A 0/0 takes the empty-score rule. MONAI's PanopticQualityMetric computes
 * rq = tp/(tp + fp/2 + fn/2 + 1e-6) and sq = iou_sum/(tp + 1e-6): equal to
 * these within 1e-6 relative, and 0 (not 0/0) on empty cases. */
#include "metric/metric.h"

#include <math.h>

static double ratio(double num, double den, segloss_empty_score e) {
    return den > 0.0 ? num / den : segloss__empty_value(e);
}

void segloss_instance_scores(segloss_instance_metrics *m, segloss_empty_score e) {
    if (!m) return;
    const double tp = (double)m->tp, fp = (double)m->fp, fn = (double)m->fn;
    const double half = tp + 0.5 * fp + 0.5 * fn;
    m->precision = ratio(tp, tp + fp, e);
    m->recall = ratio(tp, tp + fn, e);
    m->f1 = ratio(tp, half, e);
    m->rq = m->f1;
    m->sq = ratio(m->iou_sum, tp, e);
    m->pq = ratio(m->iou_sum, half, e);
}
