/* NIfTI reader: fixtures from tools/ref/gen_img_fixtures.py (written by hand
 * with struct/gzip), whose voxel patterns are recomputed here, and damaged
 * files built from them in memory (and on disk for the gzread path). */
#include "tf.h"

#include <segloss.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* The script's value of flat index i (x fastest) for each datatype, in
 * the array's dtype, written to out. */
static void expected_elem(segloss_dtype dt, int64_t i, void *out) {
    switch (dt) {
    case SEGLOSS_U8: { uint8_t v = (uint8_t)((7 * i + 3) % 256); memcpy(out, &v, 1); break; }
    case SEGLOSS_I8: { int8_t v = (int8_t)((7 * i + 3) % 256 - 128); memcpy(out, &v, 1); break; }
    case SEGLOSS_I16: { int16_t v = (int16_t)((389 * i) % 20000 - 10000); memcpy(out, &v, 2); break; }
    case SEGLOSS_U16: { uint16_t v = (uint16_t)((389 * 13 * i) % 65536); memcpy(out, &v, 2); break; }
    case SEGLOSS_I32: {
        int32_t v = (int32_t)((1000003 * i) % 4000000000LL - 2000000000LL);
        memcpy(out, &v, 4);
        break;
    }
    case SEGLOSS_U32: { uint32_t v = (uint32_t)((2654435761ULL * (uint64_t)i) % 4294967296ULL); memcpy(out, &v, 4); break; }
    case SEGLOSS_I64: { int64_t v = 123456789012345LL * i - 4000000000000000LL; memcpy(out, &v, 8); break; }
    case SEGLOSS_U64: { uint64_t v = 11400714819323198485ULL * (uint64_t)i; memcpy(out, &v, 8); break; }
    case SEGLOSS_F32: { float v = (float)((double)i * 0.25 - 3.0); memcpy(out, &v, 4); break; }
    case SEGLOSS_F64: { double v = (double)i * 0.1 - 1.0; memcpy(out, &v, 8); break; }
    case SEGLOSS_BOOL: break;
    }
}

typedef struct expect {
    segloss_dtype dtype;     /* dtype of the output array */
    int ndim;
    int64_t dim[4];          /* array order */
    int has_spacing;
    double spacing[4];       /* array order (1 on substituted axes) */
    int scaled_i16;          /* values: int16 pattern * 0.5 - 10, as float64 */
    unsigned substituted;    /* spacing_substituted */
} expect;

static void check_image(const char *what, const segloss_image *img, const expect *e) {
    CHECK_EQ_INT(img->array.dtype, e->dtype);
    CHECK_EQ_INT(img->array.shape.ndim, e->ndim);
    int64_t n = 1;
    for (int j = 0; j < e->ndim; j++) {
        CHECK_MSG(img->array.shape.dim[j] == e->dim[j], "%s: dim[%d] = %lld, want %lld", what, j,
                  (long long)img->array.shape.dim[j], (long long)e->dim[j]);
        n *= e->dim[j];
    }
    CHECK_EQ_INT(img->array.numel, n);
    CHECK_EQ_INT(img->has_spacing, e->has_spacing);
    CHECK_MSG(img->spacing_substituted == e->substituted, "%s: spacing_substituted %#x, want %#x",
              what, img->spacing_substituted, e->substituted);
    for (int j = 0; j < 8; j++) {
        double want = j < e->ndim ? e->spacing[j] : 1.0;
        CHECK_MSG(img->spacing[j] == want, "%s: spacing[%d] = %.9g, want %.9g", what, j,
                  img->spacing[j], want);
    }
    if (img->array.numel != n || !img->array.data) return;
    size_t es = segloss_dtype_size(e->dtype);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        unsigned char want[8];
        if (e->scaled_i16) {
            int16_t raw;
            expected_elem(SEGLOSS_I16, i, &raw);
            double v = (double)raw * 0.5 - 10.0;
            memcpy(want, &v, 8);
        } else {
            expected_elem(e->dtype, i, want);
        }
        if (memcmp(want, (const unsigned char *)img->array.data + (size_t)i * es, es) != 0 && bad++ < 3)
            CHECK_MSG(0, "%s: element %lld differs", what, (long long)i);
    }
    CHECK_MSG(bad == 0, "%s: %d wrong voxels", what, bad);
}

