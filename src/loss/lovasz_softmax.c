/* Lovasz-softmax — smp LovaszLoss in "multiclass" mode
 * (segmentation_models_pytorch/losses/lovasz.py: _lovasz_softmax,
 * _lovasz_softmax_flat, _lovasz_grad, _flatten_probas with
 * classes="present"), forward and backward.
 *
 * Input (N, C, spatial...) logits, C >= 2; target (N, spatial...) class
 * indices. p = softmax over axis 1 (in double). Items: the whole batch, or
 * one image each with per_image. Per item, over its pixels whose label is
 * not the ignore value (P of them), for each class c present among them:
 *   fg_i = [label_i == c],  e_i = |fg_i - p_ic|
 *   order e decreasingly (ties: lower pixel index first, a total order)
 *   G = sum fg,  F_k = fg_(1) + ... + fg_(k)
 *   J_k = 1 - (G - F_k) / (G + k - F_k),  g_k = J_k - J_(k-1),  J_0 = 0
 *   loss_c = sum_k e_(k) g_k
 * item loss = mean of loss_c over the present classes (0 when none, e.g.
 * every pixel ignored: smp's mean of nothing, and its void-pixel case).
 * Backward: d loss_c / d p_(k)c = g_k sign(p - fg) (0 at p == fg, torch's
 * abs), divided by the number of present classes, then through the
 * softmax: dL/dx_j = p_j (G_j - sum_c p_c G_c). MEAN over items (smp's
 * per_image mean), SUM, NONE (one value per item). Logits must be finite
 * (SEGLOSS_ERR_NONFINITE): they are sorted. Serial, in a fixed order. */
#include "core/target.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ls_key {
    double e;
    int64_t i;
} ls_key;

static int ls_desc(const void *a, const void *b) {
    const ls_key *u = a, *v = b;
    if (u->e > v->e) return -1;
    if (u->e < v->e) return 1;
    return u->i < v->i ? -1 : u->i > v->i;
}

/* Sorts key[0..n) by e decreasing, ties by i increasing: a stable LSD
 * radix sort (11-bit digits, 6 passes) of the bits of e (>= 0, finite, so its bit
 * pattern orders as an unsigned integer) complemented, from an array in
 * increasing i. Digits that every key shares are skipped. tmp: n keys. */
static uint64_t ls_bits(double e) {
    uint64_t b;
    memcpy(&b, &e, sizeof b);
    return ~b;
}

static void ls_sort(ls_key *key, ls_key *tmp, int64_t n) {
    enum { D = 6, BITS = 11, R = 1 << BITS };
    int64_t (*h)[R] = calloc(D, sizeof *h);
    if (!h) { /* the same order by comparisons */
        qsort(key, (size_t)n, sizeof *key, ls_desc);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t b = ls_bits(key[i].e);
        for (int d = 0; d < D; d++) h[d][(b >> (BITS * d)) & (R - 1)]++;
    }
    ls_key *src = key, *dst = tmp;
    for (int d = 0; d < D; d++) {
        int64_t *hd = h[d], pos = 0;
        if (hd[(ls_bits(src[0].e) >> (BITS * d)) & (R - 1)] == n) continue; /* one value */
        for (int v = 0; v < R; v++) {
            int64_t cnt = hd[v];
            hd[v] = pos;
            pos += cnt;
        }
        for (int64_t i = 0; i < n; i++)
            dst[hd[(ls_bits(src[i].e) >> (BITS * d)) & (R - 1)]++] = src[i];
        ls_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != key) memcpy(key, src, (size_t)n * sizeof *key);
    free(h);
}

typedef struct ls_item {
    int64_t n0, n1;          /* images of the item */
} ls_item;

/* One item: its loss, and with gp != NULL, up * d loss / d p into gp
 * (indexed like p: [pixel][class] over the item's valid pixels). */
static double ls_item_loss(const double *p, const int64_t *lab, int64_t np, int64_t c,
                           ls_key *key, ls_key *tmp, double up, double *gp) {
    int64_t present = 0;
    double total = 0.0;
    for (int64_t k = 0; k < c; k++) {
        int64_t g = 0;
        for (int64_t i = 0; i < np; i++) g += lab[i] == k;
        present += g > 0;
    }
    if (gp)
        for (int64_t i = 0; i < np * c; i++) gp[i] = 0.0;
    if (present == 0) return 0.0;
    for (int64_t k = 0; k < c; k++) {
        double G = 0.0;
        for (int64_t i = 0; i < np; i++) {
            double fg = lab[i] == k ? 1.0 : 0.0;
            G += fg;
            key[i].e = fabs(fg - p[i * c + k]);
            key[i].i = i;
        }
        if (G == 0.0) continue;
        if (np > 0) ls_sort(key, tmp, np);
        double F = 0.0, jprev = 0.0, lc = 0.0;
        for (int64_t r = 0; r < np; r++) {
            int64_t i = key[r].i;
            double fg = lab[i] == k ? 1.0 : 0.0;
            F += fg;
            double j = 1.0 - (G - F) / (G + (double)(r + 1) - F);
            double gk = j - jprev;
            jprev = j;
            lc += key[r].e * gk;
            if (gp) {
                double d = p[i * c + k] - fg;
                gp[i * c + k] = up / (double)present * gk * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0);
            }
        }
        total += lc;
    }
    return total / (double)present;
}

