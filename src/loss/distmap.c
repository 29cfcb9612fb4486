/* Distance maps of binary masks: one exact integer EDT for both sides
 * (distmap.h), and the shared layout, activation and its backward of the
 * distance-map losses. */
#include "loss/distmap.h"

#include "core/target.h"
#include "kernels/scalar.h"
#include "kernels/vec.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

segloss_status segloss__dm_layout_init(segloss__dm_layout *l, const float *x,
                                       const segloss_target *t, const segloss_shape *shape,
                                       segloss_activation act, segloss_target_kind kind) {
    memset(l, 0, sizeof *l);
    if (!x || !t || !t->data || !shape) return SEGLOSS_ERR_NULL;
    if (act != SEGLOSS_ACTIVATION_NONE && act != SEGLOSS_ACTIVATION_SIGMOID &&
        act != SEGLOSS_ACTIVATION_SOFTMAX)
        return SEGLOSS_ERR_ARG;
    if (kind != SEGLOSS_TARGET_AUTO && kind != SEGLOSS_TARGET_DENSE &&
        kind != SEGLOSS_TARGET_INDEX)
        return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 3 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    l->n = shape->dim[0];
    l->c = shape->dim[1];
    l->s = numel / (l->n * l->c);
    l->sp.ndim = shape->ndim - 2;
    for (int k = 2; k < shape->ndim; k++) l->sp.dim[k - 2] = shape->dim[k];
    l->index = kind == SEGLOSS_TARGET_INDEX ||
               (kind == SEGLOSS_TARGET_AUTO && act == SEGLOSS_ACTIVATION_SOFTMAX);
    if ((l->index || act == SEGLOSS_ACTIVATION_SOFTMAX) && l->c < 2) return SEGLOSS_ERR_SHAPE;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (l->index && (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64)) return SEGLOSS_ERR_DTYPE;
    return SEGLOSS_OK;
}

segloss_status segloss__dm_probs(double *p, const float *xn, int64_t c, int64_t s,
                                 segloss_activation act) {
    if (act == SEGLOSS_ACTIVATION_SOFTMAX) {
        segloss__softmax_probs_d(p, xn, c, s);
        return SEGLOSS_OK;
    }
    for (int64_t i = 0; i < c * s; i++) {
        double v = xn[i];
        if (act == SEGLOSS_ACTIVATION_NONE && !(v >= 0.0 && v <= 1.0)) return SEGLOSS_ERR_DOMAIN;
        p[i] = act == SEGLOSS_ACTIVATION_SIGMOID ? segloss__sigmoid_d(v) : v;
    }
    return SEGLOSS_OK;
}

typedef struct dm_pool {
    segloss__dm_image_fn fn;
    void *ctx;
    size_t bytes;
    int64_t count;
    atomic_int_fast64_t next;
    segloss_status *status;
} dm_pool;

static segloss_status dm_worker(void *vctx, int64_t w) {
    dm_pool *p = vctx;
    (void)w;
    void *scratch = malloc(p->bytes ? p->bytes : 1);
    for (;;) {
        const int64_t n = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (n >= p->count) break;
        p->status[n] = scratch ? p->fn(p->ctx, n, scratch) : SEGLOSS_ERR_NOMEM;
    }
    free(scratch);
    return SEGLOSS_OK;
}

segloss_status segloss__dm_for_images(int64_t count, size_t bytes, segloss__dm_image_fn fn,
                                      void *ctx) {
    if (count <= 0) return SEGLOSS_OK;
    int64_t workers = segloss_get_num_threads();
    if (workers > count) workers = count;
    if (workers < 1) workers = 1;
    dm_pool p = {.fn = fn, .ctx = ctx, .bytes = bytes, .count = count};
    atomic_init(&p.next, 0);
    p.status = malloc((size_t)count * sizeof *p.status);
    if (!p.status) return SEGLOSS_ERR_NOMEM;
    segloss_status st = segloss__for_items(workers, dm_worker, &p);
    for (int64_t n = 0; n < count && st == SEGLOSS_OK; n++) st = p.status[n];
    free(p.status);
    return st;
}

