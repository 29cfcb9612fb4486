/* .npy reader/writer, shape element counts and dtype conversion.
 *
 * Fixtures come from tools/ref/gen_npy_fixtures.py (numpy). Their values
 * follow patterns of the flat index that are recomputed here, independently
 * of segloss: float32 (i-7)*0.25, float64 i*0.1-1, bool i%3==0, integers the
 * low bits of i*M+A (M, A below, same table as the generator). */
#define _XOPEN_SOURCE 700 /* setrlimit, SIGXFSZ, mkdtemp, mkfifo */
#include "tf.h"

#include <segloss.h>
#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */
static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int npy_is_zeroed(const segloss_npy *a) {
    static const segloss_npy zero;
    return a->data == NULL && a->numel == 0 && a->shape.ndim == 0 &&
           memcmp(&a->shape, &zero.shape, sizeof zero.shape) == 0 && a->dtype == 0;
}

/* Path of a fixture under tests/data/npy/. */
static const char *fx(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "npy/%s", name);
    return tf_data_path(rel);
}

static char tmp_root[256];

static const char *make_tmpdir(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/segloss_npy_XXXXXX");
    return mkdtemp(tmp_root);
}

static const char *join(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

/* Number of entries in dir (excluding . and ..); -1 if it cannot be read. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        join(p, sizeof p, dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Value patterns (must match tools/ref/gen_npy_fixtures.py)                 */
/* ------------------------------------------------------------------------ */
static void int_pattern(segloss_dtype d, uint64_t *m, uint64_t *a) {
    switch (d) {
    case SEGLOSS_U8: case SEGLOSS_I8: *m = 37; *a = 11; return;
    case SEGLOSS_I16: *m = 40503; *a = 12345; return;
    case SEGLOSS_U16: *m = 4099; *a = 7; return;
    case SEGLOSS_I32: *m = 2654435761u; *a = 1; return;
    case SEGLOSS_U32: *m = 2246822519u; *a = 3; return;
    case SEGLOSS_I64: *m = 0x9E3779B97F4A7C15ull; *a = 5; return;
    case SEGLOSS_U64: *m = 0xC2B2AE3D27D4EB4Full; *a = 9; return;
    default: *m = 0; *a = 0; return;
    }
}

static float pat_f32(int64_t i) { return (float)(((double)i - 7.0) * 0.25); }
static double pat_f64(int64_t i) {
    volatile double t = (double)i * 0.1; /* two roundings, as numpy does */
    return t - 1.0;
}

/* The pattern's element i as raw little-endian bits of the dtype's size. */
static uint64_t pattern_bits(segloss_dtype d, int64_t i) {
    uint64_t bits = 0;
    if (d == SEGLOSS_F32) {
        float v = pat_f32(i);
        memcpy(&bits, &v, 4);
    } else if (d == SEGLOSS_F64) {
        double v = pat_f64(i);
        memcpy(&bits, &v, 8);
    } else if (d == SEGLOSS_BOOL) {
        bits = i % 3 == 0;
    } else {
        uint64_t m, a;
        int_pattern(d, &m, &a);
        bits = (uint64_t)i * m + a;
        size_t sz = segloss_dtype_size(d);
        if (sz < 8) bits &= ((uint64_t)1 << (8 * sz)) - 1;
    }
    return bits;
}

static uint64_t element_bits(const void *data, segloss_dtype d, int64_t i) {
    uint64_t v = 0;
    size_t sz = segloss_dtype_size(d);
    memcpy(&v, (const unsigned char *)data + (size_t)i * sz, sz);
    return v;
}

/* Fills buf with the pattern for n elements of dtype d. */
static void fill_pattern(void *buf, segloss_dtype d, int64_t n) {
    size_t sz = segloss_dtype_size(d);
    for (int64_t i = 0; i < n; i++) {
        uint64_t b = pattern_bits(d, i);
        memcpy((unsigned char *)buf + (size_t)i * sz, &b, sz);
    }
}

static void check_pattern(const segloss_npy *a, const char *name) {
    int bad = 0;
    for (int64_t i = 0; i < a->numel && bad < 3; i++) {
        uint64_t got = element_bits(a->data, a->dtype, i), want = pattern_bits(a->dtype, i);
        if (got != want) {
            bad++;
            CHECK_MSG(0, "%s: element %lld has bits %#llx, expected %#llx", name, (long long)i,
                      (unsigned long long)got, (unsigned long long)want);
        }
    }
    if (!bad) tf_pass();
}

/* ------------------------------------------------------------------------ */
/* Valid fixtures                                                            */
/* ------------------------------------------------------------------------ */
typedef struct good_case {
    const char *file;
    segloss_dtype dtype;
    int ndim;
    int64_t dim[SEGLOSS_MAX_DIMS];
} good_case;

static const good_case good_cases[] = {
    {"good_f4_2x3.npy", SEGLOSS_F32, 2, {2, 3}},
    {"good_f8_4.npy", SEGLOSS_F64, 1, {4}},
    {"good_u1_2x3x4.npy", SEGLOSS_U8, 3, {2, 3, 4}},
    {"good_b1_3x5.npy", SEGLOSS_BOOL, 2, {3, 5}},
    {"good_i1_7.npy", SEGLOSS_I8, 1, {7}},
    {"good_i2_2x2x2x2.npy", SEGLOSS_I16, 4, {2, 2, 2, 2}},
    {"good_i4_1x2x3x2x1.npy", SEGLOSS_I32, 5, {1, 2, 3, 2, 1}},
    {"good_i8_5x3.npy", SEGLOSS_I64, 2, {5, 3}},
    {"good_u2_6.npy", SEGLOSS_U16, 1, {6}},
    {"good_u4_2x3x2.npy", SEGLOSS_U32, 3, {2, 3, 2}},
    {"good_u8_3x3.npy", SEGLOSS_U64, 2, {3, 3}},
    {"good_f4_scalar.npy", SEGLOSS_F32, 0, {0}},
    {"good_f8_scalar.npy", SEGLOSS_F64, 0, {0}},
    {"good_i8_scalar.npy", SEGLOSS_I64, 0, {0}},
    {"good_f4_1.npy", SEGLOSS_F32, 1, {1}},
    {"good_f4_0.npy", SEGLOSS_F32, 1, {0}},
    {"good_u1_2x0x3.npy", SEGLOSS_U8, 3, {2, 0, 3}},
    {"good_f4_rank6.npy", SEGLOSS_F32, 6, {2, 1, 2, 1, 3, 1}},
    {"good_f4_rank8.npy", SEGLOSS_F32, 8, {1, 2, 1, 2, 1, 2, 1, 2}},
    {"good_f4_v2.npy", SEGLOSS_F32, 2, {3, 4}},
    {"good_u1_v3.npy", SEGLOSS_U8, 2, {2, 5}},
    {"good_i2_v3.npy", SEGLOSS_I16, 1, {4}},
    {"hand_dquote_f4_2x2.npy", SEGLOSS_F32, 2, {2, 2}},
    {"hand_order_i4_3.npy", SEGLOSS_I32, 1, {3}},
    {"hand_native_f8_2.npy", SEGLOSS_F64, 1, {2}},
    {"hand_py2long_f4_2x3.npy", SEGLOSS_F32, 2, {2, 3}},
    {"hand_lt_u1_4.npy", SEGLOSS_U8, 1, {4}},
    {"hand_gt_i1_3.npy", SEGLOSS_I8, 1, {3}},
    {"hand_pipe_u2_2x3.npy", SEGLOSS_U16, 2, {2, 3}},
    {"hand_v2_b1_5.npy", SEGLOSS_BOOL, 1, {5}},
    {"hand_nopad_f4_1x1.npy", SEGLOSS_F32, 2, {1, 1}},
    /* Fortran order: returned in C order, the shape as NumPy reports it. */
    {"good_f4_fortran_2x3.npy", SEGLOSS_F32, 2, {2, 3}},
    {"good_f8_fortran_3x4x5.npy", SEGLOSS_F64, 3, {3, 4, 5}},
    {"good_u1_fortran_4x3x2.npy", SEGLOSS_U8, 3, {4, 3, 2}},
    {"good_b1_fortran_3x5.npy", SEGLOSS_BOOL, 2, {3, 5}},
    {"good_i2_fortran_2x3x4x5.npy", SEGLOSS_I16, 4, {2, 3, 4, 5}},
    {"good_i8_fortran_5x3.npy", SEGLOSS_I64, 2, {5, 3}},
    {"good_u4_fortran_3x1x4.npy", SEGLOSS_U32, 3, {3, 1, 4}},
    {"good_i1_fortran_2x1x2x1x2x1x2x1.npy", SEGLOSS_I8, 8, {2, 1, 2, 1, 2, 1, 2, 1}},
    {"good_f4_fortran_33x3x65.npy", SEGLOSS_F32, 3, {33, 3, 65}},
    {"hand_fortran_f4_3.npy", SEGLOSS_F32, 1, {3}},
    {"hand_fortran_u1_2x0x3.npy", SEGLOSS_U8, 3, {2, 0, 3}},
    {"hand_fortran_f8_scalar.npy", SEGLOSS_F64, 0, {0}},
    {"hand_fortran_u2_1x5x1.npy", SEGLOSS_U16, 3, {1, 5, 1}},
    /* Big-endian: byte-swapped to native. */
    {"good_f4_be_2x3.npy", SEGLOSS_F32, 2, {2, 3}},
    {"good_f8_be_2x3.npy", SEGLOSS_F64, 2, {2, 3}},
    {"good_i2_be_2x3.npy", SEGLOSS_I16, 2, {2, 3}},
    {"good_i4_be_2x3.npy", SEGLOSS_I32, 2, {2, 3}},
    {"good_i8_be_2x3.npy", SEGLOSS_I64, 2, {2, 3}},
    {"good_u2_be_2x3.npy", SEGLOSS_U16, 2, {2, 3}},
    {"good_u4_be_2x3.npy", SEGLOSS_U32, 2, {2, 3}},
    {"good_u8_be_2x3.npy", SEGLOSS_U64, 2, {2, 3}},
    {"hand_bang_i4_3.npy", SEGLOSS_I32, 1, {3}},
    /* Both. */
    {"good_f8_be_fortran_3x4x5.npy", SEGLOSS_F64, 3, {3, 4, 5}},
    {"good_u8_be_fortran_4x3.npy", SEGLOSS_U64, 2, {4, 3}},
};
#define N_GOOD (int)(sizeof good_cases / sizeof good_cases[0])

static void check_good(const segloss_npy *a, const good_case *c, const char *how) {
    int64_t numel = 1;
    for (int k = 0; k < c->ndim; k++) numel *= c->dim[k];
    CHECK_MSG(a->dtype == c->dtype, "%s (%s): dtype %d, expected %d", c->file, how, a->dtype,
              c->dtype);
    CHECK_MSG(a->shape.ndim == c->ndim, "%s (%s): ndim %d, expected %d", c->file, how,
              a->shape.ndim, c->ndim);
    int same = 1;
    for (int k = 0; k < c->ndim && k < SEGLOSS_MAX_DIMS; k++) same &= a->shape.dim[k] == c->dim[k];
    CHECK_MSG(same, "%s (%s): shape differs", c->file, how);
    CHECK_MSG(a->numel == numel, "%s (%s): numel %lld, expected %lld", c->file, how,
              (long long)a->numel, (long long)numel);
    if (numel > 0) {
        CHECK(a->data != NULL);
        if (a->data && a->dtype == c->dtype && a->numel == numel) check_pattern(a, c->file);
    }
}

TEST(npy_read_good_fixtures) {
    for (int i = 0; i < N_GOOD; i++) {
        const good_case *c = &good_cases[i];
        const char *path = fx(c->file);
        char err[256] = "junk";
        segloss_npy a;
        segloss_status st = segloss_npy_read(&a, path, 0, err, sizeof err);
        CHECK_MSG(st == SEGLOSS_OK, "%s: status %d (%s)", c->file, st, err);
        CHECK_MSG(err[0] == '\0', "%s: err not cleared on success: %s", c->file, err);
        if (st == SEGLOSS_OK) check_good(&a, c, "file");
        segloss_npy_free(&a);
        CHECK(npy_is_zeroed(&a));

        size_t len;
        unsigned char *buf = tf_read_file(path, &len);
        CHECK_MSG(buf != NULL, "cannot read fixture %s", path);
        if (!buf) continue;
        st = segloss_npy_read_mem(&a, buf, len, 0, err, sizeof err);
        CHECK_MSG(st == SEGLOSS_OK, "%s (mem): status %d (%s)", c->file, st, err);
        if (st == SEGLOSS_OK) check_good(&a, c, "mem");
        segloss_npy_free(&a);
        free(buf);
    }
}

TEST(npy_read_scalars_and_specials) {
    segloss_npy a;
    char err[256];
    CHECK_EQ_INT(segloss_npy_read(&a, fx("good_f4_scalar.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 1);
    CHECK_EQ_INT(a.shape.ndim, 0);
    if (a.data) CHECK_CLOSE(((float *)a.data)[0], -1.75, 0, 0);
    segloss_npy_free(&a);

    CHECK_EQ_INT(segloss_npy_read(&a, fx("good_i8_scalar.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 1);
    if (a.data) CHECK_EQ_INT(((int64_t *)a.data)[0], 5);
    segloss_npy_free(&a);

    CHECK_EQ_INT(segloss_npy_read(&a, fx("good_f4_special.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 6);
    if (a.data && a.numel == 6) {
        const float *v = a.data;
        CHECK(isnan(v[0]));
        CHECK(isinf(v[1]) && v[1] > 0);
        CHECK(isinf(v[2]) && v[2] < 0);
        CHECK(v[3] == 0 && signbit(v[3]));
        uint32_t bits;
        memcpy(&bits, &v[4], 4);
        CHECK_EQ_INT(bits, 1); /* smallest subnormal */
        CHECK(v[5] == 3.40282347e38f);
    }
    segloss_npy_free(&a);

    /* Zero-size arrays are valid. */
    CHECK_EQ_INT(segloss_npy_read(&a, fx("good_u1_2x0x3.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 0);
    CHECK_EQ_INT(a.shape.ndim, 3);
    CHECK_EQ_INT(a.shape.dim[1], 0);
    segloss_npy_free(&a);
}

/* ------------------------------------------------------------------------ */
/* Invalid fixtures                                                          */
/* ------------------------------------------------------------------------ */
static const struct {
    const char *file;
    segloss_status st;
    const char *msg; /* must occur in the error message */
} bad_cases[] = {
    {"bad_empty.npy", SEGLOSS_ERR_FORMAT, "empty"},
    {"bad_magic.npy", SEGLOSS_ERR_FORMAT, "magic"},
    {"bad_text.npy", SEGLOSS_ERR_FORMAT, "magic"},
    {"bad_trunc_preamble.npy", SEGLOSS_ERR_FORMAT, "truncated header"},
    {"bad_trunc_header.npy", SEGLOSS_ERR_FORMAT, "truncated header"},
    {"bad_trunc_data.npy", SEGLOSS_ERR_FORMAT, "truncated: expected 24 bytes of data, got 20"},
    {"bad_trailing.npy", SEGLOSS_ERR_FORMAT, "trailing bytes"},
    {"bad_version.npy", SEGLOSS_ERR_UNSUPPORTED, "version 4.0"},
    {"bad_hdrlen.npy", SEGLOSS_ERR_FORMAT, "header length 60000 runs past the end"},
    {"bad_hdrlen_v2.npy", SEGLOSS_ERR_FORMAT, "runs past the end"},
    {"bad_complex.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '<c8' (complex)"},
    {"bad_object.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '|O' (Python objects)"},
    {"bad_structured.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype: structured"},
    {"bad_unicode.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '<U2'"},
    {"bad_float128.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '<f16' (only 2-, 4- and 8-byte floats"},
    {"bad_float3.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '<f3'"},
    {"bad_datetime.npy", SEGLOSS_ERR_UNSUPPORTED, "(datetime)"},
    {"bad_negdim.npy", SEGLOSS_ERR_FORMAT, "negative dimension"},
    {"bad_overflow.npy", SEGLOSS_ERR_OVERFLOW, "overflows"},
    {"bad_hugedim.npy", SEGLOSS_ERR_OVERFLOW, "too large"},
    {"bad_rank9.npy", SEGLOSS_ERR_UNSUPPORTED, "rank 9 exceeds the maximum of 8"},
    {"bad_garbage_dict.npy", SEGLOSS_ERR_FORMAT, "not a Python dict"},
    {"bad_unclosed_dict.npy", SEGLOSS_ERR_FORMAT, "not closed"},
    {"bad_unterminated.npy", SEGLOSS_ERR_FORMAT, "expected ',' or '}'"},
    {"bad_unknown_key.npy", SEGLOSS_ERR_FORMAT, "unknown key 'extra'"},
    {"bad_missing_key.npy", SEGLOSS_ERR_FORMAT, "no 'fortran_order' key"},
    {"bad_dup_key.npy", SEGLOSS_ERR_FORMAT, "duplicate key 'descr'"},
    {"bad_shape_notuple.npy", SEGLOSS_ERR_FORMAT, "'shape' must be a tuple"},
    {"bad_shape_list.npy", SEGLOSS_ERR_FORMAT, "'shape' must be a tuple"},
    {"bad_shape_float.npy", SEGLOSS_ERR_FORMAT, "tuple of integers"},
    {"bad_fortran_value.npy", SEGLOSS_ERR_FORMAT, "True or False"},
    {"bad_descr_garbage.npy", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype '<zz'"},
    {"bad_text_after.npy", SEGLOSS_ERR_FORMAT, "after the header dict"},
};

TEST(npy_read_bad_fixtures) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const char *file = bad_cases[i].file;
        const char *path = fx(file);
        char err[256] = "", err2[256] = "";
        segloss_npy a;
        memset(&a, 0x5a, sizeof a); /* must be zeroed by the reader */
        segloss_status st = segloss_npy_read(&a, path, 0, err, sizeof err);
        CHECK_MSG(st == bad_cases[i].st, "%s: status %d, expected %d (%s)", file, st,
                  bad_cases[i].st, err);
        CHECK_MSG(strstr(err, bad_cases[i].msg) != NULL, "%s: message '%s' lacks '%s'", file,
                  err, bad_cases[i].msg);
        CHECK_MSG(!strstr(err, "bad_") && !strchr(err, '\n'),
                  "%s: message should be one sentence without the file name: %s", file, err);
        CHECK_MSG(npy_is_zeroed(&a), "%s: *out not zeroed on error", file);

        size_t len;
        unsigned char *buf = tf_read_file(path, &len);
        CHECK_MSG(buf != NULL, "cannot read fixture %s", path);
        memset(&a, 0x5a, sizeof a);
        st = segloss_npy_read_mem(&a, buf, len, 0, err2, sizeof err2);
        CHECK_MSG(st == bad_cases[i].st, "%s (mem): status %d, expected %d (%s)", file, st,
                  bad_cases[i].st, err2);
        CHECK_MSG(strcmp(err, err2) == 0, "%s: file and memory messages differ: '%s' vs '%s'",
                  file, err, err2);
        CHECK_MSG(npy_is_zeroed(&a), "%s (mem): *out not zeroed on error", file);
        free(buf);
    }
}

TEST(npy_read_max_bytes) {
    const char *path = fx("good_f4_2x3.npy"); /* 24 data bytes */
    size_t len;
    unsigned char *buf = tf_read_file(path, &len);
    CHECK(buf != NULL);
    if (!buf) return;
    char err[256];
    segloss_npy a;
    CHECK_EQ_INT(segloss_npy_read(&a, path, 23, err, sizeof err), SEGLOSS_ERR_LIMIT);
    CHECK_MSG(strstr(err, "24") && strstr(err, "23"), "limit message: %s", err);
    CHECK(npy_is_zeroed(&a));
    CHECK_EQ_INT(segloss_npy_read_mem(&a, buf, len, 23, err, sizeof err), SEGLOSS_ERR_LIMIT);
    CHECK_MSG(strstr(err, "24") && strstr(err, "23"), "limit message: %s", err);
    CHECK(npy_is_zeroed(&a));
    CHECK_EQ_INT(segloss_npy_read(&a, path, 24, err, sizeof err), SEGLOSS_OK);
    segloss_npy_free(&a);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, buf, len, 24, err, sizeof err), SEGLOSS_OK);
    segloss_npy_free(&a);
    free(buf);
    /* Zero bytes of data never exceed a cap; the cap is checked before the
     * data (a truncated file over the cap reports the cap). */
    CHECK_EQ_INT(segloss_npy_read(&a, fx("good_f4_0.npy"), 1, err, sizeof err),
                 SEGLOSS_OK);
    segloss_npy_free(&a);
    CHECK_EQ_INT(segloss_npy_read(&a, fx("bad_trunc_data.npy"), 10, err, sizeof err),
                 SEGLOSS_ERR_LIMIT);
    /* A cap far below a huge claimed size: LIMIT, not an allocation. */
    CHECK_EQ_INT(segloss_npy_read(&a, fx("bad_overflow.npy"), 10, err, sizeof err),
                 SEGLOSS_ERR_OVERFLOW);
}

/* ------------------------------------------------------------------------ */
/* Truncations and corruptions must fail cleanly (run under ASan)            */
/* ------------------------------------------------------------------------ */
static const char *prefix_files[] = {
    "good_f4_2x3.npy", "good_f4_v2.npy", "good_u1_v3.npy", "hand_order_i4_3.npy",
    "good_f4_scalar.npy", "good_u1_2x0x3.npy", "hand_native_f8_2.npy", "good_i8_5x3.npy",
};

TEST(npy_read_every_prefix_fails) {
    for (size_t f = 0; f < sizeof prefix_files / sizeof prefix_files[0]; f++) {
        size_t len;
        unsigned char *buf = tf_read_file(fx(prefix_files[f]), &len);
        CHECK(buf != NULL && len > 0);
        if (!buf) continue;
        int bad = 0;
        for (size_t n = 0; n < len; n++) {
            unsigned char *p = malloc(n ? n : 1);
            memcpy(p, buf, n);
            segloss_npy a;
            char err[256];
            segloss_status st = segloss_npy_read_mem(&a, p, n, 0, err, sizeof err);
            if (st != SEGLOSS_ERR_FORMAT || !npy_is_zeroed(&a) || !err[0]) {
                if (bad++ < 3)
                    CHECK_MSG(0, "%s prefix %zu: status %d (%s)", prefix_files[f], n, st, err);
                segloss_npy_free(&a);
            }
            free(p);
        }
        if (!bad) tf_pass();
        /* The full file still reads. */
        segloss_npy a;
        CHECK_EQ_INT(segloss_npy_read_mem(&a, buf, len, 0, NULL, 0), SEGLOSS_OK);
        segloss_npy_free(&a);
        free(buf);
    }
}

TEST(npy_read_file_prefixes_match_mem) {
    const char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512];
    join(path, sizeof path, dir, "prefix.npy");
    size_t len;
    unsigned char *buf = tf_read_file(fx("good_f4_2x3.npy"), &len);
    CHECK(buf != NULL);
    int bad = 0;
    for (size_t n = 0; buf && n <= len + 2; n++) {
        unsigned char *p = malloc(len + 2);
        memcpy(p, buf, len);
        p[len] = p[len + 1] = 0;
        write_bytes(path, p, n);
        segloss_npy a, b;
        char e1[256], e2[256];
        segloss_status s1 = segloss_npy_read(&a, path, 0, e1, sizeof e1);
        segloss_status s2 = segloss_npy_read_mem(&b, p, n, 0, e2, sizeof e2);
        segloss_status want = n == len ? SEGLOSS_OK : SEGLOSS_ERR_FORMAT;
        if (s1 != want || s2 != want || strcmp(e1, e2) != 0) {
            if (bad++ < 3)
                CHECK_MSG(0, "length %zu: file %d '%s', mem %d '%s'", n, s1, e1, s2, e2);
        }
        segloss_npy_free(&a);
        segloss_npy_free(&b);
        free(p);
    }
    if (!bad) tf_pass();
    free(buf);
    remove_tree(dir);
}

static uint64_t lcg_state = 0x243F6A8885A308D3ull;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

/* Whatever the read returns, a success must be self-consistent and a
 * failure must leave *out zeroed with a message. */
static int consistent(segloss_status st, const segloss_npy *a, const char *err, size_t len) {
    if (st != SEGLOSS_OK) return npy_is_zeroed(a) && err[0] != '\0';
    int64_t numel;
    if (segloss_shape_numel(&a->shape, &numel) != SEGLOSS_OK || numel != a->numel) return 0;
    size_t sz = segloss_dtype_size(a->dtype);
    if (sz == 0 || (numel > 0 && !a->data)) return 0;
    return (uint64_t)numel * sz <= len;
}

TEST(npy_read_corruptions_fail_cleanly) {
    static const unsigned char vals[] = {0x00, ' ', '\'', '"', '(', ')', ',', ':', '{', '}',
                                         '[', '0', '9', '-', 'L', 'T', 0x80, 0xff, '\n'};
    const char *files[] = {"good_f4_2x3.npy", "hand_order_i4_3.npy", "good_f4_v2.npy",
                           "hand_nopad_f4_1x1.npy"};
    int bad = 0, oks = 0;
    long runs = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        unsigned char *buf = tf_read_file(fx(files[f]), &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        unsigned char *p = malloc(len);
        /* Every single-byte substitution in the preamble and header. */
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t v = 0; v < sizeof vals + 1; v++) {
                memcpy(p, buf, len);
                p[pos] = v < sizeof vals ? vals[v] : (unsigned char)(buf[pos] ^ 1);
                segloss_npy a;
                char err[256];
                segloss_status st = segloss_npy_read_mem(&a, p, len, 0, err, sizeof err);
                runs++;
                if (st == SEGLOSS_OK) oks++;
                if (!consistent(st, &a, err, len) && bad++ < 3)
                    CHECK_MSG(0, "%s byte %zu = %#x: inconsistent result %d", files[f], pos,
                              p[pos], st);
                segloss_npy_free(&a);
            }
        }
        /* Random multi-byte corruptions and truncations. */
        for (int it = 0; it < 5000; it++) {
            memcpy(p, buf, len);
            int nmut = 1 + (int)(lcg() % 4);
            for (int k = 0; k < nmut; k++) p[lcg() % len] = (unsigned char)lcg();
            size_t n = (lcg() % 4 == 0) ? lcg() % (len + 1) : len;
            unsigned char *q = malloc(n ? n : 1);
            memcpy(q, p, n);
            segloss_npy a;
            char err[256];
            segloss_status st = segloss_npy_read_mem(&a, q, n, 0, err, sizeof err);
            runs++;
            if (!consistent(st, &a, err, n) && bad++ < 3)
                CHECK_MSG(0, "%s random corruption %d: inconsistent result %d", files[f], it, st);
            segloss_npy_free(&a);
            free(q);
        }
        free(p);
        free(buf);
    }
    CHECK(oks > 0); /* e.g. changing a data byte still reads */
    CHECK(runs > 1000);
    if (!bad) tf_pass();
}

/* Builds a v1/v2 file around a header string, in an exact-size buffer. */
static unsigned char *make_npy(const char *header, size_t hlen, const void *data, size_t dlen,
                               size_t *len) {
    int v2 = hlen > 65535;
    size_t pre = v2 ? 12 : 10;
    *len = pre + hlen + dlen;
    unsigned char *b = malloc(*len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = v2 ? 2 : 1;
    b[7] = 0;
    for (size_t k = 0; k < (v2 ? 4u : 2u); k++) b[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(b + pre, header, hlen);
    if (dlen) memcpy(b + pre + hlen, data, dlen);
    return b;
}

static segloss_status read_header_string(const char *header, size_t dlen, char *err,
                                         size_t errlen, segloss_npy *a) {
    unsigned char zeros[64] = {0};
    size_t len;
    unsigned char *b = make_npy(header, strlen(header), zeros, dlen, &len);
    segloss_status st = segloss_npy_read_mem(a, b, len, 0, err, errlen);
    free(b);
    return st;
}

TEST(npy_read_header_syntax) {
    segloss_npy a;
    char err[256];
    /* Legal spellings. */
    static const struct { const char *h; size_t dlen; int ndim; } ok[] = {
        {"{'descr':'<f4','fortran_order':False,'shape':()}", 4, 0},
        {"{'descr':'<f4','fortran_order':False,'shape':(),}\n", 4, 0},
        {"  {\"shape\": (2, 2,), \"descr\": \"<f4\", \"fortran_order\": False}   \n", 16, 2},
        {"{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", 4, 1},
        {"{'descr': '|i1', 'fortran_order': False, 'shape': (+3,), }", 3, 1},
        {"{'descr': '<b1', 'fortran_order': False, 'shape': ( 0 , 5 ), }", 0, 2},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-0,), }", 0, 1},
        {"{'descr':\n'<u8',\n'fortran_order':\nFalse,\n'shape':\n(1,\n)\n}", 8, 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        segloss_status st = read_header_string(ok[i].h, ok[i].dlen, err, sizeof err, &a);
        CHECK_MSG(st == SEGLOSS_OK, "header %zu: status %d (%s)", i, st, err);
        if (st == SEGLOSS_OK) CHECK_EQ_INT(a.shape.ndim, ok[i].ndim);
        segloss_npy_free(&a);
    }
    /* Illegal ones. */
    static const struct { const char *h; segloss_status st; const char *msg; } no[] = {
        {"", SEGLOSS_ERR_FORMAT, "dict"},
        {"{", SEGLOSS_ERR_FORMAT, "not closed"},
        {"{}", SEGLOSS_ERR_FORMAT, "no 'descr' key"},
        {"{'descr':'<f4','fortran_order':False}", SEGLOSS_ERR_FORMAT, "no 'shape' key"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1,),,}", SEGLOSS_ERR_FORMAT, "quoted key"},
        {"{'descr':'<f4' 'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "expected ','"},
        {"{'descr' '<f4','fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "':'"},
        {"{descr:'<f4','fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "quoted key"},
        {"{'descr':'<f4','fortran_order':Falsey,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "True or False"},
        {"{'descr':'<f4','fortran_order':false,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "True or False"},
        {"{'descr':<f4,'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "'descr' must be a string"},
        {"{'descr':'<\\x66\\x34','fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "escape"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1,,)}", SEGLOSS_ERR_FORMAT, "integers"},
        {"{'descr':'<f4','fortran_order':False,'shape':(,)}", SEGLOSS_ERR_FORMAT, "integers"},
        {"{'descr':'<f4','fortran_order':False,'shape':(01,)}", SEGLOSS_ERR_FORMAT, "leading zeros"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1 2)}", SEGLOSS_ERR_FORMAT, "expected ',' or ')'"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1e3,)}", SEGLOSS_ERR_FORMAT, "integers"},
        {"{'descr':'<f4','fortran_order':False,'shape':(0x10,)}", SEGLOSS_ERR_FORMAT, "integers"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1,)} x", SEGLOSS_ERR_FORMAT, "after the header"},
        {"{'descr':'','fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "'descr' is empty"},
        {"{'descr':'<f4 ','fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_UNSUPPORTED, "unsupported dtype"},
        {"{'descr':[('a','<f4')],'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_UNSUPPORTED, "structured"},
        {"{'descr':[('a','<f4'),],'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_UNSUPPORTED, "structured"},
        {"{'descr':[('a','<f4', (2,))],'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_UNSUPPORTED, "structured"},
        {"{'descr':[('a','<f4'),'fortran_order':False,'shape':(1,)}", SEGLOSS_ERR_FORMAT, "'descr' list"},
        {"{'descr':'<f4','fortran_order':False,'shape':(9223372036854775807,)}", SEGLOSS_ERR_OVERFLOW, "overflows"},
        {"{'descr':'<f4','fortran_order':False,'shape':(9223372036854775808,)}", SEGLOSS_ERR_OVERFLOW, "too large"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1152921504606846976,)}", SEGLOSS_ERR_OVERFLOW, "overflows"},
        {"{'descr':'<f4','fortran_order':False,'shape':(0, 4294967296, 4294967296)}", SEGLOSS_ERR_OVERFLOW, "overflows"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1,1,1,1,1,1,1,1,1,1,1,1)}", SEGLOSS_ERR_UNSUPPORTED, "rank 12"},
        {"{'descr':'<f4','fortran_order':False,'shape':(-1,)}", SEGLOSS_ERR_FORMAT, "negative"},
        {"{'descr':'<f4','fortran_order':False,'shape':(1,-99999999999999999999999)}", SEGLOSS_ERR_FORMAT, "negative"},
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        memset(&a, 0x5a, sizeof a);
        unsigned char zeros[8] = {0};
        size_t len;
        unsigned char *b = make_npy(no[i].h, strlen(no[i].h), zeros, 4, &len);
        segloss_status st = segloss_npy_read_mem(&a, b, len, 0, err, sizeof err);
        free(b);
        CHECK_MSG(st == no[i].st, "bad header %zu (%s): status %d, expected %d (%s)", i, no[i].h,
                  st, no[i].st, err);
        if (no[i].msg[0])
            CHECK_MSG(strstr(err, no[i].msg) != NULL, "bad header %zu: message '%s' lacks '%s'",
                      i, err, no[i].msg);
        CHECK(npy_is_zeroed(&a));
    }
    /* A NUL byte after the dict (not whitespace). */
    static const char nul_hdr[] = "{'descr':'<f4','fortran_order':False,'shape':(1,)}\0";
    size_t len;
    unsigned char *b = make_npy(nul_hdr, sizeof nul_hdr - 1, "\0\0\0\0", 4, &len);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, b, len, 0, err, sizeof err), SEGLOSS_ERR_FORMAT);
    CHECK_MSG(strstr(err, "after the header dict") != NULL, "%s", err);
    free(b);
}

TEST(npy_read_pathological_headers) {
    segloss_npy a;
    char err[256];
    /* Deeply nested structured descr: rejected without deep recursion. */
    size_t depth = 200000;
    char *h = malloc(depth + 64);
    memcpy(h, "{'descr':", 9);
    memset(h + 9, '[', depth);
    h[9 + depth] = '\0';
    size_t len;
    unsigned char *b = make_npy(h, strlen(h), NULL, 0, &len);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, b, len, 0, err, sizeof err), SEGLOSS_ERR_FORMAT);
    CHECK(npy_is_zeroed(&a));
    free(b);
    free(h);

    /* A v2 header with 100000 dimensions. */
    size_t n = 100000;
    h = malloc(3 * n + 128);
    size_t k = (size_t)sprintf(h, "{'descr':'<f4','fortran_order':False,'shape':(");
    for (size_t i = 0; i < n; i++) {
        memcpy(h + k, "1, ", 3);
        k += 3;
    }
    k += (size_t)sprintf(h + k, ")}");
    b = make_npy(h, k, "\0\0\0\0", 4, &len);
    CHECK(b[6] == 2);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, b, len, 0, err, sizeof err), SEGLOSS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(err, "rank 100000") != NULL, "%s", err);
    free(b);
    free(h);

    /* A million-digit dimension. */
    n = 1000000;
    h = malloc(n + 128);
    k = (size_t)sprintf(h, "{'descr':'<f4','fortran_order':False,'shape':(");
    memset(h + k, '7', n);
    k += n;
    k += (size_t)sprintf(h + k, ",)}");
    b = make_npy(h, k, NULL, 0, &len);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, b, len, 0, err, sizeof err), SEGLOSS_ERR_OVERFLOW);
    free(b);
    free(h);

    /* Each accepted descr spelling, and its dtype. */
    static const struct { const char *d; segloss_dtype t; } spell[] = {
        {"<f4", SEGLOSS_F32}, {"=f4", SEGLOSS_F32}, {"|f4", SEGLOSS_F32}, {"f8", SEGLOSS_F64},
        {"<f8", SEGLOSS_F64}, {"|u1", SEGLOSS_U8},  {"<u1", SEGLOSS_U8},  {">u1", SEGLOSS_U8},
        {"=u1", SEGLOSS_U8},  {"|b1", SEGLOSS_BOOL}, {">b1", SEGLOSS_BOOL}, {"|i1", SEGLOSS_I8},
        {"<i2", SEGLOSS_I16}, {"=i4", SEGLOSS_I32}, {"<i8", SEGLOSS_I64}, {"<u2", SEGLOSS_U16},
        {"<u4", SEGLOSS_U32}, {"<u8", SEGLOSS_U64}, {">u2", SEGLOSS_U16}, {"!i4", SEGLOSS_I32},
        {">f8", SEGLOSS_F64}, {"!f4", SEGLOSS_F32},
    };
    for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
                 spell[i].d);
        segloss_status st = read_header_string(hdr, 2 * segloss_dtype_size(spell[i].t), err,
                                               sizeof err, &a);
        CHECK_MSG(st == SEGLOSS_OK && a.dtype == spell[i].t, "descr '%s': status %d dtype %d",
                  spell[i].d, st, a.dtype);
        segloss_npy_free(&a);
    }
    /* float16 spellings: 2 bytes per element in the file, float32 out. */
    static const char *const half[] = {"<f2", ">f2", "=f2", "|f2", "!f2", "f2"};
    for (size_t i = 0; i < sizeof half / sizeof half[0]; i++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
                 half[i]);
        segloss_status st = read_header_string(hdr, 4, err, sizeof err, &a);
        CHECK_MSG(st == SEGLOSS_OK && a.dtype == SEGLOSS_F32 && a.numel == 2,
                  "descr '%s': status %d dtype %d (%s)", half[i], st, a.dtype, err);
        segloss_npy_free(&a);
        CHECK_EQ_INT(read_header_string(hdr, 8, err, sizeof err, &a), SEGLOSS_ERR_FORMAT);
        CHECK_MSG(strstr(err, "trailing bytes") != NULL, "%s", err);
    }
}

/* ------------------------------------------------------------------------ */
/* Fortran order, byte order and float16 against what NumPy holds            */
/* ------------------------------------------------------------------------ */
/* conv_X.npy and the values NumPy holds for it, conv_X.want.npy (C order,
 * little-endian, float16 as float32): equal dtype, shape and bits. */
static const struct {
    const char *file, *want;
} conv_cases[] = {
    {"conv_i4_transposed_4x3.npy", "conv_i4_transposed_4x3.want.npy"},
    {"conv_u2_transposed_4x3x2.npy", "conv_u2_transposed_4x3x2.want.npy"},
    {"conv_f8_swapaxes_5x4x3.npy", "conv_f8_swapaxes_5x4x3.want.npy"},
    {"conv_i4_be_transposed_4x3.npy", "conv_i4_be_transposed_4x3.want.npy"},
    {"conv_f2_every.npy", "conv_f2_every.want.npy"},
    {"conv_f2_be_every.npy", "conv_f2_every.want.npy"},
    {"conv_f2_special_fortran_5x2.npy", "conv_f2_special_fortran_5x2.want.npy"},
    {"conv_f2_be_fortran_2x5.npy", "conv_f2_be_fortran_2x5.want.npy"},
};

static void check_same_array(const segloss_npy *a, const segloss_npy *w, const char *name) {
    CHECK_MSG(a->dtype == w->dtype, "%s: dtype %d, NumPy's %d", name, a->dtype, w->dtype);
    CHECK_MSG(a->shape.ndim == w->shape.ndim && a->numel == w->numel &&
                  memcmp(a->shape.dim, w->shape.dim, sizeof a->shape.dim) == 0,
              "%s: shape differs from NumPy's", name);
    if (a->dtype != w->dtype || a->numel != w->numel) return;
    size_t es = segloss_dtype_size(a->dtype);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < a->numel; i++)
        if (memcmp((const char *)a->data + (size_t)i * es, (const char *)w->data + (size_t)i * es,
                   es) != 0 && bad++ == 0)
            first = i;
    CHECK_MSG(bad == 0, "%s: %lld of %lld elements differ from NumPy's, first at %lld (bits "
              "%#llx, NumPy %#llx)", name, (long long)bad, (long long)a->numel, (long long)first,
              (unsigned long long)(first >= 0 ? element_bits(a->data, a->dtype, first) : 0),
              (unsigned long long)(first >= 0 ? element_bits(w->data, w->dtype, first) : 0));
}

TEST(npy_read_matches_numpy) {
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        char err[256];
        segloss_npy a, w;
        segloss_status st = segloss_npy_read(&w, fx(conv_cases[i].want), 0, err, sizeof err);
        CHECK_MSG(st == SEGLOSS_OK, "%s: %s", conv_cases[i].want, err);
        st = segloss_npy_read(&a, fx(conv_cases[i].file), 0, err, sizeof err);
        CHECK_MSG(st == SEGLOSS_OK, "%s: %s", conv_cases[i].file, err);
        if (st == SEGLOSS_OK && w.data) check_same_array(&a, &w, conv_cases[i].file);
        segloss_npy_free(&a);
        /* The same from memory, and the cap counts the float32 result. */
        size_t len;
        unsigned char *buf = tf_read_file(fx(conv_cases[i].file), &len);
        CHECK(buf != NULL);
        st = segloss_npy_read_mem(&a, buf, len, 0, err, sizeof err);
        CHECK_MSG(st == SEGLOSS_OK, "%s (mem): %s", conv_cases[i].file, err);
        if (st == SEGLOSS_OK && w.data) check_same_array(&a, &w, conv_cases[i].file);
        segloss_npy_free(&a);
        size_t out_bytes = (size_t)w.numel * segloss_dtype_size(w.dtype);
        CHECK_EQ_INT(segloss_npy_read_mem(&a, buf, len, out_bytes - 1, err, sizeof err),
                     SEGLOSS_ERR_LIMIT);
        CHECK_EQ_INT(segloss_npy_read_mem(&a, buf, len, out_bytes, err, sizeof err), SEGLOSS_OK);
        segloss_npy_free(&a);
        free(buf);
        segloss_npy_free(&w);
    }
}

