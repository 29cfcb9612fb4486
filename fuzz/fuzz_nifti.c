/* Fuzz target: the NIfTI-1/-2 reader, raw and gzip-compressed.
 *
 * Input: one mode byte, then a payload.
 *   mode & 3 == 0: the payload is the file (raw .nii, or a gzip stream the
 *                  fuzzer built itself: the reader detects the gzip magic);
 *   mode & 3 == 1: the payload is gzip-compressed here, then read, so the
 *                  mutations reach the header and voxel logic behind gzip
 *                  (as .nii.gz);
 *   mode & 3 == 2: as 1, in two gzip members split at (mode >> 2) * len / 64
 *                  (multi-member files, as pigz or cat writes them);
 *   mode & 3 == 3: as 1, then the compressed stream is cut to
 *                  (mode >> 2) * len / 64 bytes (truncated downloads).
 * Properties checked: a status (never a crash); on error a message and a
 * cleared image; on success a rank 1..7 array whose numel matches its
 * shape; per axis, a spacing that is |pixdim| (finite, > 0) or 1 with the
 * axis's spacing_substituted bit set because the pixdim is 0, NaN or
 * infinite, has_spacing exactly when no bit is set, 1 beyond the rank; the file
 * reader (gzread: segloss_image_read on a .nii or .nii.gz path) gives the
 * same status and array as the memory reader (inflate) -- for gzip input,
 * a failure where the memory reader fails, the status may differ (see
 * below); a cap of one byte below the output size is SEGLOSS_ERR_LIMIT. */
#include "fuzz.h"

#include <segloss.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>


