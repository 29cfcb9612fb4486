/* Run-time choice of the kernel table (see vec.h).
 *
 * The tables, in the order of preference: avx512 (AVX-512F/BW/DQ/VL and
 * FMA), avx2 (AVX2 and FMA), neon (every AArch64 CPU), portable (every
 * target GCC or Clang builds); scalar is the reference. A table exists when
 * its file was compiled for the ISA (Makefile) and the CPU reports the
 * features; on x86 libgcc's __builtin_cpu_supports also checks (XGETBV)
 * that the OS saves the YMM/ZMM registers.
 *
 * Overrides, read once from the environment at the first call:
 *   SEGLOSS_FORCE_SCALAR=<nonzero digit>...   the scalar table (wins);
 *   SEGLOSS_ISA=scalar|portable|avx2|avx512|neon   that table when this CPU
 *        has it, the best table otherwise (an unknown name likewise);
 * and segloss__vec_force_scalar() / segloss__vec_force() for tests and
 * benchmarks. The state is
 * one atomic int, so calls from several threads are safe. */
#include "kernels/vec.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* force_mode: UNSET until the first call reads the environment; AUTO: the
 * best table; otherwise 1 + the index in the names below. */
enum { FORCE_UNSET = -1, FORCE_AUTO = 0 };
enum { ISA_SCALAR, ISA_PORTABLE, ISA_AVX2, ISA_AVX512, ISA_NEON, ISA_N };
static const char *const isa_names[ISA_N] = {"scalar", "portable", "avx2", "avx512", "neon"};

static atomic_int force_mode = FORCE_UNSET;

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define CPU_HAS(f) __builtin_cpu_supports(f)
#else
#define CPU_HAS(f) 0
#endif

static int cpu_has_avx2_fma(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init(); /* needed if we run before libgcc's constructor */
#endif
    return CPU_HAS("avx2") && CPU_HAS("fma");
}

static int cpu_has_avx512(void) {
    return cpu_has_avx2_fma() && CPU_HAS("avx512f") && CPU_HAS("avx512bw") &&
           CPU_HAS("avx512dq") && CPU_HAS("avx512vl");
}

const segloss_vec_ops *segloss__vec_ops_avx2(void) {
    return cpu_has_avx2_fma() ? segloss__vec_ops_avx2_table() : NULL;
}

const segloss_vec_ops *segloss__vec_ops_avx512(void) {
    return cpu_has_avx512() ? segloss__vec_ops_avx512_table() : NULL;
}

const segloss_vec_ops *segloss__vec_ops_neon(void) { return segloss__vec_ops_neon_table(); }

const segloss_vec_ops *segloss__vec_ops_portable(void) {
    return segloss__vec_ops_portable_table();
}

static const segloss_vec_ops *table_of(int isa) {
    switch (isa) {
    case ISA_SCALAR: return segloss__vec_ops_scalar();
    case ISA_PORTABLE: return segloss__vec_ops_portable();
    case ISA_AVX2: return segloss__vec_ops_avx2();
    case ISA_AVX512: return segloss__vec_ops_avx512();
    default: return segloss__vec_ops_neon();
    }
}

int segloss__vec_tables(const segloss_vec_ops **out) {
    int n = 0;
    for (int k = 0; k < ISA_N; k++) {
        const segloss_vec_ops *t = table_of(k);
        if (t) out[n++] = t;
    }
    return n;
}

static const segloss_vec_ops *best_table(void) {
    static const int order[] = {ISA_AVX512, ISA_AVX2, ISA_NEON, ISA_PORTABLE, ISA_SCALAR};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        const segloss_vec_ops *t = table_of(order[k]);
        if (t) return t;
    }
    return segloss__vec_ops_scalar();
}

static int env_mode(void) {
    const char *s = getenv("SEGLOSS_FORCE_SCALAR");
    if (s && *s >= '1' && *s <= '9') return 1 + ISA_SCALAR;
    s = getenv("SEGLOSS_ISA");
    if (s)
        for (int k = 0; k < ISA_N; k++)
            if (strcmp(s, isa_names[k]) == 0) return 1 + k;
    return FORCE_AUTO;
}

const segloss_vec_ops *segloss__vec_ops(void) {
    int mode = atomic_load_explicit(&force_mode, memory_order_relaxed);
    if (mode == FORCE_UNSET) {
        int want = env_mode();
        int expected = FORCE_UNSET;
        /* a concurrent segloss__vec_force_scalar() call wins */
        if (!atomic_compare_exchange_strong(&force_mode, &expected, want)) want = expected;
        mode = want;
    }
    if (mode > FORCE_AUTO) {
        const segloss_vec_ops *t = table_of(mode - 1);
        if (t) return t;
    }
    return best_table();
}

void segloss__vec_force_scalar(int mode) {
    int m = mode > 0 ? 1 + ISA_SCALAR : mode == 0 ? FORCE_AUTO : FORCE_UNSET;
    atomic_store(&force_mode, m);
}

void segloss__vec_force(const segloss_vec_ops *t) {
    int m = FORCE_UNSET;
    for (int k = 0; t && k < ISA_N; k++)
        if (strcmp(t->name, isa_names[k]) == 0) m = 1 + k;
    atomic_store(&force_mode, m);
}

const char *segloss_kernel_isa(void) { return segloss__vec_ops()->name; }

/* The appended kernels (softmax, softmax_d, softplus_d): the table's ISA
 * by its name, the scalar one when that file has none. */
static int isa_of(const segloss_vec_ops *t) {
    for (int k = 0; k < ISA_N; k++)
        if (strcmp(t->name, isa_names[k]) == 0) return k;
    return ISA_SCALAR;
}

segloss_vec_softmax_fn segloss__vec_softmax(const segloss_vec_ops *t) {
    segloss_vec_softmax_fn f[ISA_N] = {
        segloss__vec_softmax_scalar(), segloss__vec_softmax_portable(),
        segloss__vec_softmax_avx2(), segloss__vec_softmax_avx512(), segloss__vec_softmax_neon()};
    return f[isa_of(t)] ? f[isa_of(t)] : f[ISA_SCALAR];
}

segloss_vec_softmax_d_fn segloss__vec_softmax_d(const segloss_vec_ops *t) {
    segloss_vec_softmax_d_fn f[ISA_N] = {
        segloss__vec_softmax_d_scalar(), segloss__vec_softmax_d_portable(),
        segloss__vec_softmax_d_avx2(), segloss__vec_softmax_d_avx512(),
        segloss__vec_softmax_d_neon()};
    return f[isa_of(t)] ? f[isa_of(t)] : f[ISA_SCALAR];
}

segloss_vec_softplus_d_fn segloss__vec_softplus_d(const segloss_vec_ops *t) {
    segloss_vec_softplus_d_fn f[ISA_N] = {
        segloss__vec_softplus_d_scalar(), segloss__vec_softplus_d_portable(),
        segloss__vec_softplus_d_avx2(), segloss__vec_softplus_d_avx512(),
        segloss__vec_softplus_d_neon()};
    return f[isa_of(t)] ? f[isa_of(t)] : f[ISA_SCALAR];
}
