/* Instance evaluation: connected components against scipy.ndimage.label
 * (label for label) and an in-test flood fill; matching, tp/fp/fn and
 * pq/sq/rq against a brute-force numpy matcher, scipy's
 * linear_sum_assignment, MONAI's compute_panoptic_quality and Metrics
 * Reloaded's AssignmentMapping; BraTS 2023 lesion-wise scores against the
 * official code. References: tests/data/metric/instances_ref.txt from
 * tools/ref/gen_instances_ref.py. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double unit(void) { return ref_uniform(&rng); }

/* Flood fill with an explicit stack: labels in scan order of first voxel. */
static int64_t flood(int32_t *lab, const uint8_t *m, const int64_t n[3], int conn) {
    const int64_t total = n[0] * n[1] * n[2];
    int64_t *stack = malloc((size_t)total * sizeof *stack);
    memset(lab, 0, (size_t)total * sizeof *lab);
    int32_t next = 0;
    for (int64_t s = 0; s < total; s++) {
        if (!m[s] || lab[s]) continue;
        lab[s] = ++next;
        int64_t top = 0;
        stack[top++] = s;
        while (top) {
            int64_t i = stack[--top];
            int64_t c[3] = {i / (n[1] * n[2]), (i / n[2]) % n[1], i % n[2]};
            for (int a = -1; a <= 1; a++)
                for (int b = -1; b <= 1; b++)
                    for (int d = -1; d <= 1; d++) {
                        int rank = (a != 0) + (b != 0) + (d != 0);
                        if (rank == 0 || rank > conn) continue;
                        int64_t j0 = c[0] + a, j1 = c[1] + b, j2 = c[2] + d;
                        if (j0 < 0 || j1 < 0 || j2 < 0 || j0 >= n[0] || j1 >= n[1] || j2 >= n[2])
                            continue;
                        int64_t j = (j0 * n[1] + j1) * n[2] + j2;
                        if (m[j] && !lab[j]) {
                            lab[j] = next;
                            stack[top++] = j;
                        }
                    }
        }
    }
    free(stack);
    return next;
}

TEST(instances_components_flood_fill) {
    static const int64_t dims[][3] = {{1, 1, 57}, {1, 31, 29}, {12, 13, 11}, {20, 1, 17}};
    static const int ndims[] = {1, 2, 3, 3};
    for (int t = 0; t < 4; t++) {
        const int64_t n = dims[t][0] * dims[t][1] * dims[t][2];
        uint8_t *m = malloc((size_t)n);
        int32_t *got = malloc((size_t)n * sizeof *got), *want = malloc((size_t)n * sizeof *want);
        segloss_shape sh = {ndims[t], {0}};
        for (int a = 0; a < ndims[t]; a++) sh.dim[a] = dims[t][3 - ndims[t] + a];
        for (int rep = 0; rep < 4; rep++) {
            const double dens = 0.25 + 0.15 * rep;
            for (int64_t i = 0; i < n; i++) m[i] = unit() < dens;
            for (int conn = 1; conn <= ndims[t]; conn++) {
                int64_t count = -1;
                segloss_status st = segloss_components(got, &count, m, &sh, conn, 0);
                CHECK_EQ_INT(st, SEGLOSS_OK);
                int64_t nw = flood(want, m, dims[t], conn);
                CHECK_EQ_INT(count, nw);
                int64_t bad = 0;
                for (int64_t i = 0; i < n; i++) bad += got[i] != want[i];
                CHECK_MSG(bad == 0, "shape %d conn %d: %lld voxels differ", t, conn, (long long)bad);
            }
        }
        free(m);
        free(got);
        free(want);
    }
}

