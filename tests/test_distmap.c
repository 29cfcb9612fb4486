/* The distance maps of the distance-map losses (segloss__distmap) against a
 * brute-force minimum over every voxel of the other value, bit for bit:
 * sqrt of the exact integer squared distance. 1-D, 2-D and 3-D masks of
 * random density (with lines and planes holding no 0 or no 1), empty and
 * full masks, odd extents. */
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

/* Brute force: the distance from i to the nearest j with (m[j] != 0) == want. */
static double brute(const uint8_t *m, const int64_t d[3], int64_t i, int want) {
    int64_t best = -1;
    const int64_t s = d[0] * d[1] * d[2];
    const int64_t a0 = i / (d[1] * d[2]), a1 = i / d[2] % d[1], a2 = i % d[2];
    for (int64_t j = 0; j < s; j++) {
        if ((m[j] != 0) != want) continue;
        const int64_t b0 = j / (d[1] * d[2]) - a0, b1 = j / d[2] % d[1] - a1, b2 = j % d[2] - a2;
        const int64_t q = b0 * b0 + b1 * b1 + b2 * b2;
        if (best < 0 || q < best) best = q;
    }
    return best < 0 ? INFINITY : sqrt((double)best);
}

static int check_mask(const uint8_t *m, const segloss_shape *sp, const int64_t d[3]) {
    const int64_t s = d[0] * d[1] * d[2];
    double *in = malloc((size_t)s * sizeof *in), *out = malloc((size_t)s * sizeof *out);
    double *work = malloc((size_t)s * sizeof *work);
    uint8_t *w8 = malloc((size_t)s);
    int fg = -1, bg = -1, bad = 0;
    segloss_status st = segloss__distmap(in, out, &fg, &bg, m, sp, s, work, w8);
    int efg = 0, ebg = 0;
    for (int64_t i = 0; i < s; i++) {
        efg |= m[i] != 0;
        ebg |= m[i] == 0;
    }
    if (st != SEGLOSS_OK || fg != efg || bg != ebg) bad = 1;
    for (int64_t i = 0; i < s && !bad; i++) {
        const double ei = m[i] ? brute(m, d, i, 0) : 0.0, eo = m[i] ? 0.0 : brute(m, d, i, 1);
        if (memcmp(&ei, &in[i], sizeof ei) || memcmp(&eo, &out[i], sizeof eo)) {
            tf_fail(__FILE__, __LINE__, "shape %lldx%lldx%lld voxel %lld: in %.17g vs %.17g, out %.17g vs %.17g",
                    (long long)d[0], (long long)d[1], (long long)d[2], (long long)i, in[i], ei,
                    out[i], eo);
            bad = 1;
        }
    }
    /* in only and out only give the same values */
    if (!bad) {
        double *in2 = malloc((size_t)s * sizeof *in2), *out2 = malloc((size_t)s * sizeof *out2);
        segloss__distmap(in2, NULL, NULL, NULL, m, sp, s, work, w8);
        segloss__distmap(NULL, out2, NULL, NULL, m, sp, s, work, w8);
        bad = memcmp(in, in2, (size_t)s * sizeof *in) || memcmp(out, out2, (size_t)s * sizeof *out);
        free(in2);
        free(out2);
    }
    free(in);
    free(out);
    free(work);
    free(w8);
    return !bad;
}

TEST(distmap_brute_force) {
    static const int64_t shapes[][4] = {
        {1, 1, 1, 1},  {1, 1, 1, 17}, {2, 1, 9, 13}, {2, 1, 31, 7},  {2, 1, 1, 40},
        {2, 1, 40, 1}, {2, 1, 33, 35}, {3, 5, 6, 7}, {3, 9, 1, 11},  {3, 12, 10, 3},
        {3, 1, 1, 9},  {3, 17, 13, 11}};
    static const int dens[] = {0, 1, 3, 50, 97, 99, 100};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int r = (int)shapes[k][0];
        segloss_shape sp = {r, {0}};
        int64_t d[3] = {1, 1, 1};
        for (int a = 0; a < r; a++) {
            sp.dim[a] = shapes[k][1 + 3 - r + a];
            d[3 - r + a] = sp.dim[a];
        }
        const int64_t s = d[0] * d[1] * d[2];
        uint8_t *m = malloc((size_t)s);
        for (size_t q = 0; q < sizeof dens / sizeof *dens; q++) {
            for (int64_t i = 0; i < s; i++) m[i] = (int)(rnd() % 100) < dens[q];
            CHECK(check_mask(m, &sp, d));
        }
        /* a few features on a sparse lattice, so whole lines and planes lack one */
        for (int64_t i = 0; i < s; i++) m[i] = i % 7 == 3 && rnd() % 3 == 0;
        CHECK(check_mask(m, &sp, d));
        free(m);
    }
}

/* A 1-D mask longer than 2^15 takes the double-precision path: checked
 * against the nearest 0 / 1 found by scanning both ways from each voxel. */
TEST(distmap_long_line) {
    const int64_t s = 40001;
    segloss_shape sp = {1, {s}};
    uint8_t *m = malloc((size_t)s), *w8 = malloc((size_t)s);
    double *in = malloc((size_t)s * sizeof *in), *out = malloc((size_t)s * sizeof *out);
    double *work = malloc((size_t)s * sizeof *work);
    for (int64_t i = 0; i < s; i++) m[i] = rnd() % 1000 < 3 ? 0 : 1;
    CHECK(segloss__distmap(in, out, NULL, NULL, m, &sp, s, work, w8) == SEGLOSS_OK);
    int bad = 0;
    for (int64_t i = 0; i < s && !bad; i += 7) {
        int64_t best = -1;
        for (int64_t r = 0; r < s && best < 0; r++)
            if ((i - r >= 0 && (m[i - r] != 0) != (m[i] != 0)) ||
                (i + r < s && (m[i + r] != 0) != (m[i] != 0)))
                best = r;
        const double e = best < 0 ? INFINITY : (double)best;
        bad = m[i] ? in[i] != e || out[i] != 0.0 : out[i] != e || in[i] != 0.0;
        if (bad) tf_fail(__FILE__, __LINE__, "voxel %lld: in %g out %g, expected %g",
                         (long long)i, in[i], out[i], e);
    }
    CHECK(!bad);
    free(m);
    free(w8);
    free(in);
    free(out);
    free(work);
}
