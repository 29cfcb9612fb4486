/* Region-loss machinery: validation, probabilities, targets, deterministic
 * group sums and the backward sweep. See region.h for the model. */
#include "loss/region.h"

#include "core/target.h"

#include "kernels/vec.h"

#include <math.h>
#include <stdlib.h>

/* Elements per inner chunk: the work item (n, b) walks its spatial block in
 * chunks so that the per-pixel buffers stay small on the stack. Sums still
 * run element by element in increasing order per channel. */
#define CHUNK 256

/* ------------------------------------------------------------------------ */
/* Setup                                                                     */
/* ------------------------------------------------------------------------ */
static int valid_activation(segloss_activation a) {
    return a == SEGLOSS_ACTIVATION_SIGMOID || a == SEGLOSS_ACTIVATION_NONE ||
           a == SEGLOSS_ACTIVATION_SOFTMAX;
}

static segloss_status check_options(const segloss_dice_opts *o, unsigned allow) {
    if (o->squared && !(allow & SEGLOSS__REGION_SQUARED)) return SEGLOSS_ERR_ARG;
    if (o->jaccard && !(allow & SEGLOSS__REGION_JACCARD)) return SEGLOSS_ERR_ARG;
    if ((o->smp || o->log_loss) && !(allow & SEGLOSS__REGION_SMP)) return SEGLOSS_ERR_ARG;
    if (o->smp != 0 && o->smp != SEGLOSS_SMP_CURRENT && o->smp != SEGLOSS_SMP_0_3)
        return SEGLOSS_ERR_ARG;
    if (o->smp && (o->squared || o->jaccard)) return SEGLOSS_ERR_ARG;
    if (o->target_kind != SEGLOSS_TARGET_AUTO && o->target_kind != SEGLOSS_TARGET_DENSE &&
        o->target_kind != SEGLOSS_TARGET_INDEX)
        return SEGLOSS_ERR_ARG;
    if ((allow & SEGLOSS__REGION_LOGITS) &&
        (o->activation != SEGLOSS_ACTIVATION_SIGMOID || o->target_kind == SEGLOSS_TARGET_INDEX))
        return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}

