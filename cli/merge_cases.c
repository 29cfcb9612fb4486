/* segloss merge --html: the page one unsharded `segloss eval --html` run
 * writes, rebuilt from the parts.
 *
 * The parts' cases become eval_cases again, in shard order, failed cases
 * (the part's "shard"."failures") at their places with their messages, so
 * that eval_html.c writes the page from the same data as in one run: each
 * label object's counts (tp, fp, fn, tn) and metric values (null = NaN),
 * set through eval_metric_set. Labels (or --regions keys) are numbered in
 * merge's label order, which is eval's, and named by their keys. What the
 * page takes from the options comes from the parts as eval wrote it: the
 * settings rows ("html_settings"), the segloss version, and the command
 * line ("command": the eval command without --shard and the outputs),
 * followed by --html FILE as given to merge. */
#include "merge.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int malformed(const char *path, const char *what) {
    cli_error("%s: %s (a part written by an earlier segloss cannot make a page: rerun "
              "the shards with this segloss)",
              path, what);
    return CLI_INPUT;
}

static int oom(void) {
    cli_error("out of memory");
    return CLI_INTERNAL;
}

/* The command line: the parts' eval command, then --html FILE. */
static int set_command(merge_page *pg, const char *path, const json_val *cmd, const char *html) {
    if (!cmd || cmd->kind != JSON_ARR || cmd->n < 1)
        return malformed(path, "no \"shard\".\"command\" array");
    pg->argv = calloc(cmd->n + 2, sizeof *pg->argv);
    if (!pg->argv) return oom();
    for (size_t i = 0; i < cmd->n; i++) {
        if (cmd->items[i].kind != JSON_STR) return malformed(path, "\"command\" holds a non-string");
        if (!(pg->argv[pg->argc++] = json_str_dup(&cmd->items[i]))) return oom();
    }
    if (!(pg->argv[pg->argc++] = strdup("--html")) || !(pg->argv[pg->argc++] = strdup(html)))
        return oom();
    pg->c.argc = pg->argc;
    pg->c.argv = pg->argv;
    return CLI_OK;
}

/* One label object of a case into r. */
static int one_label(const merge_page *pg, const char *path, size_t c, segloss_label_metrics *r,
                     const json_val *key, const json_val *obj) {
    static const char *const counts[4] = {"tp", "fp", "fn", "tn"};
    int64_t *conf[4] = {&r->stats.conf.tp, &r->stats.conf.fp, &r->stats.conf.fn, &r->stats.conf.tn};
    r->stats.label = -1;
    for (int64_t l = 0; l < pg->c.n_regions; l++)
        if (json_str_eq(key, pg->keys[l])) r->stats.label = l;
    for (int em = 0; em < EM_COUNT; em++) eval_metric_set(r, (eval_metric)em, NAN);
    double v;
    for (int q = 0; q < 4; q++) {
        if (json_number(json_get(obj, counts[q]), &v) || !(v >= 0)) {
            cli_error("%s: case %zu: \"%s\" is missing or not a count", path, c, counts[q]);
            return CLI_INPUT;
        }
        *conf[q] = (int64_t)v;
    }
    for (int em = 0; em < EM_COUNT; em++) {
        if (!eval_metric_chosen(&pg->c, em)) continue;
        if (json_number(json_get(obj, eval_metric_names[em]), &v)) {
            cli_error("%s: case %zu: \"%s\" is missing or not a number", path, c,
                      eval_metric_names[em]);
            return CLI_INPUT;
        }
        eval_metric_set(r, (eval_metric)em, v);
    }
    return CLI_OK;
}

