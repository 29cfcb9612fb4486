/* Surface-distance metrics against a brute-force reference written here,
 * independently of the library: surfaces by checking every face-neighbour
 * against the full image, distances by comparing every pair of surface
 * voxels (O(|S(A)| |S(B)|)), percentiles by sorting. Random 1-D/2-D/3-D
 * label maps with objects touching the border, single voxels, empty masks,
 * several labels, isotropic and anisotropic spacing. */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rng -- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static int64_t rnd_int(int64_t n) { return (int64_t)(rnd() % (uint64_t)n); }
static double rnd_unit(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }

/* ------------------------------------------------------- brute force -- */
typedef struct bf_res {
    double hd, hd95, assd, nsd, max_ab, max_ba, mean_ab, mean_ba;
    int64_t nsa, nsb;
} bf_res;

typedef struct bf_opts {
    double p;       /* percentile */
    int pooled;
    double tau;
    int diag;       /* empty distance -> diagonal */
    double empty;   /* value of 0/0 scores */
} bf_opts;

static void coords(int64_t i, int ndim, const int64_t *dims, int64_t *c) {
    for (int d = ndim - 1; d >= 0; d--) {
        c[d] = i % dims[d];
        i /= dims[d];
    }
}

/* S[i] = X[i] and some face-neighbour is outside X or outside the image. */
static void bf_surface(uint8_t *S, const uint8_t *X, int ndim, const int64_t *dims,
                       int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        S[i] = 0;
        if (!X[i]) continue;
        int64_t c[3];
        coords(i, ndim, dims, c);
        int64_t stride = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            if (c[d] == 0 || !X[i - stride]) S[i] = 1;
            if (c[d] == dims[d] - 1 || !X[i + stride]) S[i] = 1;
            stride *= dims[d];
        }
    }
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bf_percentile(const double *v, int64_t n, double p) {
    double *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmpd);
    double pos = (double)(n - 1) * p / 100.0;
    int64_t i = (int64_t)floor(pos);
    if (i > n - 1) i = n - 1;
    double g = pos - (double)i;
    double a = s[i], b = s[i + 1 < n ? i + 1 : n - 1];
    free(s);
    return a + g * (b - a);
}

/* d[k] = distance of the k-th voxel of SX (scan order) to the nearest of SY. */
static int64_t bf_directed(double *dst, const uint8_t *SX, const uint8_t *SY, int ndim,
                           const int64_t *dims, int64_t n, const double *sp) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!SX[i]) continue;
        int64_t ci[3];
        coords(i, ndim, dims, ci);
        double best = INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (!SY[j]) continue;
            int64_t cj[3];
            coords(j, ndim, dims, cj);
            double s = 0;
            for (int d = 0; d < ndim; d++) {
                double t = sp[d] * (double)(ci[d] - cj[d]);
                s += t * t;
            }
            if (s < best) best = s;
        }
        dst[k++] = sqrt(best);
    }
    return k;
}

