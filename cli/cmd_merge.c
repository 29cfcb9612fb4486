/* segloss merge PART.json... [--json FILE|-] [--csv FILE|-] [--html FILE|-]
 *
 * Joins the parts written by `segloss eval --shard K/N --json PART` into
 * the output one unsharded run would have written, byte for byte: the
 * cases of the parts in shard order (each copied as written), then the
 * summary recomputed from the per-case values exactly as eval computes it
 * (eval_stats_of, same order of the values, same number format).
 *
 * The summary is generic over metric names: the metrics are the members of
 * the parts' "summary"."mean" object, and the value of metric M for label L
 * in a case is the member M of the case's "labels"."L" (null = NaN). Labels
 * are ordered as eval orders them: by integer value (a label key that is
 * not an integer keeps the order in which the cases first name it). CSV
 * rows are the scalar members of each label object, in order, after pred,
 * ref and the label; the header is the one the parts recorded. The HTML
 * page is eval's, from the cases rebuilt (merge_cases.c).
 *
 * Before anything is written the parts must make one whole run: each a
 * well-formed part, all with the same segloss version, N, pair list (count
 * and hash), options and metrics, no shard twice, none missing (docs/scale.md).
 * Every problem is reported naming the parts; exit status 2. */
#include "commands.h"
#include "eval.h"
#include "json_read.h"
#include "merge.h"
#include "opts.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct merge_cfg {
    const char *json, *csv, *html;
    int quiet;
} merge_cfg;

#define C merge_cfg
static const cli_opt opts[] = {
    CLI_STR(C, NULL, "--json", "FILE|-", json,
            "write the merged JSON (- = stdout; the default\n"
            "when no output is given)"),
    CLI_STR(C, NULL, "--csv", "FILE|-", csv, "write the merged CSV (- = stdout)"),
    CLI_STR(C, NULL, "--html", "FILE|-", html,
            "write the HTML report one run writes; its\n"
            "command line: the parts' eval command without\n"
            "--shard and outputs, then --html FILE (- = stdout)"),
    CLI_FLAG(C, NULL, "--quiet", quiet, "no warnings (also -q)"),
    CLI_FLAG(C, NULL, "-q", quiet, NULL),
    CLI_END,
};
#undef C
static const cli_group groups[] = {{"Options", opts}};
static const cli_spec spec = {"merge", groups, 1, 16};

static void merge_usage(FILE *f) {
    fprintf(f, "Usage: segloss merge PART.json... [--json FILE|-] [--csv FILE|-] [--html FILE|-]\n"
               "\n"
               "Joins the parts written by 'segloss eval ... --shard K/N --json PART' (one\n"
               "per K = 0..N-1) into exactly the JSON, CSV and HTML page that one run over\n"
               "all the cases writes: cases in order, summaries recomputed from the cases.\n"
               "A missing or repeated shard, or parts of different runs (other options,\n"
               "other files) are errors that name the parts.\n");
    cli_print_options(f, &spec);
    fprintf(f, "\n"
               "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or inconsistent\n"
               "parts (also when a part's own run had failed cases: the outputs then\n"
               "hold the others), 3 internal error. Guide: docs/scale.md.\n");
}

/* One part, loaded and checked on its own. */
typedef struct part {
    const char *path;
    char *text;
    json_val root;
    const json_val *cases, *mean, *hash, *options, *version, *csv_header;
    int64_t k, n, pairs, first, end, failed;
} part;

static int oom(void) {
    cli_error("out of memory");
    return CLI_INTERNAL;
}

/* An integer member of the "shard" object, or -1 (reported) when absent. */
static int shard_int(const part *p, const json_val *shard, const char *key, int64_t *out) {
    const json_val *v = json_get(shard, key);
    char buf[32];
    if (v && v->kind == JSON_NUM && v->len < sizeof buf) {
        memcpy(buf, v->raw, v->len);
        buf[v->len] = '\0';
        if (!cli_parse_i64(buf, out) && *out >= 0) return 0;
    }
    cli_error("%s: malformed part: \"shard\" has no integer \"%s\"", p->path, key);
    return -1;
}

