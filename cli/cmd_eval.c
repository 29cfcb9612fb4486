/* segloss eval --pred PATH --ref PATH [options]
 *
 * Segmentation metrics of predicted masks against reference masks: files
 * or directory trees of .png, .nii, .nii.gz and .npy label maps (or float
 * score maps for the prediction), per case and per label, then a summary.
 * The metrics are computed by the library
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
#include "opts.h"
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
typedef struct list_ctx {
    eval_cfg *c;
    const char *opt;
} list_ctx;

static int one_label(void *ctx, const char *field, int64_t k) {
    const list_ctx *l = ctx;
    int64_t lab;
    if (cli_parse_i64(field, &lab)) {
        cli_error("invalid label for %s: '%s' (expected all, or integers like 1,2,3)", l->opt,
                  field);
        return CLI_USAGE;
    }
    if (lab == 0) {
        cli_error("%s: label 0 is the background and is not scored", l->opt);
        return CLI_USAGE;
    }
    l->c->labels[k] = lab;
    return 0;
}

static int set_labels(void *cfg, const char *n, const char *v) {
    eval_cfg *c = cfg;
    free(c->labels);
    c->labels = NULL;
    c->n_labels = 0;
    c->labels_all = 0;
    if (strcmp(v, "all") == 0) {
        c->labels_all = 1;
        return 0;
    }
    int64_t count = cli_list_count(v);
    if (!(c->labels = malloc((size_t)count * sizeof *c->labels))) {
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    list_ctx l = {c, n};
    int rc = cli_list_each(v, one_label, &l);
    if (rc) return rc;
    c->n_labels = eval_sort_unique(c->labels, count);
    return 0;
}

static int one_metric(void *ctx, const char *field, int64_t k) {
    const list_ctx *l = ctx;
    (void)k;
    if (strcmp(field, "all") == 0) {
        l->c->metrics |= EM_ALL_MASK;
        return 0;
    }
    for (int em = 0; em < EM_COUNT; em++)
        if (strcmp(field, eval_metric_names[em]) == 0) {
            l->c->metrics |= EM_BIT(em);
            return 0;
        }
    char names[1024];
    size_t pos = 0;
    for (int em = 0; em < EM_COUNT && pos < sizeof names; em++)
        pos += (size_t)snprintf(names + pos, sizeof names - pos, "%s, ", eval_metric_names[em]);
    cli_error("invalid metric for %s: '%s' (expected any of %sor all)", l->opt, field, names);
    return CLI_USAGE;
}

static int set_metrics(void *cfg, const char *n, const char *v) {
    eval_cfg *c = cfg;
    list_ctx l = {c, n};
    c->metrics = 0;
    return cli_list_each(v, one_metric, &l);
}

static int set_spacing(void *cfg, const char *n, const char *v) {
    static const cli_range spacing_range = {0.0, HUGE_VAL, 1, "spacings must be > 0"};
    eval_cfg *c = cfg;
    int64_t count = cli_list_count(v);
    if (count > 3) {
        cli_error("%s: %lld values; eval compares 1-D, 2-D or 3-D images (at most 3)", n,
                  (long long)count);
        return CLI_USAGE;
    }
    int rc = cli_list_numbers(v, n, &spacing_range, c->spacing);
    if (!rc) c->n_spacing = (int)count;
    return rc;
}

/* The list "a, b or c" of the convention names. */
static void convention_names(char *buf, size_t size) {
    size_t pos = 0;
    buf[0] = '\0';
    for (int k = 0; segloss_convention_name(k) && pos < size; k++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%s",
                                k == 0 ? "" : segloss_convention_name(k + 1) ? ", " : " or ",
                                segloss_convention_name(k));
}

/* parse_args applies the convention before the other options (so that
 * each single option overrides its choice wherever it stands); this only
 * checks the name and keeps it for the shard fingerprint. */
static int set_convention(void *cfg, const char *n, const char *v) {
    segloss_metric_opts scratch = segloss_metric_opts_default();
    if (segloss_metric_opts_convention(&scratch, v) != SEGLOSS_OK) {
        char names[256];
        convention_names(names, sizeof names);
        cli_error("invalid value for %s: '%s' (expected %s)", n, v, names);
        return CLI_USAGE;
    }
    ((eval_cfg *)cfg)->convention = v;
    return 0;
}

