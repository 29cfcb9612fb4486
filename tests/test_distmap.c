/* The distance field of the distance-map losses (segloss__distfield)
 * against a brute-force minimum over every voxel of the other value, bit
 * for bit: sqrt of the exact integer squared distance. 1-D, 2-D and 3-D
 * masks of random density (with lines and planes holding no 0 or no 1),
 * empty and full masks, single voxels (in corners, on borders, inside),
 * odd extents, rows shorter and longer than the vector width, and sparse
 * masks whose distances exceed the window search's reach (the envelope
 * fallback). Every path the CPU has (the AVX2 copy and the portable one,
 * through segloss__vec_force) gives the same bits. */
#include "kernels/vec.h"
#include "loss/distmap.h"
#include "tf.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Brute force: the squared distance from i to the nearest j with m[j] !=
 * m[i]; -1 when there is none. */
static int64_t brute(const uint8_t *m, const int64_t d[3], int64_t i) {
    int64_t best = -1;
    const int64_t s = d[0] * d[1] * d[2];
    const int64_t a0 = i / (d[1] * d[2]), a1 = i / d[2] % d[1], a2 = i % d[2];
    for (int64_t j = 0; j < s; j++) {
        if (m[j] == m[i]) continue;
        const int64_t b0 = j / (d[1] * d[2]) - a0, b1 = j / d[2] % d[1] - a1, b2 = j % d[2] - a2;
        const int64_t q = b0 * b0 + b1 * b1 + b2 * b2;
        if (best < 0 || q < best) best = q;
    }
    return best;
}

/* The field of m on every kernel path, against brute force; 1 if equal. */
static int check_mask(const uint8_t *m, const segloss_shape *sp, const int64_t d[3]) {
    const int64_t s = d[0] * d[1] * d[2];
    double *f = malloc((size_t)s * sizeof *f), *e = malloc((size_t)s * sizeof *e);
    void *work = malloc((size_t)segloss__distfield_work(sp, s));
    int efg = 0, ebg = 0, bad = 0;
    for (int64_t i = 0; i < s; i++) {
        efg |= m[i] != 0;
        ebg |= m[i] == 0;
    }
    int64_t *e2 = malloc((size_t)s * sizeof *e2);
    for (int64_t i = 0; i < s; i++) {
        e2[i] = brute(m, d, i);
        e[i] = e2[i] < 0 ? INFINITY : sqrt((double)e2[i]);
    }
    const segloss_vec_ops *tab[SEGLOSS__VEC_MAX_TABLES];
    const int paths = segloss__vec_tables(tab);
    for (int k = 0; k < paths && !bad; k++) {
        segloss__vec_force(tab[k]);
        int fg = -1, bg = -1;
        segloss_status st = segloss__distfield(f, 1, &fg, &bg, m, sp, s, work);
        /* and the squares */
        double *f2 = malloc((size_t)s * sizeof *f2);
        if (st == SEGLOSS_OK) st = segloss__distfield(f2, 0, NULL, NULL, m, sp, s, work);
        for (int64_t i = 0; i < s && st == SEGLOSS_OK && !bad; i++)
            if (f2[i] != (isinf(e[i]) ? INFINITY : (double)e2[i])) {
                tf_fail(__FILE__, __LINE__, "%s: voxel %lld: square %.17g vs %lld", tab[k]->name,
                        (long long)i, f2[i], (long long)e2[i]);
                bad = 1;
            }
        free(f2);
        if (st != SEGLOSS_OK || fg != efg || bg != ebg) {
            tf_fail(__FILE__, __LINE__, "%s: status %d fg %d bg %d", tab[k]->name, (int)st, fg,
                    bg);
            bad = 1;
        }
        for (int64_t i = 0; i < s && !bad; i++)
            if (memcmp(&e[i], &f[i], sizeof *f)) {
                tf_fail(__FILE__, __LINE__, "%s: shape %lldx%lldx%lld voxel %lld: %.17g vs %.17g",
                        tab[k]->name, (long long)d[0], (long long)d[1], (long long)d[2],
                        (long long)i, f[i], e[i]);
                bad = 1;
            }
    }
    segloss__vec_force(NULL);
    free(f);
    free(e);
    free(e2);
    free(work);
    return !bad;
}

static void shape_of(const int64_t *row, segloss_shape *sp, int64_t d[3]) {
    const int r = (int)row[0];
    sp->ndim = r;
    d[0] = d[1] = d[2] = 1;
    for (int a = 0; a < r; a++) {
        sp->dim[a] = row[1 + 3 - r + a];
        d[3 - r + a] = sp->dim[a];
    }
}

