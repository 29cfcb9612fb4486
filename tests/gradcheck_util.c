/* Shared helpers of the finite-difference gradient checks: see
 * gradcheck_util.h. */
#include "gradcheck_util.h"

#include "refdata.h"

#include <math.h>

double gcu_uniform53(uint64_t *state) { return (double)(ref_splitmix64(state) >> 11) * 0x1p-53; }

int64_t gcu_bcast_offset(const segloss_shape *full, const segloss_shape *a, int64_t i) {
    int64_t off = 0, stride = 1;
    int shift = full->ndim - a->ndim;
    for (int d = full->ndim - 1; d >= 0; d--) {
        int64_t idx = i % full->dim[d];
        i /= full->dim[d];
        if (d >= shift) {
            int64_t ad = a->dim[d - shift];
            if (ad != 1) off += idx * stride;
            stride *= ad;
        }
    }
    return off;
}

double gcu_central_diff(gcu_objective f, const void *ctx, double *xs, int64_t i, double h) {
    double x0 = xs[i];
    xs[i] = x0 + h;
    double fp = f(ctx, xs);
    xs[i] = x0 - h;
    double fm = f(ctx, xs);
    xs[i] = x0;
    return (fp - fm) / (2 * h);
}

double gcu_max_err(const float *g, const double *fd, const int *skip, int64_t n, int64_t *at,
                   int64_t *checked) {
    double maxerr = 0;
    int64_t count = 0;
    *at = -1;
    for (int64_t i = 0; i < n; i++) {
        if (skip ? skip[i] != 0 : isnan(fd[i])) continue;
        count++;
        double e = fabs((double)g[i] - fd[i]);
        if (!(e <= maxerr)) {
            maxerr = e;
            *at = i;
        }
    }
    if (checked) *checked = count;
    return maxerr;
}
