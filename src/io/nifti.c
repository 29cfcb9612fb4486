/* Strict single-file NIfTI-1 / NIfTI-2 reader (.nii, .nii.gz).
 *
 * Why not the reference nifticlib: it prints to stderr, and its header
 * checks were not written for hostile input; this reader is small enough to
 * check every field it uses and is the path the fuzzer exercises.
 *
 * Layout (offsets in bytes; both byte orders, detected from sizeof_hdr):
 *   NIfTI-1 (348): sizeof_hdr@0 i32, dim@40 i16[8], datatype@70 i16,
 *     pixdim@76 f32[8], vox_offset@108 f32, scl_slope@112 f32,
 *     scl_inter@116 f32, magic@344 "n+1\0" ("ni1\0" = .hdr/.img pair).
 *   NIfTI-2 (540): sizeof_hdr@0 i32, magic@4 "n+2\0\r\n\032\n",
 *     datatype@12 i16, dim@16 i64[8], pixdim@104 f64[8],
 *     vox_offset@168 i64, scl_slope@176 f64, scl_inter@184 f64.
 * Voxels start at vox_offset, x fastest: dim (nx, ny, nz) is the C-order
 * array (nz, ny, nx), spacing (pz, py, px). See segloss.h for the rules on
 * dropped axes, scaling and spacing.
 *
 * Speed (docs/benchmarks-eval.md): a .nii.gz that is one gzip member (what
 * every writer produces) is read whole and decoded in one call by
 * libdeflate into a buffer of its final size (src/io/inflate.c); the header
 * is then parsed from that buffer, whose voxels become the image data
 * without a copy. Anything else (several members, data after the stream,
 * corrupt or truncated input) goes through zlib's streaming inflate below,
 * whose checks and messages are the reference. Voxel data is allocated
 * once at the size the header gives when the input is known to hold it
 * (a memory buffer, a regular file), and grown by doubling otherwise, so
 * that a truncated file never costs much more memory than it holds. */
#include "core/internal.h"
#include "io/inflate.h"
#include "io/nifti_fields.h"

#include <zlib.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Trailing decompressed bytes read after the voxels to reach (and check)
 * the gzip CRC; past this the rest is not decompressed. */
#define NII_DRAIN_MAX ((uint64_t)64 << 20)
/* Most bytes of header extensions skipped between the header and
 * vox_offset (real extensions are kilobytes): a tiny .nii.gz claiming a
 * vox_offset of gigabytes would otherwise make the reader inflate that much
 * before it found out anything. A smaller max_bytes lowers it further. */
#define NII_EXT_MAX ((uint64_t)256 << 20)
/* First allocation for the voxel data; it doubles as data arrives, so a
 * truncated file never costs much more memory than it holds. */
#define NII_CHUNK ((size_t)1 << 20)
/* Most bytes of a decoded .nii.gz besides its voxels (header, extensions,
 * trailing bytes) kept around them, so that the voxels need not move. */
#define NII_KEEP_MAX ((size_t)1 << 20)

/* A byte source: a file or a memory buffer, either of them possibly
 * gzip-compressed. Both go through the same code: the pending input is the
 * window buf[pos, len) — the whole buffer for memory, a chunk read with
 * fread for a file — and compressed input runs through inflate, which
 * reports a stream cut short as an error. (zlib's gzread cannot be used: in
 * zlib 1.2.13 a stream that ends exactly when its output buffer fills is
 * reported as a clean end of data, so a truncated .nii.gz read as "OK".) */
#define NII_IN_CHUNK ((size_t)1 << 16)
typedef struct nii_src {
    FILE *fp;               /* file source (NULL: memory) */
    unsigned char *inbuf;   /* file source: NII_IN_CHUNK bytes */
    const unsigned char *buf;
    size_t len, pos;
    int inflating;          /* gzip input */
    int zdone;              /* inflate reached the end of the last member */
    z_stream zs;
    uint64_t offset;        /* decompressed bytes consumed */
    uint64_t file_size;     /* file source: its size when it is a regular file, else 0 */
    unsigned char *owned;   /* memory source: buf, malloc'd; the decoder may keep it */
} nii_src;