static void bf_metrics(bf_res *r, const uint8_t *A, const uint8_t *B, int ndim,
                       const int64_t *dims, const double *sp, const bf_opts *o) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    uint8_t *SA = malloc((size_t)n), *SB = malloc((size_t)n);
    bf_surface(SA, A, ndim, dims, n);
    bf_surface(SB, B, ndim, dims, n);
    int64_t nA = 0, nB = 0, nsa = 0, nsb = 0;
    for (int64_t i = 0; i < n; i++) {
        nA += A[i] != 0;
        nB += B[i] != 0;
        nsa += SA[i];
        nsb += SB[i];
    }
    r->nsa = nsa;
    r->nsb = nsb;
    if (nA == 0 || nB == 0) {
        double v = NAN;
        if ((nA == 0) != (nB == 0) && o->diag) {
            double s = 0;
            for (int d = 0; d < ndim; d++) s += (dims[d] * sp[d]) * (dims[d] * sp[d]);
            v = sqrt(s);
        }
        r->hd = r->hd95 = r->assd = r->max_ab = r->max_ba = r->mean_ab = r->mean_ba = v;
        r->nsd = (nA == 0 && nB == 0) ? o->empty : 0.0;
        free(SA);
        free(SB);
        return;
    }
    double *dab = malloc((size_t)(nsa + nsb) * sizeof *dab), *dba = dab + nsa;
    bf_directed(dab, SA, SB, ndim, dims, n, sp);
    bf_directed(dba, SB, SA, ndim, dims, n, sp);
    double sab = 0, sba = 0, mab = 0, mba = 0;
    int64_t w = 0;
    for (int64_t k = 0; k < nsa; k++) {
        sab += dab[k];
        if (dab[k] > mab) mab = dab[k];
        w += dab[k] <= o->tau;
    }
    for (int64_t k = 0; k < nsb; k++) {
        sba += dba[k];
        if (dba[k] > mba) mba = dba[k];
        w += dba[k] <= o->tau;
    }
    r->max_ab = mab;
    r->max_ba = mba;
    r->mean_ab = sab / nsa;
    r->mean_ba = sba / nsb;
    r->hd = mab > mba ? mab : mba;
    r->assd = (sab + sba) / (double)(nsa + nsb);
    r->nsd = (double)w / (double)(nsa + nsb);
    if (o->pooled) {
        r->hd95 = bf_percentile(dab, nsa + nsb, o->p);
    } else {
        double pa = bf_percentile(dab, nsa, o->p), pb = bf_percentile(dba, nsb, o->p);
        r->hd95 = pa > pb ? pa : pb;
    }
    free(dab);
    free(SA);
    free(SB);
}

/* ------------------------------------------------------- generators -- */
/* Random label map with labels 1..nl: a few ellipsoids/boxes (often
 * touching the border), then salt noise. */
static void gen_labels(int32_t *v, int ndim, const int64_t *dims, int64_t n, int nl,
                       double noise) {
    memset(v, 0, (size_t)n * sizeof *v);
    int nobj = (int)rnd_int(5);
    for (int o = 0; o < nobj; o++) {
        int32_t lab = 1 + (int32_t)rnd_int(nl);
        double c[3], rad[3];
        for (int d = 0; d < ndim; d++) {
            c[d] = rnd_unit() * (double)(dims[d] + 1) - 1.0;
            rad[d] = 0.3 + rnd_unit() * (double)dims[d] * 0.5;
        }
        int box = (int)rnd_int(2);
        for (int64_t i = 0; i < n; i++) {
            int64_t ci[3];
            coords(i, ndim, dims, ci);
            double s = 0;
            int in = 1;
            for (int d = 0; d < ndim; d++) {
                double t = ((double)ci[d] - c[d]) / rad[d];
                s += t * t;
                if (fabs(t) > 1) in = 0;
            }
            if (box ? in : s <= 1.0) v[i] = lab;
        }
    }
    for (int64_t i = 0; i < n; i++)
        if (rnd_unit() < noise) v[i] = (int32_t)rnd_int(nl + 1);
}

/* Prediction: the reference with voxels flipped near label boundaries,
 * sometimes a label wiped or shifted by one voxel along an axis. */
static void gen_pred(int32_t *p, const int32_t *r, int ndim, const int64_t *dims, int64_t n,
                     int nl) {
    memcpy(p, r, (size_t)n * sizeof *p);
    int mode = (int)rnd_int(4);
    if (mode == 1) { /* shift along a random axis */
        int ax = (int)rnd_int(ndim);
        int64_t stride = 1;
        for (int d = ndim - 1; d > ax; d--) stride *= dims[d];
        for (int64_t i = 0; i < n; i++) {
            int64_t c[3];
            coords(i, ndim, dims, c);
            p[i] = c[ax] > 0 ? r[i - stride] : 0;
        }
    } else if (mode == 2) { /* wipe one label */
        int32_t lab = 1 + (int32_t)rnd_int(nl);
        for (int64_t i = 0; i < n; i++)
            if (p[i] == lab) p[i] = 0;
    }
    double flip = rnd_unit() * 0.15;
    for (int64_t i = 0; i < n; i++)
        if (rnd_unit() < flip) p[i] = (int32_t)rnd_int(nl + 1);
}