void segloss__dm_act_backward(float *out, const double *p, const double *g, int64_t gs,
                              int64_t c, int64_t s, segloss_activation act) {
    double dot = 0.0;
    for (int64_t k = 0; k < c; k++) dot += p[k * s] * g[k * gs];
    for (int64_t k = 0; k < c; k++) {
        double pk = p[k * s], gk = g[k * gs];
        double v = act == SEGLOSS_ACTIVATION_SOFTMAX   ? pk * (gk - dot)
                   : act == SEGLOSS_ACTIVATION_SIGMOID ? gk * pk * (1.0 - pk)
                                                       : gk;
        out[k * s] = (float)v;
    }
}

void segloss__dm_act_backward_rows(float *out, const double *p, const double *g, int64_t c,
                                   int64_t s, segloss_activation act, double *dot) {
    if (act == SEGLOSS_ACTIVATION_SOFTMAX) {
        for (int64_t i = 0; i < s; i++) dot[i] = 0.0;
        for (int64_t k = 0; k < c; k++)
            for (int64_t i = 0; i < s; i++) dot[i] += p[k * s + i] * g[k * s + i];
        for (int64_t k = 0; k < c; k++)
            for (int64_t i = 0; i < s; i++)
                out[k * s + i] = (float)(p[k * s + i] * (g[k * s + i] - dot[i]));
    } else if (act == SEGLOSS_ACTIVATION_SIGMOID) {
        for (int64_t i = 0; i < c * s; i++) out[i] = (float)(g[i] * p[i] * (1.0 - p[i]));
    } else {
        for (int64_t i = 0; i < c * s; i++) out[i] = (float)g[i];
    }
}

/* ---- the distance field: one exact integer EDT for both sides ----------
 *
 * For a 0/1 mask m, Q(i) = the squared distance from i to the nearest
 * element of the other value. Both sides come from one array: after the
 * passes along some axes, Q(i) is that squared distance within the slice
 * through i spanned by those axes, and a pass along one more axis is
 *   Q'(x) = min over k of  k^2 + (m(x+k) == m(x) ? Q(x+k) : 0),
 * since an element of the other value is its own nearest one (distance 0
 * to the feature set x looks for) and one of the same value offers the
 * distance it found within its slice (the separable EDT of Saito and
 * Toriwaki / Meijster et al., with the feature set chosen per query).
 * Every value is a sum of squared integer offsets, held exactly in int32,
 * so sqrt(Q) is the same double as the root of the double EDT
 * (segloss_edt_squared) of either feature set.
 *
 * The passes:
 *   axis 0: Q is the 1-D distance to the nearest other value along the
 *     axis, from one downward and one upward scan (h = 1 where the value
 *     changes, else the neighbour's h + 1), many columns at once;
 *   middle axis (3-D): the lower envelope of parabolas (dm_line) of both
 *     feature sets per line, lines gathered DM_B at a time;
 *   last axis: a window search, DM_V elements at a time: the candidates
 *     k = 1, 2, ... on both sides, stopped once k^2 reaches the largest
 *     value found in the window (no farther element can beat it), and the
 *     envelope for the whole row when that does not happen by k = DM_KCAP
 *     (long distances: far from any element of the other value).
 * The window search is exact for any mask; it is fast when distances are
 * short, which is where the envelope's per-element cost dominates.
 *
 * Used when every squared distance is below DM_INF: extents up to 2^15 and
 * the sum of the squared extents below 2^28. DM_INF marks "no element of
 * the other value yet"; DM_INF + DM_KCAP^2 still fits an int32. */
#define DM_INF (1 << 28)
enum { DM_V = 8, DM_KCAP = 48, DM_B = 16 };

static int dm_int_fits(const segloss_shape *sp) {
    int64_t b = 0;
    for (int k = 0; k < sp->ndim; k++) {
        if (sp->dim[k] > (1 << 15)) return 0;
        b += sp->dim[k] * sp->dim[k];
    }
    return b < (int64_t)DM_INF;
}

