/* segloss eval --pred PATH --ref PATH [options]
 *
 * Segmentation metrics of predicted masks against reference masks: files
 * or directory trees of .png, .nii, .nii.gz and .npy label maps (or float
 * score maps for the prediction), per case and per label, then a summary.
 * The definitions are SPEC §4's, computed by the library
 * (segloss_label_scan, segloss_label_metrics_compute); docs/eval.md states
 * them and every choice made here.
 *
 * Flow: parse options -> pair files (eval_pairs.c) -> evaluate the cases in
 * parallel, each into its own slot (eval_case.c) -> summary and outputs
 * (eval_out.c). Results are collected by case index and written in case
 * order, so the output does not depend on --threads. Output files are
 * staged under temporary names and renamed only when the run succeeds
 * (all-or-nothing, cli_commit). */
#include "commands.h"
#include "eval.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Options                                                                  */
/* ---------------------------------------------------------------------- */
typedef struct eval_opt {
    const char *name;
    const char *metavar;  /* NULL: a flag */
    int (*apply)(eval_cfg *c, const char *name, const char *val);  /* 0 or exit code */
    const char *help;
} eval_opt;

static int bad_value(const char *name, const char *val, const char *expected) {
    cli_error("invalid value for %s: '%s' (expected %s)", name, val, expected);
    return CLI_USAGE;
}

static int set_pred(eval_cfg *c, const char *n, const char *v) { (void)n; c->pred = v; return 0; }
static int set_ref(eval_cfg *c, const char *n, const char *v) { (void)n; c->ref = v; return 0; }
static int set_json(eval_cfg *c, const char *n, const char *v) { (void)n; c->json = v; return 0; }
static int set_csv(eval_cfg *c, const char *n, const char *v) { (void)n; c->csv = v; return 0; }
static int set_quiet(eval_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->quiet = 1; return 0; }
static int set_keep(eval_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->keep_going = 1; return 0; }
static int set_missing(eval_cfg *c, const char *n, const char *v) { (void)n; (void)v; c->allow_missing = 1; return 0; }

static int set_threshold(eval_cfg *c, const char *n, const char *v) {
    c->have_threshold = 1;
    return cli_parse_double(v, n, &c->threshold) ? CLI_USAGE : 0;
}

static int set_scores(eval_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "probs") == 0) c->logits = 0;
    else if (strcmp(v, "logits") == 0) c->logits = 1;
    else return bad_value(n, v, "probs or logits");
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whole-string integer (optional sign, decimal). */
static int parse_i64(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *s == ' ' || *s == '\t' || *end != '\0' || errno == ERANGE) return -1;
    *out = (int64_t)v;
    return 0;
}

static int set_labels(eval_cfg *c, const char *n, const char *v) {
    free(c->labels);
    c->labels = NULL;
    c->n_labels = 0;
    c->labels_all = 0;
    if (strcmp(v, "all") == 0) {
        c->labels_all = 1;
        return 0;
    }
    int64_t count = 1;
    for (const char *p = v; *p; p++) count += *p == ',';
    c->labels = malloc((size_t)count * sizeof *c->labels);
    char *copy = malloc(strlen(v) + 1);
    if (!c->labels || !copy) {
        free(copy);
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    strcpy(copy, v);
    char *field = copy;
    for (int64_t k = 0; k < count; k++) {
        char *comma = strchr(field, ',');
        if (comma) *comma = '\0';
        int64_t lab;
        if (parse_i64(field, &lab)) {
            cli_error("invalid label for %s: '%s' (expected all, or integers like 1,2,3)", n,
                      field);
            free(copy);
            return CLI_USAGE;
        }
        if (lab == 0) {
            cli_error("%s: label 0 is the background and is not scored", n);
            free(copy);
            return CLI_USAGE;
        }
        c->labels[k] = lab;
        field = comma ? comma + 1 : field + strlen(field);
    }
    free(copy);
    qsort(c->labels, (size_t)count, sizeof *c->labels, cmp_i64);
    int64_t u = 0;
    for (int64_t k = 0; k < count; k++)
        if (u == 0 || c->labels[u - 1] != c->labels[k]) c->labels[u++] = c->labels[k];
    c->n_labels = u;
    return 0;
}

static int set_metrics(eval_cfg *c, const char *n, const char *v) {
    unsigned m = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0;
        if (len == 3 && strncmp(p, "all", 3) == 0) {
            m |= (1u << EM_COUNT) - 1u;
            found = 1;
        }
        for (int em = 0; em < EM_COUNT && !found; em++)
            if (strlen(eval_metric_names[em]) == len && strncmp(p, eval_metric_names[em], len) == 0) {
                m |= 1u << em;
                found = 1;
            }
        if (!found) {
            cli_error("invalid metric for %s: '%.*s' (expected dice, iou, precision, recall, "
                      "specificity, accuracy, vs, hd, hd95, assd, nsd or all)",
                      n, (int)len, p);
            return CLI_USAGE;
        }
        if (!comma) break;
        p = comma + 1;
    }
    c->metrics = m;
    return 0;
}