TEST(instances_components_min_size_and_ids) {
    /* 1-D: runs of 1, 3, 2 voxels */
    const uint8_t m[10] = {1, 0, 1, 1, 1, 0, 0, 1, 1, 0};
    int32_t lab[10];
    int64_t count;
    segloss_shape sh = {1, {10}};
    CHECK_EQ_INT(segloss_components(lab, &count, m, &sh, 0, 2), SEGLOSS_OK);
    CHECK_EQ_INT(count, 2);
    const int32_t want[10] = {0, 0, 1, 1, 1, 0, 0, 2, 2, 0};
    CHECK(memcmp(lab, want, sizeof want) == 0);
    CHECK_EQ_INT(segloss_components(lab, &count, m, &sh, 2, 0), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_components(lab, &count, m, &sh, -1, 0), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_components(NULL, &count, m, &sh, 1, 0), SEGLOSS_ERR_NULL);

    /* instance IDs: numbered by increasing ID, disconnected IDs stay one */
    const int16_t ids[10] = {7, 0, -3, 7, 7, 0, 500, 500, -3, 0};
    segloss_label_array a = {ids, SEGLOSS_I16};
    CHECK_EQ_INT(segloss_instances_from_ids(lab, &count, &a, NULL, 10, 0), SEGLOSS_OK);
    CHECK_EQ_INT(count, 3);
    const int32_t want2[10] = {2, 0, 1, 2, 2, 0, 3, 3, 1, 0};
    CHECK(memcmp(lab, want2, sizeof want2) == 0);
    CHECK_EQ_INT(segloss_instances_from_ids(lab, &count, &a, NULL, 10, 3), SEGLOSS_OK);
    CHECK_EQ_INT(count, 1);   /* only ID 7 has 3 voxels */
    const uint8_t keep[10] = {1, 1, 1, 1, 0, 1, 1, 1, 0, 1};
    CHECK_EQ_INT(segloss_instances_from_ids(lab, &count, &a, keep, 10, 0), SEGLOSS_OK);
    const int32_t want3[10] = {2, 0, 1, 2, 0, 0, 3, 3, 0, 0};
    CHECK(memcmp(lab, want3, sizeof want3) == 0);
    /* no instance at all */
    const int16_t none[10] = {0};
    segloss_label_array z = {none, SEGLOSS_I16};
    CHECK_EQ_INT(segloss_instances_from_ids(lab, &count, &z, NULL, 10, 0), SEGLOSS_OK);
    CHECK(count == 0 && lab[0] == 0 && lab[9] == 0);
    segloss_instance_metrics im;
    segloss_shape s10 = {1, {10}};
    CHECK_EQ_INT(segloss_instance_eval(&im, NULL, NULL, &z, &a, 0, 1, &s10, NULL, NULL), SEGLOSS_OK);
    CHECK(im.n_pred == 0 && im.n_ref == 3 && im.fn == 3 && im.recall == 0.0);
    /* many distinct IDs: the table grows */
    int32_t big[5000], out[5000];
    for (int i = 0; i < 5000; i++) big[i] = (int32_t)((i * 7919) % 5000) - 2500;
    segloss_label_array b = {big, SEGLOSS_I32};
    CHECK_EQ_INT(segloss_instances_from_ids(out, &count, &b, NULL, 5000, 0), SEGLOSS_OK);
    CHECK_EQ_INT(count, 4999);
    int ok = 1;
    for (int i = 0; i < 5000; i++) {
        int32_t w = big[i] == 0 ? 0 : big[i] < 0 ? big[i] + 2501 : big[i] + 2500;
        ok &= out[i] == w;
    }
    CHECK(ok);
}

/* ---------------------------------------------------------------------- */
/* Reference file                                                           */
/* ---------------------------------------------------------------------- */
static uint8_t *parse_mask(const char *s, int64_t n) {
    if ((int64_t)strlen(s) != n) return NULL;
    uint8_t *m = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) m[i] = s[i] == '1';
    return m;
}

/* shape tokens: NDIM then NDIM dims */
static int64_t read_dims(ref_lexer *lx, segloss_shape *sh) {
    int64_t nd;
    ref_tok_i64(lx, &nd);
    sh->ndim = (int)nd;
    int64_t n = 1;
    for (int a = 0; a < sh->ndim; a++) {
        ref_tok_i64(lx, &sh->dim[a]);
        n *= sh->dim[a];
    }
    return n;
}

