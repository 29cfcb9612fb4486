/* The one command-line parser of `segloss loss`, `eval` and `bench`.
 *
 * A command describes its options in tables of cli_opt (name, value kind,
 * destination, help text), grouped under titles; cli_parse fills the
 * command's config struct from argv, and cli_print_options prints the help
 * from the same tables, so an option is declared in exactly one place.
 *
 * Values are taken as "--opt value" or "--opt=value" (also for the short
 * forms: "-i x", "-i=x"); a flag takes no value. Every bad value is
 * reported as "segloss: invalid ... for OPT: 'VALUE' (...)" followed by
 * "segloss: try 'segloss CMD --help'", exit status 1.
 *
 * The value parsers (numbers, integers, byte counts, comma-separated lists)
 * are here too, for values that are read after the command line (lists
 * whose length depends on an input file). Nothing here is part of the
 * library. */
#ifndef SEGLOSS_CLI_OPTS_H
#define SEGLOSS_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an option's value is, and what is stored at its destination. */
typedef enum cli_arg_kind {
    CLI_ARG_FLAG,    /* no value; int = 1 */
    CLI_ARG_STR,     /* const char * = the value itself (a path, a list read later) */
    CLI_ARG_NUM,     /* double: a finite number (cli_number), within the range if any */
    CLI_ARG_INT,     /* int: a whole-string integer within the range (cli_integer) */
    CLI_ARG_BYTES,   /* size_t: a byte count, N[K|M|G|T] (cli_parse_bytes) */
    CLI_ARG_CHOICE,  /* int: the value of the named choice */
    CLI_ARG_CALL     /* call(cfg, name, value) parses and stores it */
} cli_arg_kind;

/* Named values of a CLI_ARG_CHOICE option; the list ends with {NULL, 0}.
 * A bad value is reported as "(expected a, b or c)", the names in order. */
typedef struct cli_choice {
    const char *name;
    int value;
} cli_choice;

/* Accepted numbers: lo <= v <= hi, or lo < v <= hi with lo_open. Others
 * are reported as "invalid value for OPT: 'S' (WHY)". */
typedef struct cli_range {
    double lo, hi;
    int lo_open;
    const char *why;
} cli_range;

typedef struct cli_opt {
    const char *short_name;  /* "-i", or NULL */
    const char *name;        /* "--input"; NULL ends a table */
    const char *metavar;     /* in the help; NULL for a flag (no value) */
    cli_arg_kind kind;
    size_t dest;             /* offset of the destination in the config struct */
    size_t given;            /* 1 + offset of an int set to 1 when the option is given; 0: none */
    const void *arg;         /* NUM: const cli_range * (NULL: any); INT: const cli_range *;
                                CHOICE: const cli_choice * */
    int (*call)(void *cfg, const char *name, const char *val);  /* CALL: 0 or an exit code */
    const char *help;        /* lines separated by '\n'; NULL: an alias, left out of the help */
} cli_opt;

/* Offset of FIELD in T, checked at compile time to have TYPE's size. */
#define CLI_AT(T, FIELD, TYPE) \
    (offsetof(T, FIELD) + 0 * sizeof(char[sizeof(((T *)0)->FIELD) == sizeof(TYPE) ? 1 : -1]))
/* `given` of an option that sets the int FIELD of T to 1. */
#define CLI_GIVEN(T, FIELD) (1 + CLI_AT(T, FIELD, int))

/* Table entries. T is the config struct, FIELD its member. */
#define CLI_FLAG(T, SHORT, NAME, FIELD, HELP) \
    {SHORT, NAME, NULL, CLI_ARG_FLAG, CLI_AT(T, FIELD, int), 0, NULL, NULL, HELP}
#define CLI_STR(T, SHORT, NAME, META, FIELD, HELP) \
    {SHORT, NAME, META, CLI_ARG_STR, CLI_AT(T, FIELD, const char *), 0, NULL, NULL, HELP}
#define CLI_NUM(T, NAME, META, FIELD, GIVEN, RANGE, HELP) \
    {NULL, NAME, META, CLI_ARG_NUM, CLI_AT(T, FIELD, double), GIVEN, RANGE, NULL, HELP}
#define CLI_INT(T, NAME, META, FIELD, RANGE, HELP) \
    {NULL, NAME, META, CLI_ARG_INT, CLI_AT(T, FIELD, int), 0, RANGE, NULL, HELP}
