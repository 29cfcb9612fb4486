/* segloss eval --instances: lesion-wise / instance evaluation of each case
 * and label, with the library's segloss_components, segloss_instance_match
 * and segloss_lesionwise_brats (definitions in segloss.h and
 * docs/instances.md).
 *
 * Per case and label L: the masks pred == L and ref == L are labelled into
 * components (--connectivity, --min-size), matched (--match,
 * --assignment), and scored; with --instance-maps the files hold instance
 * IDs instead (every distinct nonzero value is one instance) and the case
 * has one entry, label "all". --lesionwise brats2023 adds BraTS 2023's
 * lesion-wise Dice and HD95 of the same masks. --instances-csv writes one
 * row per matched pair, missed reference and unmatched prediction, with
 * the pair's Dice, IoU and HD95.
 *
 * Summary per label over the cases: the counts summed over cases and the
 * scores of those sums (dataset-level detection scores), and the mean of
 * the per-case scores (NaN left out). */
#include "eval.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Options                                                                  */
/* ---------------------------------------------------------------------- */
static int set_match(void *cfg, const char *n, const char *v) {
    static const cli_range thr = {0.0, 1.0, 0, "a threshold in [0, 1)"};
    eval_cfg *c = cfg;
    segloss_instance_opts *o = &c->inst.opts;
    c->inst.on = 1;
    if (strcmp(v, "overlap") == 0) {
        o->match = SEGLOSS_MATCH_OVERLAP;
        o->threshold = 0.0;
        return 0;
    }
    const char *colon = strchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : 0;
    if (colon && len == 3 && strncmp(v, "iou", 3) == 0) o->match = SEGLOSS_MATCH_IOU;
    else if (colon && len == 4 && strncmp(v, "dice", 4) == 0) o->match = SEGLOSS_MATCH_DICE;
    else {
        cli_error("invalid value for %s: '%s' (expected iou:T, dice:T or overlap)", n, v);
        return CLI_USAGE;
    }
    int rc = cli_number(colon + 1, n, &thr, &o->threshold);
    if (!rc && o->threshold >= 1.0) {
        cli_error("invalid value for %s: '%s' (the threshold must be below 1: a pair "
                  "matches when its score is greater than it)",
                  n, v);
        return CLI_USAGE;
    }
    return rc;
}

static int set_lesionwise(void *cfg, const char *n, const char *v) {
    eval_cfg *c = cfg;
    if (strcmp(v, "brats2023") != 0) {
        cli_error("invalid value for %s: '%s' (expected brats2023)", n, v);
        return CLI_USAGE;
    }
    c->inst.brats = 1;
    c->inst.on = 1;
    return 0;
}

static const cli_choice assignments[] = {{"greedy", SEGLOSS_ASSIGN_GREEDY},
                                         {"hungarian", SEGLOSS_ASSIGN_HUNGARIAN},
                                         {"monai", SEGLOSS_ASSIGN_HUNGARIAN_ALL},
                                         {NULL, 0}};
static const cli_range conn_range = {0.0, 3.0, 0, "expected 1, 2 or 3"};
static const cli_range size_range = {0.0, 2147483647.0, 0, "expected a voxel count >= 0"};

#define C eval_cfg
const cli_opt eval_instance_opts[] = {
    CLI_FLAG(C, NULL, "--instances", inst.on,
             "also detection scores per case and label:\n"
             "components matched one-to-one; n_ref, n_pred,\n"
             "tp, fp, fn, precision, recall, f1, pq, sq, rq"),
    CLI_INT(C, "--connectivity", "1|2|3", inst.connectivity, &conn_range,
            "neighbours of a component: faces, + edges,\n"
            "+ vertices (default: the image rank, i.e. 8 in\n"
            "2-D, 26 in 3-D)"),
    CLI_FLAG(C, NULL, "--instance-maps", inst.instance_maps,
             "the files hold instance IDs: each distinct\n"
             "nonzero value is one instance (label \"all\")"),
    CLI_CALL("--match", "iou:T|dice:T|overlap", set_match,
             "a pair can match when its IoU (Dice) > T, or\n"
             "when it shares a voxel (default iou:0.5)"),
    CLI_CHOICE(C, "--assignment", "greedy|hungarian|monai", inst.opts.assignment,
               assignments,
               "one-to-one: best score first (default), the\n"
               "maximum total score (exact), or MONAI's rule\n"
               "(maximum over all pairs, then the threshold)"),
    CLI_CALL("--lesionwise", "brats2023", set_lesionwise,
             "also BraTS 2023 lesion-wise Dice and HD95 (GLI\n"
             "settings: dilation 3, lesions of volume > 50)"),
    CLI_STR(C, NULL, "--instances-csv", "FILE|-", inst.csv,
            "write a CSV row per matched pair, missed\n"
            "reference and unmatched prediction"),
    CLI_NUM(C, "--min-size", "N", inst.min_size, 0, &size_range,
            "drop components of fewer than N voxels first"),
    CLI_END,
};
#undef C