static int set_spacing(eval_cfg *c, const char *n, const char *v) {
    int count = 1;
    for (const char *p = v; *p; p++) count += *p == ',';
    if (count > 3) {
        cli_error("%s: %d values; eval compares 1-D, 2-D or 3-D images (at most 3)", n, count);
        return CLI_USAGE;
    }
    char buf[256];
    if (strlen(v) >= sizeof buf) return bad_value(n, v, "sx,sy[,sz]");
    strcpy(buf, v);
    char *field = buf;
    for (int k = 0; k < count; k++) {
        char *comma = strchr(field, ',');
        if (comma) *comma = '\0';
        if (cli_parse_double(field, n, &c->spacing[k])) return CLI_USAGE;
        if (!(c->spacing[k] > 0.0)) {
            cli_error("invalid value for %s: '%s' (spacings must be > 0)", n, field);
            return CLI_USAGE;
        }
        field = comma ? comma + 1 : field + strlen(field);
    }
    c->n_spacing = count;
    return 0;
}

static int set_tolerance(eval_cfg *c, const char *n, const char *v) {
    if (cli_parse_double(v, n, &c->mopts.tolerance)) return CLI_USAGE;
    if (!(c->mopts.tolerance >= 0.0)) return bad_value(n, v, "a number >= 0");
    c->mopts.custom_tolerance = 1;
    return 0;
}

static int set_percentile(eval_cfg *c, const char *n, const char *v) {
    if (cli_parse_double(v, n, &c->mopts.percentile)) return CLI_USAGE;
    if (!(c->mopts.percentile >= 0.0 && c->mopts.percentile <= 100.0))
        return bad_value(n, v, "a number in [0, 100]");
    c->mopts.custom_percentile = 1;
    return 0;
}

static int set_variant(eval_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "max") == 0) c->mopts.hd95_variant = SEGLOSS_HD95_MAX;
    else if (strcmp(v, "pooled") == 0) c->mopts.hd95_variant = SEGLOSS_HD95_POOLED;
    else return bad_value(n, v, "max or pooled");
    return 0;
}

static int set_empty_score(eval_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "nan") == 0) c->mopts.empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    else if (strcmp(v, "one") == 0) c->mopts.empty_score = SEGLOSS_EMPTY_SCORE_ONE;
    else if (strcmp(v, "zero") == 0) c->mopts.empty_score = SEGLOSS_EMPTY_SCORE_ZERO;
    else return bad_value(n, v, "nan, one or zero");
    return 0;
}

static int set_empty_distance(eval_cfg *c, const char *n, const char *v) {
    if (strcmp(v, "nan") == 0) c->mopts.empty_distance = SEGLOSS_EMPTY_DISTANCE_NAN;
    else if (strcmp(v, "diag") == 0) c->mopts.empty_distance = SEGLOSS_EMPTY_DISTANCE_DIAG;
    else return bad_value(n, v, "nan or diag");
    return 0;
}

static int set_threads(eval_cfg *c, const char *n, const char *v) {
    int64_t t;
    if (parse_i64(v, &t) || t < 0 || t > 4096)
        return bad_value(n, v, "a thread count, 0 = all cores");
    c->threads = (int)t;
    return 0;
}

/* N, or N with a binary suffix K, M, G, T (KiB...); 0 = no cap. */
static int set_max_bytes(eval_cfg *c, const char *n, const char *v) {
    return cli_parse_bytes(v, n, &c->max_bytes);
}

