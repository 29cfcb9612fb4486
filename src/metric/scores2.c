/* Confusion-derived scores and volumes of one label, from TP, FP, FN, TN
 * (formulas in segloss.h, at segloss_overlap_scores; definitions as Metrics
 * Reloaded 0.1.0's metrics/pairwise_measures.py states them).
 *
 * Every ratio takes its counts as doubles: counts are exact in a double up
 * to 2^53 voxels, and products such as (TP+FP)(TP+FN)(TN+FP)(TN+FN) would
 * overflow int64 for volumes of a few 10^5 voxels. A ratio whose
 * denominator is 0 is the empty-score value (NaN by default); the likelihood
 * ratios and the recall/specificity averages are undefined as soon as one
 * of their parts is. */
#include "metric/metric.h"

#include <math.h>

static double frac(double num, double den, double empty) { return den != 0.0 ? num / den : empty; }

void segloss__confusion_scores(segloss_overlap_scores *o, const segloss_confusion *c,
                               segloss_empty_score e, double beta, double voxel_volume) {
    const double tp = (double)c->tp, fp = (double)c->fp, fn = (double)c->fn, tn = (double)c->tn;
    const double n = tp + fp + fn + tn, ev = segloss__empty_value(e);

    const double pp = tp + fp, rp = tp + fn, rn = tn + fp, pn = tn + fn;
    o->mcc = frac(tp * tn - fp * fn, sqrt(pp * rp * rn * pn), ev);
    /* kappa = (p_o - p_e)/(1 - p_e) with p_o = (TP+TN)/N and
     * p_e = (pp*rp + pn*rn)/N^2, multiplied through by N^2 */
    o->kappa = frac((tp + tn) * n - (pp * rp + pn * rn), n * n - (pp * rp + pn * rn), ev);
    const double b2 = beta * beta;
    o->fbeta = frac((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn + fp, ev);

    const int sens_ok = rp != 0.0, spec_ok = rn != 0.0;
    const double sens = sens_ok ? tp / rp : NAN, spec = spec_ok ? tn / rn : NAN;
    o->balanced_accuracy = sens_ok && spec_ok ? 0.5 * sens + 0.5 * spec : ev;
    o->youden = sens_ok && spec_ok ? spec + sens - 1.0 : ev;
    o->npv = frac(tn, pn, ev);
    o->fpr = frac(fp, rn, ev);
    o->fnr = frac(fn, rp, ev);
    o->fdr = frac(fp, pp, ev);
    o->for_ = frac(fn, pn, ev);
    o->lr_pos = sens_ok && spec_ok && fp != 0.0 ? sens / (1.0 - spec) : ev;
    o->lr_neg = sens_ok && spec_ok && tn != 0.0 ? (1.0 - sens) / spec : ev;

    o->vol_pred = pp * voxel_volume;
    o->vol_ref = rp * voxel_volume;
    o->vol_diff = (pp - rp) * voxel_volume;
}
