/* Sigmoid forward/backward and the logit-threshold rule (SPEC §1). */
#include "core/internal.h"
#include "kernels/scalar.h"

segloss_status segloss_sigmoid_forward(float *out, const float *x, int64_t n) {
    if (!out || !x) return SEGLOSS_ERR_NULL;
    if (n < 0) return SEGLOSS_ERR_ARG;
    for (int64_t i = 0; i < n; i++) out[i] = (float)segloss__sigmoid_d(x[i]);
    return SEGLOSS_OK;
}

/* torch.sigmoid backward: grad_in = grad_out * y * (1 - y), y the output. */
segloss_status segloss_sigmoid_backward(float *grad_in, const float *grad_out, const float *y,
                                        int64_t n) {
    if (!grad_in || !grad_out || !y) return SEGLOSS_ERR_NULL;
    if (n < 0) return SEGLOSS_ERR_ARG;
    for (int64_t i = 0; i < n; i++) {
        double yi = y[i];
        grad_in[i] = (float)((double)grad_out[i] * yi * (1.0 - yi));
    }
    return SEGLOSS_OK;
}

segloss_status segloss_threshold_logits(uint8_t *mask, const float *x, int64_t n,
                                        double logit_threshold) {
    if (!mask || !x) return SEGLOSS_ERR_NULL;
    if (n < 0 || isnan(logit_threshold)) return SEGLOSS_ERR_ARG;
    for (int64_t i = 0; i < n; i++) mask[i] = (double)x[i] >= logit_threshold ? 1 : 0;
    return SEGLOSS_OK;
}

double segloss_prob_to_logit_threshold(double t) {
    if (!(t >= 0.0 && t <= 1.0)) return NAN;
    if (t == 0.0) return -INFINITY;
    if (t == 1.0) return INFINITY;
    return log(t) - log1p(-t);
}
