/* Image reading for `segloss eval`: dispatch by file extension to the PNG,
 * NIfTI and .npy readers, all returning a segloss_image. */
#include "core/internal.h"
#include "io/inflate.h"

#include <stdio.h>
#include <stdlib.h>

static int ends_with_ci(const char *s, size_t n, const char *suffix) {
    size_t m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char a = s[n - m + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

segloss_image_format segloss_image_format_from_path(const char *path) {
    if (!path) return SEGLOSS_IMAGE_UNKNOWN;
    size_t n = strlen(path);
    if (ends_with_ci(path, n, ".png")) return SEGLOSS_IMAGE_PNG;
    if (ends_with_ci(path, n, ".nii") || ends_with_ci(path, n, ".nii.gz")) return SEGLOSS_IMAGE_NIFTI;
    if (ends_with_ci(path, n, ".npy")) return SEGLOSS_IMAGE_NPY;
    return SEGLOSS_IMAGE_UNKNOWN;
}

static void image_clear(segloss_image *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SEGLOSS_MAX_DIMS; i++) out->spacing[i] = 1.0;
}

/* A .npy file carries no spacing: 1 per axis, has_spacing = 0. */
static segloss_status image_from_npy(segloss_image *out, segloss_status st) {
    if (st != SEGLOSS_OK) image_clear(out);
    return st;
}

segloss_status segloss_image_read(segloss_image *out, const char *path, size_t max_bytes,
                                  char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    image_clear(out);
    if (!path) return SEGLOSS_ERR_NULL;
    size_t n = strlen(path);
    switch (segloss_image_format_from_path(path)) {
    case SEGLOSS_IMAGE_PNG: return segloss_png_read(out, path, max_bytes, err, errlen);
    case SEGLOSS_IMAGE_NIFTI: return segloss_nifti_read(out, path, max_bytes, err, errlen);
    case SEGLOSS_IMAGE_NPY:
        return image_from_npy(out, segloss_npy_read(&out->array, path, max_bytes, err, errlen));
    case SEGLOSS_IMAGE_UNKNOWN: break;
    }
    if (ends_with_ci(path, n, ".hdr") || ends_with_ci(path, n, ".img") ||
        ends_with_ci(path, n, ".hdr.gz") || ends_with_ci(path, n, ".img.gz")) {
        if (err && errlen)
            snprintf(err, errlen, "NIfTI/ANALYZE .hdr/.img pairs are not supported; "
                                  "convert to a single .nii or .nii.gz file");
        return SEGLOSS_ERR_UNSUPPORTED;
    }
    if (err && errlen)
        snprintf(err, errlen, "unknown file type: expected a .png, .nii, .nii.gz or .npy file");
    return SEGLOSS_ERR_UNSUPPORTED;
}

segloss_status segloss_image_read_mem(segloss_image *out, segloss_image_format format,
                                      const void *buf, size_t len, size_t max_bytes,
                                      char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return SEGLOSS_ERR_NULL;
    image_clear(out);
    switch (format) {
    case SEGLOSS_IMAGE_PNG: return segloss_png_read_mem(out, buf, len, max_bytes, err, errlen);
    case SEGLOSS_IMAGE_NIFTI: return segloss_nifti_read_mem(out, buf, len, max_bytes, err, errlen);
    case SEGLOSS_IMAGE_NPY:
        return image_from_npy(out, segloss_npy_read_mem(&out->array, buf, len, max_bytes, err, errlen));
    case SEGLOSS_IMAGE_UNKNOWN: break;
    }
    if (err && errlen) snprintf(err, errlen, "unknown image format %d", (int)format);
    return SEGLOSS_ERR_ARG;
}

void segloss_image_free(segloss_image *img) {
    if (!img) return;
    segloss__big_free(img->array.data); /* a .nii.gz's voxels lie inside a bigger block */
    image_clear(img);
}
