/* --convention evaluatesegmentation against the real EvaluateSegmentation
 * (commit 4cff08d, built with ITK 5.2.1): tests/data/metric/evalseg_ref.txt,
 * written by tools/ref/gen_evalseg_ref.py, holds for each case the tool's
 * full-precision output (-use all in voxel units; hd, masd and the volumes
 * with -unit millimeter), the spread of its randomised quantile over 16
 * seeds, and the exact distances from SciPy's distance transforms.
 *
 *  - every metric the tool prints equals segloss's under the convention:
 *    counts exactly, everything else to 1e-9 relative (the tool's volumes
 *    in ml: vol/1000);
 *  - hd95 (and the 50th percentile) equal the exact pooled quantile, are
 *    never above the tool's smallest value over the seeds, and equal the
 *    tool's value where every seed gave the same;
 *  - a case the tool refuses (an empty or full mask) gives NaN for every
 *    score and distance it has. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* the tool's metrics, by segloss name; 1 = a count */
static const struct {
    const char *name;
    int count;
} keys[] = {
    {"dice", 0},  {"iou", 0},        {"auc", 0},       {"kappa", 0},      {"ri", 0},
    {"ari", 0},   {"icc", 0},        {"vs", 0},        {"mi", 0},         {"hd", 0},
    {"masd", 0},  {"mahalanobis", 0}, {"voi", 0},      {"gce", 0},        {"pbd", 0},
    {"recall", 0}, {"specificity", 0}, {"precision", 0}, {"fbeta", 0},   {"accuracy", 0},
    {"fpr", 0},   {"tp", 1},         {"fp", 1},        {"tn", 1},         {"fn", 1},
    {"vol_ref", 0}, {"vol_pred", 0},
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* 1 for a count, 0 for another of the tool's metrics, -1 if unknown. */
static int key_kind(const char *k) {
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, k) == 0) return keys[i].count;
    return -1;
}

static double value_of(const segloss_label_metrics *m, const char *k) {
    const segloss_overlap_scores *o = &m->overlap;
    const segloss_confusion *c = &m->stats.conf;
    static const struct {
        const char *name;
        size_t off;
    } ov[] = {
        {"dice", offsetof(segloss_overlap_scores, dice)},
        {"iou", offsetof(segloss_overlap_scores, iou)},
        {"auc", offsetof(segloss_overlap_scores, auc)},
        {"kappa", offsetof(segloss_overlap_scores, kappa)},
        {"ri", offsetof(segloss_overlap_scores, ri)},
        {"ari", offsetof(segloss_overlap_scores, ari)},
        {"icc", offsetof(segloss_overlap_scores, icc)},
        {"vs", offsetof(segloss_overlap_scores, vs)},
        {"mi", offsetof(segloss_overlap_scores, mi)},
        {"voi", offsetof(segloss_overlap_scores, voi)},
        {"gce", offsetof(segloss_overlap_scores, gce)},
        {"pbd", offsetof(segloss_overlap_scores, pbd)},
        {"recall", offsetof(segloss_overlap_scores, recall)},
        {"specificity", offsetof(segloss_overlap_scores, specificity)},
        {"precision", offsetof(segloss_overlap_scores, precision)},
        {"fbeta", offsetof(segloss_overlap_scores, fbeta)},
        {"accuracy", offsetof(segloss_overlap_scores, accuracy)},
        {"fpr", offsetof(segloss_overlap_scores, fpr)},
        {"vol_ref", offsetof(segloss_overlap_scores, vol_ref)},
        {"vol_pred", offsetof(segloss_overlap_scores, vol_pred)},
    };
    for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++)
        if (strcmp(ov[i].name, k) == 0) return *(const double *)((const char *)o + ov[i].off);
    if (strcmp(k, "hd") == 0) return m->surface.hd;
    if (strcmp(k, "hd95") == 0) return m->surface.hd95;
    if (strcmp(k, "masd") == 0) return m->surface.masd;
    if (strcmp(k, "mahalanobis") == 0) return m->mask.mahalanobis;
    if (strcmp(k, "tp") == 0) return (double)c->tp;
    if (strcmp(k, "fp") == 0) return (double)c->fp;
    if (strcmp(k, "tn") == 0) return (double)c->tn;
    if (strcmp(k, "fn") == 0) return (double)c->fn;
    return NAN;
}