static void random_dims(int ndim, int64_t *dims) {
    for (int d = 0; d < ndim; d++) {
        int64_t mx = ndim == 1 ? 40 : ndim == 2 ? 14 : 8;
        dims[d] = 1 + rnd_int(mx);
    }
}

static void random_opts(segloss_metric_opts *o, bf_opts *b, int ndim, double *sp) {
    *o = segloss_metric_opts_default();
    int aniso = (int)rnd_int(3);
    for (int d = 0; d < ndim; d++) {
        sp[d] = aniso == 0 ? 1.0 : aniso == 1 ? 0.5 + rnd_unit() * 2.5 : (double)(1 + rnd_int(3));
        o->spacing[d] = aniso == 0 && rnd_int(2) ? 0.0 : sp[d]; /* 0 means 1 */
    }
    b->p = 95;
    if (rnd_int(2)) {
        double ps[] = {0, 5, 50, 90, 95, 99, 100};
        o->percentile = rnd_int(3) ? ps[rnd_int(7)] : rnd_unit() * 100;
        b->p = o->percentile;
    }
    b->tau = 1.0;
    if (rnd_int(2)) {
        o->tolerance = rnd_int(2) ? (double)rnd_int(4) : rnd_unit() * 4;
        b->tau = o->tolerance;
    }
    b->pooled = (int)rnd_int(2);
    o->hd95_variant = b->pooled ? SEGLOSS_HD95_POOLED : SEGLOSS_HD95_MAX;
    b->diag = (int)rnd_int(2);
    o->empty_distance = b->diag ? SEGLOSS_EMPTY_DISTANCE_DIAG : SEGLOSS_EMPTY_DISTANCE_NAN;
    int e = (int)rnd_int(3);
    o->empty_score = e == 0 ? SEGLOSS_EMPTY_SCORE_NAN : e == 1 ? SEGLOSS_EMPTY_SCORE_ONE
                                                               : SEGLOSS_EMPTY_SCORE_ZERO;
    b->empty = e == 0 ? NAN : e == 1 ? 1.0 : 0.0;
    o->distances = 1;
}

#define ATOL 1e-12
#define RTOL 1e-12

static void check_surface(const segloss_surface_metrics *s, const bf_res *r) {
    CHECK_CLOSE(s->hd, r->hd, ATOL, RTOL);
    CHECK_CLOSE(s->hd95, r->hd95, ATOL, RTOL);
    CHECK_CLOSE(s->assd, r->assd, ATOL, RTOL);
    CHECK_CLOSE(s->nsd, r->nsd, ATOL, RTOL);
    CHECK_CLOSE(s->max_pred_to_ref, r->max_ab, ATOL, RTOL);
    CHECK_CLOSE(s->max_ref_to_pred, r->max_ba, ATOL, RTOL);
    CHECK_CLOSE(s->mean_pred_to_ref, r->mean_ab, ATOL, RTOL);
    CHECK_CLOSE(s->mean_ref_to_pred, r->mean_ba, ATOL, RTOL);
    CHECK_EQ_INT(s->n_surface_pred, r->nsa);
    CHECK_EQ_INT(s->n_surface_ref, r->nsb);
}

/* All labels 1..nl+1 (absent ones included) of pred/ref through
 * segloss_label_metrics_compute, each compared with the brute force; thread
 * count must not change a bit, nor the single-label entry points. */
