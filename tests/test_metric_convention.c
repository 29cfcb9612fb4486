/* segloss_metric_opts_convention against the tools' own outputs: for each
 * case of tests/data/metric/convention_ref.txt (2-D and 3-D, anisotropic
 * spacing, empty masks on either side and both, single voxels, objects on
 * the border; from tools/ref/gen_convention_ref.py, which runs MedPy 0.5.2,
 * MONAI 1.5.0, DeepMind surface-distance 1f805ce, Metrics Reloaded cb38dfc
 * and nnU-Net 2.8.1), every value a tool gives equals segloss's under that
 * tool's convention: counts exactly, distances to 1e-9 relative, scores to
 * 1e-12 (MONAI and Metrics Reloaded compute some scores in float32: 1e-6).
 * EvaluateSegmentation, run as a binary: tests/test_metric_evalseg.c. */
#include "refdata.h"
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_COUNT, KIND_SCORE, KIND_DISTANCE };

typedef struct metric_key {
    const char *name;
    int kind;
} metric_key;

static const metric_key keys[] = {
    {"tp", KIND_COUNT},          {"fp", KIND_COUNT},
    {"fn", KIND_COUNT},          {"tn", KIND_COUNT},
    {"n_pred", KIND_COUNT},      {"n_ref", KIND_COUNT},
    {"dice", KIND_SCORE},        {"iou", KIND_SCORE},
    {"precision", KIND_SCORE},   {"recall", KIND_SCORE},
    {"specificity", KIND_SCORE}, {"accuracy", KIND_SCORE},
    {"mcc", KIND_SCORE},         {"kappa", KIND_SCORE},
    {"fbeta", KIND_SCORE},       {"balanced_accuracy", KIND_SCORE},
    {"youden", KIND_SCORE},      {"npv", KIND_SCORE},
    {"fpr", KIND_SCORE},         {"fnr", KIND_SCORE},
    {"fdr", KIND_SCORE},         {"for", KIND_SCORE},
    {"lr_pos", KIND_SCORE},      {"nsd", KIND_SCORE},
    {"boundary_iou", KIND_SCORE},
    {"hd", KIND_DISTANCE},       {"hd95", KIND_DISTANCE},
    {"assd", KIND_DISTANCE},     {"masd", KIND_DISTANCE},
    {"mean_pred_to_ref", KIND_DISTANCE}, {"mean_ref_to_pred", KIND_DISTANCE},
    {"com_dist", KIND_DISTANCE},
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

static double value_of(const segloss_label_metrics *m, int k) {
    const segloss_overlap_scores *o = &m->overlap;
    const segloss_surface_metrics *s = &m->surface;
    const segloss_confusion *st = &m->stats.conf;
    switch (k) {
    case 0: return (double)st->tp;
    case 1: return (double)st->fp;
    case 2: return (double)st->fn;
    case 3: return (double)st->tn;
    case 4: return (double)(st->tp + st->fp);
    case 5: return (double)(st->tp + st->fn);
    case 6: return o->dice;
    case 7: return o->iou;
    case 8: return o->precision;
    case 9: return o->recall;
    case 10: return o->specificity;
    case 11: return o->accuracy;
    case 12: return o->mcc;
    case 13: return o->kappa;
    case 14: return o->fbeta;
    case 15: return o->balanced_accuracy;
    case 16: return o->youden;
    case 17: return o->npv;
    case 18: return o->fpr;
    case 19: return o->fnr;
    case 20: return o->fdr;
    case 21: return o->for_;
    case 22: return o->lr_pos;
    case 23: return s->nsd;
    case 24: return m->mask.boundary_iou;
    case 25: return s->hd;
    case 26: return s->hd95;
    case 27: return s->assd;
    case 28: return s->masd;
    case 29: return s->mean_pred_to_ref;
    case 30: return s->mean_ref_to_pred;
    default: return m->mask.com_dist;
    }
}

/* Every metric of label 1 under convention `conv`. */
static void compute(segloss_label_metrics *m, const ref_mask_case *c, const char *conv) {
    segloss_metric_opts o = segloss_metric_opts_default();
    for (int a = 0; a < c->shape.ndim; a++) o.spacing[a] = c->sp[a];
    o.tolerance = c->tau;
    o.distances = 1;
    o.mask_metrics = SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST;
    o.threads = 1;
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, conv), SEGLOSS_OK);
    ref_mask_case_metrics(m, c, &o);
}

/* Checks one "CONVENTION KEY VALUE ..." line; returns the values checked. */
static int check_line(const ref_mask_case *c, const char *conv, char *rest, int *per_conv) {
    segloss_label_metrics m;
    compute(&m, c, conv);
    const int monai = strcmp(conv, "monai") == 0;
    const int f32 = monai || strcmp(conv, "metricsreloaded") == 0;
    ref_lexer lx = {rest};
    int checked = 0;
    char *t;
    double want;
    while ((t = ref_tok_pair(&lx, &want)) != NULL) {
        int k = 0;
        while (k < N_KEYS && strcmp(keys[k].name, t) != 0) k++;
        CHECK_MSG(k < N_KEYS, "%s: unknown key %s", c->name, t);
        if (k == N_KEYS) continue;
        const double got = value_of(&m, k);
        int ok;
        if (keys[k].kind == KIND_COUNT) ok = got == want;
        /* MONAI's get_surface_distance rounds distances to float32 */
        else if (keys[k].kind == KIND_DISTANCE)
            ok = ref_close(got, want, monai ? 1e-6 : 1e-9, 1e-12);
        else if (!f32) ok = ref_close(got, want, 1e-12, 1e-15);
        /* Metrics Reloaded's kappa: p_o - p_e of float32 sums cancels */
        else ok = ref_close(got, want, 1e-6, k == 13 ? 2e-5 : 1e-7);
        CHECK_MSG(ok, "%s --convention %s: %s = %.17g, the tool gives %.17g", c->name, conv, t,
                  got, want);
        checked++;
    }
    (*per_conv)++;
    return checked;
}

