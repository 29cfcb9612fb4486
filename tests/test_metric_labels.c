/* Label scan (counts, boxes), merge, lookup, overlap scores from counts,
 * EDT and percentiles — each against a direct computation written here. */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static int64_t rnd_int(int64_t n) { return (int64_t)(rnd() % (uint64_t)n); }
static double rnd_unit(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }

/* Stores v into element i of an array of dtype dt. */
static void put(void *a, segloss_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case SEGLOSS_U8: case SEGLOSS_BOOL: ((uint8_t *)a)[i] = (uint8_t)v; break;
    case SEGLOSS_I8: ((int8_t *)a)[i] = (int8_t)v; break;
    case SEGLOSS_I16: ((int16_t *)a)[i] = (int16_t)v; break;
    case SEGLOSS_U16: ((uint16_t *)a)[i] = (uint16_t)v; break;
    case SEGLOSS_I32: ((int32_t *)a)[i] = (int32_t)v; break;
    case SEGLOSS_U32: ((uint32_t *)a)[i] = (uint32_t)v; break;
    case SEGLOSS_I64: ((int64_t *)a)[i] = v; break;
    case SEGLOSS_U64: ((uint64_t *)a)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* Brute-force stats of one label: counts and union box over a flat index. */
static void bf_stats(segloss_label_stats *s, const int64_t *p, const int64_t *r, int ndim,
                     const int64_t *dims, int64_t n, int64_t label) {
    memset(s, 0, sizeof *s);
    s->label = label;
    int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {-1, -1, -1};
    int any = 0;
    for (int64_t i = 0; i < n; i++) {
        int a = p[i] == label, b = r[i] == label;
        s->conf.tp += a && b;
        s->conf.fp += a && !b;
        s->conf.fn += !a && b;
        s->conf.tn += !a && !b;
        if (a || b) {
            any = 1;
            int64_t t = i;
            for (int d = ndim - 1; d >= 0; d--) {
                int64_t c = t % dims[d];
                t /= dims[d];
                if (c < lo[d]) lo[d] = c;
                if (c > hi[d]) hi[d] = c;
            }
        }
    }
    for (int d = 0; d < 3; d++) {
        s->box_lo[d] = d < ndim ? (any ? lo[d] : 0) : 0;
        s->box_hi[d] = d < ndim ? (any ? hi[d] + 1 : 0) : 1;
    }
    if (!any)
        for (int d = 0; d < 3; d++) s->box_lo[d] = s->box_hi[d] = 0;
}

static int stats_equal(const segloss_label_stats *a, const segloss_label_stats *b) {
    if (a->label != b->label || a->conf.tp != b->conf.tp || a->conf.fp != b->conf.fp ||
        a->conf.fn != b->conf.fn || a->conf.tn != b->conf.tn)
        return 0;
    for (int d = 0; d < 3; d++)
        if (a->box_lo[d] != b->box_lo[d] || a->box_hi[d] != b->box_hi[d]) return 0;
    return 1;
}

TEST(metric_label_scan_random) {
    static const segloss_dtype dts[] = {SEGLOSS_U8,  SEGLOSS_I8,  SEGLOSS_I16,
                                        SEGLOSS_U16, SEGLOSS_I32, SEGLOSS_U32,
                                        SEGLOSS_I64, SEGLOSS_U64, SEGLOSS_BOOL};
    rng_state = 7;
    for (int it = 0; it < 400; it++) {
        int ndim = 1 + (int)rnd_int(3);
        int64_t dims[3], n = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = 1 + rnd_int(ndim == 1 ? 50 : ndim == 2 ? 20 : 9);
            n *= dims[d];
        }
        segloss_dtype dp = dts[rnd_int(9)], dr = dts[rnd_int(9)];
        int signed_ok = (dp == SEGLOSS_I8 || dp == SEGLOSS_I16 || dp == SEGLOSS_I32 ||
                         dp == SEGLOSS_I64) &&
                        (dr == SEGLOSS_I8 || dr == SEGLOSS_I16 || dr == SEGLOSS_I32 ||
                         dr == SEGLOSS_I64);
        int bool_any = dp == SEGLOSS_BOOL || dr == SEGLOSS_BOOL;
        int nl = bool_any ? 1 : 1 + (int)rnd_int(6);
        int64_t *p = malloc((size_t)n * sizeof *p), *r = malloc((size_t)n * sizeof *r);
        void *pa = malloc((size_t)n * 8), *ra = malloc((size_t)n * 8);
        /* runs of labels so the run-length path is exercised */
        int64_t cur = 0;
        for (int64_t i = 0; i < n; i++) {
            if (rnd_int(4) == 0) cur = rnd_int(nl + 1) * (signed_ok && rnd_int(3) == 0 ? -1 : 1);
            r[i] = cur;
            p[i] = rnd_int(5) == 0 ? rnd_int(nl + 1) : cur;
            put(pa, dp, i, p[i]);
            put(ra, dr, i, r[i]);
        }
        segloss_shape shape = {ndim, {0}};
        for (int d = 0; d < ndim; d++) shape.dim[d] = dims[d];
        segloss_label_array A = {pa, dp}, B = {ra, dr};
        segloss_label_set set;
        CHECK_EQ_INT(segloss_label_scan(&set, &A, &B, &shape), SEGLOSS_OK);
        CHECK_EQ_INT(set.numel, n);
        /* expected label list: nonzero values present, ascending */
        int64_t expect = 0;
        for (int64_t l = -nl; l <= nl; l++) {
            if (l == 0) continue;
            int present = 0;
            for (int64_t i = 0; i < n && !present; i++) present = p[i] == l || r[i] == l;
            if (!present) continue;
            segloss_label_stats want, got;
            bf_stats(&want, p, r, ndim, dims, n, l);
            CHECK_MSG(expect < set.count && stats_equal(&set.items[expect], &want),
                      "label %lld item %lld", (long long)l, (long long)expect);
            segloss_label_set_get(&got, &set, l);
            CHECK(stats_equal(&got, &want));
            expect++;
        }
        CHECK_EQ_INT(set.count, expect);
        /* absent label: zero counts, tn = numel, empty box */
        segloss_label_stats ab;
        segloss_label_set_get(&ab, &set, 1000);
        CHECK_EQ_INT(ab.conf.tp + ab.conf.fp + ab.conf.fn, 0);
        CHECK_EQ_INT(ab.conf.tn, n);
        CHECK_EQ_INT(ab.box_hi[0], 0);
        segloss_label_set_free(&set);
        free(p);
        free(r);
        free(pa);
        free(ra);
    }
}