static void check_components_case(ref_lexer *lx, int *cases) {
    const char *name = ref_tok(lx);
    char cname[64];
    snprintf(cname, sizeof cname, "%s", name);
    segloss_shape sh;
    int64_t n = read_dims(lx, &sh), conn, want_n;
    ref_tok_i64(lx, &conn);
    ref_tok_i64(lx, &want_n);
    ref_tok(lx); /* mask */
    uint8_t *m = parse_mask(ref_tok(lx), n);
    ref_tok(lx); /* labels */
    int32_t *got = malloc((size_t)n * sizeof *got);
    int64_t count = -1, bad = 0;
    CHECK(m != NULL);
    if (m) CHECK_EQ_INT(segloss_components(got, &count, m, &sh, (int)conn, 0), SEGLOSS_OK);
    for (int64_t i = 0; i < n; i++) {
        int64_t w;
        ref_tok_i64(lx, &w);
        bad += m && got[i] != w;
    }
    CHECK_EQ_INT(count, want_n);
    CHECK_MSG(bad == 0, "%s: %lld labels differ from scipy.ndimage.label", cname, (long long)bad);
    (*cases)++;
    free(m);
    free(got);
}

typedef struct lesion_case {
    char name[64];
    segloss_shape sh;
    int64_t n, nr, np;
    int32_t *rl, *pl;
} lesion_case;

static segloss_instance_opts opts_of(const char *rule, double thr, const char *assign) {
    segloss_instance_opts o = segloss_instance_opts_default();
    o.match = strcmp(rule, "iou") == 0    ? SEGLOSS_MATCH_IOU
              : strcmp(rule, "dice") == 0 ? SEGLOSS_MATCH_DICE
                                          : SEGLOSS_MATCH_OVERLAP;
    o.threshold = thr;
    o.assignment = strcmp(assign, "greedy") == 0 ? SEGLOSS_ASSIGN_GREEDY : SEGLOSS_ASSIGN_HUNGARIAN;
    return o;
}

static void check_match_line(ref_lexer *lx, const lesion_case *c) {
    char rule[16], assign[16];
    snprintf(rule, sizeof rule, "%s", ref_tok(lx));
    double thr, iou_sum;
    ref_tok_f64(lx, &thr);
    snprintf(assign, sizeof assign, "%s", ref_tok(lx));
    int64_t nr, np, tp, fp, fn, npairs;
    ref_tok_i64(lx, &nr);
    ref_tok_i64(lx, &np);
    ref_tok_i64(lx, &tp);
    ref_tok_i64(lx, &fp);
    ref_tok_i64(lx, &fn);
    ref_tok_f64(lx, &iou_sum);
    ref_tok_i64(lx, &npairs);
    segloss_instance_opts o = opts_of(rule, thr, assign);
    segloss_instance_metrics m;
    segloss_instance_pair *rows = NULL;
    int64_t nrows = 0;
    segloss_status st = segloss_instance_match(&m, &rows, &nrows, c->rl, c->nr, c->pl, c->np,
                                               &c->sh, &o, NULL);
    CHECK_EQ_INT(st, SEGLOSS_OK);
    CHECK_EQ_INT(m.n_ref, nr);
    CHECK_EQ_INT(m.n_pred, np);
    int ok = m.tp == tp && m.fp == fp && m.fn == fn && fabs(m.iou_sum - iou_sum) <= 1e-12;
    for (int64_t k = 0; k < npairs; k++) {
        int64_t r, p;
        ref_tok_i64(lx, &r);
        ref_tok_i64(lx, &p);
        ok &= k < nrows && rows[k].ref == r && rows[k].pred == p;
    }
    CHECK_MSG(ok, "%s %s:%g %s: got tp %lld fp %lld fn %lld iou_sum %.17g, want %lld %lld %lld %.17g",
              c->name, rule, thr, assign, (long long)m.tp, (long long)m.fp, (long long)m.fn,
              m.iou_sum, (long long)tp, (long long)fp, (long long)fn, iou_sum);
    /* rows: matched, missed refs, unmatched preds, covering every component */
    CHECK_EQ_INT(nrows, m.tp + m.fp + m.fn);
    segloss_instance_pairs_free(rows);
}

