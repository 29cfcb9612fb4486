/* clDice and its skeletons against scikit-image 0.19.3 and Metrics
 * Reloaded (tests/data/metric/cldice_ref.txt, written by
 * tools/ref/gen_cldice_ref.py: skimage.morphology.skeletonize of every
 * label's masks, and BinaryPairwiseMeasures.centreline_dsc).
 *
 *  - every skeleton, computed on the whole (zero-padded) image by
 *    segloss__skeleton2d / segloss__skeleton3d, equals skimage's voxel for
 *    voxel;
 *  - cldice from segloss_label_metrics_compute (the label's bounding box,
 *    one and two threads) equals Metrics Reloaded's within 1e-12, NaN where
 *    it is NaN;
 *  - the empty-score rule for two empty masks and the 1-D rule. */
#include <segloss.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric/metric.h"
#include "refdata.h"
#include "tf.h"

typedef struct cl_case {
    char name[64];
    segloss_shape shape;
    double sp[3];
    int64_t n;
    uint8_t *pred, *ref;
} cl_case;

/* Skeleton of (map == lab) on the whole image, into sk (n bytes, 0/1). */
static int skeleton_of(uint8_t *sk, const cl_case *c, const uint8_t *map, int64_t lab) {
    const int nd = c->shape.ndim;
    int64_t d[3] = {1, 1, 1};
    for (int a = 0; a < nd; a++) d[3 - nd + a] = c->shape.dim[a];
    const int64_t p0 = nd == 2 ? 1 : d[0] + 2, p1 = d[1] + 2, p2 = d[2] + 2, o0 = nd == 2 ? 0 : 1;
    uint8_t *buf = calloc((size_t)(p0 * p1 * p2), 1);
    if (!buf) return -1;
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++)
                buf[((i0 + o0) * p1 + i1 + 1) * p2 + i2 + 1] =
                    map[(i0 * d[1] + i1) * d[2] + i2] == lab;
    segloss_status st;
    if (nd == 2) {
        st = segloss__skeleton2d(buf, p1, p2);
    } else {
        const int64_t pn[3] = {p0, p1, p2};
        st = segloss__skeleton3d(buf, pn, d[0] == 1 ? 4 : 6);
    }
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++)
                sk[(i0 * d[1] + i1) * d[2] + i2] = buf[((i0 + o0) * p1 + i1 + 1) * p2 + i2 + 1];
    free(buf);
    return st == SEGLOSS_OK ? 0 : -1;
}

static double cldice_of(const cl_case *c, int64_t lab, int threads, segloss_empty_score e) {
    segloss_label_array pa = {c->pred, SEGLOSS_U8}, ra = {c->ref, SEGLOSS_U8};
    segloss_label_set set;
    segloss_label_metrics m;
    m.mask.cldice = -1.0;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &c->shape), SEGLOSS_OK);
    segloss_metric_opts o = segloss_metric_opts_default();
    for (int d = 0; d < c->shape.ndim; d++) o.spacing[d] = c->sp[d];
    o.mask_metrics = SEGLOSS_MASK_CLDICE;
    o.threads = threads;
    o.empty_score = e;
    CHECK_EQ_INT(segloss_label_metrics_compute(&m, &lab, 1, &set, &pa, &ra, &c->shape, &o),
                 SEGLOSS_OK);
    segloss_label_set_free(&set);
    return m.mask.cldice;
}

static int read_digits(uint8_t **dst, ref_lexer *lx, const char *tag, int64_t n) {
    const char *t = ref_tok(lx);
    if (!t || strcmp(t, tag) != 0) return 0;
    const char *s = ref_tok(lx);
    if (!s || (int64_t)strlen(s) != n) return 0;
    *dst = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) (*dst)[i] = (uint8_t)(s[i] - '0');
    return 1;
}

/* "skel TAG N I..": compares with the skeleton of (map == lab); returns the
 * number of differing voxels (-1 on a format error). */
static int64_t check_skeleton(ref_lexer *lx, const cl_case *c, const uint8_t *map, int64_t lab,
                              const char *tag, int64_t *nvox) {
    const char *t = ref_tok(lx), *u = ref_tok(lx);
    int64_t k;
    if (!t || strcmp(t, "skel") != 0 || !u || strcmp(u, tag) != 0 || !ref_tok_i64(lx, &k))
        return -1;
    uint8_t *want = calloc((size_t)c->n, 1), *got = malloc((size_t)c->n);
    if (!want || !got) {
        free(want);
        free(got);
        return -1;
    }
    for (int64_t j = 0; j < k; j++) {
        int64_t i;
        if (!ref_tok_i64(lx, &i) || i < 0 || i >= c->n) {
            free(want);
            free(got);
            return -1;
        }
        want[i] = 1;
    }
    int64_t diff = -1;
    if (skeleton_of(got, c, map, lab) == 0) {
        diff = 0;
        for (int64_t i = 0; i < c->n; i++) diff += got[i] != want[i];
    }
    *nvox += k;
    free(want);
    free(got);
    return diff;
}

