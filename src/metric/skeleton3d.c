/* 3-D skeleton exactly as scikit-image 0.19.3's `skeletonize_3d` computes
 * it (skimage/morphology/_skeletonize_3d_cy.pyx, _compute_thin_image):
 * Lee, Kashyap and Chu (1994) thinning as Arganda-Carreras's ImageJ plugin
 * implements it.
 *
 * The image (values 0/1) has a zero border of one voxel. A sweep takes the
 * six border directions in the order W, E, S, N, U, B, i.e. the neighbour
 * at offset (0,-1,0), (0,+1,0), (0,0,+1), (0,0,-1), (+1,0,0), (-1,0,0)
 * (axis 0, 1, 2) being background; only the first four when the image has
 * a single plane (a 2-D image, or a 3-D one of depth 1). For each
 * direction:
 *  1. candidates: in raster (C) order, every foreground voxel whose
 *     neighbour in that direction is background, that is not an end point
 *     (exactly one foreground voxel among its 26 neighbours), whose removal
 *     keeps the Euler characteristic (the sum over its 8 octants of Lee's
 *     table delta G_26, indexed by the octant's voxels, is 0) and that is
 *     simple (its foreground 26-neighbours, centre excluded, form at most
 *     one 26-connected component: skimage's octree labelling joins two
 *     neighbours exactly when they lie in a common 2x2x2 octant, which for
 *     offsets in {-1,0,1}^3 means no coordinate differs by 2);
 *     all judged on the image as it was when the direction began;
 *  2. sequential re-check: the candidates in that same order, each removed
 *     if it is still simple in the image as it is at that moment.
 * Sweeps repeat until one removes nothing in every direction.
 *
 * How it is computed (the same result, voxel for voxel). The image is held
 * as bit rows (one bit per voxel along axis 2), with a second bitmap of the
 * voxels removed since the direction began: "as it was when the direction
 * began" is then the OR of the two. Both steps run in one raster pass: when
 * voxel v is reached, the voxels removed so far in this direction are
 * exactly the candidates before v that the re-check removed, so v's
 * step-1 tests read the OR (the image at the start) and its re-check reads
 * the current bits; the re-check is skipped when no neighbour of v has
 * been removed yet (then both images agree around v and v was just found
 * simple). The rows are scanned 64 voxels at a time for foreground voxels
 * with a background neighbour in the direction, so the cost of a pass is
 * its border voxels plus one word operation per 64 voxels of the rows
 * still holding foreground. The verdicts of the tests are looked up by the
 * 27-bit neighbourhood in a table shared by all calls (verdict below). A
 * voxel that failed the tests of step 1 keeps that verdict (a third
 * bitmap) until a voxel of its 3x3x3 neighbourhood is removed: the tests
 * depend on nothing else. */
#include "metric/metric.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metric/skeleton_table.h"

/* Index of the lowest set bit (x != 0). */
static inline int ctz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Neighbourhoods are 27-bit masks of the offsets (dp, dr, dc) along axes
 * (0, 1, 2) in {-1,0,1}^3. Gathered from the bit rows they are row-major,
 * bit 9*(dp+1) + 3*(dr+1) + (dc+1); skimage numbers its neighbours
 * k = 9*(dp+1) + 3*(dc+1) + (dr+1) (each plane transposed), the layout of
 * the octant table and of is_euler_invariant. The end-point and
 * connectivity tests treat the three axes alike and take either. */

/* Octant o lies in planes plane[o] and plane[o] + 1; the bits of its index
 * in skimage's table come from the 9 bits (skimage's layout) of each of
 * the two planes through bits[o][0 or 1][plane bits]. */
typedef struct octants {
    int plane[8];
    uint8_t bits[8][2][512];
} octants;