static void check_lesion_case(ref_lexer *lx, int *cases) {
    lesion_case c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", ref_tok(lx));
    c.n = read_dims(lx, &c.sh);
    ref_tok(lx);
    uint8_t *rm = parse_mask(ref_tok(lx), c.n);
    ref_tok(lx);
    uint8_t *pm = parse_mask(ref_tok(lx), c.n);
    c.rl = malloc((size_t)c.n * sizeof *c.rl);
    c.pl = malloc((size_t)c.n * sizeof *c.pl);
    CHECK(rm && pm);
    CHECK_EQ_INT(segloss_components(c.rl, &c.nr, rm, &c.sh, 0, 0), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_components(c.pl, &c.np, pm, &c.sh, 0, 0), SEGLOSS_OK);
    for (const char *t = ref_tok(lx); t && strcmp(t, "end") != 0; t = ref_tok(lx)) {
        if (strcmp(t, "match") == 0) {
            check_match_line(lx, &c);
        } else if (strcmp(t, "monai") == 0) {
            double thr, iou_sum;
            int64_t tp, fp, fn;
            ref_tok_f64(lx, &thr);
            ref_tok_i64(lx, &tp);
            ref_tok_i64(lx, &fp);
            ref_tok_i64(lx, &fn);
            ref_tok_f64(lx, &iou_sum);
            segloss_instance_opts o = opts_of("iou", thr, "hungarian");
            segloss_instance_metrics m;
            CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, c.rl, c.nr, c.pl, c.np, &c.sh, &o, NULL),
                         SEGLOSS_OK);
            if (thr >= 0.5) {
                /* MONAI's pairs above 0.5, its float32 IoU sum, and its pq,
                 * sq, rq with smooth_numerator 1e-6 */
                CHECK_MSG(m.tp == tp && m.fp == fp && m.fn == fn, "%s: MONAI tp/fp/fn", c.name);
                CHECK_CLOSE(m.iou_sum, iou_sum, 1e-6, 1e-6);
                double want[3];
                for (int k = 0; k < 3; k++) ref_tok_f64(lx, &want[k]);
                const double got[3] = {m.pq, m.sq, m.rq};
                for (int k = 0; k < 3; k++) {
                    /* MONAI's 0 for 0/0 is segloss's empty-score zero */
                    double g = isnan(got[k]) ? 0.0 : got[k];
                    CHECK_CLOSE(g, want[k], 1e-5, 1e-5);
                }
            }
            if (thr < 0.5) {
                /* below 0.5 MONAI assigns over every pair and filters after:
                 * ASSIGN_HUNGARIAN_ALL */
                o.assignment = SEGLOSS_ASSIGN_HUNGARIAN_ALL;
                CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, c.rl, c.nr, c.pl, c.np, &c.sh,
                                                    &o, NULL),
                             SEGLOSS_OK);
                CHECK_MSG(m.tp == tp && m.fp == fp && m.fn == fn,
                          "%s: MONAI at %g: tp %lld fp %lld fn %lld, want %lld %lld %lld", c.name,
                          thr, (long long)m.tp, (long long)m.fp, (long long)m.fn, (long long)tp,
                          (long long)fp, (long long)fn);
                CHECK_CLOSE(m.iou_sum, iou_sum, 1e-6, 1e-6);
            }
        } else if (strcmp(t, "mr") == 0) {
            double thr;
            int64_t tp, fp, fn, npairs;
            ref_tok_f64(lx, &thr);
            ref_tok_i64(lx, &tp);
            ref_tok_i64(lx, &fp);
            ref_tok_i64(lx, &fn);
            ref_tok_i64(lx, &npairs);
            segloss_instance_opts o = opts_of("iou", thr, "greedy");
            segloss_instance_metrics m;
            segloss_instance_pair *rows = NULL;
            int64_t nrows = 0;
            CHECK_EQ_INT(segloss_instance_match(&m, &rows, &nrows, c.rl, c.nr, c.pl, c.np, &c.sh, &o, NULL),
                         SEGLOSS_OK);
            int ok = m.tp == tp && m.fp == fp && m.fn == fn;
            for (int64_t k = 0; k < npairs; k++) {
                int64_t r, p;
                ref_tok_i64(lx, &r);
                ref_tok_i64(lx, &p);
                ok &= k < nrows && rows[k].ref == r && rows[k].pred == p;
            }
            CHECK_MSG(ok, "%s: Metrics Reloaded greedy pairs", c.name);
            segloss_instance_pairs_free(rows);
        } else {
            tf_fail(__FILE__, __LINE__, "%s: unknown line '%s'", c.name, t);
            break;
        }
    }
    (*cases)++;
    free(rm);
    free(pm);
    free(c.rl);
    free(c.pl);
}

