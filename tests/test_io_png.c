/* PNG reader: fixtures from tools/ref/gen_img_fixtures.py (an independent,
 * hand-written PNG encoder), whose pixel patterns are recomputed here, and
 * damaged files built from them in memory. */
#include "tf.h"

#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ROWS 6
#define COLS 13

static unsigned pat(int r, int c, unsigned m) { return (unsigned)(31 * r + 17 * c + 3) % m; }
static unsigned pat16(int r, int c) { return (unsigned)(4099 * r + 257 * c + 1) % 65536u; }

/* Checks a decoded image against a pattern: m = 0 means pat16. */
static void check_pattern(const char *name, segloss_dtype dtype, unsigned m) {
    segloss_image img;
    char err[256];
    segloss_status st = segloss_image_read(&img, tf_data_path(name), 0, err, sizeof err);
    CHECK_MSG(st == SEGLOSS_OK, "%s: status %d (%s)", name, (int)st, err);
    if (st != SEGLOSS_OK) return;
    CHECK_EQ_INT(img.array.dtype, dtype);
    CHECK_EQ_INT(img.array.shape.ndim, 2);
    CHECK_EQ_INT(img.array.shape.dim[0], ROWS);
    CHECK_EQ_INT(img.array.shape.dim[1], COLS);
    CHECK_EQ_INT(img.array.numel, ROWS * COLS);
    CHECK_EQ_INT(img.has_spacing, 0);
    CHECK(img.spacing[0] == 1.0 && img.spacing[1] == 1.0);
    int bad = 0;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            unsigned want = m ? pat(r, c, m) : pat16(r, c);
            unsigned got = dtype == SEGLOSS_U16 ? ((const uint16_t *)img.array.data)[r * COLS + c]
                                                : ((const uint8_t *)img.array.data)[r * COLS + c];
            if (got != want && bad++ < 3)
                CHECK_MSG(0, "%s (%d,%d): got %u want %u", name, r, c, got, want);
        }
    CHECK_MSG(bad == 0, "%s: %d wrong pixels", name, bad);
    segloss_image_free(&img);
    CHECK(img.array.data == NULL);
}

TEST(png_grey_bit_depths) {
    check_pattern("img/grey1.png", SEGLOSS_U8, 2);   /* 0/1, not 0/255 */
    check_pattern("img/grey2.png", SEGLOSS_U8, 4);
    check_pattern("img/grey4.png", SEGLOSS_U8, 16);
    check_pattern("img/grey8.png", SEGLOSS_U8, 256);
    check_pattern("img/grey16.png", SEGLOSS_U16, 0);
    check_pattern("img/grey8_text.png", SEGLOSS_U8, 256);
}

TEST(png_interlaced) {
    check_pattern("img/grey8_adam7.png", SEGLOSS_U8, 256);
    check_pattern("img/grey1_adam7.png", SEGLOSS_U8, 2);
}

TEST(png_palette_index_is_label) {
    check_pattern("img/palette2.png", SEGLOSS_U8, 3);
    check_pattern("img/palette4.png", SEGLOSS_U8, 11);
    check_pattern("img/palette8.png", SEGLOSS_U8, 7);
}

TEST(png_grey_in_colour_clothes) {
    check_pattern("img/rgb8_grey.png", SEGLOSS_U8, 256);
    check_pattern("img/rgba8_grey.png", SEGLOSS_U8, 256);
    check_pattern("img/ga8_opaque.png", SEGLOSS_U8, 256);
    check_pattern("img/rgb16_grey.png", SEGLOSS_U16, 0);
    check_pattern("img/ga16_opaque.png", SEGLOSS_U16, 0);
}

static void check_rejected(const char *name, segloss_status want, const char *needle1,
                           const char *needle2) {
    segloss_image img;
    char err[256];
    segloss_status st = segloss_image_read(&img, tf_data_path(name), 0, err, sizeof err);
    CHECK_MSG(st == want, "%s: status %d, want %d (%s)", name, (int)st, (int)want, err);
    CHECK_MSG(strstr(err, needle1) != NULL, "%s: '%s' lacks '%s'", name, err, needle1);
    if (needle2) CHECK_MSG(strstr(err, needle2) != NULL, "%s: '%s' lacks '%s'", name, err, needle2);
    CHECK(img.array.data == NULL);
    segloss_image_free(&img);
}