static void octants_fill(int plane[8], uint8_t bits[8][2][512]) {
    for (int o = 0; o < 8; o++) {
        /* an octant is a 2x2x2 cube holding the centre (plane 1): planes
         * 0-1 or 1-2 */
        int lo = 1;
        for (int j = 0; j < 7; j++)
            if (skel3d_octant[o][j][0] / 9 == 0) lo = 0;
        plane[o] = lo;
        for (int p = 0; p < 2; p++) {
            uint8_t w[9] = {0}; /* the index bit of each bit of the plane */
            for (int j = 0; j < 7; j++)
                if (skel3d_octant[o][j][0] / 9 == lo + p)
                    w[skel3d_octant[o][j][0] % 9] = skel3d_octant[o][j][1];
            uint8_t *e = bits[o][p];
            e[0] = 0;
            for (unsigned v = 1; v < 512; v++) { /* e[v] = e[v without its lowest bit] | ... */
                int b = 0;
                while (!(v >> b & 1u)) b++;
                e[v] = (uint8_t)(e[v & (v - 1u)] | w[b]);
            }
        }
    }
}

/* The octant tables: the shared ones once filled (oct_state 2; read-only
 * from then on), else (first use, or another thread filling them) a
 * private copy in *own. */
static atomic_int oct_state; /* 0 empty, 1 being filled, 2 ready */

static const octants *octants_get(octants *own) {
    static octants shared;
    if (atomic_load_explicit(&oct_state, memory_order_acquire) == 2) return &shared;
    int expect = 0;
    if (atomic_compare_exchange_strong(&oct_state, &expect, 1)) {
        octants_fill(shared.plane, shared.bits);
        atomic_store_explicit(&oct_state, 2, memory_order_release);
        return &shared;
    }
    octants_fill(own->plane, own->bits);
    return own;
}

/* An end point: exactly one foreground voxel besides the centre. */
static inline int is_endpoint(uint32_t m) {
    const uint32_t r = m & ~(1u << 13);
    return r && !(r & (r - 1u));
}

/* The 3x3x3 box dilation of a 27-bit mask (within the cube): the bits
 * within distance 1 along each coordinate, one coordinate at a time. */
static inline uint32_t dilate27(uint32_t m) {
    const uint32_t lo = 01111111111u & 0x7FFFFFFu, hi = lo << 2; /* dr = -1, +1 */
    m |= ((m & ~hi) << 1) | ((m & ~lo) >> 1);
    const uint32_t r0 = 0x7u | 0x7u << 9 | 0x7u << 18, r2 = r0 << 6; /* dc = -1, +1 */
    m |= ((m & ~r2) << 3) | ((m & ~r0) >> 3);
    return (m | m << 9 | m >> 9) & 0x7FFFFFFu;
}

/* At most one 26-connected component among the foreground neighbours
 * (centre excluded): grow one component by box dilations inside them. */
static int is_simple(uint32_t m) {
    const uint32_t rest = m & ~(1u << 13);
    if (!rest) return 1;
    uint32_t comp = rest & (~rest + 1u);
    for (;;) {
        const uint32_t next = dilate27(comp) & rest;
        if (next == comp) return comp == rest;
        comp = next;
    }
}

static int is_euler_invariant(uint32_t m, const octants *t) {
    const unsigned pl[3] = {m & 511u, m >> 9 & 511u, m >> 18 & 511u};
    int e = 0;
    for (int o = 0; o < 8; o++) {
        const int p = t->plane[o];
        e += skel3d_euler[1u | t->bits[o][0][pl[p]] | t->bits[o][1][pl[p + 1]]];
    }
    return e == 0;
}

/* The tests depend on the 27-bit neighbourhood m alone, and the same few
 * thousand neighbourhoods make up most of a surface: their verdicts are
 * kept in a table shared by all calls and threads, two slots per hash
 * value (entries h and h ^ 1, in one cache line). Entry = m (row-major) |
 * VALID | STEP1 (m passes step 1: not an end point, Euler invariant,
 * simple) | SIMPLE (m is simple), each read and written whole (relaxed
 * atomics: an entry is absent, or right for its m). A slot is written
 * once, when empty, and never replaced: a table that is warm is only read,
 * so threads on other cores do not invalidate each other's copies of its
 * lines (on the benchmark volume, 120 labels, 78,000 distinct
 * neighbourhoods: about 1.6 % of the lookups miss and recompute, against
 * 2.1 % with a direct-mapped table that replaces). */
