/* Surfel surface distances: DeepMind surface-distance's definition
 * (compute_surface_distances and the measures built on it), on the box of
 * flags that segloss__surface_box builds.
 *
 * Surfels. The grid of voxel corners (the voxel grid shifted by half a
 * voxel, one more point per axis) carries at each corner the code of the
 * 2x2(x2) voxels around it: 3-D, bit 7 - (4k0 + 2k1 + k2) for the voxel at
 * offset (k0, k1, k2) - 1; 2-D, bit 3 - (2k1 + k2). A corner is a surfel of
 * X when its code is neither 0 nor all ones. Its weight is the area (3-D)
 * or contour length (2-D) that marching cubes/squares puts in that cell,
 * with the spacing applied: 3-D, sum over the cell's triangles of
 * |(n0 s1 s2, n1 s0 s2, n2 s0 s1)| for the unit-spacing area vectors n of
 * DeepMind's table (surfel_table.h); 2-D, half the cell diagonal
 * h = sqrt(s0^2 + s1^2)/2 for one or three corners inside, the side s1
 * (s0) for two corners along axis 1 (axis 0), 2h for two diagonal ones.
 *
 * Distances. d(a) = Euclidean distance (spacing applied) from surfel a to
 * the nearest surfel of the other mask, both on the corner grid (exact EDT).
 *
 * Measures, per direction (pred -> ref over the surfels of A, ref -> pred
 * over those of B), the surfels sorted by (distance, weight) as DeepMind
 * sorts them: mean = sum(d w)/sum(w); percentile P = the distance at the
 * first index where cumsum(w)/sum(w) >= P/100 (the last if none), the max
 * being P = 100; overlap at tau = sum of w over d <= tau. Sums are
 * numpy's pairwise sums, cumulative sums sequential, as numpy computes
 * them, so ties at a percentile resolve as in DeepMind's code. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

#include "metric/surfel_table.h"

/* numpy's pairwise summation of a[0..n) (as np.sum of a contiguous
 * float64 array). */
