/* Surface distances of one label: hd, hd95 (any percentile, max or pooled),
 * assd, nsd, from exact Euclidean distances restricted to the label's
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
 * O(box), never O(volume).
 *
 * Where the work goes. Only the distances at the surface voxels of the
 * other mask are needed, and for a prediction near its reference they are
 * a few voxels. So per direction the axis-2 pass of the separable transform
 * (edt.c) runs on every row holding a feature (cheap scans), and each query
 * voxel then finds its minimum over the nearby planes and rows by an
 * outward search bounded by the best value found (query_d2, plane_min):
 * exactly the minimum of the same sums the separable transform takes, at a
 * cost that grows with the distance, not the box. Where searches get long
 * (far objects, stray voxels), budgets hand the work to the linear-time
 * lower-envelope passes of edt.c, plane by plane and column by column, so
 * the total stays linear in the box. Scratch buffers live in a workspace
 * reused across labels. */
#define _DEFAULT_SOURCE 1 /* madvise (core/huge.h) */
#include "metric/metric.h"
#include "core/huge.h"

#include <math.h>
#include <stdlib.h>

enum { BIT_A = 1, BIT_B = 2, BIT_SA = 4, BIT_SB = 8 };

/* Fills the result for A or B empty (nA, nB: voxel counts). */
static void empty_result(segloss_surface_metrics *out, const segloss__grid *g, int64_t nA,
                         int64_t nB, const segloss__mopts *mo) {
    double v = NAN;
    if ((nA == 0) != (nB == 0) && mo->empty_distance == SEGLOSS_EMPTY_DISTANCE_DIAG)
        v = segloss__grid_diagonal(g);
    out->hd = out->hd95 = out->assd = v;
    out->masd = out->sd_median = out->sd_std = v;
    out->max_pred_to_ref = out->max_ref_to_pred = v;
    out->mean_pred_to_ref = out->mean_ref_to_pred = v;
    /* nsd: with one surface empty, no voxel is within tau of it -> 0 */
    out->nsd = (nA == 0 && nB == 0) ? segloss__empty_value(mo->empty_score) : 0.0;
    segloss__convention_surface(out, nA, nB, mo->conv);
}

/* One voxel of mark_surfaces: f = its BIT_A|BIT_B, the rest its
 * neighbours' flags; returns the flags with the surface bits. */
static inline uint8_t surface_voxel(uint8_t f, uint8_t prev, uint8_t next, uint8_t up,
                                    uint8_t dn, uint8_t fr, uint8_t bk) {
    const uint8_t in = f & prev & next & up & dn & fr & bk;
    return (uint8_t)(f | ((f & ~in) << 2));
}

/* Marks S(A) and S(B) in a box of flags holding BIT_A/BIT_B, and counts
 * |A|, |B|, |S(A)|, |S(B)| into cnt. Also rowor[i0*m1 + i1] = OR of the
 * flags of a row (the EDT skips rows without features, collect rows
 * without queries). zero, ones: scratch for m2 bytes each. Branch-free per
 * voxel: a face-neighbour beyond the box counts as 0 (see top comment) and
 * one along a padded axis (rank < 3) as "inside", so it never makes a
 * surface. The inside of a row goes 8 voxels at a time in a 64-bit word:
 * the flags of a voxel use bits 0-3 of its byte only, so the bitwise
 * operations and the shift by 2 never mix bytes. */