/* Volumes of more than a million voxels, which the scan cuts into blocks
 * of rows counted on several threads: long runs (the 32-byte skipping),
 * rows of any length, every dtype, at 1 and 2 threads, against one
 * brute-force pass; and the first failing block's error (a uint64 label
 * above INT64_MAX late in the volume). */
TEST(metric_label_scan_big) {
    static const segloss_dtype dts[] = {SEGLOSS_U8,  SEGLOSS_I8,  SEGLOSS_I16,
                                        SEGLOSS_U16, SEGLOSS_I32, SEGLOSS_U32,
                                        SEGLOSS_I64, SEGLOSS_U64, SEGLOSS_BOOL};
    enum { NL = 5 };
    rng_state = 11;
    for (int it = 0; it < 9; it++) {
        int64_t dims[3] = {2 + rnd_int(6), 150 + rnd_int(200), 700 + rnd_int(900)};
        int ndim = it % 3 == 2 ? 2 : 3;
        if (ndim == 2) dims[0] = 1;
        const int64_t n = dims[0] * dims[1] * dims[2];
        segloss_dtype dp = dts[it], dr = dts[(it * 4 + 3) % 9];
        int nl = dp == SEGLOSS_BOOL || dr == SEGLOSS_BOOL ? 1 : NL;
        int64_t *p = malloc((size_t)n * sizeof *p), *r = malloc((size_t)n * sizeof *r);
        void *pa = malloc((size_t)n * 8), *ra = malloc((size_t)n * 8);
        /* background with objects: runs of 1..400 voxels, mostly label 0 */
        int64_t cur = 0, left = 0;
        for (int64_t i = 0; i < n; i++) {
            if (left-- <= 0) {
                cur = rnd_int(3) ? 0 : 1 + rnd_int(nl);
                left = rnd_int(400);
            }
            r[i] = cur;
            p[i] = rnd_int(97) == 0 ? rnd_int(nl + 1) : cur;
            put(pa, dp, i, p[i]);
            put(ra, dr, i, r[i]);
        }
        segloss_label_stats want[NL + 1];
        int64_t lo[NL + 1][3], hi[NL + 1][3];
        memset(want, 0, sizeof want);
        for (int l = 0; l <= nl; l++)
            for (int d = 0; d < 3; d++) {
                lo[l][d] = INT64_MAX;
                hi[l][d] = -1;
            }
        for (int64_t i = 0; i < n; i++) {
            int64_t c[3] = {i / (dims[1] * dims[2]), i / dims[2] % dims[1], i % dims[2]};
            for (int64_t l = 1; l <= nl; l++) {
                int a = p[i] == l, b = r[i] == l;
                if (!a && !b) continue;
                want[l].conf.tp += a && b;
                want[l].conf.fp += a && !b;
                want[l].conf.fn += !a && b;
                for (int d = 0; d < 3; d++) {
                    if (c[d] < lo[l][d]) lo[l][d] = c[d];
                    if (c[d] > hi[l][d]) hi[l][d] = c[d];
                }
            }
        }
        segloss_shape shape = {ndim, {0}};
        for (int d = 0; d < ndim; d++) shape.dim[d] = dims[3 - ndim + d];
        for (int th = 1; th <= 2; th++) {
            segloss_set_num_threads(th);
            segloss_label_array A = {pa, dp}, B = {ra, dr};
            segloss_label_set set;
            CHECK_EQ_INT(segloss_label_scan(&set, &A, &B, &shape), SEGLOSS_OK);
            CHECK_EQ_INT(set.count, nl);
            for (int64_t l = 1; l <= nl && l <= set.count; l++) {
                segloss_label_stats w = want[l];
                w.label = l;
                w.conf.tn = n - w.conf.tp - w.conf.fp - w.conf.fn;
                for (int d = 0; d < 3; d++) {
                    int a = 3 - ndim + d;
                    w.box_lo[d] = d < ndim ? lo[l][a] : 0;
                    w.box_hi[d] = d < ndim ? hi[l][a] + 1 : 1;
                }
                CHECK_MSG(stats_equal(&set.items[l - 1], &w), "it %d label %lld threads %d", it,
                          (long long)l, th);
            }
            segloss_label_set_free(&set);
            if (dr == SEGLOSS_U64) {
                ((uint64_t *)ra)[n - 5] = (uint64_t)1 << 63;
                CHECK_EQ_INT(segloss_label_scan(&set, &A, &B, &shape), SEGLOSS_ERR_DOMAIN);
                segloss_label_set_free(&set);
                put(ra, dr, n - 5, r[n - 5]);
            }
        }
        segloss_set_num_threads(0);
        free(p);
        free(r);
        free(pa);
        free(ra);
    }
}

