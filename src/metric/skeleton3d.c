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
 * Cost. Only a voxel with a background face-neighbour can be a border
 * voxel, so the voxels visited are a list of those, kept in raster order
 * (after each direction the removed ones leave it and their foreground
 * face-neighbours, sorted, are merged in). The tests of step 1 depend only
 * on the 3x3x3 neighbourhood, so a voxel that failed them keeps that
 * verdict (a flag) until a voxel of its neighbourhood is removed. Neither
 * changes which voxels are tested or in which order, only how often the
 * same answer is recomputed. */
#include "metric/metric.h"

#include <stdlib.h>

#include "metric/skeleton_table.h"

/* FG: foreground; LISTED: in the list of border voxels; KEEP: failed the
 * tests of step 1 and no voxel of its neighbourhood has been removed
 * since. */
enum { FG = 1, LISTED = 2, KEEP = 4 };

/* The 3x3x3 neighbourhood as a 27-bit mask, bit k = skimage's neighbour k
 * = 9*(dp+1) + 3*(dc+1) + (dr+1): three planes of 9 bits (dp), each three
 * rows of 3 bits (dc), each bit one dr. */
typedef struct nbhd {
    int64_t off[27];          /* offset of neighbour k in the image */
    int plane[8];             /* octant o lies in planes plane[o], plane[o] + 1 */
    uint8_t euler[8][2][512]; /* its index bits from the 9 bits of each */
} nbhd;

static void nbhd_init(nbhd *t, int64_t s0, int64_t s1) {
    for (int dp = -1; dp <= 1; dp++)
        for (int dc = -1; dc <= 1; dc++)
            for (int dr = -1; dr <= 1; dr++)
                t->off[9 * (dp + 1) + 3 * (dc + 1) + (dr + 1)] = dp * s0 + dr * s1 + dc;
    for (int o = 0; o < 8; o++) {
        /* an octant is a 2x2x2 cube holding the centre (plane 1): planes
         * 0-1 or 1-2 */
        int lo = 1;
        for (int j = 0; j < 7; j++)
            if (skel3d_octant[o][j][0] / 9 == 0) lo = 0;
        t->plane[o] = lo;
        for (int p = 0; p < 2; p++) {
            uint8_t w[9] = {0}; /* the index bit of each bit of the plane */
            for (int j = 0; j < 7; j++)
                if (skel3d_octant[o][j][0] / 9 == lo + p)
                    w[skel3d_octant[o][j][0] % 9] = skel3d_octant[o][j][1];
            uint8_t *e = t->euler[o][p];
            e[0] = 0;
            for (unsigned v = 1; v < 512; v++) { /* e[v] = e[v without its lowest bit] | ... */
                int b = 0;
                while (!(v >> b & 1u)) b++;
                e[v] = (uint8_t)(e[v & (v - 1u)] | w[b]);
            }
        }
    }
}

/* Bit k set when skimage's neighbour k of voxel i is foreground: per
 * (dp, dr), the three bytes dc = -1, 0, 1 are adjacent in memory and go
 * to bits 3 apart. */
static inline uint32_t neighbourhood(const uint8_t *im, int64_t i, const nbhd *t) {
    uint32_t m = 0;
    for (int dp = 0; dp < 3; dp++)
        for (int dr = 0; dr < 3; dr++) {
            const uint8_t *q = im + i + t->off[9 * dp + dr + 3]; /* dc = 0 */
            const uint32_t row = (uint32_t)(q[-1] & FG) | (uint32_t)(q[0] & FG) << 3 |
                                 (uint32_t)(q[1] & FG) << 6;
            m |= row << (9 * dp + dr);
        }
    return m;
}

/* An end point: exactly one foreground voxel besides the centre. */
static inline int is_endpoint(uint32_t m) {
    const uint32_t r = m & ~(1u << 13);
    return r && !(r & (r - 1u));
}