/* float16 specials, by value (independent of the fixtures' NumPy). */
TEST(npy_read_float16_values) {
    static const struct { uint16_t h; uint32_t f; } v[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000},           /* +-0 */
        {0x3c00, 0x3f800000}, {0xc100, 0xc0200000},           /* 1, -2.5 */
        {0x7bff, 0x477fe000}, {0x0400, 0x38800000},           /* 65504, 2^-14 */
        {0x0001, 0x33800000}, {0x03ff, 0x387fc000},           /* 2^-24, largest subnormal */
        {0x8200, 0xb8000000},                                 /* -2^-15 (subnormal) */
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000},           /* +-inf */
        {0x7e00, 0x7fc00000}, {0xfe00, 0xffc00000},           /* quiet NaNs */
        {0x7c01, 0x7f802000}, {0x7dff, 0x7fbfe000},           /* signalling NaNs: payload kept */
    };
    size_t n = sizeof v / sizeof v[0];
    char hdr[128], err[256];
    snprintf(hdr, sizeof hdr, "{'descr': '<f2', 'fortran_order': False, 'shape': (%zu,), }", n);
    unsigned char data[64];
    for (size_t i = 0; i < n; i++) {
        data[2 * i] = (unsigned char)(v[i].h & 0xff);
        data[2 * i + 1] = (unsigned char)(v[i].h >> 8);
    }
    size_t len;
    unsigned char *b = make_npy(hdr, strlen(hdr), data, 2 * n, &len);
    segloss_npy a;
    CHECK_EQ_INT(segloss_npy_read_mem(&a, b, len, 0, err, sizeof err), SEGLOSS_OK);
    for (size_t i = 0; a.data && i < n; i++) {
        uint32_t got;
        memcpy(&got, (const float *)a.data + i, 4);
        CHECK_MSG(got == v[i].f, "float16 %#x -> %#x, expected %#x", v[i].h, got, v[i].f);
    }
    segloss_npy_free(&a);
    free(b);
}