TEST(metric_cldice_skimage_reference) {
    const char *path = tf_data_path("metric/cldice_ref.txt");
    char *text = ref_read_file(path);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (!text) return;
    ref_lexer lx = {text};
    int ncases = 0, nlabels = 0, nskel = 0;
    int64_t nvox = 0;
    double worst = 0.0;
    cl_case c;
    memset(&c, 0, sizeof c);
    for (const char *t; (t = ref_tok(&lx)) != NULL;) {
        if (strcmp(t, "case") == 0) {
            free(c.pred);
            free(c.ref);
            memset(&c, 0, sizeof c);
            const char *name = ref_tok(&lx);
            int64_t nd = 0, nl = 0;
            int ok = name && ref_tok_i64(&lx, &nd) && nd >= 2 && nd <= 3;
            if (ok) snprintf(c.name, sizeof c.name, "%s", name);
            c.shape.ndim = (int)nd;
            c.n = 1;
            for (int d = 0; ok && d < nd; d++) {
                ok = ref_tok_i64(&lx, &c.shape.dim[d]);
                c.n *= c.shape.dim[d];
            }
            for (int d = 0; ok && d < nd; d++) ok = ref_tok_f64(&lx, &c.sp[d]);
            ok = ok && ref_tok_i64(&lx, &nl) && read_digits(&c.pred, &lx, "pred", c.n) &&
                 read_digits(&c.ref, &lx, "ref", c.n);
            CHECK_MSG(ok, "malformed case %d in %s", ncases + 1, path);
            if (!ok) break;
            ncases++;
        } else if (strcmp(t, "label") == 0 && c.pred) {
            int64_t lab;
            double v[3];
            int ok = ref_tok_i64(&lx, &lab);
            for (int k = 0; ok && k < 3; k++) ok = ref_tok(&lx) && ref_tok_f64(&lx, &v[k]);
            CHECK_MSG(ok, "%s: malformed label line", c.name);
            if (!ok) break;
            const int64_t dp = check_skeleton(&lx, &c, c.pred, lab, "pred", &nvox);
            const int64_t dr = check_skeleton(&lx, &c, c.ref, lab, "ref", &nvox);
            CHECK_MSG(dp == 0 && dr == 0,
                      "%s label %lld: skeletons differ from skimage's in %lld (pred) and "
                      "%lld (ref) voxels", c.name, (long long)lab, (long long)dp,
                      (long long)dr);
            nskel += 2;
            for (int threads = 1; threads <= 2; threads++) {
                const double got = cldice_of(&c, lab, threads, SEGLOSS_EMPTY_SCORE_NAN);
                CHECK_MSG((isnan(got) && isnan(v[0])) || fabs(got - v[0]) <= 1e-12,
                          "%s label %lld: cldice %.17g, Metrics Reloaded %.17g", c.name,
                          (long long)lab, got, v[0]);
                if (!isnan(v[0]) && fabs(got - v[0]) > worst) worst = fabs(got - v[0]);
            }
            nlabels++;
        }
    }
    free(c.pred);
    free(c.ref);
    free(text);
    CHECK_MSG(ncases >= 20 && nlabels >= 30, "only %d cases, %d labels read", ncases, nlabels);
    printf("  cldice_ref.txt: %d cases, %d labels, %d skeletons (%lld voxels) equal to "
           "skimage's; worst cldice diff %.2e\n",
           ncases, nlabels, nskel, (long long)nvox, worst);
}

/* Both masks empty: the empty score; 1-D images: NaN. */
TEST(metric_cldice_empty_and_rank1) {
    uint8_t pred[12] = {0}, ref[12] = {0};
    pred[0] = 2;
    ref[11] = 2;
    cl_case c;
    memset(&c, 0, sizeof c);
    c.shape.ndim = 2;
    c.shape.dim[0] = 3;
    c.shape.dim[1] = 4;
    c.sp[0] = c.sp[1] = 1.0;
    c.n = 12;
    c.pred = pred;
    c.ref = ref;
    CHECK(isnan(cldice_of(&c, 1, 1, SEGLOSS_EMPTY_SCORE_NAN)));
    CHECK(cldice_of(&c, 1, 1, SEGLOSS_EMPTY_SCORE_ONE) == 1.0);
    CHECK(cldice_of(&c, 1, 1, SEGLOSS_EMPTY_SCORE_ZERO) == 0.0);
    /* label 2: single pixels at opposite corners; each skeleton is its own
     * pixel, outside the other mask: tprec = tsens = 0 -> 0/0 -> NaN */
    CHECK(isnan(cldice_of(&c, 2, 1, SEGLOSS_EMPTY_SCORE_ONE)));
    c.shape.ndim = 1;
    c.shape.dim[0] = 12;
    ref[0] = 2;
    CHECK(isnan(cldice_of(&c, 2, 1, SEGLOSS_EMPTY_SCORE_ONE)));
    /* the same pixel in both, 2-D: skeleton = the pixel, cldice 1 */
    c.shape.ndim = 2;
    c.shape.dim[0] = 3;
    ref[11] = 0;
    const double one = cldice_of(&c, 2, 1, SEGLOSS_EMPTY_SCORE_NAN);
    CHECK_MSG(one == 1.0, "single pixel: %g", one);
}