static void check_case(int ndim, const int64_t *dims, int32_t *pred, int32_t *ref, int nl,
                       segloss_metric_opts *o, const bf_opts *bo, const double *sp) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    segloss_shape shape = {ndim, {0}};
    for (int d = 0; d < ndim; d++) shape.dim[d] = dims[d];
    segloss_label_array pa = {pred, SEGLOSS_I32}, ra = {ref, SEGLOSS_I32};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &shape), SEGLOSS_OK);
    int64_t labels[8];
    int nq = nl + 1;
    for (int i = 0; i < nq; i++) labels[i] = i + 1;
    segloss_label_metrics res[8], res4[8];
    o->threads = 1;
    CHECK_EQ_INT(segloss_label_metrics_compute(res, labels, nq, &set, &pa, &ra, &shape, o),
                 SEGLOSS_OK);
    o->threads = 4;
    CHECK_EQ_INT(segloss_label_metrics_compute(res4, labels, nq, &set, &pa, &ra, &shape, o),
                 SEGLOSS_OK);
    CHECK(memcmp(res, res4, sizeof res[0] * (size_t)nq) == 0);

    uint8_t *A = malloc((size_t)n), *B = malloc((size_t)n);
    for (int q = 0; q < nq; q++) {
        for (int64_t i = 0; i < n; i++) {
            A[i] = pred[i] == labels[q];
            B[i] = ref[i] == labels[q];
        }
        bf_res r;
        bf_metrics(&r, A, B, ndim, dims, sp, bo);
        check_surface(&res[q].surface, &r);
        /* the single-label entry points agree */
        segloss_surface_metrics s1, s2;
        CHECK_EQ_INT(segloss_surface_distances(&s1, &pa, &ra, &shape, &res[q].stats, o),
                     SEGLOSS_OK);
        CHECK(memcmp(&s1, &res[q].surface, sizeof s1) == 0);
        CHECK_EQ_INT(segloss_surface_distances_binary(&s2, A, B, &shape, o), SEGLOSS_OK);
        check_surface(&s2, &r);
    }
    free(A);
    free(B);
    segloss_label_set_free(&set);
}

/* One random case. */
static void run_case(int ndim) {
    int64_t dims[3];
    random_dims(ndim, dims);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    int nl = 1 + (int)rnd_int(4);
    int32_t *ref = malloc((size_t)n * sizeof *ref), *pred = malloc((size_t)n * sizeof *pred);
    gen_labels(ref, ndim, dims, n, nl, rnd_int(3) ? 0.0 : 0.05);
    gen_pred(pred, ref, ndim, dims, n, nl);
    segloss_metric_opts o;
    bf_opts bo;
    double sp[3];
    random_opts(&o, &bo, ndim, sp);
    check_case(ndim, dims, pred, ref, nl, &o, &bo, sp);
    free(ref);
    free(pred);
}

/* Paints the box [lo, hi) (clipped to the image) with lab. */
static void put_box(int32_t *v, int ndim, const int64_t *dims, const int64_t *lo,
                    const int64_t *hi, int32_t lab) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    for (int64_t i = 0; i < n; i++) {
        int64_t c[3];
        coords(i, ndim, dims, c);
        int in = 1;
        for (int d = 0; d < ndim; d++) in &= c[d] >= lo[d] && c[d] < hi[d];
        if (in) v[i] = lab;
    }
}

/* Shapes that stress the distance search and its fallbacks: a prediction
 * and a reference far apart along axis 0 (many voxels have their nearest
 * feature more than 32 planes away, beyond the outward search, so their
 * column goes to the lower envelope, sometimes after nearer voxels of the
 * same column were searched, sometimes before), with stray voxels in
 * between; long thin lines along every axis; boxes whose bounding boxes
 * barely overlap (one voxel, an edge or a corner); objects on the image
 * border. Each label gets one pattern, later labels paint over earlier
 * ones. */