TEST(convention_equals_each_tool) {
    char *text = ref_read_file(tf_data_path("metric/convention_ref.txt"));
    CHECK_MSG(text != NULL, "cannot read metric/convention_ref.txt");
    if (!text) return;
    /* one line at a time: the case header and masks, then the tool lines */
    static const char *const tools[] = {"medpy", "monai", "deepmind", "metricsreloaded",
                                        "nnunet"};
    int lines[5] = {0}, ncase = 0, nval = 0;
    ref_mask_case c = {0};
    char *save = NULL, *rest = NULL, *line;
    while ((line = ref_mask_case_next(text, &save, &c, &ncase, &rest)) != NULL) {
        int t = 0;
        while (t < 5 && strcmp(tools[t], line) != 0) t++;
        CHECK_MSG(t < 5, "unknown tool %s", line);
        if (t == 5) continue;
        nval += check_line(&c, line, rest, &lines[t]);
    }
    ref_mask_case_free(&c);
    free(text);
    CHECK_MSG(ncase >= 14, "only %d cases", ncase);
    for (int t = 0; t < 5; t++) CHECK_MSG(lines[t] == ncase, "%s: %d of %d cases", tools[t],
                                          lines[t], ncase);
    CHECK_MSG(nval > 800, "only %d values checked", nval);
}

/* The presets themselves: names, the choices they set, what they leave,
 * and the rule that a later single option overrides one choice. */
TEST(convention_presets) {
    for (int c = 0; segloss_convention_name(c); c++) {
        segloss_metric_opts o = segloss_metric_opts_default();
        o.spacing[0] = 2.0;
        o.percentile = 90.0;
        o.tolerance = 3.0;
        o.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
        CHECK_EQ_INT(segloss_metric_opts_convention(&o, segloss_convention_name(c)), SEGLOSS_OK);
        CHECK_EQ_INT((int)o.convention, c);
        CHECK(o.spacing[0] == 2.0 && o.percentile == 90.0 && o.tolerance == 3.0);
        CHECK_EQ_INT((int)o.empty_score, SEGLOSS_EMPTY_SCORE_NAN);
        CHECK_EQ_INT((int)o.surface, c == SEGLOSS_CONVENTION_DEEPMIND ? SEGLOSS_SURFACE_SURFEL
                                                                       : SEGLOSS_SURFACE_VOXEL);
        CHECK_EQ_INT((int)o.hd95_variant,
                     c == SEGLOSS_CONVENTION_MEDPY ? SEGLOSS_HD95_POOLED : SEGLOSS_HD95_MAX);
    }
    CHECK(segloss_convention_name(-1) == NULL);
    CHECK(segloss_convention_name(SEGLOSS_CONVENTION_EVALUATESEGMENTATION + 1) == NULL);
    segloss_metric_opts o = segloss_metric_opts_default(), d = o;
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "MedPy"), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, NULL), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_metric_opts_convention(NULL, "medpy"), SEGLOSS_ERR_ARG);
    CHECK(memcmp(&o, &d, sizeof o) == 0);
    /* segloss = the defaults */
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "segloss"), SEGLOSS_OK);
    CHECK(memcmp(&o, &d, sizeof o) == 0);
    /* an invalid convention is refused by every metric call */
    segloss_confusion cf = {1, 2, 3, 4};
    segloss_overlap_scores sc;
    o.convention = (segloss_convention)99;
    CHECK_EQ_INT(segloss_overlap_from_counts(&sc, &cf, &o), SEGLOSS_ERR_ARG);
    /* two empty masks from counts: MedPy's dc 1, Metrics Reloaded's dsc 1,
     * MONAI's NaN, and an explicit empty_score after the convention wins
     * once convention is back to segloss's */
    segloss_confusion z = {0, 0, 0, 10};
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "medpy"), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_overlap_from_counts(&sc, &z, &o), SEGLOSS_OK);
    CHECK(sc.dice == 1.0 && sc.iou == 1.0 && sc.precision == 0.0 && sc.recall == 0.0);
    CHECK(isnan(sc.mcc));
    o.convention = SEGLOSS_CONVENTION_SEGLOSS;
    o.empty_score = SEGLOSS_EMPTY_SCORE_ZERO;
    CHECK_EQ_INT(segloss_overlap_from_counts(&sc, &z, &o), SEGLOSS_OK);
    CHECK(sc.dice == 0.0 && sc.iou == 0.0 && sc.precision == 0.0);
    CHECK_EQ_INT(segloss_metric_opts_convention(&o, "monai"), SEGLOSS_OK);
    segloss_confusion fp_only = {0, 5, 0, 10};
    CHECK_EQ_INT(segloss_overlap_from_counts(&sc, &fp_only, &o), SEGLOSS_OK);
    CHECK(isnan(sc.dice) && isnan(sc.iou) && sc.precision == 0.0);
}
