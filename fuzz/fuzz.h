/* Shared by the fuzz targets (fuzz/fuzz_*.c) and the replay driver
 * (fuzz/replay_main.c). Each target defines LLVMFuzzerTestOneInput; built
 * with clang -fsanitize=fuzzer it is a libFuzzer binary (`make fuzz`),
 * linked with replay_main.c it is a plain program that runs the committed
 * corpus and crash reproducers as part of `make test`. See docs/fuzzing.md. */
#ifndef SEGLOSS_FUZZ_H
#define SEGLOSS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point: must return 0, must not keep state that
 * changes the outcome of a later input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cap on decoded sizes passed to the readers: well below the fuzzers'
 * -malloc_limit_mb, so an allocation beyond it is a reader bug. */
#define FUZZ_MAX_BYTES ((size_t)64 << 20)

/* A private directory for the files a target writes, created on first
 * use (under $TMPDIR or /tmp) and removed with its contents at exit. */
const char *fuzz_tmpdir(void);
/* "<tmpdir>/<name>" in a static buffer of the caller's (len >= 4096). */
void fuzz_tmp_path(char *buf, size_t len, const char *name);
/* Writes (creates or truncates) a whole file; 0 on success. */
int fuzz_write_file(const char *path, const void *data, size_t len);
/* Removes every entry of `dir` (plain files only; sub-directories are
 * emptied and removed, one level deep). */
void fuzz_empty_dir(const char *dir);

/* A failed property: print the message and abort (a libFuzzer crash, a
 * replay failure). */
void fuzz_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, "check failed: %s", #cond);  \
    } while (0)
#define FUZZ_CHECK_MSG(cond, ...)                                               \
    do {                                                                        \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);                \
    } while (0)

/* A library status: one of segloss_status's values, never
 * SEGLOSS_ERR_INTERNAL, never SEGLOSS_ERR_NOMEM (the problems are tiny). */
void fuzz_check_status(int st);
/* a and b equal within rel (relative to the larger magnitude); NaN only
 * equals NaN, an infinity only itself. */
int fuzz_close(double a, double b, double rel);

/* Reads bytes from the input front to back; past the end every read gives
 * 0, so any input is a complete description. */
typedef struct fuzz_bytes {
    const uint8_t *p;
    size_t n, pos;
} fuzz_bytes;

uint8_t fuzz_u8(fuzz_bytes *b);
uint16_t fuzz_u16(fuzz_bytes *b);
uint32_t fuzz_u32(fuzz_bytes *b);
/* Bytes left, and a pointer to them (consumed). */
size_t fuzz_left(const fuzz_bytes *b);
const uint8_t *fuzz_take(fuzz_bytes *b, size_t n);

#endif
