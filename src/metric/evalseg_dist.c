/* EvaluateSegmentation's distances and Mahalanobis distance, as the tool
 * (github.com/Visceral-Project/EvaluateSegmentation, commit 4cff08d,
 * source/) computes them, for `--convention evaluatesegmentation`. Found by
 * running the tool built against ITK 5.2.1 (tools/ref/gen_evalseg_ref.py).
 *
 * The tool measures from voxels, not surfaces, on the whole image, with A =
 * the prediction ("moving") and B = the reference ("fixed"); d(x, X) is the
 * Euclidean distance from x to the nearest voxel of X (0 inside X), with the
 * spacing (its -unit millimeter; its default -unit voxel is spacing 1).
 *
 *  HDRFDST (hd) = max(max_{a in A} d(a,B), max_{b in B} d(b,A))
 *    (HausdorffDistanceMetric.h:131-325). Its scan stops early for a voxel
 *    once one distance falls below the running maximum, which never changes
 *    the maximum: hd is exact. Computed here from exact distance
 *    transforms; max_pred_to_ref / max_ref_to_pred are the two directed
 *    maxima.
 *  HDRFDST@q@ (hd95, q = percentile/100): D = the distances of the voxels
 *    of A\B to B and of B\A to A, pooled and sorted; D[(int)(q(|D|-1))],
 *    hd when |D| <= 1 (HausdorffDistanceMetric.h:115-125). The tool's D
 *    holds, for every voxel whose scan stopped early, a distance to some
 *    voxel of the other mask found before the nearest one (the scan order
 *    is shuffled with rand() seeded by time(NULL), lines 258-261,
 *    367-377), so its quantile varies from run to run and is >= the one
 *    computed here from the exact distances, which is what it gives
 *    whenever no scan stops early.
 *  AVGDIST (masd) = (dist1 + dist2)/2 (AverageDistanceMetric.h:130-134):
 *    dist1 = the sum over b in B\A of the distance to the nearest surface
 *    voxel of A found by its grid search, divided by |B| (mean_ref_to_pred),
 *    dist2 the same from A\B to B over |A| (mean_pred_to_ref). The search
 *    (lines 165-557, ported below) walks from the voxel towards the
 *    centroid of the other mask in unit steps until it enters it; the
 *    number of steps r bounds a box of +-r voxel indices, and only the
 *    surface voxels in the 7x7x7 cells that box touches are searched (all
 *    of them when the walk leaves the image). With spacing 1 this finds the
 *    nearest voxel (the tool's default unit); with an anisotropic spacing
 *    the nearest one can lie outside the box, and the tool's value is then
 *    larger than the exact mean: segloss reproduces the search. When the
 *    cells hold no surface voxel at all, the source reads its uninitialised
 *    `closest` (line 391); the binary (g++ 12 -O3) then uses the voxel found
 *    for the previous voxel of the scan, and so does segloss (NaN if there
 *    is none: the first voxel of a scan).
 *  MAHLNBS (mahalanobis): as segloss's (shape.c), on the whole image's
 *    axes, but over x, y only (the last two array axes) when every voxel of B
 *    lies in the first plane of axis 0 (Is2DImage, line 104), and NaN when
 *    the covariance's determinant (vnl_det's formula) is exactly 0: ITK's
 *    Matrix::GetInverse throws and the tool stops.
 *  An empty mask or a mask filling the image: the tool computes nothing
 *    ("Fixed image is empty!"; it rescales the image to 0..255 first, which
 *    maps a constant image to 0): every value above is NaN.
 *
 * Work is bounded by the label's box (the bounding box of A and B), as in
 * surface.c: the transforms of A and B are exact inside it, the tool's grid
 * keeps the image's cells (anchored at index 0) of which only those in the
 * box hold voxels, and a walk that leaves the box never meets the mask
 * again (the box is convex), so it ends as the tool's does at the image's
 * edge. Only under the convention. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BIT_A = 1, BIT_B = 2 };
enum { CELL = 7 }; /* AverageDistanceMetric.h: grid_len */

/* The two masks in the tool's coordinates: x = axis 2 (fastest), y = axis
 * 1, z = axis 0 of the padded grid, on the whole image of dims n; only the
 * box of dims m at offset o (z, y, x order) holds voxels of A or B, and fl
 * covers that box. */