/* The vector helpers below are static inline (always inlined into the
 * pass functions): GCC's note that a 32-byte vector return changes the
 * ABI without AVX concerns calls across objects, which none of these is. */
#if defined(__clang__)
#if __has_warning("-Wpsabi")
#pragma clang diagnostic ignored "-Wpsabi"
#endif
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* DM_V lanes of int32 and of bytes (GCC/Clang generic vectors: SSE2 on
 * x86-64 by default, AVX2 in the dm_*_avx2 copies below, NEON on AArch64). */
typedef int32_t dm_vi __attribute__((vector_size(DM_V * sizeof(int32_t))));
typedef uint8_t dm_vb __attribute__((vector_size(DM_V)));

static inline dm_vi dm_ld(const int32_t *p) {
    dm_vi v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* the mask bytes as lanes of 0 / -1 (m holds 0 or 1) */
static inline dm_vi dm_ldm(const uint8_t *p) {
    dm_vb b;
    memcpy(&b, p, sizeof b);
    return -__builtin_convertvector(b, dm_vi);
}
static inline dm_vi dm_min(dm_vi a, dm_vi b) {
    const dm_vi t = a < b;
    return (a & t) | (b & ~t);
}
static inline dm_vi dm_sel(dm_vi a, dm_vi b, dm_vi t) { return (a & t) | (b & ~t); }
static inline int32_t dm_hmax(dm_vi v) {
    int32_t r = v[0];
    for (int k = 1; k < DM_V; k++) r = v[k] > r ? v[k] : r;
    return r;
}

/* Axis 0 (n0 lines of `inner` columns): Q = the squared 1-D distance to
 * the nearest other value in the column, DM_INF where the column has none.
 * prev: inner int32. h stays below 2^17: big + n0. */
static inline __attribute__((always_inline)) void
dm_scan0_body(int32_t *q, const uint8_t *m, int64_t n0, int64_t inner, int32_t *prev) {
    const int32_t big = 1 << 16, n = (int32_t)n0;
    int64_t j = 0;
    for (; j < inner; j++) q[j] = big;
    for (int64_t r = 1; r < n0; r++) {
        const uint8_t *a = m + r * inner, *b = a - inner;
        int32_t *qr = q + r * inner, *qp = qr - inner;
        for (j = 0; j + DM_V <= inner; j += DM_V) {
            const dm_vi same = dm_ldm(a + j) == dm_ldm(b + j);
            const dm_vi v = ((dm_ld(qp + j) + 1) & same) | (1 & ~same);
            memcpy(qr + j, &v, sizeof v);
        }
        for (; j < inner; j++) qr[j] = a[j] == b[j] ? qp[j] + 1 : 1;
    }
    memcpy(prev, q + (n0 - 1) * inner, (size_t)inner * sizeof *prev);
    for (int64_t r = n0 - 1; r >= 0; r--) {
        int32_t *qr = q + r * inner;
        const uint8_t *a = m + r * inner, *b = a + inner;
        if (r == n0 - 1) {
            for (j = 0; j < inner; j++) qr[j] = qr[j] < n ? qr[j] * qr[j] : DM_INF;
            continue;
        }
        for (j = 0; j + DM_V <= inner; j += DM_V) {
            const dm_vi same = dm_ldm(a + j) == dm_ldm(b + j);
            const dm_vi up = ((dm_ld(prev + j) + 1) & same) | (1 & ~same);
            const dm_vi h = dm_min(dm_ld(qr + j), up), fin = h < n;
            const dm_vi v = ((h & fin) * (h & fin)) | (DM_INF & ~fin);
            memcpy(prev + j, &h, sizeof h);
            memcpy(qr + j, &v, sizeof v);
        }
        for (; j < inner; j++) {
            const int32_t up = a[j] == b[j] ? prev[j] + 1 : 1;
            const int32_t h = qr[j] < up ? qr[j] : up;
            prev[j] = h;
            qr[j] = h < n ? h * h : DM_INF;
        }
    }
}

/* One line f[0..n) in place: f[u] = min_q (u - q)^2 + f[q] over the q with
 * f[q] < DM_INF: the lower envelope of the parabolas p^2 - 2 p q + h_q,
 * h_q = f[q] + q^2 (Felzenszwalb & Huttenlocher 2012), without divisions.
 * Parabola b (after a) beats a from the abscissa (h_b - h_a) / (2 (b - a))
 * on; the middle of three candidates a < b < u is dropped when it would
 * never be the minimum, compared by cross-multiplication (|h| < 2^31,
 * distances < 2^16: exact in int64). The minimiser then moves right along
 * the kept candidates as p grows. A line without finite values stays as
 * it is. v, h: n each. */
static void dm_line(int32_t *f, int64_t n, int64_t *v, int64_t *h) {
    int64_t k = -1;
    for (int64_t u = 0; u < n; u++) {
        const int64_t fu = f[u];
        if (fu >= DM_INF) continue;
        const int64_t hu = fu + u * u;
        while (k >= 1 && (h[k] - h[k - 1]) * (u - v[k]) >= (hu - h[k]) * (v[k] - v[k - 1])) k--;
        v[++k] = u;
        h[k] = hu;
    }
    if (k < 0) return;
    int64_t j = 0;
    for (int64_t p = 0; p < n; p++) {
        while (j < k && h[j + 1] - 2 * p * v[j + 1] <= h[j] - 2 * p * v[j]) j++;
        f[p] = (int32_t)(h[j] - 2 * p * v[j] + p * p);
    }
}

/* The pass along a line (n elements, stride 1) for the run of equal mask
 * values [a, b] around x: its elements' nearest element of the other value
 * along the line is the element just before a or just after b (value 0:
 * an element of the other value is its own nearest one) or found through
 * a site inside the run, since any site beyond a or b lies behind one of
 * those two. So the envelope of the run's sites and those two (DM_INF
 * beyond the line's ends) gives out[a..b], from src[a..b]. Returns b.
 * t: n + 2 int32, e: 2 (n + 2) int64. */
static int64_t dm_run(int32_t *out, const int32_t *src, const uint8_t *m, int64_t n, int64_t x,
                      int32_t *t, int64_t *e) {
    int64_t a = x, b = x;
    while (a > 0 && m[a - 1] == m[x]) a--;
    while (b < n - 1 && m[b + 1] == m[x]) b++;
    const int64_t len = b - a + 1;
    t[0] = a > 0 ? 0 : DM_INF;
    memcpy(t + 1, src + a, (size_t)len * sizeof *t);
    t[len + 1] = b < n - 1 ? 0 : DM_INF;
    dm_line(t, len + 2, e, e + len + 2);
    memcpy(out + a, t + 1, (size_t)len * sizeof *t);
    return b;
}

/* The pass along one line q (stride 1) with mask line m, run by run (in
 * place: a run reads only its own elements); t, e as dm_run. */
static void dm_line_runs(int32_t *q, const uint8_t *m, int64_t n, int32_t *t, int64_t *e) {
    for (int64_t x = 0; x < n; x++) x = dm_run(q, q, m, n, x, t, e);
}

/* A middle axis ax of Q (spatial shape sp): every line along ax through
 * dm_line_runs, DM_B lines at a time gathered into g (DM_B * n int32) and
 * gm (DM_B * n bytes) so the strided reads use whole cache lines. t, e as
 * dm_run. */
static void dm_axis(int32_t *q, const uint8_t *m, const segloss_shape *sp, int ax, int32_t *g,
                    uint8_t *gm, int32_t *t, int64_t *e) {
    const int64_t n = sp->dim[ax];
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < ax; k++) outer *= sp->dim[k];
    for (int k = ax + 1; k < sp->ndim; k++) inner *= sp->dim[k];
    if (n == 1) return;
    for (int64_t o = 0; o < outer; o++) {
        int32_t *base = q + o * n * inner;
        const uint8_t *mb = m + o * n * inner;
        for (int64_t j0 = 0; j0 < inner; j0 += DM_B) {
            const int64_t nb = inner - j0 < DM_B ? inner - j0 : DM_B;
            for (int64_t p = 0; p < n; p++)
                for (int64_t b = 0; b < nb; b++) {
                    g[b * n + p] = base[p * inner + j0 + b];
                    gm[b * n + p] = mb[p * inner + j0 + b];
                }
            for (int64_t b = 0; b < nb; b++) dm_line_runs(g + b * n, gm + b * n, n, t, e);
            for (int64_t p = 0; p < n; p++)
                for (int64_t b = 0; b < nb; b++) base[p * inner + j0 + b] = g[b * n + p];
        }
    }
}