#define CLI_BYTES(T, NAME, META, FIELD, HELP) \
    {NULL, NAME, META, CLI_ARG_BYTES, CLI_AT(T, FIELD, size_t), 0, NULL, NULL, HELP}
/* FIELD is an int or an enum (int-sized). */
#define CLI_CHOICE(T, NAME, META, FIELD, CHOICES, HELP) \
    {NULL, NAME, META, CLI_ARG_CHOICE, CLI_AT(T, FIELD, int), 0, CHOICES, NULL, HELP}
#define CLI_CALL(NAME, META, FN, HELP) {NULL, NAME, META, CLI_ARG_CALL, 0, 0, NULL, FN, HELP}
#define CLI_END {NULL, NULL, NULL, CLI_ARG_FLAG, 0, 0, NULL, NULL, NULL}

/* Options under a title ("Options", "dice, dice-bce", ...). */
typedef struct cli_group {
    const char *title;
    const cli_opt *opts;     /* ends with CLI_END */
} cli_group;

/* A command's options: every group, in help order (the first one is
 * followed by -h, --help in the help). */
typedef struct cli_spec {
    const char *cmd;         /* "loss": "loss: unknown option ...", "try 'segloss loss --help'" */
    const cli_group *groups;
    int n_groups;
    int help_width;          /* width of the "--opt VALUE" column of the help */
} cli_spec;

/* Nonzero when an argument is -h or --help (help wins over everything
 * else on the command line, wherever it is). */
int cli_wants_help(int argc, char **argv);

/* Every group: "\nTITLE:\n" and one line (or more) per option. */
void cli_print_options(FILE *f, const cli_spec *spec);

/* "segloss: try 'segloss CMD --help'"; returns CLI_USAGE. */
int cli_usage_error(const cli_spec *spec);

/* The option among the groups in `applies` (bit g: groups[g]) that arg
 * names, as "--opt", "--opt=value" or the short form; *inline_val points
 * after '=' (NULL if none). NULL when no such option. */
const cli_opt *cli_find(const cli_spec *spec, unsigned applies, const char *arg,
                        const char **inline_val);

/* Index of the first argument in argv[1..argc) that is neither an option
 * of the spec nor the value of one; 0 if none. */
int cli_first_operand(const cli_spec *spec, int argc, char **argv);

/* Parses argv[1..argc) (except argv[skip] when skip > 0) into cfg: the
 * options of the groups in `applies` are accepted; an option of another
 * group is reported as "SCOPE: option '--x' does not apply to this CMD".
 * Returns 0, or an exit code after printing the error (and, for a usage
 * error, the "try" line). */
int cli_parse(const cli_spec *spec, unsigned applies, const char *scope, void *cfg, int argc,
              char **argv, int skip);

/* Value parsers; each prints its error and returns CLI_USAGE (0 on success). */

/* A finite number, the whole string (no blanks, no junk): else "invalid
 * number for OPT: 'S'"; then within r (NULL: any). */
int cli_number(const char *s, const char *opt, const cli_range *r, double *out);

/* A whole-string decimal integer, optional sign. Returns 0, or -1 without
 * printing anything. */
int cli_parse_i64(const char *s, int64_t *out);

/* An integer in [r->lo, r->hi]: else "invalid value for OPT: 'S' (WHY)". */
int cli_integer(const char *s, const char *opt, const cli_range *r, int64_t *out);

/* A byte count: N, or N with a binary suffix K, M, G, T (KiB...); 0 = no
 * cap. Else "invalid value for OPT: 'S' (expected a byte count like 4G,
 * 512M or 0)". */
int cli_parse_bytes(const char *s, const char *opt, size_t *out);

/* Comma-separated lists: "a,b,c" has 3 fields, "" one empty field. */
int64_t cli_list_count(const char *list);
/* Calls each(ctx, field, k) for the fields in order, each as a string of
 * its own; stops at the first nonzero return and returns it (CLI_INTERNAL
 * when out of memory). */
int cli_list_each(const char *list, int (*each)(void *ctx, const char *field, int64_t k),
                  void *ctx);
/* The fields as numbers (cli_number, each within r) into
 * out[0 .. cli_list_count(list)). */
int cli_list_numbers(const char *list, const char *opt, const cli_range *r, double *out);

#endif