typedef struct es_img {
    const uint8_t *fl;
    int64_t n[3], o[3], m[3];
    double spx, spy, spz;
} es_img;

/* Is global voxel (x, y, z) of the image in the mask `bit`? */
static inline int on(const es_img *im, uint8_t bit, int64_t x, int64_t y, int64_t z) {
    x -= im->o[2];
    y -= im->o[1];
    z -= im->o[0];
    if (x < 0 || y < 0 || z < 0 || x >= im->m[2] || y >= im->m[1] || z >= im->m[0]) return 0;
    return (im->fl[(z * im->m[1] + y) * im->m[2] + x] & bit) != 0;
}

static inline double dist3(const es_img *im, double dx, double dy, double dz) {
    return sqrt(dx * dx * im->spx * im->spx + dy * dy * im->spy * im->spy +
                dz * dz * im->spz * im->spz);
}

/* isBoundary: a face-neighbour outside the image or outside the mask. */
static int boundary(const es_img *im, uint8_t bit, int64_t x, int64_t y, int64_t z) {
    const int64_t mx = im->n[2] - 1, my = im->n[1] - 1, mz = im->n[0] - 1;
    if (x + 1 > mx || !on(im, bit, x + 1, y, z)) return 1;
    if (x - 1 < 0 || !on(im, bit, x - 1, y, z)) return 1;
    if (y + 1 > my || !on(im, bit, x, y + 1, z)) return 1;
    if (y - 1 < 0 || !on(im, bit, x, y - 1, z)) return 1;
    if (z + 1 > mz || !on(im, bit, x, y, z + 1)) return 1;
    if (z - 1 < 0 || !on(im, bit, x, y, z - 1)) return 1;
    return 0;
}

/* calcSph: steps from p towards the centroid c until a voxel of the mask;
 * the step count, or -1 when the walk leaves the image first (once out of
 * the box, a straight walk never meets the mask again: it is -1 too). */
static double walk(const es_img *im, uint8_t bit, const double p[3], const double c[3]) {
    const double dist = dist3(im, c[0] - p[0], c[1] - p[1], c[2] - p[2]);
    const double f[3] = {(c[0] - p[0]) / dist, (c[1] - p[1]) / dist, (c[2] - p[2]) / dist};
    const double mx = (double)(im->n[2] - 1), my = (double)(im->n[1] - 1),
                 mz = (double)(im->n[0] - 1);
    if (!(dist > 0.0)) return -1.0; /* the tool reads at index (long)NaN */
    for (int i = 1;; i++) {
        const double x = p[0] + i * f[0], y = p[1] + i * f[1], z = p[2] + i * f[2];
        if (x > mx || y > my || z > mz || x < 0 || y < 0 || z < 0) return -1.0;
        const int64_t ix = (int64_t)x, iy = (int64_t)y, iz = (int64_t)z;
        if (on(im, bit, ix, iy, iz)) return (double)i;
        if (ix < im->o[2] || iy < im->o[1] || iz < im->o[0] || ix >= im->o[2] + im->m[2] ||
            iy >= im->o[1] + im->m[1] || iz >= im->o[0] + im->m[0])
            return -1.0;
    }
}

/* Calls body with global (x, y, z) for every voxel of the box, in the
 * image's scan order. */
#define FOR_BOX(im, x, y, z)                                                         \
    for (int64_t z = (im)->o[0]; z < (im)->o[0] + (im)->m[0]; z++)                  \
        for (int64_t y = (im)->o[1]; y < (im)->o[1] + (im)->m[1]; y++)              \
            for (int64_t x = (im)->o[2]; x < (im)->o[2] + (im)->m[2]; x++)

/* calc(X, Y): the sum over X\Y of the distance found to the surface of Y,
 * over |X|; 0 when X lies in Y. A search that finds no voxel takes the
 * previous voxel's (see the top); NaN when the first one finds none. The
 * grid's cells are the image's (anchored at index 0), only those of the
 * box hold voxels. */