int eval_instances_check(eval_cfg *c) {
    eval_inst_cfg *in = &c->inst;
    if (in->csv || in->instance_maps || in->connectivity || in->min_size > 0) in->on = 1;
    if (in->min_size != floor(in->min_size)) {
        cli_error("eval: --min-size %g is not a whole number of voxels", in->min_size);
        return CLI_USAGE;
    }
    if (in->on && (c->n_regions || c->have_ignore)) {
        /* regions and the ignore label rebuild the masks per item; instance
         * scoring does not run on those masks yet */
        cli_error("eval: --instances (and its options) cannot be combined with %s yet",
                  c->n_regions ? "--regions" : "--ignore-label");
        return CLI_USAGE;
    }
    if (in->on && c->shard.n) {
        /* merge recomputes summaries from the per-case JSON; the instance
         * summary needs sums (IoU of matched pairs) the parts do not carry */
        cli_error("eval: --instances (and its options) cannot be combined with --shard yet; "
                  "run lesion-wise evaluation unsharded");
        return CLI_USAGE;
    }
    in->opts.connectivity = in->connectivity;
    in->opts.min_size = (int64_t)in->min_size;
    in->opts.empty_score = c->mopts.empty_score;
    if (in->csv && strcmp(in->csv, "-") == 0 &&
        ((c->json && strcmp(c->json, "-") == 0) || (c->csv && strcmp(c->csv, "-") == 0) ||
         (c->html && strcmp(c->html, "-") == 0))) {
        cli_error("eval: --instances-csv - and another output on standard output; pick one");
        return CLI_USAGE;
    }
    const char *const other[3] = {c->json, c->csv, c->html};
    for (int a = 0; a < 3 && in->csv && strcmp(in->csv, "-") != 0; a++)
        if (other[a] && strcmp(other[a], in->csv) == 0) {
            cli_error("eval: --instances-csv names the same file as another output: '%s'",
                      in->csv);
            return CLI_USAGE;
        }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* One case                                                                 */
/* ---------------------------------------------------------------------- */
static int lib_fail(eval_case *k, segloss_status st, const char *what) {
    if (st == SEGLOSS_ERR_NOMEM) eval_msg(&k->err, "out of memory");
    else eval_msg(&k->err, "%s vs %s: %s: %s", k->pred ? k->pred : "(missing prediction)",
                  k->ref, what, segloss_strerror(st));
    k->rc = st == SEGLOSS_ERR_NOMEM || st == SEGLOSS_ERR_INTERNAL ? CLI_INTERNAL : CLI_INPUT;
    return k->rc;
}

/* BraTS scores need dense masks: label L, or any instance with --instance-maps. */
static segloss_status lesionwise(eval_inst *e, const eval_cfg *c, const segloss_label_array *pa,
                                 const segloss_label_array *ra, const segloss_shape *shape,
                                 int64_t numel, const double spacing[3]) {
    uint8_t *pm = malloc((size_t)numel * 2);
    if (!pm) return SEGLOSS_ERR_NOMEM;
    uint8_t *rm = pm + numel;
    segloss_status st = SEGLOSS_OK;
    const int any = c->inst.instance_maps;
    const int64_t lab = any ? 0 : e->label;
    st = segloss_label_mask(pm, pa, numel, lab);
    if (st == SEGLOSS_OK) st = segloss_label_mask(rm, ra, numel, lab);
    if (st == SEGLOSS_OK && any)
        for (int64_t i = 0; i < 2 * numel; i++) pm[i] = !pm[i];   /* != 0 */
    segloss_lesionwise_opts lo = segloss_lesionwise_opts_brats2023();
    for (int d = 0; d < shape->ndim; d++) lo.spacing[d] = spacing[d];
    if (st == SEGLOSS_OK) st = segloss_lesionwise_brats(&e->lw, NULL, pm, rm, shape, &lo);
    e->have_lw = st == SEGLOSS_OK;
    free(pm);
    return st;
}

int eval_instances_case(eval_case *k, const eval_cfg *c, const segloss_label_array *pa,
                        const segloss_label_array *ra, const segloss_shape *shape,
                        const double spacing[3]) {
    const eval_inst_cfg *in = &c->inst;
    if (!in->on) return 0;
    if (in->opts.connectivity > shape->ndim) {
        eval_msg(&k->err, "%s: --connectivity %d needs a %d-D image; this one is %d-D", k->ref,
                 in->opts.connectivity, in->opts.connectivity, shape->ndim);
        k->rc = CLI_INPUT;
        return k->rc;
    }
    if (in->brats && shape->ndim < 2) {
        eval_msg(&k->err, "%s: --lesionwise brats2023 needs a 2-D or 3-D image (its HD95 is "
                          "measured on surfels); this one is 1-D", k->ref);
        k->rc = CLI_INPUT;
        return k->rc;
    }
    int64_t numel = 1;
    for (int d = 0; d < shape->ndim; d++) numel *= shape->dim[d];
    const int64_t n = in->instance_maps ? 1 : k->n;
    k->inst = calloc((size_t)(n ? n : 1), sizeof *k->inst);
    if (!k->inst) return lib_fail(k, SEGLOSS_ERR_NOMEM, "");
    segloss_metric_opts mo = c->mopts;
    for (int d = 0; d < shape->ndim; d++) mo.spacing[d] = spacing[d];
    for (int64_t j = 0; j < n; j++) {
        eval_inst *e = &k->inst[j];
        k->n_inst = j + 1;
        e->label = in->instance_maps ? 0 : k->res[j].stats.label;
        segloss_status st = segloss_instance_eval(&e->m, in->csv ? &e->rows : NULL, &e->n_rows,
                                                  pa, ra, e->label, in->instance_maps, shape,
                                                  &in->opts, in->csv ? &mo : NULL);
        if (st != SEGLOSS_OK) return lib_fail(k, st, "instances");
        if (in->brats) {
            st = lesionwise(e, c, pa, ra, shape, numel, spacing);
            if (st != SEGLOSS_OK) return lib_fail(k, st, "lesion-wise scores");
        }
    }
    return 0;
}

void eval_instances_free(eval_case *k) {
    for (int64_t j = 0; j < k->n_inst && k->inst; j++) {
        segloss_instance_pairs_free(k->inst[j].rows);
    }
    free(k->inst);
    k->inst = NULL;
    k->n_inst = 0;
}

/* ---------------------------------------------------------------------- */
/* Outputs                                                                  */
/* ---------------------------------------------------------------------- */
#define N_SCORES 6
static const char *const score_names[N_SCORES] = {"precision", "recall", "f1", "pq", "sq", "rq"};

static double score_of(const segloss_instance_metrics *m, int s) {
    const double v[N_SCORES] = {m->precision, m->recall, m->f1, m->pq, m->sq, m->rq};
    return v[s];
}

static void label_key(char *buf, size_t len, int64_t label) {
    if (label == 0) snprintf(buf, len, "all");
    else snprintf(buf, len, "%lld", (long long)label);
}

static void json_entry(FILE *f, const eval_inst *e) {
    const segloss_instance_metrics *m = &e->m;
    fprintf(f, "{\"n_ref\":%lld,\"n_pred\":%lld,\"tp\":%lld,\"fp\":%lld,\"fn\":%lld",
            (long long)m->n_ref, (long long)m->n_pred, (long long)m->tp, (long long)m->fp,
            (long long)m->fn);
    for (int s = 0; s < N_SCORES; s++) {
        fprintf(f, ",\"%s\":", score_names[s]);
        eval_json_num(f, score_of(m, s));
    }
    if (e->have_lw) {
        fprintf(f, ",\"brats2023\":{\"lesions\":%lld,\"tp\":%lld,\"fp\":%lld,\"fn\":%lld,\"dice\":",
                (long long)e->lw.n_lesions, (long long)e->lw.tp, (long long)e->lw.fp,
                (long long)e->lw.fn);
        eval_json_num(f, e->lw.dice);
        fputs(",\"hd95\":", f);
        eval_json_num(f, e->lw.hd95);
        fputc('}', f);
    }
    fputc('}', f);
}

void eval_instances_json(FILE *f, const eval_case *k) {
    if (!k->inst) return;
    fputs(",\"instances\":{", f);
    for (int64_t j = 0; j < k->n_inst; j++) {
        char key[32];
        label_key(key, sizeof key, k->inst[j].label);
        fprintf(f, "%s\"%s\":", j ? "," : "", key);
        json_entry(f, &k->inst[j]);
    }
    fputc('}', f);
}

/* Summary of one label over the cases. */
typedef struct inst_sum {
    int64_t label;
    segloss_instance_summary s;
} inst_sum;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The labels with instance results, ascending, and their summaries. */
static inst_sum *summarize(const eval_cases *cs, const eval_cfg *c, int64_t *count) {
    int64_t total = 0;
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc) total += cs->v[i].n_inst;
    int64_t *labs = malloc((size_t)(total ? total : 1) * sizeof *labs);
    inst_sum *s = calloc((size_t)(total ? total : 1), sizeof *s);
    if (!labs || !s) {
        free(labs);
        free(s);
        return NULL;
    }
    int64_t m = 0, u = 0;
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc)
            for (int64_t j = 0; j < cs->v[i].n_inst; j++) labs[m++] = cs->v[i].inst[j].label;
    if (m) qsort(labs, (size_t)m, sizeof *labs, cmp_i64);
    for (int64_t q = 0; q < m; q++)
        if (u == 0 || labs[q] != s[u - 1].label) s[u++].label = labs[q];
    for (int64_t l = 0; l < u; l++) {
        inst_sum *x = &s[l];
        segloss_instance_summary_init(&x->s);
        for (int64_t i = 0; i < cs->n; i++) {
            const eval_case *k = &cs->v[i];
            if (k->rc) continue;
            for (int64_t j = 0; j < k->n_inst; j++) {
                const eval_inst *e = &k->inst[j];
                if (e->label == x->label)
                    segloss_instance_summary_add(&x->s, &e->m, e->have_lw ? &e->lw : NULL);
            }
        }
        segloss_instance_summary_finish(&x->s, c->mopts.empty_score);
    }
    free(labs);
    *count = u;
    return s;
}