static segloss_status ls_run(double *loss, float *elems, float *grad, const float *x,
                             const segloss_target *t, const segloss_shape *shape,
                             const segloss_lovasz_opts *o, const float *grad_out) {
    segloss_lovasz_opts def = segloss_lovasz_opts_default();
    if (!o) o = &def;
    if (!x || !t || !t->data || !shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(o->reduction)) return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 3 || shape->ndim > 5 || shape->dim[1] < 2) return SEGLOSS_ERR_SHAPE;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64) return SEGLOSS_ERR_DTYPE;
    int64_t n = shape->dim[0], c = shape->dim[1], s = numel / (n * c);
    for (int64_t i = 0; i < numel; i++)
        if (!isfinite(x[i])) return SEGLOSS_ERR_NONFINITE; /* sorted: NaN has no order */
    int64_t items = o->per_image ? n : 1, per = o->per_image ? s : n * s;
    double *p = malloc((size_t)numel * sizeof *p);
    double *gp = grad ? malloc((size_t)numel * sizeof *gp) : NULL;
    int64_t *lab = malloc((size_t)(n * s) * sizeof *lab);
    int64_t *pix = malloc((size_t)(n * s) * sizeof *pix);   /* pixel n*s + j of valid entry */
    uint8_t *ign = malloc((size_t)(n * s));
    ls_key *key = malloc((size_t)per * 2 * sizeof *key), *tmp = key ? key + per : NULL;
    double *f = malloc((size_t)items * sizeof *f);
    if (!p || (grad && !gp) || !lab || !pix || !ign || !key || !f) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    if ((st = segloss__decode_index(lab, ign, NULL, NULL, t, 0, n * s, c, o->ignore_index)) !=
        SEGLOSS_OK)
        goto done;
    for (int64_t it = 0; it < items; it++) {
        /* the item's valid pixels, their softmax rows in p */
        int64_t np = 0, q0 = it * per;
        for (int64_t q = q0; q < q0 + per; q++) {
            if (ign[q]) continue;
            int64_t nn = q / s, j = q % s;
            const float *xs = x + nn * c * s + j;
            double mx = xs[0], z = 0.0;
            for (int64_t k = 1; k < c; k++)
                if (xs[k * s] > mx) mx = xs[k * s];
            for (int64_t k = 0; k < c; k++) z += exp((double)xs[k * s] - mx);
            for (int64_t k = 0; k < c; k++) p[np * c + k] = exp((double)xs[k * s] - mx) / z;
            lab[q0 + np] = lab[q];   /* compacted in place: q0 + np <= q */
            pix[np] = q;
            np++;
        }
        double up = 0.0;
        if (grad) {
            up = grad_out ? (o->reduction == SEGLOSS_REDUCTION_NONE ? grad_out[it] : grad_out[0])
                          : 1.0;
            if (o->reduction == SEGLOSS_REDUCTION_MEAN) up /= (double)items;
        }
        f[it] = ls_item_loss(p, lab + q0, np, c, key, tmp, up, gp);
        if (grad) {
            for (int64_t q = q0; q < q0 + per; q++) { /* ignored pixels: 0 */
                int64_t nn = q / s, j = q % s;
                for (int64_t k = 0; k < c; k++) grad[(nn * c + k) * s + j] = 0.0f;
            }
            for (int64_t v = 0; v < np; v++) {
                int64_t nn = pix[v] / s, j = pix[v] % s;
                double dot = 0.0;
                for (int64_t k = 0; k < c; k++) dot += p[v * c + k] * gp[v * c + k];
                for (int64_t k = 0; k < c; k++)
                    grad[(nn * c + k) * s + j] = (float)(p[v * c + k] * (gp[v * c + k] - dot));
            }
        }
    }
    if (loss) {
        double tot = 0.0;
        for (int64_t it = 0; it < items; it++) {
            tot += f[it];
            if (elems && o->reduction == SEGLOSS_REDUCTION_NONE) elems[it] = (float)f[it];
        }
        *loss = o->reduction == SEGLOSS_REDUCTION_MEAN ? tot / (double)items : tot;
    }
done:
    free(p);
    free(gp);
    free(lab);
    free(pix);
    free(ign);
    free(key);
    free(f);
    return st;
}

segloss_status segloss_lovasz_softmax_forward(double *loss, float *elems, const float *x,
                                              const segloss_target *target,
                                              const segloss_shape *shape,
                                              const segloss_lovasz_opts *opts) {
    if (!loss) return SEGLOSS_ERR_NULL;
    return ls_run(loss, elems, NULL, x, target, shape, opts, NULL);
}

segloss_status segloss_lovasz_softmax_backward(float *grad, const float *x,
                                               const segloss_target *target,
                                               const segloss_shape *shape,
                                               const segloss_lovasz_opts *opts,
                                               const float *grad_out) {
    if (!grad) return SEGLOSS_ERR_NULL;
    return ls_run(NULL, NULL, grad, x, target, shape, opts, grad_out);
}