static double avg_directed(const es_img *im, uint8_t bx, uint8_t by, int *nomem) {
    const int gx = (int)((im->n[2] - 1) / CELL + 1), gy = (int)((im->n[1] - 1) / CELL + 1),
              gz = (int)((im->n[0] - 1) / CELL + 1);
    const int64_t ncell = (int64_t)gx * gy * gz;
    int64_t n_x = 0, n_out = 0, n_surf = 0;
    double c[3] = {0, 0, 0}, cnt = 0;
    int64_t *start = calloc((size_t)ncell + 1, sizeof *start);
    if (!start) {
        *nomem = 1;
        return NAN;
    }
    FOR_BOX(im, x, y, z) {
        const int inx = on(im, bx, x, y, z), iny = on(im, by, x, y, z);
        n_x += inx;
        n_out += inx && !iny;
        if (!iny) continue;
        c[0] += (double)x;
        c[1] += (double)y;
        c[2] += (double)z;
        cnt++;
        if (boundary(im, by, x, y, z)) {
            start[(x / CELL) * gy * gz + (y / CELL) * gz + z / CELL + 1]++;
            n_surf++;
        }
    }
    if (n_out == 0) {
        free(start);
        return 0.0;
    }
    for (int i = 0; i < 3; i++) c[i] /= cnt;
    for (int64_t k = 0; k < ncell; k++) start[k + 1] += start[k];
    int32_t *sv = malloc(3 * sizeof *sv * (size_t)n_surf);
    int64_t *fill = malloc(sizeof *fill * (size_t)ncell);
    if (!sv || !fill) {
        free(start);
        free(sv);
        free(fill);
        *nomem = 1;
        return NAN;
    }
    memcpy(fill, start, sizeof *fill * (size_t)ncell);
    FOR_BOX(im, x, y, z) {
        if (!on(im, by, x, y, z) || !boundary(im, by, x, y, z)) continue;
        int32_t *v = sv + 3 * fill[(x / CELL) * gy * gz + (y / CELL) * gz + z / CELL]++;
        v[0] = (int32_t)x;
        v[1] = (int32_t)y;
        v[2] = (int32_t)z;
    }
    double sum = 0.0;
    const int32_t *last = NULL;
    FOR_BOX(im, x, y, z) {
        if (!on(im, bx, x, y, z) || on(im, by, x, y, z) || isnan(sum)) continue;
        const double p[3] = {(double)x, (double)y, (double)z};
        const double r = walk(im, by, p, c);
        int lo[3] = {0, 0, 0}, hi[3] = {gx - 1, gy - 1, gz - 1};
        if (r != -1.0) {
            const int g[3] = {gx, gy, gz};
            for (int a = 0; a < 3; a++) {
                lo[a] = (int)((p[a] - r) / CELL); /* C++ truncation */
                if (lo[a] < 0) lo[a] = 0;
                hi[a] = (int)((p[a] + r) / CELL);
                if (hi[a] >= g[a]) hi[a] = g[a] - 1;
            }
        }
        double best = INFINITY;
        const int32_t *close = NULL;
        for (int ix = lo[0]; ix <= hi[0]; ix++)
            for (int iy = lo[1]; iy <= hi[1]; iy++)
                for (int iz = lo[2]; iz <= hi[2]; iz++) {
                    const int64_t k = (int64_t)ix * gy * gz + (int64_t)iy * gz + iz;
                    for (int64_t s = start[k]; s < start[k + 1]; s++) {
                        const int32_t *v = sv + 3 * s;
                        const double d = dist3(im, v[0] - p[0], v[1] - p[1], v[2] - p[2]);
                        if (d < best) {
                            best = d;
                            close = v;
                        }
                    }
                }
        if (!close) close = last;
        if (!close) {
            sum = NAN;
            continue;
        }
        last = close;
        sum += dist3(im, close[0] - p[0], close[1] - p[1], close[2] - p[2]);
    }
    free(start);
    free(sv);
    free(fill);
    return sum / (double)n_x;
}

/* The tool's Mahalanobis distance (see the top), NaN when singular; voxel
 * indices are the image's. */
