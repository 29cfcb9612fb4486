/* Conventions: the choices each peer tool makes (surface, hd95 variant) and
 * the values its metrics take on empty masks, in one place.
 *
 * segloss_metric_opts_convention sets the choices that existing option
 * fields express; the per-metric empty-mask values, which no single field
 * expresses, are the tables below, applied by the three passes that
 * compute the scores (scores.c), the surface distances (surface.c) and the
 * mask metrics (shape.c) once they hold segloss's own values (NaN for an
 * undefined result), and one rule of the width of boundary_iou. Each rule was found by running the tool's code on
 * empty masks (tools/ref/gen_convention_ref.py); docs/metrics.md has the
 * table. */
#include "metric/metric.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"segloss", "medpy",  "monai", "deepmind", "metricsreloaded",
                                    "nnunet",  "evaluatesegmentation"};
enum { N_CONVENTIONS = (int)(sizeof names / sizeof names[0]) };

const char *segloss_convention_name(int c) {
    return c >= 0 && c < N_CONVENTIONS ? names[c] : NULL;
}

segloss_status segloss_metric_opts_convention(segloss_metric_opts *opts, const char *name) {
    if (!opts || !name) return SEGLOSS_ERR_ARG;
    int c = 0;
    while (c < N_CONVENTIONS && strcmp(names[c], name) != 0) c++;
    if (c == N_CONVENTIONS) return SEGLOSS_ERR_ARG;
    opts->surface = c == SEGLOSS_CONVENTION_DEEPMIND ? SEGLOSS_SURFACE_SURFEL : SEGLOSS_SURFACE_VOXEL;
    opts->hd95_variant = c == SEGLOSS_CONVENTION_MEDPY ? SEGLOSS_HD95_POOLED : SEGLOSS_HD95_MAX;
    opts->empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    opts->empty_distance = SEGLOSS_EMPTY_DISTANCE_NAN;
    opts->convention = (segloss_convention)c;
    return SEGLOSS_OK;
}

int segloss__convention_valid(segloss_convention c) {
    return (int)c >= 0 && (int)c < N_CONVENTIONS;
}

int segloss__convention_evalseg_distances(const segloss__mopts *mo) {
    /* EvaluateSegmentation measures from every voxel on the whole image
     * (evalseg_dist.c); --surface surfel still gives segloss's surfels */
    return mo->conv == SEGLOSS_CONVENTION_EVALUATESEGMENTATION &&
           mo->surface == SEGLOSS_SURFACE_VOXEL;
}

int segloss__convention_width_in_voxels(segloss_convention c) {
    /* pairwise_measures.py boundary_iou: distance_transform_edt without
     * sampling, compared with boundary_dist */
    return c == SEGLOSS_CONVENTION_METRICSRELOADED;
}

void segloss__convention_overlap(segloss_overlap_scores *o, const segloss_confusion *c,
                                 segloss_convention conv) {
    const int64_t n_pred = c->tp + c->fp, n_ref = c->tp + c->fn;
    switch (conv) {
    case SEGLOSS_CONVENTION_MEDPY:
        /* binary.py: dc, jc catch ZeroDivisionError with 1.0, precision,
         * recall, specificity with 0.0 */
        if (n_pred == 0 && n_ref == 0) o->dice = o->iou = 1.0;
        if (n_pred == 0) o->precision = 0.0;
        if (n_ref == 0) o->recall = 0.0;
        if (c->tn + c->fp == 0) o->specificity = 0.0;
        break;
    case SEGLOSS_CONVENTION_MONAI:
        /* compute_dice, compute_iou with ignore_empty=True: NaN whenever the
         * ground truth is empty */
        if (n_ref == 0) o->dice = o->iou = NAN;
        break;
    case SEGLOSS_CONVENTION_METRICSRELOADED:
        /* pairwise_measures.py: dsc and fbeta "set to 1 as correct
         * solution"; positive_predictive_value 0 when only the prediction is
         * empty; negative_predictive_value 0 when only the prediction has no
         * negative */
        if (n_pred == 0 && n_ref == 0) o->dice = o->fbeta = 1.0;
        if (n_pred == 0 && n_ref > 0) o->precision = 0.0;
        if (c->tn + c->fn == 0 && c->tn + c->fp > 0) o->npv = 0.0;
        break;
    case SEGLOSS_CONVENTION_EVALUATESEGMENTATION:
        /* its refusal of empty and full masks, icc and pbd on 0/255 voxel
         * values, F 0 when TP = 0 (evalseg.c) */
        segloss__evalseg_as_tool(o, c);
        break;
    default:
        break;
    }
}

void segloss__convention_surface(segloss_surface_metrics *out, int64_t nA, int64_t nB,
                                 segloss_convention conv) {
    if (nA > 0 && nB > 0) return;
    switch (conv) {
    case SEGLOSS_CONVENTION_MONAI:
        /* get_surface_distance: distances to an empty edge set are +inf, and
         * an empty prediction gives a whole inf map; torch.quantile of inf
         * values is NaN. Both empty: every edge set empty, NaN. */
        if (nA == 0 && nB == 0) break;
        out->hd = out->assd = INFINITY;
        out->max_pred_to_ref = out->max_ref_to_pred = INFINITY;
        out->mean_pred_to_ref = out->mean_ref_to_pred = INFINITY;
        out->hd95 = NAN;
        break;
    case SEGLOSS_CONVENTION_DEEPMIND:
        /* compute_robust_hausdorff: +inf when either surface is empty;
         * compute_average_surface_distance: the mean of no distance is NaN,
         * the distances to an empty surface +inf */
        out->hd = out->hd95 = INFINITY;
        out->mean_pred_to_ref = nA == 0 ? NAN : INFINITY;
        out->mean_ref_to_pred = nB == 0 ? NAN : INFINITY;
        break;
    case SEGLOSS_CONVENTION_METRICSRELOADED:
        /* measured_distance: "Prediction and reference empty - distances set
         * to 0"; normalised_surface_distance: "setting to best" */
        if (nA == 0 && nB == 0) {
            out->hd = out->hd95 = out->assd = out->masd = 0.0;
            out->nsd = 1.0;
        }
        break;
    default:
        break;
    }
}

void segloss__convention_mask(segloss_mask_metrics *out, int64_t nA, int64_t nB, unsigned want,
                              segloss_convention conv) {
    if (conv != SEGLOSS_CONVENTION_METRICSRELOADED || (nA > 0 && nB > 0)) return;
    /* com_dist returns -1 for an empty mask; boundary_iou of two empty
     * masks is 1 */
    if (want & SEGLOSS_MASK_COM_DIST) out->com_dist = -1.0;
    if ((want & SEGLOSS_MASK_BOUNDARY_IOU) && nA == 0 && nB == 0) out->boundary_iou = 1.0;
}
