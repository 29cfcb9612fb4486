/* Overlap scores from confusion counts, and all metrics of many labels.
 *
 * Labels are independent: each one reads the shared inputs and writes its
 * own output slot, so running them on several threads (dynamic schedule,
 * since label sizes differ by orders of magnitude) changes nothing in the
 * results. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

static double ratio(int64_t num, int64_t den, segloss_empty_score e) {
    return den ? (double)num / (double)den : segloss__empty_value(e);
}

static void overlap(segloss_overlap_scores *o, const segloss_confusion *c,
                    const segloss__mopts *mo, double voxel_volume) {
    const segloss_empty_score e = mo->empty_score;
    const int64_t tp = c->tp, fp = c->fp, fn = c->fn, tn = c->tn;
    o->dice = ratio(2 * tp, 2 * tp + fp + fn, e);
    o->iou = ratio(tp, tp + fp + fn, e);
    o->precision = ratio(tp, tp + fp, e);
    o->recall = ratio(tp, tp + fn, e);
    o->specificity = ratio(tn, tn + fp, e);
    o->accuracy = ratio(tp + tn, tp + fp + fn + tn, e);
    int64_t den = 2 * tp + fp + fn;
    int64_t d = fp > fn ? fp - fn : fn - fp;
    o->vs = den ? 1.0 - (double)d / (double)den : segloss__empty_value(e);
    segloss__confusion_scores(o, c, e, mo->beta, voxel_volume);
    segloss__evalseg_scores(o, c, e);
    segloss__convention_overlap(o, c, mo->conv);
}

segloss_status segloss_overlap_from_counts(segloss_overlap_scores *out,
                                           const segloss_confusion *c,
                                           const segloss_metric_opts *opts) {
    if (!out || !c) return SEGLOSS_ERR_NULL;
    segloss__mopts mo;
    segloss_status st = segloss__mopts_init(&mo, opts);
    if (st != SEGLOSS_OK) return st;
    if (c->tp < 0 || c->fp < 0 || c->fn < 0 || c->tn < 0) return SEGLOSS_ERR_ARG;
    /* 2TP+FP+FN+TN must not overflow */
    if (c->tp > INT64_MAX / 4 || c->fp > INT64_MAX / 4 || c->fn > INT64_MAX / 4 ||
        c->tn > INT64_MAX / 4)
        return SEGLOSS_ERR_OVERFLOW;
    double v = 1.0;
    for (int a = 0; a < 3; a++) v *= opts && opts->spacing[a] > 0.0 ? opts->spacing[a] : 1.0;
    overlap(out, c, &mo, v);
    return SEGLOSS_OK;
}

typedef struct label_order {
    double size;   /* box voxels */
    int64_t index;
} label_order;

static int cmp_order(const void *a, const void *b) {
    const label_order *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static void surface_nan(segloss_surface_metrics *s) {
    s->hd = s->hd95 = s->assd = s->nsd = NAN;
    s->max_pred_to_ref = s->max_ref_to_pred = NAN;
    s->mean_pred_to_ref = s->mean_ref_to_pred = NAN;
    s->masd = s->sd_median = s->sd_std = NAN;
    s->n_surface_pred = s->n_surface_ref = -1;
}

segloss_status segloss_label_metrics_compute(segloss_label_metrics *out, const int64_t *labels,
                                             int64_t n_labels, const segloss_label_set *set,
                                             const segloss_label_array *pred,
                                             const segloss_label_array *ref,
                                             const segloss_shape *shape,
                                             const segloss_metric_opts *opts) {
    if (!out || !set) return SEGLOSS_ERR_NULL;
    if (n_labels < 0 || (!labels && n_labels != set->count)) return SEGLOSS_ERR_ARG;
    segloss_status st = segloss__label_array_check(pred);
    if (st == SEGLOSS_OK) st = segloss__label_array_check(ref);
    if (st != SEGLOSS_OK) return st;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, opts ? opts->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    segloss__mopts mo;
    st = segloss__mopts_init(&mo, opts);
    if (st == SEGLOSS_OK) st = segloss__mopts_grid_check(&mo, &g);
    if (st != SEGLOSS_OK) return st;
    if (set->numel != g.numel) return SEGLOSS_ERR_SHAPE;
    const int pad = 3 - g.ndim;
    const double voxel_volume = g.sp[0] * g.sp[1] * g.sp[2];

    for (int64_t i = 0; i < n_labels; i++) {
        segloss_label_metrics *o = &out[i];
        if (labels) segloss_label_set_get(&o->stats, set, labels[i]);
        else o->stats = set->items[i];
        overlap(&o->overlap, &o->stats.conf, &mo, voxel_volume);
        surface_nan(&o->surface);
        o->mask.boundary_iou = o->mask.com_dist = o->mask.mahalanobis = o->mask.cldice = NAN;
        for (int d = 0; d < g.ndim; d++)
            if (o->stats.box_hi[d] > o->stats.box_lo[d] &&
                (o->stats.box_lo[d] < 0 || o->stats.box_hi[d] > g.n[pad + d]))
                return SEGLOSS_ERR_ARG;
    }
    /* the box pass: surface distances and mask metrics share it */
    if (!(mo.distances || mo.mask_metrics) || n_labels == 0) return SEGLOSS_OK;

    segloss_status *status = malloc((size_t)n_labels * sizeof *status);
    label_order *order = malloc((size_t)n_labels * sizeof *order);
    if (!status || !order) {
        free(status);
        free(order);
        return SEGLOSS_ERR_NOMEM;
    }
    /* largest boxes first, so that the last labels to finish are small ones
     * (threads end together); the order changes nothing in the results */
    for (int64_t i = 0; i < n_labels; i++) {
        order[i].index = i;
        order[i].size = 1;
        for (int d = 0; d < 3; d++) {
            int64_t e = out[i].stats.box_hi[d] - out[i].stats.box_lo[d];
            order[i].size *= e > 0 ? (double)e : 0.0;
        }
    }
    qsort(order, (size_t)n_labels, sizeof *order, cmp_order);
#ifdef SEGLOSS_OPENMP
    int nt = opts->threads > 0 ? opts->threads : segloss_get_num_threads();
    if (nt > n_labels) nt = (int)n_labels;
    if (nt < 1) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        segloss__ws ws; /* per thread, reused across its labels */
        memset(&ws, 0, sizeof ws);
#ifdef SEGLOSS_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (int64_t k = 0; k < n_labels; k++) {
            int64_t i = order[k].index;
            segloss_label_metrics *o = &out[i];
            int64_t lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
            for (int d = 0; d < g.ndim; d++) {
                lo[pad + d] = o->stats.box_lo[d];
                hi[pad + d] = o->stats.box_hi[d];
            }
            segloss_surface_metrics s;
            status[i] = segloss__surface_box(&s, mo.mask_metrics ? &o->mask : NULL, &g, pred, ref,
                                             o->stats.label, 0, lo, hi, &mo, &ws);
            if (mo.distances) o->surface = s;
        }
        segloss__ws_free(&ws);
    }
    free(order);
    st = SEGLOSS_OK;
    for (int64_t i = 0; i < n_labels && st == SEGLOSS_OK; i++) st = status[i];
    free(status);
    return st;
}