/* The value of the last --convention on the command line, NULL if none. */
static const char *find_convention(int argc, char **argv) {
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--convention") == 0 && i + 1 < argc) name = argv[++i];
        else if (strncmp(argv[i], "--convention=", 13) == 0) name = argv[i] + 13;
    }
    return name;
}

static int set_shard(void *cfg, const char *n, const char *v) {
    return eval_shard_parse(&((eval_cfg *)cfg)->shard, n, v);
}

static const cli_choice scores[] = {{"probs", 0}, {"logits", 1}, {NULL, 0}};
static const cli_choice variants[] = {
    {"max", SEGLOSS_HD95_MAX}, {"pooled", SEGLOSS_HD95_POOLED}, {NULL, 0}};
static const cli_choice empty_scores[] = {{"nan", SEGLOSS_EMPTY_SCORE_NAN},
                                          {"one", SEGLOSS_EMPTY_SCORE_ONE},
                                          {"zero", SEGLOSS_EMPTY_SCORE_ZERO},
                                          {NULL, 0}};
static const cli_choice empty_distances[] = {
    {"nan", SEGLOSS_EMPTY_DISTANCE_NAN}, {"diag", SEGLOSS_EMPTY_DISTANCE_DIAG}, {NULL, 0}};
static const cli_choice surfaces[] = {
    {"voxel", SEGLOSS_SURFACE_VOXEL}, {"surfel", SEGLOSS_SURFACE_SURFEL}, {NULL, 0}};
static const cli_range tolerance_range = {0.0, HUGE_VAL, 0, "expected a number >= 0"};
static const cli_range percentile_range = {0.0, 100.0, 0, "expected a number in [0, 100]"};
static const cli_range beta_range = {0.0, HUGE_VAL, 1, "expected a number > 0"};
static const cli_range width_range = {0.0, HUGE_VAL, 1, "expected a number > 0"};
static const cli_range threads_range = {0.0, 4096.0, 0, "expected a thread count, 0 = all cores"};

