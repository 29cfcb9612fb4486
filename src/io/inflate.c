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
#include "core/huge.h"

#include <libdeflate.h>
#include <segloss.h>

#include <stdint.h>
#include <stdlib.h>

#ifdef SEGLOSS_OPENMP
#include <omp.h>
#endif

#define HUGE_PAGE SEGLOSS__HUGE_PAGE
#define PREFAULT_MIN ((size_t)16 << 20)

/* Fresh memory costs the kernel a page fault and the clearing of the page
 * on its first write, on the thread that writes; for a CT volume that is
 * most of the reading time, and the decoder or read(2) that fills the
 * buffer is one thread. So a big buffer is first touched by the library's
 * threads, one 2 MiB piece at a time each. Not where no new team can start
 * (inside a parallel region with nesting off: a case-parallel loop, where
 * every core already has its case); a caller that reads two files on two
 * threads and allows one nested level gets both read on all threads. */
static void prefault(unsigned char *p, size_t n) {
#ifdef SEGLOSS_OPENMP
    int nt = segloss_get_num_threads();
    if (nt < 2 || n < PREFAULT_MIN || omp_get_active_level() >= omp_get_max_active_levels()) return;
    const long long pieces = (long long)((n + HUGE_PAGE - 1) / HUGE_PAGE);
    if (nt > pieces) nt = (int)pieces;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (long long k = 0; k < pieces; k++) {
        size_t end = (size_t)(k + 1) * HUGE_PAGE < n ? (size_t)(k + 1) * HUGE_PAGE : n;
        for (size_t i = (size_t)k * HUGE_PAGE; i < end; i += 4096) p[i] = 0;
    }
#else
    (void)p;
    (void)n;
#endif
}

void *segloss__big_alloc(size_t n) {
    void *p = malloc(n ? n : 1);
    segloss__advise_huge(p, n);
    if (p) prefault(p, n);
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
