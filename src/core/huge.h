/* Transparent huge pages for big buffers (private; used by the image
 * readers and the surface-distance scratch). The including file defines
 * _DEFAULT_SOURCE before any system header (madvise, MADV_HUGEPAGE,
 * posix_memalign).
 *
 * A fresh page costs a page fault and its clearing on the first write; on
 * a CT volume or a large label's scratch, 4 KiB faults are most of that
 * cost (docs/benchmarks-eval.md). Asking for huge pages on the 2 MiB-aligned
 * part of a buffer of at least 4 MiB makes it one fault per 2 MiB. Advice
 * only: where the system has no huge pages, nothing changes. */
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

/* Smallest buffer given whole huge pages by segloss__huge_alloc: from
 * 64 pages of 4 KiB (about 0.7 ms of faults on the test VM) one cleared
 * huge page (0.1-0.2 ms) is the cheaper of the two. */
#define SEGLOSS__HUGE_MIN ((size_t)256 << 10)

/* malloc(n), except that from SEGLOSS__HUGE_MIN up the buffer starts on a
 * 2 MiB boundary and is advised as huge pages: one page fault per 2 MiB.
 * A buffer from malloc has up to 2 MiB of 4 KiB pages at each end, outside
 * any aligned 2 MiB page, and on a virtual machine a 4 KiB fault can cost
 * 10 us (a huge page's, cleared, 0.1-0.3 ms: 30-60 times less per byte;
 * docs/benchmarks-eval.md). The last partial 2 MiB is a huge page too when
 * it holds SEGLOSS__HUGE_MIN or more (n rounded up: at most one huge page
 * of memory more, and only where it is written), else left to 4 KiB pages
 * (a decoded .nii.gz is whole mebibytes of voxels plus a 352-byte header:
 * one 4 KiB page, not 2 MiB more). Freed with free(). */
static inline void *segloss__huge_alloc(size_t n) {
    if (n >= SEGLOSS__HUGE_MIN && n <= SIZE_MAX - SEGLOSS__HUGE_PAGE) {
        const size_t mask = (size_t)(SEGLOSS__HUGE_PAGE - 1), tail = n & mask;
        const size_t r = tail >= SEGLOSS__HUGE_MIN ? (n + mask) & ~mask : n;
        void *p = NULL;
        if (posix_memalign(&p, SEGLOSS__HUGE_PAGE, r) != 0) return NULL;
#if defined(MADV_HUGEPAGE)
        const size_t whole = r & ~mask; /* advice only */
        if (whole) (void)madvise(p, whole, MADV_HUGEPAGE);
#endif
        return p;
    }
    void *p = malloc(n ? n : 1);
    segloss__advise_huge(p, n);
    return p;
}

#endif