/* The last axis (rows of n >= DM_V), by the window search; a1 / a0: n +
 * 2 DM_KCAP int32 each (the row's sites for the 1s' queries: 0 at the 0s,
 * Q at the 1s; for the 0s' queries the other way round; DM_INF beyond the
 * row's ends), mk: n int32 (m as 0 / -1), o: n int32 (the row's Q); t, e
 * as dm_run. A window of DM_V lanes starting at x0 is done after step k
 * once no lane can gain from a site k + 1 away: (k + 1)^2 >= every lane's
 * best. The largest best is re-read at k = 1, 2, 4, 8, 16 (between those,
 * the loop runs on a stale, larger bound: extra steps never change a
 * minimum). A window still open at DM_KCAP takes dm_run for the runs
 * through its lanes (exact for every lane of those runs; a later window
 * inside them is skipped). */
static inline __attribute__((always_inline)) void
dm_last_body(int32_t *q, const uint8_t *m, int64_t rows, int64_t n, int32_t *a1, int32_t *a0,
             int32_t *mk, int32_t *o, int32_t *t, int64_t *e) {
    for (int64_t k = 0; k < DM_KCAP; k++) {
        a1[k] = a0[k] = DM_INF;
        a1[DM_KCAP + n + k] = a0[DM_KCAP + n + k] = DM_INF;
    }
    int32_t *b1 = a1 + DM_KCAP, *b0 = a0 + DM_KCAP;
    for (int64_t r = 0; r < rows; r++) {
        int32_t *qr = q + r * n;
        const uint8_t *mr = m + r * n;
        int64_t x = 0;
        for (; x + DM_V <= n; x += DM_V) {
            const dm_vi v = dm_ld(qr + x), t1 = dm_ldm(mr + x), z1 = v & t1, z0 = v & ~t1;
            memcpy(b1 + x, &z1, sizeof z1);
            memcpy(b0 + x, &z0, sizeof z0);
            memcpy(mk + x, &t1, sizeof t1);
        }
        for (; x < n; x++) {
            mk[x] = -(int32_t)mr[x];
            b1[x] = qr[x] & mk[x];
            b0[x] = qr[x] & ~mk[x];
        }
        memcpy(o, qr, (size_t)n * sizeof *o);
        int64_t done = -1; /* lanes up to here are final (dm_run) */
        for (int64_t x0 = 0;; x0 += DM_V) {
            if (x0 > n - DM_V) x0 = n - DM_V; /* the last window overlaps: same values */
            if (x0 + DM_V - 1 > done) {
                const dm_vi msk = dm_ld(mk + x0);
                dm_vi best = dm_sel(dm_ld(b1 + x0), dm_ld(b0 + x0), msk); /* k = 0: Q */
                int32_t mx = dm_hmax(best), k = 1;
                for (; k <= DM_KCAP && k * k < mx; k++) {
                    const dm_vi l = dm_sel(dm_ld(b1 + x0 - k), dm_ld(b0 + x0 - k), msk);
                    const dm_vi rr = dm_sel(dm_ld(b1 + x0 + k), dm_ld(b0 + x0 + k), msk);
                    best = dm_min(best, dm_min(l, rr) + k * k);
                    if ((k & (k - 1)) == 0) mx = dm_hmax(best);
                }
                if (k <= DM_KCAP || k * k >= dm_hmax(best))
                    memcpy(qr + x0, &best, sizeof best);
                else
                    for (x = x0 > done ? x0 : done + 1; x < x0 + DM_V; x++)
                        x = done = dm_run(qr, o, mr, n, x, t, e);
            }
            if (x0 == n - DM_V) break;
        }
    }
}