static void mark_surfaces(uint8_t *fl, const int64_t m[3], int ndim, uint8_t *rowor,
                          uint8_t *zero, uint8_t *ones, int64_t cnt[4]) {
    const int64_t m0 = m[0], m1 = m[1], m2 = m[2], plane = m1 * m2;
    const uint64_t low = 0x0101010101010101ULL;
    memset(zero, 0, (size_t)m2);
    memset(ones, 0xFF, (size_t)m2);
    const uint8_t *none1 = ndim >= 2 ? zero : ones, *none0 = ndim >= 3 ? zero : ones;
    int64_t nA = 0, nB = 0, nSA = 0, nSB = 0;
    for (int64_t i0 = 0; i0 < m0; i0++) {
        for (int64_t i1 = 0; i1 < m1; i1++) {
            uint8_t *row = fl + i0 * plane + i1 * m2;
            const uint8_t *up = i1 > 0 ? row - m2 : none1;
            const uint8_t *dn = i1 + 1 < m1 ? row + m2 : none1;
            const uint8_t *fr = i0 > 0 ? row - plane : none0;
            const uint8_t *bk = i0 + 1 < m0 ? row + plane : none0;
            /* Voxels already marked (earlier rows, row[k-1]) carry surface
             * bits too; "f & ..." drops them. Voxel 0 alone, then words of
             * 8 voxels whose neighbours k-1 .. k+8 lie in the row, then the
             * rest alone. */
            uint64_t o = 0, a = 0, b = 0, sa = 0, sb = 0;
            uint8_t prev = 0;
#define MARK_ONE(k)                                                                      \
    do {                                                                                 \
        const uint8_t f_ = row[k] & (BIT_A | BIT_B);                                     \
        const uint8_t v_ = surface_voxel(f_, prev, (k) + 1 < m2 ? row[(k) + 1] : 0,      \
                                         up[k], dn[k], fr[k], bk[k]);                    \
        prev = f_;                                                                       \
        row[k] = v_;                                                                     \
        o |= v_;                                                                         \
        a += v_ & 1;                                                                     \
        b += (v_ >> 1) & 1;                                                              \
        sa += (v_ >> 2) & 1;                                                             \
        sb += (v_ >> 3) & 1;                                                             \
    } while (0)
            MARK_ONE(0);
            int64_t k = 1;
            for (; k + 9 <= m2; k += 8) {
                uint64_t w, pw, nw, u, dw, fw, bw;
                memcpy(&w, row + k, 8);
                memcpy(&pw, row + k - 1, 8);
                memcpy(&nw, row + k + 1, 8);
                memcpy(&u, up + k, 8);
                memcpy(&dw, dn + k, 8);
                memcpy(&fw, fr + k, 8);
                memcpy(&bw, bk + k, 8);
                const uint64_t f = w & (low * (BIT_A | BIT_B));
                const uint64_t in = f & pw & nw & u & dw & fw & bw;
                const uint64_t v = f | ((f & ~in) << 2);
                memcpy(row + k, &v, 8);
                o |= v;
                a += (uint64_t)segloss__byte_count(v & low);
                b += (uint64_t)segloss__byte_count((v >> 1) & low);
                sa += (uint64_t)segloss__byte_count((v >> 2) & low);
                sb += (uint64_t)segloss__byte_count((v >> 3) & low);
            }
            if (k < m2) prev = row[k - 1] & (BIT_A | BIT_B);
            for (; k < m2; k++) MARK_ONE(k);
#undef MARK_ONE
            o |= o >> 32;
            o |= o >> 16;
            o |= o >> 8;
            rowor[i0 * m1 + i1] = (uint8_t)o;
            nA += (int64_t)a;
            nB += (int64_t)b;
            nSA += (int64_t)sa;
            nSB += (int64_t)sb;
        }
    }
    cnt[0] = nA;
    cnt[1] = nB;
    cnt[2] = nSA;
    cnt[3] = nSB;
}

/* One direction: distances from the voxels carrying `bit` (queries) to the
 * voxels carrying `feat` (features), on a box where segloss__edt_rows has
 * run for `feat`. */
typedef struct direction {
    double *d;               /* per voxel of the box: the axis-2 distance (rows
                                with a feature), the 2-D one in planes done, the
                                final one at query voxels of columns done */
    const uint8_t *fl, *rowor;
    uint8_t feat, bit;
    int64_t m[3];
    const double *sp;        /* spacing */
    double s0, s1;           /* sp[0], sp[1] */
    const double *sq0, *sq1; /* sqA[j] = (sA*j)^2 */
    uint8_t *pfeat;          /* plane holds a feature */
    int64_t *planes;         /* those planes, np of them */
    int64_t np;
    uint8_t *pdone;          /* plane done by segloss__edt_plane */
    int64_t *budget;         /* search steps a plane may still take */
    uint8_t *cdone;          /* column done by segloss__edt_column */
    double *work;
    int64_t *iwork;
} direction;

/* Longest outward search along axis 0 before a voxel hands its column to
 * the lower envelope. */
enum { SEARCH_STEPS = 32 };

static void plane_done(direction *x, int64_t c) {
    const int64_t m1 = x->m[1], m2 = x->m[2];
    segloss__edt_plane(x->d + c * m1 * m2, x->rowor + c * m1, x->feat, m1, m2, x->s1, x->work,
                       x->iwork);
    x->pdone[c] = 1;
}