/* Whether set holds the brute-force stats of labels 1..nl. */
static int bf_matches(const segloss_label_set *set, const int64_t *p, const int64_t *r, int ndim,
                      const int64_t *dims, int64_t n, int nl) {
    int ok = 1;
    for (int64_t l = 1; l <= nl; l++) {
        segloss_label_stats want, got;
        bf_stats(&want, p, r, ndim, dims, n, l);
        segloss_label_set_get(&got, set, l);
        ok &= stats_equal(&got, &want);
    }
    return ok;
}

/* The scan in two steps: segloss_label_rows_zero against a direct check of
 * every row, and segloss_label_scan_rows with full, partial or no maps of
 * either array against segloss_label_scan and a brute-force pass; a row
 * marked zero that is not is taken as zeros (the documented contract).
 * Volumes with many all-zero rows, every dtype, 1-3 axes, and volumes of
 * several scan blocks at 1 and 2 threads. */
TEST(metric_label_scan_rows) {
    static const segloss_dtype dts[] = {SEGLOSS_U8,  SEGLOSS_I8,  SEGLOSS_I16,
                                        SEGLOSS_U16, SEGLOSS_I32, SEGLOSS_U32,
                                        SEGLOSS_I64, SEGLOSS_U64, SEGLOSS_BOOL};
    rng_state = 23;
    for (int it = 0; it < 120; it++) {
        const int big = it % 20 == 19;
        int ndim = big ? 3 : 1 + (int)rnd_int(3);
        int64_t dims[3] = {1, 1, 1}, n = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = big ? (d == 0 ? 12 : d == 1 ? 300 : 700 + rnd_int(200))
                          : 1 + rnd_int(ndim == 1 ? 70 : ndim == 2 ? 30 : 12);
            n *= dims[d];
        }
        const int64_t len = dims[ndim - 1], rows = n / len;
        segloss_dtype dp = dts[rnd_int(9)], dr = dts[rnd_int(9)];
        int nl = dp == SEGLOSS_BOOL || dr == SEGLOSS_BOOL ? 1 : 1 + (int)rnd_int(5);
        int64_t *p = malloc((size_t)n * sizeof *p), *r = malloc((size_t)n * sizeof *r);
        void *pa = calloc((size_t)n, 8), *ra = calloc((size_t)n, 8);
        uint8_t *pz = malloc((size_t)rows), *rz = malloc((size_t)rows);
        uint8_t *wantz = malloc((size_t)rows);
        /* rows left all zero in one array, the other, both or neither */
        int64_t cur = 0;
        for (int64_t i = 0; i < n; i++) {
            if (rnd_int(6) == 0) cur = rnd_int(nl + 1);
            r[i] = cur;
            p[i] = rnd_int(7) == 0 ? rnd_int(nl + 1) : cur;
        }
        for (int64_t row = 0; row < rows; row++) {
            int64_t z = rnd_int(4); /* 0: pred zero, 1: ref zero, 2: both */
            for (int64_t k = row * len; k < (row + 1) * len; k++) {
                if (z == 0 || z == 2) p[k] = 0;
                if (z == 1 || z == 2) r[k] = 0;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            put(pa, dp, i, p[i]);
            put(ra, dr, i, r[i]);
        }
        segloss_shape shape = {ndim, {0}};
        for (int d = 0; d < ndim; d++) shape.dim[d] = dims[d];
        segloss_label_array A = {pa, dp}, B = {ra, dr};
        CHECK_EQ_INT(segloss_label_rows_zero(pz, &A, &shape), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_label_rows_zero(rz, &B, &shape), SEGLOSS_OK);
        int rows_ok = 1;
        for (int pass = 0; pass < 2; pass++) {
            const int64_t *v = pass ? r : p;
            const uint8_t *got = pass ? rz : pz;
            for (int64_t row = 0; row < rows; row++) {
                int zero = 1;
                for (int64_t k = row * len; k < (row + 1) * len; k++) zero &= v[k] == 0;
                wantz[row] = (uint8_t)zero;
                rows_ok &= (got[row] != 0) == zero;
            }
        }
        CHECK_MSG(rows_ok, "rows_zero it %d", it);
        for (int th = 1; th <= (big ? 2 : 1); th++) {
            segloss_set_num_threads(th);
            segloss_label_set ref_set;
            CHECK_EQ_INT(segloss_label_scan(&ref_set, &A, &B, &shape), SEGLOSS_OK);
            for (int mode = 0; mode < 5; mode++) {
                /* 0: both maps, 1: pred only, 2: ref only, 3: parts of both, 4: none */
                uint8_t *mp = malloc((size_t)rows), *mr = malloc((size_t)rows);
                for (int64_t row = 0; row < rows; row++) {
                    mp[row] = mode == 0 || mode == 1 ? pz[row] : mode == 3 ? pz[row] & (row % 3 != 0) : 0;
                    mr[row] = mode == 0 || mode == 2 ? rz[row] : mode == 3 ? rz[row] & (row % 2 == 0) : 0;
                }
                segloss_label_set set;
                CHECK_EQ_INT(segloss_label_scan_rows(&set, &A, mode == 4 ? NULL : mp, &B,
                                                     mode == 4 ? NULL : mr, &shape),
                             SEGLOSS_OK);
                int same = set.count == ref_set.count && set.numel == ref_set.numel;
                for (int64_t i = 0; same && i < set.count; i++)
                    same = stats_equal(&set.items[i], &ref_set.items[i]);
                CHECK_MSG(same, "it %d mode %d threads %d", it, mode, th);
                segloss_label_set_free(&set);
                free(mp);
                free(mr);
            }
            CHECK_MSG(bf_matches(&ref_set, p, r, ndim, dims, n, nl), "brute force it %d", it);
            segloss_label_set_free(&ref_set);
        }
        segloss_set_num_threads(0);
        /* a row marked zero is not read: as if it held zeros */
        int64_t row = rnd_int(rows), first = -1;
        for (int64_t k = row * len; k < (row + 1) * len; k++)
            if (p[k] != 0 && first < 0) first = k;
        if (first >= 0 && !big) {
            memset(pz, 0, (size_t)rows);
            pz[row] = 1;
            segloss_label_set set;
            CHECK_EQ_INT(segloss_label_scan_rows(&set, &A, pz, &B, NULL, &shape), SEGLOSS_OK);
            for (int64_t k = row * len; k < (row + 1) * len; k++) p[k] = 0;
            CHECK_MSG(bf_matches(&set, p, r, ndim, dims, n, nl), "row taken as zeros, it %d", it);
            segloss_label_set_free(&set);
        }
        free(p);
        free(r);
        free(pa);
        free(ra);
        free(pz);
        free(rz);
        free(wantz);
    }
    /* errors */
    uint8_t z[4];
    float f[4] = {0};
    uint8_t u[4] = {0};
    segloss_shape s1 = {1, {4}};
    segloss_label_array F = {f, SEGLOSS_F32}, U = {u, SEGLOSS_U8}, N = {NULL, SEGLOSS_U8};
    CHECK_EQ_INT(segloss_label_rows_zero(NULL, &U, &s1), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_label_rows_zero(z, &F, &s1), SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_label_rows_zero(z, &N, &s1), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_label_rows_zero(z, &U, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_label_rows_zero(z, &U, &s1), SEGLOSS_OK);
    CHECK_EQ_INT(z[0], 1);
}

/* Surface metrics do not depend on the dtypes that carry the labels: every
 * pair (same dtype: the one-pass mask; mixed: two passes), labels of both
 * signs and one out of a narrow type's range, against int32 arrays. */
TEST(metric_surface_dtypes) {
    static const segloss_dtype dts[] = {SEGLOSS_U8,  SEGLOSS_I8,  SEGLOSS_I16,
                                        SEGLOSS_U16, SEGLOSS_I32, SEGLOSS_U32,
                                        SEGLOSS_I64, SEGLOSS_U64, SEGLOSS_BOOL};
    rng_state = 11;
    for (int it = 0; it < 200; it++) {
        int ndim = 1 + (int)rnd_int(3);
        int64_t dims[3], n = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = 1 + rnd_int(ndim == 1 ? 50 : ndim == 2 ? 20 : 9);
            n *= dims[d];
        }
        segloss_dtype dp = dts[rnd_int(9)], dr = rnd_int(2) ? dp : dts[rnd_int(9)];
        int signed_ok = (dp == SEGLOSS_I8 || dp == SEGLOSS_I16 || dp == SEGLOSS_I32 ||
                         dp == SEGLOSS_I64) &&
                        (dr == SEGLOSS_I8 || dr == SEGLOSS_I16 || dr == SEGLOSS_I32 ||
                         dr == SEGLOSS_I64);
        int bool_any = dp == SEGLOSS_BOOL || dr == SEGLOSS_BOOL;
        int nl = bool_any ? 1 : 1 + (int)rnd_int(4);
        int32_t *p32 = malloc((size_t)n * sizeof *p32), *r32 = malloc((size_t)n * sizeof *r32);
        void *pa = malloc((size_t)n * 8), *ra = malloc((size_t)n * 8);
        int64_t cur = 0;
        for (int64_t i = 0; i < n; i++) {
            if (rnd_int(4) == 0) cur = rnd_int(nl + 1) * (signed_ok && rnd_int(3) == 0 ? -1 : 1);
            int64_t pv = rnd_int(5) == 0 ? rnd_int(nl + 1) : cur;
            r32[i] = (int32_t)cur;
            p32[i] = (int32_t)pv;
            put(pa, dp, i, pv);
            put(ra, dr, i, cur);
        }
        segloss_shape shape = {ndim, {0}};
        for (int d = 0; d < ndim; d++) shape.dim[d] = dims[d];
        segloss_label_array A = {pa, dp}, B = {ra, dr}, A32 = {p32, SEGLOSS_I32},
                            B32 = {r32, SEGLOSS_I32};
        segloss_metric_opts o = {.spacing = {1.5, 0.5, 1.0}, .distances = 1, .threads = 1};
        segloss_label_set set, set32;
        CHECK_EQ_INT(segloss_label_scan(&set, &A, &B, &shape), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_label_scan(&set32, &A32, &B32, &shape), SEGLOSS_OK);
        /* the labels present, and 300 (outside u8/i8) */
        int64_t labels[10];
        int nq = 0;
        for (int64_t l = -nl; l <= nl; l++)
            if (l != 0) labels[nq++] = l;
        labels[nq++] = 300;
        segloss_label_metrics m[10], m32[10];
        CHECK_EQ_INT(segloss_label_metrics_compute(m, labels, nq, &set, &A, &B, &shape, &o),
                     SEGLOSS_OK);
        CHECK_EQ_INT(
            segloss_label_metrics_compute(m32, labels, nq, &set32, &A32, &B32, &shape, &o),
            SEGLOSS_OK);
        for (int q = 0; q < nq; q++)
            CHECK_MSG(memcmp(&m[q].surface, &m32[q].surface, sizeof m[q].surface) == 0,
                      "dtypes %d/%d label %lld", (int)dp, (int)dr, (long long)labels[q]);
        segloss_label_set_free(&set);
        segloss_label_set_free(&set32);
        free(p32);
        free(r32);
        free(pa);
        free(ra);
    }
}

