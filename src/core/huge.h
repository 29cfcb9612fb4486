/* Transparent huge pages for big buffers (private; used by the image
 * readers and the surface-distance scratch). The including file defines
 * _DEFAULT_SOURCE before any system header (madvise, MADV_HUGEPAGE).
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

#endif
