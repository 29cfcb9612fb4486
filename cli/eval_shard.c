/* segloss eval --shard K/N: one slice of the pair list, for job arrays.
 *
 * The sorted pair list (eval_pairs.c) of P cases is cut into N contiguous
 * slices; slice K (0-based) is cases [floor(K*P/N), floor((K+1)*P/N)), so
 * the slices tile the list in order, their sizes differ by at most one, and
 * a slice is empty when N > P. Every shard walks the whole list (a
 * directory listing: cheap next to the evaluation) so that each knows the
 * list it is a slice of.
 *
 * A part (the --json output of a shard) is the JSON of its slice with one
 * more member first, "shard", holding what `segloss merge` checks before
 * it concatenates the parts:
 *   index, count     K and N
 *   pairs            P, the length of the whole list
 *   first, end       the slice
 *   pairs_fnv1a      FNV-1a 64 (hex) over every case of the whole list:
 *                    name, prediction path, reference path, each followed
 *                    by a 0 byte (a missing path hashes as the byte 0xff)
 *   options          the options that shape the output, "--opt=value" in
 *                    the order given; not --pred/--ref (the hash covers
 *                    them), nor the outputs, --shard, --threads, --quiet,
 *                    --max-bytes, --keep-going (they change no number);
 *                    with --convention, followed by what it resolved to:
 *                    " (resolved: surface=S hd95-variant=V empty-score=E
 *                    empty-distance=D empty-values=NAME)" (enum values)
 *   version          the segloss version
 *   failed           cases of the slice that failed (--keep-going)
 *   csv_header       the first line --csv writes, for merge --csv
 * and what merge --html needs to write the one-run page:
 *   command          the eval command line (argv, "eval" first) without
 *                    --shard, the output options (--json, --csv, --html,
 *                    --instances-csv), --threads, --quiet and --max-bytes
 *   html_settings    the settings rows of the page (eval_html_settings)
 *   names            the name of every case of the slice, failed included
 *   failures         [[i, message], ...]: the failed cases of the slice
 *                    (i: index in the slice) and their messages */
#include "eval.h"
#include "opts.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>


int eval_shard_parse(eval_shard *s, const char *opt, const char *v) {
    const char *slash = strchr(v, '/');
    int64_t k = -1, n = 0;
    char head[32];
    size_t hl = slash ? (size_t)(slash - v) : 0;
    if (slash && hl < sizeof head) {
        memcpy(head, v, hl);
        head[hl] = '\0';
        if (cli_parse_i64(head, &k) || cli_parse_i64(slash + 1, &n)) k = -1;
    }
    if (k < 0 || n < 1 || n > EVAL_SHARD_MAX || k >= n || !(v[0] >= '0' && v[0] <= '9') ||
        !(slash[1] >= '0' && slash[1] <= '9')) {
        cli_error("invalid value for %s: '%s' (expected K/N with 0 <= K < N <= %d, e.g. 0/4)",
                  opt, v, EVAL_SHARD_MAX);
        return CLI_USAGE;
    }
    s->k = k;
    s->n = n;
    return 0;
}

void eval_shard_slice(int64_t pairs, int64_t k, int64_t n, int64_t *first, int64_t *end) {
    *first = k * pairs / n;
    *end = (k + 1) * pairs / n;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
    if (!s) return (h ^ 0xffu) * 0x100000001b3ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return h * 0x100000001b3ull; /* the 0 byte: h ^ 0 == h */
}

/* Options that change no number of the output (see the header). */
static int neutral(const char *name) {
    static const char *const skip[] = {"--pred",    "--ref",       "--json",  "--csv",
                                       "--html",    "--shard",     "--threads", "--quiet", "-q",
                                       "--max-bytes", "--keep-going", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(name, skip[i]) == 0) return 1;
    return 0;
}

