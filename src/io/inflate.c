/* Whole-buffer gzip decoding and big buffers for the image readers.
 *
 * Why: a 512x512x300 CT volume is 150 MB decoded. zlib's inflate runs at
 * about 0.5 GB/s on it; libdeflate, which decodes a whole buffer at once
 * into an output of known size, at several GB/s (docs/benchmarks-eval.md).
 * Streaming (zlib) stays the path for everything unusual, so this file
 * only has to recognise the common case exactly. Growing the output by
 * doubling into fresh memory costs a page fault per 4 KiB page per
 * doubling; one allocation at the final size, on huge pages where the
 * kernel allows, costs one per 2 MiB (aligned on 2 MiB and rounded up to
 * whole huge pages: a malloc'd buffer's unaligned ends, up to 2 MiB each,
 * would still fault per 4 KiB, at about 11 us a fault on this project's
 * test VM). */
#define _DEFAULT_SOURCE 1 /* madvise, MADV_HUGEPAGE */
#include "io/inflate.h"
#include "core/huge.h"

#include <libdeflate.h>
#include <segloss.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* A fresh page costs the kernel a page fault and the clearing of the page
 * on its first write. Those are left to the thread that fills the buffer:
 * the page it has just cleared is still in its cache when the decoder or
 * read(2) overwrites it. Touching a big buffer on several threads first
 * (tried: 2 MiB pieces on the library's threads) was slower for a CT pair
 * read on two threads, 45-55 ms against 55-70 ms (docs/benchmarks-eval.md):
 * every page then went to memory cleared and came back to be written. */
void *segloss__big_alloc(size_t n) { return segloss__huge_alloc(n); }

/* Voxels handed out where they lie inside a bigger buffer (a decoded
 * .nii.gz: header, voxels, a few trailing bytes), instead of moved to the
 * front of it: moving the 150 MB of a CT volume took 7 ms of a 35 ms read.
 * The buffer's start is kept here, by voxel address, for
 * segloss__big_free. A short table under a spin lock: it holds one entry
 * per live image, and is looked at only when an image is freed. */
#define ADOPT_MAX 64
static struct {
    const void *data;
    void *base;
} adopted[ADOPT_MAX];
static atomic_int adopted_n;
static atomic_flag adopt_lock = ATOMIC_FLAG_INIT;

static void adopt_lock_take(void) {
    while (atomic_flag_test_and_set_explicit(&adopt_lock, memory_order_acquire)) {
    }
}

static void adopt_lock_give(void) { atomic_flag_clear_explicit(&adopt_lock, memory_order_release); }

void *segloss__big_adopt(void *base, size_t offset) {
    void *data = (unsigned char *)base + offset;
    if (offset == 0) return data;
    void *r = NULL;
    adopt_lock_take();
    for (int i = 0; i < ADOPT_MAX && !r; i++)
        if (!adopted[i].base) {
            adopted[i].data = data;
            adopted[i].base = base;
            atomic_fetch_add_explicit(&adopted_n, 1, memory_order_relaxed);
            r = data;
        }
    adopt_lock_give();
    return r;
}

void segloss__big_free(void *p) {
    void *base = p;
    if (p && atomic_load_explicit(&adopted_n, memory_order_relaxed) > 0) {
        adopt_lock_take();
        for (int i = 0; i < ADOPT_MAX; i++)
            if (adopted[i].base && adopted[i].data == p) {
                base = adopted[i].base;
                adopted[i].data = NULL;
                adopted[i].base = NULL;
                atomic_fetch_sub_explicit(&adopted_n, 1, memory_order_relaxed);
                break;
            }
        adopt_lock_give();
    }
    free(base);
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