static const json_val *shard_str(const part *p, const json_val *shard, const char *key) {
    const json_val *v = json_get(shard, key);
    if (v && v->kind == JSON_STR) return v;
    cli_error("%s: malformed part: \"shard\" has no string \"%s\"", p->path, key);
    return NULL;
}

static int load_part(part *p) {
    size_t len = 0;
    int rc = json_read_file(p->path, &p->text, &len);
    if (rc) return rc;
    char err[128];
    int jr = json_parse(&p->root, p->text, len, err, sizeof err);
    if (jr == -2) return oom();
    if (jr) {
        cli_error("%s: not valid JSON (%s)", p->path, err);
        return CLI_INPUT;
    }
    const json_val *shard = json_get(&p->root, "shard");
    if (!shard || shard->kind != JSON_OBJ) {
        cli_error("%s: not a part of a sharded run (no \"shard\" member; parts are written by "
                  "'segloss eval ... --shard K/N --json PART')",
                  p->path);
        return CLI_INPUT;
    }
    if (shard_int(p, shard, "index", &p->k) || shard_int(p, shard, "count", &p->n) ||
        shard_int(p, shard, "pairs", &p->pairs) || shard_int(p, shard, "first", &p->first) ||
        shard_int(p, shard, "end", &p->end) || shard_int(p, shard, "failed", &p->failed) ||
        !(p->hash = shard_str(p, shard, "pairs_fnv1a")) ||
        !(p->options = shard_str(p, shard, "options")) ||
        !(p->version = shard_str(p, shard, "version")) ||
        !(p->csv_header = shard_str(p, shard, "csv_header")))
        return CLI_INPUT;
    p->cases = json_get(&p->root, "cases");
    p->mean = json_get(json_get(&p->root, "summary"), "mean");
    if (!p->cases || p->cases->kind != JSON_ARR || !p->mean || p->mean->kind != JSON_OBJ) {
        cli_error("%s: malformed part: no \"cases\" array or no \"summary\".\"mean\" object",
                  p->path);
        return CLI_INPUT;
    }
    int64_t first = -1, end = -1;
    int sane = p->n >= 1 && p->k < p->n && p->n <= EVAL_SHARD_MAX && p->pairs <= EVAL_SHARD_MAX_PAIRS;
    if (sane) eval_shard_slice(p->pairs, p->k, p->n, &first, &end);
    if (!sane || first != p->first || end != p->end ||
        (int64_t)p->cases->n + p->failed != end - first) {
        cli_error("%s: inconsistent part: shard %lld/%lld of %lld cases holds %lld cases and "
                  "%lld failed ones, for the slice [%lld, %lld)",
                  p->path, (long long)p->k, (long long)p->n, (long long)p->pairs,
                  (long long)p->cases->n, (long long)p->failed, (long long)p->first,
                  (long long)p->end);
        return CLI_INPUT;
    }
    for (size_t i = 0; i < p->cases->n; i++) {
        const json_val *labels = json_get(&p->cases->items[i], "labels");
        if (!labels || labels->kind != JSON_OBJ) {
            cli_error("%s: malformed part: case %zu has no \"labels\" object", p->path, i);
            return CLI_INPUT;
        }
    }
    return CLI_OK;
}

/* Two JSON_STR tokens printed in a message: their decoded text. */
static void differ(const part *a, const part *b, const char *what, const json_val *x,
                   const json_val *y) {
    char *s = json_str_dup(x), *t = json_str_dup(y);
    cli_error("merge: %s and %s come from different runs: %s '%s' vs '%s'", a->path, b->path,
              what, s ? s : "?", t ? t : "?");
    free(s);
    free(t);
}

static int same_keys(const json_val *a, const json_val *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!json_str_eq(&a->keys[i], &b->keys[i])) return 0;
    return 1;
}

static int cmp_part(const void *x, const void *y) {
    const part *a = x, *b = y;
    return (a->k > b->k) - (a->k < b->k);
}