void instances_check_brats_case(ref_lexer *lx, int *cases);
static double brats_hd95_worst = 0.0;

TEST(instances_reference_file) {
    char *txt = ref_read_file(tf_data_path("metric/instances_ref.txt"));
    CHECK(txt != NULL);
    if (!txt) return;
    ref_lexer lx = {txt};
    int nc = 0, nl = 0, nb = 0;
    for (const char *t = ref_tok(&lx); t; t = ref_tok(&lx)) {
        if (strcmp(t, "components") == 0) check_components_case(&lx, &nc);
        else if (strcmp(t, "lesions") == 0) check_lesion_case(&lx, &nl);
        else if (strcmp(t, "brats") == 0) instances_check_brats_case(&lx, &nb);
        else {
            tf_fail(__FILE__, __LINE__, "unknown record '%s'", t);
            break;
        }
    }
    CHECK(nc >= 30 && nl >= 10 && nb >= 8);
    printf("instances: %d component, %d lesion-map, %d BraTS cases; worst BraTS lesion HD95 "
           "difference from DeepMind's surfel HD95: %.4g\n",
           nc, nl, nb, brats_hd95_worst);
    free(txt);
}

/* BraTS: counts, lesion volumes, lesion and overall Dice and HD95 as the
 * official code (to rounding; HD95 from DeepMind's surfels, <= 1e-9
 * relative), and the worst HD95 difference printed. */
void instances_check_brats_case(ref_lexer *lx, int *cases) {
    char name[64];
    snprintf(name, sizeof name, "%s", ref_tok(lx));
    segloss_shape sh = {3, {0}};
    int64_t n = 1;
    for (int a = 0; a < 3; a++) {
        ref_tok_i64(lx, &sh.dim[a]);
        n *= sh.dim[a];
    }
    segloss_lesionwise_opts o = segloss_lesionwise_opts_brats2023();
    for (int a = 0; a < 3; a++) ref_tok_f64(lx, &o.spacing[a]);
    ref_tok(lx);
    uint8_t *gm = parse_mask(ref_tok(lx), n);
    ref_tok(lx);
    uint8_t *pm = parse_mask(ref_tok(lx), n);
    CHECK(gm && pm);
    segloss_lesionwise lw;
    segloss_lesion_row *rows = NULL;
    CHECK_EQ_INT(segloss_lesionwise_brats(&lw, &rows, pm, gm, &sh, &o), SEGLOSS_OK);
    int64_t k = 0;
    double hd_sum_ref = 0.0;
    for (const char *t = ref_tok(lx); t && strcmp(t, "end") != 0; t = ref_tok(lx)) {
        if (strcmp(t, "counts") == 0) {
            int64_t tp, fp, fn, nl;
            ref_tok_i64(lx, &tp);
            ref_tok_i64(lx, &fp);
            ref_tok_i64(lx, &fn);
            ref_tok_i64(lx, &nl);
            CHECK_MSG(lw.tp == tp && lw.fp == fp && lw.fn == fn && lw.n_lesions == nl,
                      "%s: tp %lld fp %lld fn %lld lesions %lld, want %lld %lld %lld %lld", name,
                      (long long)lw.tp, (long long)lw.fp, (long long)lw.fn,
                      (long long)lw.n_lesions, (long long)tp, (long long)fp, (long long)fn,
                      (long long)nl);
        } else if (strcmp(t, "scores") == 0) {
            double dice, hd95;
            ref_tok_f64(lx, &dice);
            ref_tok_f64(lx, &hd95);
            CHECK_CLOSE(lw.dice, dice, 1e-12, 1e-12);
            CHECK_CLOSE(lw.hd95, hd95, 1e-9, 0);
        } else if (strcmp(t, "lesion") == 0) {
            double vol, dice, hd95;
            int64_t npred;
            ref_tok_f64(lx, &vol);
            ref_tok_i64(lx, &npred);
            ref_tok_f64(lx, &dice);
            ref_tok_f64(lx, &hd95);
            if (!rows || k >= lw.n_lesions) {
                tf_fail(__FILE__, __LINE__, "%s: more lesions in the reference", name);
                break;
            }
            const segloss_lesion_row *r = &rows[k++];
            CHECK_CLOSE(r->volume, vol, 0, 1e-12);
            CHECK_EQ_INT(r->n_pred, npred);
            CHECK_CLOSE(r->dice, dice, 1e-12, 1e-12);
            double diff = fabs(r->hd95 - hd95);
            if (diff > brats_hd95_worst) brats_hd95_worst = diff;
            CHECK_MSG(diff <= 1e-9 * fabs(hd95), "%s lesion %lld: hd95 %.17g, official %.17g",
                      name, (long long)k, r->hd95, hd95);
            hd_sum_ref += hd95;
        } else {
            tf_fail(__FILE__, __LINE__, "%s: unknown line '%s'", name, t);
            break;
        }
    }
    (void)hd_sum_ref;
    CHECK_EQ_INT(k, lw.n_lesions);
    segloss_lesion_rows_free(rows);
    free(gm);
    free(pm);
    (*cases)++;
}

