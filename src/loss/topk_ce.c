/* Top-k cross-entropy — nnU-Net TopKLoss — forward and backward.
 *
 * Per position i (pixel of image n), l_i is torch CrossEntropyLoss's
 * unreduced loss (segloss_ce: class weights, label smoothing, ignore_index
 * with l_i = 0 there). With M positions (ignored ones included, as
 * nnU-Net counts them) and K = floor(M * k / 100) (nnU-Net's
 * int(num_voxels * k / 100) in double):
 *   loss = (1/K) sum of the K largest l_i
 *   dl/dx = (1/K) sum over the selected i of d l_i / dx
 * Selection: the K largest float32 l_i (segloss_ce's NONE output), ties
 * broken by the lower flat index (torch.topk picks among equal values in an
 * unspecified order; the value does not depend on it, the gradient only
 * where tied positions have different gradients). The value and gradient
 * are then the sum of the selected l_i in double (index order) and
 * segloss_ce's SUM backward over a copy of the target whose unselected
 * (and ignored) positions hold -1, the ignore value of that call, divided
 * by K; forward_backward does both from one selection. K = 0 gives NaN (torch's mean of nothing) and a zero
 * gradient. The reduction is always this mean. */
#include "core/target.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdlib.h>

segloss_topk_ce_opts segloss_topk_ce_opts_default(void) {
    segloss_topk_ce_opts o = {.ce = segloss_ce_opts_default(), .k = 10.0};
    return o;
}

/* Sorting a copy of v[lo, hi) would do; selecting is O(M): partial
 * quickselect (Hoare partition around a median of three) for the value of
 * rank r (0 = largest) among n finite-or-inf floats, in place. After
 * 2 log2(n) + 16 rounds without converging (an adversarial order) it sorts
 * what is left. */
static int by_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static float rank_value(float *v, int64_t n, int64_t r) {
    int64_t lo = 0, hi = n - 1, budget = 16;
    for (int64_t t = n; t > 1; t >>= 1) budget += 2;
    while (lo < hi) {
        if (budget-- == 0) {
            qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, by_desc);
            return v[r];
        }
        int64_t mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi];
        float p = (a > b) == (b > c) ? b : (a > b) == (c > a) ? a : c; /* median of three */
        int64_t i = lo, j = hi;
        while (i <= j) { /* descending: larger values to the left */
            while (v[i] > p) i++;
            while (v[j] < p) j--;
            if (i <= j) {
                float tmp = v[i];
                v[i++] = v[j];
                v[j--] = tmp;
            }
        }
        if (r <= j) hi = j;
        else if (r >= i) lo = i;
        else return v[r]; /* between the two parts: equal to the pivot */
    }
    return v[r];
}

/* sel[i] = -1 for every position i not among the K largest l_i, in the
 * order NaN first (torch.topk ranks NaN as the largest), then larger
 * values, then the lower index; the others keep their target. scratch:
 * m floats. */
static void keep_top(int64_t *sel, const float *l, float *scratch, int64_t m, int64_t k) {
    int64_t nan = 0, n = 0;
    for (int64_t i = 0; i < m; i++) {
        if (isnan(l[i])) nan++;
        else scratch[n++] = l[i];
    }
    /* the NaNs in index order, then the values above the K-th, then the
     * positions equal to it in index order */
    int64_t want = k - nan, take_eq = 0;
    float thr = INFINITY;
    if (want > 0) {
        thr = rank_value(scratch, n, want - 1);
        int64_t above = 0;
        for (int64_t i = 0; i < m; i++) above += l[i] > thr;
        take_eq = want - above;
    }
    int64_t nan_left = k < nan ? k : nan;
    for (int64_t i = 0; i < m; i++) {
        int keep;
        if (isnan(l[i])) keep = nan_left > 0 ? (nan_left--, 1) : 0;
        else if (want <= 0) keep = 0;
        else if (l[i] > thr) keep = 1;
        else if (l[i] == thr && take_eq > 0) keep = (take_eq--, 1);
        else keep = 0;
        if (!keep) sel[i] = -1; /* ignored ones are -1 already */
    }
}

/* One training step's work: the position losses in double (one softmax
 * pass), the selection on their float32 values, then the loss as the sum
 * of the selected losses in index order / K (no second CE pass) and/or the
 * gradient as segloss_ce's SUM backward over a copy of the target whose
 * unselected (and ignored) positions hold -1, times upstream / K. The four
 * arrays of M positions are one allocation. */
static segloss_status topk_run(double *loss, float *grad, const float *x,
                               const segloss_target *t, const segloss_shape *shape,
                               const segloss_topk_ce_opts *o, const float *grad_out) {
    segloss_topk_ce_opts def = segloss_topk_ce_opts_default();
    if (!o) o = &def;
    if (!(o->k >= 0.0 && o->k <= 100.0)) return SEGLOSS_ERR_ARG;
    if (!shape || !t) return SEGLOSS_ERR_NULL;
    int64_t numel;
    segloss_status st = segloss_shape_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    /* positions: the target's element count, the input's without axis 1 */
    int64_t c = shape->ndim >= 2 ? shape->dim[1] : shape->ndim == 1 ? shape->dim[0] : 1;
    int64_t m = c > 0 ? numel / c : 0;
    size_t mm = (size_t)(m > 0 ? m : 1);
    double *ld = malloc(mm * (sizeof(double) + sizeof(int64_t) + 2 * sizeof(float)));
    if (!ld) return SEGLOSS_ERR_NOMEM;
    int64_t *sel = (int64_t *)(ld + mm);
    float *l = (float *)(sel + mm), *scratch = l + mm;
    segloss_ce_opts ce = o->ce;
    if ((st = segloss__ce_losses(ld, x, t, shape, &ce)) != SEGLOSS_OK ||
        (st = segloss__decode_index(sel, NULL, NULL, NULL, t, 0, m, c, o->ce.ignore_index)) !=
            SEGLOSS_OK)
        goto done;
    for (int64_t i = 0; i < m; i++) l[i] = (float)ld[i];
    int64_t k = (int64_t)floor((double)m * o->k / 100.0);
    keep_top(sel, l, scratch, m, k);
    if (loss) {
        double sum = 0.0;
        for (int64_t i = 0; i < m; i++)
            if (sel[i] >= 0) sum += ld[i];
        *loss = k > 0 ? sum / (double)k : NAN;
    }
    if (grad) {
        segloss_target ts = {sel, SEGLOSS_I64};
        ce.reduction = SEGLOSS_REDUCTION_SUM;
        ce.ignore_index = -1;
        /* K = 0: every position is -1 (ignored), so the gradient is 0 */
        float up = (float)((grad_out ? grad_out[0] : 1.0) / (double)(k > 0 ? k : 1));
        st = segloss_ce_backward(grad, x, &ts, shape, &ce, &up);
    }
done:
    free(ld);
    return st;
}

segloss_status segloss_topk_ce_forward(double *loss, const float *x, const segloss_target *target,
                                       const segloss_shape *shape,
                                       const segloss_topk_ce_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return topk_run(loss, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_topk_ce_backward(float *grad, const float *x, const segloss_target *target,
                                        const segloss_shape *shape,
                                        const segloss_topk_ce_opts *opts, const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return topk_run(NULL, grad, x, target, shape, opts, grad_out);
}

segloss_status segloss_topk_ce_forward_backward(double *loss, float *grad, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_topk_ce_opts *opts,
                                                const float *grad_out) {
    if (!loss || !grad) return SEGLOSS_ERR_NULL;
    return topk_run(loss, grad, x, target, shape, opts, grad_out);
}
