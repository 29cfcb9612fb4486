/* Percentiles by selection, bit-compatible with numpy.percentile's default
 * 'linear' method (NumPy >= 1.22):
 *   q = p/100, v = (n-1)*q, i = floor(v), g = v - i,
 *   a = x_(i), b = x_(min(i+1, n-1))   (order statistics, 0-based)
 *   result = g < 0.5 ? a + (b-a)*g : b - (b-a)*(1-g)     (numpy's _lerp)
 * x_(i) comes from a quickselect with three-way partitioning (distance
 * lists are full of ties), x_(i+1) is then the minimum of the upper part. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline void swapd(double *x, int64_t i, int64_t j) {
    double t = x[i];
    x[i] = x[j];
    x[j] = t;
}

void segloss__select(double *x, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1; /* inclusive range still holding rank k */
    int budget = 16;            /* partitions allowed before sorting instead */
    for (int64_t m = n; m > 1; m >>= 1) budget += 2;
    while (hi > lo) {
        if (budget-- == 0) {
            qsort(x + lo, (size_t)(hi - lo + 1), sizeof *x, cmp_double);
            return;
        }
        double a = x[lo], b = x[lo + (hi - lo) / 2], c = x[hi];
        double pv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* Dijkstra's three-way partition: [lo,lt) < pv, [lt,gt] == pv, (gt,hi] > pv */
        int64_t lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            if (x[i] < pv) swapd(x, lt++, i++);
            else if (x[i] > pv) swapd(x, i, gt--);
            else i++;
        }
        if (k < lt) hi = lt - 1;
        else if (k > gt) lo = gt + 1;
        else return;
    }
}

double segloss__percentile(double *x, int64_t n, double p) {
    double q = p / 100.0;
    double v = (double)(n - 1) * q;
    double fl = floor(v);
    int64_t i = (int64_t)fl;
    if (i < 0) i = 0;
    if (i > n - 1) i = n - 1;
    double g = v - (double)i;
    segloss__select(x, n, i);
    double a = x[i], b = a;
    if (i + 1 < n) {
        b = x[i + 1];
        for (int64_t j = i + 2; j < n; j++)
            if (x[j] < b) b = x[j];
    }
    double diff = b - a;
    return g >= 0.5 ? b - diff * (1.0 - g) : a + diff * g;
}

segloss_status segloss_percentile_inplace(double *result, double *values, int64_t n, double p) {
    if (!result || !values) return SEGLOSS_ERR_NULL;
    if (n < 1) return SEGLOSS_ERR_EMPTY;
    if (!(p >= 0.0 && p <= 100.0)) return SEGLOSS_ERR_ARG;
    for (int64_t i = 0; i < n; i++)
        if (isnan(values[i])) return SEGLOSS_ERR_NONFINITE;
    *result = segloss__percentile(values, n, p);
    return SEGLOSS_OK;
}