/* min(best, min over the feature rows r of plane c of
 *   (d[c, r, i2] + sq1[|i1 - r|]) + t0)
 * where d holds axis-2 distances; or, once the plane is done, its 2-D
 * distance + t0. Rows are searched outwards from i1 and the search stops
 * once sq1[j] + t0 >= best: every farther row adds at least as much, and
 * rounding is monotone, so nothing is lost. A plane whose searches have
 * used up its budget (about what its lower-envelope pass costs) is done
 * by that pass instead, so the searches of a plane cost O(plane) in all. */
static double plane_min(direction *x, int64_t c, int64_t i1, int64_t i2, double t0,
                        double best) {
    const int64_t m1 = x->m[1], m2 = x->m[2];
    const double *dp = x->d + c * m1 * m2 + i2; /* column (c, ., i2) */
    if (x->pdone[c]) {
        const double v = dp[i1 * m2] + t0;
        return v < best ? v : best;
    }
    const uint8_t *ro = x->rowor + c * m1;
    const uint8_t feat = x->feat;
    int64_t j = 0;
    for (;; j++) {
        const int64_t lo = i1 - j, hi = i1 + j;
        if (lo < 0 && hi >= m1) break;
        const double b = x->sq1[j];
        if (!(b + t0 < best)) break;
        if (lo >= 0 && (ro[lo] & feat)) {
            const double v = (dp[lo * m2] + b) + t0;
            best = v < best ? v : best;
        }
        if (j > 0 && hi < m1 && (ro[hi] & feat)) {
            const double v = (dp[hi * m2] + b) + t0;
            best = v < best ? v : best;
        }
    }
    x->budget[c] -= j + 1;
    if (x->budget[c] < 0) plane_done(x, c);
    return best;
}

/* Squared distance from query voxel (i0, i1, i2) to the nearest feature:
 *   min over planes c with a feature of plane_min(c, ..., sq0[|i0 - c|]),
 * searched outwards from c = i0 and stopped once sq0[j] >= the best value
 * (as in plane_min). The result is the minimum over all features f of
 *   (axis2(f)^2 + axis1(f)^2) + axis0(f)^2
 * evaluated in that order, with axisA(f)^2 = (sA * offset)^2: what the
 * separable transform computes for the feature it selects. Its work grows
 * with the distance, so a voxel still searching after SEARCH_STEPS planes
 * hands its column to the lower envelope (every plane done, then
 * segloss__edt_column), which also finishes every later voxel of the column:
 * the total stays linear in the box. (The envelope's choice among features
 * at exactly the same distance may round differently in the last bit.) */
static double query_d2(direction *x, int64_t i0, int64_t i1, int64_t i2) {
    const int64_t m0 = x->m[0], m2 = x->m[2], plane = x->m[1] * m2, col = i1 * m2 + i2;
    double *dc = x->d + col; /* column (., i1, i2) */
    if (x->cdone[col]) return dc[i0 * plane];
    double best = INFINITY;
    for (int64_t j = 0;; j++) {
        const int64_t lo = i0 - j, hi = i0 + j;
        if (lo < 0 && hi >= m0) break;
        const double t0 = x->sq0[j];
        if (!(t0 < best)) break;
        if (j > SEARCH_STEPS) {
            for (int64_t c = 0; c < x->np; c++)
                if (!x->pdone[x->planes[c]]) plane_done(x, x->planes[c]);
            segloss__edt_column(dc, x->fl + col, x->bit, i0, m0, plane, x->planes, x->np, x->s0,
                                x->work);
            x->cdone[col] = 1;
            return dc[i0 * plane];
        }
        if (lo >= 0 && x->pfeat[lo]) best = plane_min(x, lo, i1, i2, t0, best);
        if (j > 0 && hi < m0 && x->pfeat[hi]) best = plane_min(x, hi, i1, i2, t0, best);
    }
    return best;
}

/* Directed distances: dst[c++] = sqrt(query_d2) for the voxels with x->bit,
 * in box order; returns their sum (Neumaier-compensated: error independent
 * of the count, fixed order), max, and count within tau. */
