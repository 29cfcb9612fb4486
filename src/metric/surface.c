/* Surface distances of one label: hd, hd95 (any percentile, max or pooled),
 * assd, nsd, from two exact distance transforms restricted to the label's
 * bounding box.
 *
 * Why the box is enough. Let box = bounding box of A u B. (1) Surface: a
 * voxel of A is surface iff a face-neighbour is outside A; a neighbour
 * outside the box is outside A (the box holds all of A) and a neighbour
 * outside the image is outside A by the zero-border rule, so within the box
 * "neighbour beyond the box edge" means "outside A" in both cases, and crop
 * edges that are not image edges give exactly the surface voxels they
 * should. (2) Distances: every voxel of S(B) lies in the box, so the EDT of
 * S(B) computed on the box is exact at every voxel of the box, in particular
 * at every voxel of S(A) (and symmetrically). Work and memory are therefore
 * O(box), never O(volume). */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

enum { BIT_A = 1, BIT_B = 2, BIT_SA = 4, BIT_SB = 8 };

segloss_status segloss__mopts_init(segloss__mopts *m, const segloss_metric_opts *opts) {
    m->percentile = 95.0;
    m->tolerance = 1.0;
    m->variant = SEGLOSS_HD95_MAX;
    m->empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    m->empty_distance = SEGLOSS_EMPTY_DISTANCE_NAN;
    if (!opts) return SEGLOSS_OK;
    if (opts->custom_percentile) {
        if (!(opts->percentile >= 0.0 && opts->percentile <= 100.0)) return SEGLOSS_ERR_ARG;
        m->percentile = opts->percentile;
    }
    if (opts->custom_tolerance) {
        if (!(opts->tolerance >= 0.0)) return SEGLOSS_ERR_ARG;
        m->tolerance = opts->tolerance;
    }
    if (opts->hd95_variant != SEGLOSS_HD95_MAX && opts->hd95_variant != SEGLOSS_HD95_POOLED)
        return SEGLOSS_ERR_ARG;
    if (opts->empty_score != SEGLOSS_EMPTY_SCORE_NAN &&
        opts->empty_score != SEGLOSS_EMPTY_SCORE_ONE &&
        opts->empty_score != SEGLOSS_EMPTY_SCORE_ZERO)
        return SEGLOSS_ERR_ARG;
    if (opts->empty_distance != SEGLOSS_EMPTY_DISTANCE_NAN &&
        opts->empty_distance != SEGLOSS_EMPTY_DISTANCE_DIAG)
        return SEGLOSS_ERR_ARG;
    m->variant = opts->hd95_variant;
    m->empty_score = opts->empty_score;
    m->empty_distance = opts->empty_distance;
    return SEGLOSS_OK;
}

double segloss__empty_value(segloss_empty_score e) {
    return e == SEGLOSS_EMPTY_SCORE_ONE ? 1.0 : e == SEGLOSS_EMPTY_SCORE_ZERO ? 0.0 : NAN;
}

/* Fills the result for A or B empty (nA, nB: voxel counts). */
static void empty_result(segloss_surface_metrics *out, const segloss__grid *g, int64_t nA,
                         int64_t nB, const segloss__mopts *mo) {
    double v = NAN;
    if ((nA == 0) != (nB == 0) && mo->empty_distance == SEGLOSS_EMPTY_DISTANCE_DIAG) {
        double s = 0.0;
        for (int a = 3 - g->ndim; a < 3; a++) {
            double e = (double)g->n[a] * g->sp[a];
            s += e * e;
        }
        v = sqrt(s);
    }
    out->hd = out->hd95 = out->assd = v;
    out->max_pred_to_ref = out->max_ref_to_pred = v;
    out->mean_pred_to_ref = out->mean_ref_to_pred = v;
    /* nsd: with one surface empty, no voxel is within tau of it -> 0 */
    out->nsd = (nA == 0 && nB == 0) ? segloss__empty_value(mo->empty_score) : 0.0;
}

