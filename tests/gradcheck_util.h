/* Shared helpers of the finite-difference gradient checks
 * (test_gradcheck.c, test_element_gradcheck.c, test_region_gradcheck.c):
 * the splitmix64 input generator, broadcast offsets, the central
 * difference and the max-error comparison of a gradient with it. */
#ifndef SEGLOSS_TESTS_GRADCHECK_UTIL_H
#define SEGLOSS_TESTS_GRADCHECK_UTIL_H
#include <segloss.h>

#include <stdint.h>

/* Next splitmix64 value of *state as a uniform in [0, 1) (53 bits). */
double gcu_uniform53(uint64_t *state);

/* Flat offset into a right-aligned broadcast operand a for flat index i of
 * the full shape. */
int64_t gcu_bcast_offset(const segloss_shape *full, const segloss_shape *a, int64_t i);

/* The objective F at inputs xs. */
typedef double (*gcu_objective)(const void *ctx, const double *xs);

/* (F(x + h e_i) - F(x - h e_i)) / 2h; xs[i] is restored afterwards. */
double gcu_central_diff(gcu_objective f, const void *ctx, double *xs, int64_t i, double h);

/* max |g[i] - fd[i]| over the points compared: those with skip[i] == 0, or
 * (skip NULL) those where fd[i] is not NaN. *at: the index of the maximum
 * (-1 when none); *checked (may be NULL): the number of points compared. */
double gcu_max_err(const float *g, const double *fd, const int *skip, int64_t n, int64_t *at,
                   int64_t *checked);

#endif
