/* Metrics against MedPy's own code: tools/ref/gen_metric_medpy.py runs
 * medpy.metric.binary (MedPy 0.5.2) and stores its values in
 * tests/data/metric/medpy_ref.txt. Checked per label: MedPy's hd, hd95
 * (pooled percentile) and assd (MedPy >= 0.5.2: the mean of both
 * directions' distances pooled, which is segloss's assd), the mean of
 * MedPy's two directed asd values (MedPy <= 0.4's assd), dc and jc; the
 * default hd95 (max of the directed percentiles) and nsd from MedPy's
 * directed distances. For two empty masks MedPy >= 0.5 gives dc = jc = 1:
 * segloss with SEGLOSS_EMPTY_SCORE_ONE (`--empty-score one`). */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_case {
    int ndim;
    int64_t dims[3];
    double sp[3];
    int64_t n;
    uint8_t *pred, *ref;
} ref_case;

static int read_mask(uint8_t **dst, const char *line, const char *tag, int64_t n) {
    size_t tl = strlen(tag);
    if (strncmp(line, tag, tl) != 0 || line[tl] != ' ') return 0;
    const char *s = line + tl + 1;
    *dst = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        (*dst)[i] = (uint8_t)(s[i] - '0');
    }
    return 1;
}

/* Counts of `lab`, and its dice and iou with empty_score ONE. */
static void label_overlap(segloss_label_stats *st, segloss_overlap_scores *ov,
                          const ref_case *c, long long lab) {
    segloss_shape shape = {c->ndim, {0}};
    for (int d = 0; d < c->ndim; d++) shape.dim[d] = c->dims[d];
    segloss_label_array pa = {c->pred, SEGLOSS_U8}, ra = {c->ref, SEGLOSS_U8};
    segloss_label_set set;
    CHECK_EQ_INT(segloss_label_scan(&set, &pa, &ra, &shape), SEGLOSS_OK);
    segloss_label_set_get(st, &set, lab);
    segloss_label_set_free(&set);
    segloss_metric_opts o = segloss_metric_opts_default();
    o.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    CHECK_EQ_INT(segloss_overlap_from_counts(ov, &st->conf, &o), SEGLOSS_OK);
}

/* A label absent from one mask or both: MedPy's dc and jc only. Returns 1
 * when it is absent from both. */
static int check_nodist(const ref_case *c, const char *line) {
    long long lab, na, nb;
    double dc, jc;
    if (sscanf(line, "nodist %lld %lld %lld %lf %lf", &lab, &na, &nb, &dc, &jc) != 5) {
        CHECK_MSG(0, "bad nodist line: %.60s", line);
        return 0;
    }
    segloss_label_stats st;
    segloss_overlap_scores ov;
    label_overlap(&st, &ov, c, lab);
    CHECK_EQ_INT(st.conf.tp + st.conf.fp, na);
    CHECK_EQ_INT(st.conf.tp + st.conf.fn, nb);
    CHECK_CLOSE(ov.dice, dc, 0.0, 0.0);
    CHECK_CLOSE(ov.iou, jc, 0.0, 0.0);
    return na == 0 && nb == 0;
}

/* A label present in both masks. Returns 1 when MedPy's assd and the mean
 * of its two directed means differ by more than 1% (the fixture then tells
 * the two definitions apart). */