/* Label 1's metrics under the convention, spacing 1 (the tool's voxel
 * unit) or the case's (its millimeter unit), percentile p. */
static void compute(segloss_label_metrics *m, const ref_mask_case *c, int mm, double p) {
    segloss_metric_opts o = segloss_metric_opts_default();
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "evaluatesegmentation"), SEGLOSS_OK);
    for (int a = 0; a < c->shape.ndim; a++) o.spacing[a] = mm ? c->sp[a] : 1.0;
    o.percentile = p;
    o.distances = 1;
    o.mask_metrics = SEGLOSS_MASK_MAHALANOBIS;
    o.threads = 1;
    ref_mask_case_metrics(m, c, &o);
}

typedef struct tally {
    int cases, refused, values, quantiles, deterministic;
} tally;

/* "voxel|millimeter KEY VALUE ..." */
static void check_run(const ref_mask_case *c, int mm, char *rest, tally *t) {
    segloss_label_metrics m;
    compute(&m, c, mm, 95.0);
    ref_lexer lx = {rest};
    char *k;
    double want;
    while ((k = ref_tok_pair(&lx, &want)) != NULL) {
        const int kind = key_kind(k);
        CHECK_MSG(kind >= 0, "%s: unknown key %s", c->name, k);
        double got = value_of(&m, k);
        if (mm && strncmp(k, "vol_", 4) == 0) got /= 1000.0; /* ml */
        const int ok = kind == 1 ? got == want : ref_close(got, want, 1e-9, 1e-12);
        CHECK_MSG(ok, "%s (%s): %s = %.17g, EvaluateSegmentation gives %.17g", c->name,
                  mm ? "millimeter" : "voxel", k, got, want);
        t->values++;
    }
}

/* "quantile UNIT Q MIN MAX NDISTINCT" */
static void check_quantile(const ref_mask_case *c, char *rest, tally *t) {
    ref_lexer lx = {rest};
    char *unit = ref_tok(&lx);
    double q, lo, hi;
    int64_t nd;
    CHECK(unit && ref_tok_f64(&lx, &q) && ref_tok_f64(&lx, &lo) && ref_tok_f64(&lx, &hi) &&
          ref_tok_i64(&lx, &nd));
    if (!unit) return;
    segloss_label_metrics m;
    compute(&m, c, strcmp(unit, "millimeter") == 0, q * 100.0);
    const double got = m.surface.hd95;
    CHECK_MSG(got <= lo * (1 + 1e-9) + 1e-12, "%s %s q=%g: hd95 %.17g above the tool's %.17g",
              c->name, unit, q, got, lo);
    if (nd == 1) {
        CHECK_MSG(ref_close(got, lo, 1e-9, 1e-12), "%s %s q=%g: hd95 %.17g, the tool %.17g",
                  c->name, unit, q, got, lo);
        t->deterministic++;
    }
    t->quantiles++;
}

/* "exact UNIT hd X masd X hd95 X hd50 X" */
static void check_exact(const ref_mask_case *c, char *rest) {
    ref_lexer lx = {rest};
    char *unit = ref_tok(&lx);
    if (!unit) return;
    const int mm = strcmp(unit, "millimeter") == 0;
    segloss_label_metrics m95, m50;
    compute(&m95, c, mm, 95.0);
    compute(&m50, c, mm, 50.0);
    char *k;
    double want;
    while ((k = ref_tok_pair(&lx, &want)) != NULL) {
        double got;
        if (strcmp(k, "hd95") == 0) got = m95.surface.hd95;
        else if (strcmp(k, "hd50") == 0) got = m50.surface.hd95;
        else if (strcmp(k, "hd") == 0) got = m95.surface.hd;
        else continue; /* masd: the tool's grid search, checked above */
        CHECK_MSG(ref_close(got, want, 1e-9, 1e-12), "%s %s: %s = %.17g, exact %.17g", c->name,
                  unit, k, got, want);
    }
}

/* An empty or full mask: the tool prints no metric. */
static void check_refused(const ref_mask_case *c) {
    segloss_label_metrics m;
    compute(&m, c, 0, 95.0);
    for (int i = 0; i < N_KEYS; i++) {
        const char *k = keys[i].name;
        if (keys[i].count || strncmp(k, "vol_", 4) == 0) continue;
        const double got = value_of(&m, k);
        CHECK_MSG(isnan(got), "%s (refused by the tool): %s = %.17g, not NaN", c->name, k, got);
    }
    CHECK_MSG(isnan(m.surface.hd95), "%s: hd95 %.17g", c->name, m.surface.hd95);
}

