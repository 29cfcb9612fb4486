/* Softmax probabilities in double through the double kernel (softmax.h). */
#include "loss/softmax.h"

void segloss__softmax_probs_d(double *p, const float *xn, int64_t c, int64_t s) {
    segloss_vec_softmax_d_fn sm = segloss__softmax_d_kernel();
    double r[256];
    for (int64_t s0 = 0; s0 < s; s0 += 256) {
        int64_t len = s - s0 < 256 ? s - s0 : 256;
        sm(p + s0, s, r, NULL, xn + s0, s, c, len);
        for (int64_t i = 0; i < len; i++) r[i] = 1.0 / r[i];
        for (int64_t k = 0; k < c; k++) {
            double *pk = p + k * s + s0;
            for (int64_t i = 0; i < len; i++) pk[i] *= r[i];
        }
    }
}