TEST(instances_scores_and_errors) {
    segloss_instance_metrics m;
    memset(&m, 0, sizeof m);
    m.tp = 3;
    m.fp = 1;
    m.fn = 2;
    m.iou_sum = 2.4;
    segloss_instance_scores(&m, SEGLOSS_EMPTY_SCORE_NAN);
    CHECK_CLOSE(m.precision, 0.75, 0, 1e-15);
    CHECK_CLOSE(m.recall, 0.6, 0, 1e-15);
    CHECK_CLOSE(m.f1, 2.0 * 3 / (2.0 * 3 + 1 + 2), 0, 1e-15);
    CHECK_CLOSE(m.sq, 0.8, 0, 1e-15);
    CHECK_CLOSE(m.pq, m.sq * m.rq, 0, 1e-15);
    memset(&m, 0, sizeof m);
    segloss_instance_scores(&m, SEGLOSS_EMPTY_SCORE_ONE);
    CHECK(m.precision == 1.0 && m.pq == 1.0 && m.sq == 1.0);
    m.fn = 1;
    segloss_instance_scores(&m, SEGLOSS_EMPTY_SCORE_NAN);
    CHECK(m.pq == 0.0 && m.rq == 0.0 && m.recall == 0.0 && isnan(m.sq) && isnan(m.precision));

    int32_t r[4] = {1, 1, 0, 2}, p[4] = {1, 0, 0, 3};
    segloss_shape sh = {1, {4}};
    segloss_instance_opts o = segloss_instance_opts_default();
    CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, r, 2, p, 2, &sh, &o, NULL), SEGLOSS_ERR_ARG);
    o.threshold = 1.0;
    CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, r, 2, p, 3, &sh, &o, NULL), SEGLOSS_ERR_ARG);
    o = segloss_instance_opts_default();
    o.match = (segloss_match_rule)7;
    CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, r, 2, p, 3, &sh, &o, NULL), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_instance_match(&m, NULL, NULL, r, 2, p, 3, &sh, NULL, NULL), SEGLOSS_OK);
    CHECK(m.tp == 1 && m.fp == 2 && m.fn == 1);
}