/* f = Q (root 0) or sqrt(Q) (root 1) as doubles */
static void dm_finish(double *f, const int32_t *q, int64_t s, int root) {
    if (root)
        for (int64_t i = 0; i < s; i++) f[i] = sqrt((double)q[i]);
    else
        for (int64_t i = 0; i < s; i++) f[i] = (double)q[i];
}

static void dm_scan0(int32_t *q, const uint8_t *m, int64_t n0, int64_t inner, int32_t *prev) {
    dm_scan0_body(q, m, n0, inner, prev);
}
static void dm_last(int32_t *q, const uint8_t *m, int64_t rows, int64_t n, int32_t *a1,
                    int32_t *a0, int32_t *mk, int32_t *o, int32_t *t, int64_t *e) {
    dm_last_body(q, m, rows, n, a1, a0, mk, o, t, e);
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The same code with 8-lane AVX2 vectors; used when the element kernels
 * run AVX2 or AVX-512 (segloss__vec_ops: SEGLOSS_ISA / SEGLOSS_FORCE_SCALAR
 * select the default copy). Integer arithmetic: both give the same bits. */
#define DM_AVX2 1
#include <immintrin.h>
__attribute__((target("avx2"))) static void dm_scan0_avx2(int32_t *q, const uint8_t *m,
                                                          int64_t n0, int64_t inner,
                                                          int32_t *prev) {
    dm_scan0_body(q, m, n0, inner, prev);
}
__attribute__((target("avx2"))) static void dm_last_avx2(int32_t *q, const uint8_t *m,
                                                         int64_t rows, int64_t n, int32_t *a1,
                                                         int32_t *a0, int32_t *mk, int32_t *o,
                                                         int32_t *t, int64_t *e) {
    dm_last_body(q, m, rows, n, a1, a0, mk, o, t, e);
}
/* vsqrtpd is IEEE sqrt: the bits of sqrt() */
__attribute__((target("avx2"))) static void dm_finish_avx2(double *f, const int32_t *q,
                                                           int64_t s, int root) {
    int64_t i = 0;
    for (; i + 4 <= s; i += 4) {
        __m256d v = _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(const void *)(q + i)));
        if (root) v = _mm256_sqrt_pd(v);
        _mm256_storeu_pd(f + i, v);
    }
    dm_finish(f + i, q + i, s - i, root);
}
#endif