static void collect(double *dst, direction *x, double tau, double *sum, double *max,
                    int64_t *within) {
    const int64_t m0 = x->m[0], m1 = x->m[1], m2 = x->m[2];
    const uint8_t bit = x->bit;
    double s = 0.0, comp = 0.0, mx = 0.0;
    int64_t c = 0, w = 0;
    for (int64_t i0 = 0; i0 < m0; i0++) {
        for (int64_t i1 = 0; i1 < m1; i1++) {
            if (!(x->rowor[i0 * m1 + i1] & bit)) continue;
            const uint8_t *fr = x->fl + (i0 * m1 + i1) * m2;
            for (int64_t k = 0; k < m2; k++) {
                if (!(fr[k] & bit)) continue;
                const double v = sqrt(query_d2(x, i0, i1, k));
                dst[c++] = v;
                const double t = s + v;
                comp += fabs(s) >= v ? (s - t) + v : (v - t) + s;
                s = t;
                if (v > mx) mx = v;
                w += v <= tau;
            }
        }
    }
    *sum = s + comp;
    *max = mx;
    *within = w;
}

/* Sets up x for features `feat` and queries `bit` (axis-2 pass included). */
static void direction_init(direction *x, uint8_t feat, uint8_t bit) {
    const int64_t m0 = x->m[0], m1 = x->m[1], m2 = x->m[2];
    x->feat = feat;
    x->bit = bit;
    x->np = segloss__edt_rows(x->d, x->pfeat, x->planes, x->budget, x->fl, feat, x->m, x->sp,
                              x->rowor, x->work, x->iwork);
    for (int64_t c = 0; c < m0; c++) {
        x->budget[c] = (2 * x->budget[c] + m1) * m2;
        x->pdone[c] = 0;
    }
    memset(x->cdone, 0, (size_t)(m1 * m2));
}

/* Rows fetched ahead while the flags are built. */
enum { ROW_AHEAD = 8 };

static inline void prefetch_range(const char *p, size_t n) {
#if defined(__GNUC__) || defined(__clang__)
    for (size_t k = 0; k < n; k += 64) __builtin_prefetch(p + k);
    __builtin_prefetch(p + n - 1);
#else
    (void)p;
    (void)n;
#endif
}

enum {
    WS_FL, WS_D, WS_DIST, WS_WORK, WS_IWORK, WS_ROWOR, WS_EDGE, WS_SQ0, WS_SQ1, WS_PFEAT,
    WS_PLANES, WS_PDONE, WS_BUDGET, WS_CDONE
};

void segloss__ws_free(segloss__ws *w) {
    for (int i = 0; i < SEGLOSS__WS_SLOTS; i++) {
        segloss__huge_unmap(w->p[i], w->cap[i]);
        w->p[i] = NULL;
        w->cap[i] = 0;
    }
}

/* Slot i with at least n bytes (contents not kept), NULL if out of memory. */
static void *ws_get(segloss__ws *w, int i, size_t n) {
    if (n == 0) n = 1;
    if (w->cap[i] < n) {
        segloss__huge_unmap(w->p[i], w->cap[i]);
        w->p[i] = segloss__huge_map(n); /* a large label's scratch: huge pages */
        w->cap[i] = w->p[i] ? n : 0;
    }
    return w->p[i];
}

/* x->d (nb doubles), x->work, x->iwork (EDT scratch for boxes with longest
 * side mx) from ws; -1 if out of memory. */
static int edt_scratch(direction *x, segloss__ws *ws, int64_t nb, int64_t mx) {
    x->d = ws_get(ws, WS_D, (size_t)nb * sizeof(double));
    x->work = ws_get(ws, WS_WORK, segloss__edt_work_doubles(mx) * sizeof(double));
    x->iwork = ws_get(ws, WS_IWORK, segloss__edt_iwork(mx) * sizeof(int64_t));
    return x->d && x->work && x->iwork ? 0 : -1;
}

