/* Fuzz target: the metric API (segloss_label_scan, segloss_label_scan_rows,
 * segloss_label_metrics_compute, segloss_region_metrics_compute) on small
 * label maps of rank 1..3 with arbitrary dtypes, values and options.
 *
 * Input layout (bytes read front to back; missing bytes read as 0):
 *   [0]      rank (1..3) and the two dtypes
 *   [1..3]   dims (1..6)
 *   [4..]    options: spacing per axis, percentile, tolerance, hd95
 *            variant, empty-mask rules, beta, boundary width, mask
 *            metrics, surface (voxel, surfel, an invalid value), an
 *            ignore label, a convention (or none, or an invalid one); then one byte per voxel of pred and of ref
 *            (labels 0..3 mostly; now and then a large, negative or
 *            out-of-range value).
 * Properties checked, beyond a status in range and never INTERNAL/NOMEM:
 *  - counts: tp, fp, fn, tn of every label equal a brute-force count, and
 *    so do the counts of a region run with the ignore label;
 *  - distances (voxel surfaces, valid options): hd, hd95 (both variants),
 *    assd, masd, nsd and the directed fields equal a brute-force
 *    computation over every pair of surface voxels (1e-9 relative), and
 *    the empty-mask rules (NaN, the image diagonal, nsd 0) hold;
 *  - the results do not depend on the thread count (same bits, 1 and 3),
 *    under every convention (segloss_metric_opts_convention);
 *  - swapping pred and ref swaps fp/fn and the directed fields and leaves
 *    the symmetric scores unchanged (1e-12 relative), for both surfaces;
 *  - a single-label region without ignore label equals that label's
 *    metrics (1e-12 relative);
 *  - every score in [0, 1] is in [0, 1] or NaN; hd95 <= hd, assd <= hd. */
#include "fuzz.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 216 /* 6 x 6 x 6 */

static const segloss_dtype g_dtypes[8] = {SEGLOSS_U8,  SEGLOSS_I16, SEGLOSS_I32, SEGLOSS_BOOL,
                                          SEGLOSS_I64, SEGLOSS_U16, SEGLOSS_I8,  SEGLOSS_U64};

static int64_t label_value(uint8_t b) {
    static const int64_t special[8] = {255, -1, 1000, 65535, INT64_MAX, -100, 4, 7};
    return b < 224 ? b % 4 : special[b % 8];
}

/* Stores v as dtype dt; returns the value read back (what the library
 * sees: a narrowing store wraps). -2 marks a U64 value above INT64_MAX. */
static int64_t store(void *buf, segloss_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case SEGLOSS_U8: return ((uint8_t *)buf)[i] = (uint8_t)v;
    case SEGLOSS_BOOL: return ((uint8_t *)buf)[i] = (uint8_t)(v != 0);
    case SEGLOSS_I8: return ((int8_t *)buf)[i] = (int8_t)v;
    case SEGLOSS_I16: return ((int16_t *)buf)[i] = (int16_t)v;
    case SEGLOSS_U16: return ((uint16_t *)buf)[i] = (uint16_t)v;
    case SEGLOSS_I32: return ((int32_t *)buf)[i] = (int32_t)v;
    case SEGLOSS_U64: ((uint64_t *)buf)[i] = (uint64_t)v; return v;
    default: return ((int64_t *)buf)[i] = v;
    }
}

static double pick(uint8_t b, const double *table, int n) { return table[b % n]; }

typedef struct grid {
    int ndim;
    int64_t dim[3], n;
    double sp[3];
} grid;

static void coords(const grid *g, int64_t i, int64_t *c) {
    for (int d = g->ndim - 1; d >= 0; d--) {
        c[d] = i % g->dim[d];
        i /= g->dim[d];
    }
}

/* Surface voxels of mask m: in m, on the image border or with a face
 * neighbour outside m. */
