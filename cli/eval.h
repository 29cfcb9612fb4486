/* segloss eval — private declarations shared by cmd_eval.c (options and
 * the run), eval_pairs.c (which files are compared with which),
 * eval_case.c (one case: read, check, threshold, score) and eval_out.c
 * (table, JSON, CSV, summary). Nothing here is part of the library. */
#ifndef SEGLOSS_CLI_EVAL_H
#define SEGLOSS_CLI_EVAL_H

#include <segloss.h>

#include "opts.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The scores `--metrics` can pick, in output order (the first eleven are
 * v0.1's, in v0.1's order). */
typedef enum eval_metric {
    EM_DICE,
    EM_IOU,
    EM_PRECISION,
    EM_RECALL,
    EM_SPECIFICITY,
    EM_ACCURACY,
    EM_VS,
    EM_HD,
    EM_HD95,
    EM_ASSD,
    EM_NSD,
    EM_MCC,
    EM_KAPPA,
    EM_FBETA,
    EM_BALANCED_ACCURACY,
    EM_YOUDEN,
    EM_NPV,
    EM_FPR,
    EM_FNR,
    EM_FDR,
    EM_FOR,
    EM_LR_POS,
    EM_LR_NEG,
    EM_VOL_PRED,
    EM_VOL_REF,
    EM_VOL_DIFF,
    EM_MASD,
    EM_SD_MEDIAN,
    EM_SD_STD,
    EM_BOUNDARY_IOU,
    EM_COM_DIST,
    EM_GCE,
    EM_RI,
    EM_ARI,
    EM_MI,
    EM_VOI,
    EM_ICC,
    EM_PBD,
    EM_MAHALANOBIS,
    EM_AUC,
    EM_COUNT
} eval_metric;

#define EM_BIT(m) ((uint64_t)1 << (m))
#define EM_ALL_MASK (EM_BIT(EM_COUNT) - 1u)
#define EM_OVERLAP_MASK (EM_BIT(EM_HD) - 1u) /* dice .. vs: the default */
/* computed by the surface-distance pass */
#define EM_DISTANCE_MASK                                                                  \
    (EM_BIT(EM_HD) | EM_BIT(EM_HD95) | EM_BIT(EM_ASSD) | EM_BIT(EM_NSD) | EM_BIT(EM_MASD) | \
     EM_BIT(EM_SD_MEDIAN) | EM_BIT(EM_SD_STD))
/* values in physical units: the spacing matters */
#define EM_SPACING_MASK                                                                     \
    (EM_DISTANCE_MASK | EM_BIT(EM_VOL_PRED) | EM_BIT(EM_VOL_REF) | EM_BIT(EM_VOL_DIFF) |     \
     EM_BIT(EM_BOUNDARY_IOU) | EM_BIT(EM_COM_DIST))
/* scores where a higher value is better (the HTML report ranks the lowest
 * first, and draws them on a scale from 0 to at least 1) */
#define EM_HIGHER_BETTER_MASK                                                               \
    (EM_OVERLAP_MASK | EM_BIT(EM_MCC) | EM_BIT(EM_KAPPA) | EM_BIT(EM_FBETA) |                \
     EM_BIT(EM_BALANCED_ACCURACY) | EM_BIT(EM_YOUDEN) | EM_BIT(EM_NPV) | EM_BIT(EM_LR_POS) | \
     EM_BIT(EM_BOUNDARY_IOU) | EM_BIT(EM_RI) | EM_BIT(EM_ARI) | EM_BIT(EM_MI) |                 \
     EM_BIT(EM_ICC) | EM_BIT(EM_AUC))

/* The SEGLOSS_MASK_* bits of segloss_metric_opts.mask_metrics that the
 * metrics in `metrics` (EM_BIT set) need. */
unsigned eval_mask_metrics(uint64_t metrics);

extern const char *const eval_metric_names[EM_COUNT];

/* The value of metric `m` in a result, and its setter (segloss merge). */
double eval_metric_value(const segloss_label_metrics *r, eval_metric m);
void eval_metric_set(segloss_label_metrics *r, eval_metric m, double v);

/* One --regions group: a union of labels, named by its key "1,2,3". */
typedef struct eval_region {
    char *key;
    int64_t *labels;     /* ascending, no repeats */
    int64_t n;
} eval_region;
/* --instances and its options (eval_instances.c). */
typedef struct eval_inst_cfg {
    int on;                          /* --instances (implied by the others) */
    int instance_maps;               /* --instance-maps */
    int connectivity;                /* --connectivity (0: ndim) */
    double min_size;                 /* --min-size (whole number) */
    segloss_instance_opts opts;      /* --match, --assignment */
    int brats;                       /* --lesionwise brats2023 */
    const char *csv;                 /* --instances-csv FILE|- */
} eval_inst_cfg;
/* --shard K/N: the run evaluates cases [first, end) of the `pairs` cases
 * of the whole (sorted) pair list; its JSON output carries this, so that
 * `segloss merge` can check that the parts make one whole run. */
