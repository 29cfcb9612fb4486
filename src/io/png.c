/* PNG reader for label and grey masks (libpng 1.6).
 *
 * What comes out (see segloss.h): shape (rows, cols); grey 1/2/4/8-bit ->
 * uint8 (low bit depths expanded, not rescaled), 16-bit -> uint16 in host
 * order, palette -> the index as uint8, grey+alpha/RGB/RGBA only when they
 * are grey in disguise (alpha at its maximum everywhere, R == G == B).
 *
 * Robustness: libpng reports errors through png_error, which calls our error
 * callback; that stores the message and longjmps back to png_decode. All
 * mutable state lives in a png_job owned by the caller of png_decode, so
 * nothing that setjmp could clobber is read after a longjmp. Warnings are
 * swallowed (the library never prints). CRC errors in any chunk are fatal,
 * and the image size is checked against max_bytes (and for overflow) from
 * IHDR, before libpng or we allocate anything proportional to it. */
#include "core/internal.h"

#include <png.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Widest image accepted (libpng's default limit is 1e6). */
#define SEGLOSS_PNG_MAX_WIDTH ((png_uint_32)1 << 24)
/* First size of the growing pixel buffer. */
#define PNG_FIRST_ALLOC ((size_t)1 << 20)

typedef struct png_job {
    /* input: a FILE, or a memory buffer */
    FILE *fp;
    const unsigned char *buf;
    size_t len, pos;
    size_t max_bytes;
    /* libpng state and the pixel buffer: released by png_run in every case */
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    /* result */
    png_uint_32 width, height;
    int bytes_per_sample;      /* 1 or 2 after the transformations */
    segloss_status jmp_status; /* status to return after a longjmp (0: FORMAT) */
    char msg[256];
    char warning[160];         /* the last libpng warning */
} png_job;

static void png_job_msg(png_job *job, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void png_job_msg(png_job *job, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->msg, sizeof job->msg, fmt, ap);
    va_end(ap);
}

/* png_check_IHDR explains each problem with a warning, then fails with a
 * bare "Invalid IHDR data": the warning is the useful message. */
static void png_error_cb(png_structp png, png_const_charp msg) {
    png_job *job = (png_job *)png_get_error_ptr(png);
    if (!msg) msg = "unknown libpng error";
    if (strstr(job->warning, "width exceeds user limit")) {
        job->jmp_status = SEGLOSS_ERR_LIMIT;
        png_job_msg(job, "PNG image is wider than %lu pixels, the most segloss reads",
                    (unsigned long)SEGLOSS_PNG_MAX_WIDTH);
    } else {
        if (strstr(msg, "memory")) job->jmp_status = SEGLOSS_ERR_NOMEM;
        if (strstr(msg, "Invalid IHDR") && job->warning[0])
            png_job_msg(job, "invalid PNG: %s", job->warning);
        else
            png_job_msg(job, "invalid PNG: %s", msg);
    }
    png_longjmp(png, 1);
}

/* Warnings are never printed; the last one is kept for png_error_cb. */
static void png_warning_cb(png_structp png, png_const_charp msg) {
    png_job *job = (png_job *)png_get_error_ptr(png);
    snprintf(job->warning, sizeof job->warning, "%s", msg ? msg : "");
}