TEST(evalseg_equals_the_tool) {
    char *text = ref_read_file(tf_data_path("metric/evalseg_ref.txt"));
    CHECK_MSG(text != NULL, "cannot read metric/evalseg_ref.txt");
    if (!text) return;
    tally t = {0};
    ref_mask_case c = {0};
    char *save = NULL, *sp = NULL, *line;
    while ((line = ref_mask_case_next(text, &save, &c, &t.cases, &sp)) != NULL) {
        if (strcmp(line, "voxel") == 0) check_run(&c, 0, sp, &t);
        else if (strcmp(line, "millimeter") == 0) check_run(&c, 1, sp, &t);
        else if (strcmp(line, "quantile") == 0) check_quantile(&c, sp, &t);
        else if (strcmp(line, "exact") == 0) check_exact(&c, sp);
        else if (strcmp(line, "refused") == 0) {
            check_refused(&c);
            t.refused++;
        } else CHECK_MSG(0, "unknown line %s", line);
    }
    ref_mask_case_free(&c);
    free(text);
    CHECK_MSG(t.cases >= 20, "only %d cases", t.cases);
    CHECK_MSG(t.refused >= 8, "only %d refused cases", t.refused);
    CHECK_MSG(t.values > 400, "only %d values checked", t.values);
    CHECK_MSG(t.quantiles >= 40 && t.deterministic >= 10, "%d quantiles, %d deterministic",
              t.quantiles, t.deterministic);
}

/* The rules on counts (no image needed): the refusal of an empty or full
 * mask, icc and pbd on 0/255 voxel values, F 0 when TP = 0; the default
 * convention keeps the paper's formulas on 0/1. */
TEST(evalseg_rules_on_counts) {
    segloss_metric_opts o = segloss_metric_opts_default();
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "evaluatesegmentation"), SEGLOSS_OK);
    segloss_overlap_scores s, d;
    const segloss_confusion refused[] = {{0, 0, 3, 7}, {0, 3, 0, 7}, {0, 0, 0, 10},
                                         {3, 7, 0, 0}, {3, 0, 7, 0}};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(segloss_overlap_from_counts(&s, &refused[i], &o), SEGLOSS_OK);
        CHECK(isnan(s.dice) && isnan(s.iou) && isnan(s.precision) && isnan(s.recall));
        CHECK(isnan(s.fbeta) && isnan(s.pbd) && isnan(s.icc) && isnan(s.mi) && isnan(s.gce));
        CHECK(isnan(s.ari) && isnan(s.auc) && isnan(s.kappa) && isnan(s.fpr));
        CHECK(s.vol_pred == (double)(refused[i].tp + refused[i].fp)); /* volumes stay */
    }
    /* TP 2, FP 1, FN 1, TN 6: pd = 255*2/(2*255^2*2) = 1/510; the tool's
     * icc by hand: g = 6/20 = 0.3, ssw = 2*2*127.5^2/10 = 6502.5, ssb =
     * 2*(2*254.7^2 + 2*127.2^2 + 6*0.09)/9 = 36423.48; segloss's own pbd
     * (FP+FN)/(2TP) = 0.5 */
    segloss_confusion n = {2, 1, 1, 6};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &n, &o), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_overlap_from_counts(&d, &n, NULL), SEGLOSS_OK);
    CHECK(fabs(s.pbd - 1.0 / 510.0) < 1e-17 && fabs(d.pbd - 0.5) < 1e-15);
    const double ssw = 6502.5, ssb = 2 * (2 * 254.7 * 254.7 + 2 * 127.2 * 127.2 + 6 * 0.09) / 9;
    CHECK(fabs(s.icc - (ssb - ssw) / (ssb + ssw)) < 1e-12);
    CHECK(fabs(s.fbeta - 2.0 / 3.0) < 1e-15 && fabs(s.dice - d.dice) < 1e-15);
    segloss_confusion disjoint = {0, 4, 5, 11};
    CHECK_EQ_INT(segloss_overlap_from_counts(&s, &disjoint, &o), SEGLOSS_OK);
    CHECK(s.pbd == -1.0 && s.fbeta == 0.0 && s.dice == 0.0 && s.precision == 0.0);
}