typedef struct eval_shard {
    int64_t k, n;        /* n == 0: not sharded */
    int64_t pairs, first, end;
    uint64_t hash;       /* FNV-1a 64 of the whole pair list (eval_shard.c) */
    int64_t failed;      /* cases of the slice that failed (--keep-going) */
    char *options;       /* the options that shape the output, normalised */
    char *csv_header;    /* the first line --csv would write */
    char *command;       /* for merge --html: the command line, a JSON array */
    char *html_settings; /* ... and the page's settings rows */
} eval_shard;

typedef struct eval_cfg {
    const char *pred, *ref;          /* as given */
    int labels_all;                  /* 1: every label present in the case */
    int64_t *labels;                 /* else: this list, ascending, no repeats */
    int64_t n_labels;
    int logits;                      /* --scores logits */
    int have_threshold;              /* --threshold given */
    double threshold;                /* in the scores' own units */
    uint64_t metrics;                /* EM_BIT per eval_metric */
    int n_spacing;                   /* 0: spacing from the files */
    double spacing[3];
    segloss_metric_opts mopts;       /* percentile, tolerance, variant, empty rules */
    const char *json, *csv, *html;   /* NULL, "-" or a file name */
    int threads;                     /* >= 1 */
    int quiet, keep_going, allow_missing;
    size_t max_bytes;                /* cap per decoded image (0: none) */
    eval_region *regions;            /* --regions (NULL: labels) */
    int64_t n_regions;
    int have_ignore;                 /* --ignore-label given */
    int64_t ignore_label;
    eval_inst_cfg inst;
    eval_shard shard;                /* --shard K/N */
    int argc;                        /* the command line, "eval" first (for --html) */
    char **argv;
} eval_cfg;

/* One (prediction, reference) pair and, once evaluated, its results. */
typedef struct eval_case {
    char *name;       /* relative name in a directory run, else the prediction path */
    char *pred;       /* prediction path; NULL when missing (--allow-missing) */
    char *ref;        /* reference path; NULL for a prediction without reference */
    int rc;           /* 0, or the exit code of this case's failure */
    char *err;        /* failure message(s), each line "segloss: ...\n" */
    char *warn;       /* warnings, same form; printed unless --quiet */
    int64_t n;        /* labels reported */
    segloss_label_metrics *res;
    struct eval_inst *inst;   /* instance results (eval_instances.c), or NULL */
    int64_t n_inst;
} eval_case;

typedef struct eval_cases {
    eval_case *v;
    int64_t n;
    int dirs;         /* the inputs were directories */
} eval_cases;

/* eval_pairs.c: the cases for --pred/--ref, sorted by relative name.
 * Returns an exit code; pairing problems (a file on one side only) are
 * cases with rc != 0 and a message, not failures of this call. */
int eval_pairs(eval_cases *out, const eval_cfg *c);
void eval_cases_free(eval_cases *cs);
void eval_case_free(eval_case *k);   /* one case's strings and results */

/* eval_shard.c: --shard K/N. eval_shard_parse stores "K/N" (an exit code,
 * the error printed). eval_shard_slice: cases [*first, *end) of `pairs`
 * make slice k of n (contiguous, sizes differing by at most one).
 * eval_shard_select keeps only this run's slice of cs, after recording the
 * whole list's hash and the options in c->shard (argv and spec: the
 * command line, to normalise the options). eval_shard_write_json writes
 * the part's "shard" member and a comma. */
struct cli_spec;
/* Bounds on N and P that keep K*P within int64 in eval_shard_slice. */
#define EVAL_SHARD_MAX 1000000
#define EVAL_SHARD_MAX_PAIRS ((int64_t)1 << 43)
int eval_shard_parse(eval_shard *s, const char *opt, const char *v);
void eval_shard_slice(int64_t pairs, int64_t k, int64_t n, int64_t *first, int64_t *end);
int eval_shard_select(eval_cases *cs, eval_cfg *c, const struct cli_spec *spec);
void eval_shard_write_json(FILE *f, const struct eval_cases *cs, const eval_cfg *c);
void eval_shard_free(eval_shard *s);

/* eval_regions.c: --regions and --ignore-label (the options' parsers, cfg->regions released
 * by eval_regions_free), the key that names a result's label or region in
 * the outputs (buf: at least 24 bytes), and the metrics of the regions (or,
 * with only --ignore-label, of the labels) of one case into a new array
 * *res of *n entries. */
