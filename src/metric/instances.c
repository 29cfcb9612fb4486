/* Instance scores from counts, and the surface metrics of one matched pair.
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
#include <stdlib.h>
#include <string.h>

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

segloss_status segloss_instance_pair_surface(segloss_surface_metrics *out,
                                             const segloss_instance_pair *row,
                                             const int32_t *ref_cc, const int32_t *pred_cc,
                                             const segloss_shape *shape,
                                             const segloss_metric_opts *opts) {
    if (!out || !row || !ref_cc || !pred_cc || !shape) return SEGLOSS_ERR_NULL;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, opts ? opts->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    const int sh = 3 - g.ndim;
    int64_t lo[3] = {0, 0, 0}, m[3] = {1, 1, 1};
    for (int a = 0; a < g.ndim; a++) {
        lo[a + sh] = row->box_lo[a];
        m[a + sh] = row->box_hi[a] - row->box_lo[a];
        if (row->box_lo[a] < 0 || m[a + sh] < 1 || row->box_hi[a] > g.n[a + sh])
            return SEGLOSS_ERR_ARG;
    }
    /* Two masks of the box. The box holds both components whole, so every
     * voxel on its border that belongs to one of them is a surface voxel in
     * the full image too: the surfaces, and so the distances, are those of
     * the full image. */
    if (!row->ref || !row->pred) {
        out->hd = out->hd95 = out->assd = out->nsd = NAN;
        out->max_pred_to_ref = out->max_ref_to_pred = NAN;
        out->mean_pred_to_ref = out->mean_ref_to_pred = NAN;
        out->n_surface_pred = out->n_surface_ref = -1;
        return SEGLOSS_OK;
    }
    const size_t nb = (size_t)(m[0] * m[1] * m[2]);
    uint8_t *pm = calloc(nb, 2);
    if (!pm) return SEGLOSS_ERR_NOMEM;
    uint8_t *rm = pm + nb;
    const int32_t r = (int32_t)row->ref, p = (int32_t)row->pred;
    size_t q = 0;
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const int64_t base = ((lo[0] + i0) * g.n[1] + lo[1] + i1) * g.n[2] + lo[2];
            for (int64_t i2 = 0; i2 < m[2]; i2++, q++) {
                pm[q] = pred_cc[base + i2] == p;
                rm[q] = ref_cc[base + i2] == r;
            }
        }
    segloss_shape bs;
    bs.ndim = g.ndim;
    for (int a = 0; a < g.ndim; a++) bs.dim[a] = m[a + sh];
    st = segloss_surface_distances_binary(out, pm, rm, &bs, opts);
    free(pm);
    return st;
}