static const eval_opt opts[] = {
    {"--pred", "PATH", set_pred, "prediction: a file, or a directory (recursive)"},
    {"--ref", "PATH", set_ref,
     "reference: a file or directory; files pair up\n"
     "by relative name (.png .nii .nii.gz .npy)"},
    {"--labels", "all|L1,L2,...", set_labels,
     "labels to score; all (default): every nonzero\n"
     "label in either file of the case; a listed label\n"
     "absent from both files: zero counts, null scores"},
    {"--metrics", "LIST|all", set_metrics,
     "any of dice,iou,precision,recall,specificity,\n"
     "accuracy,vs,hd,hd95,assd,nsd (default: dice..vs;\n"
     "distances only when named, or with all)"},
    {"--scores", "probs|logits", set_scores,
     "a float prediction is a score map of probs\n"
     "(default) or logits, thresholded into label 1"},
    {"--threshold", "T", set_threshold,
     "foreground where score >= T, in the scores'\n"
     "units (default 0.5 for probs, 0 for logits)"},
    {"--spacing", "S0,S1[,S2]", set_spacing,
     "spacing per array axis, axis 0 first (PNG: rows;\n"
     "NIfTI: z,y,x); overrides the reference's"},
    {"--tolerance", "T", set_tolerance, "nsd tolerance, physical units (default 1)"},
    {"--hd95-variant", "max|pooled", set_variant,
     "max of the two directed percentiles (default,\n"
     "MONAI) or percentile of pooled distances (MedPy)"},
    {"--percentile", "P", set_percentile, "the percentile of hd95 (default 95)"},
    {"--empty-score", "nan|one|zero", set_empty_score,
     "value of a 0/0 overlap score (default nan)"},
    {"--empty-distance", "nan|diag", set_empty_distance,
     "hd, hd95, assd when exactly one mask is empty:\n"
     "nan (default) or the image diagonal"},
    {"--json", "FILE|-", set_json, "write JSON (- = stdout, instead of the table)"},
    {"--csv", "FILE|-", set_csv, "write CSV, a row per (case, label) (- = stdout)"},
    {"--threads", "N", set_threads, "cases in parallel (default 0 = all cores)"},
    {"--max-bytes", "N[K|M|G]", set_max_bytes,
     "cap on one decoded image (default 8G, or half\n"
     "the physical memory if less; 0 = no cap)"},
    {"--allow-missing", NULL, set_missing,
     "score a reference without prediction as an\n"
     "empty prediction"},
    {"--keep-going", NULL, set_keep,
     "on a bad case, go on with the others, write the\n"
     "outputs, list the failures last (exit status 2)"},
    {"--quiet", NULL, set_quiet, "no progress bar, no warnings (also -q)"},
};
#define NUM_OPTS (sizeof opts / sizeof opts[0])

static void print_opt(FILE *f, const char *name, const char *metavar, const char *help) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
    int first = 1;
    while (*help) {
        const char *nl = strchr(help, '\n');
        int len = nl ? (int)(nl - help) : (int)strlen(help);
        if (first && strlen(head) <= 24) fprintf(f, "  %-24s  %.*s\n", head, len, help);
        else if (first) fprintf(f, "  %s\n  %-24s  %.*s\n", head, "", len, help);
        else fprintf(f, "  %-24s  %.*s\n", "", len, help);
        first = 0;
        help = nl ? nl + 1 : help + len;
    }
}

static void eval_usage(FILE *f) {
    fprintf(f,
            "Usage: segloss eval --pred PATH --ref PATH [options]\n"
            "\n"
            "Scores predicted segmentations against references: confusion counts, Dice,\n"
            "IoU, ..., and surface distances (hd, hd95, assd, nsd) in physical units,\n"
            "per case and per label, then a summary per label (mean, std, median over\n"
            "the cases) and the mean over labels. PATHs are two files, or two\n"
            "directories whose files pair up by relative name.\n"
            "Formats: .png (8/16-bit grey, palette index), .nii/.nii.gz (spacing from\n"
            "pixdim), .npy. Integer/bool arrays are label maps (0 = background; a PNG\n"
            "saved as 0/255 has label 255); a float prediction is a score map.\n"
            "\n"
            "Options:\n");
    for (size_t k = 0; k < NUM_OPTS; k++)
        print_opt(f, opts[k].name, opts[k].metavar, opts[k].help);
    print_opt(f, "-h, --help", NULL, "this help");
    fprintf(f,
            "\n"
            "Options take their value as '--opt value' or '--opt=value'.\n"
            "Output: a table on stdout, unless --json - or --csv - prints that instead.\n"
            "NaN (an undefined score, e.g. Dice of two empty masks) is null in JSON,\n"
            "empty in CSV and nan in the table, and is left out of the means.\n"
            "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or missing file\n"
            "(the message names it), 3 internal error. On failure no output file is\n"
            "created or changed (with --keep-going the outputs hold the good cases).\n"
            "Definitions and differences from MedPy/MONAI: docs/eval.md.\n");
}