/* The cases of one part, appended to pg->cs. */
static int add_part(merge_page *pg, const char *path, const json_val *root) {
    const json_val *shard = json_get(root, "shard"), *cases = json_get(root, "cases");
    const json_val *names = json_get(shard, "names"), *fails = json_get(shard, "failures");
    if (!names || names->kind != JSON_ARR || !fails || fails->kind != JSON_ARR)
        return malformed(path, "no \"shard\".\"names\" and \"failures\" arrays");
    if (names->n != cases->n + fails->n)
        return malformed(path, "\"shard\".\"names\" does not name every case of the slice");
    size_t next_case = 0, next_fail = 0;
    for (size_t i = 0; i < names->n; i++) {
        eval_case *k = &pg->cs.v[pg->cs.n++];
        if (names->items[i].kind != JSON_STR) return malformed(path, "a case name is not a string");
        if (!(k->name = json_str_dup(&names->items[i]))) return oom();
        const json_val *f = next_fail < fails->n ? &fails->items[next_fail] : NULL;
        double at = -1;
        if (f && (f->kind != JSON_ARR || f->n != 2 || json_number(&f->items[0], &at) ||
                  f->items[1].kind != JSON_STR))
            return malformed(path, "a \"failures\" entry is not [index, message]");
        if (f && at == (double)i) {
            next_fail++;
            k->rc = CLI_INPUT;
            if (!(k->err = json_str_dup(&f->items[1]))) return oom();
            continue;
        }
        if (next_case >= cases->n)
            return malformed(path, "\"shard\".\"failures\" does not match the cases");
        const json_val *labs = json_get(&cases->items[next_case], "labels");
        k->n = (int64_t)labs->n;
        k->res = calloc(labs->n ? labs->n : 1, sizeof *k->res);
        if (!k->res) return oom();
        for (size_t j = 0; j < labs->n; j++) {
            int rc = one_label(pg, path, next_case, &k->res[j], &labs->keys[j], &labs->items[j]);
            if (rc) return rc;
        }
        next_case++;
    }
    if (next_fail != fails->n)
        return malformed(path, "\"shard\".\"failures\" does not match the cases");
    return CLI_OK;
}

int merge_page_build(merge_page *pg, const char *const *paths, const json_val *const *roots,
                     int np, const json_val *const *keys, int64_t n_keys,
                     const json_val *metrics, const char *html) {
    memset(pg, 0, sizeof *pg);
    const json_val *shard = json_get(roots[0], "shard");
    const json_val *set = json_get(shard, "html_settings");
    if (!set || set->kind != JSON_STR) return malformed(paths[0], "no \"shard\".\"html_settings\"");
    pg->keys = keys;
    pg->c.n_regions = n_keys; /* labels named by their keys: eval_label_key */
    pg->c.regions = calloc((size_t)(n_keys ? n_keys : 1), sizeof *pg->c.regions);
    if (!pg->c.regions) return oom();
    for (int64_t l = 0; l < n_keys; l++)
        if (!(pg->c.regions[l].key = json_str_dup(keys[l]))) return oom();
    for (size_t i = 0; i < metrics->n; i++) {
        char *name = json_str_dup(&metrics->keys[i]);
        if (!name) return oom();
        for (int em = 0; em < EM_COUNT; em++)
            if (strcmp(name, eval_metric_names[em]) == 0) pg->c.metrics |= EM_BIT(em);
        free(name);
    }
    if (!(pg->settings = json_str_dup(set)) ||
        !(pg->version = json_str_dup(json_get(shard, "version"))))
        return oom();
    int rc = set_command(pg, paths[0], json_get(shard, "command"), html);
    size_t total = 0;
    for (int i = 0; i < np; i++) {
        const json_val *names = json_get(json_get(roots[i], "shard"), "names");
        total += names && names->kind == JSON_ARR ? names->n : 0;
    }
    if (!rc && !(pg->cs.v = calloc(total ? total : 1, sizeof *pg->cs.v))) rc = oom();
    for (int i = 0; !rc && i < np; i++) rc = add_part(pg, paths[i], roots[i]);
    if (!rc && eval_summarize(&pg->s, &pg->cs)) rc = CLI_INTERNAL;
    if (!rc) pg->summarized = 1;
    return rc;
}

int merge_page_write(FILE *f, const void *ctx) {
    const merge_page *pg = ctx;
    return eval_write_html_as(f, &pg->cs, &pg->s, &pg->c, pg->settings, pg->version);
}

void merge_page_free(merge_page *pg) {
    if (pg->summarized) eval_summary_free(&pg->s);
    eval_cases_free(&pg->cs);
    for (int64_t l = 0; pg->c.regions && l < pg->c.n_regions; l++) free(pg->c.regions[l].key);
    free(pg->c.regions);
    for (int a = 0; a < pg->argc; a++) free(pg->argv[a]);
    free(pg->argv);
    free(pg->settings);
    free(pg->version);
    memset(pg, 0, sizeof *pg);
}