#define C eval_cfg
static const cli_opt opts[] = {
    CLI_STR(C, NULL, "--pred", "PATH", pred, "prediction: a file, or a directory (recursive)"),
    CLI_STR(C, NULL, "--ref", "PATH", ref,
            "reference: a file or directory; files pair up\n"
            "by relative name (.png .nii .nii.gz .npy)"),
    CLI_CALL("--labels", "all|L1,L2,...", set_labels,
             "labels to score; all (default): every nonzero\n"
             "label in either file of the case; a listed label\n"
             "absent from both files: zero counts, null scores"),
    CLI_CALL("--regions", "L,L,..;L,..", eval_set_regions,
             "score unions of labels instead of labels (nnU-Net\n"
             "regions, e.g. BraTS \"1,2,3;2,3;3\"), each keyed\n"
             "by its labels ascending, e.g. \"1,2,3\""),
    CLI_CALL("--ignore-label", "L", eval_set_ignore,
            "leave the voxels whose reference is L out of\n"
            "every count and distance (nnU-Net)"),
    CLI_CALL("--metrics", "LIST|all", set_metrics,
             "any of dice,iou,precision,recall,specificity,\n"
             "accuracy,vs,hd,hd95,assd,nsd,mcc,kappa,fbeta,\n"
             "balanced_accuracy,youden,npv,fpr,fnr,fdr,for,\n"
             "lr_pos,lr_neg,vol_pred,vol_ref,vol_diff,masd,\n"
             "sd_median,sd_std,boundary_iou,com_dist,gce,ri,\n"
             "ari,mi,voi,icc,pbd,mahalanobis,auc,cldice\n"
             "(default: dice..vs; the others only when named,\n"
             "or with all)"),
    CLI_CHOICE(C, "--scores", "probs|logits", logits, scores,
               "a float prediction is a score map of probs\n"
               "(default) or logits, thresholded into label 1"),
    CLI_NUM(C, "--threshold", "T", threshold, CLI_GIVEN(C, have_threshold), NULL,
            "foreground where score >= T, in the scores'\n"
            "units (default 0.5 for probs, 0 for logits)"),
    CLI_CALL("--spacing", "S0,S1[,S2]", set_spacing,
             "spacing per array axis, axis 0 first (PNG: rows;\n"
             "NIfTI: z,y,x); overrides the reference's"),
    CLI_NUM(C, "--tolerance", "T", mopts.tolerance, 0, &tolerance_range,
            "nsd tolerance, physical units (default 1)"),
    CLI_CHOICE(C, "--hd95-variant", "max|pooled", mopts.hd95_variant, variants,
               "max of the two directed percentiles (default,\n"
               "MONAI) or percentile of pooled distances (MedPy)"),
    CLI_CHOICE(C, "--surface", "voxel|surfel", mopts.surface, surfaces,
               "distances between surface voxels (default) or\n"
               "DeepMind surface-distance's area-weighted surfels\n"
               "(2-D and 3-D images)"),
    CLI_NUM(C, "--percentile", "P", mopts.percentile, 0, &percentile_range,
            "the percentile of hd95 (default 95)"),
    CLI_NUM(C, "--beta", "B", mopts.beta, 0, &beta_range, "fbeta's beta (default 1)"),
    CLI_NUM(C, "--boundary-width", "W", mopts.boundary_width, 0, &width_range,
            "boundary_iou: voxels closer than W (physical\n"
            "units) to their mask's surface (default 1)"),
    CLI_CALL("--convention", "NAME", set_convention,
             "every choice as a tool makes it, so that each\n"
             "metric it has equals its value: segloss\n"
             "(default), medpy, monai, deepmind,\n"
             "metricsreloaded, nnunet, evaluatesegmentation;\n"
             "single options override it wherever they stand\n"
             "(docs/metrics.md, Conventions)"),
    {NULL, "--empty-score", "nan|one|zero", CLI_ARG_CHOICE, CLI_AT(C, mopts.empty_score, int),
     CLI_GIVEN(C, empty_given), empty_scores,  NULL,
     "value of a 0/0 overlap score (default nan;\n"
     "replaces a convention's empty-mask values)"},
    {NULL, "--empty-distance", "nan|diag", CLI_ARG_CHOICE, CLI_AT(C, mopts.empty_distance, int),
     CLI_GIVEN(C, empty_given), empty_distances, NULL,
     "hd, hd95, assd when exactly one mask is empty:\n"
     "nan (default) or the image diagonal (replaces\n"
     "a convention's empty-mask values)"},
    CLI_STR(C, NULL, "--json", "FILE|-", json, "write JSON (- = stdout, instead of the table)"),
    CLI_STR(C, NULL, "--csv", "FILE|-", csv, "write CSV, a row per (case, label) (- = stdout)"),
    CLI_STR(C, NULL, "--html", "FILE|-", html,
            "write a self-contained HTML report: summary,\n"
            "plots, worst cases, sortable table (- = stdout)"),
    CLI_CALL("--shard", "K/N", set_shard,
             "evaluate only slice K of N of the sorted case\n"
             "list (0-based K); the --json output is a part\n"
             "for 'segloss merge' (docs/scale.md)"),
    CLI_INT(C, "--threads", "N", threads, &threads_range,
            "cases in parallel (default 0 = all cores)"),
    CLI_BYTES(C, "--max-bytes", "N[K|M|G]", max_bytes,
              "cap on one decoded image (default 8G, or half\n"
              "the physical memory if less; 0 = no cap)"),
    CLI_FLAG(C, NULL, "--allow-missing", allow_missing,
             "score a reference without prediction as an\n"
             "empty prediction"),
    CLI_FLAG(C, NULL, "--keep-going", keep_going,
             "on a bad case, go on with the others, write the\n"
             "outputs, list the failures last (exit status 2)"),
    CLI_FLAG(C, NULL, "--quiet", quiet, "no progress bar, no warnings (also -q)"),
    CLI_FLAG(C, NULL, "-q", quiet, NULL), /* not in the help: --quiet mentions it */
    CLI_END,
};
#undef C