typedef struct nii_ctx {
    nii_src src;
    char *err;
    size_t errlen;
} nii_ctx;

static segloss_status nii_fail(nii_ctx *c, segloss_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static segloss_status nii_fail(nii_ctx *c, segloss_status st, const char *fmt, ...) {
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* File source: when the window is empty, reads the next chunk after the
 * `keep` bytes at `from` (moved to the front). Memory: nothing to do. */
static segloss_status nii_fill(nii_ctx *c, const unsigned char *from, size_t keep) {
    nii_src *s = &c->src;
    if (!s->fp || s->pos < s->len) return SEGLOSS_OK;
    if (keep) memmove(s->inbuf, from, keep);
    size_t n = fread(s->inbuf + keep, 1, NII_IN_CHUNK - keep, s->fp);
    if (n == 0 && ferror(s->fp))
        return nii_fail(c, SEGLOSS_ERR_IO, "read error: %s", strerror(errno));
    s->buf = s->inbuf;
    s->pos = 0;
    s->len = keep + n;
    return SEGLOSS_OK;
}

/* Reads up to n bytes into dst (NULL: discard); *got < n only at the end
 * of the data. Corrupt compressed data is FORMAT, an OS failure IO. */
static segloss_status nii_read(nii_ctx *c, void *dst, size_t n, size_t *got) {
    nii_src *s = &c->src;
    unsigned char scratch[4096];
    unsigned char *p = (unsigned char *)dst;
    size_t done = 0;
    *got = 0;
    while (done < n) {
        size_t want = n - done;
        unsigned char *to = p ? p + done : scratch;
        if (!p && want > sizeof scratch) want = sizeof scratch;
        if (want > ((size_t)1 << 30)) want = (size_t)1 << 30;
        size_t step = 0;
        if (s->inflating) {
            if (s->zdone) break;
            s->zs.next_out = to;
            s->zs.avail_out = (uInt)want;
            while (s->zs.avail_out > 0 && !s->zdone) {
                if (s->zs.avail_in == 0) {
                    segloss_status fs = nii_fill(c, NULL, 0);
                    if (fs != SEGLOSS_OK) return fs;
                }
                if (s->zs.avail_in == 0 && s->pos < s->len) {
                    size_t in = s->len - s->pos;
                    if (in > UINT_MAX) in = UINT_MAX;
                    s->zs.next_in = (Bytef *)(uintptr_t)(s->buf + s->pos);
                    s->zs.avail_in = (uInt)in;
                    s->pos += in;
                }
                int r = inflate(&s->zs, Z_NO_FLUSH);
                if (r == Z_STREAM_END) {
                    /* Another gzip member follows? (as gzread does) A file
                     * source keeps the unread input contiguous: everything
                     * read so far was handed to inflate (pos == len). */
                    if (s->fp && s->zs.avail_in < 2) {
                        s->pos = s->len;
                        segloss_status fs = nii_fill(c, s->zs.next_in, s->zs.avail_in);
                        if (fs != SEGLOSS_OK) return fs;
                        s->zs.next_in = (Bytef *)(uintptr_t)s->buf;
                        s->zs.avail_in = (uInt)s->len;
                        s->pos = s->len;
                    }
                    size_t left = s->zs.avail_in + (s->len - s->pos);
                    const unsigned char *nx = s->zs.avail_in ? s->zs.next_in : s->buf + s->pos;
                    if (left >= 2 && nx[0] == 0x1f && nx[1] == 0x8b) {
                        if (inflateReset(&s->zs) != Z_OK)
                            return nii_fail(c, SEGLOSS_ERR_INTERNAL, "zlib inflateReset failed");
                    } else {
                        s->zdone = 1;
                    }
                } else if (r == Z_MEM_ERROR) {
                    return nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory in zlib");
                } else if (r == Z_BUF_ERROR) {
                    if (s->zs.avail_in == 0 && s->pos >= s->len)
                        return nii_fail(c, SEGLOSS_ERR_FORMAT, "gzip stream is truncated");
                } else if (r != Z_OK) {
                    return nii_fail(c, SEGLOSS_ERR_FORMAT, "corrupt gzip stream: %s",
                                    s->zs.msg ? s->zs.msg : "invalid data");
                }
            }
            step = want - s->zs.avail_out;
            if (step == 0) break;
        } else if (s->fp && p && s->pos == s->len && want >= NII_IN_CHUNK) {
            /* Big reads straight into the destination, not via inbuf. */
            step = fread(to, 1, want, s->fp);
            if (step < want && ferror(s->fp))
                return nii_fail(c, SEGLOSS_ERR_IO, "read error: %s", strerror(errno));
            if (step == 0) break;
        } else {
            segloss_status fs = nii_fill(c, NULL, 0);
            if (fs != SEGLOSS_OK) return fs;
            size_t left = s->len - s->pos;
            step = want < left ? want : left;
            if (step == 0) break;
            if (p) memcpy(to, s->buf + s->pos, step);
            s->pos += step;
        }
        done += step;
        s->offset += step;
    }
    *got = done;
    return SEGLOSS_OK;
}

static int nii_is_compressed(const nii_src *s) {
    return s->inflating;
}

/* ---- the reader ------------------------------------------------------------ */
static segloss_status nii_decode(nii_ctx *c, segloss_image *out, size_t max_bytes) {
    unsigned char h[540];
    size_t got = 0;
    segloss_status st = nii_read(c, h, 4, &got);
    if (st != SEGLOSS_OK) return st;
    if (got < 4)
        return nii_fail(c, SEGLOSS_ERR_FORMAT, "file is truncated: %zu bytes, too short for a NIfTI header", got);
    int32_t sz_native, sz_swapped;
    memcpy(&sz_native, h, 4);
    sz_swapped = segloss__nii_i32(h, 0, 1);
    int swap, v2;
    if (sz_native == 348 || sz_native == 540) {
        swap = 0;
        v2 = sz_native == 540;
    } else if (sz_swapped == 348 || sz_swapped == 540) {
        swap = 1;
        v2 = sz_swapped == 540;
    } else {
        if (h[0] == 0x1f && h[1] == 0x8b)
            return nii_fail(c, SEGLOSS_ERR_FORMAT, "not a NIfTI file: gzip data inside a gzip stream");
        return nii_fail(c, SEGLOSS_ERR_FORMAT,
                        "not a NIfTI file: sizeof_hdr is %ld, expected 348 (NIfTI-1) or 540 (NIfTI-2)",
                        (long)sz_native);
    }
    size_t hsize = v2 ? 540 : 348;
    st = nii_read(c, h + 4, hsize - 4, &got);
    if (st != SEGLOSS_OK) return st;
    if (got < hsize - 4)
        return nii_fail(c, SEGLOSS_ERR_FORMAT, "file is truncated: the NIfTI-%d header needs %zu bytes, found %zu",
                        v2 ? 2 : 1, hsize, got + 4);

    int64_t dim[8];
    double pixdim[8], slope, inter, vox_offset_f = 0;
    int64_t vox_offset;
    int dtcode;
    if (v2) {
        if (memcmp(h + 4, "ni2\0\r\n\032\n", 8) == 0)
            return nii_fail(c, SEGLOSS_ERR_UNSUPPORTED,
                            "NIfTI-2 header of a .hdr/.img pair: not supported, convert to a single .nii file");
        if (memcmp(h + 4, "n+2\0\r\n\032\n", 8) != 0)
            return nii_fail(c, SEGLOSS_ERR_FORMAT, "bad NIfTI-2 magic (expected \"n+2\\0\\r\\n\\032\\n\")");
        dtcode = (int)segloss__nii_i16(h, 12, swap);
        for (int i = 0; i < 8; i++) dim[i] = segloss__nii_i64(h, 16 + 8 * (size_t)i, swap);
        for (int i = 0; i < 8; i++) pixdim[i] = segloss__nii_f64(h, 104 + 8 * (size_t)i, swap);
        vox_offset = segloss__nii_i64(h, 168, swap);
        slope = segloss__nii_f64(h, 176, swap);
        inter = segloss__nii_f64(h, 184, swap);
    } else {
        if (memcmp(h + 344, "ni1\0", 4) == 0)
            return nii_fail(c, SEGLOSS_ERR_UNSUPPORTED,
                            "NIfTI-1 header of a .hdr/.img pair: not supported, convert to a single .nii file");
        if (memcmp(h + 344, "n+1\0", 4) != 0)
            return nii_fail(c, SEGLOSS_ERR_FORMAT,
                            "bad NIfTI-1 magic (expected \"n+1\"; an ANALYZE 7.5 header is not supported)");
        dtcode = (int)segloss__nii_i16(h, 70, swap);
        for (int i = 0; i < 8; i++) dim[i] = segloss__nii_i16(h, 40 + 2 * (size_t)i, swap);
        for (int i = 0; i < 8; i++) pixdim[i] = segloss__nii_f32(h, 76 + 4 * (size_t)i, swap);
        vox_offset_f = segloss__nii_f32(h, 108, swap);
        if (!(vox_offset_f >= 0 && vox_offset_f <= 2147483647.0) || vox_offset_f != floor(vox_offset_f))
            return nii_fail(c, SEGLOSS_ERR_FORMAT, "vox_offset %g is not a valid byte offset", vox_offset_f);
        vox_offset = (int64_t)vox_offset_f;
        slope = segloss__nii_f32(h, 112, swap);
        inter = segloss__nii_f32(h, 116, swap);
    }

    if (dim[0] < 1 || dim[0] > 7)
        return nii_fail(c, SEGLOSS_ERR_FORMAT, "dim[0] = %lld: the number of dimensions must be 1..7",
                        (long long)dim[0]);
    int nd = (int)dim[0];
    int64_t numel = 1;
    for (int i = 1; i <= nd; i++) {
        if (dim[i] < 1)
            return nii_fail(c, SEGLOSS_ERR_FORMAT, "dim[%d] = %lld: dimensions must be >= 1", i,
                            (long long)dim[i]);
        if (numel > INT64_MAX / dim[i])
            return nii_fail(c, SEGLOSS_ERR_OVERFLOW, "image dimensions overflow (dim[%d] = %lld)", i,
                            (long long)dim[i]);
        numel *= dim[i];
    }
    segloss_dtype dt;
    if (!segloss__nii_dtype(dtcode, &dt))
        return nii_fail(c, SEGLOSS_ERR_UNSUPPORTED,
                        "NIfTI datatype %d (%s) is not supported; expected an integer or real type",
                        dtcode, segloss__nii_dtype_name(dtcode));
    size_t esize = segloss_dtype_size(dt);
    if ((uint64_t)numel > (uint64_t)(SIZE_MAX / 8) || (uint64_t)numel > (uint64_t)INT64_MAX / 8)
        return nii_fail(c, SEGLOSS_ERR_OVERFLOW, "image of %lld voxels is too large to address",
                        (long long)numel);
    size_t data_bytes = (size_t)numel * esize;
    int scale = isfinite(slope) && slope != 0.0 && !(slope == 1.0 && inter == 0.0);
    if (!isfinite(inter)) inter = 0.0;
    if (scale && inter == 0.0 && slope == 1.0) scale = 0;
    size_t out_bytes = scale ? (size_t)numel * 8 : data_bytes;
    size_t biggest = out_bytes > data_bytes ? out_bytes : data_bytes;
    if (max_bytes && biggest > max_bytes)
        return nii_fail(c, SEGLOSS_ERR_LIMIT, "image data is %zu bytes, above the limit of %zu bytes",
                        biggest, max_bytes);
    if (vox_offset < (int64_t)hsize)
        return nii_fail(c, SEGLOSS_ERR_FORMAT, "vox_offset %lld lies inside the %zu-byte header",
                        (long long)vox_offset, hsize);

    /* Skip the extension flag and extensions up to vox_offset. */
    uint64_t skip = (uint64_t)vox_offset - hsize;
    uint64_t ext_cap = max_bytes && (uint64_t)max_bytes < NII_EXT_MAX ? (uint64_t)max_bytes : NII_EXT_MAX;
    if (skip > ext_cap)
        return nii_fail(c, SEGLOSS_ERR_LIMIT,
                        "vox_offset %lld puts %llu bytes of header extensions before the voxels, "
                        "above the limit of %llu bytes",
                        (long long)vox_offset, (unsigned long long)skip,
                        (unsigned long long)ext_cap);
    st = nii_read(c, NULL, (size_t)skip, &got);
    if (st != SEGLOSS_OK) return st;
    if (got < skip)
        return nii_fail(c, SEGLOSS_ERR_FORMAT, "vox_offset %lld is past the end of the file (%llu bytes)",
                        (long long)vox_offset, (unsigned long long)c->src.offset);

    /* Voxels: at once when the input is known to hold them, else in a
     * buffer that grows with what actually arrives. */
    unsigned char *data = NULL;
    nii_src *src = &c->src;
    size_t have = 0;
    uint64_t avail = src->inflating ? 0
                     : src->fp      ? (src->file_size > src->offset ? src->file_size - src->offset : 0)
                                    : src->len - src->pos;
    if (src->owned && !src->inflating && avail >= data_bytes) {
        /* The decoded .nii.gz: its voxels become the data where they lie
         * (header, extensions and trailing bytes stay around them), or
         * moved to the front when those are more than NII_KEEP_MAX or
         * the voxels do not start aligned as malloc would align them. */
        if (src->len - data_bytes <= NII_KEEP_MAX &&
            ((uintptr_t)src->owned + src->pos) % _Alignof(max_align_t) == 0)
            data = segloss__big_adopt(src->owned, src->pos);
        if (data) {
            src->owned = NULL;
        } else {
            data = src->owned;
            src->owned = NULL;
            memmove(data, data + src->pos, data_bytes);
            unsigned char *shrunk = realloc(data, data_bytes ? data_bytes : 1);
            if (shrunk) data = shrunk;
        }
        src->pos += data_bytes;
        src->offset += data_bytes;
        src->buf = NULL;
        src->len = src->pos = 0;
    } else {
        size_t cap = avail >= data_bytes || data_bytes < NII_CHUNK ? data_bytes : NII_CHUNK;
        data = cap == data_bytes ? segloss__big_alloc(cap) : malloc(cap ? cap : 1);
        if (!data) return nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory for %zu bytes of voxel data", cap);
        for (;;) {
            st = nii_read(c, data + have, cap - have, &got);
            if (st != SEGLOSS_OK) {
                free(data);
                return st;
            }
            have += got;
            if (have < cap) {
                free(data);
                return nii_fail(c, SEGLOSS_ERR_FORMAT,
                                "file is truncated: the voxel data needs %zu bytes after vox_offset %lld, found %zu",
                                data_bytes, (long long)vox_offset, have);
            }
            if (cap == data_bytes) break;
            size_t ncap = cap > data_bytes / 2 ? data_bytes : cap * 2;
            unsigned char *nd_ = realloc(data, ncap);
            if (!nd_) {
                free(data);
                return nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory for %zu bytes of voxel data", ncap);
            }
            data = nd_;
            cap = ncap;
        }
    }

    /* Read a gzip stream to its end: only there is its CRC checked. */
    if (nii_is_compressed(&c->src)) {
        uint64_t drained = 0;
        do {
            st = nii_read(c, NULL, 65536, &got);
            if (st != SEGLOSS_OK) {
                segloss__big_free(data);
                return st;
            }
            drained += got;
        } while (got > 0 && drained < NII_DRAIN_MAX);
    }

    if (swap && esize > 1)
        for (size_t i = 0; i < data_bytes; i += esize) segloss__nii_swap(data + i, esize);

    if (scale) {
        double *o = malloc(out_bytes ? out_bytes : 1);
        if (!o) {
            segloss__big_free(data);
            return nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory for %zu bytes of scaled data", out_bytes);
        }
        for (int64_t i = 0; i < numel; i++) o[i] = segloss__nii_value(data, dt, i) * slope + inter;
        segloss__big_free(data);
        data = (unsigned char *)o;
        dt = SEGLOSS_F64;
    }

    /* Array axes: NIfTI axes reversed, trailing size-1 axes beyond the
     * second dropped. */
    int keep = nd;
    while (keep > 2 && dim[keep] == 1) keep--;
    /* Spacing per axis (nibabel's rule: |pixdim|, 1 for a zero), and 1 for
     * NaN or inf too; each substituted axis is flagged. */
    unsigned substituted = 0;
    for (int j = 0; j < SEGLOSS_MAX_DIMS; j++) out->spacing[j] = 1.0;
    for (int j = 0; j < keep; j++) {
        int a = keep - j; /* NIfTI axis for array axis j */
        out->array.shape.dim[j] = dim[a];
        double p = fabs(pixdim[a]);
        out->spacing_file[j] = pixdim[a];
        if (isfinite(p) && p > 0) out->spacing[j] = p;
        else substituted |= 1u << j;
    }
    out->array.shape.ndim = keep;
    out->spacing_substituted = substituted;
    out->has_spacing = substituted == 0;
    out->array.data = data;
    out->array.dtype = dt;
    out->array.numel = numel;
    return SEGLOSS_OK;
}

/* A header that makes no sense inside a gzip stream may be the first sign
 * of a corrupt stream: if the rest of the stream fails its checks, that is
 * the error to report. */
static segloss_status nii_decode_checked(nii_ctx *c, segloss_image *out, size_t max_bytes) {
    segloss_status st = nii_decode(c, out, max_bytes);
    if ((st == SEGLOSS_ERR_FORMAT || st == SEGLOSS_ERR_UNSUPPORTED || st == SEGLOSS_ERR_OVERFLOW) &&
        nii_is_compressed(&c->src)) {
        uint64_t drained = 0;
        size_t got;
        do {
            segloss_status ds = nii_read(c, NULL, 65536, &got);
            if (ds != SEGLOSS_OK) return ds;
            drained += got;
        } while (got > 0 && drained < NII_DRAIN_MAX);
    }
    return st;
}

static void nii_clear_out(segloss_image *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SEGLOSS_MAX_DIMS; i++) out->spacing[i] = 1.0;
}

/* Decodes a NIfTI held in memory (c->src.buf, c->src.len: a .nii or a
 * .nii.gz); `owned`: buf is malloc'd and handed over (freed here). */
static segloss_status nii_decode_buffer(nii_ctx *c, segloss_image *out, size_t max_bytes,
                                        unsigned char *owned) {
    nii_src *s = &c->src;
    segloss_status st = SEGLOSS_OK;
    if (s->len >= 2 && s->buf[0] == 0x1f && s->buf[1] == 0x8b) {
        /* The decoded stream: header, extensions, voxels, a little trailing. */
        uint64_t most = (uint64_t)NII_EXT_MAX + NII_DRAIN_MAX + 540u + (uint64_t)max_bytes;
        size_t cap = !max_bytes || most > SIZE_MAX ? SIZE_MAX : (size_t)most;
        unsigned char *plain = NULL;
        size_t plain_len = 0;
        int r = segloss__gunzip_whole(&plain, &plain_len, s->buf, s->len, cap);
        if (r == -2) {
            st = nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory decoding the gzip stream");
        } else if (r == 0) {
            free(owned);
            owned = NULL;
            s->buf = s->owned = plain;
            s->len = plain_len;
        } else if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {
            st = nii_fail(c, SEGLOSS_ERR_NOMEM, "cannot initialise zlib");
        } else {
            s->inflating = 1;
        }
    }
    if (st == SEGLOSS_OK) st = nii_decode_checked(c, out, max_bytes);
    if (s->inflating) inflateEnd(&s->zs);
    free(s->owned);
    free(owned);
    if (st != SEGLOSS_OK) nii_clear_out(out);
    return st;
}

segloss_status segloss_nifti_read_mem(segloss_image *out, const void *buf, size_t len,
                                      size_t max_bytes, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    nii_clear_out(out);
    if (!buf && len) return SEGLOSS_ERR_NULL;
    nii_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.errlen = errlen;
    c.src.buf = (const unsigned char *)buf;
    c.src.len = buf ? len : 0;
    return nii_decode_buffer(&c, out, max_bytes, NULL);
}

/* A .nii.gz file, whole, into memory (its first window is in c->src). */
static segloss_status nii_slurp(nii_ctx *c, unsigned char **whole, size_t *len) {
    nii_src *s = &c->src;
    size_t size = (size_t)s->file_size;
    if ((uint64_t)size != s->file_size || size < s->len) size = s->len;
    /* malloc, not huge pages: freeing a 2 MiB-aligned block raises glibc's
     * mmap threshold to its size, and the smaller buffers allocated after
     * it then stay in the heap (peak RSS +4 MiB at 1 thread, +7 at 2). */
    unsigned char *b = malloc(size ? size : 1);
    if (!b) return nii_fail(c, SEGLOSS_ERR_NOMEM, "out of memory for the %zu-byte file", size);
    memcpy(b, s->buf, s->len);
    size_t got = s->len + fread(b + s->len, 1, size - s->len, s->fp);
    if (got < size && ferror(s->fp)) {
        free(b);
        return nii_fail(c, SEGLOSS_ERR_IO, "read error: %s", strerror(errno));
    }
    *whole = b;
    *len = got;
    return SEGLOSS_OK;
}

segloss_status segloss_nifti_read(segloss_image *out, const char *path, size_t max_bytes,
                                  char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    nii_clear_out(out);
    if (!path) return SEGLOSS_ERR_NULL;
    nii_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.errlen = errlen;
    errno = 0;
    c.src.fp = fopen(path, "rb");
    if (!c.src.fp) {
        if (errno) return nii_fail(&c, SEGLOSS_ERR_IO, "cannot open: %s", strerror(errno));
        return nii_fail(&c, SEGLOSS_ERR_NOMEM, "cannot open: out of memory");
    }
    struct stat sb;
    if (fstat(fileno(c.src.fp), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
        c.src.file_size = (uint64_t)sb.st_size;
    c.src.inbuf = malloc(NII_IN_CHUNK);
    segloss_status st = c.src.inbuf ? nii_fill(&c, NULL, 0)
                                    : nii_fail(&c, SEGLOSS_ERR_NOMEM, "out of memory");
    /* One path for .nii and .nii.gz: the gzip magic decides. A regular
     * .nii.gz file is decoded from memory (whole-buffer inflate). */
    int gz = st == SEGLOSS_OK && c.src.len >= 2 && c.src.buf[0] == 0x1f && c.src.buf[1] == 0x8b;
    if (gz && c.src.file_size) {
        unsigned char *whole = NULL;
        size_t len = 0;
        st = nii_slurp(&c, &whole, &len);
        free(c.src.inbuf);
        fclose(c.src.fp);
        if (st != SEGLOSS_OK) {
            nii_clear_out(out);
            return st;
        }
        memset(&c.src, 0, sizeof c.src);
        c.src.buf = whole;
        c.src.len = len;
        return nii_decode_buffer(&c, out, max_bytes, whole);
    }
    if (gz) {
        if (inflateInit2(&c.src.zs, 15 + 16) != Z_OK)
            st = nii_fail(&c, SEGLOSS_ERR_NOMEM, "cannot initialise zlib");
        else
            c.src.inflating = 1;
    }
    if (st == SEGLOSS_OK) st = nii_decode_checked(&c, out, max_bytes);
    if (c.src.inflating) inflateEnd(&c.src.zs);
    free(c.src.inbuf);
    fclose(c.src.fp);
    if (st != SEGLOSS_OK) nii_clear_out(out);
    return st;
}