static double np_sum(const double *a, int64_t n) {
    if (n < 8) {
        double r = 0.0;
        for (int64_t i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        int64_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_sum(a, n2) + np_sum(a + n2, n - n2);
}

typedef struct surfel {
    double d, w;
} surfel;

static int surfel_cmp(const void *x, const void *y) {
    const surfel *a = x, *b = y;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return (a->w > b->w) - (a->w < b->w);
}

/* One direction's list, sorted: its measures. */
typedef struct dirstat {
    double sum_w, mean, pct, max, within;
} dirstat;

/* DeepMind's percentile rule on a sorted list (n >= 1). */
static double weighted_pct(const surfel *s, int64_t n, double total, double p) {
    const double q = p / 100.0;
    double cum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        cum += s[i].w;
        if (cum / total >= q) return s[i].d;
    }
    return s[n - 1].d;
}

static void dir_measures(dirstat *r, surfel *s, int64_t n, const segloss__mopts *mo,
                         double *tmp) {
    qsort(s, (size_t)n, sizeof *s, surfel_cmp);
    for (int64_t i = 0; i < n; i++) tmp[i] = s[i].w;
    r->sum_w = np_sum(tmp, n);
    for (int64_t i = 0; i < n; i++) tmp[i] = s[i].d * s[i].w;
    r->mean = np_sum(tmp, n) / r->sum_w;
    r->pct = weighted_pct(s, n, r->sum_w, mo->percentile);
    r->max = weighted_pct(s, n, r->sum_w, 100.0);
    int64_t k = 0;
    for (int64_t i = 0; i < n && s[i].d <= mo->tolerance; i++) tmp[k++] = s[i].w;
    r->within = np_sum(tmp, k);
}

/* Weight of each code under the spacing sp (padded, axes 3-ndim..2). */
static void weight_table(double *wt, int ndim, const double sp[3]) {
    if (ndim == 3) {
        for (int c = 0; c < 256; c++) {
            double sum = 0.0;
            for (int t = 0; t < surfel_tri[c][0]; t++) {
                const signed char *v = &surfel_tri[c][1 + 3 * t];
                const double n0 = v[0] / 8.0 * sp[1] * sp[2];
                const double n1 = v[1] / 8.0 * sp[0] * sp[2];
                const double n2 = v[2] / 8.0 * sp[0] * sp[1];
                sum += sqrt(n0 * n0 + n1 * n1 + n2 * n2);
            }
            wt[c] = sum;
        }
        return;
    }
    /* 2-D: bits 8 (k=(0,0)), 4 (0,1), 2 (1,0), 1 (1,1); axis 0 is sp[1] */
    const double s0 = sp[1], s1 = sp[2];
    const double h = 0.5 * sqrt(s0 * s0 + s1 * s1);
    for (int c = 0; c < 16; c++) {
        int k = (c & 1) + ((c >> 1) & 1) + ((c >> 2) & 1) + ((c >> 3) & 1);
        wt[c] = (k == 1 || k == 3) ? h : 0.0;
    }
    wt[3] = wt[12] = s1;  /* a row of two: the contour runs along axis 1 */
    wt[5] = wt[10] = s0;  /* a column of two: along axis 0 */
    wt[6] = wt[9] = 2.0 * h;
}

segloss_status segloss__surfel_box(segloss_surface_metrics *out, const uint8_t *fl,
                                   const int64_t m[3], const segloss__grid *g,
                                   const segloss__mopts *mo) {
    if (g->ndim < 2) return SEGLOSS_ERR_ARG;
    const int lo_ax = 3 - g->ndim;
    int64_t c[3];
    for (int a = 0; a < 3; a++) c[a] = a >= lo_ax ? m[a] + 1 : 1;
    const int64_t nc = c[0] * c[1] * c[2];
    const int full = g->ndim == 3 ? 255 : 15;
    double wt[256];
    weight_table(wt, g->ndim, g->sp);
    uint8_t *code = malloc((size_t)nc * 2);
    uint8_t *cf = malloc((size_t)nc);
    uint8_t *rowor = malloc((size_t)(c[0] * c[1]));
    const int64_t mx = segloss__edt_mx(c);
    double *dist = malloc((size_t)nc * sizeof(double));
    double *work = malloc(segloss__edt_work_doubles(mx) * sizeof(double));
    int64_t *iwork = malloc(segloss__edt_iwork(mx) * sizeof(int64_t));
    segloss_status st = SEGLOSS_ERR_NOMEM;
    surfel *sl = NULL;
    double *tmp = NULL;
    if (!code || !cf || !rowor || !dist || !work || !iwork) goto done;
    /* codes of A (pred, bit 1) and B (ref, bit 2); cf: bit 1/2 = surfel */
    int64_t ns[2] = {0, 0};
    for (int64_t j0 = 0; j0 < c[0]; j0++)
        for (int64_t j1 = 0; j1 < c[1]; j1++) {
            uint8_t ro = 0;
            for (int64_t j2 = 0; j2 < c[2]; j2++) {
                int ca = 0, cb = 0;
                for (int k0 = 0; k0 < 2; k0++)
                    for (int k1 = 0; k1 < 2; k1++)
                        for (int k2 = 0; k2 < 2; k2++) {
                            int bitpos;
                            int64_t v0 = j0, v1 = j1 - 1 + k1, v2 = j2 - 1 + k2;
                            if (g->ndim == 3) {
                                v0 = j0 - 1 + k0;
                                bitpos = 7 - (4 * k0 + 2 * k1 + k2);
                            } else {
                                if (k0) continue;
                                bitpos = 3 - (2 * k1 + k2);
                            }
                            if (v0 < 0 || v1 < 0 || v2 < 0 || v0 >= m[0] || v1 >= m[1] ||
                                v2 >= m[2])
                                continue;
                            const uint8_t f = fl[(v0 * m[1] + v1) * m[2] + v2];
                            ca |= (f & 1) << bitpos;
                            cb |= ((f >> 1) & 1) << bitpos;
                        }
                const int64_t i = (j0 * c[1] + j1) * c[2] + j2;
                code[2 * i] = (uint8_t)ca;
                code[2 * i + 1] = (uint8_t)cb;
                uint8_t b = (uint8_t)((ca != 0 && ca != full) | ((cb != 0 && cb != full) << 1));
                cf[i] = b;
                ro |= b;
                ns[0] += b & 1;
                ns[1] += b >> 1;
            }
            rowor[j0 * c[1] + j1] = ro;
        }
    out->n_surface_pred = ns[0];
    out->n_surface_ref = ns[1];
    sl = malloc((size_t)(ns[0] + ns[1]) * sizeof *sl);
    tmp = malloc((size_t)(ns[0] + ns[1]) * sizeof *tmp);
    if (!sl || !tmp) goto done;
    /* x = 0: pred surfels to the ref surface; x = 1: ref to pred */
    int64_t k = 0;
    for (int x = 0; x < 2; x++) {
        segloss__edt_box(dist, cf, (uint8_t)(2 >> x), c, g->sp, rowor, work, iwork);
        for (int64_t i = 0; i < nc; i++)
            if (cf[i] & (1 << x)) {
                sl[k].d = sqrt(dist[i]);
                sl[k].w = wt[code[2 * i + x]];
                k++;
            }
    }
    dirstat A, B;
    dir_measures(&A, sl, ns[0], mo, tmp);
    dir_measures(&B, sl + ns[0], ns[1], mo, tmp);
    out->max_pred_to_ref = A.max;
    out->max_ref_to_pred = B.max;
    out->mean_pred_to_ref = A.mean;
    out->mean_ref_to_pred = B.mean;
    out->hd = A.max > B.max ? A.max : B.max;
    out->masd = 0.5 * (A.mean + B.mean);
    /* DeepMind's surface Dice: (overlap_gt + overlap_pred) / (area_gt + area_pred) */
    out->nsd = (B.within + A.within) / (B.sum_w + A.sum_w);
    {
        /* pooled: area-weighted, over the surfels of both */
        const int64_t n = ns[0] + ns[1];
        qsort(sl, (size_t)n, sizeof *sl, surfel_cmp);
        for (int64_t i = 0; i < n; i++) tmp[i] = sl[i].w;
        const double tw = np_sum(tmp, n);
        for (int64_t i = 0; i < n; i++) tmp[i] = sl[i].d * sl[i].w;
        out->assd = np_sum(tmp, n) / tw;
        for (int64_t i = 0; i < n; i++) {
            const double e = sl[i].d - out->assd;
            tmp[i] = e * e * sl[i].w;
        }
        out->sd_std = sqrt(np_sum(tmp, n) / tw);
        out->sd_median = weighted_pct(sl, n, tw, 50.0);
        if (mo->variant == SEGLOSS_HD95_POOLED)
            out->hd95 = weighted_pct(sl, n, tw, mo->percentile);
        else
            out->hd95 = A.pct > B.pct ? A.pct : B.pct;
    }
    st = SEGLOSS_OK;
done:
    free(code);
    free(cf);
    free(rowor);
    free(dist);
    free(work);
    free(iwork);
    free(sl);
    free(tmp);
    return st;
}