/* The parts make one whole run (and are sorted by shard index). */
static int check_set(part *p, int np) {
    int bad = 0;
    for (int i = 1; i < np; i++) {
        const part *a = &p[0], *b = &p[i];
        if (!json_str_eq(a->version, b->version)) {
            differ(a, b, "segloss version", a->version, b->version);
            bad = 1;
        } else if (a->n != b->n) {
            cli_error("merge: %s is shard %lld/%lld but %s is shard %lld/%lld: the parts of "
                      "one run share N",
                      a->path, (long long)a->k, (long long)a->n, b->path, (long long)b->k,
                      (long long)b->n);
            bad = 1;
        } else if (a->pairs != b->pairs || !json_str_eq(a->hash, b->hash)) {
            char *x = json_str_dup(a->hash), *y = json_str_dup(b->hash);
            cli_error("merge: %s and %s come from different runs: case lists of %lld and %lld "
                      "cases (pair-list hash %s vs %s)",
                      a->path, b->path, (long long)a->pairs, (long long)b->pairs, x ? x : "?",
                      y ? y : "?");
            free(x);
            free(y);
            bad = 1;
        } else if (!json_str_eq(a->options, b->options)) {
            differ(a, b, "options", a->options, b->options);
            bad = 1;
        } else if (!json_str_eq(a->csv_header, b->csv_header) || !same_keys(a->mean, b->mean)) {
            cli_error("merge: %s and %s come from different runs: they report different metrics",
                      a->path, b->path);
            bad = 1;
        }
    }
    if (bad) return CLI_INPUT;
    qsort(p, (size_t)np, sizeof *p, cmp_part);
    for (int i = 1; i < np; i++)
        if (p[i].k == p[i - 1].k) {
            cli_error("merge: %s and %s are both shard %lld/%lld (a part given twice?)",
                      p[i - 1].path, p[i].path, (long long)p[i].k, (long long)p[i].n);
            bad = 1;
        }
    if (bad) return CLI_INPUT;
    if (np < p[0].n) {
        char list[512];
        size_t pos = 0;
        int64_t missing = 0;
        for (int64_t k = 0, i = 0; k < p[0].n; k++) {
            if (i < np && p[i].k == k) {
                i++;
                continue;
            }
            if (missing++ < 20 && pos < sizeof list)
                pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s%lld/%lld",
                                        missing > 1 ? ", " : "", (long long)k, (long long)p[0].n);
        }
        cli_error("merge: %lld of %lld parts missing: shard%s %s%s (given: %d parts, like %s)",
                  (long long)missing, (long long)p[0].n, missing == 1 ? "" : "s", list,
                  missing > 20 ? ", ..." : "", np, p[0].path);
        return CLI_INPUT;
    }
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* The summary, recomputed                                                  */
/* ---------------------------------------------------------------------- */
typedef struct label {
    const json_val *key;   /* the key token, as written */
    char *name;            /* decoded */
    int64_t num, seq;      /* integer value (when numeric), first appearance */
} label;