static int64_t surface(const grid *g, const uint8_t *m, int64_t *out) {
    int64_t k = 0;
    for (int64_t i = 0; i < g->n; i++) {
        if (!m[i]) continue;
        int64_t c[3];
        coords(g, i, c);
        int surf = 0;
        int64_t stride = 1;
        for (int d = g->ndim - 1; d >= 0 && !surf; d--) {
            if (c[d] == 0 || c[d] == g->dim[d] - 1) surf = 1;
            else if (!m[i - stride] || !m[i + stride]) surf = 1;
            stride *= g->dim[d];
        }
        if (surf) out[k++] = i;
    }
    return k;
}

/* Physical coordinates of voxels v[0..n). */
static void positions(const grid *g, const int64_t *v, int64_t n, double (*pos)[3]) {
    for (int64_t k = 0; k < n; k++) {
        int64_t c[3] = {0, 0, 0};
        coords(g, v[k], c);
        for (int e = 0; e < 3; e++) pos[k][e] = e < g->ndim ? (double)c[e] * g->sp[e] : 0.0;
    }
}

/* d[k] = distance from surface voxel a[k] to the nearest voxel of b. */
static void directed(const grid *g, const int64_t *a, int64_t na, const int64_t *b, int64_t nb,
                     double *d) {
    static double pa[MAXV][3], pb[MAXV][3];
    positions(g, a, na, pa);
    positions(g, b, nb, pb);
    for (int64_t k = 0; k < na; k++) {
        double best = INFINITY;
        for (int64_t j = 0; j < nb; j++) {
            double s = 0;
            for (int e = 0; e < 3; e++) {
                double t = pa[k][e] - pb[j][e];
                s += t * t;
            }
            if (s < best) best = s;
        }
        d[k] = sqrt(best);
    }
}