static segloss_status surface_box(segloss_surface_metrics *out, segloss_mask_metrics *mask,
                                  const segloss__grid *g, const segloss_label_array *pred,
                                  const segloss_label_array *ref, int64_t label,
                                  int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                  const segloss__mopts *mo, segloss__ws *ws) {
    memset(out, 0, sizeof *out);
    int64_t m[3], nb = 1, mx = 1;
    for (int a = 0; a < 3; a++) {
        m[a] = hi[a] - lo[a];
        if (m[a] <= 0) {
            empty_result(out, g, 0, 0, mo);
            if (mask) {
                segloss__mask_box(mask, NULL, NULL, m, g, 0, 0, mo, NULL, NULL, NULL);
                if (mo->mask_metrics & SEGLOSS_MASK_CLDICE)
                    return segloss__cldice_box(&mask->cldice, NULL, m, g, 0, 0, mo);
            }
            return SEGLOSS_OK;
        }
        nb *= m[a]; /* <= numel: the box lies in the grid */
        if (m[a] > mx) mx = m[a];
    }
    const int64_t nrows = m[0] * m[1];
    uint8_t *fl = ws_get(ws, WS_FL, (size_t)nb);
    uint8_t *rowor = ws_get(ws, WS_ROWOR, (size_t)nrows);
    uint8_t *edge = ws_get(ws, WS_EDGE, 2 * (size_t)m[2]);
    if (!fl || !rowor || !edge) return SEGLOSS_ERR_NOMEM;
    /* The box rows are short pieces of two large arrays: without a hint the
     * loads of each row wait on memory one row at a time. */
    const size_t esp = segloss_dtype_size(pred->dtype), esr = segloss_dtype_size(ref->dtype);
    for (int64_t i0 = 0; i0 < m[0]; i0++) {
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            int64_t off = ((lo[0] + i0) * g->n[1] + lo[1] + i1) * g->n[2] + lo[2];
            {
                int64_t a0 = i0, a1 = i1 + ROW_AHEAD;
                if (a1 >= m[1]) {
                    a0++;
                    a1 -= m[1];
                }
                if (a0 < m[0] && a1 < m[1]) {
                    int64_t o2 = ((lo[0] + a0) * g->n[1] + lo[1] + a1) * g->n[2] + lo[2];
                    prefetch_range((const char *)pred->data + o2 * (int64_t)esp,
                                   (size_t)m[2] * esp);
                    prefetch_range((const char *)ref->data + o2 * (int64_t)esr,
                                   (size_t)m[2] * esr);
                }
            }
            uint8_t *row = fl + (i0 * m[1] + i1) * m[2];
            if (pred->dtype == ref->dtype) {
                segloss__mask_row2(row, pred->data, ref->data, pred->dtype, off, m[2], label,
                                   match_nonzero);
            } else {
                memset(row, 0, (size_t)m[2]);
                segloss__mask_row(row, pred->data, pred->dtype, off, m[2], label,
                                  match_nonzero, BIT_A);
                segloss__mask_row(row, ref->data, ref->dtype, off, m[2], label, match_nonzero,
                                  BIT_B);
            }
        }
    }
    int64_t cnt[4];
    mark_surfaces(fl, m, g->ndim, rowor, edge, edge + m[2], cnt);
    out->n_surface_pred = cnt[2];
    out->n_surface_ref = cnt[3];
    direction x;
    if (mask) { /* first: it uses x.d as scratch */
        if (edt_scratch(&x, ws, nb, mx)) return SEGLOSS_ERR_NOMEM;
        segloss__mask_box(mask, fl, rowor, m, g, cnt[0], cnt[1], mo, x.d, x.work, x.iwork);
        if (mo->mask_metrics & SEGLOSS_MASK_CLDICE) {
            segloss_status st = segloss__cldice_box(&mask->cldice, fl, m, g, cnt[0], cnt[1], mo);
            if (st != SEGLOSS_OK) return st;
        }
    }
    if (!mo->distances) return SEGLOSS_OK;
    if (cnt[0] == 0 || cnt[1] == 0) {
        empty_result(out, g, cnt[0], cnt[1], mo);
        return SEGLOSS_OK;
    }
    if (mo->surface == SEGLOSS_SURFACE_SURFEL) return segloss__surfel_box(out, fl, m, g, mo);
    if (edt_scratch(&x, ws, nb, mx)) return SEGLOSS_ERR_NOMEM;
    const int64_t nSA = cnt[2], nSB = cnt[3];
    double *dist = ws_get(ws, WS_DIST, (size_t)(nSA + nSB) * sizeof(double));
    double *sq0 = ws_get(ws, WS_SQ0, (size_t)m[0] * sizeof(double));
    double *sq1 = ws_get(ws, WS_SQ1, (size_t)m[1] * sizeof(double));
    x.pfeat = ws_get(ws, WS_PFEAT, (size_t)m[0]);
    x.planes = ws_get(ws, WS_PLANES, (size_t)m[0] * sizeof(int64_t));
    x.pdone = ws_get(ws, WS_PDONE, (size_t)m[0]);
    x.budget = ws_get(ws, WS_BUDGET, (size_t)m[0] * sizeof(int64_t));
    x.cdone = ws_get(ws, WS_CDONE, (size_t)(m[1] * m[2]));
    if (!dist || !sq0 || !sq1 || !x.pfeat || !x.planes ||
        !x.pdone || !x.budget || !x.cdone)
        return SEGLOSS_ERR_NOMEM;
    for (int64_t j = 0; j < m[0]; j++) {
        const double t = g->sp[0] * (double)j;
        sq0[j] = t * t;
    }
    for (int64_t j = 0; j < m[1]; j++) {
        const double t = g->sp[1] * (double)j;
        sq1[j] = t * t;
    }
    x.fl = fl;
    x.rowor = rowor;
    for (int a = 0; a < 3; a++) x.m[a] = m[a];
    x.sp = g->sp;
    x.s0 = g->sp[0];
    x.s1 = g->sp[1];
    x.sq0 = sq0;
    x.sq1 = sq1;
    double sumA, sumB, maxA, maxB;
    int64_t wA, wB;
    /* d(a, S(B)) for a in S(A), then d(b, S(A)) for b in S(B) */
    direction_init(&x, BIT_SB, BIT_SA);
    collect(dist, &x, mo->tolerance, &sumA, &maxA, &wA);
    direction_init(&x, BIT_SA, BIT_SB);
    collect(dist + nSA, &x, mo->tolerance, &sumB, &maxB, &wB);

    const double ntot = (double)(nSA + nSB);
    out->max_pred_to_ref = maxA;
    out->max_ref_to_pred = maxB;
    out->mean_pred_to_ref = sumA / (double)nSA;
    out->mean_ref_to_pred = sumB / (double)nSB;
    out->hd = maxA > maxB ? maxA : maxB;
    out->assd = (sumA + sumB) / ntot;
    out->nsd = (double)(wA + wB) / ntot;
    out->masd = 0.5 * (out->mean_pred_to_ref + out->mean_ref_to_pred);
    {
        /* population std about the pooled mean (= assd), two-pass */
        double ss = 0.0;
        for (int64_t i = 0; i < nSA + nSB; i++) {
            const double e = dist[i] - out->assd;
            ss += e * e;
        }
        out->sd_std = sqrt(ss / ntot);
    }
    if (mo->variant == SEGLOSS_HD95_POOLED) {
        out->hd95 = segloss__percentile(dist, nSA + nSB, mo->percentile);
    } else {
        double pa = segloss__percentile(dist, nSA, mo->percentile);
        double pb = segloss__percentile(dist + nSA, nSB, mo->percentile);
        out->hd95 = pa > pb ? pa : pb;
    }
    /* after the percentiles: the selections above only reorder dist */
    out->sd_median = segloss__percentile(dist, nSA + nSB, 50.0);
    return SEGLOSS_OK;
}