/* Fortran-order arrays of many shapes and every element size, against the
 * closed form: the element stored at Fortran offset f, whose index is
 * (i0, ..., ik), must land at its C offset, so it is stored holding that
 * C offset. Shapes straddle the 32-element tiles of the reordering. */
TEST(npy_read_fortran_shapes) {
    static const segloss_shape shapes[] = {
        {2, {1, 1}},       {2, {7, 1}},          {2, {1, 7}},         {2, {31, 33}},
        {2, {64, 32}},     {2, {65, 97}},        {3, {33, 2, 31}},    {3, {2, 70, 3}},
        {4, {3, 5, 1, 40}}, {5, {2, 3, 2, 3, 35}}, {6, {33, 1, 2, 1, 2, 3}},
    };
    static const char *const codes[] = {"|u1", "<u2", "<u4", "<u8", ">u2", ">u4", ">u8"};
    static const segloss_dtype types[] = {SEGLOSS_U8,  SEGLOSS_U16, SEGLOSS_U32, SEGLOSS_U64,
                                          SEGLOSS_U16, SEGLOSS_U32, SEGLOSS_U64};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const segloss_shape *sh = &shapes[s];
        int64_t n = 1;
        for (int k = 0; k < sh->ndim; k++) n *= sh->dim[k];
        for (size_t t = 0; t < sizeof codes / sizeof codes[0]; t++) {
            size_t es = segloss_dtype_size(types[t]);
            int big = codes[t][0] == '>';
            unsigned char *data = malloc((size_t)n * es);
            for (int64_t f = 0; f < n; f++) {
                /* Fortran offset f -> index -> C offset c. */
                int64_t rest = f, idx[SEGLOSS_MAX_DIMS], c = 0;
                for (int k = 0; k < sh->ndim; k++) {
                    idx[k] = rest % sh->dim[k];
                    rest /= sh->dim[k];
                }
                for (int k = 0; k < sh->ndim; k++) c = c * sh->dim[k] + idx[k];
                for (size_t byte = 0; byte < es; byte++) {
                    unsigned char v = (unsigned char)((uint64_t)c >> (8 * byte));
                    data[(size_t)f * es + (big ? es - 1 - byte : byte)] = v;
                }
            }
            char hdr[256], shape_txt[160];
            size_t k = (size_t)snprintf(shape_txt, sizeof shape_txt, "(");
            for (int d = 0; d < sh->ndim; d++)
                k += (size_t)snprintf(shape_txt + k, sizeof shape_txt - k, "%lld, ",
                                      (long long)sh->dim[d]);
            snprintf(shape_txt + k, sizeof shape_txt - k, ")");
            snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': True, 'shape': %s, }",
                     codes[t], shape_txt);
            size_t len;
            unsigned char *b = make_npy(hdr, strlen(hdr), data, (size_t)n * es, &len);
            segloss_npy a;
            char err[256];
            segloss_status st = segloss_npy_read_mem(&a, b, len, 0, err, sizeof err);
            CHECK_MSG(st == SEGLOSS_OK, "%s %s: %s", codes[t], shape_txt, err);
            int64_t bad = -1;
            for (int64_t c = 0; st == SEGLOSS_OK && c < n && bad < 0; c++) {
                uint64_t mask = es == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * es)) - 1;
                if (element_bits(a.data, a.dtype, c) != ((uint64_t)c & mask)) bad = c;
            }
            CHECK_MSG(bad < 0, "%s %s: C element %lld holds %#llx", codes[t], shape_txt,
                      (long long)bad,
                      (unsigned long long)(bad >= 0 ? element_bits(a.data, a.dtype, bad) : 0));
            segloss_npy_free(&a);
            free(b);
            free(data);
        }
    }
}