enum { CACHE_BITS = 16 };
#define VALID (1u << 27)
#define STEP1 (1u << 28)
#define SIMPLE (1u << 29)
static _Atomic uint32_t verdict_cache[1u << CACHE_BITS];

/* Row-major neighbourhood (bit 9*(dp+1) + 3*(dr+1) + (dc+1)) to skimage's
 * (bit 9*(dp+1) + 3*(dc+1) + (dr+1)): a transpose of each plane's 3x3. */
static uint32_t to_skimage(uint32_t m) {
    /* in each plane, bit 3a+b goes to 3b+a: the diagonal (0, 4, 8) stays,
     * 1 and 5 move up by 2, 3 and 7 down by 2, 2 up by 4, 6 down by 4 */
    const uint32_t rep = 1u | 1u << 9 | 1u << 18;
    return (m & 0x111u * rep) | (m & 0x22u * rep) << 2 | (m & 0x88u * rep) >> 2 |
           (m & 0x4u * rep) << 4 | (m & 0x40u * rep) >> 4;
}

/* The entry of m, computed if absent. */
static inline uint32_t verdict(uint32_t m, const octants *t) {
    const uint32_t h = (m * 0x9E3779B1u) >> (32 - CACHE_BITS);
    const uint32_t e0 = atomic_load_explicit(&verdict_cache[h], memory_order_relaxed);
    if ((e0 & (VALID - 1u)) == m && (e0 & VALID)) return e0;
    const uint32_t e1 = atomic_load_explicit(&verdict_cache[h ^ 1u], memory_order_relaxed);
    if ((e1 & (VALID - 1u)) == m && (e1 & VALID)) return e1;
    const uint32_t ms = to_skimage(m);
    const int simple = is_simple(ms);
    const uint32_t e = m | VALID | (simple ? SIMPLE : 0u) |
                       (simple && !is_endpoint(ms) && is_euler_invariant(ms, t) ? STEP1 : 0u);
    /* filled once: an entry, once written, stays (no writes once the table
     * is warm, so threads do not take its cache lines from each other) */
    if (!(e0 & VALID)) atomic_store_explicit(&verdict_cache[h], e, memory_order_relaxed);
    else if (!(e1 & VALID)) atomic_store_explicit(&verdict_cache[h ^ 1u], e, memory_order_relaxed);
    return e;
}

/* Bits c-1, c, c+1 of a bit row, c1 = c - 1. May read up to 8 bytes past
 * them (the next row, or the spare word that ends the bitmaps). */
static inline unsigned bits3(const uint64_t *row, int64_t c1) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* bit k of the row is bit k % 8 of byte k / 8 */
    uint64_t v;
    memcpy(&v, (const unsigned char *)row + (c1 >> 3), 8);
    return (unsigned)(v >> (c1 & 7)) & 7u;
#else
    const int64_t w = c1 >> 6;
    const unsigned sh = (unsigned)(c1 & 63);
    return (unsigned)((row[w] >> sh | (row[w + 1] << 1) << (63 - sh)) & 7u);
#endif
}

/* The neighbourhoods (row-major) of voxel c = c1 + 1 of row `row`: in
 * the image cur (*mc), and of the voxels removed before it in this
 * direction (*mr; rows r-1, r, r+1 of the plane before and rows r-1, r of
 * its own plane, the only ones that can hold them), with the removed
 * bitmap nb words after cur; rows of nw words, n1 rows per plane. */
static inline void gather(uint32_t *mc, uint32_t *mr, const uint64_t *cur, int64_t nb,
                          int64_t row, int64_t nw, int64_t n1, int64_t c1) {
    const uint64_t *p = cur + row * nw, *q = p + nb;
    const int64_t R = nw, S = n1 * nw;
    *mc = bits3(p - S - R, c1) | bits3(p - S, c1) << 3 | bits3(p - S + R, c1) << 6 |
          bits3(p - R, c1) << 9 | bits3(p, c1) << 12 | bits3(p + R, c1) << 15 |
          bits3(p + S - R, c1) << 18 | bits3(p + S, c1) << 21 | bits3(p + S + R, c1) << 24;
    *mr = bits3(q - S - R, c1) | bits3(q - S, c1) << 3 | bits3(q - S + R, c1) << 6 |
          bits3(q - R, c1) << 9 | bits3(q, c1) << 12;
}

