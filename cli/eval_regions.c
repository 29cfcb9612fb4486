/* segloss eval --regions and --ignore-label (nnU-Net's region-based
 * evaluation and ignore label, as nnunetv2/evaluation/evaluate_predictions.py
 * computes them).
 *
 * A region is a set of labels; its masks are A = {pred in R},
 * B = {ref in R} (region_or_label_to_mask). With --ignore-label L the
 * voxels whose reference is L are left out of every count (nnU-Net's
 * compute_tp_fp_fn_tn: TP, FP, FN and TN all over ~(ref == L)) and, here,
 * out of every distance and mask metric too: they are removed from both
 * masks, and TN is reduced by their number. Without --regions, an ignore
 * label makes every scored label a region of one label (and --labels all
 * leaves L itself out, as nnU-Net's label list does).
 *
 * The library's segloss_region_metrics_compute applies that rule; this file
 * parses the options and lists the items. A region's results carry its
 * index in stats.label, and its key ("1,2,3": the labels ascending) names
 * it in every output. */
#include "eval.h"
#include "opts.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t eval_sort_unique(int64_t *v, int64_t n) {
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_i64);
    int64_t u = 0;
    for (int64_t k = 0; k < n; k++)
        if (u == 0 || v[u - 1] != v[k]) v[u++] = v[k];
    return u;
}

void eval_regions_free(eval_cfg *c) {
    for (int64_t r = 0; r < c->n_regions; r++) {
        free(c->regions[r].key);
        free(c->regions[r].labels);
    }
    free(c->regions);
    c->regions = NULL;
    c->n_regions = 0;
}

typedef struct region_ctx {
    eval_region *g;
} region_ctx;

static int one_region_label(void *ctx, const char *field, int64_t k) {
    region_ctx *x = ctx;
    int64_t lab;
    if (cli_parse_i64(field, &lab) || lab == 0) {
        cli_error("invalid label in --regions: '%s' (expected nonzero integers: groups like "
                  "1,2,3 separated by ';')",
                  field);
        return CLI_USAGE;
    }
    x->g->labels[k] = lab;
    return 0;
}

/* One group "1,2,3" into g (labels ascending, no repeats; key built). */
static int parse_group(eval_region *g, const char *text) {
    int64_t n = cli_list_count(text);
    g->labels = malloc((size_t)n * sizeof *g->labels);
    g->key = malloc((size_t)n * 22 + 1);
    if (!g->labels || !g->key) {
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    region_ctx x = {g};
    int rc = cli_list_each(text, one_region_label, &x);
    if (rc) return rc;
    const int64_t u = g->n = eval_sort_unique(g->labels, n);
    size_t pos = 0;
    for (int64_t k = 0; k < u; k++)
        pos += (size_t)sprintf(g->key + pos, "%s%lld", k ? "," : "", (long long)g->labels[k]);
    return 0;
}

int eval_set_regions(void *cfg, const char *name, const char *v) {
    eval_cfg *c = cfg;
    (void)name;
    eval_regions_free(c);
    int64_t n = 1;
    for (const char *p = v; *p; p++) n += *p == ';';
    c->regions = calloc((size_t)n, sizeof *c->regions);
    char *copy = malloc(strlen(v) + 1);
    if (!c->regions || !copy) {
        free(copy);
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    strcpy(copy, v);
    int rc = 0;
    char *s = copy;
    for (int64_t r = 0; r < n && !rc; r++) {
        char *end = strchr(s, ';');
        if (end) *end = 0;
        c->n_regions = r + 1;
        rc = parse_group(&c->regions[r], s);
        s = end ? end + 1 : s;
    }
    free(copy);
    for (int64_t r = 0; r < c->n_regions && !rc; r++)
        for (int64_t q = 0; q < r && !rc; q++)
            if (strcmp(c->regions[r].key, c->regions[q].key) == 0) {
                cli_error("--regions: region %s is given twice", c->regions[r].key);
                rc = CLI_USAGE;
            }
    return rc;
}

int eval_set_ignore(void *cfg, const char *name, const char *v) {
    eval_cfg *c = cfg;
    if (cli_parse_i64(v, &c->ignore_label)) {
        cli_error("invalid label for %s: '%s' (expected an integer)", name, v);
        return CLI_USAGE;
    }
    c->have_ignore = 1;
    return 0;
}

const char *eval_label_key(const eval_cfg *c, int64_t label, char *buf, size_t len) {
    if (c->n_regions && label >= 0 && label < c->n_regions) return c->regions[label].key;
    snprintf(buf, len, "%lld", (long long)label);
    return buf;
}

/* The items: the regions (labels and offsets, as
 * segloss_region_metrics_compute reads them), or one region per label. */
segloss_status eval_regions_compute(segloss_label_metrics **res, int64_t *n_out,
                                    const segloss_label_set *set, const segloss_label_array *pa,
                                    const segloss_label_array *ra, const segloss_shape *shape,
                                    const segloss_metric_opts *o, const eval_cfg *c) {
    int64_t n = c->n_regions, total = 0;
    if (n)
        for (int64_t r = 0; r < n; r++) total += c->regions[r].n;
    else
        total = c->labels_all ? set->count : c->n_labels;
    int64_t *labs = malloc((size_t)(total ? total : 1) * sizeof *labs);
    int64_t *offs = n ? malloc((size_t)(n + 1) * sizeof *offs) : NULL;
    if (!labs || (n && !offs)) {
        free(labs);
        free(offs);
        return SEGLOSS_ERR_NOMEM;
    }
    if (n) {
        offs[0] = 0;
        for (int64_t r = 0; r < n; r++) {
            memcpy(labs + offs[r], c->regions[r].labels, (size_t)c->regions[r].n * sizeof *labs);
            offs[r + 1] = offs[r] + c->regions[r].n;
        }
    } else {
        /* --labels all leaves the ignore label out, as nnU-Net's label list */
        for (int64_t k = 0; k < total; k++) {
            int64_t lab = c->labels_all ? set->items[k].label : c->labels[k];
            if (!(c->labels_all && c->have_ignore && lab == c->ignore_label)) labs[n++] = lab;
        }
    }
    *res = calloc((size_t)(n ? n : 1), sizeof **res);
    segloss_status st = *res ? segloss_region_metrics_compute(*res, labs, offs, n,
                                                              c->have_ignore ? &c->ignore_label
                                                                             : NULL,
                                                              pa, ra, shape, o)
                             : SEGLOSS_ERR_NOMEM;
    free(labs);
    free(offs);
    if (st != SEGLOSS_OK) {
        free(*res);
        *res = NULL;
        return st;
    }
    *n_out = n;
    return SEGLOSS_OK;
}