/* Marks S(A) and S(B) in a box of flags holding BIT_A/BIT_B; counts. */
static void mark_surfaces(uint8_t *fl, const int64_t m[3], int ndim, int64_t cnt[4]) {
    const int real1 = ndim >= 2, real0 = ndim >= 3;
    const int64_t m0 = m[0], m1 = m[1], m2 = m[2], plane = m1 * m2;
    int64_t nA = 0, nB = 0, nSA = 0, nSB = 0;
    for (int64_t i0 = 0; i0 < m0; i0++) {
        for (int64_t i1 = 0; i1 < m1; i1++) {
            uint8_t *row = fl + (i0 * m1 + i1) * m2;
            for (int64_t k = 0; k < m2; k++) {
                uint8_t f = row[k] & (BIT_A | BIT_B);
                if (!f) continue;
                /* bits of f whose every face-neighbour carries the same bit;
                 * a neighbour beyond the box counts as 0 (see top comment) */
                uint8_t in = f;
                in &= k > 0 ? row[k - 1] : 0;
                in &= k + 1 < m2 ? row[k + 1] : 0;
                if (real1) {
                    in &= i1 > 0 ? row[k - m2] : 0;
                    in &= i1 + 1 < m1 ? row[k + m2] : 0;
                }
                if (real0) {
                    in &= i0 > 0 ? row[k - plane] : 0;
                    in &= i0 + 1 < m0 ? row[k + plane] : 0;
                }
                uint8_t surf = (uint8_t)(f & ~in);
                row[k] |= (uint8_t)(surf << 2);
                nA += f & BIT_A;
                nB += (f & BIT_B) >> 1;
                nSA += surf & BIT_A;
                nSB += (surf & BIT_B) >> 1;
            }
        }
    }
    cnt[0] = nA;
    cnt[1] = nB;
    cnt[2] = nSA;
    cnt[3] = nSB;
}

/* Directed distances: dst[c++] = sqrt(d[i]) for voxels with `bit`, box
 * order; returns their sum (Neumaier-compensated: error independent of the
 * count, fixed order), max, and count within tau. */
static void collect(double *dst, const double *d, const uint8_t *fl, int64_t nb, uint8_t bit,
                    double tau, double *sum, double *max, int64_t *within) {
    double s = 0.0, comp = 0.0, mx = 0.0;
    int64_t c = 0, w = 0;
    for (int64_t i = 0; i < nb; i++) {
        if (!(fl[i] & bit)) continue;
        double v = sqrt(d[i]);
        dst[c++] = v;
        double t = s + v;
        comp += fabs(s) >= v ? (s - t) + v : (v - t) + s;
        s = t;
        if (v > mx) mx = v;
        w += v <= tau;
    }
    *sum = s + comp;
    *max = mx;
    *within = w;
}

segloss_status segloss__surface_box(segloss_surface_metrics *out, const segloss__grid *g,
                                    const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo) {
    memset(out, 0, sizeof *out);
    int64_t m[3], nb = 1, mx = 1;
    for (int a = 0; a < 3; a++) {
        m[a] = hi[a] - lo[a];
        if (m[a] <= 0) {
            empty_result(out, g, 0, 0, mo);
            return SEGLOSS_OK;
        }
        nb *= m[a]; /* <= numel: the box lies in the grid */
        if (m[a] > mx) mx = m[a];
    }
    uint8_t *fl = calloc((size_t)nb, 1);
    if (!fl) return SEGLOSS_ERR_NOMEM;
    for (int64_t i0 = 0; i0 < m[0]; i0++) {
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            int64_t off = ((lo[0] + i0) * g->n[1] + lo[1] + i1) * g->n[2] + lo[2];
            uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            segloss__mask_row(row, pred->data, pred->dtype, off, m[2], label, match_nonzero,
                              BIT_A);
            segloss__mask_row(row, ref->data, ref->dtype, off, m[2], label, match_nonzero,
                              BIT_B);
        }
    }
    int64_t cnt[4];
    mark_surfaces(fl, m, g->ndim, cnt);
    out->n_surface_pred = cnt[2];
    out->n_surface_ref = cnt[3];
    if (cnt[0] == 0 || cnt[1] == 0) {
        empty_result(out, g, cnt[0], cnt[1], mo);
        free(fl);
        return SEGLOSS_OK;
    }
    const int64_t nSA = cnt[2], nSB = cnt[3];
    double *d = malloc((size_t)nb * sizeof *d);
    double *dist = malloc((size_t)(nSA + nSB) * sizeof *dist);
    double *work = malloc(segloss__edt_work_doubles(mx) * sizeof *work);
    int64_t *iwork = malloc((size_t)mx * sizeof *iwork);
    if (!d || !dist || !work || !iwork) {
        free(fl);
        free(d);
        free(dist);
        free(work);
        free(iwork);
        return SEGLOSS_ERR_NOMEM;
    }
    double sumA, sumB, maxA, maxB;
    int64_t wA, wB;
    /* d(a, S(B)) for a in S(A), then d(b, S(A)) for b in S(B) */
    segloss__edt_box(d, fl, BIT_SB, BIT_SA, m, g->sp, work, iwork);
    collect(dist, d, fl, nb, BIT_SA, mo->tolerance, &sumA, &maxA, &wA);
    segloss__edt_box(d, fl, BIT_SA, BIT_SB, m, g->sp, work, iwork);
    collect(dist + nSA, d, fl, nb, BIT_SB, mo->tolerance, &sumB, &maxB, &wB);
    free(d);
    free(work);
    free(iwork);
    free(fl);

    const double ntot = (double)(nSA + nSB);
    out->max_pred_to_ref = maxA;
    out->max_ref_to_pred = maxB;
    out->mean_pred_to_ref = sumA / (double)nSA;
    out->mean_ref_to_pred = sumB / (double)nSB;
    out->hd = maxA > maxB ? maxA : maxB;
    out->assd = (sumA + sumB) / ntot;
    out->nsd = (double)(wA + wB) / ntot;
    if (mo->variant == SEGLOSS_HD95_POOLED) {
        out->hd95 = segloss__percentile(dist, nSA + nSB, mo->percentile);
    } else {
        double pa = segloss__percentile(dist, nSA, mo->percentile);
        double pb = segloss__percentile(dist + nSA, nSB, mo->percentile);
        out->hd95 = pa > pb ? pa : pb;
    }
    free(dist);
    return SEGLOSS_OK;
}

