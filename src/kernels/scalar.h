/* Scalar reference element kernels, in double.
 *
 * These are the definitions every faster path is tested against. All are
 * written from e = exp(-|x|), which never overflows:
 *   sigmoid(x)  = 1/(1+e)        for x >= 0,   e/(1+e) for x < 0
 *   softplus(-x) = log1p(e) + max(-x, 0)     (= -ln sigmoid(x))
 * Accuracy: inputs are float32, the arithmetic is double (glibc exp/log1p
 * are < 1 ulp in double), so results rounded to float32 are correctly
 * rounded except in rare double-rounding cases (<= 0.5 ulp + 2^-29 ulp).
 * NaN propagates; +-inf give the limits (sigmoid 1/0, softplus(-x) 0/inf). */
#ifndef SEGLOSS_KERNELS_SCALAR_H
#define SEGLOSS_KERNELS_SCALAR_H

#include <math.h>

static inline double segloss__sigmoid_d(double x) {
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* -ln sigmoid(x) = ln(1 + exp(-x)), stable for all x. */
static inline double segloss__softplus_neg_d(double x) {
    double e = exp(-fabs(x));
    return log1p(e) + (x < 0 ? -x : 0.0);
}

#endif