/* The options as "--a=1 --b" (malloc'd; NULL when out of memory). */
static char *normalise(const eval_cfg *c, const cli_spec *spec) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int first = 1;
    for (int i = 1; i < c->argc; i++) {
        const char *inl;
        const cli_opt *o = cli_find(spec, ~0u, c->argv[i], &inl);
        if (!o) continue; /* cli_parse accepted the line: cannot happen */
        const char *val = o->metavar ? (inl ? inl : c->argv[++i]) : NULL;
        if (neutral(o->name)) continue;
        fprintf(f, "%s%s%s%s", first ? "" : " ", o->name, val ? "=" : "", val ? val : "");
        first = 0;
    }
    if (c->convention) {
        /* what the convention resolved to, so that parts agree on effects,
         * not only on names */
        const segloss_metric_opts *m = &c->mopts;
        fprintf(f, " (resolved: surface=%d hd95-variant=%d empty-score=%d empty-distance=%d "
                   "empty-values=%s)",
                (int)m->surface, (int)m->hd95_variant, (int)m->empty_score,
                (int)m->empty_distance, segloss_convention_name((int)m->convention));
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Options left out of the page's command line: the part's own outputs,
 * --shard, and those that change no byte of any output (so that a part's
 * bytes do not depend on them either). */
static int output_opt(const char *name) {
    static const char *const out[] = {"--json",    "--csv",   "--html", "--instances-csv",
                                      "--shard",   "--threads", "--quiet", "-q",
                                      "--max-bytes", NULL};
    for (int i = 0; out[i]; i++)
        if (strcmp(name, out[i]) == 0) return 1;
    return 0;
}

/* The command line as a JSON array of strings, without output_opt's. */
static char *command_json(const eval_cfg *c, const cli_spec *spec) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fputc('[', f);
    for (int i = 0; i < c->argc; i++) {
        const char *inl = NULL;
        const cli_opt *o = i ? cli_find(spec, ~0u, c->argv[i], &inl) : NULL;
        int skip = o && output_opt(o->name);
        int n = o && o->metavar && !inl ? 2 : 1;
        for (int j = 0; j < n && i + j < c->argc && !skip; j++) {
            if (i + j) fputc(',', f);
            eval_json_str(f, c->argv[i + j]);
        }
        i += n - 1;
    }
    fputc(']', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What write(f, c) writes, as a malloc'd string (NULL when out of memory):
 * the CSV header, the page's settings rows. */
static char *written(void (*write)(FILE *, const eval_cfg *), const eval_cfg *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    write(f, c);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int eval_shard_select(eval_cases *cs, eval_cfg *c, const cli_spec *spec) {
    eval_shard *s = &c->shard;
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t i = 0; i < cs->n; i++) {
        h = fnv1a(h, cs->v[i].name);
        h = fnv1a(h, cs->v[i].pred);
        h = fnv1a(h, cs->v[i].ref);
    }
    s->hash = h;
    s->pairs = cs->n;
    eval_shard_slice(cs->n, s->k, s->n, &s->first, &s->end);
    s->options = normalise(c, spec);
    s->csv_header = written(eval_write_csv_header, c);
    s->command = command_json(c, spec);
    s->html_settings = written(eval_html_settings, c);
    if (!s->options || !s->csv_header || !s->command || !s->html_settings) {
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    /* Keep [first, end): free the others, move the slice to the front. */
    for (int64_t i = 0; i < cs->n; i++)
        if (i < s->first || i >= s->end) eval_case_free(&cs->v[i]);
    int64_t m = s->end - s->first;
    if (m > 0 && s->first > 0) memmove(cs->v, cs->v + s->first, (size_t)m * sizeof *cs->v);
    cs->n = m;
    return CLI_OK;
}

void eval_shard_write_json(FILE *f, const eval_cases *cs, const eval_cfg *c) {
    const eval_shard *s = &c->shard;
    fprintf(f,
            "\"shard\":{\"index\":%" PRId64 ",\"count\":%" PRId64 ",\"pairs\":%" PRId64
            ",\"first\":%" PRId64 ",\"end\":%" PRId64 ",\"pairs_fnv1a\":\"%016" PRIx64
            "\",\"options\":",
            s->k, s->n, s->pairs, s->first, s->end, s->hash);
    eval_json_str(f, s->options);
    fprintf(f, ",\"version\":\"%s\",\"failed\":%" PRId64 ",\"csv_header\":",
            SEGLOSS_VERSION_STRING, s->failed);
    eval_json_str(f, s->csv_header);
    fprintf(f, ",\"command\":%s,\"html_settings\":", s->command);
    eval_json_str(f, s->html_settings);
    fputs(",\"names\":[", f);
    for (int64_t i = 0; i < cs->n; i++) {
        if (i) fputc(',', f);
        eval_json_str(f, cs->v[i].name);
    }
    fputs("],\"failures\":[", f);
    for (int64_t i = 0, first = 1; i < cs->n; i++)
        if (cs->v[i].rc) {
            fprintf(f, "%s[%" PRId64 ",", first ? "" : ",", i);
            eval_json_str(f, cs->v[i].err ? cs->v[i].err : "");
            fputc(']', f);
            first = 0;
        }
    fputs("]},", f);
}

void eval_shard_free(eval_shard *s) {
    free(s->options);
    free(s->csv_header);
    free(s->command);
    free(s->html_settings);
    s->options = s->csv_header = s->command = s->html_settings = NULL;
}
