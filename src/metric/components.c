/* Connected-component labelling and instance-ID maps, dense outputs of
 * the run form (src/metric/runs.c: run-based two-pass labelling, equal to
 * scipy.ndimage.label with generate_binary_structure(ndim, connectivity),
 * components numbered in scan order of their first voxel).
 *
 * min_size: components of fewer voxels become background and the others
 * are renumbered in the same order. Instance-ID maps: the distinct nonzero
 * IDs, sorted, become 1..n (MONAI's remap_instance_id). */
#include "metric/metric.h"

#include <stdlib.h>
#include <string.h>

segloss_instance_opts segloss_instance_opts_default(void) {
    segloss_instance_opts o;
    memset(&o, 0, sizeof o);
    o.connectivity = 0;
    o.min_size = 0;
    o.match = SEGLOSS_MATCH_IOU;
    o.threshold = 0.5;
    o.assignment = SEGLOSS_ASSIGN_GREEDY;
    o.empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    return o;
}

segloss_status segloss_components(int32_t *labels, int64_t *count, const uint8_t *mask,
                                  const segloss_shape *shape, int connectivity,
                                  int64_t min_size) {
    if (!labels || !count || !mask || !shape) return SEGLOSS_ERR_NULL;
    *count = 0;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, NULL);
    if (st != SEGLOSS_OK) return st;
    if (connectivity == 0) connectivity = g.ndim;
    if (connectivity < 1 || connectivity > g.ndim) return SEGLOSS_ERR_ARG;
    if (g.numel > INT32_MAX - 1) return SEGLOSS_ERR_LIMIT;
    segloss__runs r;
    const segloss_label_array a = {mask, SEGLOSS_U8};
    st = segloss__runs_build(&r, &g, &a, 0, SEGLOSS__RUNS_NONZERO, NULL);
    if (st != SEGLOSS_OK) return st;
    st = segloss__runs_label(&r, &g, connectivity);
    if (st == SEGLOSS_OK) st = segloss__runs_drop_small(&r, min_size);
    if (st == SEGLOSS_OK) {
        segloss__runs_write(labels, &r, &g);
        *count = r.count;
    }
    segloss__runs_free(&r);
    return st;
}

segloss_status segloss_label_mask(uint8_t *mask, const segloss_label_array *a, int64_t n,
                                  int64_t label) {
    if (!mask || !a) return SEGLOSS_ERR_NULL;
    segloss_status st = segloss__label_array_check(a);
    if (st != SEGLOSS_OK) return st;
    if (n < 0) return SEGLOSS_ERR_ARG;
    int64_t buf[4096];
    for (int64_t off = 0; off < n; off += 4096) {
        int64_t k = n - off < 4096 ? n - off : 4096;
        st = segloss__load_labels(buf, a->data, a->dtype, off, k);
        if (st != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < k; i++) mask[off + i] = buf[i] == label;
    }
    return SEGLOSS_OK;
}

/* ---------------------------------------------------------------------- */
/* Instance-ID maps                                                         */
/* ---------------------------------------------------------------------- */
segloss_status segloss_instances_from_ids(int32_t *labels, int64_t *count,
                                          const segloss_label_array *ids, const uint8_t *mask,
                                          int64_t numel, int64_t min_size) {
    if (!labels || !count || !ids) return SEGLOSS_ERR_NULL;
    *count = 0;
    segloss_status st = segloss__label_array_check(ids);
    if (st != SEGLOSS_OK) return st;
    if (numel < 1) return numel < 0 ? SEGLOSS_ERR_ARG : SEGLOSS_OK;
    if (numel > INT32_MAX - 1) return SEGLOSS_ERR_LIMIT;
    /* as one row: instances need no neighbourhood */
    segloss_shape sh = {1, {numel}};
    segloss__grid g;
    st = segloss__grid_init(&g, &sh, NULL);
    if (st != SEGLOSS_OK) return st;
    segloss__runs r;
    st = segloss__runs_build(&r, &g, ids, 0, SEGLOSS__RUNS_IDS, mask);
    if (st != SEGLOSS_OK) return st;
    st = segloss__runs_number_ids(&r);
    if (st == SEGLOSS_OK) st = segloss__runs_drop_small(&r, min_size);
    if (st == SEGLOSS_OK) {
        segloss__runs_write(labels, &r, &g);
        *count = r.count;
    }
    segloss__runs_free(&r);
    return st;
}