/* dst = the sorted merge of the sorted a[0..na) and b[0..nb). */
static void merge2(int64_t *dst, const int64_t *a, int64_t na, const int64_t *b, int64_t nb) {
    int64_t x = 0, y = 0, o = 0;
    while (x < na && y < nb) dst[o++] = a[x] < b[y] ? a[x++] : b[y++];
    while (x < na) dst[o++] = a[x++];
    while (y < nb) dst[o++] = b[y++];
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

static int is_euler_invariant(uint32_t m, const nbhd *t) {
    const unsigned pl[3] = {m & 511u, m >> 9 & 511u, m >> 18 & 511u};
    int e = 0;
    for (int o = 0; o < 8; o++) {
        const int p = t->plane[o];
        e += skel3d_euler[1u | t->euler[o][0][pl[p]] | t->euler[o][1][pl[p + 1]]];
    }
    return e == 0;
}

/* Growable int64 array. */
typedef struct vec {
    int64_t *p, n, cap;
} vec;

static int vec_push(vec *v, int64_t x) {
    if (v->n == v->cap) {
        int64_t c = v->cap ? 2 * v->cap : 256;
        int64_t *q = realloc(v->p, (size_t)c * sizeof *q);
        if (!q) return -1;
        v->p = q;
        v->cap = c;
    }
    v->p[v->n++] = x;
    return 0;
}

static int vec_reserve(vec *v, int64_t n) {
    if (v->cap >= n) return 0;
    int64_t *q = realloc(v->p, (size_t)n * sizeof *q);
    if (!q) return -1;
    v->p = q;
    v->cap = n;
    return 0;
}

segloss_status segloss__skeleton3d(uint8_t *im, const int64_t n[3], int n_dirs) {
    const int64_t s1 = n[2], s0 = n[1] * n[2];
    nbhd *t = malloc(sizeof *t);
    if (!t) return SEGLOSS_ERR_NOMEM;
    nbhd_init(t, s0, s1);
    const int64_t dir[6] = {-s1, s1, 1, -1, s0, -s0};
    vec list = {0}, cand = {0}, add = {0}, merged = {0};
    segloss_status st = SEGLOSS_ERR_NOMEM;
    for (int64_t p = 1; p + 1 < n[0]; p++)
        for (int64_t r = 1; r + 1 < n[1]; r++)
            for (int64_t c = 1; c + 1 < n[2]; c++) {
                const int64_t i = p * s0 + r * s1 + c;
                if (!(im[i] & FG)) continue;
                if ((im[i - 1] & im[i + 1] & im[i - s1] & im[i + s1] & im[i - s0] &
                     im[i + s0] & FG))
                    continue;
                if (vec_push(&list, i)) goto done;
                im[i] |= LISTED;
            }
    for (int unchanged = 0; unchanged < n_dirs;) {
        unchanged = 0;
        for (int d = 0; d < n_dirs; d++) {
            const int64_t od = dir[d];
            cand.n = 0;
            /* the list without the voxels removed since, merged with the
             * new border voxels `add` (sorted), is scanned and written to
             * `merged` in one pass, which becomes the list */
            if (vec_reserve(&merged, list.n + add.n)) goto done;
            int64_t x = 0, y = 0, o = 0;
            while (x < list.n || y < add.n) {
                int64_t i;
                if (y >= add.n || (x < list.n && list.p[x] < add.p[y])) i = list.p[x++];
                else i = add.p[y++];
                if (!(im[i] & FG)) continue;
                merged.p[o++] = i;
                if ((im[i + od] & FG) || (im[i] & KEEP)) continue;
                const uint32_t m = neighbourhood(im, i, t);
                if (is_endpoint(m) || !is_euler_invariant(m, t) || !is_simple(m)) {
                    im[i] |= KEEP;
                    continue;
                }
                if (vec_push(&cand, i)) goto done;
            }
            merged.n = o;
            add.n = 0;
            vec tmp = list;
            list = merged;
            merged = tmp;
            int64_t removed = 0;
            for (int64_t k = 0; k < cand.n; k++) {
                const int64_t i = cand.p[k];
                if (!is_simple(neighbourhood(im, i, t))) continue;
                im[i] = 0;
                cand.p[removed++] = i;
                for (int q = 0; q < 27; q++) im[i + t->off[q]] &= (uint8_t)~KEEP;
            }
            if (removed == 0) {
                unchanged++;
                continue;
            }
            /* the new border voxels: foreground face-neighbours of removed
             * ones, not yet listed. The removed voxels are in raster order,
             * so their neighbours at one offset are too: six sorted runs,
             * merged pairwise (in `merged`, then back). */
            int64_t run[7];
            for (int a = 0; a < 6; a++) {
                run[a] = add.n;
                for (int64_t k = 0; k < removed; k++) {
                    const int64_t q = cand.p[k] + dir[a];
                    if ((im[q] & (FG | LISTED)) != FG) continue;
                    im[q] |= LISTED;
                    if (vec_push(&add, q)) goto done;
                }
            }
            run[6] = add.n;
            if (add.n == 0) continue;
            if (vec_reserve(&merged, add.n)) goto done;
            for (int a = 1; a < 6; a++) { /* add[0, run[a]) sorted: take in run a */
                merge2(merged.p, add.p, run[a], add.p + run[a], run[a + 1] - run[a]);
                memcpy(add.p, merged.p, (size_t)run[a + 1] * sizeof *add.p);
            }
        }
    }
    for (int64_t k = 0; k < list.n; k++) im[list.p[k]] &= FG;
    for (int64_t k = 0; k < add.n; k++) im[add.p[k]] &= FG;
    st = SEGLOSS_OK;
done:
    free(t);
    free(list.p);
    free(cand.p);
    free(add.p);
    free(merged.p);
    return st;
}
