/* 2-D skeleton exactly as scikit-image 0.19.3's `skeletonize` computes it
 * (skimage/morphology/_skeletonize_cy.pyx, _fast_skeletonize): parallel
 * thinning in the manner of Zhang and Suen (1984) with skimage's own
 * look-up table (skeleton_table.h, generated from its source by
 * tools/gen_skeleton_lut.py; it is not the textbook table).
 *
 * The image has a zero border of one pixel. Each iteration makes two
 * sub-passes; in sub-pass s (1 or 2) every foreground pixel whose
 * neighbourhood code
 *   c = 1*NW + 2*N + 4*NE + 8*E + 16*SE + 32*S + 64*SW + 128*W
 * (N = the row above, W = the column to the left) has lut[c] == s or
 * lut[c] == 3 is removed, all of them decided on the image as it was when
 * the sub-pass began (a parallel step: the visiting order does not
 * matter). Iterations repeat until one removes nothing.
 *
 * Cost. A pixel whose 8 neighbours are all foreground has code 255, which
 * the table keeps, so only pixels next to the background are visited: the
 * list of such pixels is rebuilt after each sub-pass from the old list and
 * the neighbours of the removed pixels, so the work per sub-pass is the
 * length of the object's boundary, not the box. */
#include "metric/metric.h"

#include <stdlib.h>

#include "metric/skeleton_table.h"

/* Neighbourhood code of pixel i in a row-major image with row length w. */
static inline unsigned code8(const uint8_t *im, int64_t i, int64_t w) {
    return (unsigned)im[i - w - 1] | (unsigned)im[i - w] << 1 | (unsigned)im[i - w + 1] << 2 |
           (unsigned)im[i + 1] << 3 | (unsigned)im[i + w + 1] << 4 | (unsigned)im[i + w] << 5 |
           (unsigned)im[i + w - 1] << 6 | (unsigned)im[i - 1] << 7;
}

/* Appends x to the growable array *a of *n entries (capacity *cap);
 * -1 if out of memory. */
static int push(int64_t **a, int64_t *n, int64_t *cap, int64_t x) {
    if (*n == *cap) {
        const int64_t c = *cap ? 2 * *cap : 64;
        int64_t *t = realloc(*a, (size_t)c * sizeof *t);
        if (!t) return -1;
        *a = t;
        *cap = c;
    }
    (*a)[(*n)++] = x;
    return 0;
}

segloss_status segloss__skeleton2d(uint8_t *im, int64_t h, int64_t w) {
    const int64_t n = h * w;
    /* mark: 1 = in the list; list: foreground pixels next to background */
    uint8_t *mark = calloc((size_t)n, 1);
    int64_t *list = NULL, len = 0, cap = 0;
    int64_t *del = NULL, ndel = 0, capdel = 0;
    if (!mark) goto nomem;
    for (int64_t r = 1; r + 1 < h; r++)
        for (int64_t c = 1; c + 1 < w; c++) {
            const int64_t i = r * w + c;
            if (!im[i] || code8(im, i, w) == 255u) continue;
            if (push(&list, &len, &cap, i)) goto nomem;
            mark[i] = 1;
        }
    for (int removed = 1; removed;) {
        removed = 0;
        for (unsigned pass = 1; pass <= 2; pass++) {
            ndel = 0;
            for (int64_t k = 0; k < len; k++) {
                const unsigned v = skel2d_lut[code8(im, list[k], w)];
                if ((v == pass || v == 3) && push(&del, &ndel, &capdel, list[k])) goto nomem;
            }
            if (ndel == 0) continue;
            removed = 1;
            for (int64_t k = 0; k < ndel; k++) {
                im[del[k]] = 0;
                mark[del[k]] = 0;
            }
            /* the list: survivors, plus the foreground neighbours of the
             * removed pixels that were not in it (they now touch the
             * background); order does not matter for a parallel step */
            int64_t j = 0;
            for (int64_t k = 0; k < len; k++)
                if (im[list[k]]) list[j++] = list[k];
            len = j;
            for (int64_t k = 0; k < ndel; k++) {
                const int64_t i = del[k];
                const int64_t nb[8] = {i - w - 1, i - w, i - w + 1, i - 1,
                                       i + 1,     i + w - 1, i + w, i + w + 1};
                for (int t = 0; t < 8; t++) {
                    const int64_t q = nb[t];
                    if (!im[q] || mark[q]) continue;
                    if (push(&list, &len, &cap, q)) goto nomem;
                    mark[q] = 1;
                }
            }
        }
    }
    free(mark);
    free(list);
    free(del);
    return SEGLOSS_OK;
nomem:
    free(mark);
    free(list);
    free(del);
    return SEGLOSS_ERR_NOMEM;
}