static double mahalanobis(const es_img *im) {
    int flat = 1; /* every voxel of B in plane z = 0 of the image */
    FOR_BOX(im, x, y, z) {
        if (z > 0 && on(im, BIT_B, x, y, z)) flat = 0;
    }
    const int k = flat ? 2 : 3;
    /* m = 0: B (fixed), 1: A (moving); means first, then the covariances
     * about them (calcMean, calcCovariance) */
    double mean[2][3] = {{0}}, cov[2][3][3] = {{{0}}}, cnt[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        FOR_BOX(im, x, y, z) {
            const double ix[3] = {(double)x, (double)y, (double)z};
            for (int mk = 0; mk < 2; mk++) {
                if (!on(im, mk ? BIT_A : BIT_B, x, y, z)) continue;
                if (pass == 0) {
                    for (int a = 0; a < k; a++) mean[mk][a] += ix[a];
                    cnt[mk]++;
                    continue;
                }
                double dl[3];
                for (int a = 0; a < k; a++) dl[a] = ix[a] - mean[mk][a];
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) cov[mk][a][b] += dl[a] * dl[b];
            }
        }
        if (pass == 0)
            for (int mk = 0; mk < 2; mk++)
                for (int a = 0; a < k; a++) mean[mk][a] /= cnt[mk];
    }
    /* (C_B n_B + C_A n_A)/(n_B + n_A), m = 0: B (fixed), 1: A (moving) */
    double c[3][3];
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            c[a][b] = (cov[0][a][b] / cnt[0] * cnt[0] + cov[1][a][b] / cnt[1] * cnt[1]) /
                      (cnt[0] + cnt[1]);
    double det, inv[3][3];
    if (k == 2) {
        det = c[0][0] * c[1][1] - c[0][1] * c[1][0];
        if (det == 0.0) return NAN;
        inv[0][0] = c[1][1] / det;
        inv[0][1] = -c[0][1] / det;
        inv[1][0] = -c[1][0] / det;
        inv[1][1] = c[0][0] / det;
    } else {
        det = c[0][0] * c[1][1] * c[2][2] - c[0][0] * c[2][1] * c[1][2] -
              c[1][0] * c[0][1] * c[2][2] + c[1][0] * c[2][1] * c[0][2] +
              c[2][0] * c[0][1] * c[1][2] - c[2][0] * c[1][1] * c[0][2];
        if (det == 0.0) return NAN;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                /* adjugate: cofactor of (b, a) */
                const int r0 = (b + 1) % 3, r1 = (b + 2) % 3, c0 = (a + 1) % 3, c1 = (a + 2) % 3;
                inv[a][b] = (c[r0][c0] * c[r1][c1] - c[r0][c1] * c[r1][c0]) / det;
            }
    }
    double d[3], q = 0.0;
    for (int a = 0; a < k; a++) d[a] = mean[0][a] - mean[1][a];
    for (int a = 0; a < k; a++) {
        double t = 0.0;
        for (int b = 0; b < k; b++) t += d[b] * inv[a][b];
        q += t * d[a];
    }
    return sqrt(q);
}

/* hd, hd95 and the directed maxima from exact transforms on the box fl of
 * dims m (exact there: the box holds A and B). */
static segloss_status exact_hd(segloss_surface_metrics *out, const uint8_t *fl,
                               const int64_t m[3], const double sp[3],
                               const segloss__mopts *mo) {
    const int64_t nrows = m[0] * m[1], n = m[0] * m[1] * m[2];
    uint8_t *rowor = malloc((size_t)nrows);
    double *d = malloc(sizeof *d * (size_t)n);
    const int64_t mx = segloss__edt_mx(m);
    double *work = malloc(sizeof *work * segloss__edt_work_doubles(mx));
    int64_t *iwork = malloc(sizeof *iwork * segloss__edt_iwork(mx));
    int64_t nd = 0;
    for (int64_t i = 0; i < n; i++) nd += (fl[i] & BIT_A) != (fl[i] & BIT_B) >> 1;
    double *pool = malloc(sizeof *pool * (size_t)(nd > 0 ? nd : 1));
    segloss_status st = SEGLOSS_ERR_NOMEM;
    if (!rowor || !d || !work || !iwork || !pool) goto done;
    for (int64_t r = 0; r < nrows; r++) {
        uint8_t o = 0;
        for (int64_t k = 0; k < m[2]; k++) o |= fl[r * m[2] + k];
        rowor[r] = o;
    }
    int64_t np = 0;
    double dmax[2] = {0.0, 0.0};
    for (int dir = 0; dir < 2; dir++) {
        /* dir 0: A\B to B; dir 1: B\A to A */
        const uint8_t from = dir ? BIT_B : BIT_A, to = dir ? BIT_A : BIT_B;
        segloss__edt_box(d, fl, to, m, sp, rowor, work, iwork);
        for (int64_t i = 0; i < n; i++) {
            if ((fl[i] & (from | to)) != from) continue;
            const double v = sqrt(d[i]);
            pool[np++] = v;
            if (v > dmax[dir]) dmax[dir] = v;
        }
    }
    out->max_pred_to_ref = dmax[0];
    out->max_ref_to_pred = dmax[1];
    out->hd = dmax[0] > dmax[1] ? dmax[0] : dmax[1];
    out->hd95 = out->hd;
    if (np > 1) {
        const double q = mo->percentile / 100.0;
        const int64_t k = (int64_t)(int)(q * (double)(np - 1));
        segloss__select(pool, np, k);
        out->hd95 = pool[k];
    }
    st = SEGLOSS_OK;
done:
    free(rowor);
    free(d);
    free(work);
    free(iwork);
    free(pool);
    return st;
}