#ifdef DM_AVX2
static int dm_use_avx2(void) {
    const char *isa = segloss__vec_ops()->name;
    return !strcmp(isa, "avx2") || !strcmp(isa, "avx512");
}
#endif

/* The scratch layout of dm_int after Q (int32 counts, each even so that
 * e stays 8-byte aligned): prev (s / dim0), a1, a0, mk, o (mx + 2 DM_KCAP
 * each), t (mx + 2), e (2 (mx + 2) int64), g (DM_B mx), gm (DM_B mx
 * bytes). */
typedef struct dm_work {
    int32_t *prev, *a1, *a0, *mk, *o, *t, *g;
    int64_t *e;
    uint8_t *gm;
    int64_t words;             /* the int32 words of the whole layout */
} dm_work;

static dm_work dm_work_layout(int32_t *w, const segloss_shape *sp, int64_t s) {
    int64_t mx = 1;
    for (int k = 0; k < sp->ndim; k++) mx = sp->dim[k] > mx ? sp->dim[k] : mx;
    const int64_t inner0 = s / sp->dim[0], row = (mx + 2 * DM_KCAP + 1) & ~(int64_t)1;
    const int64_t len[9] = {(inner0 + 1) & ~(int64_t)1, row, row, row, row,
                            (mx + 3) & ~(int64_t)1, 4 * (mx + 2), DM_B * mx, (DM_B * mx + 3) / 4};
    int64_t at[9], off = 0;
    for (int k = 0; k < 9; k++) {
        at[k] = off;
        off += len[k];
    }
    dm_work d = {.words = off};
    if (w) {
        d.prev = w + at[0];
        d.a1 = w + at[1];
        d.a0 = w + at[2];
        d.mk = w + at[3];
        d.o = w + at[4];
        d.t = w + at[5];
        d.e = (int64_t *)(void *)(w + at[6]);
        d.g = w + at[7];
        d.gm = (uint8_t *)(w + at[8]);
    }
    return d;
}