/* libpng read callback: every request must be satisfied in full. */
static void png_read_cb(png_structp png, png_bytep dst, size_t n) {
    png_job *job = (png_job *)png_get_io_ptr(png);
    if (job->fp) {
        size_t got = fread(dst, 1, n, job->fp);
        if (got != n) {
            if (ferror(job->fp)) {
                job->jmp_status = SEGLOSS_ERR_IO;
                png_job_msg(job, "read error: %s", strerror(errno));
                png_longjmp(png, 1);
            }
            png_error(png, "file is truncated");
        }
    } else {
        if (n > job->len - job->pos) png_error(png, "file is truncated");
        memcpy(dst, job->buf + job->pos, n);
        job->pos += n;
    }
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Everything that may call png_error. Returns OK, or a status with
 * job->msg set for problems found by segloss itself (size, colour). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static segloss_status png_decode_body(png_job *job) {
    png_structp png = job->png;
    png_infop info = job->info;

    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    /* libpng 1.6.39 reads these ancillary chunks into one buffer of the
     * length the chunk header declares (up to 2^31 - 1 bytes, whatever the
     * file holds; found by fuzz/fuzz_png.c). segloss uses none of them:
     * they are skipped in small reads, their CRC still checked. */
    static const png_byte skipped[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0pCAL\0sCAL\0eXIf";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped, (int)(sizeof skipped / 5));
    /* Width bounds libpng's own row buffers (at most 8 bytes a pixel);
     * height only our pixel buffer, which grows with the rows decoded. */
    png_set_user_limits(png, SEGLOSS_PNG_MAX_WIDTH, PNG_UINT_31_MAX);
    png_set_read_fn(png, job, png_read_cb);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
    int channels;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: case PNG_COLOR_TYPE_PALETTE: channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB: channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default:
        png_job_msg(job, "invalid PNG: colour type %d", color_type);
        return SEGLOSS_ERR_FORMAT;
    }
    int bps = bit_depth == 16 ? 2 : 1;

    /* Decoded size of all channels, checked before any allocation that
     * grows with the image (libpng's row buffers come with
     * png_read_update_info). */
    size_t row_bytes = (size_t)w * (size_t)channels * (size_t)bps; /* < 2^34: no overflow */
    if (h != 0 && row_bytes > SIZE_MAX / h) {
        png_job_msg(job, "PNG image of %lu x %lu pixels is too large to address",
                    (unsigned long)h, (unsigned long)w);
        return SEGLOSS_ERR_OVERFLOW;
    }
    size_t total = row_bytes * h;
    if (job->max_bytes && total > job->max_bytes) {
        png_job_msg(job, "PNG image of %lu x %lu pixels decodes to %zu bytes, above the limit of %zu bytes",
                    (unsigned long)h, (unsigned long)w, total, job->max_bytes);
        return SEGLOSS_ERR_LIMIT;
    }

    if (bit_depth < 8) png_set_packing(png); /* one byte per sample, value kept */
    if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
    int passes = 1;
    if (interlace != PNG_INTERLACE_NONE) passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != row_bytes) {
        png_job_msg(job, "internal error: libpng row size %zu, expected %zu",
                    (size_t)png_get_rowbytes(png, info), row_bytes);
        return SEGLOSS_ERR_INTERNAL;
    }

    /* Row by row (no array of h row pointers to allocate); with interlace
     * handling each pass fills in its pixels of every row it covers. The
     * buffer grows (doubling) with the rows reached, so a header that
     * promises more than the file holds costs little memory. */
    size_t cap = 0;
    for (int p = 0; p < passes; p++) {
        for (png_uint_32 r = 0; r < h; r++) {
            size_t need = ((size_t)r + 1) * row_bytes;
            if (need > cap) {
                size_t ncap = cap > total / 2 ? total : cap * 2;
                if (ncap < need) ncap = need;
                if (ncap < PNG_FIRST_ALLOC && total >= PNG_FIRST_ALLOC) ncap = PNG_FIRST_ALLOC;
                if (ncap > total) ncap = total;
                unsigned char *np = realloc(job->pixels, ncap ? ncap : 1);
                if (!np) {
                    png_job_msg(job, "out of memory for a PNG image of %zu bytes", total);
                    return SEGLOSS_ERR_NOMEM;
                }
                job->pixels = np;
                cap = ncap;
            }
            png_read_row(png, job->pixels + (size_t)r * row_bytes, NULL);
        }
    }
    png_read_end(png, NULL); /* the remaining chunks, CRCs included, up to IEND */

    job->width = w;
    job->height = h;
    job->bytes_per_sample = bps;
    if (channels == 1) return SEGLOSS_OK;

    /* Grey in disguise? Compact in place to one sample per pixel (the write
     * index never passes the read index). */
    size_t npix = (size_t)w * h;
    int has_alpha = channels == 2 || channels == 4;
    int colour = channels >= 3;
    unsigned amax = bps == 2 ? 65535u : 255u;
    for (size_t i = 0; i < npix; i++) {
        unsigned s[4];
        for (int c = 0; c < channels; c++) {
            if (bps == 2) {
                uint16_t v;
                memcpy(&v, job->pixels + (i * (size_t)channels + (size_t)c) * 2, 2);
                s[c] = v;
            } else {
                s[c] = job->pixels[i * (size_t)channels + (size_t)c];
            }
        }
        if (colour && (s[0] != s[1] || s[0] != s[2])) {
            png_job_msg(job, "colour image: R, G, B differ at pixel (%zu, %zu); "
                        "segloss expects a label or grey mask", i / w, i % w);
            return SEGLOSS_ERR_UNSUPPORTED;
        }
        if (has_alpha && s[channels - 1] != amax) {
            png_job_msg(job, "%s image with transparency: alpha is %u at pixel (%zu, %zu); "
                        "segloss expects a label or grey mask",
                        colour ? "RGBA" : "grey+alpha", s[channels - 1], i / w, i % w);
            return SEGLOSS_ERR_UNSUPPORTED;
        }
        if (bps == 2) {
            uint16_t v = (uint16_t)s[0];
            memcpy(job->pixels + i * 2, &v, 2);
        } else {
            job->pixels[i] = (unsigned char)s[0];
        }
    }
    return SEGLOSS_OK;
}