segloss_status segloss__evalseg_box(segloss_surface_metrics *out, segloss_mask_metrics *mask,
                                    const segloss__grid *g, const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo) {
    const int want_mah = mask && (mo->mask_metrics & SEGLOSS_MASK_MAHALANOBIS);
    if (!mo->distances && !want_mah) return SEGLOSS_OK;
    int64_t m[3], nb = 1;
    for (int a = 0; a < 3; a++) {
        m[a] = hi[a] - lo[a];
        if (m[a] <= 0) return SEGLOSS_OK; /* both masks empty */
        nb *= m[a];
    }
    uint8_t *fl = malloc((size_t)nb);
    if (!fl) return SEGLOSS_ERR_NOMEM;
    for (int64_t r = 0; r < m[0] * m[1]; r++) {
        uint8_t *row = fl + r * m[2];
        const int64_t off = ((lo[0] + r / m[1]) * g->n[1] + lo[1] + r % m[1]) * g->n[2] + lo[2];
        if (pred->dtype == ref->dtype) {
            segloss__mask_row2(row, pred->data, ref->data, pred->dtype, off, m[2], label,
                               match_nonzero);
        } else {
            memset(row, 0, (size_t)m[2]);
            segloss__mask_row(row, pred->data, pred->dtype, off, m[2], label, match_nonzero,
                              BIT_A);
            segloss__mask_row(row, ref->data, ref->dtype, off, m[2], label, match_nonzero,
                              BIT_B);
        }
    }
    int64_t nA = 0, nB = 0;
    for (int64_t i = 0; i < nb; i++) {
        nA += fl[i] & BIT_A;
        nB += (fl[i] & BIT_B) >> 1;
    }
    es_img im = {fl, {g->n[0], g->n[1], g->n[2]}, {lo[0], lo[1], lo[2]}, {m[0], m[1], m[2]},
                 g->sp[2], g->sp[1], g->sp[0]};
    segloss_status st = SEGLOSS_OK;
    if (nA == 0 || nB == 0) {
        /* segloss's empty-mask values stand (NaN under the convention) */
    } else if (nA == g->numel || nB == g->numel) {
        if (mo->distances)
            out->hd = out->hd95 = out->masd = out->max_pred_to_ref = out->max_ref_to_pred =
                out->mean_pred_to_ref = out->mean_ref_to_pred = NAN;
        if (want_mah) mask->mahalanobis = NAN;
    } else {
        if (mo->distances) st = exact_hd(out, fl, m, g->sp, mo);
        if (st == SEGLOSS_OK && mo->distances) {
            int nomem = 0;
            out->mean_ref_to_pred = avg_directed(&im, BIT_B, BIT_A, &nomem);
            out->mean_pred_to_ref = avg_directed(&im, BIT_A, BIT_B, &nomem);
            out->masd = (out->mean_ref_to_pred + out->mean_pred_to_ref) / 2;
            if (nomem) st = SEGLOSS_ERR_NOMEM;
        }
        if (want_mah) mask->mahalanobis = mahalanobis(&im);
    }
    free(fl);
    return st;
}