static double best_pairing(double w[10][10], int r, int nr, int np, int *used) {
    if (r > nr) return 0.0;
    double best = best_pairing(w, r + 1, nr, np, used);
    for (int p = 1; p <= np; p++) {
        if (used[p] || w[r][p] == 0.0) continue;
        used[p] = 1;
        double v = w[r][p] + best_pairing(w, r + 1, nr, np, used);
        used[p] = 0;
        if (v > best) best = v;
    }
    return best;
}

/* Many components in one block: the Hungarian result equals an exhaustive
 * search over the pairings of a small block, and greedy never beats it. */
TEST(instances_hungarian_exhaustive) {
    /* 1-D strips: refs and preds of random lengths that overlap a lot */
    for (int rep = 0; rep < 40; rep++) {
        enum { N = 60 };
        uint8_t rm[N], pm[N];
        for (int i = 0; i < N; i++) {
            rm[i] = unit() < 0.7;
            pm[i] = unit() < 0.7;
        }
        int32_t rl[N], pl[N];
        int64_t nr, np;
        segloss_shape sh = {1, {N}};
        segloss_components(rl, &nr, rm, &sh, 1, 0);
        segloss_components(pl, &np, pm, &sh, 1, 0);
        if (nr > 9 || np > 9) continue;
        /* weights */
        double w[10][10] = {{0}};
        int64_t inter[10][10] = {{0}}, sr[10] = {0}, sp[10] = {0};
        for (int i = 0; i < N; i++) {
            sr[rl[i]]++;
            sp[pl[i]]++;
            inter[rl[i]][pl[i]]++;
        }
        for (int a = 1; a <= nr; a++)
            for (int b = 1; b <= np; b++) {
                double iou = (double)inter[a][b] / (double)(sr[a] + sp[b] - inter[a][b]);
                w[a][b] = iou > 0.1 ? iou : 0.0;
            }
        /* exhaustive: each ref picks a distinct pred or none */
        int used[10] = {0};
        double best = best_pairing(w, 1, (int)nr, (int)np, used);
        segloss_instance_opts o = segloss_instance_opts_default();
        o.threshold = 0.1;
        o.assignment = SEGLOSS_ASSIGN_HUNGARIAN;
        segloss_instance_metrics h, g;
        CHECK_EQ_INT(segloss_instance_match(&h, NULL, NULL, rl, nr, pl, np, &sh, &o, NULL), SEGLOSS_OK);
        o.assignment = SEGLOSS_ASSIGN_GREEDY;
        CHECK_EQ_INT(segloss_instance_match(&g, NULL, NULL, rl, nr, pl, np, &sh, &o, NULL), SEGLOSS_OK);
        CHECK_CLOSE(h.iou_sum, best, 1e-12, 0);
        CHECK(g.iou_sum <= h.iou_sum + 1e-12);
    }
}

TEST(instances_pair_surface) {
    /* two 2-D squares shifted by 2 columns: hd = hd95 = 2, as the full-image
     * surface distances of the two masks */
    enum { H = 12, W = 14 };
    int32_t rl[H * W] = {0}, pl[H * W] = {0};
    for (int i = 3; i < 7; i++)
        for (int j = 3; j < 7; j++) {
            rl[i * W + j] = 1;
            pl[i * W + j + 2] = 1;
        }
    segloss_shape sh = {2, {H, W}};
    segloss_instance_metrics m;
    segloss_instance_pair *rows = NULL;
    int64_t n = 0;
    segloss_instance_opts o = segloss_instance_opts_default();
    o.match = SEGLOSS_MATCH_OVERLAP;
    segloss_metric_opts mo = segloss_metric_opts_default();
    mo.spacing[1] = 0.5;
    CHECK_EQ_INT(segloss_instance_match(&m, &rows, &n, rl, 1, pl, 1, &sh, &o, &mo), SEGLOSS_OK);
    CHECK_EQ_INT(n, 1);
    if (n != 1) return;
    CHECK(rows[0].box_lo[0] == 3 && rows[0].box_hi[0] == 7 && rows[0].box_lo[1] == 3 &&
          rows[0].box_hi[1] == 9 && rows[0].box_lo[2] == 0 && rows[0].box_hi[2] == 1);
    segloss_surface_metrics full;
    uint8_t rm[H * W], pm[H * W];
    for (int i = 0; i < H * W; i++) {
        rm[i] = rl[i] != 0;
        pm[i] = pl[i] != 0;
    }
    CHECK_EQ_INT(segloss_surface_distances_binary(&full, pm, rm, &sh, &mo), SEGLOSS_OK);
    const segloss_surface_metrics *s = &rows[0].surface;
    CHECK(s->hd == full.hd && s->hd95 == full.hd95 && s->assd == full.assd && s->nsd == full.nsd);
    CHECK_CLOSE(s->hd, 1.0, 0, 0);
    segloss_instance_pairs_free(rows);
    /* the same through segloss_instance_eval on label arrays */
    segloss_label_array ra = {rm, SEGLOSS_U8}, pa = {pm, SEGLOSS_U8};
    CHECK_EQ_INT(segloss_instance_eval(&m, &rows, &n, &pa, &ra, 1, 0, &sh, &o, &mo), SEGLOSS_OK);
    CHECK(n == 1 && rows[0].surface.hd95 == full.hd95);
    segloss_instance_pairs_free(rows);
}

