/* Region metrics with an ignore label: nnU-Net's region-based evaluation
 * and ignore label (nnunetv2/evaluation/evaluate_predictions.py,
 * region_or_label_to_mask and compute_tp_fp_fn_tn).
 *
 * A region R is a set of labels; it is scored on the 0/1 maps
 * A = {pred in R}, B = {ref in R}. Voxels whose reference is the ignore
 * label are left out of every count (nnU-Net: TP, FP, FN and TN all over
 * ~(ref == L)) and of every distance and mask metric too: they are cleared
 * in both maps, and TN is reduced by their number, after which the overlap
 * scores are recomputed from the counts.
 *
 * Each region costs one pass over the volume to build its two maps
 * (nnU-Net's own cost) plus segloss_label_metrics_compute on them. */
#include "metric/metric.h"

#include <stdlib.h>

static int in_set(int64_t v, const int64_t *set, int64_t n) {
    for (int64_t k = 0; k < n; k++)
        if (set[k] == v) return 1;
    return 0;
}

/* pm/rm = the 0/1 maps of the region labs[0..nl) (ignored voxels cleared);
 * *n_ignored = the number of ignored voxels. */
static segloss_status region_maps(uint8_t *pm, uint8_t *rm, int64_t *n_ignored,
                                  const int64_t *labs, int64_t nl, const int64_t *ignore,
                                  const segloss_label_array *pred, const segloss_label_array *ref,
                                  int64_t numel) {
    enum { CHUNK = 4096 };
    int64_t pb[CHUNK], rb[CHUNK], ign = 0;
    for (int64_t off = 0; off < numel; off += CHUNK) {
        const int64_t k = numel - off < CHUNK ? numel - off : CHUNK;
        segloss_status st = segloss__load_labels(pb, pred->data, pred->dtype, off, k);
        if (st == SEGLOSS_OK) st = segloss__load_labels(rb, ref->data, ref->dtype, off, k);
        if (st != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < k; i++) {
            if (ignore && rb[i] == *ignore) {
                pm[off + i] = rm[off + i] = 0;
                ign++;
                continue;
            }
            pm[off + i] = (uint8_t)in_set(pb[i], labs, nl);
            rm[off + i] = (uint8_t)in_set(rb[i], labs, nl);
        }
    }
    *n_ignored = ign;
    return SEGLOSS_OK;
}

static segloss_status check_args(const segloss_label_metrics *out, const int64_t *labels,
                                 const int64_t *offsets, int64_t n_regions) {
    if (n_regions < 0) return SEGLOSS_ERR_ARG;
    if (n_regions == 0) return SEGLOSS_OK;
    if (!out) return SEGLOSS_ERR_NULL;
    if (!offsets) return labels ? SEGLOSS_OK : SEGLOSS_ERR_NULL;
    if (offsets[0] < 0) return SEGLOSS_ERR_ARG;
    for (int64_t r = 0; r < n_regions; r++)
        if (offsets[r + 1] < offsets[r]) return SEGLOSS_ERR_ARG;
    return offsets[n_regions] > offsets[0] && !labels ? SEGLOSS_ERR_NULL : SEGLOSS_OK;
}

segloss_status segloss_region_metrics_compute(segloss_label_metrics *out, const int64_t *labels,
                                              const int64_t *offsets, int64_t n_regions,
                                              const int64_t *ignore_label,
                                              const segloss_label_array *pred,
                                              const segloss_label_array *ref,
                                              const segloss_shape *shape,
                                              const segloss_metric_opts *opts) {
    segloss_status st = check_args(out, labels, offsets, n_regions);
    if (st != SEGLOSS_OK) return st;
    st = segloss__label_array_check(pred);
    if (st == SEGLOSS_OK) st = segloss__label_array_check(ref);
    segloss__grid g;
    if (st == SEGLOSS_OK) st = segloss__grid_init(&g, shape, NULL);
    if (st != SEGLOSS_OK || n_regions == 0) return st;
    uint8_t *pm = malloc((size_t)g.numel), *rm = malloc((size_t)g.numel);
    if (!pm || !rm) st = SEGLOSS_ERR_NOMEM;
    for (int64_t r = 0; r < n_regions && st == SEGLOSS_OK; r++) {
        const int64_t *labs = offsets ? labels + offsets[r] : labels + r;
        const int64_t nl = offsets ? offsets[r + 1] - offsets[r] : 1;
        int64_t n_ignored = 0;
        st = region_maps(pm, rm, &n_ignored, labs, nl, ignore_label, pred, ref, g.numel);
        if (st != SEGLOSS_OK) break;
        segloss_label_array pa = {pm, SEGLOSS_U8}, ra = {rm, SEGLOSS_U8};
        segloss_label_set bs;
        st = segloss_label_scan(&bs, &pa, &ra, shape);
        if (st != SEGLOSS_OK) break;
        const int64_t one = 1;
        segloss_label_metrics *m = &out[r];
        st = segloss_label_metrics_compute(m, &one, 1, &bs, &pa, &ra, shape, opts);
        segloss_label_set_free(&bs);
        if (st != SEGLOSS_OK) break;
        /* the ignored voxels were background in both maps: not negatives */
        m->stats.conf.tn -= n_ignored;
        st = segloss_overlap_from_counts(&m->overlap, &m->stats.conf, opts);
        m->stats.label = offsets ? r : labs[0];
    }
    free(pm);
    free(rm);
    return st;
}