static int cmp_d(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* numpy.percentile, method 'linear', of n > 0 values (sorted here). */
static double percentile(double *v, int64_t n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    double pos = (double)(n - 1) * p / 100.0;
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* Brute-force voxel-surface distances of label L, compared with m. */
static void check_distances(const grid *g, const int64_t *pv, const int64_t *rv, int64_t label,
                            const segloss_metric_opts *o, const segloss_surface_metrics *m) {
    uint8_t a[MAXV], b[MAXV];
    int64_t na = 0, nb = 0;
    for (int64_t i = 0; i < g->n; i++) {
        a[i] = pv[i] == label;
        b[i] = rv[i] == label;
        na += a[i];
        nb += b[i];
    }
    if (na == 0 || nb == 0) {
        double diag = 0;
        for (int d = 0; d < g->ndim; d++) diag += (double)g->dim[d] * g->sp[d] * (double)g->dim[d] * g->sp[d];
        diag = sqrt(diag);
        int one = (na == 0) != (nb == 0);
        double want = one && o->empty_distance == SEGLOSS_EMPTY_DISTANCE_DIAG ? diag : NAN;
        FUZZ_CHECK_MSG(fuzz_close(m->hd, want, 1e-12) && fuzz_close(m->assd, want, 1e-12) &&
                           fuzz_close(m->hd95, want, 1e-12),
                       "label %lld, one mask empty: hd %.17g assd %.17g, want %.17g", (long long)label,
                       m->hd, m->assd, want);
        if (one) FUZZ_CHECK_MSG(m->nsd == 0.0, "label %lld: nsd %.17g with one empty mask", (long long)label, m->nsd);
        return;
    }
    int64_t sa[MAXV], sb[MAXV];
    int64_t ka = surface(g, a, sa), kb = surface(g, b, sb);
    double da[MAXV], db[MAXV], pool[2 * MAXV];
    directed(g, sa, ka, sb, kb, da);
    directed(g, sb, kb, sa, ka, db);
    double hd = 0, suma = 0, sumb = 0;
    int64_t within = 0;
    for (int64_t k = 0; k < ka; k++) {
        hd = fmax(hd, da[k]);
        suma += da[k];
        within += da[k] <= o->tolerance;
        pool[k] = da[k];
    }
    double maxa = hd, maxb = 0;
    for (int64_t k = 0; k < kb; k++) {
        maxb = fmax(maxb, db[k]);
        sumb += db[k];
        within += db[k] <= o->tolerance;
        pool[ka + k] = db[k];
    }
    hd = fmax(maxa, maxb);
    double hd95 = o->hd95_variant == SEGLOSS_HD95_POOLED
                      ? percentile(pool, ka + kb, o->percentile)
                      : fmax(percentile(da, ka, o->percentile), percentile(db, kb, o->percentile));
    double assd = (suma + sumb) / (double)(ka + kb);
    double masd = (suma / (double)ka + sumb / (double)kb) / 2;
    double nsd = (double)within / (double)(ka + kb);
#define SAME(field, want)                                                                        \
    FUZZ_CHECK_MSG(fuzz_close(m->field, want, 1e-9), "label %lld: " #field " %.17g, brute force %.17g", \
                   (long long)label, m->field, want)
    SAME(hd, hd);
    SAME(hd95, hd95);
    SAME(assd, assd);
    SAME(masd, masd);
    SAME(nsd, nsd);
    SAME(max_pred_to_ref, maxa);
    SAME(max_ref_to_pred, maxb);
    SAME(mean_pred_to_ref, suma / (double)ka);
    SAME(mean_ref_to_pred, sumb / (double)kb);
#undef SAME
    FUZZ_CHECK(m->n_surface_pred == ka && m->n_surface_ref == kb);
}

static void check_ranges(const segloss_label_metrics *m) {
    const segloss_overlap_scores *s = &m->overlap;
    const double unit[] = {s->dice, s->iou, s->precision, s->recall, s->specificity, s->accuracy,
                           s->fbeta, s->balanced_accuracy, s->npv, s->fpr, s->fnr, s->fdr, s->for_,
                           s->ri, s->auc, m->surface.nsd, m->mask.boundary_iou, m->mask.cldice};
    for (size_t k = 0; k < sizeof unit / sizeof unit[0]; k++)
        FUZZ_CHECK_MSG(isnan(unit[k]) || (unit[k] >= 0 && unit[k] <= 1),
                       "label %lld: score %zu = %.17g outside [0, 1]", (long long)m->stats.label, k,
                       unit[k]);
    const segloss_surface_metrics *d = &m->surface;
    if (isfinite(d->hd) && !isnan(d->hd95) && !isnan(d->assd)) {
        FUZZ_CHECK_MSG(d->hd95 <= d->hd * (1 + 1e-12), "hd95 %.17g > hd %.17g", d->hd95, d->hd);
        FUZZ_CHECK_MSG(d->assd <= d->hd * (1 + 1e-12), "assd %.17g > hd %.17g", d->assd, d->hd);
    }
}

/* Swapped pred and ref: the same symmetric scores, fp/fn swapped. */
static void check_swap(const segloss_label_metrics *m, const segloss_label_metrics *w) {
    FUZZ_CHECK(m->stats.label == w->stats.label && m->stats.conf.tp == w->stats.conf.tp &&
               m->stats.conf.fp == w->stats.conf.fn && m->stats.conf.fn == w->stats.conf.fp);
    const double a[] = {m->overlap.dice, m->overlap.iou, m->overlap.accuracy, m->surface.hd,
                        m->surface.hd95, m->surface.assd, m->surface.nsd, m->surface.masd,
                        m->surface.max_pred_to_ref, m->surface.mean_pred_to_ref};
    const double b[] = {w->overlap.dice, w->overlap.iou, w->overlap.accuracy, w->surface.hd,
                        w->surface.hd95, w->surface.assd, w->surface.nsd, w->surface.masd,
                        w->surface.max_ref_to_pred, w->surface.mean_ref_to_pred};
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
        FUZZ_CHECK_MSG(fuzz_close(a[k], b[k], 1e-12), "label %lld: swapped score %zu: %.17g vs %.17g",
                       (long long)m->stats.label, k, a[k], b[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size, 0};
    uint8_t h = fuzz_u8(&in);
    grid g;
    g.ndim = 1 + h % 3;
    segloss_dtype pdt = g_dtypes[h / 4 % 8], rdt = g_dtypes[h / 32 % 8];
    segloss_shape shape;
    memset(&shape, 0, sizeof shape);
    shape.ndim = g.ndim;
    g.n = 1;
    for (int d = 0; d < 3; d++) {
        int64_t v = 1 + fuzz_u8(&in) % 6;
        if (d < g.ndim) {
            g.dim[d] = shape.dim[d] = v;
            g.n *= v;
        }
    }
    static const double spacing_t[10] = {1, 0.5, 2, 0, 1e-3, 3.7, NAN, -1, INFINITY, 1.25};
    static const double pct_t[8] = {95, 0, 100, 50, 99.9, -1, 101, NAN};
    static const double tol_t[6] = {1, 0, 2.5, -1, NAN, 1.5};
    static const double beta_t[5] = {1, 0, 2, -1, NAN};
    static const double width_t[6] = {1, 0, 0.5, 3, -1, NAN};
    segloss_metric_opts o = segloss_metric_opts_default();
    int valid = 1;
    for (int d = 0; d < 3; d++) {
        o.spacing[d] = pick(fuzz_u8(&in), spacing_t, 10);
        if (d < g.ndim) {
            g.sp[d] = o.spacing[d] == 0 ? 1.0 : o.spacing[d];
            valid &= isfinite(o.spacing[d]) && o.spacing[d] >= 0;
        }
    }
    o.percentile = pick(fuzz_u8(&in), pct_t, 8);
    o.tolerance = pick(fuzz_u8(&in), tol_t, 6);
    valid &= o.percentile >= 0 && o.percentile <= 100 && o.tolerance >= 0 && isfinite(o.tolerance);
    uint8_t f = fuzz_u8(&in);
    o.hd95_variant = (segloss_hd95_variant)(f & 1);
    o.empty_score = (segloss_empty_score)(f / 2 % 3);
    o.empty_distance = (segloss_empty_distance)(f / 8 % 2);
    o.distances = (f & 16) != 0;
    o.surface = (segloss_surface_kind)(f / 32 % 3); /* 2 is invalid */
    o.beta = pick(fuzz_u8(&in), beta_t, 5);
    o.boundary_width = pick(fuzz_u8(&in), width_t, 6);
    o.mask_metrics = fuzz_u8(&in) % 20; /* 16..19: an unknown bit */
    int64_t ignore = fuzz_u8(&in) % 4;
    /* Odd: a tool's convention over the options above (7: an invalid
     * value); its empty-mask rules differ from segloss's, so the
     * brute-force and swap checks run only under segloss's own rules. */
    uint8_t cb = fuzz_u8(&in);
    if (cb & 1) {
        int conv = cb / 2 % 8;
        if (conv < 7) FUZZ_CHECK(segloss_metric_opts_convention(&o, segloss_convention_name(conv)) == SEGLOSS_OK);
        else o.convention = (segloss_convention)7;
    }
    int own_rules = o.convention == SEGLOSS_CONVENTION_SEGLOSS || o.convention == SEGLOSS_CONVENTION_NNUNET;

    size_t pes = segloss_dtype_size(pdt), res = segloss_dtype_size(rdt);
    void *pbuf = malloc((size_t)g.n * pes), *rbuf = malloc((size_t)g.n * res);
    if (!pbuf || !rbuf) abort();
    int64_t pv[MAXV], rv[MAXV];
    int huge = 0; /* a U64 value above INT64_MAX: DOMAIN */
    for (int64_t i = 0; i < g.n; i++) pv[i] = store(pbuf, pdt, i, label_value(fuzz_u8(&in)));
    for (int64_t i = 0; i < g.n; i++) rv[i] = store(rbuf, rdt, i, label_value(fuzz_u8(&in)));
    for (int64_t i = 0; i < g.n; i++) huge |= (pdt == SEGLOSS_U64 && pv[i] < 0) || (rdt == SEGLOSS_U64 && rv[i] < 0);
    segloss_label_array pa = {pbuf, pdt}, ra = {rbuf, rdt};

    segloss_label_set set;
    memset(&set, 0, sizeof set);
    segloss_status st = segloss_label_scan(&set, &pa, &ra, &shape);
    fuzz_check_status(st);
    FUZZ_CHECK_MSG(st == SEGLOSS_OK || huge, "scan status %d on a valid map", (int)st);
    {
        /* the scan in two steps: the all-zero rows of both maps skipped */
        uint8_t pz[MAXV], rz[MAXV];
        FUZZ_CHECK(segloss_label_rows_zero(pz, &pa, &shape) == SEGLOSS_OK &&
                   segloss_label_rows_zero(rz, &ra, &shape) == SEGLOSS_OK);
        segloss_label_set s2;
        segloss_status st2 = segloss_label_scan_rows(&s2, &pa, pz, &ra, rz, &shape);
        FUZZ_CHECK_MSG(st2 == st, "scan_rows status %d, scan %d", (int)st2, (int)st);
        FUZZ_CHECK(st != SEGLOSS_OK || (s2.count == set.count && s2.numel == set.numel &&
                                        (set.count == 0 || memcmp(s2.items, set.items,
                                                                  (size_t)set.count * sizeof *set.items) == 0)));
        segloss_label_set_free(&s2);
    }
    if (st == SEGLOSS_OK) {
        int64_t nl = set.count;
        segloss_label_metrics *m1 = calloc((size_t)nl + 1, sizeof *m1);
        segloss_label_metrics *m3 = calloc((size_t)nl + 1, sizeof *m3);
        segloss_label_metrics *mw = calloc((size_t)nl + 1, sizeof *mw);
        segloss_label_metrics *mr = calloc((size_t)nl + 1, sizeof *mr);
        int64_t *labels = calloc((size_t)nl + 1, sizeof *labels);
        if (!m1 || !m3 || !mw || !mr || !labels) abort();
        for (int64_t k = 0; k < nl; k++) labels[k] = set.items[k].label;
        o.threads = 1;
        st = segloss_label_metrics_compute(m1, NULL, nl, &set, &pa, &ra, &shape, &o);
        fuzz_check_status(st);
        int surfel_ok = o.surface == SEGLOSS_SURFACE_VOXEL ||
                        (o.surface == SEGLOSS_SURFACE_SURFEL && (g.ndim >= 2 || !o.distances));
        int opts_ok = valid && surfel_ok && o.convention >= 0 && o.convention < 7 &&
                      o.mask_metrics < 16 && !isnan(o.beta) && o.beta >= 0 && !isnan(o.boundary_width) &&
                      o.boundary_width >= 0;
        FUZZ_CHECK_MSG((st == SEGLOSS_OK) == opts_ok, "metrics status %d, options valid %d", (int)st, opts_ok);
        if (st == SEGLOSS_OK) {
            o.threads = 3;
            FUZZ_CHECK(segloss_label_metrics_compute(m3, labels, nl, &set, &pa, &ra, &shape, &o) == SEGLOSS_OK);
            FUZZ_CHECK_MSG(nl == 0 || memcmp(m1, m3, (size_t)nl * sizeof *m1) == 0,
                           "1 and 3 threads differ");
            for (int64_t k = 0; k < nl; k++) {
                const segloss_label_metrics *m = &m1[k];
                int64_t L = m->stats.label, tp = 0, fp = 0, fn = 0;
                for (int64_t i = 0; i < g.n; i++) {
                    tp += pv[i] == L && rv[i] == L;
                    fp += pv[i] == L && rv[i] != L;
                    fn += pv[i] != L && rv[i] == L;
                }
                FUZZ_CHECK_MSG(m->stats.conf.tp == tp && m->stats.conf.fp == fp && m->stats.conf.fn == fn &&
                                   m->stats.conf.tn == g.n - tp - fp - fn,
                               "label %lld: counts %lld %lld %lld, brute force %lld %lld %lld", (long long)L,
                               (long long)m->stats.conf.tp, (long long)m->stats.conf.fp,
                               (long long)m->stats.conf.fn, (long long)tp, (long long)fp, (long long)fn);
                check_ranges(m);
                if (o.distances && o.surface == SEGLOSS_SURFACE_VOXEL && own_rules)
                    check_distances(&g, pv, rv, L, &o, &m->surface);
            }
            /* Swapped inputs: a scan of (ref, pred) has the same labels. */
            segloss_label_set sw;
            memset(&sw, 0, sizeof sw);
            FUZZ_CHECK(segloss_label_scan(&sw, &ra, &pa, &shape) == SEGLOSS_OK && sw.count == nl);
            o.threads = 1;
            FUZZ_CHECK(segloss_label_metrics_compute(mw, labels, nl, &sw, &ra, &pa, &shape, &o) == SEGLOSS_OK);
            for (int64_t k = 0; k < nl && own_rules; k++) check_swap(&m1[k], &mw[k]);
            segloss_label_set_free(&sw);
            /* Single-label regions, no ignore label: the labels' metrics. */
            st = segloss_region_metrics_compute(mr, labels, NULL, nl, NULL, &pa, &ra, &shape, &o);
            fuzz_check_status(st);
            FUZZ_CHECK_MSG(st == SEGLOSS_OK || nl == 0, "regions status %d", (int)st);
            for (int64_t k = 0; k < nl && st == SEGLOSS_OK; k++) {
                FUZZ_CHECK(mr[k].stats.label == labels[k] && mr[k].stats.conf.tp == m1[k].stats.conf.tp &&
                           mr[k].stats.conf.fp == m1[k].stats.conf.fp &&
                           mr[k].stats.conf.fn == m1[k].stats.conf.fn);
                FUZZ_CHECK_MSG(fuzz_close(mr[k].surface.hd, m1[k].surface.hd, 1e-12) &&
                                   fuzz_close(mr[k].surface.assd, m1[k].surface.assd, 1e-12) &&
                                   fuzz_close(mr[k].overlap.dice, m1[k].overlap.dice, 1e-12),
                               "label %lld: region run differs", (long long)labels[k]);
            }
            /* Every label as one region, with the ignore label. */
            if (nl > 0) {
                int64_t offs[2] = {0, nl};
                segloss_label_metrics one;
                st = segloss_region_metrics_compute(&one, labels, offs, 1, &ignore, &pa, &ra, &shape, &o);
                fuzz_check_status(st);
                FUZZ_CHECK_MSG(st == SEGLOSS_OK, "region with ignore label: status %d", (int)st);
                int64_t tp = 0, fp = 0, fn = 0, kept = 0;
                for (int64_t i = 0; i < g.n; i++) {
                    if (rv[i] == ignore) continue;
                    int a = 0, b = 0;
                    for (int64_t k = 0; k < nl; k++) {
                        a |= pv[i] == labels[k];
                        b |= rv[i] == labels[k];
                    }
                    kept++;
                    tp += a && b;
                    fp += a && !b;
                    fn += !a && b;
                }
                FUZZ_CHECK_MSG(one.stats.conf.tp == tp && one.stats.conf.fp == fp && one.stats.conf.fn == fn &&
                                   one.stats.conf.tn == kept - tp - fp - fn,
                               "region with ignore %lld: counts %lld %lld %lld %lld, brute force %lld %lld %lld %lld",
                               (long long)ignore, (long long)one.stats.conf.tp, (long long)one.stats.conf.fp,
                               (long long)one.stats.conf.fn, (long long)one.stats.conf.tn, (long long)tp,
                               (long long)fp, (long long)fn, (long long)(kept - tp - fp - fn));
                check_ranges(&one);
            }
        }
        free(m1);
        free(m3);
        free(mw);
        free(mr);
        free(labels);
    }
    segloss_label_set_free(&set);
    free(pbuf);
    free(rbuf);
    return 0;
}