/* segloss_instance_eval on multi-label maps equals components + match. */
TEST(instances_eval_equals_dense) {
    enum { D0 = 9, D1 = 17, D2 = 13, N = D0 * D1 * D2 };
    static uint16_t pv[N], rv[N];
    static uint8_t m[N];
    static int32_t pl[N], rl[N];
    for (int i = 0; i < N; i++) {
        pv[i] = (uint16_t)(unit() < 0.3 ? 1 + (unit() < 0.3) : 0);
        rv[i] = (uint16_t)(unit() < 0.3 ? 1 + (unit() < 0.3) : 0);
    }
    segloss_shape sh = {3, {D0, D1, D2}};
    segloss_label_array pa = {pv, SEGLOSS_U16}, ra = {rv, SEGLOSS_U16};
    for (int label = 1; label <= 2; label++)
        for (int conn = 1; conn <= 3; conn++) {
            segloss_instance_opts o = segloss_instance_opts_default();
            o.connectivity = conn;
            o.min_size = 3;
            o.threshold = 0.2;
            int64_t np, nr;
            for (int i = 0; i < N; i++) m[i] = pv[i] == label;
            segloss_components(pl, &np, m, &sh, conn, 3);
            for (int i = 0; i < N; i++) m[i] = rv[i] == label;
            segloss_components(rl, &nr, m, &sh, conn, 3);
            segloss_instance_metrics a, b;
            CHECK_EQ_INT(segloss_instance_match(&a, NULL, NULL, rl, nr, pl, np, &sh, &o, NULL),
                         SEGLOSS_OK);
            CHECK_EQ_INT(segloss_instance_eval(&b, NULL, NULL, &pa, &ra, label, 0, &sh, &o, NULL),
                         SEGLOSS_OK);
            CHECK(a.n_ref == b.n_ref && a.n_pred == b.n_pred && a.tp == b.tp &&
                  a.iou_sum == b.iou_sum && a.n_ref == nr);
        }
    /* instance maps: the IDs of a component map give the same result */
    segloss_instance_opts o = segloss_instance_opts_default();
    int64_t np, nr;
    for (int i = 0; i < N; i++) m[i] = pv[i] != 0;
    segloss_components(pl, &np, m, &sh, 0, 0);
    for (int i = 0; i < N; i++) m[i] = rv[i] != 0;
    segloss_components(rl, &nr, m, &sh, 0, 0);
    segloss_label_array pia = {pl, SEGLOSS_I32}, ria = {rl, SEGLOSS_I32};
    segloss_instance_metrics a, b;
    CHECK_EQ_INT(segloss_instance_match(&a, NULL, NULL, rl, nr, pl, np, &sh, &o, NULL), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_instance_eval(&b, NULL, NULL, &pia, &ria, 0, 1, &sh, &o, NULL), SEGLOSS_OK);
    CHECK(a.tp == b.tp && a.fp == b.fp && a.fn == b.fn && a.iou_sum == b.iou_sum);
}
