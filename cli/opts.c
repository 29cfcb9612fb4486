/* The command-line parser and value parsers (see opts.h). */
#include "opts.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

/* One option in the help: "  HEAD  first help line", further lines
 * aligned under the first; a HEAD wider than the column gets a line of
 * its own. */
static void print_opt(FILE *f, int width, const char *short_name, const char *name,
                      const char *metavar, const char *help) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s%s%s", short_name ? short_name : "",
             short_name ? ", " : "", name, metavar ? " " : "", metavar ? metavar : "");
    int first = 1;
    while (*help) {
        const char *nl = strchr(help, '\n');
        int len = nl ? (int)(nl - help) : (int)strlen(help);
        if (first && strlen(head) <= (size_t)width)
            fprintf(f, "  %-*s  %.*s\n", width, head, len, help);
        else if (first) fprintf(f, "  %s\n  %-*s  %.*s\n", head, width, "", len, help);
        else fprintf(f, "  %-*s  %.*s\n", width, "", len, help);
        first = 0;
        help = nl ? nl + 1 : help + len;
    }
}

void cli_print_options(FILE *f, const cli_spec *spec) {
    for (int g = 0; g < spec->n_groups; g++) {
        fprintf(f, "\n%s:\n", spec->groups[g].title);
        for (const cli_opt *o = spec->groups[g].opts; o->name; o++)
            if (o->help) /* an entry without help is an alias, not listed */
                print_opt(f, spec->help_width, o->short_name, o->name, o->metavar, o->help);
        if (g == 0) print_opt(f, spec->help_width, "-h", "--help", NULL, "this help");
    }
}

int cli_usage_error(const cli_spec *spec) {
    cli_error("try 'segloss %s --help'", spec->cmd);
    return CLI_USAGE;
}

/* arg is `name` exactly, or "name=value" (then *inline_val points after
 * the '='). */
static int matches(const char *arg, const char *name, const char **inline_val) {
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '=')) return 0;
    *inline_val = arg[n] == '=' ? arg + n + 1 : NULL;
    return 1;
}

const cli_opt *cli_find(const cli_spec *spec, unsigned applies, const char *arg,
                        const char **inline_val) {
    for (int g = 0; g < spec->n_groups; g++) {
        if (!(applies >> g & 1u)) continue;
        for (const cli_opt *o = spec->groups[g].opts; o->name; o++)
            if (matches(arg, o->name, inline_val) ||
                (o->short_name && matches(arg, o->short_name, inline_val)))
                return o;
    }
    return NULL;
}

int cli_first_operand(const cli_spec *spec, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *inl;
        const cli_opt *o = cli_find(spec, ~0u, argv[i], &inl);
        if (o) {
            if (o->metavar && !inl) i++;
            continue;
        }
        if (argv[i][0] != '-') return i;
    }
    return 0;
}

/* "a, b or c" from a choice list, into buf. */
static const char *choice_names(char *buf, size_t len, const cli_choice *ch) {
    size_t pos = 0;
    buf[0] = '\0';
    for (int k = 0; ch[k].name && pos < len; k++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%s",
                                k == 0 ? "" : ch[k + 1].name ? ", " : " or ", ch[k].name);
    return buf;
}

/* Parses val as o says and stores it in cfg. Returns 0 or an exit code. */
static int apply(const cli_opt *o, void *cfg, const char *val) {
    char *at = (char *)cfg + o->dest;
    int rc = 0, one = 1;
    switch (o->kind) {
    case CLI_ARG_FLAG: memcpy(at, &one, sizeof one); break;
    case CLI_ARG_STR: memcpy(at, &val, sizeof val); break;
    case CLI_ARG_NUM: {
        double v;
        if (!(rc = cli_number(val, o->name, o->arg, &v))) memcpy(at, &v, sizeof v);
        break;
    }
    case CLI_ARG_INT: {
        int64_t v;
        if (!(rc = cli_integer(val, o->name, o->arg, &v))) {
            int i = (int)v;
            memcpy(at, &i, sizeof i);
        }
        break;
    }
    case CLI_ARG_BYTES: {
        size_t v;
        if (!(rc = cli_parse_bytes(val, o->name, &v))) memcpy(at, &v, sizeof v);
        break;
    }
    case CLI_ARG_CHOICE: {
        const cli_choice *ch = o->arg;
        while (ch->name && strcmp(ch->name, val) != 0) ch++;
        if (ch->name) {
            memcpy(at, &ch->value, sizeof ch->value);
        } else {
            char names[256];
            cli_error("invalid value for %s: '%s' (expected %s)", o->name, val,
                      choice_names(names, sizeof names, o->arg));
            rc = CLI_USAGE;
        }
        break;
    }
    case CLI_ARG_CALL: rc = o->call(cfg, o->name, val); break;
    }
    if (!rc && o->given) memcpy((char *)cfg + o->given - 1, &one, sizeof one);
    return rc;
}