/* The only function that calls setjmp: it has no locals, and after a
 * longjmp it reads nothing but its (unmodified) parameter. */
static segloss_status png_decode(png_job *job) {
    if (setjmp(png_jmpbuf(job->png))) {
        return job->jmp_status != SEGLOSS_OK ? job->jmp_status : SEGLOSS_ERR_FORMAT;
    }
    return png_decode_body(job);
}

static segloss_status png_run(segloss_image *out, png_job *job, char *err, size_t errlen) {
    segloss_status st;
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, png_error_cb, png_warning_cb);
    if (job->png) job->info = png_create_info_struct(job->png);
    if (!job->png || !job->info) {
        png_job_msg(job, "out of memory creating the PNG decoder");
        st = SEGLOSS_ERR_NOMEM;
    } else {
        st = png_decode(job);
    }
    if (job->png) png_destroy_read_struct(&job->png, job->info ? &job->info : NULL, NULL);
    if (st != SEGLOSS_OK) {
        free(job->pixels);
        job->pixels = NULL;
        if (err && errlen) snprintf(err, errlen, "%s", job->msg);
        return st;
    }
    size_t npix = (size_t)job->width * job->height;
    size_t bytes = npix * (size_t)job->bytes_per_sample;
    void *data = realloc(job->pixels, bytes ? bytes : 1); /* shrink after compaction */
    out->array.data = data ? data : job->pixels;
    job->pixels = NULL;
    out->array.dtype = job->bytes_per_sample == 2 ? SEGLOSS_U16 : SEGLOSS_U8;
    out->array.shape.ndim = 2;
    out->array.shape.dim[0] = (int64_t)job->height;
    out->array.shape.dim[1] = (int64_t)job->width;
    out->array.numel = (int64_t)npix;
    for (int i = 0; i < SEGLOSS_MAX_DIMS; i++) out->spacing[i] = 1.0;
    out->has_spacing = 0;
    return SEGLOSS_OK;
}

static void png_clear_out(segloss_image *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SEGLOSS_MAX_DIMS; i++) out->spacing[i] = 1.0;
}

segloss_status segloss_png_read_mem(segloss_image *out, const void *buf, size_t len,
                                    size_t max_bytes, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    png_clear_out(out);
    if (!buf && len) return SEGLOSS_ERR_NULL;
    png_job job;
    memset(&job, 0, sizeof job);
    job.buf = (const unsigned char *)buf;
    job.len = buf ? len : 0;
    job.max_bytes = max_bytes;
    return png_run(out, &job, err, errlen);
}

segloss_status segloss_png_read(segloss_image *out, const char *path, size_t max_bytes,
                                char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    png_clear_out(out);
    if (!path) return SEGLOSS_ERR_NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (err && errlen) snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return SEGLOSS_ERR_IO;
    }
    png_job job;
    memset(&job, 0, sizeof job);
    job.fp = fp;
    job.max_bytes = max_bytes;
    segloss_status st = png_run(out, &job, err, errlen);
    fclose(fp);
    return st;
}
