/* segloss eval: the summary, and three output forms (table, JSON, CSV;
 * the HTML page is eval_html.c).
 *
 * Summary per label, over the cases that report the label: mean, population
 * standard deviation (ddof = 0, numpy's default) and median of the non-NaN
 * values, n = their count, n_nan = the count of NaN values (an infinite
 * value, which JSON prints as null like NaN, counts as NaN too, so that the
 * summary can be recomputed from the JSON: segloss merge). The entry
 * "mean" holds the same statistics of the per-label means (labels whose
 * mean is NaN count in its n_nan): its "mean" is the mean over labels of
 * the per-label means (nnU-Net's "foreground_mean").
 *
 * Numbers are printed with the fewest significant digits that read back to
 * the same double (at most 17), so JSON and CSV round-trip exactly. */
#include "eval.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Summary                                                                  */
/* ---------------------------------------------------------------------- */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Statistics of v[0..n) (NaN and infinite values counted apart); reorders v. */
int eval_stats_of(eval_stats *s, double *v, int64_t n) {
    int64_t k = 0;
    s->n_nan = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) s->n_nan++;
        else v[k++] = v[i];
    }
    s->n = k;
    s->mean = s->std = s->median = NAN;
    if (k == 0) return 0;
    double sum = 0.0;
    for (int64_t i = 0; i < k; i++) sum += v[i];
    s->mean = sum / (double)k;
    double ss = 0.0;
    for (int64_t i = 0; i < k; i++) ss += (v[i] - s->mean) * (v[i] - s->mean);
    s->std = sqrt(ss / (double)k);
    return segloss_percentile_inplace(&s->median, v, k, 50.0) == SEGLOSS_OK ? 0 : -1;
}

int eval_summarize(eval_summary *s, const eval_cases *cs) {
    memset(s, 0, sizeof *s);
    int64_t total = 0;
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc) total += cs->v[i].n;
    int64_t *all = malloc((size_t)(total ? total : 1) * sizeof *all);
    double *vals = malloc((size_t)(cs->n ? cs->n : 1) * sizeof *vals);
    if (!all || !vals) goto nomem;
    int64_t m = 0;
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc)
            for (int64_t j = 0; j < cs->v[i].n; j++) all[m++] = cs->v[i].res[j].stats.label;
    if (m) qsort(all, (size_t)m, sizeof *all, cmp_i64);
    int64_t u = 0;
    for (int64_t i = 0; i < m; i++)
        if (u == 0 || all[u - 1] != all[i]) all[u++] = all[i];
    s->n_labels = u;
    s->labels = all;
    all = NULL;
    s->cases = calloc((size_t)(u ? u : 1), sizeof *s->cases);
    s->stats = calloc((size_t)(u ? u : 1) * EM_COUNT, sizeof *s->stats);
    if (!s->cases || !s->stats) goto nomem;
    for (int64_t l = 0; l < u; l++) {
        for (int em = 0; em < EM_COUNT; em++) {
            int64_t nv = 0;
            for (int64_t i = 0; i < cs->n; i++) {
                const eval_case *k = &cs->v[i];
                if (k->rc) continue;
                for (int64_t j = 0; j < k->n; j++)
                    if (k->res[j].stats.label == s->labels[l])
                        vals[nv++] = eval_metric_value(&k->res[j], (eval_metric)em);
            }
            s->cases[l] = nv;
            if (eval_stats_of(&s->stats[l * EM_COUNT + em], vals, nv)) goto nomem;
        }
    }
    if (u > cs->n) {
        double *v2 = realloc(vals, (size_t)u * sizeof *vals);
        if (!v2) goto nomem;
        vals = v2;
    }
    for (int em = 0; em < EM_COUNT; em++) {
        for (int64_t l = 0; l < u; l++) vals[l] = s->stats[l * EM_COUNT + em].mean;
        if (eval_stats_of(&s->over[em], vals, u)) goto nomem;
    }
    free(vals);
    return 0;
nomem:
    free(all);
    free(vals);
    eval_summary_free(s);
    cli_error("out of memory");
    return CLI_INTERNAL;
}