static const cli_group groups[] = {{"Options", opts}, {"Instances", eval_instance_opts}};
static const cli_spec spec = {"eval", groups, 2, 24};

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
            "saved as 0/255 has label 255); a float prediction is a score map.\n");
    cli_print_options(f, &spec);
    fprintf(f,
            "\n"
            "Options take their value as '--opt value' or '--opt=value'.\n"
            "Output: a table on stdout, unless --json -, --csv - or --html - prints that\n"
            "instead.\n"
            "NaN (an undefined score, e.g. Dice of two empty masks) is null in JSON,\n"
            "empty in CSV and nan in the table, and is left out of the means.\n"
            "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or missing file\n"
            "(the message names it), 3 internal error. On failure no output file is\n"
            "created or changed (with --keep-going the outputs hold the good cases).\n"
            "Definitions and differences from MedPy/MONAI: docs/eval.md (instances:\n"
            "docs/instances.md).\n");
}

/* Returns 0 to run, -1 after --help, or an exit code. */
static int parse_args(eval_cfg *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    c->mopts = segloss_metric_opts_default();
    c->labels_all = 1;
    c->metrics = EM_OVERLAP_MASK;
    c->max_bytes = cli_default_max_bytes();
    if (cli_wants_help(argc, argv)) {
        eval_usage(stdout);
        return -1;
    }
    c->inst.opts = segloss_instance_opts_default();
    const char *conv = find_convention(argc, argv);
    if (conv) (void)segloss_metric_opts_convention(&c->mopts, conv); /* a bad name: below */
    int rc = cli_parse(&spec, 3u, "eval", c, argc, argv, 0);
    if (rc) return rc;
    /* an explicit empty rule replaces the convention's per-metric values */
    if (c->empty_given) c->mopts.convention = SEGLOSS_CONVENTION_SEGLOSS;
    if (!c->pred || !c->ref) {
        cli_error("eval: missing %s", !c->pred ? "--pred PATH" : "--ref PATH");
        return cli_usage_error(&spec);
    }
    if (c->n_regions && !c->labels_all) {
        cli_error("eval: --regions and --labels both choose what is scored; give one");
        return cli_usage_error(&spec);
    }
    if (!c->have_threshold) c->threshold = c->logits ? 0.0 : 0.5;
    else if (!c->logits && !(c->threshold >= 0.0 && c->threshold <= 1.0)) {
        cli_error("eval: --threshold %g is not a probability; with --scores probs it must lie "
                  "in [0, 1] (use --scores logits for a logit threshold)",
                  c->threshold);
        return cli_usage_error(&spec);
    }
    if (c->shard.n && !c->json) {
        cli_error("eval: --shard %lld/%lld writes a part for 'segloss merge'; give --json FILE",
                  (long long)c->shard.k, (long long)c->shard.n);
        return cli_usage_error(&spec);
    }
    const char *const out[3] = {c->json, c->csv, c->html};
    static const char *const out_opt[3] = {"--json", "--csv", "--html"};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            if (!out[a] || !out[b] || strcmp(out[a], out[b]) != 0) continue;
            if (strcmp(out[a], "-") == 0)
                cli_error("eval: %s - and %s - both want standard output; pick one", out_opt[a],
                          out_opt[b]);
            else cli_error("eval: %s and %s name the same file '%s'", out_opt[a], out_opt[b], out[a]);
            return cli_usage_error(&spec);
        }
    if (eval_instances_check(c)) return cli_usage_error(&spec);
    c->argc = argc;
    c->argv = argv;
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

/* Case i, unless an earlier case has failed (*stop: the first failed
 * case, without --keep-going); then the progress. */
