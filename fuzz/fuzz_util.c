/* Helpers shared by the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <segloss.h>

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir_path[4096];
static pid_t tmpdir_owner;

void fuzz_empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            fuzz_empty_dir(path); /* nesting is bounded by what the targets create */
            rmdir(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
}

/* Only the process that created the directory removes it: the replay
 * driver creates it before forking one child per input. */
static void remove_tmpdir(void) {
    if (tmpdir_path[0] && getpid() == tmpdir_owner) {
        fuzz_empty_dir(tmpdir_path);
        rmdir(tmpdir_path);
    }
}

const char *fuzz_tmpdir(void) {
    if (tmpdir_path[0]) return tmpdir_path;
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    snprintf(tmpdir_path, sizeof tmpdir_path, "%s/segloss-fuzz.XXXXXX", base);
    if (!mkdtemp(tmpdir_path)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    tmpdir_owner = getpid();
    atexit(remove_tmpdir);
    return tmpdir_path;
}

void fuzz_tmp_path(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", fuzz_tmpdir(), name);
}

int fuzz_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    return put == len && rc == 0 ? 0 : -1;
}

void fuzz_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nfuzz: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

uint8_t fuzz_u8(fuzz_bytes *b) { return b->pos < b->n ? b->p[b->pos++] : 0; }

uint16_t fuzz_u16(fuzz_bytes *b) {
    uint16_t lo = fuzz_u8(b);
    return (uint16_t)(lo | (uint16_t)fuzz_u8(b) << 8);
}

uint32_t fuzz_u32(fuzz_bytes *b) {
    uint32_t lo = fuzz_u16(b);
    return lo | (uint32_t)fuzz_u16(b) << 16;
}

size_t fuzz_left(const fuzz_bytes *b) { return b->n - b->pos; }

const uint8_t *fuzz_take(fuzz_bytes *b, size_t n) {
    if (n > b->n - b->pos) n = b->n - b->pos;
    const uint8_t *p = b->p + b->pos;
    b->pos += n;
    return p;
}

void fuzz_check_status(int st) {
    FUZZ_CHECK(st >= SEGLOSS_OK && st <= SEGLOSS_ERR_INTERNAL);
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_INTERNAL, "internal error");
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "out of memory on a tiny problem");
}

int fuzz_close(double a, double b, double rel) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-300;
}