static void gen_far(int32_t *pred, int32_t *ref, int ndim, const int64_t *dims, int64_t n,
                    int nl) {
    memset(pred, 0, (size_t)n * sizeof *pred);
    memset(ref, 0, (size_t)n * sizeof *ref);
    for (int32_t lab = 1; lab <= nl; lab++) {
        int64_t lo[3], hi[3], lo2[3], hi2[3];
        int pat = (int)rnd_int(4);
        int ax = rnd_int(3) ? 0 : (int)rnd_int(ndim);
        for (int d = 0; d < ndim; d++) {
            lo[d] = rnd_int(dims[d]);
            hi[d] = lo[d] + 1 + rnd_int(3);
            lo2[d] = rnd_int(dims[d]);
            hi2[d] = lo2[d] + 1 + rnd_int(3);
        }
        if (pat == 0) { /* far apart along ax */
            lo[ax] = rnd_int(4);
            hi[ax] = lo[ax] + 1 + rnd_int(4);
            lo2[ax] = dims[ax] - 1 - rnd_int(4);
            hi2[ax] = lo2[ax] + 1 + rnd_int(2);
            if (rnd_int(2)) { /* swap the roles */
                int64_t t0 = lo[ax], t1 = hi[ax];
                lo[ax] = lo2[ax];
                hi[ax] = hi2[ax];
                lo2[ax] = t0;
                hi2[ax] = t1;
            }
        } else if (pat == 1) { /* thin lines along ax */
            lo[ax] = rnd_int(dims[ax] / 2 + 1);
            hi[ax] = lo[ax] + 1 + rnd_int(dims[ax]);
            for (int d = 0; d < ndim; d++) hi[d] = d == ax ? hi[d] : lo[d] + 1;
            int ax2 = rnd_int(2) ? ax : (int)rnd_int(ndim);
            lo2[ax2] = rnd_int(dims[ax2] / 2 + 1);
            hi2[ax2] = lo2[ax2] + 1 + rnd_int(dims[ax2]);
            for (int d = 0; d < ndim; d++) hi2[d] = d == ax2 ? hi2[d] : lo2[d] + 1;
        } else if (pat == 2) { /* bounding boxes overlapping by one voxel per axis */
            for (int d = 0; d < ndim; d++) {
                int64_t mid = rnd_int(dims[d]);
                lo[d] = mid - rnd_int(4);
                hi[d] = mid + 1;
                lo2[d] = mid;
                hi2[d] = mid + 1 + rnd_int(4);
            }
        } else { /* on the border */
            lo[ax] = 0;
            hi2[ax] = dims[ax];
            lo2[ax] = dims[ax] - 1 - rnd_int(dims[ax]);
        }
        put_box(pred, ndim, dims, lo, hi, lab);
        put_box(ref, ndim, dims, lo2, hi2, lab);
        if (pat == 2 && rnd_int(2)) { /* an L: only the corner voxel overlaps */
            for (int d = 0; d < ndim; d++) {
                lo[d] = hi[d] - 1;
                hi[d] = lo[d] + 1;
            }
            put_box(pred, ndim, dims, lo, hi, 0);
        }
        int stray = (int)rnd_int(4);
        for (int k = 0; k < stray; k++) {
            int64_t i = rnd_int(n);
            if (rnd_int(2)) pred[i] = lab;
            else ref[i] = lab;
        }
    }
}

static void run_far_case(int ndim) {
    int64_t dims[3];
    for (int d = 0; d < ndim; d++)
        dims[d] = ndim == 1 ? 40 + rnd_int(160)
                  : d == 0 ? 36 + rnd_int(36)
                           : 1 + rnd_int(ndim == 2 ? 10 : 6);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    int nl = 1 + (int)rnd_int(4);
    int32_t *ref = malloc((size_t)n * sizeof *ref), *pred = malloc((size_t)n * sizeof *pred);
    gen_far(pred, ref, ndim, dims, n, nl);
    segloss_metric_opts o;
    bf_opts bo;
    double sp[3];
    random_opts(&o, &bo, ndim, sp);
    check_case(ndim, dims, pred, ref, nl, &o, &bo, sp);
    free(ref);
    free(pred);
}

TEST(metric_surface_far_thin_edges) {
    rng_state = 404;
    for (int it = 0; it < 150; it++) run_far_case(3);
    for (int it = 0; it < 100; it++) run_far_case(2);
    for (int it = 0; it < 50; it++) run_far_case(1);
}

TEST(metric_surface_random_1d) {
    rng_state = 101;
    for (int it = 0; it < 300; it++) run_case(1);
}

TEST(metric_surface_random_2d) {
    rng_state = 202;
    for (int it = 0; it < 400; it++) run_case(2);
}

TEST(metric_surface_random_3d) {
    rng_state = 303;
    for (int it = 0; it < 300; it++) run_case(3);
}

