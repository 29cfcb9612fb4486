/* Helpers shared by the segloss subcommands (see util.h). */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("segloss: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_status_exit(segloss_status st) {
    switch (st) {
    case SEGLOSS_OK: return CLI_OK;
    case SEGLOSS_ERR_ARG: return CLI_USAGE;
    case SEGLOSS_ERR_NOMEM:
    case SEGLOSS_ERR_NULL:
    case SEGLOSS_ERR_INTERNAL: return CLI_INTERNAL;
    default: return CLI_INPUT;
    }
}

char *cli_shape_str(char *buf, size_t len, const segloss_shape *shape) {
    size_t pos = 0;
    buf[0] = '\0';
    pos += (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < shape->ndim && pos < len; d++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%lld", d ? ", " : "",
                                (long long)shape->dim[d]);
    if (pos < len) snprintf(buf + pos, len - pos, shape->ndim == 1 ? ",)" : ")");
    return buf;
}

const char *cli_not_regular(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) return NULL;
    if (S_ISDIR(sb.st_mode)) return "is a directory";
    if (S_ISFIFO(sb.st_mode)) return "is not a regular file (a FIFO)";
    if (S_ISSOCK(sb.st_mode)) return "is not a regular file (a socket)";
    if (S_ISCHR(sb.st_mode)) return "is not a regular file (a character device)";
    if (S_ISBLK(sb.st_mode)) return "is not a regular file (a block device)";
    return "is not a regular file";
}

int cli_read_npy(segloss_npy *out, const char *path, size_t max_bytes) {
    char err[256] = "";
    memset(out, 0, sizeof *out);
    const char *what = cli_not_regular(path);
    if (what) {
        cli_error("%s: %s (expected a .npy file)", path, what);
        return CLI_INPUT;
    }
    segloss_status st = segloss_npy_read(out, path, max_bytes, err, sizeof err);
    if (st == SEGLOSS_OK) return CLI_OK;
    cli_error("%s: %s%s", path, err[0] ? err : segloss_strerror(st),
              st == SEGLOSS_ERR_LIMIT ? " (raise the cap with --max-bytes)" : "");
    return st == SEGLOSS_ERR_NOMEM ? CLI_INTERNAL : CLI_INPUT;
}

size_t cli_default_max_bytes(void) {
    size_t cap = (size_t)8 << 30;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (size_t)pages <= SIZE_MAX / (size_t)page) {
        size_t half = (size_t)pages * (size_t)page / 2;
        if (half < cap) cap = half;
    }
#endif
    return cap;
}

void cli_json_number(double v) {
    if (isfinite(v)) printf("%.9g", v);
    else fputs("null", stdout);
}

void cli_text_number(double v) {
    if (isnan(v)) fputs("nan", stdout);
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", stdout);
    else printf("%.9g", v);
}

int cli_check_output(const char *path) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_error("%s: is a directory (expected an output file name)", path);
        return CLI_INPUT;
    }
    return CLI_OK;
}

/* Creates a fresh temporary name next to `path` (cli_check_output first)
 * and records it in `o`; *fd is the open temporary, with the permissions a
 * plain fopen would give (0666 minus umask, not mkstemp's 0600). Returns an
 * exit code. */
static int stage_tmp(cli_outputs *o, const char *path, int *fd) {
    if (cli_check_output(path)) return CLI_INPUT;
    if (o->n >= CLI_MAX_OUTPUTS) {
        cli_error("internal error: too many outputs");
        return CLI_INTERNAL;
    }
    size_t len = strlen(path);
    char *tmp = malloc(len + 8);
    if (!tmp) {
        cli_error("out of memory");
        return CLI_INTERNAL;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", 8);
    *fd = mkstemp(tmp);
    if (*fd < 0) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return CLI_INPUT;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(*fd, 0666 & ~mask);
    o->tmp[o->n] = tmp;
    o->path[o->n] = path;
    o->n++;
    return CLI_OK;
}

int cli_stage_npy(cli_outputs *o, const char *path, const void *data, segloss_dtype dtype,
                  const segloss_shape *shape) {
    int fd, rc = stage_tmp(o, path, &fd);
    if (rc) return rc;
    close(fd);
    const char *tmp = o->tmp[o->n - 1];
    char err[256] = "";
    segloss_status st = segloss_npy_write(tmp, data, dtype, shape, err, sizeof err);
    if (st != SEGLOSS_OK) {
        cli_error("%s: cannot write: %s", path, err[0] ? err : segloss_strerror(st));
        return st == SEGLOSS_ERR_NOMEM ? CLI_INTERNAL : CLI_INPUT;
    }
    return CLI_OK;
}

int cli_stage_text(cli_outputs *o, const char *path, int (*fill)(FILE *f, const void *ctx),
                   const void *ctx) {
    int fd, rc = stage_tmp(o, path, &fd);
    if (rc) return rc;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return CLI_INPUT;
    }
    int bad = fill(f, ctx);
    bad |= fflush(f) != 0;
    int err = errno;
    bad |= fclose(f) != 0;
    if (bad) {
        cli_error("%s: cannot write: %s", path, strerror(err ? err : errno));
        return CLI_INPUT;
    }
    return CLI_OK;
}

/* Copies the staged file `tmp` into the existing non-regular file `path`
 * (a device or FIFO: /dev/null, /dev/stdout). Returns an exit code. */
static int copy_into(const char *tmp, const char *path) {
    FILE *in = fopen(tmp, "rb"), *out = in ? fopen(path, "wb") : NULL;
    int rc = in && out ? CLI_OK : CLI_INPUT;
    char buf[65536];
    size_t n;
    while (rc == CLI_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = CLI_INPUT;
    if (in && ferror(in)) rc = CLI_INPUT;
    if (out && fclose(out) != 0) rc = CLI_INPUT;
    if (in) fclose(in);
    if (rc) cli_error("%s: cannot write: %s", path, strerror(errno));
    return rc;
}

int cli_commit(cli_outputs *o) {
    for (int k = 0; k < o->n; k++) {
        if (!o->tmp[k]) continue;
        /* Never rename over a device or FIFO (as root, renaming over
         * /dev/null replaces the device with a plain file): write into it. */
        struct stat sb;
        if (stat(o->path[k], &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
            int rc = copy_into(o->tmp[k], o->path[k]);
            if (rc) return rc;
            remove(o->tmp[k]);
            free(o->tmp[k]);
            o->tmp[k] = NULL;
            continue;
        }
        if (rename(o->tmp[k], o->path[k]) != 0) {
            cli_error("%s: cannot rename into place: %s", o->path[k], strerror(errno));
            return CLI_INPUT;
        }
        free(o->tmp[k]);
        o->tmp[k] = NULL;
    }
    return CLI_OK;
}

void cli_discard(cli_outputs *o) {
    for (int k = 0; k < o->n; k++) {
        if (o->tmp[k]) {
            remove(o->tmp[k]);
            free(o->tmp[k]);
            o->tmp[k] = NULL;
        }
    }
    o->n = 0;
}
