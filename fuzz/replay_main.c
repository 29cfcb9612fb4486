/* Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over files,
 * without libFuzzer, so that the committed corpus and every crash
 * reproducer run in the normal test suite (and under ASan+UBSan in the
 * sanitizer pass of `make check`).
 *
 *   replay_TARGET [--no-fork] [--timeout SECONDS] [--name NAME] PATH...
 *
 * A PATH is a file or a directory (its regular files, not recursive; names
 * starting with '.' and README* are skipped); a PATH that does not exist is
 * skipped (fuzz/crashes/TARGET/ exists only once something was found).
 * Each input runs in a child process: a crash, a sanitizer report, a
 * failed property check or a hang (SIGALRM after the timeout, default 60 s)
 * fails that input and the others still run. Inputs are copied into a
 * buffer of exactly their size, so reading past the end is caught by ASan.
 * Prints "fuzz replay TARGET: N inputs, F failures" (TARGET from the
 * program's name, or --name); exits 1 on any failure or when no input was
 * found at all.
 *
 * Memory: libFuzzer runs the targets with -malloc_limit_mb=1024; here one
 * allocation above 1 GiB aborts the input as well (under ASan through its
 * max_allocation_size_mb, otherwise through the malloc wrappers below),
 * so that the reproducer of an unbounded allocation fails here too, even
 * when the allocating library (libpng) would quietly survive the NULL. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

#define REPLAY_MEMORY_MB 1024

#ifdef REPLAY_ASAN
/* Read by ASan at start-up; ASAN_OPTIONS still overrides it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_allocation_size_mb=1024"; }
#elif defined(__GLIBC__)
/* glibc lets a program replace malloc: every malloc, calloc and realloc of
 * the process (libpng's and zlib's included) comes here and goes on to
 * glibc's own allocator, which free() then serves as usual. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static void too_big(void) {
    static const char msg[] = "\nreplay: an allocation above the 1024 MiB limit\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    abort();
}

void *malloc(size_t n) {
    if (n > ((size_t)REPLAY_MEMORY_MB << 20)) too_big();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m) {
    if (m && n > ((size_t)REPLAY_MEMORY_MB << 20) / m) too_big();
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n) {
    if (n > ((size_t)REPLAY_MEMORY_MB << 20)) too_big();
    return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }
#endif

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static void add_name(name_list *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            perror("replay");
            exit(2);
        }
    }
    size_t len = strlen(s);
    l->v[l->n] = malloc(len + 1);
    if (!l->v[l->n]) {
        perror("replay");
        exit(2);
    }
    memcpy(l->v[l->n++], s, len + 1);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir, sorted (a stable order makes logs comparable). */
static void collect_dir(name_list *l, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
        exit(2);
    }
    size_t first = l->n;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) add_name(l, path);
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof *l->v, cmp_names);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    /* An exact-size copy: one byte too many read is an ASan report. */
    unsigned char *exact = malloc(n ? n : 1);
    if (exact) memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

static int run_one(const char *path) {
    size_t len = 0;
    unsigned char *data = read_file(path, &len);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 2;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (strncmp(name, "replay_", 7) == 0) name += 7;
    int use_fork = 1;
    unsigned timeout = 60;
    name_list files = {NULL, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-fork") == 0) {
            use_fork = 0;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else {
            struct stat sb;
            if (stat(argv[i], &sb) != 0) continue; /* e.g. no crashes yet */
            if (S_ISDIR(sb.st_mode)) collect_dir(&files, argv[i]);
            else add_name(&files, argv[i]);
        }
    }
    if (files.n == 0) {
        fprintf(stderr, "fuzz replay %s: no inputs found (wrong path?)\n", name);
        return 1;
    }
    /* One scratch directory for all children (removed by this process). */
    fuzz_tmpdir();

    size_t failures = 0;
    for (size_t k = 0; k < files.n; k++) {
        const char *path = files.v[k];
        int ok;
        if (!use_fork) {
            ok = run_one(path) == 0;
        } else {
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                perror("replay: fork");
                return 2;
            }
            if (pid == 0) {
                alarm(timeout);
                exit(run_one(path));
            }
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (!ok) {
                if (WIFSIGNALED(status))
                    fprintf(stderr, "FAIL: %s: killed by signal %d%s\n", path, WTERMSIG(status),
                            WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
                else
                    fprintf(stderr, "FAIL: %s: exit status %d\n", path, WEXITSTATUS(status));
            }
        }
        if (!ok) failures++;
    }
    printf("fuzz replay %s: %zu inputs, %zu failures\n", name, files.n, failures);
    for (size_t k = 0; k < files.n; k++) free(files.v[k]);
    free(files.v);
    return failures ? 1 : 0;
}