TEST(metric_label_scan_merge) {
    /* Scanning two halves (along axis 0) and merging with the second half's
     * boxes shifted equals one scan of the whole. */
    rng_state = 99;
    for (int it = 0; it < 50; it++) {
        int64_t d0 = 2 + rnd_int(10), d1 = 1 + rnd_int(10), d2 = 1 + rnd_int(10);
        int64_t n = d0 * d1 * d2, h = 1 + rnd_int(d0 - 1);
        int32_t *p = malloc((size_t)n * 4), *r = malloc((size_t)n * 4);
        for (int64_t i = 0; i < n; i++) {
            p[i] = (int32_t)rnd_int(5) * 1000003;
            r[i] = (int32_t)rnd_int(5) * 1000003;
        }
        segloss_shape all = {3, {d0, d1, d2}}, top = {3, {h, d1, d2}},
                      bot = {3, {d0 - h, d1, d2}};
        segloss_label_array pa = {p, SEGLOSS_I32}, ra = {r, SEGLOSS_I32};
        segloss_label_array pb = {p + h * d1 * d2, SEGLOSS_I32}, rb = {r + h * d1 * d2, SEGLOSS_I32};
        segloss_label_set s_all, s_top, s_bot;
        CHECK_EQ_INT(segloss_label_scan(&s_all, &pa, &ra, &all), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_label_scan(&s_top, &pa, &ra, &top), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_label_scan(&s_bot, &pb, &rb, &bot), SEGLOSS_OK);
        for (int64_t i = 0; i < s_bot.count; i++) {
            s_bot.items[i].box_lo[0] += h;
            s_bot.items[i].box_hi[0] += h;
        }
        CHECK_EQ_INT(segloss_label_set_merge(&s_top, &s_bot), SEGLOSS_OK);
        CHECK_EQ_INT(s_top.count, s_all.count);
        CHECK_EQ_INT(s_top.numel, n);
        for (int64_t i = 0; i < s_all.count && i < s_top.count; i++)
            CHECK(stats_equal(&s_top.items[i], &s_all.items[i]));
        segloss_label_set_free(&s_all);
        segloss_label_set_free(&s_top);
        segloss_label_set_free(&s_bot);
        free(p);
        free(r);
    }
}