static int usage_error(void) {
    cli_error("try 'segloss eval --help'");
    return CLI_USAGE;
}

/* Returns 0 to run, -1 after --help, or an exit code. */
static int parse_args(eval_cfg *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    c->labels_all = 1;
    c->metrics = EM_OVERLAP_MASK;
    c->max_bytes = cli_default_max_bytes();
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            eval_usage(stdout);
            return -1;
        }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *inl = NULL;
        const eval_opt *o = NULL;
        for (size_t k = 0; k < NUM_OPTS && !o; k++)
            if (cli_match(arg, opts[k].name, &inl)) o = &opts[k];
        if (!o) {
            if (strcmp(arg, "-q") == 0) {
                c->quiet = 1;
                continue;
            }
            if (arg[0] == '-') cli_error("eval: unknown option '%s'", arg);
            else cli_error("eval: unexpected argument '%s'", arg);
            return usage_error();
        }
        const char *val = NULL;
        if (o->metavar) {
            val = cli_optarg(argc, argv, &i, o->name, inl);
            if (!val) return usage_error();
        } else if (inl) {
            cli_error("option %s takes no value", o->name);
            return usage_error();
        }
        int rc = o->apply(c, o->name, val);
        if (rc) return rc == CLI_USAGE ? usage_error() : rc;
    }
    if (!c->pred || !c->ref) {
        cli_error("eval: missing %s", !c->pred ? "--pred PATH" : "--ref PATH");
        return usage_error();
    }
    if (!c->have_threshold) c->threshold = c->logits ? 0.0 : 0.5;
    else if (!c->logits && !(c->threshold >= 0.0 && c->threshold <= 1.0)) {
        cli_error("eval: --threshold %g is not a probability; with --scores probs it must lie "
                  "in [0, 1] (use --scores logits for a logit threshold)",
                  c->threshold);
        return usage_error();
    }
    if (c->json && c->csv && strcmp(c->json, c->csv) == 0) {
        if (strcmp(c->json, "-") == 0)
            cli_error("eval: --json - and --csv - both want standard output; pick one");
        else cli_error("eval: --json and --csv name the same file '%s'", c->json);
        return usage_error();
    }
    if (c->threads == 0) c->threads = segloss_get_num_threads();
    if (c->threads < 1) c->threads = 1;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Running the cases                                                        */
/* ---------------------------------------------------------------------- */
static void progress(int64_t done, int64_t total) {
    static const char bar[] = "##############################";
    const int width = (int)sizeof bar - 1;
    int fill = (int)(done * width / (total ? total : 1));
    fprintf(stderr, "\rsegloss eval: [%.*s%*s] %lld/%lld", fill, bar, width - fill, "",
            (long long)done, (long long)total);
    if (done == total) fprintf(stderr, "\r%*s\r", width + 40, "");
    fflush(stderr);
}

/* Evaluates every case; without --keep-going, cases after the first failed
 * one (in case order) are skipped, while every case before it runs, so the
 * failure reported is the first in order whatever the thread count. */
static void run_cases(eval_cases *cs, const eval_cfg *c) {
    const int64_t n = cs->n;
    int ct = c->threads;
    if (ct > n) ct = (int)n;
    if (ct < 1) ct = 1;
    /* Cases in parallel, labels one thread each; a single case gets the
     * threads for its labels instead. */
    const int lt = ct > 1 ? 1 : c->threads;
    const int show = !c->quiet && isatty(STDERR_FILENO);
    int64_t stop = n, done = 0;
    if (show) progress(0, n);
#ifdef SEGLOSS_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(ct) if (ct > 1)
#endif
    for (int64_t i = 0; i < n; i++) {
        int64_t lim;
#ifdef SEGLOSS_OPENMP
#pragma omp atomic read
#endif
        lim = stop;
        if (i > lim) continue;
        eval_case_run(&cs->v[i], c, lt);
#ifdef SEGLOSS_OPENMP
#pragma omp critical(segloss_eval_progress)
#endif
        {
            if (cs->v[i].rc && !c->keep_going && i < stop) {
#ifdef SEGLOSS_OPENMP
#pragma omp atomic write
#endif
                stop = i;
            }
            done++;
            if (show) progress(done, n);
        }
    }
    if (show && done != n) progress(n, n); /* clear the bar */
}

/* ---------------------------------------------------------------------- */
/* Outputs                                                                  */
/* ---------------------------------------------------------------------- */
typedef enum { OUT_TABLE, OUT_JSON, OUT_CSV } out_kind;

