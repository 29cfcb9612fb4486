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