/* Clears bits c-1, c, c+1 of a bit row (writes row[w + 1], as bits3 reads
 * it); returns how many were set. */
static inline int clear3(uint64_t *row, int64_t w, unsigned sh) {
    const uint64_t m0 = (uint64_t)7u << sh, m1 = ((uint64_t)7u >> 1) >> (63 - sh);
    const uint64_t a = row[w] & m0, b = row[w + 1] & m1;
    if (!(a | b)) return 0;
    row[w] ^= a;
    row[w + 1] ^= b;
    int n = 0; /* at most three bits: no popcount instruction needed */
    for (uint64_t x = a; x; x &= x - 1u) n++;
    for (uint64_t x = b; x; x &= x - 1u) n++;
    return n;
}

/* A word of a row holding candidates of a direction: bit j of x is voxel
 * 64 w + j of row `row`. */
struct cand {
    int64_t row, w;
    uint64_t x;
};

/* A thinning in progress: dims n (border included), rows of nw words. */
typedef struct thin {
    int64_t n0, n1, n2, nw, nrows;
    uint64_t *cur, *rm, *keep; /* the image; removed since the direction
                                  began; failed step 1, neighbourhood
                                  unchanged since */
    int64_t *keepcnt;          /* keep bits per row */
    int64_t *keepnear;         /* keep bits in the 3x3 rows around a row
                                  (rows r-1..r+1 of planes p-1..p+1) */
    int64_t *act, nact;        /* the rows holding foreground, ascending */
    struct cand *cand;         /* a direction's candidate words (below) */
} thin;

static void thin_free(thin *t) {
    free(t->cur);
    free(t->keepcnt);
    free(t->keepnear);
    free(t->act);
    free(t->cand);
}

/* Zeroed bitmaps for dims n; -1 if out of memory (thin_free releases). */
static int thin_alloc(thin *t, const int64_t n[3]) {
    memset(t, 0, sizeof *t);
    t->n0 = n[0];
    t->n1 = n[1];
    t->n2 = n[2];
    t->nw = (n[2] + 63) / 64;
    t->nrows = n[0] * n[1];
    const int64_t nb = t->nrows * t->nw;
    t->cur = calloc((size_t)(3 * nb + 1), sizeof *t->cur); /* + the spare word */
    t->keepcnt = calloc((size_t)t->nrows, sizeof *t->keepcnt);
    t->keepnear = calloc((size_t)t->nrows, sizeof *t->keepnear);
    t->act = malloc((size_t)t->nrows * sizeof *t->act);
    t->cand = malloc((size_t)(nb + 1) * sizeof *t->cand); /* + an end mark */
    if (!t->cur || !t->keepcnt || !t->keepnear || !t->act || !t->cand) return -1;
    t->rm = t->cur + nb;
    t->keep = t->rm + nb;
    return 0;
}

/* After the rows are loaded: the list of rows in use. */
static void thin_rows(thin *t) {
    t->nact = 0;
    for (int64_t row = 0; row < t->nrows; row++) {
        uint64_t any = 0;
        for (int64_t w = 0; w < t->nw; w++) any |= t->cur[row * t->nw + w];
        if (any) t->act[t->nact++] = row;
    }
}