TEST(distfield_brute_force) {
    static const int64_t shapes[][4] = {
        {1, 1, 1, 1},  {1, 1, 1, 17},  {2, 1, 9, 13},  {2, 1, 31, 7},  {2, 1, 1, 40},
        {2, 1, 40, 1}, {2, 1, 33, 35}, {2, 1, 5, 8},   {2, 1, 6, 9},   {2, 1, 3, 64},
        {3, 5, 6, 7},  {3, 9, 1, 11},  {3, 12, 10, 3}, {3, 1, 1, 9},   {3, 17, 13, 11},
        {3, 4, 9, 16}, {3, 7, 1, 1}};
    static const int dens[] = {0, 1, 3, 50, 97, 99, 100};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        segloss_shape sp;
        int64_t d[3];
        shape_of(shapes[k], &sp, d);
        const int64_t s = d[0] * d[1] * d[2];
        uint8_t *m = malloc((size_t)s);
        for (size_t q = 0; q < sizeof dens / sizeof *dens; q++) {
            for (int64_t i = 0; i < s; i++) m[i] = (int)(rnd() % 100) < dens[q];
            CHECK(check_mask(m, &sp, d));
        }
        /* a few features on a sparse lattice, so whole lines and planes lack one */
        for (int64_t i = 0; i < s; i++) m[i] = i % 7 == 3 && rnd() % 3 == 0;
        CHECK(check_mask(m, &sp, d));
        /* smooth blobs: runs along every axis */
        for (int64_t i = 0; i < s; i++) {
            const int64_t a = i / (d[1] * d[2]), b = i / d[2] % d[1], c = i % d[2];
            m[i] = (a / 3 + b / 4 + c / 5) % 2;
        }
        CHECK(check_mask(m, &sp, d));
        free(m);
    }
}

/* One voxel of one value in a field of the other, at corners, on borders
 * and inside: long distances (beyond the window search's reach on the
 * larger shapes, so the envelope fallback runs), both ways round. */
TEST(distfield_single_voxel) {
    static const int64_t shapes[][4] = {{2, 1, 70, 64}, {2, 1, 7, 100}, {3, 6, 11, 40},
                                        {1, 1, 1, 90}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        segloss_shape sp;
        int64_t d[3];
        shape_of(shapes[k], &sp, d);
        const int64_t s = d[0] * d[1] * d[2];
        const int64_t at[] = {0, s - 1, d[2] - 1, s / 2, s - d[2], d[2] / 2, s / 3 + 1};
        uint8_t *m = malloc((size_t)s);
        for (size_t a = 0; a < sizeof at / sizeof *at; a++)
            for (int v = 0; v < 2; v++) {
                for (int64_t i = 0; i < s; i++) m[i] = (uint8_t)v;
                m[at[a]] = (uint8_t)!v;
                CHECK(check_mask(m, &sp, d));
            }
        /* two far voxels, a bar along the first axis, a sparse sprinkle */
        for (int64_t i = 0; i < s; i++) m[i] = 0;
        m[1] = m[s - 2] = 1;
        CHECK(check_mask(m, &sp, d));
        for (int64_t i = 0; i < s; i++) m[i] = i % d[2] == d[2] / 3;
        CHECK(check_mask(m, &sp, d));
        for (int64_t i = 0; i < s; i++) m[i] = rnd() % 500 == 0;
        CHECK(check_mask(m, &sp, d));
        free(m);
    }
}

/* A 1-D mask longer than 2^15 takes the double-precision path: checked
 * against the nearest other value found by scanning both ways. */
TEST(distfield_long_line) {
    const int64_t s = 40001;
    segloss_shape sp = {1, {s}};
    uint8_t *m = malloc((size_t)s);
    double *f = malloc((size_t)s * sizeof *f);
    void *work = malloc((size_t)segloss__distfield_work(&sp, s));
    for (int64_t i = 0; i < s; i++) m[i] = rnd() % 1000 < 3 ? 0 : 1;
    CHECK(segloss__distfield(f, 1, NULL, NULL, m, &sp, s, work) == SEGLOSS_OK);
    int bad = 0;
    for (int64_t i = 0; i < s && !bad; i += 7) {
        int64_t best = -1;
        for (int64_t r = 0; r < s && best < 0; r++)
            if ((i - r >= 0 && m[i - r] != m[i]) || (i + r < s && m[i + r] != m[i])) best = r;
        const double e = best < 0 ? INFINITY : (double)best;
        bad = f[i] != e;
        if (bad) tf_fail(__FILE__, __LINE__, "voxel %lld: %g, expected %g", (long long)i, f[i], e);
    }
    CHECK(!bad);
    free(m);
    free(f);
    free(work);
}