/* Hand-checked cases. */
TEST(metric_surface_single_voxels) {
    /* 2-D 5x7, A = {(1,1)}, B = {(3,5)}, spacing (2, 1): d = sqrt(16+16) */
    uint8_t A[35] = {0}, B[35] = {0};
    A[1 * 7 + 1] = 1;
    B[3 * 7 + 5] = 1;
    segloss_shape shape = {2, {5, 7}};
    segloss_metric_opts o = segloss_metric_opts_default();
    o.spacing[0] = 2;
    o.spacing[1] = 1;
    segloss_surface_metrics s;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, B, &shape, &o), SEGLOSS_OK);
    CHECK_CLOSE(s.hd, sqrt(32.0), 1e-15, 0);
    CHECK_CLOSE(s.hd95, sqrt(32.0), 1e-15, 0);
    CHECK_CLOSE(s.assd, sqrt(32.0), 1e-15, 0);
    CHECK_CLOSE(s.nsd, 0.0, 0, 0);
    CHECK_EQ_INT(s.n_surface_pred, 1);
    CHECK_EQ_INT(s.n_surface_ref, 1);
    /* identical masks: all distances 0, nsd 1 */
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_OK);
    CHECK_CLOSE(s.hd, 0.0, 0, 0);
    CHECK_CLOSE(s.assd, 0.0, 0, 0);
    CHECK_CLOSE(s.nsd, 1.0, 0, 0);
}

TEST(metric_surface_border_and_crop) {
    /* 3-D 6x6x6: a full 4x4x4 cube in the interior has 56 surface voxels
     * (64 - 8 interior); the same cube touching the image corner still has
     * 56 (border voxels are surface); a full-image mask is all border. */
    int64_t n = 216;
    uint8_t *X = calloc((size_t)n, 1), *Y = calloc((size_t)n, 1), *F = malloc((size_t)n);
    memset(F, 1, (size_t)n);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 4; k++) {
                X[((i + 1) * 6 + j + 1) * 6 + k + 1] = 1;
                Y[(i * 6 + j) * 6 + k] = 1;
            }
    segloss_shape shape = {3, {6, 6, 6}};
    segloss_surface_metrics s;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, X, Y, &shape, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(s.n_surface_pred, 56);
    CHECK_EQ_INT(s.n_surface_ref, 56);
    CHECK_CLOSE(s.hd, sqrt(3.0), 1e-15, 0);
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, F, Y, &shape, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(s.n_surface_pred, 216 - 64);
    /* the far corner of the image is 2*sqrt(3) from Y's nearest corner (3,3,3) */
    CHECK_CLOSE(s.max_pred_to_ref, sqrt(12.0), 1e-15, 0);
    free(X);
    free(Y);
    free(F);
}

TEST(metric_surface_empty_rules) {
    uint8_t A[12] = {0}, B[12] = {0};
    B[5] = 1;
    segloss_shape shape = {2, {3, 4}};
    segloss_metric_opts o = segloss_metric_opts_default();
    segloss_surface_metrics s;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, B, &shape, &o), SEGLOSS_OK);
    CHECK(isnan(s.hd) && isnan(s.hd95) && isnan(s.assd));
    CHECK_CLOSE(s.nsd, 0.0, 0, 0);
    o.empty_distance = SEGLOSS_EMPTY_DISTANCE_DIAG;
    o.spacing[0] = 2;
    o.spacing[1] = 0.5;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, B, &shape, &o), SEGLOSS_OK);
    CHECK_CLOSE(s.hd, sqrt(36.0 + 4.0), 1e-15, 0);
    CHECK_CLOSE(s.assd, sqrt(40.0), 1e-15, 0);
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_OK);
    CHECK(isnan(s.hd) && isnan(s.nsd));
    o.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_OK);
    CHECK(isnan(s.hd));
    CHECK_CLOSE(s.nsd, 1.0, 0, 0);
}