int eval_instances_json_summary(FILE *f, const eval_cases *cs, const eval_cfg *c) {
    if (!c->inst.on) return 0;
    int64_t u = 0;
    inst_sum *s = summarize(cs, c, &u);
    if (!s) return -1;
    fputs(",\"instances\":{", f);
    for (int64_t l = 0; l < u; l++) {
        const inst_sum *x = &s[l];
        char key[32];
        label_key(key, sizeof key, x->label);
        fprintf(f,
                "%s\"%s\":{\"cases\":%lld,\"n_ref\":%lld,\"n_pred\":%lld,\"tp\":%lld,"
                "\"fp\":%lld,\"fn\":%lld",
                l ? "," : "", key, (long long)x->s.cases, (long long)x->s.total.n_ref,
                (long long)x->s.total.n_pred, (long long)x->s.total.tp, (long long)x->s.total.fp,
                (long long)x->s.total.fn);
        for (int q = 0; q < N_SCORES; q++) {
            fprintf(f, ",\"%s\":", score_names[q]);
            eval_json_num(f, score_of(&x->s.total, q));
        }
        fputs(",\"mean\":{", f);
        for (int q = 0; q < N_SCORES; q++) {
            fprintf(f, "%s\"%s\":", q ? "," : "", score_names[q]);
            eval_json_num(f, score_of(&x->s.mean, q));
        }
        if (c->inst.brats) {
            fputs(",\"brats2023_dice\":", f);
            eval_json_num(f, x->s.lesionwise_dice);
            fputs(",\"brats2023_hd95\":", f);
            eval_json_num(f, x->s.lesionwise_hd95);
        }
        fputs("}}", f);
    }
    fputc('}', f);
    free(s);
    return ferror(f) ? -1 : 0;
}