TEST(metric_label_scan_errors) {
    int32_t a[4] = {1, 2, 3, 4};
    uint64_t big[4] = {0, 1, (uint64_t)1 << 63, 2};
    float f[4] = {0};
    segloss_shape sh = {2, {2, 2}}, s4 = {4, {1, 1, 2, 2}}, s0 = {0, {0}};
    segloss_label_array A = {a, SEGLOSS_I32}, Bg = {big, SEGLOSS_U64}, F = {f, SEGLOSS_F32},
                        N = {NULL, SEGLOSS_I32};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &A, &sh), SEGLOSS_OK);
    CHECK_EQ_INT(set.count, 4);
    CHECK_EQ_INT(set.items[2].conf.tp, 1);
    CHECK_EQ_INT(set.items[2].conf.tn, 3);
    segloss_label_set_free(&set);
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &Bg, &sh), SEGLOSS_ERR_DOMAIN);
    segloss_label_set_free(&set);
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &F, &sh), SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_label_scan(&set, &N, &A, &sh), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &A, &s4), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &A, &s0), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_label_scan(NULL, &A, &A, &sh), SEGLOSS_ERR_NULL);
}

TEST(metric_overlap_from_counts) {
    segloss_confusion c = {6, 2, 4, 88};
    segloss_overlap_scores o;
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &c, NULL), SEGLOSS_OK);
    CHECK_CLOSE(o.dice, 12.0 / 18.0, 1e-15, 0);
    CHECK_CLOSE(o.iou, 6.0 / 12.0, 1e-15, 0);
    CHECK_CLOSE(o.precision, 6.0 / 8.0, 1e-15, 0);
    CHECK_CLOSE(o.recall, 6.0 / 10.0, 1e-15, 0);
    CHECK_CLOSE(o.specificity, 88.0 / 90.0, 1e-15, 0);
    CHECK_CLOSE(o.accuracy, 94.0 / 100.0, 1e-15, 0);
    CHECK_CLOSE(o.vs, 1.0 - 2.0 / 18.0, 1e-15, 0);
    /* both masks empty: every ratio with a zero denominator follows the rule */
    segloss_confusion e = {0, 0, 0, 10};
    segloss_metric_opts op = segloss_metric_opts_default();
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &e, &op), SEGLOSS_OK);
    CHECK(isnan(o.dice) && isnan(o.iou) && isnan(o.precision) && isnan(o.recall) &&
          isnan(o.vs));
    CHECK_CLOSE(o.specificity, 1.0, 0, 0);
    CHECK_CLOSE(o.accuracy, 1.0, 0, 0);
    op.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &e, &op), SEGLOSS_OK);
    CHECK(o.dice == 1 && o.iou == 1 && o.precision == 1 && o.recall == 1 && o.vs == 1);
    op.empty_score = SEGLOSS_EMPTY_SCORE_ZERO;
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &e, &op), SEGLOSS_OK);
    CHECK(o.dice == 0 && o.iou == 0 && o.precision == 0 && o.recall == 0 && o.vs == 0);
    /* prediction empty, reference not: precision 0/0, recall 0 */
    segloss_confusion f = {0, 0, 5, 5};
    op.empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &f, &op), SEGLOSS_OK);
    CHECK(isnan(o.precision));
    CHECK(o.recall == 0 && o.dice == 0 && o.vs == 0);
    segloss_confusion bad = {-1, 0, 0, 0};
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &bad, NULL), SEGLOSS_ERR_ARG);
    op.empty_score = (segloss_empty_score)9;
    CHECK_EQ_INT(segloss_overlap_from_counts(&o, &c, &op), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_overlap_from_counts(NULL, &c, NULL), SEGLOSS_ERR_NULL);
}