TEST(metric_surface_bad_args) {
    uint8_t A[4] = {1, 0, 0, 0};
    segloss_shape shape = {2, {2, 2}};
    segloss_surface_metrics s;
    segloss_metric_opts o = segloss_metric_opts_default();
    CHECK_EQ_INT(segloss_surface_distances_binary(NULL, A, A, &shape, NULL), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, NULL, &shape, NULL), SEGLOSS_ERR_NULL);
    o.spacing[0] = -1;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_ERR_ARG);
    o.spacing[0] = NAN;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_ERR_ARG);
    o.spacing[0] = 0;
    o.percentile = 101;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_ERR_ARG);
    o.percentile = 95;
    o.tolerance = -0.5;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_ERR_ARG);
    o.tolerance = 1;
    o.hd95_variant = (segloss_hd95_variant)7;
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &shape, &o), SEGLOSS_ERR_ARG);
    segloss_shape s4 = {4, {1, 1, 2, 2}}, s0 = {2, {0, 2}};
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &s4, NULL), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_surface_distances_binary(&s, A, A, &s0, NULL), SEGLOSS_ERR_EMPTY);
    /* a stats box outside the image */
    segloss_label_stats st = {0};
    st.label = 1;
    st.box_lo[0] = 0;
    st.box_hi[0] = 3;
    st.box_lo[1] = 0;
    st.box_hi[1] = 2;
    segloss_label_array la = {A, SEGLOSS_U8}, lf = {A, SEGLOSS_F32};
    CHECK_EQ_INT(segloss_surface_distances(&s, &la, &la, &shape, &st, NULL), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_surface_distances(&s, &lf, &la, &shape, &st, NULL), SEGLOSS_ERR_DTYPE);
}

/* A larger volume where most label boxes lie strictly inside the image, so
 * crop edges that are not image edges are exercised at scale. */
TEST(metric_surface_medium_volume) {
    rng_state = 777;
    const int ndim = 3;
    const int64_t dims[3] = {20, 24, 18}, n = 20 * 24 * 18;
    const int nl = 12;
    int32_t *ref = calloc((size_t)n, sizeof *ref), *pred = calloc((size_t)n, sizeof *pred);
    for (int l = 1; l <= nl; l++) {
        double c[3], r[3], dc[3], rr[3];
        for (int d = 0; d < 3; d++) {
            c[d] = 2 + rnd_unit() * (double)(dims[d] - 4);
            r[d] = 1.0 + rnd_unit() * 4.0;
            dc[d] = (rnd_unit() - 0.5) * 3.0;
            rr[d] = r[d] * (0.7 + 0.6 * rnd_unit());
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t ci[3];
            coords(i, ndim, dims, ci);
            double s = 0, t = 0;
            for (int d = 0; d < 3; d++) {
                double a = ((double)ci[d] - c[d]) / r[d];
                double b = ((double)ci[d] - c[d] - dc[d]) / rr[d];
                s += a * a;
                t += b * b;
            }
            if (s <= 1) ref[i] = l;
            if (t <= 1) pred[i] = l;
        }
    }
    segloss_shape shape = {3, {20, 24, 18}};
    segloss_metric_opts o = segloss_metric_opts_default();
    double sp[3] = {1.5, 0.7, 1.1};
    memcpy(o.spacing, sp, sizeof sp);
    o.distances = 1;
    o.threads = 3;
    segloss_label_array pa = {pred, SEGLOSS_I32}, ra = {ref, SEGLOSS_I32};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &shape), SEGLOSS_OK);
    segloss_label_metrics *m = malloc((size_t)set.count * sizeof *m);
    CHECK_EQ_INT(segloss_label_metrics_compute(m, NULL, set.count, &set, &pa, &ra, &shape, &o),
                 SEGLOSS_OK);
    bf_opts bo = {95, 0, 1.0, 0, NAN};
    uint8_t *A = malloc((size_t)n), *B = malloc((size_t)n);
    int inside = 0;
    for (int64_t q = 0; q < set.count; q++) {
        int64_t lab = m[q].stats.label;
        for (int64_t i = 0; i < n; i++) {
            A[i] = pred[i] == lab;
            B[i] = ref[i] == lab;
        }
        bf_res r;
        bf_metrics(&r, A, B, ndim, dims, sp, &bo);
        check_surface(&m[q].surface, &r);
        int in = 1;
        for (int d = 0; d < 3; d++)
            in &= m[q].stats.box_lo[d] > 0 && m[q].stats.box_hi[d] < dims[d];
        inside += in;
    }
    CHECK(set.count >= 8);
    CHECK(inside >= 4);
    free(A);
    free(B);
    free(m);
    segloss_label_set_free(&set);
    free(ref);
    free(pred);
}
