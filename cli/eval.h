/* segloss eval — private declarations shared by cmd_eval.c (options and
 * the run), eval_pairs.c (which files are compared with which),
 * eval_case.c (one case: read, check, threshold, score) and eval_out.c
 * (table, JSON, CSV, summary). Nothing here is part of the library. */
#ifndef SEGLOSS_CLI_EVAL_H
#define SEGLOSS_CLI_EVAL_H

#include <segloss.h>

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
} eval_shard;

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
void eval_shard_write_json(FILE *f, const eval_cfg *c);
void eval_shard_free(eval_shard *s);

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
void eval_json_str(FILE *f, const char *s);
void eval_csv_str(FILE *f, const char *s);
/* Nonzero when metric em (an EM_* index) is reported. */
int eval_metric_chosen(const eval_cfg *c, int em);
/* A score as the table prints it: 4 decimals, or "nan". Returns buf. */
const char *eval_fmt_score(char *buf, size_t len, double v);

/* eval_html.c: one self-contained HTML page (0, or -1 on a stream error or
 * out of memory). */
int eval_write_html(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c);

#endif