TEST(metric_overlap_matches_scan) {
    /* overlap scores of the metrics entry point come from the scan counts */
    int32_t p[6] = {1, 1, 2, 0, 2, 2}, r[6] = {1, 0, 2, 2, 2, 0};
    segloss_shape sh = {1, {6}};
    segloss_label_array A = {p, SEGLOSS_I32}, B = {r, SEGLOSS_I32};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &A, &B, &sh), SEGLOSS_OK);
    segloss_label_metrics m[3];
    int64_t labels[3] = {2, 1, 7};
    CHECK_EQ_INT(segloss_label_metrics_compute(m, labels, 3, &set, &A, &B, &sh, NULL), SEGLOSS_OK);
    CHECK_CLOSE(m[0].overlap.dice, 4.0 / 6.0, 1e-15, 0);
    CHECK_CLOSE(m[1].overlap.dice, 2.0 / 3.0, 1e-15, 0);
    CHECK(isnan(m[2].overlap.dice));
    CHECK_EQ_INT(m[2].stats.conf.tn, 6);
    CHECK(isnan(m[0].surface.hd)); /* distances not requested */
    CHECK_EQ_INT(segloss_label_metrics_compute(m, NULL, 2, &set, &A, &B, &sh, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(m[0].stats.label, 1);
    CHECK_EQ_INT(segloss_label_metrics_compute(m, NULL, 3, &set, &A, &B, &sh, NULL), SEGLOSS_ERR_ARG);
    segloss_shape sh2 = {1, {5}};
    CHECK_EQ_INT(segloss_label_metrics_compute(m, NULL, 2, &set, &A, &B, &sh2, NULL), SEGLOSS_ERR_SHAPE);
    segloss_label_set_free(&set);
}

/* ---------------------------------------------------------------- EDT -- */
TEST(metric_edt_random) {
    rng_state = 4242;
    for (int it = 0; it < 300; it++) {
        int ndim = 1 + (int)rnd_int(3);
        segloss_shape sh = {ndim, {0}};
        int64_t n = 1;
        double sp[3];
        for (int d = 0; d < ndim; d++) {
            sh.dim[d] = 1 + rnd_int(ndim == 1 ? 60 : ndim == 2 ? 16 : 9);
            n *= sh.dim[d];
            sp[d] = rnd_int(2) ? 1.0 : 0.3 + 2.0 * rnd_unit();
        }
        uint8_t *f = malloc((size_t)n);
        double dens = rnd_unit() * 0.3;
        for (int64_t i = 0; i < n; i++) f[i] = rnd_unit() < dens;
        double *out = malloc((size_t)n * sizeof *out);
        CHECK_EQ_INT(segloss_edt_squared(out, f, &sh, sp), SEGLOSS_OK);
        double maxerr = 0;
        int bad_inf = 0;
        for (int64_t i = 0; i < n; i++) {
            double best = INFINITY;
            for (int64_t j = 0; j < n; j++) {
                if (!f[j]) continue;
                double s = 0;
                int64_t a = i, b = j;
                for (int d = ndim - 1; d >= 0; d--) {
                    double t = sp[d] * (double)(a % sh.dim[d] - b % sh.dim[d]);
                    s += t * t;
                    a /= sh.dim[d];
                    b /= sh.dim[d];
                }
                if (s < best) best = s;
            }
            if (isinf(best) || isinf(out[i])) bad_inf += isinf(best) != isinf(out[i]);
            else if (fabs(out[i] - best) > maxerr) maxerr = fabs(out[i] - best) / (1 + best);
        }
        CHECK_MSG(bad_inf == 0 && maxerr < 1e-13, "case %d: rel err %g, inf mismatches %d", it,
                  maxerr, bad_inf);
        free(f);
        free(out);
    }
}

TEST(metric_edt_exact_integers) {
    /* integer spacing: exact integers, e.g. one feature at the centre */
    segloss_shape sh = {3, {5, 6, 7}};
    uint8_t f[210] = {0};
    f[(2 * 6 + 3) * 7 + 3] = 1;
    double out[210], sp[3] = {3, 2, 1};
    CHECK_EQ_INT(segloss_edt_squared(out, f, &sh, sp), SEGLOSS_OK);
    int exact = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 7; k++) {
                double e = 9.0 * (i - 2) * (i - 2) + 4.0 * (j - 3) * (j - 3) + (k - 3) * (k - 3);
                exact &= out[(i * 6 + j) * 7 + k] == e;
            }
    CHECK(exact);
    uint8_t z[210] = {0};
    CHECK_EQ_INT(segloss_edt_squared(out, z, &sh, NULL), SEGLOSS_OK);
    CHECK(isinf(out[0]) && isinf(out[209]));
    CHECK_EQ_INT(segloss_edt_squared(NULL, z, &sh, NULL), SEGLOSS_ERR_NULL);
}