/* gzip-compresses src into a malloc'd buffer (NULL on failure). */
static unsigned char *gzip_member(const uint8_t *src, size_t n, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_cleared(segloss_status st, const segloss_image *img, const char *err) {
    FUZZ_CHECK(st != SEGLOSS_OK);
    FUZZ_CHECK_MSG(err[0] != '\0', "status %d without a message", (int)st);
    FUZZ_CHECK(img->array.data == NULL && img->has_spacing == 0);
    FUZZ_CHECK(img->spacing_substituted == 0);
    for (int k = 0; k < SEGLOSS_MAX_DIMS; k++)
        FUZZ_CHECK(img->spacing[k] == 1.0 && img->spacing_file[k] == 0.0);
}

static size_t image_bytes(const segloss_image *img) {
    return (size_t)img->array.numel * segloss_dtype_size(img->array.dtype);
}

static int same_image(const segloss_image *a, const segloss_image *b) {
    if (a->array.dtype != b->array.dtype || a->array.numel != b->array.numel ||
        a->array.shape.ndim != b->array.shape.ndim || a->has_spacing != b->has_spacing ||
        a->spacing_substituted != b->spacing_substituted)
        return 0;
    for (int k = 0; k < SEGLOSS_MAX_DIMS; k++) {
        if (a->spacing[k] != b->spacing[k] && !(isnan(a->spacing[k]) && isnan(b->spacing[k])))
            return 0;
        if (a->spacing_file[k] != b->spacing_file[k] &&
            !(isnan(a->spacing_file[k]) && isnan(b->spacing_file[k])))
            return 0;
    }
    for (int k = 0; k < a->array.shape.ndim; k++)
        if (a->array.shape.dim[k] != b->array.shape.dim[k]) return 0;
    size_t n = image_bytes(a);
    return n == 0 || memcmp(a->array.data, b->array.data, n) == 0;
}

static void check_image(const segloss_image *img) {
    const segloss_npy *a = &img->array;
    FUZZ_CHECK(a->data != NULL);
    FUZZ_CHECK(a->shape.ndim >= 1 && a->shape.ndim <= 7);
    int64_t numel = -1;
    FUZZ_CHECK(segloss_shape_numel(&a->shape, &numel) == SEGLOSS_OK && numel == a->numel);
    FUZZ_CHECK(a->numel >= 1);
    FUZZ_CHECK(image_bytes(img) <= FUZZ_MAX_BYTES);
    FUZZ_CHECK(img->has_spacing == (img->spacing_substituted == 0));
    for (int k = 0; k < SEGLOSS_MAX_DIMS; k++) {
        int sub = (img->spacing_substituted >> k) & 1;
        double p = fabs(img->spacing_file[k]);
        if (k >= a->shape.ndim) {
            FUZZ_CHECK(!sub && img->spacing[k] == 1.0 && img->spacing_file[k] == 0.0);
        } else if (sub) {
            FUZZ_CHECK(img->spacing[k] == 1.0 && !(isfinite(p) && p > 0));
        } else {
            FUZZ_CHECK(isfinite(p) && p > 0 && img->spacing[k] == p);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = data[0];
    const uint8_t *payload = data + 1;
    size_t plen = size - 1;
    unsigned char *file = NULL;
    size_t flen = 0;
    if ((mode & 3) == 0) {
        file = malloc(plen ? plen : 1); /* exact size: overreads are caught */
        if (!file) return 0;
        if (plen) memcpy(file, payload, plen);
        flen = plen;
    } else {
        size_t split = (mode & 3) == 2 ? (size_t)(mode >> 2) * plen / 64 : plen;
        size_t l1 = 0, l2 = 0;
        unsigned char *m1 = gzip_member(payload, split, &l1);
        unsigned char *m2 = (mode & 3) == 2 ? gzip_member(payload + split, plen - split, &l2) : NULL;
        if (!m1 || ((mode & 3) == 2 && !m2)) {
            free(m1);
            free(m2);
            return 0;
        }
        if ((mode & 3) == 3) l1 = (size_t)(mode >> 2) * l1 / 64;
        flen = l1 + l2;
        file = malloc(flen ? flen : 1);
        if (file) {
            memcpy(file, m1, l1);
            if (l2) memcpy(file + l1, m2, l2);
        }
        free(m1);
        free(m2);
        if (!file) return 0;
    }

    char err[256], err2[256];
    segloss_image img, img2;
    segloss_status st = segloss_image_read_mem(&img, SEGLOSS_IMAGE_NIFTI, file, flen,
                                               FUZZ_MAX_BYTES, err, sizeof err);
    /* Below a 64 MiB cap, running out of memory means an allocation the
     * cap did not bound (replay_main.c limits memory to 1 GiB). */
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "out of memory below a %zu-byte cap: %s",
                   FUZZ_MAX_BYTES, err);
    if (st != SEGLOSS_OK) check_cleared(st, &img, err);
    else check_image(&img);

    /* The same bytes through the file reader. */
    char path[4096];
    int gz = flen >= 2 && file[0] == 0x1f && file[1] == 0x8b;
    fuzz_tmp_path(path, sizeof path, gz ? "in.nii.gz" : "in.nii");
    FUZZ_CHECK(fuzz_write_file(path, file, flen) == 0);
    segloss_status st2 = segloss_image_read(&img2, path, FUZZ_MAX_BYTES, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == st, "memory reader: %d (%s), file reader: %d (%s)", (int)st, err,
                   (int)st2, err2);
    if (st != SEGLOSS_OK) {
        check_cleared(st2, &img2, err2);
    } else {
        FUZZ_CHECK(same_image(&img, &img2));
        segloss_image_free(&img2);
        size_t bytes = image_bytes(&img);
        if (bytes > 1) {
            st2 = segloss_nifti_read_mem(&img2, file, flen, bytes - 1, err2, sizeof err2);
            FUZZ_CHECK_MSG(st2 == SEGLOSS_ERR_LIMIT, "cap %zu below %zu output bytes: status %d",
                           bytes - 1, bytes, (int)st2);
            check_cleared(st2, &img2, err2);
        }
    }
    segloss_image_free(&img);
    free(file);
    return 0;
}
