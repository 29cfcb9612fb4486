/* Dense linear assignment, exact: the shortest-augmenting-path Hungarian
 * method with potentials, O(n^2 m) for an n x m cost matrix (n <= m),
 * minimising the total cost. Used by the instance matching (matching.c) on
 * the blocks of its candidate graph. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

segloss_status segloss__hungarian(int64_t *row_of_col, const double *a, int64_t n, int64_t m) {
    double *u = calloc((size_t)n + 1, sizeof *u), *v = calloc((size_t)m + 1, sizeof *v);
    double *minv = malloc(((size_t)m + 1) * sizeof *minv);
    int64_t *way = calloc((size_t)m + 1, sizeof *way);
    uint8_t *used = malloc((size_t)m + 1);
    segloss_status st = SEGLOSS_OK;
    if (!u || !v || !minv || !way || !used) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    for (int64_t j = 0; j <= m; j++) row_of_col[j] = 0;
    for (int64_t i = 1; i <= n; i++) {
        row_of_col[0] = i;
        int64_t j0 = 0;
        for (int64_t j = 0; j <= m; j++) {
            minv[j] = HUGE_VAL;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            const int64_t i0 = row_of_col[j0];
            double delta = HUGE_VAL;
            int64_t j1 = 0;
            for (int64_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int64_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[row_of_col[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (row_of_col[j0] != 0);
        do {
            int64_t j1 = way[j0];
            row_of_col[j0] = row_of_col[j1];
            j0 = j1;
        } while (j0);
    }
done:
    free(u);
    free(v);
    free(minv);
    free(way);
    free(used);
    return st;
}
