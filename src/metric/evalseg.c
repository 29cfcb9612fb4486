/* EvaluateSegmentation's count-based metrics (Taha & Hanbury 2015, "Metrics
 * for evaluating 3D medical image segmentation"), for binary masks, as
 * github.com/Visceral-Project/EvaluateSegmentation (commit 4cff08d,
 * source/) computes them from TP, FP, FN, TN (A = prediction = its
 * "moving" image, B = reference = its "fixed" image), N = TP+FP+FN+TN:
 *
 *  gce  = min(E1, E2) / N  (GlobalConsistencyError.h:74-77), with
 *         E1 = FN(FN+2TP)/(TP+FN) + FP(FP+2TN)/(TN+FP),
 *         E2 = FP(FP+2TP)/(TP+FP) + FN(FN+2TN)/(TN+FN);
 *         a term whose denominator is 0 has a zero numerator too and is 0
 *         here (the tool's 0/0 gives NaN there).
 *  ri   = (a + d)/(a + b + c + d)  (RandIndexMetric.h:84), the pair counts
 *         of ContingencyTable.h:99-110:
 *         a = (TN(TN-1) + FN(FN-1) + FP(FP-1) + TP(TP-1))/2,
 *         b = (njs - s)/2, c = (nis - s)/2, d = (N^2 + s - nis - njs)/2,
 *         nis = (TN+FN)^2 + (FP+TP)^2, njs = (TN+FP)^2 + (FN+TP)^2,
 *         s = TP^2 + TN^2 + FP^2 + FN^2.
 *  ari  = x1/(x2 - x3)  (RandIndexMetric.h:86-97), x1 = a - x3,
 *         x2 = ((a+c) + (a+b))/2, x3 = (a+c)(a+b)/(a+b+c+d); empty score
 *         when x2 = x3 (the tool returns 0).
 *  mi   = H(A) + H(B) - H(A,B), bits (MutualInformationMetric.h:68-81):
 *         entropies of the masks' 2-bin and the joint 4-bin histograms over
 *         the N voxels, with 0 log 0 = 0 (the tool's marginal entropies
 *         give NaN for an empty or full mask).
 *  voi  = H(A) + H(B) - 2 mi  (VariationOfInformationMetric.h:72-74).
 *  icc  = (ssb - ssw)/(ssb + ssw)  (InterclassCorrelationMetric.h:60-72)
 *         over the voxel values f (reference) and m (prediction), 0 or 1:
 *         ssw = sum((f - mu)^2 + (m - mu)^2)/N, mu = (f+m)/2 per voxel,
 *         = (FP+FN)/(2N); ssb = 2 sum((mu - g)^2)/(N-1), g = the mean of
 *         the two masks' means = (2TP+FP+FN)/(2N), a voxel's mu being 1
 *         (TP), 1/2 (FP, FN) or 0 (TN).
 *  pbd  = sum|f - m| / (2 sum f m) = (FP+FN)/(2TP)
 *         (ProbabilisticDistanceMetric.h:60-71); empty score when TP = 0
 *         (the tool returns -1).
 *  auc  = (tpr - fpr + 1)/2, tpr = recall, fpr = 1 - specificity
 *         (ClassicMeasures.h:120-131): the area under the ROC curve of one
 *         operating point; empty score when recall or specificity is.
 * The tool applies icc's and pbd's sums to voxel values 0 and 255
 * (VoxelPreprocessor.h:93, Global.h:41) with means on the 0..1 scale; the
 * formulas above are the paper's, on 0/1 masks. Everything is computed in
 * double from the counts (products exact below 2^53). */
#include "metric/metric.h"

#include <math.h>

/* x*y/d, 0 when d = 0 (then x = 0 as well). */
static double term(double x, double y, double d) { return d != 0.0 ? x * y / d : 0.0; }

/* -p log2 p, 0 for p = 0. */
static double h(double p) { return p > 0.0 ? -p * log2(p) : 0.0; }

