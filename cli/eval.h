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

/* The scores `--metrics` can pick, in output order. */
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
    EM_COUNT
} eval_metric;

#define EM_OVERLAP_MASK ((1u << EM_HD) - 1u)               /* dice .. vs */
#define EM_DISTANCE_MASK (((1u << EM_COUNT) - 1u) & ~EM_OVERLAP_MASK)

extern const char *const eval_metric_names[EM_COUNT];

/* The value of metric `m` in a result. */
double eval_metric_value(const segloss_label_metrics *r, eval_metric m);

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

typedef struct eval_cfg {
    const char *pred, *ref;          /* as given */
    int labels_all;                  /* 1: every label present in the case */
    int64_t *labels;                 /* else: this list, ascending, no repeats */
    int64_t n_labels;
    int logits;                      /* --scores logits */
    int have_threshold;              /* --threshold given */
    double threshold;                /* in the scores' own units */
    unsigned metrics;                /* bit per eval_metric */
    int n_spacing;                   /* 0: spacing from the files */
    double spacing[3];
    segloss_metric_opts mopts;       /* percentile, tolerance, variant, empty rules */
    const char *json, *csv, *html;   /* NULL, "-" or a file name */
    int threads;                     /* >= 1 */
    int quiet, keep_going, allow_missing;
    size_t max_bytes;                /* cap per decoded image (0: none) */
    eval_inst_cfg inst;
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

/* eval_out.c's number and string writers, for eval_instances.c. */
void eval_json_num(FILE *f, double v);
void eval_csv_str(FILE *f, const char *s);
const char *eval_num(char *buf, size_t len, double v);

/* eval_html.c: one self-contained HTML page (0, or -1 on a stream error or
 * out of memory). */
int eval_write_html(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c);

#endif
