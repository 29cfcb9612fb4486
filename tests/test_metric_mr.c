/* Second-edition metrics against Metrics Reloaded's own code:
 * tools/ref/gen_metrics2_ref.py runs BinaryPairwiseMeasures (Metrics
 * Reloaded 0.1.0, metrics/pairwise_measures.py) on the MedPy fixture masks
 * and on edge cases (single voxels, objects on the image border) and stores
 * its values in tests/data/metric/metrics2_ref.txt, with the pooled
 * distances' median and std (NumPy over Metrics Reloaded's distance maps)
 * and the count ratios Metrics Reloaded lacks (NumPy).
 *
 * Tolerances: Metrics Reloaded sums TP, FP, FN, TN as float32 and divides
 * some of them in float32 (its npv of 3/7 is 0.4285714328...), so its
 * count-derived scores hold to 1e-6 relative (1e-5 absolute: kappa's
 * p_o - p_e cancels) only; the same formulas evaluated in float64 by NumPy
 * (mcc64, kappa64, npv64, fbeta64), NumPy's own ratios and every distance
 * hold to 1e-12. NaN matches NaN (lr_pos with FP = 0). boundary_iou: Metrics Reloaded measures the width
 * in voxels (its distance transform has no sampling), so segloss runs it
 * with unit spacing. */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct mr_case {
    segloss_shape shape;
    double sp[3];
    int64_t n;
    uint8_t *pred, *ref;
} mr_case;

/* segloss's results for one case under the option sets the file needs. */
enum { RUN_MAIN, RUN_TWO, RUN_UNIT, RUN_UNIT_TWO, RUN_UNIT_FOUR, RUNS };

typedef struct name_value {
    const char *name;
    int run;          /* RUN_* */
    size_t offset;    /* of the double in segloss_label_metrics */
    double rtol;
} name_value;

#define OV(f) offsetof(segloss_label_metrics, overlap.f)
#define SU(f) offsetof(segloss_label_metrics, surface.f)
#define MA(f) offsetof(segloss_label_metrics, mask.f)
static const name_value names[] = {
    {"mcc", RUN_MAIN, OV(mcc), 1e-6},
    {"kappa", RUN_MAIN, OV(kappa), 1e-6},
    {"fbeta", RUN_MAIN, OV(fbeta), 1e-6},
    {"fbeta2", RUN_TWO, OV(fbeta), 1e-6},
    {"balanced_accuracy", RUN_MAIN, OV(balanced_accuracy), 1e-6},
    {"youden", RUN_MAIN, OV(youden), 1e-6},
    {"npv", RUN_MAIN, OV(npv), 1e-6},
    {"fpr", RUN_MAIN, OV(fpr), 1e-6},
    {"lr_pos", RUN_MAIN, OV(lr_pos), 1e-6},
    {"recall", RUN_MAIN, OV(recall), 1e-6},
    {"specificity", RUN_MAIN, OV(specificity), 1e-6},
    {"hd", RUN_MAIN, SU(hd), 1e-12},
    {"hd95", RUN_MAIN, SU(hd95), 1e-12},
    {"assd", RUN_MAIN, SU(assd), 1e-12},
    {"masd", RUN_MAIN, SU(masd), 1e-12},
    {"nsd", RUN_MAIN, SU(nsd), 1e-12},
    {"nsd2", RUN_TWO, SU(nsd), 1e-12},
    {"com_dist", RUN_MAIN, MA(com_dist), 1e-12},
    {"boundary_iou", RUN_UNIT, MA(boundary_iou), 1e-12},
    {"boundary_iou2", RUN_UNIT_TWO, MA(boundary_iou), 1e-12},
    {"boundary_iou4", RUN_UNIT_FOUR, MA(boundary_iou), 1e-12},
    {"sd_median", RUN_MAIN, SU(sd_median), 1e-12},
    {"sd_std", RUN_MAIN, SU(sd_std), 1e-12},
    {"fnr", RUN_MAIN, OV(fnr), 1e-12},
    {"fdr", RUN_MAIN, OV(fdr), 1e-12},
    {"for", RUN_MAIN, OV(for_), 1e-12},
    {"lr_neg", RUN_MAIN, OV(lr_neg), 1e-12},
    {"vol_pred", RUN_MAIN, OV(vol_pred), 1e-12},
    {"vol_ref", RUN_MAIN, OV(vol_ref), 1e-12},
    {"vol_diff", RUN_MAIN, OV(vol_diff), 1e-12},
    {"mcc64", RUN_MAIN, OV(mcc), 1e-12},
    {"kappa64", RUN_MAIN, OV(kappa), 1e-12},
    {"npv64", RUN_MAIN, OV(npv), 1e-12},
    {"fbeta64", RUN_MAIN, OV(fbeta), 1e-12},
};
#define N_NAMES ((int)(sizeof names / sizeof names[0]))

