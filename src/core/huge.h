/* Transparent huge pages for big buffers (private; used by the image
 * readers and the surface-distance scratch). The including file defines
 * _DEFAULT_SOURCE before any system header (madvise, MADV_HUGEPAGE,
 * MAP_ANONYMOUS, posix_memalign).
 *
 * A fresh page costs a page fault and its clearing on the first write; on
 * a CT volume or a large label's scratch, 4 KiB faults are most of that
 * cost (docs/benchmarks-eval.md). Asking for huge pages on a 2 MiB-aligned
 * buffer makes it one fault per 2 MiB. On a virtual machine a 4 KiB fault
 * can cost 10 us and a huge page's, cleared, 0.1-0.3 ms: 30-60 times less
 * per byte. A buffer from malloc has up to 2 MiB of 4 KiB pages at each
 * end, outside any aligned 2 MiB page; the allocators below have none.
 * Advice only: where the system has no huge pages, nothing changes. */
#ifndef SEGLOSS_CORE_HUGE_H
#define SEGLOSS_CORE_HUGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SEGLOSS__HUGE_PAGE ((uintptr_t)2 << 20)

static inline void segloss__advise_huge(void *p, size_t n) {
#if defined(MADV_HUGEPAGE)
    if (p && n >= 2 * SEGLOSS__HUGE_PAGE) {
        uintptr_t lo = ((uintptr_t)p + SEGLOSS__HUGE_PAGE - 1) & ~(SEGLOSS__HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + n) & ~(SEGLOSS__HUGE_PAGE - 1);
        if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only */
    }
#else
    (void)p;
    (void)n;
#endif
}

/* Smallest buffer that segloss__huge_map gives whole huge pages: from 64
 * pages of 4 KiB (about 0.7 ms of faults on the test VM) one cleared huge
 * page (0.1-0.2 ms) is the cheaper of the two. */
#define SEGLOSS__HUGE_MIN ((size_t)256 << 10)

/* Bytes of the block for n: n rounded up to whole huge pages when its last
 * partial 2 MiB holds SEGLOSS__HUGE_MIN or more (at most one huge page of
 * memory more, and only where written), else to 4 KiB pages, left to
 * 4 KiB faults (a decoded .nii.gz: whole MiB of voxels and a 352-byte
 * header; one page, not 2 MiB more). */
static inline size_t segloss__huge_len(size_t n) {
    const size_t mask = (size_t)(SEGLOSS__HUGE_PAGE - 1);
    return (n & mask) >= SEGLOSS__HUGE_MIN ? (n + mask) & ~mask : (n + 4095) & ~(size_t)4095;
}

/* A block of n bytes of its own mapping, on a 2 MiB boundary, advised as
 * huge pages; below SEGLOSS__HUGE_MIN, malloc. Released with
 * segloss__huge_unmap(p, n), the same n. NULL when out of memory. Its own
 * mapping rather than posix_memalign: freeing an aligned block of up to
 * 32 MiB from malloc raises glibc's mmap threshold to the block's size
 * plus the alignment, after which blocks of the same size come from the
 * heap and stay there (peak RSS of 50 cases at 2 threads: 54 -> 114 MiB). */
static inline void *segloss__huge_map(size_t n) {
    if (n < SEGLOSS__HUGE_MIN) return malloc(n ? n : 1);
    if (n > SIZE_MAX - 2 * SEGLOSS__HUGE_PAGE) return NULL;
    const size_t len = segloss__huge_len(n), map = len + SEGLOSS__HUGE_PAGE;
    void *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    const uintptr_t b = (uintptr_t)m;
    const uintptr_t a = (b + SEGLOSS__HUGE_PAGE - 1) & ~(SEGLOSS__HUGE_PAGE - 1);
    if (a > b) (void)munmap(m, a - b);                              /* the slack before */
    if (b + map > a + len) (void)munmap((void *)(a + len), b + map - (a + len)); /* after */
#if defined(MADV_HUGEPAGE)
    const size_t whole = len & ~(size_t)(SEGLOSS__HUGE_PAGE - 1);
    if (whole) (void)madvise((void *)a, whole, MADV_HUGEPAGE); /* advice only */
#endif
    return (void *)a;
}

static inline void segloss__huge_unmap(void *p, size_t n) {
    if (!p) return;
    if (n < SEGLOSS__HUGE_MIN) free(p);
    else (void)munmap(p, segloss__huge_len(n));
}

/* Blocks above this come from malloc as their own mapping, whose release
 * does not move glibc's mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX). */
#define SEGLOSS__HUGE_FREE_MIN ((size_t)32 << 20)

/* A buffer released with free(), for callers that cannot keep its size:
 * above SEGLOSS__HUGE_FREE_MIN it starts on a 2 MiB boundary and is advised
 * as huge pages up to its last partial 2 MiB (segloss__huge_len); smaller
 * ones are malloc'd, with the 2 MiB pages inside them advised. */
static inline void *segloss__huge_alloc(size_t n) {
    if (n > SEGLOSS__HUGE_FREE_MIN && n <= SIZE_MAX - SEGLOSS__HUGE_PAGE) {
        const size_t len = segloss__huge_len(n);
        void *p = NULL;
        if (posix_memalign(&p, SEGLOSS__HUGE_PAGE, len) != 0) return NULL;
#if defined(MADV_HUGEPAGE)
        const size_t whole = len & ~(size_t)(SEGLOSS__HUGE_PAGE - 1);
        if (whole) (void)madvise(p, whole, MADV_HUGEPAGE); /* advice only */
#endif
        return p;
    }
    void *p = malloc(n ? n : 1);
    segloss__advise_huge(p, n);
    return p;
}

#endif