static void run_case(eval_cases *cs, const eval_cfg *c, int64_t i, int lt, int64_t *stop,
                     int64_t *done, int show) {
    int64_t lim;
#ifdef SEGLOSS_OPENMP
#pragma omp atomic read
#endif
    lim = *stop;
    if (i > lim) return;
    eval_case_run(&cs->v[i], c, lt);
#ifdef SEGLOSS_OPENMP
#pragma omp critical(segloss_eval_progress)
#endif
    {
        if (cs->v[i].rc && !c->keep_going && i < *stop) {
#ifdef SEGLOSS_OPENMP
#pragma omp atomic write
#endif
            *stop = i;
        }
        (*done)++;
        if (show) progress(*done, cs->n);
    }
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
     * threads for its labels and its label scan instead (the scan takes
     * the library setting: inside a case-parallel loop it runs on the
     * case's thread). One case at a time runs outside any parallel region:
     * inside one, even a region of one thread, every parallel region of
     * the case would be nested, and OpenMP (libgomp) starts and ends fresh
     * threads for each nested region instead of reusing its pool
     * (0.05-0.4 ms a region here, docs/benchmarks-eval.md). */
    const int lt = ct > 1 ? 1 : c->threads;
    segloss_set_num_threads(c->threads);
    const int show = !c->quiet && isatty(STDERR_FILENO);
    int64_t stop = n, done = 0;
    if (show) progress(0, n);
    if (ct > 1) {
#ifdef SEGLOSS_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(ct)
#endif
        for (int64_t i = 0; i < n; i++) run_case(cs, c, i, lt, &stop, &done, show);
    } else {
        for (int64_t i = 0; i < n; i++) run_case(cs, c, i, lt, &stop, &done, show);
    }
    if (show && done != n) progress(n, n); /* clear the bar */
}

/* ---------------------------------------------------------------------- */
/* Outputs                                                                  */
/* ---------------------------------------------------------------------- */
typedef enum { OUT_TABLE, OUT_JSON, OUT_CSV, OUT_HTML } out_kind;

static int write_kind(FILE *f, out_kind kind, const eval_cases *cs, const eval_summary *s,
                      const eval_cfg *c) {
    switch (kind) {
    case OUT_JSON: return eval_write_json(f, cs, s, c);
    case OUT_CSV: return eval_write_csv(f, cs, c);
    case OUT_HTML: return eval_write_html(f, cs, s, c);
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
    if (!rc && c->html && strcmp(c->html, "-") != 0)
        rc = stage_text(&o, c->html, OUT_HTML, cs, s, c);
    if (!rc && c->inst.csv && strcmp(c->inst.csv, "-") != 0)
        rc = cli_stage_text(&o, c->inst.csv, eval_instances_write_csv, cs);
    if (!rc) rc = cli_commit(&o);
    cli_discard(&o);
    if (rc) return rc;
    out_kind kind = c->json && strcmp(c->json, "-") == 0  ? OUT_JSON
                    : c->csv && strcmp(c->csv, "-") == 0  ? OUT_CSV
                    : c->html && strcmp(c->html, "-") == 0 ? OUT_HTML
                                                           : OUT_TABLE;
    int bad = c->inst.csv && strcmp(c->inst.csv, "-") == 0 ? eval_instances_write_csv(stdout, cs)
                                                           : write_kind(stdout, kind, cs, s, c);
    if (bad || fflush(stdout) != 0) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return CLI_INPUT;
    }
    return CLI_OK;
}

static void eval_cfg_free(eval_cfg *c) {
    free(c->labels);
    eval_regions_free(c);
}

int cmd_eval(int argc, char **argv) {
    eval_cfg c;
    int rc = parse_args(&c, argc, argv);
    if (rc) {
        eval_cfg_free(&c);
        return rc < 0 ? CLI_OK : rc;
    }
    eval_cases cs;
    rc = eval_pairs(&cs, &c);
    if (rc) {
        eval_cfg_free(&c);
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
        eval_cfg_free(&c);
        return CLI_INPUT;
    }
    if (c.shard.n && (rc = eval_shard_select(&cs, &c, &spec)) != 0) {
        eval_shard_free(&c.shard);
        eval_cases_free(&cs);
        free(c.labels);
        return rc;
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
        eval_shard_free(&c.shard);
        eval_cases_free(&cs);
        eval_cfg_free(&c);
        return rc;
    }
    c.shard.failed = failed;
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
    eval_shard_free(&c.shard);
    eval_cases_free(&cs);
    eval_cfg_free(&c);
    return rc;
}