/* Metrics of label lab under run r. */
static void run(segloss_label_metrics *out, const mr_case *c, int64_t lab, int r) {
    segloss_label_array pa = {c->pred, SEGLOSS_U8}, ra = {c->ref, SEGLOSS_U8};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &c->shape), SEGLOSS_OK);
    segloss_metric_opts o = segloss_metric_opts_default();
    const int two = r == RUN_TWO || r == RUN_UNIT_TWO,
              unit = r == RUN_UNIT || r == RUN_UNIT_TWO || r == RUN_UNIT_FOUR;
    for (int d = 0; d < c->shape.ndim; d++) o.spacing[d] = unit ? 1.0 : c->sp[d];
    o.distances = 1;
    o.mask_metrics = SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST;
    o.beta = two ? 2.0 : 1.0;
    o.tolerance = two ? 2.0 : 1.0;
    /* widths 1 (the surfaces), 2 (a neighbourhood search), 4 (the EDT) */
    o.boundary_width = r == RUN_UNIT_FOUR ? 4.0 : two ? 2.0 : 1.0;
    o.threads = 1;
    CHECK_EQ_INT(segloss_label_metrics_compute(out, &lab, 1, &set, &pa, &ra, &c->shape, &o),
                 SEGLOSS_OK);
    segloss_label_set_free(&set);
}

/* Checks one "label L NAME VALUE ..." line; returns the values checked. */
static int check_label(const mr_case *c, char *line, double *worst) {
    char *p = line + 6, *e;
    int64_t lab = strtoll(p, &e, 10);
    segloss_label_metrics m[RUNS];
    for (int r = 0; r < RUNS; r++) run(&m[r], c, lab, r);
    int checked = 0;
    for (char *tok = strtok(e, " "); tok; tok = strtok(NULL, " ")) {
        char *val = strtok(NULL, " ");
        CHECK_MSG(val != NULL, "label %lld: no value for %s", (long long)lab, tok);
        if (!val) break;
        const double want = strtod(val, NULL);
        int k = 0;
        while (k < N_NAMES && strcmp(names[k].name, tok) != 0) k++;
        CHECK_MSG(k < N_NAMES, "unknown name %s", tok);
        if (k == N_NAMES) continue;
        double got;
        memcpy(&got, (const char *)&m[names[k].run] + names[k].offset, sizeof got);
        /* the float32 group: 1e-6 relative, or 1e-5 absolute for kappa's
         * cancellation (its float64 value kappa64 holds to 1e-12) */
        const double atol = names[k].rtol < 1e-9 ? 1e-12 : 1e-5;
        CHECK_MSG((isnan(got) && isnan(want)) ||
                      fabs(got - want) <= atol + names[k].rtol * fabs(want),
                  "label %lld %s: segloss %.17g, Metrics Reloaded %.17g", (long long)lab,
                  tok, got, want);
        if (names[k].rtol < 1e-9 && want != 0.0 && fabs(got - want) / fabs(want) > *worst)
            *worst = fabs(got - want) / fabs(want);
        checked++;
    }
    CHECK_MSG(checked == N_NAMES, "label %lld: %d values", (long long)lab, checked);
    return checked;
}

static int read_digits(uint8_t **dst, const char *line, const char *tag, int64_t n) {
    const size_t tl = strlen(tag);
    if (strncmp(line, tag, tl) != 0 || line[tl] != ' ' || (int64_t)strlen(line + tl + 1) < n)
        return 0;
    *dst = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) (*dst)[i] = (uint8_t)(line[tl + 1 + i] - '0');
    return 1;
}

TEST(metric_metrics_reloaded_reference) {
    const char *path = tf_data_path("metric/metrics2_ref.txt");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    mr_case c;
    memset(&c, 0, sizeof c);
    int ncases = 0, nlabels = 0, nvalues = 0;
    double worst = 0.0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "case ", 5) == 0) {
            free(c.pred);
            free(c.ref);
            memset(&c, 0, sizeof c);
            char *e;
            c.shape.ndim = (int)strtol(line + 5, &e, 10);
            c.n = 1;
            for (int d = 0; d < c.shape.ndim; d++) c.n *= c.shape.dim[d] = strtoll(e, &e, 10);
            for (int d = 0; d < c.shape.ndim; d++) c.sp[d] = strtod(e, &e);
            ncases++;
            if (getline(&line, &cap, f) <= 0 || !read_digits(&c.pred, line, "pred", c.n) ||
                getline(&line, &cap, f) <= 0 || !read_digits(&c.ref, line, "ref", c.n)) {
                CHECK_MSG(0, "malformed case %d in %s", ncases, path);
                break;
            }
        } else if (strncmp(line, "label ", 6) == 0 && c.pred && c.ref) {
            nvalues += check_label(&c, line, &worst);
            nlabels++;
        }
    }
    free(c.pred);
    free(c.ref);
    free(line);
    fclose(f);
    CHECK_MSG(ncases >= 15 && nlabels >= 30, "only %d cases, %d labels read", ncases, nlabels);
    printf("  metrics2_ref.txt: %d cases, %d labels, %d values; worst rel diff (1e-12 group) "
           "%.2e\n",
           ncases, nlabels, nvalues, worst);
}