segloss_status segloss_surface_distances(segloss_surface_metrics *out,
                                         const segloss_label_array *pred,
                                         const segloss_label_array *ref,
                                         const segloss_shape *shape,
                                         const segloss_label_stats *stats,
                                         const segloss_metric_opts *opts) {
    if (!out || !stats) return SEGLOSS_ERR_NULL;
    segloss_status st = segloss__label_array_check(pred);
    if (st == SEGLOSS_OK) st = segloss__label_array_check(ref);
    if (st != SEGLOSS_OK) return st;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, opts ? opts->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    segloss__mopts mo;
    st = segloss__mopts_init(&mo, opts);
    if (st != SEGLOSS_OK) return st;
    int pad = 3 - g.ndim;
    int64_t lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    int empty = 0;
    for (int d = 0; d < g.ndim; d++) {
        lo[pad + d] = stats->box_lo[d];
        hi[pad + d] = stats->box_hi[d];
        if (hi[pad + d] <= lo[pad + d]) empty = 1;
    }
    if (!empty) {
        for (int a = 0; a < 3; a++)
            if (lo[a] < 0 || hi[a] > g.n[a]) return SEGLOSS_ERR_ARG;
    } else {
        for (int a = 0; a < 3; a++) {
            lo[a] = 0;
            hi[a] = 0;
        }
    }
    return segloss__surface_box(out, &g, pred, ref, stats->label, 0, lo, hi, &mo);
}

segloss_status segloss_surface_distances_binary(segloss_surface_metrics *out,
                                                const uint8_t *pred, const uint8_t *ref,
                                                const segloss_shape *shape,
                                                const segloss_metric_opts *opts) {
    if (!out || !pred || !ref) return SEGLOSS_ERR_NULL;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, opts ? opts->spacing : NULL);
    if (st != SEGLOSS_OK) return st;
    segloss__mopts mo;
    st = segloss__mopts_init(&mo, opts);
    if (st != SEGLOSS_OK) return st;
    /* union bounding box (padded coordinates, hi exclusive) */
    int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {0, 0, 0};
    for (int64_t i0 = 0; i0 < g.n[0]; i0++) {
        for (int64_t i1 = 0; i1 < g.n[1]; i1++) {
            int64_t off = (i0 * g.n[1] + i1) * g.n[2];
            int64_t first = -1, last = -1;
            for (int64_t k = 0; k < g.n[2]; k++) {
                if (pred[off + k] | ref[off + k]) {
                    if (first < 0) first = k;
                    last = k;
                }
            }
            if (first < 0) continue;
            if (i0 < lo[0]) lo[0] = i0;
            if (i0 + 1 > hi[0]) hi[0] = i0 + 1;
            if (i1 < lo[1]) lo[1] = i1;
            if (i1 + 1 > hi[1]) hi[1] = i1 + 1;
            if (first < lo[2]) lo[2] = first;
            if (last + 1 > hi[2]) hi[2] = last + 1;
        }
    }
    if (hi[0] == 0) {
        for (int a = 0; a < 3; a++) lo[a] = 0;
    }
    segloss_label_array pa = {pred, SEGLOSS_U8}, ra = {ref, SEGLOSS_U8};
    return segloss__surface_box(out, &g, &pa, &ra, 1, 1, lo, hi, &mo);
}