/* Reads a fixture through the file path (dispatcher) and from memory. */
static void check_fixture(const char *name, const expect *e) {
    segloss_image img;
    char err[256];
    segloss_status st = segloss_image_read(&img, tf_data_path(name), 0, err, sizeof err);
    CHECK_MSG(st == SEGLOSS_OK, "%s: status %d (%s)", name, (int)st, err);
    if (st == SEGLOSS_OK) check_image(name, &img, e);
    segloss_image_free(&img);
    CHECK(img.array.data == NULL);
    size_t len;
    unsigned char *buf = tf_read_file(tf_data_path(name), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    st = segloss_image_read_mem(&img, SEGLOSS_IMAGE_NIFTI, buf, len, 0, err, sizeof err);
    CHECK_MSG(st == SEGLOSS_OK, "%s (memory): status %d (%s)", name, (int)st, err);
    if (st == SEGLOSS_OK) check_image(name, &img, e);
    segloss_image_free(&img);
    free(buf);
}

TEST(nifti1_u8_anisotropic) {
    expect e = {SEGLOSS_U8, 3, {3, 4, 5}, 1, {2.5, 0.75, 0.5}, 0, 0};
    check_fixture("img/n1_u8.nii", &e);
    check_fixture("img/n1_ext.nii", &e);          /* an extension before vox_offset */
    check_fixture("img/n1_u8_2member.nii.gz", &e); /* two gzip members */
}

TEST(nifti1_int16_gz) {
    expect e = {SEGLOSS_I16, 3, {4, 5, 6}, 1, {3.0, 1.25, 1.25}, 0, 0};
    check_fixture("img/n1_i16.nii.gz", &e);
}

TEST(nifti1_float32_2d_gz) {
    expect e = {SEGLOSS_F32, 2, {3, 7}, 1, {(double)0.6f, (double)0.8f}, 0, 0};
    check_fixture("img/n1_f32.nii.gz", &e);
}

TEST(nifti1_scl_slope_gives_float64) {
    expect e = {SEGLOSS_F64, 3, {3, 4, 5}, 1, {1, 1, 1}, 1, 0};
    check_fixture("img/n1_scaled.nii", &e);
}

TEST(nifti1_big_endian) {
    expect e = {SEGLOSS_F32, 3, {2, 3, 4}, 1, {4.0, 1.5, 0.5}, 0, 0};
    check_fixture("img/n1_be_f32.nii", &e);
}

TEST(nifti1_trailing_unit_axes_dropped) {
    expect e4 = {SEGLOSS_U8, 3, {2, 3, 4}, 1, {2.0, 0.25, 0.5}, 0, 0};
    check_fixture("img/n1_4d.nii", &e4);
    expect e2 = {SEGLOSS_U8, 2, {3, 4}, 1, {0.25, 0.5}, 0, 0};
    check_fixture("img/n1_slice.nii", &e2);
}

TEST(nifti1_zero_pixdim_means_no_spacing) {
    expect e = {SEGLOSS_U8, 3, {3, 4, 5}, 0, {1, 1, 1}, 0, 0x7};
    check_fixture("img/n1_nopixdim.nii", &e);
}

/* Spacing is decided per axis: a bad pixdim (0, NaN, +-inf) gives 1 on its
 * own axis, flagged; the other axes keep |pixdim|. Array axis j of an n-D
 * image is pixdim[n - j]. */
TEST(nifti_bad_pixdim_substituted_per_axis) {
    /* pixdim (0, 0.75, 2.5): pixdim[1] is array axis 2. */
    expect e0 = {SEGLOSS_U8, 3, {3, 4, 5}, 0, {2.5, 0.75, 1}, 0, 0x4};
    check_fixture("img/n1_pix0_x.nii", &e0);
    /* pixdim (-0.5, NaN, inf): axis 2 keeps 0.5, axes 1 and 0 are 1. */
    expect eb = {SEGLOSS_U8, 3, {3, 4, 5}, 0, {1, 1, 0.5}, 0, 0x3};
    check_fixture("img/n1_pixbad.nii", &eb);
    /* Negative pixdims are not bad: their absolute values (nibabel). */
    expect en = {SEGLOSS_U8, 3, {3, 4, 5}, 1, {2.5, 0.75, 0.5}, 0, 0};
    check_fixture("img/n1_pixneg.nii", &en);
    /* 2-D, pixdim (0.8, -inf): pixdim[2] is array axis 0. */
    expect e2 = {SEGLOSS_U8, 2, {3, 7}, 0, {1, (double)0.8f}, 0, 0x1};
    check_fixture("img/n1_pixninf_2d.nii", &e2);
    /* NIfTI-2 (float64 pixdim): pixdim[3] = 0 is array axis 0. */
    expect ez = {SEGLOSS_U16, 3, {3, 4, 5}, 0, {1, 0.9, 0.7}, 0, 0x1};
    check_fixture("img/n2_pix0_z.nii", &ez);

    /* spacing_file: the pixdim as stored, per array axis. */
    segloss_image img;
    char err[256];
    CHECK_EQ_INT(segloss_image_read(&img, tf_data_path("img/n1_pixbad.nii"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK(isinf(img.spacing_file[0]) && img.spacing_file[0] > 0);
    CHECK(isnan(img.spacing_file[1]));
    CHECK(img.spacing_file[2] == -0.5);
    CHECK(img.spacing_file[3] == 0.0);
    segloss_image_free(&img);
    CHECK_EQ_INT(img.spacing_substituted, 0);
    CHECK(img.spacing_file[0] == 0.0);
    CHECK_EQ_INT(segloss_image_read(&img, tf_data_path("img/n1_pix0_x.nii"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK(img.spacing_file[0] == 2.5 && img.spacing_file[1] == 0.75 && img.spacing_file[2] == 0.0);
    segloss_image_free(&img);
    /* Formats without spacing flag nothing. */
    CHECK_EQ_INT(segloss_image_read(&img, tf_data_path("img/labels.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(img.spacing_substituted, 0);
    CHECK_EQ_INT(img.has_spacing, 0);
    CHECK(img.spacing_file[0] == 0.0 && img.spacing[0] == 1.0);
    segloss_image_free(&img);
}

TEST(nifti2_little_and_big_endian) {
    expect e = {SEGLOSS_U16, 3, {3, 4, 5}, 1, {1.1, 0.9, 0.7}, 0, 0};
    check_fixture("img/n2_u16.nii", &e);
    expect b = {SEGLOSS_F64, 3, {2, 4, 3}, 1, {1.5, 0.5, 2.0}, 0, 0};
    check_fixture("img/n2_be_f64.nii.gz", &b);
}

TEST(nifti1_every_datatype) {
    static const struct { const char *name; segloss_dtype dt; } t[] = {
        {"img/n1_dt_uint8.nii", SEGLOSS_U8},     {"img/n1_dt_int8.nii", SEGLOSS_I8},
        {"img/n1_dt_int16.nii", SEGLOSS_I16},    {"img/n1_dt_uint16.nii", SEGLOSS_U16},
        {"img/n1_dt_int32.nii", SEGLOSS_I32},    {"img/n1_dt_uint32.nii", SEGLOSS_U32},
        {"img/n1_dt_int64.nii", SEGLOSS_I64},    {"img/n1_dt_uint64.nii", SEGLOSS_U64},
        {"img/n1_dt_float32.nii", SEGLOSS_F32},  {"img/n1_dt_float64.nii", SEGLOSS_F64},
    };
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) {
        expect e = {t[k].dt, 1, {24}, 1, {1.0}, 0, 0};
        check_fixture(t[k].name, &e);
    }
}

/* ---- damaged files ---------------------------------------------------------- */
static segloss_status read_mem(const unsigned char *buf, size_t len, size_t max_bytes, char *err,
                               size_t errlen) {
    segloss_image img;
    segloss_status st = segloss_nifti_read_mem(&img, buf, len, max_bytes, err, errlen);
    if (st != SEGLOSS_OK && img.array.data != NULL) st = SEGLOSS_ERR_INTERNAL; /* must be cleared */
    segloss_image_free(&img);
    return st;
}

static void expect_mem(const unsigned char *buf, size_t len, size_t max_bytes, segloss_status want,
                       const char *needle, const char *what) {
    char err[256] = "";
    segloss_status st = read_mem(buf, len, max_bytes, err, sizeof err);
    CHECK_MSG(st == want, "%s: status %d, want %d (%s)", what, (int)st, (int)want, err);
    if (needle) CHECK_MSG(strstr(err, needle) != NULL, "%s: '%s' lacks '%s'", what, err, needle);
}

static char tmpdir[512];

static const char *tmp_path(const char *name) {
    static char path[600];
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/segloss_nifti_XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void tmp_cleanup(void) {
    if (tmpdir[0]) rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static int write_file(const char *path, const unsigned char *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static segloss_status read_file(const char *path, char *err, size_t errlen) {
    segloss_image img;
    segloss_status st = segloss_nifti_read(&img, path, 0, err, errlen);
    if (st != SEGLOSS_OK && img.array.data != NULL) st = SEGLOSS_ERR_INTERNAL;
    segloss_image_free(&img);
    return st;
}

/* Every proper prefix fails cleanly with FORMAT, from memory (exact-size
 * copies: ASan sees any overread) and, for gzip files, through gzread. */
TEST(nifti_every_truncation_fails) {
    const char *names[] = {"img/n1_u8.nii", "img/n1_i16.nii.gz", "img/n2_be_f64.nii.gz",
                           "img/n1_u8_2member.nii.gz", "img/n1_ext.nii", "img/n2_u16.nii"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        size_t len;
        unsigned char *buf = tf_read_file(tf_data_path(names[k]), &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        int gz = buf[0] == 0x1f;
        const char *path = tmp_path(gz ? "cut.nii.gz" : "cut.nii");
        CHECK(path != NULL);
        int bad = 0;
        for (size_t n = 0; n < len; n++) {
            unsigned char *cut = malloc(n ? n : 1);
            memcpy(cut, buf, n);
            char err[256] = "";
            segloss_status st = read_mem(cut, n, 0, err, sizeof err);
            if ((st != SEGLOSS_ERR_FORMAT || !err[0]) && bad++ < 3)
                CHECK_MSG(0, "%s cut at %zu of %zu: status %d (%s)", names[k], n, len, (int)st, err);
            if (path && (gz || n % 7 == 0)) {
                CHECK(write_file(path, cut, n));
                err[0] = '\0';
                st = read_file(path, err, sizeof err);
                if ((st != SEGLOSS_ERR_FORMAT || !err[0]) && bad++ < 3)
                    CHECK_MSG(0, "%s cut at %zu (file): status %d (%s)", names[k], n, (int)st, err);
            }
            free(cut);
        }
        CHECK_MSG(bad == 0, "%s: %d prefixes misread", names[k], bad);
        if (path) remove(path);
        free(buf);
    }
    tmp_cleanup();
}

/* Any byte of the deflate data or trailer flipped: FORMAT (inflate error,
 * or the CRC/length check at the end of the stream). */
TEST(nifti_corrupt_gzip_fails) {
    const char *names[] = {"img/n1_i16.nii.gz", "img/n1_f32.nii.gz"};
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        unsigned char *buf = tf_read_file(tf_data_path(names[k]), &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        const char *path = tmp_path("flip.nii.gz");
        int bad = 0;
        for (size_t p = 10; p < len; p++) { /* 10: after the gzip header */
            buf[p] ^= 0xff;
            char err[256] = "";
            segloss_status st = read_mem(buf, len, 0, err, sizeof err);
            if (st != SEGLOSS_ERR_FORMAT && bad++ < 3)
                CHECK_MSG(0, "%s byte %zu flipped: status %d (%s)", names[k], p, (int)st, err);
            if (path && write_file(path, buf, len)) {
                st = read_file(path, err, sizeof err);
                if (st != SEGLOSS_ERR_FORMAT && bad++ < 3)
                    CHECK_MSG(0, "%s byte %zu flipped (file): status %d (%s)", names[k], p, (int)st, err);
            }
            buf[p] ^= 0xff;
        }
        CHECK_MSG(bad == 0, "%s: %d flips not detected", names[k], bad);
        if (path) remove(path);
        free(buf);
    }
    tmp_cleanup();
}

static void put16(unsigned char *b, size_t off, int v) {
    int16_t x = (int16_t)v;
    memcpy(b + off, &x, 2); /* fixtures are little-endian, as the test host */
}
static void put32f(unsigned char *b, size_t off, float v) { memcpy(b + off, &v, 4); }
static void put64(unsigned char *b, size_t off, int64_t v) { memcpy(b + off, &v, 8); }

TEST(nifti1_bad_headers) {
    size_t len;
    unsigned char *orig = tf_read_file(tf_data_path("img/n1_u8.nii"), &len);
    CHECK(orig != NULL);
    if (!orig) return;
    unsigned char *b = malloc(len);
#define RESET() memcpy(b, orig, len)
    RESET();
    expect_mem(b, len, 0, SEGLOSS_OK, NULL, "intact");
    memcpy(b + 344, "n+3", 4);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "magic", "magic n+3");
    memcpy(b + 344, "ni1", 4);
    expect_mem(b, len, 0, SEGLOSS_ERR_UNSUPPORTED, ".hdr/.img", "pair magic");
    RESET();
    b[0] = 0x5d; /* sizeof_hdr 349 */
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "sizeof_hdr", "sizeof_hdr");
    int ndims[] = {0, 8, -1, 300};
    for (int k = 0; k < 4; k++) {
        RESET();
        put16(b, 40, ndims[k]);
        expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[0]", "dim[0]");
    }
    int dims[] = {0, -5, -32768};
    for (int k = 0; k < 3; k++) {
        RESET();
        put16(b, 44, dims[k]);
        expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[2]", "dim[2]");
    }
    /* a dimension larger than the file: truncated, not allocated */
    RESET();
    put16(b, 42, 32767);
    put16(b, 44, 32767);
    put16(b, 46, 32767);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "truncated", "32767^3 without cap");
    expect_mem(b, len, (size_t)1 << 30, SEGLOSS_ERR_LIMIT, "limit", "32767^3 with cap");
    /* vox_offset far beyond any real extension: refused before skipping */
    RESET();
    put32f(b, 108, 1073741824.0f); /* 1 GiB */
    expect_mem(b, len, 0, SEGLOSS_ERR_LIMIT, "header extensions", "vox_offset 1 GiB");
    RESET();
    put32f(b, 108, 352.0f + 4096.0f); /* within the cap: just past the end */
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "past the end", "vox_offset past EOF");
    expect_mem(b, len, 1024, SEGLOSS_ERR_LIMIT, "header extensions", "vox_offset above max_bytes");
    /* 32767^7 voxels overflow int64 */
    RESET();
    put16(b, 40, 7);
    for (int i = 1; i <= 7; i++) put16(b, 40 + 2 * (size_t)i, 32767);
    expect_mem(b, len, 0, SEGLOSS_ERR_OVERFLOW, "overflow", "32767^7");
    static const struct { int code; const char *name; } dt[] = {
        {32, "complex64"}, {128, "rgb24"}, {1, "binary"}, {2304, "rgba32"}, {1536, "float128"},
        {0, "unknown"}, {9999, "not a NIfTI datatype"}};
    for (size_t k = 0; k < sizeof dt / sizeof *dt; k++) {
        RESET();
        put16(b, 70, dt[k].code);
        expect_mem(b, len, 0, SEGLOSS_ERR_UNSUPPORTED, dt[k].name, dt[k].name);
    }
    float offs[] = {1e6f, 413.0f, 1e30f};
    for (int k = 0; k < 3; k++) {
        RESET();
        put32f(b, 108, offs[k]);
        expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, NULL, "vox_offset past EOF");
    }
    RESET();
    put32f(b, 108, 1e6f);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "past the end", "vox_offset 1e6");
    float badoffs[] = {100.0f, 0.0f, -352.0f, 352.5f, NAN, INFINITY};
    for (int k = 0; k < 6; k++) {
        RESET();
        put32f(b, 108, badoffs[k]);
        expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "vox_offset", "bad vox_offset");
    }
    /* the cap: 60 voxels of 1 byte */
    RESET();
    expect_mem(b, len, 60, SEGLOSS_OK, NULL, "at cap");
    expect_mem(b, len, 59, SEGLOSS_ERR_LIMIT, "limit", "over cap");
    /* bitpix is not checked */
    RESET();
    put16(b, 72, 13);
    expect_mem(b, len, 0, SEGLOSS_OK, NULL, "bitpix ignored");
    /* extra bytes after the voxels are ignored */
    unsigned char *longer = malloc(len + 16);
    memcpy(longer, orig, len);
    memset(longer + len, 0xab, 16);
    expect_mem(longer, len + 16, 0, SEGLOSS_OK, NULL, "trailing bytes");
    free(longer);
#undef RESET
    free(b);
    free(orig);
}

TEST(nifti1_scaling_rules) {
    size_t len;
    unsigned char *b = tf_read_file(tf_data_path("img/n1_scaled.nii"), &len);
    CHECK(b != NULL);
    if (!b) return;
    segloss_image img;
    char err[256];
    /* float64 output counts against the cap: 60 voxels * 8 bytes */
    expect_mem(b, len, 480, SEGLOSS_OK, NULL, "scaled at cap");
    expect_mem(b, len, 479, SEGLOSS_ERR_LIMIT, "limit", "scaled over cap");
    /* (slope, inter) = (1, 0), (0, x), (NaN, x): no scaling, int16 kept */
    float cases[][2] = {{1.0f, 0.0f}, {0.0f, 5.0f}, {NAN, 5.0f}, {INFINITY, 0.0f}, {1.0f, NAN}};
    for (int k = 0; k < 5; k++) {
        put32f(b, 112, cases[k][0]);
        put32f(b, 116, cases[k][1]);
        CHECK_EQ_INT(segloss_nifti_read_mem(&img, b, len, 0, err, sizeof err), SEGLOSS_OK);
        CHECK_MSG(img.array.dtype == SEGLOSS_I16, "case %d: dtype %d", k, (int)img.array.dtype);
        segloss_image_free(&img);
    }
    /* slope 2, inter 0 scales; negative pixdim counts as its magnitude */
    put32f(b, 112, 2.0f);
    put32f(b, 116, 0.0f);
    put32f(b, 80, -0.5f);
    CHECK_EQ_INT(segloss_nifti_read_mem(&img, b, len, 0, err, sizeof err), SEGLOSS_OK);
    CHECK_EQ_INT(img.array.dtype, SEGLOSS_F64);
    if (img.array.data) {
        int16_t raw;
        expected_elem(SEGLOSS_I16, 7, &raw);
        CHECK_CLOSE(((const double *)img.array.data)[7], 2.0 * raw, 0, 0);
    }
    CHECK_EQ_INT(img.has_spacing, 1);
    CHECK_CLOSE(img.spacing[2], 0.5, 0, 0);
    segloss_image_free(&img);
    free(b);
}

TEST(nifti1_big_endian_header_checked) {
    size_t len;
    unsigned char *b = tf_read_file(tf_data_path("img/n1_be_f32.nii"), &len);
    CHECK(b != NULL);
    if (!b) return;
    b[40] = 0;
    b[41] = 9; /* dim[0] = 9, big-endian */
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[0] = 9", "big-endian dim[0]");
    b[41] = 3;
    b[44] = 0xff; /* dim[2] = -253 */
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[2]", "big-endian dim[2]");
    free(b);
}

TEST(nifti2_bad_headers) {
    size_t len;
    unsigned char *orig = tf_read_file(tf_data_path("img/n2_u16.nii"), &len);
    CHECK(orig != NULL);
    if (!orig) return;
    unsigned char *b = malloc(len);
#define RESET() memcpy(b, orig, len)
    RESET();
    expect_mem(b, len, 0, SEGLOSS_OK, NULL, "intact");
    b[8] = '\n'; /* "\r\n" mangled by a text-mode transfer */
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "magic", "n+2 magic");
    RESET();
    b[5] = 'i';
    expect_mem(b, len, 0, SEGLOSS_ERR_UNSUPPORTED, ".hdr/.img", "ni2");
    /* dim[1] = 2^40: not allocated, truncated; with a cap: LIMIT */
    RESET();
    put64(b, 24, (int64_t)1 << 40);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "truncated", "2^40 without cap");
    expect_mem(b, len, (size_t)1 << 30, SEGLOSS_ERR_LIMIT, "limit", "2^40 with cap");
    put64(b, 32, (int64_t)1 << 40);
    expect_mem(b, len, 0, SEGLOSS_ERR_OVERFLOW, NULL, "2^40 x 2^40");
    RESET();
    put64(b, 24, INT64_MIN);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[1]", "dim[1] INT64_MIN");
    RESET();
    put64(b, 16, (int64_t)1 << 33);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "dim[0]", "dim[0] 2^33");
    RESET();
    put64(b, 168, 100);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "vox_offset", "vox_offset inside header");
    /* refused from the header (extension bound), before any skipping */
    put64(b, 168, INT64_MAX);
    expect_mem(b, len, 0, SEGLOSS_ERR_LIMIT, "header extensions", "vox_offset INT64_MAX");
    put64(b, 168, 544 + 4096);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "past the end", "vox_offset past EOF");
    put64(b, 168, -1);
    expect_mem(b, len, 0, SEGLOSS_ERR_FORMAT, "vox_offset", "vox_offset -1");
    RESET();
    put16(b, 12, 1792);
    expect_mem(b, len, 0, SEGLOSS_ERR_UNSUPPORTED, "complex128", "complex128");
#undef RESET
    free(b);
    free(orig);
}

TEST(nifti_io_errors) {
    segloss_image img;
    char err[256];
    CHECK_EQ_INT(segloss_nifti_read(&img, tf_data_path("img/missing.nii.gz"), 0, err, sizeof err),
                 SEGLOSS_ERR_IO);
    CHECK(strstr(err, "cannot open") != NULL);
    CHECK_EQ_INT(segloss_nifti_read(&img, tf_data_path("img"), 0, err, sizeof err), SEGLOSS_ERR_IO);
    CHECK_EQ_INT(segloss_nifti_read(NULL, "x.nii", 0, NULL, 0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_nifti_read_mem(&img, NULL, 4, 0, NULL, 0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_nifti_read_mem(&img, "", 0, 0, err, sizeof err), SEGLOSS_ERR_FORMAT);
    /* a PNG is not a NIfTI file */
    CHECK_EQ_INT(segloss_nifti_read(&img, tf_data_path("img/grey8.png"), 0, err, sizeof err),
                 SEGLOSS_ERR_FORMAT);
    CHECK(strstr(err, "sizeof_hdr") != NULL);
}

/* gzip (one member, zlib) of src[0, n) into a malloc'd buffer, with `junk`
 * bytes of "XY" appended after the member; NULL on failure. */
static unsigned char *gzip_member(const unsigned char *src, size_t n, size_t junk, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + junk;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < junk; i++) out[len + i] = i % 2 ? 'Y' : 'X';
    *out_len = len + junk;
    return out;
}

/* The whole-buffer (libdeflate) path and the streaming (zlib) path give
 * the same image: a 6 MiB volume (big enough for the huge-page request),
 * gzipped as one member (whole-buffer path) and with bytes after the
 * member (streaming path), from a file and from memory, against the
 * uncompressed bytes read from memory. */
TEST(nifti_gz_whole_buffer_and_streaming_agree) {
    const size_t nx = 256, ny = 256, nz = 96, n = nx * ny * nz;
    unsigned char *raw = calloc(352 + n, 1);
    CHECK(raw != NULL);
    if (!raw) return;
    int32_t hs = 348;
    memcpy(raw, &hs, 4);
    put16(raw, 40, 3);
    put16(raw, 42, (int)nx);
    put16(raw, 44, (int)ny);
    put16(raw, 46, (int)nz);
    put16(raw, 70, 2); /* uint8 */
    put16(raw, 72, 8);
    for (int j = 0; j < 4; j++) put32f(raw, 76 + 4 * (size_t)j, 1.0f);
    put32f(raw, 108, 352.0f);
    memcpy(raw + 344, "n+1", 4);
    for (size_t i = 0; i < n; i++) raw[352 + i] = (unsigned char)((i / 4093) % 7 ? 0 : i % 11);
    segloss_image want, got;
    char err[256] = "";
    CHECK_EQ_INT(segloss_nifti_read_mem(&want, raw, 352 + n, 0, err, sizeof err), SEGLOSS_OK);
    const char *path = tmp_path("big.nii.gz");
    for (size_t junk = 0; junk <= 2; junk += 2) {
        size_t len = 0;
        unsigned char *gz = gzip_member(raw, 352 + n, junk, &len);
        CHECK(gz != NULL);
        if (!gz || !want.array.data) {
            free(gz);
            continue;
        }
        for (int from_file = 0; from_file < 2; from_file++) {
            segloss_status st;
            if (from_file) {
                CHECK(path && write_file(path, gz, len));
                st = segloss_nifti_read(&got, path, 0, err, sizeof err);
            } else {
                st = segloss_nifti_read_mem(&got, gz, len, 0, err, sizeof err);
            }
            CHECK_MSG(st == SEGLOSS_OK, "junk %zu, file %d: status %d (%s)", junk, from_file,
                      (int)st, err);
            if (st == SEGLOSS_OK) {
                CHECK_EQ_INT(got.array.numel, want.array.numel);
                CHECK_EQ_INT(got.array.dtype, SEGLOSS_U8);
                CHECK(memcmp(got.array.data, want.array.data, n) == 0);
            }
            segloss_image_free(&got);
        }
        /* Cut anywhere in the member: an error, never a short image. */
        size_t member = len - junk;
        for (size_t cut = member - 8; cut < member; cut += 3) {
            CHECK_EQ_INT(segloss_nifti_read_mem(&got, gz, cut, 0, err, sizeof err), SEGLOSS_ERR_FORMAT);
            segloss_image_free(&got);
        }
        free(gz);
    }
    segloss_image_free(&want);
    free(raw);
    tmp_cleanup();
}

/* A decoded .nii.gz hands out its voxels where they lie in the decoded
 * buffer (src/io/inflate.c keeps the buffer's start for
 * segloss_image_free), or moves them to the front: when they would not be
 * aligned as malloc aligns (vox_offset 357), when more than 1 MiB of
 * trailing bytes follow them, and when more images are alive than the
 * table of such buffers holds (64). 100 images alive at once, freed in
 * another order than read: the voxels are right in each, and ASan and
 * valgrind see any wrong free. */
TEST(nifti_gz_voxels_in_place_or_moved) {
    const size_t n = 5 * 6 * 7, tail_big = ((size_t)1 << 20) + 16;
    const int vox[3] = {352, 357, 352};
    const size_t tail[3] = {3, 0, tail_big};
    enum { LIVE = 100 };
    unsigned char *gz[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    for (int v = 0; v < 3; v++) {
        size_t total = (size_t)vox[v] + n + tail[v];
        unsigned char *raw = calloc(total, 1);
        CHECK(raw != NULL);
        if (!raw) continue;
        int32_t hs = 348;
        memcpy(raw, &hs, 4);
        put16(raw, 40, 3);
        put16(raw, 42, 5);
        put16(raw, 44, 6);
        put16(raw, 46, 7);
        put16(raw, 70, 2); /* uint8 */
        put16(raw, 72, 8);
        for (int j = 0; j < 4; j++) put32f(raw, 76 + 4 * (size_t)j, 1.0f);
        put32f(raw, 108, (float)vox[v]);
        memcpy(raw + 344, "n+1", 4);
        for (size_t i = 0; i < n; i++) raw[(size_t)vox[v] + i] = (unsigned char)(i * 7 + (size_t)v);
        gz[v] = gzip_member(raw, total, 0, &len[v]);
        CHECK(gz[v] != NULL);
        free(raw);
    }
    segloss_image *img = calloc(LIVE, sizeof *img);
    CHECK(img != NULL);
    char err[256] = "";
    for (int k = 0; img && k < LIVE; k++) {
        int v = k % 3;
        if (!gz[v]) continue;
        CHECK_EQ_INT(segloss_nifti_read_mem(&img[k], gz[v], len[v], 0, err, sizeof err), SEGLOSS_OK);
    }
    for (int k = 0; img && k < LIVE; k++) {
        int v = k % 3;
        const unsigned char *d = img[k].array.data;
        CHECK_MSG(d != NULL && img[k].array.numel == (int64_t)n, "image %d", k);
        CHECK_MSG(((uintptr_t)d) % _Alignof(max_align_t) == 0, "image %d: voxels misaligned", k);
        int bad = 0;
        for (size_t i = 0; d && i < n; i++) bad += d[i] != (unsigned char)(i * 7 + (size_t)v);
        CHECK_MSG(bad == 0, "image %d: %d voxels differ", k, bad);
    }
    for (int k = 0; img && k < LIVE; k += 2) segloss_image_free(&img[k]); /* evens first */
    for (int k = 1; img && k < LIVE; k += 2) segloss_image_free(&img[k]);
    free(img);
    for (int v = 0; v < 3; v++) free(gz[v]);
}