static int check_label(const ref_case *c, const char *line) {
    long long lab, nsa, nsb;
    double hd, hd95p, hd95m, assd_means, assd, nsd1, nsd2, dc, jc;
    if (sscanf(line, "label %lld %lld %lld %lf %lf %lf %lf %lf %lf %lf %lf %lf", &lab, &nsa,
               &nsb, &hd, &hd95p, &hd95m, &assd_means, &assd, &nsd1, &nsd2, &dc, &jc) != 12) {
        CHECK_MSG(0, "bad label line: %.60s", line);
        return 0;
    }
    segloss_shape shape = {c->ndim, {0}};
    for (int d = 0; d < c->ndim; d++) shape.dim[d] = c->dims[d];
    segloss_label_array pa = {c->pred, SEGLOSS_U8}, ra = {c->ref, SEGLOSS_U8};
    segloss_label_stats st;
    segloss_overlap_scores ov;
    label_overlap(&st, &ov, c, lab);
    CHECK_CLOSE(ov.dice, dc, 1e-15, 1e-15);
    CHECK_CLOSE(ov.iou, jc, 1e-15, 1e-15);

    segloss_metric_opts o = segloss_metric_opts_default();
    for (int d = 0; d < c->ndim; d++) o.spacing[d] = c->sp[d];
    segloss_surface_metrics m, mp, m2;
    CHECK_EQ_INT(segloss_surface_distances(&m, &pa, &ra, &shape, &st, &o), SEGLOSS_OK);
    o.hd95_variant = SEGLOSS_HD95_POOLED;
    CHECK_EQ_INT(segloss_surface_distances(&mp, &pa, &ra, &shape, &st, &o), SEGLOSS_OK);
    o.tolerance = 2.0;
    CHECK_EQ_INT(segloss_surface_distances(&m2, &pa, &ra, &shape, &st, &o), SEGLOSS_OK);

    const double atol = 1e-12, rtol = 1e-12;
    CHECK_EQ_INT(m.n_surface_pred, nsa);
    CHECK_EQ_INT(m.n_surface_ref, nsb);
    CHECK_CLOSE(m.hd, hd, atol, rtol);
    CHECK_CLOSE(mp.hd95, hd95p, atol, rtol);
    CHECK_CLOSE(m.hd95, hd95m, atol, rtol);
    CHECK_CLOSE(0.5 * (m.mean_pred_to_ref + m.mean_ref_to_pred), assd_means, atol, rtol);
    CHECK_CLOSE(m.assd, assd, 0.0, rtol);
    CHECK_CLOSE(m.nsd, nsd1, atol, rtol);
    CHECK_CLOSE(m2.nsd, nsd2, atol, rtol);
    return fabs(assd - assd_means) > 0.01 * assd;
}

TEST(metric_medpy_reference) {
    const char *path = tf_data_path("metric/medpy_ref.txt");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    ref_case c;
    memset(&c, 0, sizeof c);
    int ncases = 0, nlabels = 0, nboth_empty = 0, ndistinct = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || line[0] == 0) continue;
        if (strncmp(line, "case ", 5) == 0) {
            free(c.pred);
            free(c.ref);
            memset(&c, 0, sizeof c);
            char *p = line + 5, *e;
            c.ndim = (int)strtol(p, &e, 10);
            c.n = 1;
            for (int d = 0; d < c.ndim; d++) {
                c.dims[d] = strtoll(e, &e, 10);
                c.n *= c.dims[d];
            }
            for (int d = 0; d < c.ndim; d++) c.sp[d] = strtod(e, &e);
            ncases++;
            if (getline(&line, &cap, f) <= 0 || !read_mask(&c.pred, line, "pred", c.n) ||
                getline(&line, &cap, f) <= 0 || !read_mask(&c.ref, line, "ref", c.n)) {
                CHECK_MSG(0, "malformed case %d in %s", ncases, path);
                break;
            }
        } else if (strncmp(line, "label ", 6) == 0 && c.pred && c.ref) {
            ndistinct += check_label(&c, line);
            nlabels++;
        } else if (strncmp(line, "nodist ", 7) == 0 && c.pred && c.ref) {
            nboth_empty += check_nodist(&c, line);
        }
    }
    free(c.pred);
    free(c.ref);
    free(line);
    fclose(f);
    CHECK_MSG(ncases >= 13 && nlabels >= 25, "only %d cases, %d labels read", ncases, nlabels);
    CHECK_MSG(nboth_empty >= 4, "only %d labels empty in both masks", nboth_empty);
    CHECK_MSG(ndistinct >= 10, "only %d labels tell pooled assd from the mean of means",
              ndistinct);
}