segloss_status segloss__surface_box(segloss_surface_metrics *out, segloss_mask_metrics *mask,
                                    const segloss__grid *g, const segloss_label_array *pred,
                                    const segloss_label_array *ref, int64_t label,
                                    int match_nonzero, const int64_t lo[3], const int64_t hi[3],
                                    const segloss__mopts *mo, segloss__ws *ws) {
    segloss__ws tmp;
    memset(&tmp, 0, sizeof tmp);
    segloss_status st =
        surface_box(out, mask, g, pred, ref, label, match_nonzero, lo, hi, mo, ws ? ws : &tmp);
    segloss__ws_free(&tmp);
    if (st == SEGLOSS_OK && segloss__convention_evalseg_distances(mo))
        st = segloss__evalseg_box(out, mask, g, pred, ref, label, match_nonzero, lo, hi, mo);
    return st;
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
    mo.distances = 1;
    st = segloss__mopts_grid_check(&mo, &g);
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
    return segloss__surface_box(out, NULL, &g, pred, ref, stats->label, 0, lo, hi, &mo, NULL);
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
    mo.distances = 1;
    st = segloss__mopts_grid_check(&mo, &g);
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
    return segloss__surface_box(out, NULL, &g, &pa, &ra, 1, 1, lo, hi, &mo, NULL);
}