/* The thinning itself (the algorithm above) on t->cur. */
static segloss_status thin_run(thin *t, int n_dirs) {
    octants *own = NULL;
    const octants *oct = NULL;
    if (atomic_load_explicit(&oct_state, memory_order_acquire) != 2) {
        own = malloc(sizeof *own);
        if (!own) return SEGLOSS_ERR_NOMEM;
    }
    oct = octants_get(own);
    const int64_t n1 = t->n1, nw = t->nw;
    uint64_t *cur = t->cur, *rm = t->rm, *keep = t->keep;
    /* the neighbour row in each direction (W, E, S, N, U, B), in rows;
     * S and N are shifts within the row */
    const int64_t drow[6] = {-1, 1, 0, 0, n1, -n1};
    for (int unchanged = 0; unchanged < n_dirs;) {
        unchanged = 0;
        for (int d = 0; d < n_dirs; d++) {
            /* The candidates: the foreground voxels whose neighbour in
             * direction d is background, less those that keep their
             * failed step 1 (they cannot be removed in this direction: a
             * removal in it that clears their keep bit leaves the image at
             * the direction's start, which step 1 judges, as it was).
             * Listed for all rows first, so that the loop below runs over
             * the candidates alone, the next one selected without a branch
             * (a branch per word, on how many candidates it holds, is
             * mispredicted about once a word). */
            struct cand *cd = t->cand;
            int64_t ncand = 0;
            for (int64_t a = 0; a < t->nact; a++) {
                const int64_t row = t->act[a];
                const uint64_t *nc = cur + (row + drow[d]) * nw, *nr = rm + (row + drow[d]) * nw;
                for (int64_t w = 0; w < nw; w++) {
                    /* the image at the direction's start, in direction d */
                    uint64_t s = nc[w] | nr[w];
                    if (d == 2)
                        s = s >> 1 | (w + 1 < nw ? (nc[w + 1] | nr[w + 1]) << 63 : 0);
                    else if (d == 3)
                        s = s << 1 | (w > 0 ? (nc[w - 1] | nr[w - 1]) >> 63 : 0);
                    const uint64_t x = cur[row * nw + w] & ~keep[row * nw + w] & ~s;
                    cd[ncand].row = row;
                    cd[ncand].w = w;
                    cd[ncand].x = x;
                    ncand += x != 0;
                }
            }
            cd[ncand].row = cd[ncand].w = 0;
            cd[ncand].x = 1u; /* the end mark: read, never used */
            int64_t removed = 0;
            int64_t k = 0;
            uint64_t x = cd[0].x;
            while (k < ncand) {
                const int64_t row = cd[k].row;
                const int64_t c = cd[k].w * 64 + ctz64(x);
                /* the next candidate: the next bit of this word, else the
                 * first of the next word */
                const uint64_t rest = x & (x - 1u);
                const uint64_t last = (uint64_t)(rest == 0);
                k += (int64_t)last;
                x = rest | (cd[k].x & (0 - last));
                const int64_t cw = (c - 1) >> 6;
                const unsigned sh = (unsigned)((c - 1) & 63);
                uint32_t mc, mr;
                gather(&mc, &mr, cur, rm - cur, row, nw, n1, c - 1);
                const uint32_t m = mc | mr;
                const uint64_t bit = (uint64_t)1u << (c & 63);
                if (!(verdict(m, oct) & STEP1)) {
                    if (!mr) {
                        keep[row * nw + (c >> 6)] |= bit;
                        t->keepcnt[row]++;
                        for (int dp = -1; dp <= 1; dp++)
                            for (int dr = -1; dr <= 1; dr++) t->keepnear[row + dp * n1 + dr]++;
                    }
                    continue;
                }
                if (mr && !(verdict(mc, oct) & SIMPLE)) continue;
                cur[row * nw + (c >> 6)] &= ~bit;
                rm[row * nw + (c >> 6)] |= bit;
                removed++;
                /* keep bits are rare: most removals have none around them */
                if (t->keepnear[row])
                    for (int dp = -1; dp <= 1; dp++)
                        for (int dr = -1; dr <= 1; dr++) {
                            const int64_t q = row + dp * n1 + dr;
                            if (!t->keepcnt[q]) continue;
                            const int kq = clear3(keep + q * nw, cw, sh);
                            t->keepcnt[q] -= kq;
                            for (int ep = -1; ep <= 1; ep++)
                                for (int er = -1; er <= 1; er++)
                                    t->keepnear[q + ep * n1 + er] -= kq;
                        }
            }
            if (removed == 0) {
                unchanged++;
                continue;
            }
            /* the removed voxels lie in the rows in use: clear their bits
             * there, and drop the rows left empty */
            int64_t j = 0;
            for (int64_t a = 0; a < t->nact; a++) {
                const int64_t row = t->act[a];
                uint64_t any = 0;
                for (int64_t w = 0; w < nw; w++) {
                    rm[row * nw + w] = 0;
                    any |= cur[row * nw + w];
                }
                if (any) t->act[j++] = row;
            }
            t->nact = j;
        }
    }
    free(own);
    return SEGLOSS_OK;
}

