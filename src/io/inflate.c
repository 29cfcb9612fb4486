/* Whole-buffer gzip decoding and big buffers for the image readers.
 *
 * Why: a 512x512x300 CT volume is 150 MB decoded. zlib's inflate runs at
 * about 0.5 GB/s on it; libdeflate, which decodes a whole buffer at once
 * into an output of known size, at several GB/s (docs/benchmarks-eval.md).
 * Streaming (zlib) stays the path for everything unusual, so this file
 * only has to recognise the common case exactly. Growing the output by
 * doubling into fresh memory costs a page fault per 4 KiB page per
 * doubling; one allocation at the final size, on huge pages where the
 * kernel allows, costs one per 2 MiB. */
#define _DEFAULT_SOURCE 1 /* madvise, MADV_HUGEPAGE */
#include "io/inflate.h"

#include <libdeflate.h>

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void *segloss__big_alloc(size_t n) {
    void *p = malloc(n ? n : 1);
#if defined(MADV_HUGEPAGE)
    if (p && n >= 2 * HUGE_PAGE) {
        uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
        if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only */
    }
#endif
    return p;
}

/* Deflate expands at most 1032:1; with the gzip header and trailer, a
 * trailer claiming more than this is not the whole story. */
static int plausible(size_t isize, size_t len) {
    return (uint64_t)isize <= (uint64_t)len * 1032u + 1024u;
}

int segloss__gunzip_whole(unsigned char **out, size_t *out_len, const unsigned char *in,
                          size_t len, size_t cap) {
    *out = NULL;
    *out_len = 0;
    if (len < 18 || in[0] != 0x1f || in[1] != 0x8b) return -1;
    size_t isize = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
                   (size_t)in[len - 1] << 24;
    if (isize > cap || !plausible(isize, len)) return -1;
    unsigned char *buf = segloss__big_alloc(isize);
    if (!buf) return -2;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        free(buf);
        return -2;
    }
    size_t used_in = 0, used_out = 0;
    enum libdeflate_result r =
        libdeflate_gzip_decompress_ex(d, in, len, buf, isize, &used_in, &used_out);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || used_in != len || used_out != isize) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = isize;
    return 0;
}
