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
 * where tied positions have different gradients). The value is the sum of
 * the selected l_i in double (index order) divided by K; the gradient is
 * segloss_ce's SUM backward with every unselected (and ignored) position
 * ignored, divided by K, computed on the selected positions alone;
 * forward_backward does both from one selection. K = 0 gives NaN (torch's
 * mean of nothing) and a zero gradient. The reduction is always this
 * mean. */
#include "core/target.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

segloss_topk_ce_opts segloss_topk_ce_opts_default(void) {
    segloss_topk_ce_opts o = {.ce = segloss_ce_opts_default(), .k = 10.0};
    return o;
}

/* Selection is O(M) and branch-free: a radix select on order-preserving
 * 32-bit keys of the float32 losses (-0 as +0, then the sign bit flipped
 * for positives and all bits for negatives: key order is float order, and
 * equal floats have equal keys), 11 + 11 + 10 bits: a histogram of the
 * candidates' digit, the bin holding the wanted rank, the candidates of
 * that bin moved to the front. */
static uint32_t float_key(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = u == 0x80000000u ? 0u : u;
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

static float key_float(uint32_t k) {
    uint32_t u = k & 0x80000000u ? k & 0x7fffffffu : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The key of rank r (0 = largest) among n keys (reordered in place), and
 * in *above the number of keys greater than it. */
static uint32_t rank_key(uint32_t *key, int64_t n, int64_t r, int64_t *above) {
    static const int shift[3] = {21, 10, 0}, width[3] = {11, 11, 10};
    uint32_t prefix = 0;
    int64_t hist[2048], r0 = r;
    for (int pass = 0; pass < 3; pass++) {
        const int sh = shift[pass];
        const uint32_t bins = 1u << width[pass], dm = bins - 1;
        memset(hist, 0, bins * sizeof *hist);
        for (int64_t i = 0; i < n; i++) hist[(key[i] >> sh) & dm]++;
        uint32_t b = bins - 1; /* from the largest digit down */
        while (hist[b] <= r) r -= hist[b--];
        prefix |= b << sh;
        if (pass == 2) break;
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t v = key[i];
            key[m] = v;
            m += ((v >> sh) & dm) == b;
        }
        n = m;
    }
    *above = r0 - r;
    return prefix;
}

/* The K largest of the float32 losses (float)l[i] in the order NaN first
 * (torch.topk ranks NaN as the largest), then larger values, then the
 * lower index: sel[i] = -1 for every other position (ignored ones are -1
 * already). Returns the number of selected positions with a class (not
 * ignored), their sum of l[i] in index order in *sum, and their indices in
 * at[] (k + 1 entries) when at is not NULL. scratch: m keys. */
static int64_t select_top(double *sum, int64_t *at, int64_t *sel, const double *l,
                          uint32_t *scratch, int64_t m, int64_t k) {
    int64_t nan = 0, n = 0;
    for (int64_t i = 0; i < m; i++) {
        float v = (float)l[i];
        int64_t is_nan = v != v;
        scratch[n] = float_key(v);
        n += !is_nan;
        nan += is_nan;
    }
    /* the NaNs in index order, then the values above the K-th, then the
     * positions equal to it in index order */
    int64_t want = k - nan, take_eq = 0, some = want > 0;
    float thr = INFINITY;
    if (some) {
        int64_t above;
        thr = key_float(rank_key(scratch, n, want - 1, &above));
        take_eq = want - above;
    }
    /* without branches: which positions are kept is data, not a pattern */
    int64_t nan_left = k < nan ? k : nan, got = 0;
    double s = 0.0; /* never -0: adding 0.0 changes no bit */
    for (int64_t i = 0; i < m; i++) {
        float v = (float)l[i];
        int64_t kn = (v != v) & (nan_left > 0), ke = (v == thr) & (take_eq > 0);
        nan_left -= kn;
        take_eq -= ke;
        int64_t y = (kn | ((v > thr) & some) | ke) ? sel[i] : -1;
        sel[i] = y;
        s += y >= 0 ? l[i] : 0.0;
        if (at) at[got] = i;
        got += y >= 0;
    }
    *sum = s;
    return got;
}

/* The gradient of segloss_ce SUM times up over the ks positions at[] (the
 * others: 0), computed on those positions alone: their logits gathered
 * into a (1, C, ks) problem, segloss_ce_backward on it, the result
 * scattered back. The same bits as the backward over all M positions with
 * the others ignored: every position's gradient is a function of its own
 * logits, class and the options alone (the kernels give a lane the same
 * result wherever it sits). */
static segloss_status sparse_backward(float *grad, const float *x, const int64_t *sel,
                                      const int64_t *at, int64_t ks, int64_t c, int64_t s,
                                      int64_t numel, segloss_ce_opts *ce, float up) {
    memset(grad, 0, (size_t)numel * sizeof *grad);
    if (ks == 0) return SEGLOSS_OK; /* K = 0, or everything ignored */
    float *xs = malloc((size_t)(2 * c * ks) * sizeof *xs + (size_t)(2 * ks) * sizeof(int64_t));
    if (!xs) return SEGLOSS_ERR_NOMEM;
    float *gs = xs + c * ks;
    int64_t *ts = (int64_t *)(gs + c * ks), *e0 = ts + ks;
    for (int64_t j = 0; j < ks; j++) {
        int64_t i = at[j];
        e0[j] = (i / s) * c * s + i % s; /* class 0's element of position i */
        ts[j] = sel[i];
        for (int64_t q = 0; q < c; q++) xs[q * ks + j] = x[e0[j] + q * s];
    }
    segloss_shape sh = {3, {1, c, ks}};
    segloss_target tt = {ts, SEGLOSS_I64};
    ce->reduction = SEGLOSS_REDUCTION_SUM;
    ce->ignore_index = -1;
    segloss_status st = segloss_ce_backward(gs, xs, &tt, &sh, ce, &up);
    for (int64_t j = 0; st == SEGLOSS_OK && j < ks; j++)
        for (int64_t q = 0; q < c; q++) grad[e0[j] + q * s] = gs[q * ks + j];
    free(xs);
    return st;
}

/* One training step's work: the position losses in double and their
 * classes (one softmax pass), the selection on their float32 values with
 * the sum of the selected losses in index order / K as the loss (no second
 * CE pass), and/or the gradient as segloss_ce's SUM backward over the
 * selected positions (the others 0), times upstream / K. The arrays of M
 * positions are one allocation. */
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
    int64_t k = (int64_t)floor((double)m * o->k / 100.0);
    size_t mm = (size_t)(m > 0 ? m : 1), ka = grad ? (size_t)k + 1 : 0;
    double *ld = malloc(mm * (sizeof(double) + sizeof(int64_t) + sizeof(uint32_t)) +
                        ka * sizeof(int64_t));
    if (!ld) return SEGLOSS_ERR_NOMEM;
    int64_t *sel = (int64_t *)(ld + mm), *at = grad ? sel + mm : NULL;
    uint32_t *scratch = (uint32_t *)(sel + mm + ka);
    segloss_ce_opts ce = o->ce;
    if ((st = segloss__ce_losses(ld, sel, x, t, shape, &ce)) != SEGLOSS_OK) goto done;
    double sum;
    int64_t ks = select_top(&sum, at, sel, ld, scratch, m, k);
    if (loss) *loss = k > 0 ? sum / (double)k : NAN;
    if (grad) {
        float up = (float)((grad_out ? grad_out[0] : 1.0) / (double)(k > 0 ? k : 1));
        int64_t s = m / (shape->ndim >= 2 ? shape->dim[0] : 1);
        st = sparse_backward(grad, x, sel, at, ks, c, s, numel, &ce, up);
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