/* ---- Supplement: random volumes against a plain transcription ----------
 * The reference above is skimage's own output. This test adds volumes that
 * are larger and more varied than the committed ones (rows of up to three
 * 64-bit words, thick blobs that take many sweeps, depth-1 volumes), and
 * checks both entry points (segloss__skeleton3d on a padded byte image,
 * segloss__skeleton3d_count on a box of flags) against plain_skeleton3d: a
 * line-by-line transcription of skimage 0.19.3's _compute_thin_image
 * (every direction rescans the whole image, neighbours are read one by
 * one, connectivity by a search over the neighbour graph), sharing no code
 * with src/metric/skeleton3d.c beyond skimage's tables. */

#include "metric/skeleton_table.h"

/* skimage's neighbourhood of voxel i: nb[9*(dp+1) + 3*(dc+1) + (dr+1)] for
 * the offset (dp, dr, dc) along (axis 0, 1, 2). */
static void plain_nbhd(uint8_t nb[27], const uint8_t *im, int64_t i, int64_t s0, int64_t s1) {
    for (int dp = -1; dp <= 1; dp++)
        for (int dr = -1; dr <= 1; dr++)
            for (int dc = -1; dc <= 1; dc++)
                nb[9 * (dp + 1) + 3 * (dc + 1) + (dr + 1)] = im[i + dp * s0 + dr * s1 + dc];
}

static int plain_endpoint(const uint8_t nb[27]) {
    int n = 0;
    for (int k = 0; k < 27; k++) n += k != 13 && nb[k];
    return n == 1;
}

static int plain_euler_invariant(const uint8_t nb[27]) {
    int e = 0;
    for (int o = 0; o < 8; o++) {
        unsigned idx = 1;
        for (int j = 0; j < 7; j++)
            if (nb[skel3d_octant[o][j][0]]) idx |= skel3d_octant[o][j][1];
        e += skel3d_euler[idx];
    }
    return e == 0;
}

/* At most one component of foreground neighbours (centre excluded), two
 * neighbours joined when no coordinate differs by 2 (a common octant). */
static int plain_simple(const uint8_t nb[27]) {
    int comp[27], ncomp = 0;
    for (int k = 0; k < 27; k++) comp[k] = -1;
    for (int s = 0; s < 27; s++) {
        if (s == 13 || !nb[s] || comp[s] >= 0) continue;
        if (++ncomp > 1) return 0;
        int stack[27], top = 0;
        stack[top++] = s;
        comp[s] = 0;
        while (top) {
            const int u = stack[--top];
            for (int v = 0; v < 27; v++) {
                if (v == 13 || !nb[v] || comp[v] >= 0) continue;
                if (abs(u / 9 - v / 9) > 1 || abs(u / 3 % 3 - v / 3 % 3) > 1 ||
                    abs(u % 3 - v % 3) > 1)
                    continue;
                comp[v] = 0;
                stack[top++] = v;
            }
        }
    }
    return 1;
}

/* skimage's thinning of a 0/1 image with a zero border (dims n). */
static int plain_skeleton3d(uint8_t *im, const int64_t n[3], int n_dirs) {
    const int64_t s0 = n[1] * n[2], s1 = n[2], tot = n[0] * s0;
    const int64_t dir[6] = {-s1, s1, 1, -1, s0, -s0};
    int64_t *cand = malloc((size_t)tot * sizeof *cand);
    if (!cand) return -1;
    uint8_t nb[27];
    for (int unchanged = 0; unchanged < n_dirs;) {
        unchanged = 0;
        for (int d = 0; d < n_dirs; d++) {
            int64_t nc = 0, removed = 0;
            for (int64_t p = 1; p + 1 < n[0]; p++)
                for (int64_t r = 1; r + 1 < n[1]; r++)
                    for (int64_t c = 1; c + 1 < n[2]; c++) {
                        const int64_t i = p * s0 + r * s1 + c;
                        if (!im[i] || im[i + dir[d]]) continue;
                        plain_nbhd(nb, im, i, s0, s1);
                        if (plain_endpoint(nb) || !plain_euler_invariant(nb) ||
                            !plain_simple(nb))
                            continue;
                        cand[nc++] = i;
                    }
            for (int64_t k = 0; k < nc; k++) {
                plain_nbhd(nb, im, cand[k], s0, s1);
                if (!plain_simple(nb)) continue;
                im[cand[k]] = 0;
                removed++;
            }
            if (removed == 0) unchanged++;
        }
    }
    free(cand);
    return 0;
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;
static double rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (double)(rnd_state >> 11) * (1.0 / 9007199254740992.0);
}

