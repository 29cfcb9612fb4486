/* Test runner: runs every registered test (or those whose name contains
 * argv[1]) and reports the number of tests and checks. Exit 1 on failure. */
#include "tf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TF_MAX_TESTS 4096

static struct {
    const char *name, *file;
    tf_fn fn;
} tests[TF_MAX_TESTS];
static int n_tests;
static long n_checks, n_failed_checks;
static int current_failed;
static const char *current_name;

void tf_register(const char *name, const char *file, tf_fn fn) {
    if (n_tests < TF_MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].file = file;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void tf_pass(void) { n_checks++; }

void tf_fail(const char *file, int line, const char *fmt, ...) {
    n_checks++;
    n_failed_checks++;
    current_failed++;
    if (current_failed > 20) return; /* keep the log readable */
    fprintf(stderr, "FAIL %s (%s:%d): ", current_name, file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *tf_data_path(const char *name) {
    static char buf[4096];
    const char *dir = getenv("SEGLOSS_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir && *dir ? dir : "tests/data", name);
    return buf;
}


unsigned char *tf_read_file(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    unsigned char *exact = malloc(n ? n : 1);
    if (exact) memcpy(exact, buf, n);
    free(buf);
    if (exact) *len = n;
    return exact;
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int run = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        current_name = tests[i].name;
        current_failed = 0;
        long before = n_checks;
        tests[i].fn();
        run++;
        if (current_failed) {
            failed++;
            fprintf(stderr, "  -> %s: %d of %ld checks failed\n", tests[i].name,
                    current_failed, n_checks - before);
        }
    }
    printf("unit tests: %d run, %d failed; %ld checks, %ld failed\n", run, failed,
           n_checks, n_failed_checks);
    return failed ? 1 : 0;
}