segloss_status segloss__skeleton3d(uint8_t *im, const int64_t n[3], int n_dirs) {
    thin t;
    segloss_status st = SEGLOSS_ERR_NOMEM;
    if (thin_alloc(&t, n)) goto done;
    for (int64_t row = 0; row < t.nrows; row++) {
        const uint8_t *src = im + row * t.n2;
        uint64_t *dst = t.cur + row * t.nw;
        for (int64_t k = 0; k < t.n2; k++) dst[k >> 6] |= (uint64_t)(src[k] & 1u) << (k & 63);
    }
    thin_rows(&t);
    st = thin_run(&t, n_dirs);
    if (st != SEGLOSS_OK) goto done;
    for (int64_t row = 0; row < t.nrows; row++) {
        uint8_t *dst = im + row * t.n2;
        const uint64_t *src = t.cur + row * t.nw;
        for (int64_t k = 0; k < t.n2; k++) dst[k] = (uint8_t)(src[k >> 6] >> (k & 63) & 1u);
    }
done:
    thin_free(&t);
    return st;
}

segloss_status segloss__skeleton3d_count(int64_t cnt[2], const uint8_t *fl, const int64_t m[3],
                                         uint8_t bit, uint8_t other, int n_dirs) {
    const int64_t n[3] = {m[0] + 2, m[1] + 2, m[2] + 2};
    thin t;
    segloss_status st = SEGLOSS_ERR_NOMEM;
    if (thin_alloc(&t, n)) goto done;
    const unsigned bpos = (unsigned)ctz64(bit);
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const uint8_t *src = fl + (i0 * m[1] + i1) * m[2];
            uint64_t *dst = t.cur + ((i0 + 1) * t.n1 + i1 + 1) * t.nw;
            int64_t k = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* 8 flags at a time: byte j's bit to bit j (the product gathers
             * them in the top byte), voxel k at bit k + 1 of the row */
            for (; k + 8 <= m[2]; k += 8) {
                uint64_t v;
                memcpy(&v, src + k, 8);
                const uint64_t b8 = (((v >> bpos) & 0x0101010101010101ULL) *
                                     0x0102040810204080ULL) >> 56;
                const unsigned q = (unsigned)((k + 1) & 63);
                dst[(k + 1) >> 6] |= b8 << q;
                if (q > 56) dst[((k + 1) >> 6) + 1] |= b8 >> (64 - q);
            }
#endif
            for (; k < m[2]; k++)
                dst[(k + 1) >> 6] |= (uint64_t)(src[k] >> bpos & 1u) << ((k + 1) & 63);
        }
    thin_rows(&t);
    st = thin_run(&t, n_dirs);
    if (st != SEGLOSS_OK) goto done;
    int64_t s = 0, hit = 0;
    for (int64_t a = 0; a < t.nact; a++) {
        const int64_t row = t.act[a], i0 = row / t.n1 - 1, i1 = row % t.n1 - 1;
        const uint8_t *src = fl + (i0 * m[1] + i1) * m[2];
        for (int64_t w = 0; w < t.nw; w++)
            for (uint64_t x = t.cur[row * t.nw + w]; x; x &= x - 1u) {
                const int64_t k = w * 64 + ctz64(x) - 1;
                s++;
                hit += (src[k] & other) != 0;
            }
    }
    cnt[0] = s;
    cnt[1] = hit;
done:
    thin_free(&t);
    return st;
}