/* The instance entries of the successful cases in order: call with
 * *i = *j = 0; returns NULL after the last, *k = the entry's case. */
static const eval_inst *next_inst(const eval_cases *cs, int64_t *i, int64_t *j,
                                  const eval_case **k) {
    for (; *i < cs->n; (*i)++, *j = 0) {
        *k = &cs->v[*i];
        if (!(*k)->rc && *j < (*k)->n_inst) return &(*k)->inst[(*j)++];
    }
    return NULL;
}

static void cell(FILE *f, double v) {
    char b[48];
    fprintf(f, "  %9s", eval_fmt_score(b, sizeof b, v));
}

int eval_instances_table(FILE *f, const eval_cases *cs, const eval_cfg *c) {
    if (!c->inst.on) return 0;
    int w = 14;
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc && (int)strlen(cs->v[i].name) > w) w = (int)strlen(cs->v[i].name);
    fprintf(f, "\ninstances\n%-*s  %5s  %5s  %6s  %4s  %4s  %4s", w, "case", "label", "n_ref",
            "n_pred", "tp", "fp", "fn");
    for (int q = 0; q < N_SCORES; q++) fprintf(f, "  %9s", score_names[q]);
    if (c->inst.brats) fprintf(f, "  %9s  %9s", "lw_dice", "lw_hd95");
    fputc('\n', f);
    int64_t i = 0, j = 0;
    const eval_case *k;
    for (const eval_inst *e; (e = next_inst(cs, &i, &j, &k));) {
        char key[32];
        label_key(key, sizeof key, e->label);
        fprintf(f, "%-*s  %5s  %5lld  %6lld  %4lld  %4lld  %4lld", w, k->name, key,
                (long long)e->m.n_ref, (long long)e->m.n_pred, (long long)e->m.tp,
                (long long)e->m.fp, (long long)e->m.fn);
        for (int q = 0; q < N_SCORES; q++) cell(f, score_of(&e->m, q));
        if (c->inst.brats) {
            cell(f, e->have_lw ? e->lw.dice : NAN);
            cell(f, e->have_lw ? e->lw.hd95 : NAN);
        }
        fputc('\n', f);
    }
    int64_t u = 0;
    inst_sum *s = summarize(cs, c, &u);
    if (!s) return -1;
    for (int64_t l = 0; l < u && cs->n > 1; l++) {
        const inst_sum *x = &s[l];
        char key[32];
        label_key(key, sizeof key, x->label);
        fprintf(f, "%-*s  %5s  %5lld  %6lld  %4lld  %4lld  %4lld", w, "all cases (sums)", key,
                (long long)x->s.total.n_ref, (long long)x->s.total.n_pred, (long long)x->s.total.tp,
                (long long)x->s.total.fp, (long long)x->s.total.fn);
        for (int q = 0; q < N_SCORES; q++) cell(f, score_of(&x->s.total, q));
        if (c->inst.brats) {
            cell(f, x->s.lesionwise_dice);
            cell(f, x->s.lesionwise_hd95);
        }
        fputc('\n', f);
    }
    free(s);
    return ferror(f) ? -1 : 0;
}

