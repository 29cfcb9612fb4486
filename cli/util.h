/* Small helpers shared by the segloss subcommands: exit codes, error
 * messages, shape formatting, .npy I/O with file-named errors, output
 * files written all-or-nothing (the option parser is opts.h). Nothing
 * here is part of the library. */
#ifndef SEGLOSS_CLI_UTIL_H
#define SEGLOSS_CLI_UTIL_H

#include <segloss.h>

#include <stddef.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 bad usage, 2 bad or unreadable input, 3 internal error. */
enum {
    CLI_OK = 0,
    CLI_USAGE = 1,    /* bad command line */
    CLI_INPUT = 2,    /* bad, unreadable (or unwritable) file */
    CLI_INTERNAL = 3  /* out of memory, or a bug */
};

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* "segloss: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Exit code for a library status: NOMEM/INTERNAL/NULL -> 3, ARG -> 1,
 * everything else (the data is at fault) -> 2. */
int cli_status_exit(segloss_status st);

/* NumPy-style shape text: "(2, 3)", "(4,)", "()". Returns buf. */
char *cli_shape_str(char *buf, size_t len, const segloss_shape *shape);
#define CLI_SHAPE_STRLEN (SEGLOSS_MAX_DIMS * 22 + 4)

/* NULL when `path` is a regular file (or cannot be stat'ed: the reader
 * then reports why it cannot open it); otherwise what it is instead: "is a
 * directory", "is not a regular file (a FIFO)", ... A FIFO is refused
 * because opening one without a writer blocks for ever. */
const char *cli_not_regular(const char *path);

/* Reads a .npy file of at most max_bytes of data (0: no cap); on failure
 * prints "segloss: PATH: <problem>" (for the cap, with a hint to raise
 * --max-bytes) and returns the exit code (2, or 3 for out-of-memory). 0 on
 * success. */
int cli_read_npy(segloss_npy *out, const char *path, size_t max_bytes);

/* Default --max-bytes: 8 GiB, or half the physical memory when that is
 * less, so that a corrupt header cannot make segloss allocate more. */
size_t cli_default_max_bytes(void);

/* Prints a double as JSON: %.9g, or null for NaN/inf. */
void cli_json_number(double v);
/* Prints a double as text with %.9g; NaN/inf as nan, inf, -inf. */
void cli_text_number(double v);

/* Output files written all-or-nothing. Each file is first written in full
 * to a fresh temporary name next to its destination (mkstemp), and only
 * when every output has been written are they renamed into place; on
 * failure the temporaries are removed and the user's files are untouched. */
#define CLI_MAX_OUTPUTS 4
typedef struct cli_outputs {
    int n;
    char *tmp[CLI_MAX_OUTPUTS];     /* temporary names (owned) */
    const char *path[CLI_MAX_OUTPUTS];
} cli_outputs;

/* Checks an output path before anything is written: a directory there
 * cannot be replaced. Returns 0, or prints "PATH: is a directory" and
 * returns CLI_INPUT. */
int cli_check_output(const char *path);

/* Stages one .npy output (cli_check_output first); returns an exit code
 * (0 on success; on failure the message names `path`). */
int cli_stage_npy(cli_outputs *o, const char *path, const void *data, segloss_dtype dtype,
                  const segloss_shape *shape);
/* Stages one text output (cli_check_output first): fill(f, ctx) writes it
 * and returns nonzero on an error. The file gets the permissions a plain
 * fopen would give (0666 minus umask). Returns an exit code (0 on success;
 * on failure the message names `path`). */
int cli_stage_text(cli_outputs *o, const char *path, int (*fill)(FILE *f, const void *ctx),
                   const void *ctx);
/* Renames every staged file into place; returns an exit code. */
int cli_commit(cli_outputs *o);
/* Removes temporaries not yet renamed and frees the names. */
void cli_discard(cli_outputs *o);

#endif