static int write_kind(FILE *f, out_kind kind, const eval_cases *cs, const eval_summary *s,
                      const eval_cfg *c) {
    switch (kind) {
    case OUT_JSON: return eval_write_json(f, cs, s, c);
    case OUT_CSV: return eval_write_csv(f, cs, c);
    case OUT_TABLE: break;
    }
    return eval_write_table(f, cs, s, c);
}

/* One staged output: what write_staged writes with write_kind. */
typedef struct staged_text {
    out_kind kind;
    const eval_cases *cs;
    const eval_summary *s;
    const eval_cfg *c;
} staged_text;

static int write_staged(FILE *f, const void *ctx) {
    const staged_text *w = ctx;
    return write_kind(f, w->kind, w->cs, w->s, w->c);
}

/* Writes one output to a fresh temporary name next to `path` and records
 * it in `o`; cli_commit renames it into place, cli_discard removes it. */
static int stage_text(cli_outputs *o, const char *path, out_kind kind, const eval_cases *cs,
                      const eval_summary *s, const eval_cfg *c) {
    const staged_text w = {kind, cs, s, c};
    return cli_stage_text(o, path, write_staged, &w);
}

static int write_outputs(const eval_cases *cs, const eval_summary *s, const eval_cfg *c) {
    cli_outputs o = {0};
    int rc = CLI_OK;
    if (c->json && strcmp(c->json, "-") != 0)
        rc = stage_text(&o, c->json, OUT_JSON, cs, s, c);
    if (!rc && c->csv && strcmp(c->csv, "-") != 0) rc = stage_text(&o, c->csv, OUT_CSV, cs, s, c);
    if (!rc) rc = cli_commit(&o);
    cli_discard(&o);
    if (rc) return rc;
    out_kind kind = c->json && strcmp(c->json, "-") == 0  ? OUT_JSON
                    : c->csv && strcmp(c->csv, "-") == 0 ? OUT_CSV
                                                          : OUT_TABLE;
    if (write_kind(stdout, kind, cs, s, c) || fflush(stdout) != 0) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return CLI_INPUT;
    }
    return CLI_OK;
}

int cmd_eval(int argc, char **argv) {
    eval_cfg c;
    int rc = parse_args(&c, argc, argv);
    if (rc) {
        free(c.labels);
        return rc < 0 ? CLI_OK : rc;
    }
    eval_cases cs;
    rc = eval_pairs(&cs, &c);
    if (rc) {
        free(c.labels);
        return rc;
    }

    /* A file on one side only: without --keep-going, list them all and stop
     * before any evaluation. */
    int64_t unpaired = 0;
    for (int64_t i = 0; i < cs.n; i++) unpaired += cs.v[i].rc != 0;
    if (unpaired && !c.keep_going) {
        for (int64_t i = 0; i < cs.n; i++)
            if (cs.v[i].rc) fputs(cs.v[i].err, stderr);
        cli_error("eval: %lld file%s without a counterpart; nothing evaluated",
                  (long long)unpaired, unpaired == 1 ? "" : "s");
        eval_cases_free(&cs);
        free(c.labels);
        return CLI_INPUT;
    }

    run_cases(&cs, &c);

    int64_t first_fail = -1, failed = 0;
    for (int64_t i = 0; i < cs.n; i++)
        if (cs.v[i].rc) {
            failed++;
            if (first_fail < 0) first_fail = i;
        }
    if (first_fail >= 0 && !c.keep_going) {
        if (cs.v[first_fail].err) fputs(cs.v[first_fail].err, stderr);
        rc = cs.v[first_fail].rc;
        eval_cases_free(&cs);
        free(c.labels);
        return rc;
    }
    if (!c.quiet)
        for (int64_t i = 0; i < cs.n; i++)
            if (!cs.v[i].rc && cs.v[i].warn) fputs(cs.v[i].warn, stderr);

    eval_summary s;
    rc = eval_summarize(&s, &cs);
    if (!rc) rc = write_outputs(&cs, &s, &c);
    if (!rc && failed) {
        for (int64_t i = 0; i < cs.n; i++)
            if (cs.v[i].rc && cs.v[i].err) fputs(cs.v[i].err, stderr);
        cli_error("eval: %lld of %lld case%s failed (listed above); the outputs hold the "
                  "others",
                  (long long)failed, (long long)cs.n, cs.n == 1 ? "" : "s");
        rc = cs.v[first_fail].rc;
    }
    eval_summary_free(&s);
    eval_cases_free(&cs);
    free(c.labels);
    return rc;
}