void segloss__evalseg_scores(segloss_overlap_scores *o, const segloss_confusion *c,
                             segloss_empty_score e) {
    const double tp = (double)c->tp, fp = (double)c->fp, fn = (double)c->fn, tn = (double)c->tn;
    const double n = tp + fp + fn + tn, ev = segloss__empty_value(e);

    const double e1 = term(fn, fn + 2 * tp, tp + fn) + term(fp, fp + 2 * tn, tn + fp);
    const double e2 = term(fp, fp + 2 * tp, tp + fp) + term(fn, fn + 2 * tn, tn + fn);
    o->gce = (e1 < e2 ? e1 : e2) / n;

    const double nis = (tn + fn) * (tn + fn) + (fp + tp) * (fp + tp);
    const double njs = (tn + fp) * (tn + fp) + (fn + tp) * (fn + tp);
    const double s = tp * tp + tn * tn + fp * fp + fn * fn;
    const double a = (tn * (tn - 1) + fn * (fn - 1) + fp * (fp - 1) + tp * (tp - 1)) / 2.0;
    const double b = (njs - s) / 2.0, cc = (nis - s) / 2.0, d = (n * n + s - nis - njs) / 2.0;
    const double pairs = a + b + cc + d;
    o->ri = pairs != 0.0 ? (a + d) / pairs : ev;
    const double x3 = pairs != 0.0 ? (a + cc) * (a + b) / pairs : NAN;
    const double x2 = ((a + cc) + (a + b)) / 2.0;
    o->ari = pairs != 0.0 && x2 != x3 ? (a - x3) / (x2 - x3) : ev;

    const double ha = h((tn + fn) / n) + h((fp + tp) / n);
    const double hb = h((tn + fp) / n) + h((fn + tp) / n);
    const double hab = h(tn / n) + h(fn / n) + h(fp / n) + h(tp / n);
    o->mi = ha + hb - hab;
    o->voi = ha + hb - 2.0 * o->mi;

    const double ssw = (fp + fn) / (2.0 * n);
    const double g = (2 * tp + fp + fn) / (2.0 * n);
    const double ssb = n > 1 ? 2.0 * (tp * (1 - g) * (1 - g) + (fp + fn) * (0.5 - g) * (0.5 - g) +
                                      tn * g * g) /
                                   (n - 1)
                             : NAN;
    o->icc = n > 1 && ssb + ssw != 0.0 ? (ssb - ssw) / (ssb + ssw) : ev;

    o->pbd = tp != 0.0 ? (fp + fn) / (2.0 * tp) : ev;
    const int sens_ok = tp + fn != 0.0, spec_ok = tn + fp != 0.0;
    o->auc = sens_ok && spec_ok ? (tp / (tp + fn) - (1.0 - tn / (tn + fp)) + 1.0) / 2.0 : ev;
}

/* The tool's own numbers (--convention evaluatesegmentation), found by
 * running it (tools/ref/gen_evalseg_ref.py):
 *  - it refuses an empty mask, and a mask that fills the image (it rescales
 *    each image to 0..255 first, RescaleIntensityImageFilter at
 *    Segmentation.h:503-531, which maps a constant image to 0): "Fixed
 *    image is empty!" (Segmentation.h:142-153) and no metric, so every
 *    score it has is NaN here (the counts and volumes stay);
 *  - icc and pbd sum the voxel values 0 and 255, with the masks' means on
 *    the 0..1 scale (VoxelPreprocessor.h:93-125,
 *    InterclassCorrelationMetric.h:60-72, ProbabilisticDistanceMetric.h:
 *    60-71): per voxel mu = 255 (TP), 127.5 (FP, FN), 0 (TN), g = (2TP+FP+
 *    FN)/(2N), ssw = 2 * 127.5^2 (FP+FN)/N, ssb = 2 sum (mu - g)^2/(N-1);
 *    pbd = 255 (FP+FN) / (2 * 255^2 TP), -1 when TP = 0;
 *  - CalcFMeasure is 0 when TP = 0 (ClassicMeasures.h:166-170). */
void segloss__evalseg_as_tool(segloss_overlap_scores *o, const segloss_confusion *c) {
    const double tp = (double)c->tp, fp = (double)c->fp, fn = (double)c->fn, tn = (double)c->tn;
    if (tp + fp == 0 || tp + fn == 0 || tn + fn == 0 || tn + fp == 0) {
        o->dice = o->iou = o->auc = o->kappa = o->ri = o->ari = o->icc = o->vs = o->mi = NAN;
        o->voi = o->gce = o->pbd = o->recall = o->specificity = o->precision = NAN;
        o->fbeta = o->accuracy = o->fpr = NAN;
        return;
    }
    const double n = tp + fp + fn + tn, v = 255.0, h = 127.5;
    const double g = (2 * tp + fp + fn) / (2.0 * n);
    const double ssw = (fp + fn) * (2 * h * h) / n;
    const double ssb =
        (tp * (v - g) * (v - g) + (fp + fn) * (h - g) * (h - g) + tn * g * g) / (n - 1) * 2;
    o->icc = (ssb - ssw) / (ssb + ssw);
    o->pbd = tp != 0.0 ? v * (fp + fn) / (2 * (v * v * tp)) : -1.0;
    if (tp == 0.0) o->fbeta = 0.0;
}
