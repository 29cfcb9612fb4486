/* Instance scores from counts, and the public entry points of matching
 * (segloss_instance_match on dense component maps, segloss_instance_eval
 * on label arrays): both turn their inputs into runs (runs.c) and call
 * segloss__match_runs (matching.c).
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

static segloss_status check_opts(const segloss_instance_opts *o) {
    if (o->match != SEGLOSS_MATCH_IOU && o->match != SEGLOSS_MATCH_DICE &&
        o->match != SEGLOSS_MATCH_OVERLAP)
        return SEGLOSS_ERR_ARG;
    if (o->assignment != SEGLOSS_ASSIGN_GREEDY && o->assignment != SEGLOSS_ASSIGN_HUNGARIAN &&
        o->assignment != SEGLOSS_ASSIGN_HUNGARIAN_ALL)
        return SEGLOSS_ERR_ARG;
    if (!(o->threshold >= 0.0 && o->threshold < 1.0)) return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

static segloss_status begin(segloss_instance_metrics *out, segloss_instance_pair **pairs,
                            int64_t *n_pairs, segloss_instance_opts *o,
                            const segloss_instance_opts *opts) {
    if (pairs) *pairs = NULL;
    if (n_pairs) *n_pairs = 0;
    memset(out, 0, sizeof *out);
    *o = opts ? *opts : segloss_instance_opts_default();
    return check_opts(o);
}

segloss_status segloss_instance_match(segloss_instance_metrics *out,
                                      segloss_instance_pair **pairs, int64_t *n_pairs,
                                      const int32_t *ref_cc, int64_t n_ref,
                                      const int32_t *pred_cc, int64_t n_pred,
                                      const segloss_shape *shape,
                                      const segloss_instance_opts *opts,
                                      const segloss_metric_opts *distances) {
    if (!out || !ref_cc || !pred_cc || !shape) return SEGLOSS_ERR_NULL;
    segloss_instance_opts o;
    segloss_status st = begin(out, pairs, n_pairs, &o, opts);
    if (st != SEGLOSS_OK) return st;
    if (n_ref < 0 || n_pred < 0 || n_ref > INT32_MAX - 1 || n_pred > INT32_MAX - 1)
        return SEGLOSS_ERR_ARG;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, distances ? distances->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    segloss__runs rr, pr;
    const segloss_label_array ra = {ref_cc, SEGLOSS_I32}, pa = {pred_cc, SEGLOSS_I32};
    st = segloss__runs_build(&rr, &g, &ra, 0, SEGLOSS__RUNS_IDS, NULL);
    if (st != SEGLOSS_OK) return st;
    st = segloss__runs_build(&pr, &g, &pa, 0, SEGLOSS__RUNS_IDS, NULL);
    if (st == SEGLOSS_OK) st = segloss__runs_ids_as_given(&rr, n_ref);
    if (st == SEGLOSS_OK) st = segloss__runs_ids_as_given(&pr, n_pred);
    if (st == SEGLOSS_OK)
        st = segloss__match_runs(out, pairs, n_pairs, &rr, &pr, &g, &o, distances);
    segloss__runs_free(&rr);
    segloss__runs_free(&pr);
    return st;
}

/* Runs of one side: the label's components, or the instance IDs. */
static segloss_status side_runs(segloss__runs *r, const segloss__grid *g,
                                const segloss_label_array *a, int64_t label, int instance_maps,
                                const segloss_instance_opts *o) {
    segloss_status st = segloss__label_array_check(a);
    if (st != SEGLOSS_OK) return st;
    st = segloss__runs_build(r, g, a, label,
                             instance_maps ? SEGLOSS__RUNS_IDS : SEGLOSS__RUNS_LABEL, NULL);
    if (st != SEGLOSS_OK) return st;
    st = instance_maps ? segloss__runs_number_ids(r)
                       : segloss__runs_label(r, g, o->connectivity ? o->connectivity : g->ndim);
    if (st == SEGLOSS_OK) st = segloss__runs_drop_small(r, o->min_size);
    if (st != SEGLOSS_OK) segloss__runs_free(r);
    return st;
}

segloss_status segloss_instance_eval(segloss_instance_metrics *out,
                                     segloss_instance_pair **pairs, int64_t *n_pairs,
                                     const segloss_label_array *pred,
                                     const segloss_label_array *ref, int64_t label,
                                     int instance_maps, const segloss_shape *shape,
                                     const segloss_instance_opts *opts,
                                     const segloss_metric_opts *distances) {
    if (!out || !pred || !ref || !shape) return SEGLOSS_ERR_NULL;
    segloss_instance_opts o;
    segloss_status st = begin(out, pairs, n_pairs, &o, opts);
    if (st != SEGLOSS_OK) return st;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, distances ? distances->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    if (o.connectivity < 0 || o.connectivity > g.ndim) return SEGLOSS_ERR_ARG;
    segloss__runs rr, pr;
    st = side_runs(&rr, &g, ref, label, instance_maps, &o);
    if (st != SEGLOSS_OK) return st;
    st = side_runs(&pr, &g, pred, label, instance_maps, &o);
    if (st == SEGLOSS_OK) {
        st = segloss__match_runs(out, pairs, n_pairs, &rr, &pr, &g, &o, distances);
        segloss__runs_free(&pr);
    }
    segloss__runs_free(&rr);
    return st;
}


/* ---------------------------------------------------------------------- */
/* Dataset-level summary                                                    */
/* ---------------------------------------------------------------------- */
enum { SUM_SCORES = 6, SUM_LW_DICE = 6, SUM_LW_HD95 = 7 };

static void scores_of(double v[SUM_SCORES], const segloss_instance_metrics *m) {
    v[0] = m->precision;
    v[1] = m->recall;
    v[2] = m->f1;
    v[3] = m->pq;
    v[4] = m->sq;
    v[5] = m->rq;
}

void segloss_instance_summary_init(segloss_instance_summary *s) {
    if (s) memset(s, 0, sizeof *s);
}

void segloss_instance_summary_add(segloss_instance_summary *s, const segloss_instance_metrics *m,
                                  const segloss_lesionwise *lw) {
    if (!s || !m) return;
    s->cases++;
    s->total.n_ref += m->n_ref;
    s->total.n_pred += m->n_pred;
    s->total.tp += m->tp;
    s->total.fp += m->fp;
    s->total.fn += m->fn;
    s->total.iou_sum += m->iou_sum;
    double v[8];
    scores_of(v, m);
    v[SUM_LW_DICE] = lw ? lw->dice : NAN;
    v[SUM_LW_HD95] = lw ? lw->hd95 : NAN;
    for (int q = 0; q < 8; q++)
        if (!isnan(v[q])) {
            s->sum_[q] += v[q];
            s->n_[q]++;
        }
}

void segloss_instance_summary_finish(segloss_instance_summary *s, segloss_empty_score e) {
    if (!s) return;
    segloss_instance_scores(&s->total, e);
    double v[8];
    for (int q = 0; q < 8; q++) v[q] = s->n_[q] ? s->sum_[q] / (double)s->n_[q] : NAN;
    memset(&s->mean, 0, sizeof s->mean);
    s->mean.precision = v[0];
    s->mean.recall = v[1];
    s->mean.f1 = v[2];
    s->mean.pq = v[3];
    s->mean.sq = v[4];
    s->mean.rq = v[5];
    s->lesionwise_dice = v[SUM_LW_DICE];
    s->lesionwise_hd95 = v[SUM_LW_HD95];
}
