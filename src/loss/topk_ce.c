/* Top-k cross-entropy — nnU-Net TopKLoss — forward and backward.
 *
 * Per position i (pixel of image n), l_i is torch CrossEntropyLoss's
 * unreduced loss (segloss_ce: class weights, label smoothing, ignore_index
 * with l_i = 0 there). With M positions (ignored ones included, as
 * nnU-Net counts them) and K = floor(M * k / 100) (nnU-Net's
 * int(num_voxels * k / 100) in double):
 *   loss = (1/K) sum of the K largest l_i
 * Backward: dl/dx = (1/K) sum over the selected i of d l_i / dx, i.e.
 * segloss_ce_backward (NONE) with upstream 1/K on the selected positions
 * and 0 elsewhere. Selection: the K largest values, ties broken by the
 * lower flat index (torch.topk picks among equal values in an unspecified
 * order; the value does not depend on it, the gradient only where tied
 * positions have different gradients). K = 0 gives NaN (torch's mean of
 * nothing) and a zero gradient. The reduction is always this mean. */
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>

segloss_topk_ce_opts segloss_topk_ce_opts_default(void) {
    segloss_topk_ce_opts o = {.ce = segloss_ce_opts_default(), .k = 10.0};
    return o;
}

typedef struct ranked {
    float v;
    int64_t i;
} ranked;

static int by_value_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    /* NaN first (torch.topk ranks NaN as the largest), then larger values,
     * then the lower index */
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn ? -1 : 1;
    if (!xn && x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The per-position losses and the upstream array of the selection:
 * up[i] = scale/K on the K largest, 0 elsewhere. *kk = K, *sum = the sum
 * of the selected losses (in rank order). */
static segloss_status topk_select(float *up, int64_t *kk, double *sum, const float *x,
                                  const segloss_target *t, const segloss_shape *shape,
                                  const segloss_topk_ce_opts *o, double scale) {
    if (!(o->k >= 0.0 && o->k <= 100.0)) return SEGLOSS_ERR_ARG;
    segloss_ce_opts ce = o->ce;
    ce.reduction = SEGLOSS_REDUCTION_NONE;
    if (!shape) return SEGLOSS_ERR_NULL;
    int64_t numel;
    segloss_status st = segloss_shape_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    /* positions: the target's element count, the input's without axis 1 */
    int64_t c = shape->ndim >= 2 ? shape->dim[1] : shape->ndim == 1 ? shape->dim[0] : 1;
    int64_t m = c > 0 ? numel / c : 0;
    float *l = malloc((size_t)(m > 0 ? m : 1) * sizeof *l);
    ranked *rk = malloc((size_t)(m > 0 ? m : 1) * sizeof *rk);
    if (!l || !rk) {
        free(l);
        free(rk);
        return SEGLOSS_ERR_NOMEM;
    }
    double dummy;
    st = segloss_ce_forward(&dummy, l, x, t, shape, &ce);
    if (st == SEGLOSS_OK) {
        int64_t k = (int64_t)floor((double)m * o->k / 100.0);
        for (int64_t i = 0; i < m; i++) {
            rk[i].v = l[i];
            rk[i].i = i;
        }
        qsort(rk, (size_t)m, sizeof *rk, by_value_desc);
        double s = 0.0;
        for (int64_t j = 0; j < k; j++) s += rk[j].v;
        if (up) {
            for (int64_t i = 0; i < m; i++) up[i] = 0.0f;
            for (int64_t j = 0; j < k; j++) up[rk[j].i] = (float)(scale / (double)k);
        }
        *kk = k;
        *sum = s;
    }
    free(l);
    free(rk);
    return st;
}

segloss_status segloss_topk_ce_forward(double *loss, const float *x, const segloss_target *target,
                                       const segloss_shape *shape,
                                       const segloss_topk_ce_opts *opts) {
    segloss_topk_ce_opts def = segloss_topk_ce_opts_default();
    if (!opts) opts = &def;
    if (!loss) return SEGLOSS_ERR_NULL;
    int64_t k = 0;
    double s = 0.0;
    segloss_status st = topk_select(NULL, &k, &s, x, target, shape, opts, 1.0);
    if (st == SEGLOSS_OK) *loss = k > 0 ? s / (double)k : NAN;
    return st;
}

segloss_status segloss_topk_ce_backward(float *grad, const float *x, const segloss_target *target,
                                        const segloss_shape *shape,
                                        const segloss_topk_ce_opts *opts, const float *grad_out) {
    segloss_topk_ce_opts def = segloss_topk_ce_opts_default();
    if (!opts) opts = &def;
    if (!grad || !shape) return SEGLOSS_ERR_NULL;
    int64_t numel, c = shape->ndim >= 2 ? shape->dim[1] : shape->ndim == 1 ? shape->dim[0] : 1;
    segloss_status st = segloss_shape_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    int64_t m = c > 0 ? numel / c : 0;
    float *up = malloc((size_t)(m > 0 ? m : 1) * sizeof *up);
    if (!up) return SEGLOSS_ERR_NOMEM;
    int64_t k = 0;
    double s = 0.0;
    st = topk_select(up, &k, &s, x, target, shape, opts, grad_out ? grad_out[0] : 1.0);
    if (st == SEGLOSS_OK) {
        segloss_ce_opts ce = opts->ce;
        ce.reduction = SEGLOSS_REDUCTION_NONE;
        st = segloss_ce_backward(grad, x, target, shape, &ce, up);
    }
    free(up);
    return st;
}