TEST(png_colour_and_transparency_rejected) {
    check_rejected("img/rgb8_colour.png", SEGLOSS_ERR_UNSUPPORTED, "R, G, B differ at pixel (2, 5)",
                   "label or grey mask");
    check_rejected("img/ga8_transparent.png", SEGLOSS_ERR_UNSUPPORTED, "pixel (1, 2)", "alpha");
    check_rejected("img/rgba8_transparent.png", SEGLOSS_ERR_UNSUPPORTED, "pixel (4, 12)", "alpha");
}

TEST(png_mem_equals_file) {
    const char *names[] = {"img/grey1.png", "img/grey16.png", "img/palette4.png", "img/rgb8_grey.png",
                           "img/grey8_adam7.png"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        size_t len;
        unsigned char *buf = tf_read_file(tf_data_path(names[k]), &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        segloss_image a, b, c;
        char err[256];
        CHECK_EQ_INT(segloss_png_read(&a, tf_data_path(names[k]), 0, err, sizeof err), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_png_read_mem(&b, buf, len, 0, err, sizeof err), SEGLOSS_OK);
        CHECK_EQ_INT(segloss_image_read_mem(&c, SEGLOSS_IMAGE_PNG, buf, len, 0, err, sizeof err),
                     SEGLOSS_OK);
        size_t bytes = (size_t)a.array.numel * segloss_dtype_size(a.array.dtype);
        CHECK(a.array.data && b.array.data && c.array.data);
        if (a.array.data && b.array.data && c.array.data) {
            CHECK(b.array.numel == a.array.numel && b.array.dtype == a.array.dtype);
            CHECK(memcmp(a.array.data, b.array.data, bytes) == 0);
            CHECK(memcmp(a.array.data, c.array.data, bytes) == 0);
        }
        segloss_image_free(&a);
        segloss_image_free(&b);
        segloss_image_free(&c);
        free(buf);
    }
}

/* Every proper prefix of a valid file fails cleanly with FORMAT. */
TEST(png_every_truncation_fails) {
    const char *names[] = {"img/grey8.png", "img/grey1_adam7.png", "img/palette4.png",
                           "img/ga8_opaque.png", "img/grey8_text.png"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        size_t len;
        unsigned char *buf = tf_read_file(tf_data_path(names[k]), &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        int bad = 0;
        for (size_t n = 0; n < len; n++) {
            unsigned char *cut = malloc(n ? n : 1); /* exact size: ASan sees any overread */
            memcpy(cut, buf, n);
            segloss_image img;
            char err[256] = "";
            segloss_status st = segloss_png_read_mem(&img, cut, n, 0, err, sizeof err);
            if ((st != SEGLOSS_ERR_FORMAT || img.array.data != NULL || err[0] == '\0') && bad++ < 3)
                CHECK_MSG(0, "%s cut at %zu of %zu: status %d (%s)", names[k], n, len, (int)st, err);
            segloss_image_free(&img);
            free(cut);
        }
        CHECK_MSG(bad == 0, "%s: %d prefixes misread", names[k], bad);
        free(buf);
    }
}

/* Offset of the first chunk of the given type (its length field), or 0. */
static size_t find_chunk(const unsigned char *buf, size_t len, const char *type) {
    size_t off = 8;
    while (off + 12 <= len) {
        uint32_t n = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
                     (uint32_t)buf[off + 2] << 8 | buf[off + 3];
        if (memcmp(buf + off + 4, type, 4) == 0) return off;
        off += 12 + (size_t)n;
    }
    return 0;
}

static uint32_t chunk_len(const unsigned char *buf, size_t off) {
    return (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 | (uint32_t)buf[off + 2] << 8 |
           buf[off + 3];
}

static void fix_crc(unsigned char *buf, size_t off) {
    uint32_t n = chunk_len(buf, off);
    uLong crc = crc32(0L, buf + off + 4, (uInt)(n + 4));
    size_t p = off + 8 + n;
    buf[p] = (unsigned char)(crc >> 24);
    buf[p + 1] = (unsigned char)(crc >> 16);
    buf[p + 2] = (unsigned char)(crc >> 8);
    buf[p + 3] = (unsigned char)crc;
}

static void expect_status(const unsigned char *buf, size_t len, size_t max_bytes, segloss_status want,
                          const char *needle, const char *what) {
    segloss_image img;
    char err[256] = "";
    segloss_status st = segloss_png_read_mem(&img, buf, len, max_bytes, err, sizeof err);
    CHECK_MSG(st == want, "%s: status %d, want %d (%s)", what, (int)st, (int)want, err);
    if (needle) CHECK_MSG(strstr(err, needle) != NULL, "%s: '%s' lacks '%s'", what, err, needle);
    CHECK(st == SEGLOSS_OK || img.array.data == NULL);
    segloss_image_free(&img);
}

TEST(png_bad_crc_is_an_error) {
    size_t len;
    unsigned char *buf = tf_read_file(tf_data_path("img/grey8_text.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    expect_status(buf, len, 0, SEGLOSS_OK, NULL, "intact");
    const char *types[] = {"IHDR", "tEXt", "IDAT", "IEND"};
    for (int t = 0; t < 4; t++) {
        size_t off = find_chunk(buf, len, types[t]);
        CHECK_MSG(off != 0, "no %s chunk", types[t]);
        if (!off) continue;
        size_t crc_at = off + 8 + chunk_len(buf, off);
        /* a flipped CRC byte */
        buf[crc_at + 3] ^= 0x40;
        expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, "CRC", types[t]);
        buf[crc_at + 3] ^= 0x40;
        /* a flipped data byte (CRC now wrong) */
        if (chunk_len(buf, off) > 0) {
            /* IDAT data is inflated as it streams in, before the CRC at
             * the chunk's end is seen: zlib may complain first. */
            buf[off + 8] ^= 0x01;
            expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, strcmp(types[t], "IDAT") ? "CRC" : NULL,
                          types[t]);
            buf[off + 8] ^= 0x01;
        }
    }
    expect_status(buf, len, 0, SEGLOSS_OK, NULL, "restored");
    free(buf);
}

TEST(png_bad_signature_and_header) {
    size_t len;
    unsigned char *buf = tf_read_file(tf_data_path("img/grey8.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    buf[1] = 'Q';
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, "PNG", "signature");
    buf[1] = 'P';
    size_t ih = find_chunk(buf, len, "IHDR");
    CHECK_EQ_INT(ih, 8);
    unsigned char save[13];
    memcpy(save, buf + ih + 8, 13);
    /* width 0 */
    memset(buf + ih + 8, 0, 4);
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, "width is zero", "width 0");
    /* height 2^31 (beyond PNG's range) */
    memcpy(buf + ih + 8, save, 13);
    buf[ih + 12] = 0x80;
    buf[ih + 13] = buf[ih + 14] = buf[ih + 15] = 0;
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, NULL, "height 2^31");
    /* bit depth 3 */
    memcpy(buf + ih + 8, save, 13);
    buf[ih + 16] = 3;
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, NULL, "bit depth 3");
    /* colour type 5 */
    memcpy(buf + ih + 8, save, 13);
    buf[ih + 17] = 5;
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, NULL, "colour type 5");
    /* wider than the reader's limit */
    memcpy(buf + ih + 8, save, 13);
    buf[ih + 8] = 0x02; /* width 2^25 + ... */
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_LIMIT, "wider", "width 2^25");
    /* huge height, no cap: the buffer grows with the data, which runs out */
    memcpy(buf + ih + 8, save, 13);
    buf[ih + 12] = 0x7f;
    buf[ih + 13] = buf[ih + 14] = buf[ih + 15] = 0xff;
    fix_crc(buf, ih);
    expect_status(buf, len, 0, SEGLOSS_ERR_FORMAT, NULL, "height 2^31-1, no cap");
    expect_status(buf, len, (size_t)1 << 30, SEGLOSS_ERR_LIMIT, "limit", "height 2^31-1, 1 GiB cap");
    free(buf);
}

