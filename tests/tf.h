/* Minimal test framework: tests register themselves at load time, so a new
 * tests/test_*.c file needs no edit anywhere else. Checks print the values
 * and the difference on failure. Data files are found under
 * $SEGLOSS_TEST_DATA (default: tests/data, relative to the repository root). */
#ifndef SEGLOSS_TF_H
#define SEGLOSS_TF_H
#include <math.h>
#include <stdio.h>

typedef void (*tf_fn)(void);
void tf_register(const char *name, const char *file, tf_fn fn);
void tf_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void tf_pass(void);
/* Path of a data file: tf_data_path("core_ref.txt"). Static buffer. */
const char *tf_data_path(const char *name);
/* The whole file at path in a malloc'd buffer of exactly *len bytes (at
 * least 1 allocated), so that a reader under test that reads past the end
 * is an ASan error; NULL (and *len = 0) when it cannot be read. */
unsigned char *tf_read_file(const char *path, size_t *len);

#define TEST(name)                                                          \
    static void name(void);                                                 \
    __attribute__((constructor)) static void tf_reg_##name(void) {          \
        tf_register(#name, __FILE__, name);                                 \
    }                                                                       \
    static void name(void)

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) tf_pass();                                                \
        else tf_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);               \
    } while (0)

#define CHECK_MSG(cond, ...)                                                \
    do {                                                                    \
        if (cond) tf_pass();                                                \
        else tf_fail(__FILE__, __LINE__, __VA_ARGS__);                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                  \
    do {                                                                    \
        long long tf_a_ = (long long)(a), tf_b_ = (long long)(b);           \
        if (tf_a_ == tf_b_) tf_pass();                                      \
        else tf_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b,  \
                     tf_a_, tf_b_);                                         \
    } while (0)

/* |a - b| <= atol + rtol*|b|; NaN equals NaN only when both are NaN. */
#define CHECK_CLOSE(a, b, atol, rtol)                                       \
    do {                                                                    \
        double tf_a_ = (double)(a), tf_b_ = (double)(b);                    \
        int tf_ok_ = (isnan(tf_a_) && isnan(tf_b_)) ||                      \
                     (tf_a_ == tf_b_) ||                                    \
                     fabs(tf_a_ - tf_b_) <= (atol) + (rtol) * fabs(tf_b_);  \
        if (tf_ok_) tf_pass();                                              \
        else tf_fail(__FILE__, __LINE__, "%s ~ %s: %.17g vs %.17g (diff %.3g)", \
                     #a, #b, tf_a_, tf_b_, fabs(tf_a_ - tf_b_));            \
    } while (0)

#endif