void eval_summary_free(eval_summary *s) {
    free(s->labels);
    free(s->cases);
    free(s->stats);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------------- */
/* Formatting                                                               */
/* ---------------------------------------------------------------------- */
/* Shortest "%.{p}g" that reads back as v. */
const char *eval_fmt_num(char *buf, size_t len, double v) {
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

void eval_json_num(FILE *f, double v) {
    char b[40];
    if (isfinite(v)) fputs(eval_fmt_num(b, sizeof b, v), f);
    else fputs("null", f);
}

void eval_json_str(FILE *f, const char *s) {
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

void eval_csv_str(FILE *f, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

int eval_metric_chosen(const eval_cfg *c, int em) { return (c->metrics >> em) & 1u; }

/* ---------------------------------------------------------------------- */
/* JSON                                                                     */
/* ---------------------------------------------------------------------- */
void eval_json_stats(FILE *f, const eval_stats *st) {
    fputs("{\"mean\":", f);
    eval_json_num(f, st->mean);
    fputs(",\"std\":", f);
    eval_json_num(f, st->std);
    fputs(",\"median\":", f);
    eval_json_num(f, st->median);
    fprintf(f, ",\"n\":%lld,\"n_nan\":%lld}", (long long)st->n, (long long)st->n_nan);
}

static void json_metric_stats(FILE *f, const eval_stats *per_metric, const eval_cfg *c) {
    int first = 1;
    fputc('{', f);
    for (int em = 0; em < EM_COUNT; em++) {
        if (!eval_metric_chosen(c, em)) continue;
        fprintf(f, "%s\"%s\":", first ? "" : ",", eval_metric_names[em]);
        eval_json_stats(f, &per_metric[em]);
        first = 0;
    }
    fputc('}', f);
}

int eval_write_json(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c) {
    fputc('{', f);
    if (c->shard.n) eval_shard_write_json(f, cs, c);
    fputs("\"cases\":[", f);
    int first = 1;
    for (int64_t i = 0; i < cs->n; i++) {
        const eval_case *k = &cs->v[i];
        if (k->rc) continue;
        fputs(first ? "{\"pred\":" : ",{\"pred\":", f);
        first = 0;
        eval_json_str(f, k->pred);
        fputs(",\"ref\":", f);
        eval_json_str(f, k->ref);
        fputs(",\"labels\":{", f);
        for (int64_t j = 0; j < k->n; j++) {
            const segloss_label_metrics *r = &k->res[j];
            const segloss_confusion *q = &r->stats.conf;
            char key[24];
            fprintf(f,
                    "%s\"%s\":{\"tp\":%lld,\"fp\":%lld,\"fn\":%lld,\"tn\":%lld,"
                    "\"n_pred\":%lld,\"n_ref\":%lld",
                    j ? "," : "", eval_label_key(c, r->stats.label, key, sizeof key),
                    (long long)q->tp,
                    (long long)q->fp, (long long)q->fn, (long long)q->tn,
                    (long long)(q->tp + q->fp), (long long)(q->tp + q->fn));
            for (int em = 0; em < EM_COUNT; em++) {
                if (!eval_metric_chosen(c, em)) continue;
                fprintf(f, ",\"%s\":", eval_metric_names[em]);
                eval_json_num(f, eval_metric_value(r, (eval_metric)em));
            }
            fputc('}', f);
        }
        fputc('}', f);
        eval_instances_json(f, k);
        fputc('}', f);
    }
    fputs("],\"summary\":{", f);
    for (int64_t l = 0; l < s->n_labels; l++) {
        char key[24];
        fprintf(f, "%s\"%s\":", l ? "," : "", eval_label_key(c, s->labels[l], key, sizeof key));
        json_metric_stats(f, &s->stats[l * EM_COUNT], c);
    }
    fprintf(f, "%s\"mean\":", s->n_labels ? "," : "");
    json_metric_stats(f, s->over, c);
    fputc('}', f);
    if (eval_instances_json_summary(f, cs, c)) return -1;
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* CSV                                                                      */
/* ---------------------------------------------------------------------- */
void eval_write_csv_header(FILE *f, const eval_cfg *c) {
    fputs("pred,ref,label,tp,fp,fn,tn,n_pred,n_ref", f);
    for (int em = 0; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em)) fprintf(f, ",%s", eval_metric_names[em]);
    fputc('\n', f);
}

int eval_write_csv(FILE *f, const eval_cases *cs, const eval_cfg *c) {
    eval_write_csv_header(f, c);
    for (int64_t i = 0; i < cs->n; i++) {
        const eval_case *k = &cs->v[i];
        if (k->rc) continue;
        for (int64_t j = 0; j < k->n; j++) {
            const segloss_label_metrics *r = &k->res[j];
            const segloss_confusion *q = &r->stats.conf;
            eval_csv_str(f, k->pred);
            fputc(',', f);
            eval_csv_str(f, k->ref);
            char key[24];
            fputc(',', f);
            eval_csv_str(f, eval_label_key(c, r->stats.label, key, sizeof key));
            fprintf(f, ",%lld,%lld,%lld,%lld,%lld,%lld", (long long)q->tp, (long long)q->fp,
                    (long long)q->fn, (long long)q->tn, (long long)(q->tp + q->fp),
                    (long long)(q->tp + q->fn));
            for (int em = 0; em < EM_COUNT; em++) {
                if (!eval_metric_chosen(c, em)) continue;
                double v = eval_metric_value(r, (eval_metric)em);
                char b[40];
                fputc(',', f);
                if (isfinite(v)) fputs(eval_fmt_num(b, sizeof b, v), f);
            }
            fputc('\n', f);
        }
    }
    return ferror(f) ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Table                                                                    */
/* ---------------------------------------------------------------------- */
/* Scores with 4 decimals; nan where undefined. */
const char *eval_fmt_score(char *buf, size_t len, double v) {
    if (isnan(v)) snprintf(buf, len, "nan");
    else snprintf(buf, len, "%.4f", v);
    return buf;
}

static void cell(FILE *f, int width, double v) {
    char b[48];
    fprintf(f, "  %*s", width, eval_fmt_score(b, sizeof b, v));
}

static int metric_width(int em) {
    int w = (int)strlen(eval_metric_names[em]);
    return w < 7 ? 7 : w;
}

/* First cell of a summary row: "mean (3 cases)". */
static int mean_title(char *buf, size_t len, int64_t cases) {
    return snprintf(buf, len, "mean (%lld case%s)", (long long)cases, cases == 1 ? "" : "s");
}

int eval_write_table(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c) {
    char first[64];
    int64_t ok = 0;
    int w = 4;
    for (int64_t i = 0; i < cs->n; i++) {
        if (cs->v[i].rc) continue;
        ok++;
        int len = (int)strlen(cs->v[i].name);
        if (len > w) w = len;
    }
    if (w < 14) w = 14; /* "mean of labels" */
    for (int64_t l = 0; l < s->n_labels; l++) {
        int len = mean_title(first, sizeof first, s->cases[l]);
        if (len > w) w = len;
    }
    fprintf(f, "%-*s  %5s", w, "case", "label");
    for (int em = 0; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em)) fprintf(f, "  %*s", metric_width(em), eval_metric_names[em]);
    fputc('\n', f);
    for (int64_t i = 0; i < cs->n; i++) {
        const eval_case *k = &cs->v[i];
        if (k->rc) continue;
        if (k->n == 0) fprintf(f, "%-*s  %5s  (no labels in either file)\n", w, k->name, "-");
        for (int64_t j = 0; j < k->n; j++) {
            char key[24];
            fprintf(f, "%-*s  %5s", w, k->name,
                    eval_label_key(c, k->res[j].stats.label, key, sizeof key));
            for (int em = 0; em < EM_COUNT; em++)
                if (eval_metric_chosen(c, em))
                    cell(f, metric_width(em), eval_metric_value(&k->res[j], (eval_metric)em));
            fputc('\n', f);
        }
    }
    /* Summary rows: per label when there are several cases, over labels
     * when there are several labels. */
    if (ok > 1 || s->n_labels > 1) fputc('\n', f);
    if (ok > 1) {
        for (int64_t l = 0; l < s->n_labels; l++) {
            mean_title(first, sizeof first, s->cases[l]);
            char key[24];
            fprintf(f, "%-*s  %5s", w, first, eval_label_key(c, s->labels[l], key, sizeof key));
            for (int em = 0; em < EM_COUNT; em++)
                if (eval_metric_chosen(c, em)) cell(f, metric_width(em), s->stats[l * EM_COUNT + em].mean);
            fputc('\n', f);
        }
    }
    if (s->n_labels > 1) {
        fprintf(f, "%-*s  %5s", w, "mean of labels", "all");
        for (int em = 0; em < EM_COUNT; em++)
            if (eval_metric_chosen(c, em)) cell(f, metric_width(em), s->over[em].mean);
        fputc('\n', f);
    }
    if (eval_instances_table(f, cs, c)) return -1;
    return ferror(f) ? -1 : 0;
}

