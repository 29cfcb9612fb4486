/* Run-time choice between the scalar and AVX2 kernel tables (see vec.h).
 *
 * The AVX2 table is used when the CPU (and the OS, which must save the YMM
 * registers: libgcc's __builtin_cpu_supports checks XGETBV) reports avx2 and
 * fma, unless SEGLOSS_FORCE_SCALAR is set to a value starting with a nonzero
 * digit (read once, at the first call) or segloss__vec_force_scalar(1) was
 * called. The state is one atomic int, so calls from several threads are
 * safe. */
#include "kernels/vec.h"

#include <stdatomic.h>
#include <stdlib.h>

enum { FORCE_UNSET = -1, FORCE_AUTO = 0, FORCE_SCALAR = 1 };

/* FORCE_UNSET until the first call reads the environment. */
static atomic_int force_mode = FORCE_UNSET;

static int cpu_has_avx2_fma(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init(); /* needed if we run before libgcc's constructor */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const segloss_vec_ops *segloss__vec_ops_avx2(void) {
    return cpu_has_avx2_fma() ? segloss__vec_ops_avx2_table() : NULL;
}

static int env_force_scalar(void) {
    const char *s = getenv("SEGLOSS_FORCE_SCALAR");
    return s && *s >= '1' && *s <= '9';
}

const segloss_vec_ops *segloss__vec_ops(void) {
    int mode = atomic_load_explicit(&force_mode, memory_order_relaxed);
    if (mode == FORCE_UNSET) {
        int want = env_force_scalar() ? FORCE_SCALAR : FORCE_AUTO;
        int expected = FORCE_UNSET;
        /* a concurrent segloss__vec_force_scalar() call wins */
        if (!atomic_compare_exchange_strong(&force_mode, &expected, want)) want = expected;
        mode = want;
    }
    if (mode != FORCE_SCALAR) {
        const segloss_vec_ops *ops = segloss__vec_ops_avx2();
        if (ops) return ops;
    }
    return segloss__vec_ops_scalar();
}

void segloss__vec_force_scalar(int mode) {
    int m = mode > 0 ? FORCE_SCALAR : mode == 0 ? FORCE_AUTO : FORCE_UNSET;
    atomic_store(&force_mode, m);
}

const char *segloss_kernel_isa(void) { return segloss__vec_ops()->name; }