int eval_instances_write_csv(FILE *f, const void *ctx) {
    const eval_cases *cs = ctx;
    fputs("pred,ref,label,ref_instance,pred_instance,n_ref,n_pred,intersection,dice,iou,hd95\n",
          f);
    int64_t i = 0, j = 0;
    const eval_case *k;
    for (const eval_inst *e; (e = next_inst(cs, &i, &j, &k));) {
        char key[32];
        label_key(key, sizeof key, e->label);
        for (int64_t r = 0; r < e->n_rows; r++) {
            const segloss_instance_pair *p = &e->rows[r];
            char b[3][40];
            const double v[3] = {p->dice, p->iou, p->surface.hd95};
            for (int q = 0; q < 3; q++) {
                if (isfinite(v[q])) eval_fmt_num(b[q], sizeof b[q], v[q]);
                else b[q][0] = '\0';
            }
            eval_csv_str(f, k->pred);
            fputc(',', f);
            eval_csv_str(f, k->ref);
            fprintf(f, ",%s,%lld,%lld,%lld,%lld,%lld,%s,%s,%s\n", key, (long long)p->ref,
                    (long long)p->pred, (long long)p->n_ref, (long long)p->n_pred,
                    (long long)p->inter, b[0], b[1], b[2]);
        }
    }
    return ferror(f) ? -1 : 0;
}