/* A FIFO has no size: the file reader must grow its buffer as data arrives. */
static segloss_status read_through_fifo(const char *dir, const void *bytes, size_t n,
                                        segloss_npy *a, char *err, size_t errlen) {
    char path[512];
    join(path, sizeof path, dir, "fifo.npy");
    unlink(path);
    if (mkfifo(path, 0600) != 0) return SEGLOSS_ERR_INTERNAL;
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(bytes, 1, n, f);
            fclose(f);
        }
        _exit(0);
    }
    segloss_status st = segloss_npy_read(a, path, 0, err, errlen);
    int status;
    waitpid(pid, &status, 0);
    unlink(path);
    return st;
}

TEST(npy_read_from_fifo) {
    const char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    /* A 3 MB file, well over the reader's first buffer size. */
    segloss_shape sh = {2, {1000, 750}};
    float *v = malloc(750000 * sizeof *v);
    fill_pattern(v, SEGLOSS_F32, 750000);
    char path[512], err[256];
    join(path, sizeof path, dir, "big.npy");
    CHECK_EQ_INT(segloss_npy_write(path, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_OK);
    size_t len;
    unsigned char *bytes = tf_read_file(path, &len);
    segloss_npy a;
    CHECK_EQ_INT(read_through_fifo(dir, bytes, len, &a, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 750000);
    if (a.data && a.numel == 750000) CHECK(memcmp(a.data, v, 750000 * sizeof *v) == 0);
    segloss_npy_free(&a);
    /* Trailing and missing bytes through a FIFO. */
    unsigned char *more = malloc(len + 5);
    memcpy(more, bytes, len);
    memset(more + len, 0, 5);
    CHECK_EQ_INT(read_through_fifo(dir, more, len + 5, &a, err, sizeof err), SEGLOSS_ERR_FORMAT);
    CHECK_MSG(strstr(err, "trailing bytes") != NULL, "%s", err);
    CHECK(npy_is_zeroed(&a));
    CHECK_EQ_INT(read_through_fifo(dir, bytes, len - 1, &a, err, sizeof err), SEGLOSS_ERR_FORMAT);
    CHECK_MSG(strstr(err, "truncated: expected 3000000 bytes of data, got 2999999") != NULL, "%s",
              err);
    CHECK(npy_is_zeroed(&a));
    /* The cap is enforced before the data is read. */
    CHECK_EQ_INT(segloss_npy_read(&a, path, 1000, err, sizeof err), SEGLOSS_ERR_LIMIT);
    free(more);
    free(bytes);
    free(v);
    remove_tree(dir);
}

TEST(npy_read_api_errors) {
    segloss_npy a;
    char err[256];
    CHECK_EQ_INT(segloss_npy_read(NULL, fx("good_f4_2x3.npy"), 0, err, sizeof err),
                 SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_read(&a, NULL, 0, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_read_mem(NULL, "x", 1, 0, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, NULL, 5, 0, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_read_mem(&a, NULL, 0, 0, err, sizeof err), SEGLOSS_ERR_FORMAT);

    CHECK_EQ_INT(segloss_npy_read(&a, fx("does_not_exist.npy"), 0, err, sizeof err),
                 SEGLOSS_ERR_IO);
    CHECK_MSG(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
    CHECK(npy_is_zeroed(&a));
    CHECK_EQ_INT(segloss_npy_read(&a, fx(""), 0, err, sizeof err), SEGLOSS_ERR_IO);
    CHECK_MSG(strstr(err, strerror(EISDIR)) != NULL, "%s", err);
    CHECK(npy_is_zeroed(&a));

    /* err may be NULL, errlen may be 0 (buffer untouched), messages truncate. */
    const char *bad = fx("bad_complex.npy");
    CHECK_EQ_INT(segloss_npy_read(&a, bad, 0, NULL, 0), SEGLOSS_ERR_UNSUPPORTED);
    CHECK_EQ_INT(segloss_npy_read(&a, bad, 0, NULL, 100), SEGLOSS_ERR_UNSUPPORTED);
    strcpy(err, "untouched");
    CHECK_EQ_INT(segloss_npy_read(&a, bad, 0, err, 0), SEGLOSS_ERR_UNSUPPORTED);
    CHECK(strcmp(err, "untouched") == 0);
    memset(err, 'x', sizeof err);
    CHECK_EQ_INT(segloss_npy_read(&a, bad, 0, err, 8), SEGLOSS_ERR_UNSUPPORTED);
    CHECK_EQ_INT(strlen(err), 7);
    CHECK(err[8] == 'x');

    segloss_npy_free(NULL);
    segloss_npy z;
    memset(&z, 0, sizeof z);
    segloss_npy_free(&z);
    CHECK(npy_is_zeroed(&z));
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */
static const segloss_dtype all_dtypes[] = {
    SEGLOSS_F32, SEGLOSS_F64, SEGLOSS_U8,  SEGLOSS_BOOL, SEGLOSS_I8,  SEGLOSS_I16,
    SEGLOSS_I32, SEGLOSS_I64, SEGLOSS_U16, SEGLOSS_U32,  SEGLOSS_U64,
};

static const char *descr_text(segloss_dtype d) {
    switch (d) {
    case SEGLOSS_F32: return "<f4";
    case SEGLOSS_F64: return "<f8";
    case SEGLOSS_U8: return "|u1";
    case SEGLOSS_BOOL: return "|b1";
    case SEGLOSS_I8: return "|i1";
    case SEGLOSS_I16: return "<i2";
    case SEGLOSS_I32: return "<i4";
    case SEGLOSS_I64: return "<i8";
    case SEGLOSS_U16: return "<u2";
    case SEGLOSS_U32: return "<u4";
    case SEGLOSS_U64: return "<u8";
    }
    return "?";
}

TEST(npy_write_roundtrip_every_dtype) {
    const char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    static const segloss_shape shapes[] = {
        {0, {0}}, {1, {0}}, {1, {5}}, {2, {2, 3}}, {3, {2, 0, 3}}, {8, {1, 2, 1, 2, 1, 2, 1, 2}},
    };
    static const char *shape_text[] = {
        "()", "(0,)", "(5,)", "(2, 3)", "(2, 0, 3)", "(1, 2, 1, 2, 1, 2, 1, 2)",
    };
    int files = 0;
    for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            segloss_dtype dt = all_dtypes[d];
            int64_t numel = 1;
            for (int k = 0; k < shapes[s].ndim; k++) numel *= shapes[s].dim[k];
            size_t nbytes = (size_t)numel * segloss_dtype_size(dt);
            unsigned char *src = malloc(nbytes ? nbytes : 1);
            fill_pattern(src, dt, numel);
            char path[512], name[64], err[256];
            snprintf(name, sizeof name, "rt_%s_%zu.npy", segloss_dtype_name(dt), s);
            join(path, sizeof path, dir, name);
            segloss_status st = segloss_npy_write(path, src, dt, &shapes[s], err, sizeof err);
            CHECK_MSG(st == SEGLOSS_OK, "%s: write status %d (%s)", name, st, err);
            files++;

            segloss_npy a;
            st = segloss_npy_read(&a, path, 0, err, sizeof err);
            CHECK_MSG(st == SEGLOSS_OK, "%s: read status %d (%s)", name, st, err);
            if (st == SEGLOSS_OK) {
                CHECK_EQ_INT(a.dtype, dt);
                CHECK_EQ_INT(a.shape.ndim, shapes[s].ndim);
                CHECK(memcmp(a.shape.dim, shapes[s].dim,
                             (size_t)shapes[s].ndim * sizeof(int64_t)) == 0);
                CHECK_EQ_INT(a.numel, numel);
                if (nbytes) CHECK(a.data && memcmp(a.data, src, nbytes) == 0);
            }
            segloss_npy_free(&a);

            /* The bytes are what numpy.save writes, data aligned to 64. */
            size_t len;
            unsigned char *b = tf_read_file(path, &len);
            CHECK(b && len >= 10);
            if (b && len >= 10) {
                size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
                CHECK(memcmp(b, "\x93NUMPY\x01\x00", 8) == 0);
                CHECK_EQ_INT((10 + hlen) % 64, 0);
                CHECK_EQ_INT(len, 10 + hlen + nbytes);
                CHECK(10 + hlen <= len && b[10 + hlen - 1] == '\n');
                char want[256];
                int wl = snprintf(want, sizeof want,
                                  "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                                  descr_text(dt), shape_text[s]);
                CHECK_MSG(hlen >= (size_t)wl && memcmp(b + 10, want, (size_t)wl) == 0,
                          "%s: header is not %s", name, want);
                int pad_ok = 1;
                for (size_t k = 10 + (size_t)wl; k + 1 < 10 + hlen; k++) pad_ok &= b[k] == ' ';
                CHECK(pad_ok);
            }
            free(b);
            free(src);
        }
    }
    /* No temporary files left behind. */
    CHECK_EQ_INT(count_entries(dir), files);
    remove_tree(dir);
}

TEST(npy_write_overwrites) {
    const char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512], err[256];
    join(path, sizeof path, dir, "out.npy");
    segloss_shape sh = {1, {3}};
    float a3[3] = {1, 2, 3};
    int32_t b3[3] = {-1, 0, 1};
    CHECK_EQ_INT(segloss_npy_write(path, a3, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_npy_write(path, b3, SEGLOSS_I32, &sh, err, sizeof err), SEGLOSS_OK);
    segloss_npy a;
    CHECK_EQ_INT(segloss_npy_read(&a, path, 0, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(a.dtype, SEGLOSS_I32);
    if (a.data) CHECK(memcmp(a.data, b3, sizeof b3) == 0);
    segloss_npy_free(&a);
    CHECK_EQ_INT(count_entries(dir), 1);

    /* New files get ordinary permissions (0666 minus umask), not mkstemp's 0600. */
    mode_t um = umask(022);
    char p2[512];
    join(p2, sizeof p2, dir, "perm.npy");
    CHECK_EQ_INT(segloss_npy_write(p2, a3, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_OK);
    umask(um);
    struct stat sb;
    CHECK(stat(p2, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    remove_tree(dir);
}

TEST(npy_write_failures_leave_no_trace) {
    const char *dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512], err[256];
    segloss_shape sh = {2, {2, 2}};
    float v[4] = {1, 2, 3, 4};

    /* Directory does not exist: IO, nothing created. */
    join(path, sizeof path, dir, "nodir/x.npy");
    CHECK_EQ_INT(segloss_npy_write(path, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_ERR_IO);
    CHECK_MSG(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
    CHECK_EQ_INT(count_entries(dir), 0);

    /* Target is a directory: it cannot be opened for writing. */
    char sub[512];
    join(sub, sizeof sub, dir, "sub");
    CHECK(mkdir(sub, 0700) == 0);
    CHECK_EQ_INT(segloss_npy_write(sub, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_ERR_IO);
    CHECK_MSG(strstr(err, strerror(EISDIR)) != NULL, "%s", err);
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_EQ_INT(count_entries(dir), 1);
    CHECK_EQ_INT(count_entries(sub), 0);

    /* An existing file, then a write that fails halfway (file size limit):
     * IO, and the partial file is removed (the writer writes PATH itself:
     * keeping the old file is the caller's temporary-and-rename). */
    char keep[512];
    join(keep, sizeof keep, dir, "keep.npy");
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_OK);
    size_t len0;
    unsigned char *before = tf_read_file(keep, &len0);
    size_t big_n = 200000;
    unsigned char *big = calloc(big_n, 1);
    segloss_shape big_sh = {1, {(int64_t)big_n}};
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit lim = old;
    lim.rlim_cur = 8192;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    segloss_status st = segloss_npy_write(keep, big, SEGLOSS_U8, &big_sh, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK_EQ_INT(st, SEGLOSS_ERR_IO);
    CHECK_MSG(strstr(err, "write failed") != NULL, "%s", err);
    struct stat ksb;
    CHECK_MSG(stat(keep, &ksb) != 0 && errno == ENOENT, "a partial %s is left", keep);
    CHECK_EQ_INT(count_entries(dir), 1); /* sub */
    CHECK(before != NULL && len0 > 0);
    free(before);
    free(big);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_OK);

    /* Invalid arguments: nothing written, the old file untouched. */
    segloss_shape rank9 = {9, {1}}, negdim = {2, {2, -1}}, neg_rank = {-1, {0}};
    segloss_shape huge = {2, {(int64_t)1 << 40, (int64_t)1 << 40}};
    CHECK_EQ_INT(segloss_npy_write(NULL, v, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, NULL, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_write(keep, NULL, SEGLOSS_F32, &sh, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_npy_write(keep, v, (segloss_dtype)99, &sh, err, sizeof err),
                 SEGLOSS_ERR_DTYPE);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &rank9, err, sizeof err), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &neg_rank, err, sizeof err),
                 SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &negdim, err, sizeof err), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &huge, err, sizeof err), SEGLOSS_ERR_OVERFLOW);
    CHECK_EQ_INT(segloss_npy_write(keep, v, SEGLOSS_F32, &sh, NULL, 0), SEGLOSS_OK);
    segloss_npy a;
    CHECK_EQ_INT(segloss_npy_read(&a, keep, 0, err, sizeof err), SEGLOSS_OK);
    if (a.data) CHECK(memcmp(a.data, v, sizeof v) == 0);
    segloss_npy_free(&a);
    CHECK_EQ_INT(count_entries(dir), 2);
    /* Zero elements need no data pointer. */
    segloss_shape empty = {2, {0, 3}};
    join(path, sizeof path, dir, "empty.npy");
    CHECK_EQ_INT(segloss_npy_write(path, NULL, SEGLOSS_F64, &empty, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_npy_read(&a, path, 0, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(a.numel, 0);
    segloss_npy_free(&a);
    remove_tree(dir);
}

/* ------------------------------------------------------------------------ */
/* Shapes and conversion                                                     */
/* ------------------------------------------------------------------------ */
TEST(npy_core_shape_numel) {
    int64_t n = -1;
    segloss_shape s0 = {0, {0}};
    CHECK_EQ_INT(segloss_shape_numel(&s0, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 1);
    segloss_shape s1 = {3, {2, 3, 4}};
    CHECK_EQ_INT(segloss_shape_numel(&s1, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 24);
    segloss_shape z = {3, {2, 0, 4}};
    CHECK_EQ_INT(segloss_shape_numel(&z, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(segloss__checked_numel(&z, &n), SEGLOSS_ERR_EMPTY);
    CHECK_EQ_INT(segloss__checked_numel(&s1, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 24);
    segloss_shape zo = {3, {0, (int64_t)1 << 62, (int64_t)1 << 62}};
    CHECK_EQ_INT(segloss_shape_numel(&zo, &n), SEGLOSS_ERR_OVERFLOW);
    segloss_shape neg = {2, {3, -1}};
    CHECK_EQ_INT(segloss_shape_numel(&neg, &n), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss__checked_numel(&neg, &n), SEGLOSS_ERR_SHAPE);
    segloss_shape r9 = {9, {1}}, rneg = {-1, {1}};
    CHECK_EQ_INT(segloss_shape_numel(&r9, &n), SEGLOSS_ERR_SHAPE);
    CHECK_EQ_INT(segloss_shape_numel(&rneg, &n), SEGLOSS_ERR_SHAPE);
    segloss_shape r8 = {8, {1, 2, 3, 4, 5, 6, 7, 8}};
    CHECK_EQ_INT(segloss_shape_numel(&r8, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, 40320);
    CHECK_EQ_INT(segloss_shape_numel(NULL, &n), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_shape_numel(&s1, NULL), SEGLOSS_ERR_NULL);
    /* The element count times 8 must fit in int64 and size_t. */
    int64_t lim = (int64_t)((SIZE_MAX < (uint64_t)INT64_MAX ? SIZE_MAX : (uint64_t)INT64_MAX) / 8);
    segloss_shape at = {1, {lim}}, over = {1, {lim + 1}};
    CHECK_EQ_INT(segloss_shape_numel(&at, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, lim);
    CHECK_EQ_INT(segloss_shape_numel(&over, &n), SEGLOSS_ERR_OVERFLOW);
    segloss_shape sq = {2, {(int64_t)1 << 30, (int64_t)1 << 29}};
    CHECK_EQ_INT(segloss_shape_numel(&sq, &n), SEGLOSS_OK);
    CHECK_EQ_INT(n, (int64_t)1 << 59);
    segloss_shape sq2 = {3, {(int64_t)1 << 31, (int64_t)1 << 31, 1 << 30}};
    CHECK_EQ_INT(segloss_shape_numel(&sq2, &n), SEGLOSS_ERR_OVERFLOW);
    segloss_shape big = {2, {INT64_MAX, INT64_MAX}};
    CHECK_EQ_INT(segloss_shape_numel(&big, &n), SEGLOSS_ERR_OVERFLOW);
}

TEST(npy_core_convert_to_f32) {
    float out[6];
    const double f64[3] = {0.1, -1e300, 3.0};
    CHECK_EQ_INT(segloss_convert_to_f32(out, f64, SEGLOSS_F64, 3), SEGLOSS_OK);
    CHECK(out[0] == 0.1f && isinf(out[1]) && out[1] < 0 && out[2] == 3.0f);
    const float f32[2] = {1.5f, -2.25f};
    CHECK_EQ_INT(segloss_convert_to_f32(out, f32, SEGLOSS_F32, 2), SEGLOSS_OK);
    CHECK(out[0] == 1.5f && out[1] == -2.25f);
    const uint8_t u8[3] = {0, 1, 255};
    CHECK_EQ_INT(segloss_convert_to_f32(out, u8, SEGLOSS_U8, 3), SEGLOSS_OK);
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 255);
    const uint8_t b1[4] = {0, 1, 2, 255}; /* nonzero bytes are true */
    CHECK_EQ_INT(segloss_convert_to_f32(out, b1, SEGLOSS_BOOL, 4), SEGLOSS_OK);
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 1 && out[3] == 1);
    const int8_t i8[2] = {-128, 127};
    CHECK_EQ_INT(segloss_convert_to_f32(out, i8, SEGLOSS_I8, 2), SEGLOSS_OK);
    CHECK(out[0] == -128 && out[1] == 127);
    const int16_t i16[2] = {-32768, 32767};
    CHECK_EQ_INT(segloss_convert_to_f32(out, i16, SEGLOSS_I16, 2), SEGLOSS_OK);
    CHECK(out[0] == -32768 && out[1] == 32767);
    const uint16_t u16[1] = {65535};
    CHECK_EQ_INT(segloss_convert_to_f32(out, u16, SEGLOSS_U16, 1), SEGLOSS_OK);
    CHECK(out[0] == 65535);
    const int32_t i32[2] = {INT32_MIN, 16777217};
    CHECK_EQ_INT(segloss_convert_to_f32(out, i32, SEGLOSS_I32, 2), SEGLOSS_OK);
    CHECK(out[0] == -2147483648.0f && out[1] == 16777216.0f);
    const uint32_t u32[1] = {UINT32_MAX};
    CHECK_EQ_INT(segloss_convert_to_f32(out, u32, SEGLOSS_U32, 1), SEGLOSS_OK);
    CHECK(out[0] == 4294967296.0f);
    const int64_t i64[2] = {INT64_MIN, -3};
    CHECK_EQ_INT(segloss_convert_to_f32(out, i64, SEGLOSS_I64, 2), SEGLOSS_OK);
    CHECK(out[0] == -9223372036854775808.0f && out[1] == -3);
    const uint64_t u64[1] = {UINT64_MAX};
    CHECK_EQ_INT(segloss_convert_to_f32(out, u64, SEGLOSS_U64, 1), SEGLOSS_OK);
    CHECK(out[0] == 18446744073709551616.0f);
    /* Byte-aligned source. */
    unsigned char raw[1 + 2 * sizeof(double)];
    double two[2] = {-0.5, 8.0};
    memcpy(raw + 1, two, sizeof two);
    CHECK_EQ_INT(segloss_convert_to_f32(out, raw + 1, SEGLOSS_F64, 2), SEGLOSS_OK);
    CHECK(out[0] == -0.5f && out[1] == 8.0f);
    /* Arguments. */
    CHECK_EQ_INT(segloss_convert_to_f32(NULL, NULL, SEGLOSS_F32, 0), SEGLOSS_OK);
    CHECK_EQ_INT(segloss_convert_to_f32(NULL, f32, SEGLOSS_F32, 1), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_convert_to_f32(out, NULL, SEGLOSS_F32, 1), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_convert_to_f32(out, f32, SEGLOSS_F32, -1), SEGLOSS_ERR_ARG);
    CHECK_EQ_INT(segloss_convert_to_f32(out, f32, (segloss_dtype)42, 1), SEGLOSS_ERR_DTYPE);
}