/* --------------------------------------------------------- percentile -- */
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

TEST(metric_percentile_numpy) {
    /* values printed by numpy 1.24 np.percentile (default method) */
    double v1[] = {1, 2, 3, 4}, r;
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v1, 4, 95), SEGLOSS_OK);
    CHECK_CLOSE(r, 3.8499999999999996, 0, 0);
    double v2[] = {5, 1, 4, 2, 3};
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v2, 5, 50), SEGLOSS_OK);
    CHECK_CLOSE(r, 3.0, 0, 0);
    double v3[] = {0.5, 3, 3, 3, 7, 1};
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v3, 6, 33.3), SEGLOSS_OK);
    CHECK_CLOSE(r, 2.3299999999999996, 0, 0);
    double v4[] = {2.5};
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v4, 1, 95), SEGLOSS_OK);
    CHECK_CLOSE(r, 2.5, 0, 0);
    double v5[] = {1, NAN};
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v5, 2, 95), SEGLOSS_ERR_NONFINITE);
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v1, 0, 95), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v1, 4, -1), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_percentile_inplace(&r, v1, 4, NAN), SEGLOSS_ERR_ARG);
}

TEST(metric_percentile_random) {
    rng_state = 31337;
    for (int it = 0; it < 2000; it++) {
        int64_t n = 1 + rnd_int(it < 1000 ? 30 : 3000);
        double *v = malloc((size_t)n * sizeof *v), *s = malloc((size_t)n * sizeof *s);
        int ties = (int)rnd_int(3);
        for (int64_t i = 0; i < n; i++)
            v[i] = ties == 0 ? rnd_unit() : ties == 1 ? (double)rnd_int(4) : (double)i;
        if (ties == 2 && rnd_int(2)) /* descending input */
            for (int64_t i = 0; i < n; i++) v[i] = (double)(n - i);
        memcpy(s, v, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, cmpd);
        double p = rnd_int(4) == 0 ? (double)rnd_int(101) : rnd_unit() * 100;
        double pos = (double)(n - 1) * (p / 100.0);
        int64_t i = (int64_t)floor(pos);
        double g = pos - (double)i, a = s[i], b = s[i + 1 < n ? i + 1 : i];
        double want = g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
        double got;
        CHECK_EQ_INT(segloss_percentile_inplace(&got, v, n, p), SEGLOSS_OK);
        CHECK_CLOSE(got, want, 0, 0);
        free(v);
        free(s);
    }
}