int64_t segloss__distfield_work(const segloss_shape *sp, int64_t s) {
    if (!dm_int_fits(sp)) return s * (int64_t)(sizeof(double) + 1);
    return (((s + 1) & ~(int64_t)1) + dm_work_layout(NULL, sp, s).words) *
           (int64_t)sizeof(int32_t);
}

/* Q of the mask (the passes above); w: the layout of dm_work_layout. */
static void dm_int(int32_t *q, const uint8_t *m, const segloss_shape *sp, int64_t s,
                   int32_t *w) {
    const dm_work d = dm_work_layout(w, sp, s);
    const int last = sp->ndim - 1;
#ifdef DM_AVX2
    const int avx2 = dm_use_avx2();
    if (avx2) dm_scan0_avx2(q, m, sp->dim[0], s / sp->dim[0], d.prev);
    else
#endif
        dm_scan0(q, m, sp->dim[0], s / sp->dim[0], d.prev);
    for (int ax = 1; ax < last; ax++) dm_axis(q, m, sp, ax, d.g, d.gm, d.t, d.e);
    if (last == 0) return;
    const int64_t n = sp->dim[last], rows = s / n;
    if (n < DM_V) {
        for (int64_t r = 0; r < rows; r++) dm_line_runs(q + r * n, m + r * n, n, d.t, d.e);
        return;
    }
#ifdef DM_AVX2
    if (avx2) dm_last_avx2(q, m, rows, n, d.a1, d.a0, d.mk, d.o, d.t, d.e);
    else
#endif
        dm_last(q, m, rows, n, d.a1, d.a0, d.mk, d.o, d.t, d.e);
}

segloss_status segloss__distfield(double *f, int root, int *any_fg, int *any_bg,
                                  const uint8_t *m, const segloss_shape *sp, int64_t s,
                                  void *work) {
    const int fg = memchr(m, 1, (size_t)s) != NULL, bg = memchr(m, 0, (size_t)s) != NULL;
    if (any_fg) *any_fg = fg;
    if (any_bg) *any_bg = bg;
    if (!fg || !bg) { /* no element of the other value anywhere */
        for (int64_t i = 0; i < s; i++) f[i] = INFINITY;
        return SEGLOSS_OK;
    }
    if (dm_int_fits(sp)) {
        int32_t *q = work;
        dm_int(q, m, sp, s, q + ((s + 1) & ~(int64_t)1));
#ifdef DM_AVX2
        if (dm_use_avx2()) {
            dm_finish_avx2(f, q, s, root);
            return SEGLOSS_OK;
        }
#endif
        dm_finish(f, q, s, root);
        return SEGLOSS_OK;
    }
    /* beyond int32: the double EDT of each feature set (work: s doubles
     * and s bytes) */
    double *d = work;
    uint8_t *w8 = (uint8_t *)(d + s);
    segloss_status st;
    for (int side = 0; side < 2; side++) { /* features: the 0s, then the 1s */
        for (int64_t i = 0; i < s; i++) w8[i] = m[i] == side;
        if ((st = segloss_edt_squared(d, w8, sp, NULL)) != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < s; i++)
            if (m[i] != side) f[i] = root ? sqrt(d[i]) : d[i];
    }
    return SEGLOSS_OK;
}