TEST(metric_cldice_skeleton3d_random) {
    int ncase = 0;
    int64_t nvox = 0;
    for (int t = 0; t < 60; t++) {
        /* box dims m (the flags), padded image dims n = m + 2 */
        int64_t m[3];
        const int flat = t % 10 == 9;
        const int wide = t % 3 == 0; /* rows of 2 or 3 words, fewer of them */
        m[0] = flat ? 1 : 2 + (int64_t)(rnd() * (wide ? 6 : 14));
        m[1] = 2 + (int64_t)(rnd() * (wide ? 8 : 16));
        m[2] = wide ? 60 + (int64_t)(rnd() * 130) : 2 + (int64_t)(rnd() * 30);
        const int64_t nb = m[0] * m[1] * m[2], n[3] = {m[0] + 2, m[1] + 2, m[2] + 2};
        const int64_t np = n[0] * n[1] * n[2];
        uint8_t *fl = calloc((size_t)nb, 1), *a = calloc((size_t)np, 1),
                *b = calloc((size_t)np, 1);
        CHECK(fl && a && b);
        if (!fl || !a || !b) {
            free(fl);
            free(a);
            free(b);
            return;
        }
        /* A (bit 1): a union of ellipsoids, some thick, plus speckle; B (bit
         * 2): random voxels, to count the skeleton's hits */
        const int nblob = 1 + (int)(rnd() * 5);
        double cen[5][3], rad[5][3];
        for (int k = 0; k < nblob; k++)
            for (int x = 0; x < 3; x++) {
                cen[k][x] = rnd() * (double)m[x];
                rad[k][x] = 0.8 + rnd() * (t % 4 == 1 ? 12.0 : 5.0);
            }
        const double speck = t % 5 == 2 ? 0.15 : 0.01;
        for (int64_t i0 = 0; i0 < m[0]; i0++)
            for (int64_t i1 = 0; i1 < m[1]; i1++)
                for (int64_t i2 = 0; i2 < m[2]; i2++) {
                    const double q[3] = {(double)i0, (double)i1, (double)i2};
                    int in = rnd() < speck;
                    for (int k = 0; k < nblob && !in; k++) {
                        double s = 0.0;
                        for (int x = 0; x < 3; x++) {
                            const double e = (q[x] - cen[k][x]) / rad[k][x];
                            s += e * e;
                        }
                        in = s <= 1.0;
                    }
                    const int64_t i = (i0 * m[1] + i1) * m[2] + i2;
                    fl[i] = (uint8_t)(in | (rnd() < 0.5) << 1);
                    a[((i0 + 1) * n[1] + i1 + 1) * n[2] + i2 + 1] = (uint8_t)in;
                }
        memcpy(b, a, (size_t)np);
        const int dirs = m[0] == 1 ? 4 : 6;
        CHECK_EQ_INT(plain_skeleton3d(a, n, dirs), 0);
        CHECK_EQ_INT(segloss__skeleton3d(b, n, dirs), SEGLOSS_OK);
        int64_t diff = 0, want[2] = {0, 0}, got[2] = {-1, -1};
        for (int64_t i = 0; i < np; i++) diff += a[i] != b[i];
        for (int64_t i0 = 0; i0 < m[0]; i0++)
            for (int64_t i1 = 0; i1 < m[1]; i1++)
                for (int64_t i2 = 0; i2 < m[2]; i2++)
                    if (a[((i0 + 1) * n[1] + i1 + 1) * n[2] + i2 + 1]) {
                        want[0]++;
                        want[1] += fl[(i0 * m[1] + i1) * m[2] + i2] >> 1;
                    }
        CHECK_EQ_INT(segloss__skeleton3d_count(got, fl, m, 1, 2, dirs), SEGLOSS_OK);
        CHECK_MSG(diff == 0 && got[0] == want[0] && got[1] == want[1],
                  "random case %d (%lldx%lldx%lld): %lld voxels differ; counts %lld %lld, "
                  "want %lld %lld",
                  t, (long long)m[0], (long long)m[1], (long long)m[2], (long long)diff,
                  (long long)got[0], (long long)got[1], (long long)want[0],
                  (long long)want[1]);
        nvox += want[0];
        ncase++;
        free(fl);
        free(a);
        free(b);
    }
    printf("  %d random volumes: skeletons (%lld voxels) equal to the plain transcription\n",
           ncase, (long long)nvox);
}