TEST(png_max_bytes_limit) {
    size_t len;
    unsigned char *buf = tf_read_file(tf_data_path("img/grey8.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    expect_status(buf, len, ROWS * COLS, SEGLOSS_OK, NULL, "exactly the cap");
    expect_status(buf, len, ROWS * COLS - 1, SEGLOSS_ERR_LIMIT, "limit", "one byte over");
    free(buf);
    buf = tf_read_file(tf_data_path("img/grey16.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    expect_status(buf, len, 2 * ROWS * COLS - 1, SEGLOSS_ERR_LIMIT, "limit", "16-bit");
    free(buf);
    /* The cap counts all decoded channels. */
    buf = tf_read_file(tf_data_path("img/rgb8_grey.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    expect_status(buf, len, 3 * ROWS * COLS, SEGLOSS_OK, NULL, "rgb at cap");
    expect_status(buf, len, 3 * ROWS * COLS - 1, SEGLOSS_ERR_LIMIT, "limit", "rgb over cap");
    free(buf);
}

TEST(png_io_and_args) {
    segloss_image img;
    char err[256];
    CHECK_EQ_INT(segloss_png_read(&img, tf_data_path("img/does-not-exist.png"), 0, err, sizeof err),
                 SEGLOSS_ERR_IO);
    CHECK(strstr(err, "cannot open") != NULL);
    CHECK(img.array.data == NULL);
    CHECK_EQ_INT(segloss_png_read(&img, tf_data_path("img"), 0, err, sizeof err), SEGLOSS_ERR_IO);
    CHECK_EQ_INT(segloss_png_read(NULL, "x.png", 0, err, sizeof err), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_png_read_mem(&img, NULL, 10, 0, NULL, 0), SEGLOSS_ERR_NULL);
    CHECK_EQ_INT(segloss_png_read_mem(&img, "", 0, 0, NULL, 0), SEGLOSS_ERR_FORMAT);
    /* NULL err is allowed */
    CHECK_EQ_INT(segloss_png_read(&img, tf_data_path("img/rgb8_colour.png"), 0, NULL, 0),
                 SEGLOSS_ERR_UNSUPPORTED);
    segloss_image_free(NULL);
}

TEST(png_image_dispatch_by_extension) {
    CHECK_EQ_INT(segloss_image_format_from_path("a/b.png"), SEGLOSS_IMAGE_PNG);
    CHECK_EQ_INT(segloss_image_format_from_path("B.PNG"), SEGLOSS_IMAGE_PNG);
    CHECK_EQ_INT(segloss_image_format_from_path("x.nii"), SEGLOSS_IMAGE_NIFTI);
    CHECK_EQ_INT(segloss_image_format_from_path("x.Nii.GZ"), SEGLOSS_IMAGE_NIFTI);
    CHECK_EQ_INT(segloss_image_format_from_path("x.npy"), SEGLOSS_IMAGE_NPY);
    CHECK_EQ_INT(segloss_image_format_from_path("x.hdr"), SEGLOSS_IMAGE_UNKNOWN);
    CHECK_EQ_INT(segloss_image_format_from_path("x.gz"), SEGLOSS_IMAGE_UNKNOWN);
    CHECK_EQ_INT(segloss_image_format_from_path("png"), SEGLOSS_IMAGE_UNKNOWN);
    CHECK_EQ_INT(segloss_image_format_from_path(NULL), SEGLOSS_IMAGE_UNKNOWN);
    segloss_image img;
    char err[256];
    CHECK_EQ_INT(segloss_image_read(&img, "scan.hdr", 0, err, sizeof err), SEGLOSS_ERR_UNSUPPORTED);
    CHECK(strstr(err, ".hdr/.img") != NULL);
    CHECK_EQ_INT(segloss_image_read(&img, "scan.img.gz", 0, err, sizeof err), SEGLOSS_ERR_UNSUPPORTED);
    CHECK_EQ_INT(segloss_image_read(&img, "mask.tif", 0, err, sizeof err), SEGLOSS_ERR_UNSUPPORTED);
    CHECK(strstr(err, ".png") != NULL);
    CHECK_EQ_INT(segloss_image_read_mem(&img, SEGLOSS_IMAGE_UNKNOWN, "x", 1, 0, err, sizeof err),
                 SEGLOSS_ERR_ARG);
    /* .npy goes to segloss_npy_read; no spacing */
    CHECK_EQ_INT(segloss_image_read(&img, tf_data_path("img/labels.npy"), 0, err, sizeof err),
                 SEGLOSS_OK);
    CHECK_EQ_INT(img.array.dtype, SEGLOSS_U8);
    CHECK_EQ_INT(img.array.shape.ndim, 2);
    CHECK_EQ_INT(img.array.shape.dim[0], 2);
    CHECK_EQ_INT(img.array.shape.dim[1], 3);
    CHECK_EQ_INT(img.has_spacing, 0);
    CHECK(img.spacing[0] == 1.0 && img.spacing[1] == 1.0);
    if (img.array.data) CHECK_EQ_INT(((const uint8_t *)img.array.data)[5], 5);
    segloss_image_free(&img);
    CHECK_EQ_INT(segloss_image_read(&img, tf_data_path("img/missing.npy"), 0, err, sizeof err),
                 SEGLOSS_ERR_IO);
    CHECK(img.array.data == NULL);
    /* A PNG with a .nii name is read as NIfTI and rejected. */
    size_t len;
    unsigned char *buf = tf_read_file(tf_data_path("img/grey8.png"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK_EQ_INT(segloss_image_read_mem(&img, SEGLOSS_IMAGE_NIFTI, buf, len, 0, err, sizeof err),
                 SEGLOSS_ERR_FORMAT);
    free(buf);
}