int cli_parse(const cli_spec *spec, unsigned applies, const char *scope, void *cfg, int argc,
              char **argv, int skip) {
    for (int i = 1; i < argc; i++) {
        if (i == skip) continue;
        const char *arg = argv[i], *inl;
        const cli_opt *o = cli_find(spec, applies, arg, &inl);
        if (!o) {
            if (cli_find(spec, ~0u, arg, &inl))
                cli_error("%s: option '%s' does not apply to this %s", scope, arg, spec->cmd);
            else if (arg[0] == '-') cli_error("%s: unknown option '%s'", spec->cmd, arg);
            else cli_error("%s: unexpected argument '%s'", spec->cmd, arg);
            return cli_usage_error(spec);
        }
        const char *val = NULL;
        if (o->metavar && inl) {
            val = inl;
        } else if (o->metavar) {
            if (i + 1 >= argc) {
                cli_error("option %s needs a value", o->name);
                return cli_usage_error(spec);
            }
            val = argv[++i];
        } else if (inl) {
            cli_error("option %s takes no value", o->name);
            return cli_usage_error(spec);
        }
        int rc = apply(o, cfg, val);
        if (rc) return rc == CLI_USAGE ? cli_usage_error(spec) : rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Values                                                                   */
/* ---------------------------------------------------------------------- */
int cli_number(const char *s, const char *opt, const cli_range *r, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod skips leading blanks; we do not accept them either. */
    if (*s == '\0' || *s == ' ' || *s == '\t' || *end != '\0' || !isfinite(v) ||
        (errno == ERANGE && fabs(v) > 1.0)) {
        cli_error("invalid number for %s: '%s'", opt, s);
        return CLI_USAGE;
    }
    *out = v;
    if (r && !((r->lo_open ? v > r->lo : v >= r->lo) && v <= r->hi)) {
        cli_error("invalid value for %s: '%s' (%s)", opt, s, r->why);
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_i64(const char *s, int64_t *out) {
    const char *digits = s + (*s == '-' || *s == '+');
    if (*digits < '0' || *digits > '9') return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE) return -1;
    *out = (int64_t)v;
    return 0;
}

int cli_integer(const char *s, const char *opt, const cli_range *r, int64_t *out) {
    if (cli_parse_i64(s, out) || (double)*out < r->lo || (double)*out > r->hi ||
        (r->lo_open && (double)*out == r->lo)) {
        cli_error("invalid value for %s: '%s' (%s)", opt, s, r->why);
        return CLI_USAGE;
    }
    return 0;
}

int cli_parse_bytes(const char *s, const char *opt, size_t *out) {
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') goto bad;
    unsigned long long x = strtoull(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    else if (*end == 'T' || *end == 't') shift = 40;
    if (shift) end++;
    if (*end != '\0' || errno == ERANGE || (shift && x > (SIZE_MAX >> shift)) || x > SIZE_MAX)
        goto bad;
    *out = (size_t)(x << shift);
    return 0;
bad:
    cli_error("invalid value for %s: '%s' (expected a byte count like 4G, 512M or 0)", opt, s);
    return CLI_USAGE;
}

int64_t cli_list_count(const char *list) {
    int64_t count = 1;
    for (const char *p = list; *p; p++) count += *p == ',';
    return count;
}

int cli_list_each(const char *list, int (*each)(void *ctx, const char *field, int64_t k),
                  void *ctx) {
    char *copy = malloc(strlen(list) + 1);
    if (!copy) {
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    strcpy(copy, list);
    int rc = 0;
    char *field = copy;
    for (int64_t k = 0; !rc; k++) {
        char *comma = strchr(field, ',');
        if (comma) *comma = '\0';
        rc = each(ctx, field, k);
        if (!comma) break;
        field = comma + 1;
    }
    free(copy);
    return rc;
}

typedef struct numbers_ctx {
    const char *opt;
    const cli_range *r;
    double *out;
} numbers_ctx;

static int one_number(void *ctx, const char *field, int64_t k) {
    const numbers_ctx *n = ctx;
    return cli_number(field, n->opt, n->r, &n->out[k]);
}

int cli_list_numbers(const char *list, const char *opt, const cli_range *r, double *out) {
    numbers_ctx n = {opt, r, out};
    return cli_list_each(list, one_number, &n);
}