static int cmp_label_num(const void *x, const void *y) {
    const label *a = x, *b = y;
    if (a->num != b->num) return (a->num > b->num) - (a->num < b->num);
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_label_name(const void *x, const void *y) {
    const label *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_label_seq(const void *x, const void *y) {
    const label *a = x, *b = y;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

typedef struct merged {
    const part *p;
    int np;
    label *labels;
    int64_t n_labels, n_cases;
    const json_val *metrics;   /* "summary"."mean" of the first part: its keys */
    eval_stats *stats;         /* [label][metric] */
    eval_stats *over;          /* [metric] */
} merged;

/* The sorted, distinct labels of every case. */
static int collect_labels(merged *m) {
    int64_t total = 0, seq = 0;
    for (int i = 0; i < m->np; i++)
        for (size_t c = 0; c < m->p[i].cases->n; c++)
            total += (int64_t)json_get(&m->p[i].cases->items[c], "labels")->n;
    label *v = calloc((size_t)(total ? total : 1), sizeof *v);
    if (!v) return oom();
    m->labels = v;
    m->n_labels = total; /* names freed up to here, whatever happens */
    int numeric = 1;
    for (int i = 0; i < m->np; i++)
        for (size_t c = 0; c < m->p[i].cases->n; c++) {
            const json_val *labs = json_get(&m->p[i].cases->items[c], "labels");
            for (size_t j = 0; j < labs->n; j++, seq++) {
                label *l = &v[seq];
                l->key = &labs->keys[j];
                l->seq = seq;
                if (!(l->name = json_str_dup(l->key))) return oom();
                if (cli_parse_i64(l->name, &l->num)) numeric = 0;
            }
        }
    if (!total) return CLI_OK;
    qsort(v, (size_t)total, sizeof *v, numeric ? cmp_label_num : cmp_label_name);
    int64_t u = 0;
    for (int64_t i = 0; i < total; i++) {
        if (u > 0 && strcmp(v[u - 1].name, v[i].name) == 0) {
            free(v[i].name);
            continue;
        }
        v[u++] = v[i];
    }
    if (!numeric) qsort(v, (size_t)u, sizeof *v, cmp_label_seq);
    m->n_labels = u;
    return CLI_OK;
}

static int summarize(merged *m) {
    const int64_t nm = (int64_t)m->metrics->n, nl = m->n_labels;
    for (int i = 0; i < m->np; i++) m->n_cases += (int64_t)m->p[i].cases->n;
    int64_t nv = m->n_cases > nl ? m->n_cases : nl;
    double *vals = malloc((size_t)(nv ? nv : 1) * sizeof *vals);
    m->stats = calloc((size_t)(nl * nm > 0 ? nl * nm : 1), sizeof *m->stats);
    m->over = calloc((size_t)(nm ? nm : 1), sizeof *m->over);
    if (!vals || !m->stats || !m->over) {
        free(vals);
        return oom();
    }
    int rc = CLI_OK;
    for (int64_t l = 0; l < nl && !rc; l++)
        for (int64_t em = 0; em < nm && !rc; em++) {
            char *metric = json_str_dup(&m->metrics->keys[em]);
            if (!metric) {
                rc = oom();
                break;
            }
            int64_t n = 0;
            for (int i = 0; i < m->np && !rc; i++)
                for (size_t c = 0; c < m->p[i].cases->n; c++) {
                    const json_val *labs = json_get(&m->p[i].cases->items[c], "labels");
                    const json_val *r = json_get(labs, m->labels[l].name);
                    if (!r) continue;
                    if (json_number(json_get(r, metric), &vals[n++])) {
                        cli_error("%s: case %zu, label %s: \"%s\" is missing or not a number",
                                  m->p[i].path, c, m->labels[l].name, metric);
                        rc = CLI_INPUT;
                        break;
                    }
                }
            free(metric);
            if (!rc && eval_stats_of(&m->stats[l * nm + em], vals, n)) rc = oom();
        }
    for (int64_t em = 0; em < nm && !rc; em++) {
        for (int64_t l = 0; l < nl; l++) vals[l] = m->stats[l * nm + em].mean;
        if (eval_stats_of(&m->over[em], vals, nl)) rc = oom();
    }
    free(vals);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Writers                                                                  */
/* ---------------------------------------------------------------------- */
static void metric_stats(FILE *f, const merged *m, const eval_stats *per_metric) {
    fputc('{', f);
    for (size_t em = 0; em < m->metrics->n; em++) {
        if (em) fputc(',', f);
        fwrite(m->metrics->keys[em].raw, 1, m->metrics->keys[em].len, f);
        fputc(':', f);
        eval_json_stats(f, &per_metric[em]);
    }
    fputc('}', f);
}

static int write_json(FILE *f, const void *ctx) {
    const merged *m = ctx;
    fputs("{\"cases\":[", f);
    int first = 1;
    for (int i = 0; i < m->np; i++)
        for (size_t c = 0; c < m->p[i].cases->n; c++) {
            if (!first) fputc(',', f);
            first = 0;
            json_write_compact(f, &m->p[i].cases->items[c]);
        }
    fputs("],\"summary\":{", f);
    for (int64_t l = 0; l < m->n_labels; l++) {
        if (l) fputc(',', f);
        fwrite(m->labels[l].key->raw, 1, m->labels[l].key->len, f);
        fputc(':', f);
        metric_stats(f, m, &m->stats[l * (int64_t)m->metrics->n]);
    }
    fprintf(f, "%s\"mean\":", m->n_labels ? "," : "");
    metric_stats(f, m, m->over);
    fputs("}}\n", f);
    return ferror(f) ? -1 : 0;
}

/* A "pred"/"ref" member as eval's CSV writes it (null: empty field). */
static int csv_path(FILE *f, const json_val *v) {
    if (!v || v->kind == JSON_NULL) return 0;
    char *s = json_str_dup(v);
    if (!s) return -1;
    eval_csv_str(f, s);
    free(s);
    return 0;
}

static int write_csv(FILE *f, const void *ctx) {
    const merged *m = ctx;
    char *head = json_str_dup(m->p[0].csv_header);
    if (!head) return -1;
    fputs(head, f);
    free(head);
    for (int i = 0; i < m->np; i++)
        for (size_t c = 0; c < m->p[i].cases->n; c++) {
            const json_val *k = &m->p[i].cases->items[c];
            const json_val *labs = json_get(k, "labels");
            for (size_t j = 0; j < labs->n; j++) {
                const json_val *r = &labs->items[j];
                char *lab = json_str_dup(&labs->keys[j]);
                int bad = !lab || csv_path(f, json_get(k, "pred"));
                if (!bad) fputc(',', f);
                if (!bad) bad = csv_path(f, json_get(k, "ref"));
                if (!bad) {
                    fputc(',', f);
                    eval_csv_str(f, lab);
                }
                free(lab);
                if (bad) return -1;
                for (size_t q = 0; r->kind == JSON_OBJ && q < r->n; q++) {
                    const json_val *v = &r->items[q];
                    if (v->kind == JSON_OBJ || v->kind == JSON_ARR) continue;
                    fputc(',', f);
                    if (v->kind != JSON_NULL) fwrite(v->raw, 1, v->len, f);
                }
                fputc('\n', f);
            }
        }
    return ferror(f) ? -1 : 0;
}

static int write_outputs(const merge_cfg *c, const merged *m, const merge_page *pg) {
    cli_outputs o = {0};
    int rc = CLI_OK;
    const char *json = c->json || c->csv || c->html ? c->json : "-";
    if (json && strcmp(json, "-") != 0) rc = cli_stage_text(&o, json, write_json, m);
    if (!rc && c->csv && strcmp(c->csv, "-") != 0) rc = cli_stage_text(&o, c->csv, write_csv, m);
    if (!rc && c->html && strcmp(c->html, "-") != 0)
        rc = cli_stage_text(&o, c->html, merge_page_write, pg);
    if (!rc) rc = cli_commit(&o);
    cli_discard(&o);
    if (rc) return rc;
    int err = 0;
    if (json && strcmp(json, "-") == 0) err = write_json(stdout, m);
    else if (c->csv && strcmp(c->csv, "-") == 0) err = write_csv(stdout, m);
    else if (c->html && strcmp(c->html, "-") == 0) err = merge_page_write(stdout, pg);
    if (err || fflush(stdout) != 0) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return CLI_INPUT;
    }
    return CLI_OK;
}

/* The page: the parts and the labels' keys in order, for merge_cases.c. */
static int build_page(merge_page *pg, const merged *m, const char *html) {
    const char **paths = malloc((size_t)m->np * sizeof *paths);
    const json_val **roots = malloc((size_t)m->np * sizeof *roots);
    const json_val **keys = malloc((size_t)(m->n_labels ? m->n_labels : 1) * sizeof *keys);
    int rc = paths && roots && keys ? CLI_OK : oom();
    for (int i = 0; !rc && i < m->np; i++) {
        paths[i] = m->p[i].path;
        roots[i] = &m->p[i].root;
    }
    for (int64_t l = 0; !rc && l < m->n_labels; l++) keys[l] = m->labels[l].key;
    if (!rc) rc = merge_page_build(pg, paths, roots, m->np, keys, m->n_labels, m->metrics, html);
    free(paths);
    free(roots);
    pg->keys = NULL;
    free(keys);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The command                                                              */
/* ---------------------------------------------------------------------- */
/* Options go to cli_parse, the other arguments are the parts. */
static int parse_args(merge_cfg *c, int argc, char **argv, char ***parts, int *np) {
    char **opt = malloc((size_t)(argc + 1) * sizeof *opt);
    *parts = malloc((size_t)(argc + 1) * sizeof **parts);
    if (!opt || !*parts) {
        free(opt);
        return oom();
    }
    int no = 1;
    *np = 0;
    opt[0] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *inl;
        const cli_opt *o = cli_find(&spec, ~0u, argv[i], &inl);
        if (o || (argv[i][0] == '-' && argv[i][1] != '\0')) {
            opt[no++] = argv[i];
            if (o && o->metavar && !inl && i + 1 < argc) opt[no++] = argv[++i];
        } else {
            (*parts)[(*np)++] = argv[i];
        }
    }
    int rc = cli_parse(&spec, 1u, "merge", c, no, opt, 0);
    free(opt);
    if (rc) return rc;
    if (*np == 0) {
        cli_error("merge: no parts given");
        return cli_usage_error(&spec);
    }
    const char *const out[3] = {c->json, c->csv, c->html};
    static const char *const name[3] = {"--json", "--csv", "--html"};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (out[a] && out[b] && strcmp(out[a], out[b]) == 0) {
                if (strcmp(out[a], "-") == 0)
                    cli_error("merge: %s - and %s - both want standard output; pick one",
                              name[a], name[b]);
                else cli_error("merge: %s and %s name the same file", name[a], name[b]);
                return cli_usage_error(&spec);
            }
    return CLI_OK;
}

int cmd_merge(int argc, char **argv) {
    merge_cfg c = {0};
    if (cli_wants_help(argc, argv)) {
        merge_usage(stdout);
        return CLI_OK;
    }
    char **paths = NULL;
    int np = 0;
    int rc = parse_args(&c, argc, argv, &paths, &np);
    part *p = rc ? NULL : calloc((size_t)np, sizeof *p);
    if (!rc && !p) rc = oom();
    for (int i = 0; !rc && i < np; i++) {
        p[i].path = paths[i];
        rc = load_part(&p[i]);
    }
    if (!rc) rc = check_set(p, np);
    merged m = {p, np, NULL, 0, 0, p ? p[0].mean : NULL, NULL, NULL};
    if (!rc) rc = collect_labels(&m);
    if (!rc) rc = summarize(&m);
    merge_page pg;
    memset(&pg, 0, sizeof pg);
    if (!rc && c.html) rc = build_page(&pg, &m, c.html);
    if (!rc) rc = write_outputs(&c, &m, &pg);
    merge_page_free(&pg);
    int64_t failed = 0;
    for (int i = 0; !rc && i < np; i++)
        if (p[i].failed) {
            failed += p[i].failed;
            cli_error("merge: %s (shard %lld/%lld): %lld case%s failed in that run", p[i].path,
                      (long long)p[i].k, (long long)p[i].n, (long long)p[i].failed,
                      p[i].failed == 1 ? "" : "s");
        }
    if (!rc && failed) {
        cli_error("merge: %lld of %lld cases failed (listed above); the outputs hold the others",
                  (long long)failed, (long long)p[0].pairs);
        rc = CLI_INPUT;
    }
    for (int64_t l = 0; l < m.n_labels; l++) free(m.labels[l].name);
    free(m.labels);
    free(m.stats);
    free(m.over);
    for (int i = 0; p && i < np; i++) {
        json_free(&p[i].root);
        free(p[i].text);
    }
    free(p);
    free(paths);
    return rc;
}