segloss_status segloss__region_init(segloss__region *r, const float *x, const segloss_target *t,
                                    const segloss_shape *shape, const segloss_dice_opts *o,
                                    unsigned allow) {
    memset(r, 0, sizeof *r);
    if (!shape) return SEGLOSS_ERR_NULL;
    if (!segloss__valid_reduction(o->reduction)) return SEGLOSS_ERR_ARG;
    if (!valid_activation(o->activation)) return SEGLOSS_ERR_ARG;
    int64_t numel;
    segloss_status st = segloss__checked_numel(shape, &numel);
    if (st != SEGLOSS_OK) return st;
    if (shape->ndim < 1 || shape->ndim > 5) return SEGLOSS_ERR_SHAPE;
    if (shape->ndim >= 3) {
        r->n = shape->dim[0];
        r->c = shape->dim[1];
    } else {
        r->n = r->c = 1;
    }
    r->s = numel / (r->n * r->c);
    r->snr = o->smooth_nr;
    r->sdr = o->smooth_dr;
    if (!isfinite(r->snr) || !isfinite(r->sdr)) return SEGLOSS_ERR_ARG;
    if ((st = check_options(o, allow)) != SEGLOSS_OK) return st;
    r->ign = o->ignore_index;

    r->act = (int)o->activation;
    r->index = o->target_kind == SEGLOSS_TARGET_INDEX ||
               (o->target_kind == SEGLOSS_TARGET_AUTO && r->act == SEGLOSS_ACTIVATION_SOFTMAX);
    if ((r->act == SEGLOSS_ACTIVATION_SOFTMAX || r->index) && (shape->ndim < 3 || r->c < 2))
        return SEGLOSS_ERR_SHAPE;
    r->c0 = (o->no_background && r->c > 1) ? 1 : 0;
    r->ck = r->c - r->c0;
    r->squared = o->squared != 0;
    r->batch = o->batch || o->smp;
    r->min_inter = o->smp == SEGLOSS_SMP_CURRENT;
    r->groups = r->batch ? r->ck : r->n * r->ck;
    r->nb = (r->s + SEGLOSS_BLOCK - 1) / SEGLOSS_BLOCK;
    r->o = o;
    if (allow & SEGLOSS__REGION_SHAPE_ONLY) return SEGLOSS_OK;

    if (!x || !t || !t->data) return SEGLOSS_ERR_NULL;
    if (segloss_dtype_size(t->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (r->index && (t->dtype == SEGLOSS_F32 || t->dtype == SEGLOSS_F64))
        return SEGLOSS_ERR_DTYPE;
    r->x = x;
    r->t = t;
    /* groups <= numel, which fits size_t for 8-byte elements: no overflow */
    r->I = malloc((size_t)r->groups * 5 * sizeof(double));
    if (!r->I) return SEGLOSS_ERR_NOMEM;
    r->P = r->I + r->groups;
    r->G = r->P + r->groups;
    r->dI = r->G + r->groups;
    r->dP = r->dI + r->groups;
    return SEGLOSS_OK;
}

void segloss__region_free(segloss__region *r) {
    free(r->I);
    r->I = r->P = r->G = r->dI = r->dP = NULL;
}

/* ------------------------------------------------------------------------ */
/* Chunks: probabilities and targets of one channel over CHUNK pixels        */
/* ------------------------------------------------------------------------ */
typedef struct chunk {
    double p[CHUNK];         /* probabilities of the current channel (unmasked) */
    double y[CHUNK];         /* target of the current channel (0 where ignored) */
    double mx[CHUNK], z[CHUNK]; /* softmax: max over channels, sum of exp(x - max) */
    double dot[CHUNK];       /* backward softmax: sum_j p_j g_j */
    int64_t idx[CHUNK];      /* class-index target (-1: ignored) */
    uint8_t ign[CHUNK];      /* 1 ignored (per pixel for INDEX) */
} chunk;

/* Per-pixel work shared by every channel of a chunk: the class indices
 * and the softmax normaliser. */
static segloss_status chunk_begin(const segloss__region *r, chunk *b, int64_t n, int64_t s0,
                                  int64_t len) {
    if (r->index) {
        segloss_status st = segloss__decode_index(b->idx, b->ign, NULL, NULL, r->t,
                                                  n * r->s + s0, len, r->c, r->ign);
        if (st != SEGLOSS_OK) return st;
    }
    if (r->act == SEGLOSS_ACTIVATION_SOFTMAX) {
        const float *xs = r->x + n * r->c * r->s + s0;
        for (int64_t i = 0; i < len; i++) {
            b->mx[i] = xs[i];
            b->z[i] = 0.0;
        }
        for (int64_t c = 1; c < r->c; c++) {
            const float *xc = xs + c * r->s;
            for (int64_t i = 0; i < len; i++)
                if (xc[i] > b->mx[i] || isnan(xc[i])) b->mx[i] = xc[i];
        }
        for (int64_t c = 0; c < r->c; c++) {
            const float *xc = xs + c * r->s;
            for (int64_t i = 0; i < len; i++) b->z[i] += exp((double)xc[i] - b->mx[i]);
        }
    }
    return SEGLOSS_OK;
}

/* b->p = probabilities of channel c. With activation NONE only elements
 * that are not ignored (b->ign, loaded first) must lie in [0,1]; the others
 * are not read. */
static segloss_status chunk_probs(const segloss__region *r, chunk *b, int64_t n, int64_t c,
                                  int64_t s0, int64_t len) {
    const float *xs = r->x + (n * r->c + c) * r->s + s0;
    switch (r->act) {
    case SEGLOSS_ACTIVATION_SIGMOID: {
        /* the float32 kernel (kernels/vec.h: <= 1.49 ulp, AVX2 or portable) */
        float pf[CHUNK];
        segloss__vec_ops()->sigmoid(pf, xs, len);
        for (int64_t i = 0; i < len; i++) b->p[i] = pf[i];
        break;
    }
    case SEGLOSS_ACTIVATION_NONE:
        for (int64_t i = 0; i < len; i++) {
            if (b->ign[i]) {
                b->p[i] = 0.0;
                continue;
            }
            if (!(xs[i] >= 0.0f && xs[i] <= 1.0f)) return SEGLOSS_ERR_DOMAIN;
            b->p[i] = xs[i];
        }
        break;
    default: /* softmax */
        for (int64_t i = 0; i < len; i++) b->p[i] = exp((double)xs[i] - b->mx[i]) / b->z[i];
        break;
    }
    return SEGLOSS_OK;
}

/* b->y (and, for DENSE, b->ign) of channel c. */
static segloss_status chunk_target(const segloss__region *r, chunk *b, int64_t n, int64_t c,
                                   int64_t s0, int64_t len) {
    if (r->index) {
        for (int64_t i = 0; i < len; i++) b->y[i] = b->idx[i] == c ? 1.0 : 0.0;
        return SEGLOSS_OK;
    }
    return segloss__decode_dense_d(b->y, b->ign, NULL, NULL, r->t, (n * r->c + c) * r->s + s0,
                                   len, r->ign);
}

/* ------------------------------------------------------------------------ */
/* Group sums                                                                */
/* ------------------------------------------------------------------------ */
typedef struct stats_ctx {
    const segloss__region *r;
    double *part;            /* [n][nb][ck][3]: I, P, G per work item */
} stats_ctx;

static segloss_status stats_item(void *ctx, int64_t w) {
    const stats_ctx *sc = ctx;
    const segloss__region *r = sc->r;
    int64_t n = w / r->nb, blk = w % r->nb;
    int64_t lo = blk * SEGLOSS_BLOCK, hi = lo + SEGLOSS_BLOCK < r->s ? lo + SEGLOSS_BLOCK : r->s;
    double *acc = sc->part + w * r->ck * 3;
    for (int64_t k = 0; k < r->ck * 3; k++) acc[k] = 0.0;
    chunk b;
    for (int64_t s0 = lo; s0 < hi; s0 += CHUNK) {
        int64_t len = hi - s0 < CHUNK ? hi - s0 : CHUNK;
        segloss_status st = chunk_begin(r, &b, n, s0, len);
        if (st != SEGLOSS_OK) return st;
        for (int64_t k = 0; k < r->ck; k++) {
            int64_t c = r->c0 + k;
            if ((st = chunk_target(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
            if ((st = chunk_probs(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
            double I = acc[3 * k], P = acc[3 * k + 1], G = acc[3 * k + 2];
            if (r->min_inter) {
                for (int64_t i = 0; i < len; i++) {
                    double p = b.ign[i] ? 0.0 : b.p[i];
                    I += p < b.y[i] ? p : b.y[i];
                    P += p;
                    G += b.y[i];
                }
            } else if (r->squared) {
                for (int64_t i = 0; i < len; i++) {
                    double p = b.ign[i] ? 0.0 : b.p[i], y = b.y[i];
                    I += p * y;
                    P += p * p;
                    G += y * y;
                }
            } else {
                for (int64_t i = 0; i < len; i++) {
                    double p = b.ign[i] ? 0.0 : b.p[i];
                    I += p * b.y[i];
                    P += p;
                    G += b.y[i];
                }
            }
            acc[3 * k] = I;
            acc[3 * k + 1] = P;
            acc[3 * k + 2] = G;
        }
    }
    return SEGLOSS_OK;
}

void segloss__region_add_sums(segloss__region *r, int64_t n0, int64_t n1, const double *part,
                              int64_t s_n, int64_t s_k, int64_t s_b) {
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t k = 0; k < r->ck; k++) {
            double t[3] = {0.0, 0.0, 0.0};
            const double *a = part + n * s_n + k * s_k;
            for (int64_t blk = 0; blk < r->nb; blk++, a += s_b) {
                t[0] += a[0];
                t[1] += a[1];
                t[2] += a[2];
            }
            int64_t g = r->batch ? k : n * r->ck + k;
            r->I[g] += t[0];
            r->P[g] += t[1];
            r->G[g] += t[2];
        }
    }
}

segloss_status segloss__region_stats(segloss__region *r) {
    int64_t work = r->n * r->nb;
    stats_ctx sc = {r, malloc((size_t)work * (size_t)r->ck * 3 * sizeof(double))};
    if (!sc.part) return SEGLOSS_ERR_NOMEM;
    segloss_status st = segloss__for_items(work, stats_item, &sc);
    if (st == SEGLOSS_OK) {
        for (int64_t g = 0; g < r->groups; g++) r->I[g] = r->P[g] = r->G[g] = 0.0;
        /* item (n, b) of kept channel k at ((n*nb + b)*ck + k)*3 */
        segloss__region_add_sums(r, 0, r->n, sc.part, r->nb * r->ck * 3, 3, r->ck * 3);
    }
    free(sc.part);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Backward sweep                                                            */
/* ------------------------------------------------------------------------ */
typedef struct grad_ctx {
    const segloss__region *r;
    float *grad;
} grad_ctx;

/* d loss / d p of channel c (kept), masked, for the chunk in b. */
static void chunk_dldp(const segloss__region *r, const chunk *b, int64_t n, int64_t c,
                       int64_t len, double *g) {
    int64_t grp = r->batch ? c - r->c0 : n * r->ck + (c - r->c0);
    double a = r->dI[grp], d = r->dP[grp];
    for (int64_t i = 0; i < len; i++) {
        double dpdp = r->squared ? 2.0 * b->p[i] : 1.0;
        double dIdp = b->y[i];
        if (r->min_inter) /* torch: d|p - y|/dp = sign(p - y), 0 at a tie */
            dIdp = b->p[i] < b->y[i] ? 1.0 : b->p[i] > b->y[i] ? 0.0 : 0.5;
        g[i] = b->ign[i] ? 0.0 : a * dIdp + d * dpdp;
    }
}

static segloss_status grad_item(void *ctx, int64_t w) {
    const grad_ctx *gc = ctx;
    const segloss__region *r = gc->r;
    int64_t n = w / r->nb, blk = w % r->nb;
    int64_t lo = blk * SEGLOSS_BLOCK, hi = lo + SEGLOSS_BLOCK < r->s ? lo + SEGLOSS_BLOCK : r->s;
    chunk b;
    double g[CHUNK];
    for (int64_t s0 = lo; s0 < hi; s0 += CHUNK) {
        int64_t len = hi - s0 < CHUNK ? hi - s0 : CHUNK;
        segloss_status st = chunk_begin(r, &b, n, s0, len);
        if (st != SEGLOSS_OK) return st;
        if (r->act == SEGLOSS_ACTIVATION_SOFTMAX) {
            /* d/dx_c = p_c (g_c - sum_j p_j g_j); g_j = 0 on dropped channels */
            for (int64_t i = 0; i < len; i++) b.dot[i] = 0.0;
            for (int64_t c = r->c0; c < r->c; c++) {
                if ((st = chunk_target(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                if ((st = chunk_probs(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                chunk_dldp(r, &b, n, c, len, g);
                for (int64_t i = 0; i < len; i++) b.dot[i] += b.p[i] * g[i];
            }
            for (int64_t c = 0; c < r->c; c++) {
                if ((st = chunk_probs(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                if (c >= r->c0) {
                    if ((st = chunk_target(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                    chunk_dldp(r, &b, n, c, len, g);
                } else {
                    for (int64_t i = 0; i < len; i++) g[i] = 0.0;
                }
                /* an ignored pixel of a class-index target has g = 0 on every
                 * channel: its gradient is 0 even where its logits are NaN */
                float *out = gc->grad + (n * r->c + c) * r->s + s0;
                for (int64_t i = 0; i < len; i++)
                    out[i] = (r->index && b.ign[i]) ? 0.0f : (float)(b.p[i] * (g[i] - b.dot[i]));
            }
        } else {
            int sig = r->act == SEGLOSS_ACTIVATION_SIGMOID;
            for (int64_t c = 0; c < r->c; c++) {
                float *out = gc->grad + (n * r->c + c) * r->s + s0;
                if (c < r->c0) {
                    for (int64_t i = 0; i < len; i++) out[i] = 0.0f;
                    continue;
                }
                if ((st = chunk_target(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                if ((st = chunk_probs(r, &b, n, c, s0, len)) != SEGLOSS_OK) return st;
                chunk_dldp(r, &b, n, c, len, g);
                for (int64_t i = 0; i < len; i++) {
                    double v = g[i];
                    if (sig) v *= b.p[i] * (1.0 - b.p[i]);
                    out[i] = b.ign[i] ? 0.0f : (float)v;
                }
            }
        }
    }
    return SEGLOSS_OK;
}

segloss_status segloss__region_grad(const segloss__region *r, float *grad) {
    grad_ctx gc = {r, grad};
    return segloss__for_items(r->n * r->nb, grad_item, &gc);
}

/* ------------------------------------------------------------------------ */
/* Items and reductions                                                      */
/* ------------------------------------------------------------------------ */
double segloss__region_upstream(const float *grad_out, segloss_reduction red, int64_t k,
                                int64_t items) {
    double g = 1.0;
    if (grad_out) g = red == SEGLOSS_REDUCTION_NONE ? grad_out[k] : grad_out[0];
    if (red == SEGLOSS_REDUCTION_MEAN) g /= (double)items;
    return g;
}

void segloss__region_reduce(double *loss, float *elems, const double *f, int64_t items,
                            segloss_reduction red) {
    double total = 0.0;
    for (int64_t k = 0; k < items; k++) {
        if (elems && red == SEGLOSS_REDUCTION_NONE) elems[k] = (float)f[k];
        total += f[k];
    }
    *loss = red == SEGLOSS_REDUCTION_MEAN ? total / (double)items : total;
}

double segloss__region_score_loss(const segloss__region *r, double num, double den_raw, double G,
                                  double up, double *dnum, double *dden) {
    const segloss_dice_opts *o = r->o;
    double den = den_raw;
    int clamped = 0;
    if (o->smp && den_raw < SEGLOSS__REGION_EPS) { /* NaN passes through, as clamp_min */
        den = SEGLOSS__REGION_EPS;
        clamped = 1;
    }
    double score = num / den, loss, dscore;
    if (o->log_loss) {
        if (score < SEGLOSS__REGION_EPS) {
            loss = -log(SEGLOSS__REGION_EPS);
            dscore = 0.0;
        } else {
            loss = -log(score);
            dscore = -1.0 / score;
        }
    } else {
        loss = 1.0 - score;
        dscore = -1.0;
    }
    if (o->smp && !(G > 0.0)) { /* smp: channels without target pixels give 0 */
        *dnum = *dden = 0.0;
        return 0.0;
    }
    *dnum = dscore == 0.0 ? 0.0 : up * dscore / den;
    *dden = (clamped || dscore == 0.0) ? 0.0 : -up * dscore * num / (den * den);
    return loss;
}

int64_t segloss__region_items(const segloss__region *r, const segloss__region_loss *L) {
    if (!L->per_image) return r->groups;
    return r->batch ? 1 : r->n;
}

void segloss__region_eval_items(segloss__region *r, const segloss__region_loss *L, int64_t i0,
                                int64_t i1, int grad, double scale, const float *grad_out,
                                double *f) {
    int64_t items = segloss__region_items(r, L), gpi = L->per_image ? r->ck : 1;
    for (int64_t i = i0; i < i1; i++) {
        double up =
            grad ? scale * segloss__region_upstream(grad_out, r->o->reduction, i, items) : 0.0;
        f[i] = L->item(r, L->params, i, up, r->dI + i * gpi, r->dP + i * gpi);
    }
}
