/* Sigmoid forward/backward and the logit-threshold rule (logit >= 0 is foreground, i.e. sigmoid >= 0.5). */
#include "core/internal.h"
#include "kernels/vec.h"

#include <math.h>

/* Elements per parallel work item of the forward. */
#define SIGMOID_CHUNK (8 * SEGLOSS_BLOCK)

typedef struct sigmoid_ctx {
    float *out;
    const float *x;
    int64_t n;
    const segloss_vec_ops *ops;
} sigmoid_ctx;

static segloss_status sigmoid_item(void *ctx, int64_t k) {
    const sigmoid_ctx *c = ctx;
    int64_t lo = k * SIGMOID_CHUNK, len = c->n - lo < SIGMOID_CHUNK ? c->n - lo : SIGMOID_CHUNK;
    c->ops->sigmoid(c->out + lo, c->x + lo, len);
    return SEGLOSS_OK;
}

/* The float32 kernel of kernels/vec.h (<= 1.49 ulp from the exact value,
 * AVX2 or portable path); element-wise, so the thread count cannot change
 * a bit. */
segloss_status segloss_sigmoid_forward(float *out, const float *x, int64_t n) {
    if (!out || !x) return SEGLOSS_ERR_NULL;
    if (n < 0) return SEGLOSS_ERR_ARG;
    sigmoid_ctx c = {out, x, n, segloss__vec_ops()};
    return segloss__for_items((n + SIGMOID_CHUNK - 1) / SIGMOID_CHUNK, sigmoid_item, &c);
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