int eval_set_regions(void *cfg, const char *name, const char *v);
/* Sorts v[0..n) ascending and drops repeats; returns the new count. */
int64_t eval_sort_unique(int64_t *v, int64_t n);
int eval_set_ignore(void *cfg, const char *name, const char *v);
void eval_regions_free(eval_cfg *c);
const char *eval_label_key(const eval_cfg *c, int64_t label, char *buf, size_t len);
segloss_status eval_regions_compute(segloss_label_metrics **res, int64_t *n,
                                    const segloss_label_set *set, const segloss_label_array *pa,
                                    const segloss_label_array *ra, const segloss_shape *shape,
                                    const segloss_metric_opts *o, const eval_cfg *c);

/* eval_case.c: evaluates one case into k (rc, err, warn, n, res).
 * label_threads: opts.threads for the per-label work. */
void eval_case_run(eval_case *k, const eval_cfg *c, int label_threads);

/* Appends "segloss: <formatted>\n" to *buf (a malloc'd string, may be NULL).
 * On out-of-memory the message is lost but *buf stays valid. */
void eval_msg(char **buf, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* eval_out.c */
typedef struct eval_stats {
    double mean, std, median;   /* NaN when n == 0 */
    int64_t n, n_nan;
} eval_stats;

/* Per-label summaries over the successful cases, and the mean over labels. */
typedef struct eval_summary {
    int64_t n_labels;
    int64_t *labels;             /* ascending */
    int64_t *cases;              /* per label: cases that report it */
    eval_stats *stats;           /* [label][metric], EM_COUNT per label */
    eval_stats over[EM_COUNT];   /* "mean": statistics of the per-label means */
} eval_summary;

int eval_summarize(eval_summary *s, const eval_cases *cs);   /* 0 or CLI_INTERNAL */
void eval_summary_free(eval_summary *s);

/* Writers; each returns 0, or -1 when the stream reports an error. */
int eval_write_table(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c);
int eval_write_json(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c);
int eval_write_csv(FILE *f, const eval_cases *cs, const eval_cfg *c);
/* The CSV's first line (column names), newline included. */
void eval_write_csv_header(FILE *f, const eval_cfg *c);
/* Shared with segloss merge, which recomputes summaries: statistics of
 * v[0..n) as the summary defines them (reorders v; -1 when out of memory);
 * a stats object as JSON; the shortest "%.{p}g" that reads back as v (the
 * form of every number in JSON and CSV); strings as JSON and CSV write them. */
int eval_stats_of(eval_stats *s, double *v, int64_t n);
void eval_json_stats(FILE *f, const eval_stats *st);
const char *eval_fmt_num(char *buf, size_t len, double v);
void eval_json_num(FILE *f, double v);     /* that form, or null when not finite */
void eval_json_str(FILE *f, const char *s);
void eval_csv_str(FILE *f, const char *s);
/* Nonzero when metric em (an EM_* index) is reported. */
int eval_metric_chosen(const eval_cfg *c, int em);
/* A score as the table prints it: 4 decimals, or "nan". Returns buf. */
const char *eval_fmt_score(char *buf, size_t len, double v);

/* eval_instances.c: the options group, the checks after parsing (0 or an
 * exit code, after the message), one case's instance results (0, or an
 * exit code with k->err set), and their outputs. */
typedef struct eval_inst {
    int64_t label;                   /* 0 with --instance-maps: every instance */
    segloss_instance_metrics m;
    int have_lw;
    segloss_lesionwise lw;
    segloss_instance_pair *rows;     /* with --instances-csv (with hd95) */
    int64_t n_rows;
} eval_inst;
extern const cli_opt eval_instance_opts[];
int eval_instances_check(eval_cfg *c);
int eval_instances_case(eval_case *k, const eval_cfg *c, const segloss_label_array *pa,
                        const segloss_label_array *ra, const segloss_shape *shape,
                        const double spacing[3]);
void eval_instances_free(eval_case *k);
void eval_instances_json(FILE *f, const eval_case *k);
int eval_instances_json_summary(FILE *f, const eval_cases *cs, const eval_cfg *c);
int eval_instances_table(FILE *f, const eval_cases *cs, const eval_cfg *c);
int eval_instances_write_csv(FILE *f, const void *cases);


/* eval_html.c: one self-contained HTML page (0, or -1 on a stream error or
 * out of memory). eval_write_html_as: the page segloss merge writes, with
 * the run's settings (the <dl> rows that eval_html_settings writes from the
 * options) and segloss version as the parts recorded them. */
int eval_write_html(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c);
int eval_write_html_as(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c,
                       const char *settings, const char *version);
void eval_html_settings(FILE *f, const eval_cfg *c);

#endif
