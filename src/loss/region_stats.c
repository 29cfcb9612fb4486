/* Data-parallel statistics of the region losses (dice, jaccard, tversky,
 * generalized dice): the per-group sums of one rank's images written into
 * the global statistics array, the batch loss from the reduced array, and
 * one rank's gradient of the batch loss.
 *
 * A rank holds images [o, o + N) of a global batch of T images. Group
 * g = (n, c') (or c' with batch/smp) has sums I_g, P_g, G_g (region.h);
 * the global array has 3 doubles per global group: T*C' groups, or C'
 * with batch. A rank writes its own rows (its sums over its images with
 * batch) and zeros elsewhere, so that summing the arrays of all ranks
 * (one all-reduce) gives exactly the batch's sums. From them:
 *   loss  = reduce_i f_i(I, P, G)               (the loss's item function)
 *   dL/dx = sweep(dI_g, dP_g) over the rank's elements,
 *   dI_g, dP_g = up_i * d f_i / d I_g, d P_g,   up_i = upstream / items
 * where `items` is the global item count (MEAN), so that each rank's
 * gradient is its slice of the single-process batch gradient. The sums
 * run through the double region sweep (region.c) for every activation. */
#include "loss/region.h"

#include <stdlib.h>

#define STATS_ALLOW (SEGLOSS__REGION_SQUARED | SEGLOSS__REGION_JACCARD | SEGLOSS__REGION_SMP)

static const segloss_dice_opts defaults = SEGLOSS__DICE_DEFAULTS;

/* The part in effect (NULL: the whole batch) checked against the local
 * shape; *glob = the shape of the global batch. */
static segloss_status part_of(segloss_batch_part *p, segloss_shape *glob,
                              const segloss_shape *shape, const segloss_batch_part *part) {
    if (!shape) return SEGLOSS_ERR_NULL;
    *glob = *shape;
    int64_t n = shape->ndim >= 3 ? shape->dim[0] : 1;
    if (!part) {
        p->n_total = n;
        p->n_offset = 0;
        return SEGLOSS_OK;
    }
    *p = *part;
    if (p->n_offset < 0 || p->n_total < 1 || p->n_offset > p->n_total - n ||
        (shape->ndim < 3 && p->n_total != 1)) /* ndim <= 2: one image */
        return SEGLOSS_ERR_ARG;
    if (shape->ndim >= 3) glob->dim[0] = p->n_total;
    return SEGLOSS_OK;
}

/* Global group count for the options of r (validated on the global shape). */
static segloss_status global_groups(int64_t *groups, int64_t *items, const segloss_shape *glob,
                                    const segloss_dice_opts *o, unsigned allow,
                                    const segloss__region_loss *L) {
    segloss__region g;
    segloss_status st = segloss__region_init(&g, NULL, NULL, glob, o,
                                             allow | SEGLOSS__REGION_SHAPE_ONLY);
    if (st != SEGLOSS_OK) return st;
    *groups = g.groups;
    if (items) *items = segloss__region_items(&g, L);
    return SEGLOSS_OK;
}

segloss_status segloss_region_stats_count(int64_t *count, const segloss_shape *shape,
                                          const segloss_dice_opts *opts,
                                          const segloss_batch_part *part) {
    if (!count) return SEGLOSS_ERR_NULL;
    segloss_batch_part p;
    segloss_shape glob;
    segloss_status st = part_of(&p, &glob, shape, part);
    int64_t groups = 0;
    if (st == SEGLOSS_OK)
        st = global_groups(&groups, NULL, &glob, opts ? opts : &defaults, STATS_ALLOW, NULL);
    if (st != SEGLOSS_OK) return st;
    *count = 3 * groups;
    return SEGLOSS_OK;
}

/* Row of local group k (of r) in the global array. */
static int64_t global_row(const segloss__region *r, const segloss_batch_part *p, int64_t k) {
    return r->batch ? k : p->n_offset * r->ck + k;
}

segloss_status segloss_region_stats(double *stats, const float *x, const segloss_target *target,
                                    const segloss_shape *shape, const segloss_dice_opts *opts,
                                    const segloss_batch_part *part) {
    if (!opts) opts = &defaults;
    segloss_batch_part p;
    segloss_shape glob;
    segloss_status st = part_of(&p, &glob, shape, part);
    int64_t groups = 0;
    if (st == SEGLOSS_OK) st = global_groups(&groups, NULL, &glob, opts, STATS_ALLOW, NULL);
    if (st != SEGLOSS_OK) return st;
    if (!stats) return SEGLOSS_ERR_NULL;
    segloss__region r;
    if ((st = segloss__region_init(&r, x, target, shape, opts, STATS_ALLOW)) != SEGLOSS_OK)
        return st;
    if ((st = segloss__region_stats(&r)) == SEGLOSS_OK) {
        for (int64_t i = 0; i < 3 * groups; i++) stats[i] = 0.0;
        for (int64_t k = 0; k < r.groups; k++) {
            double *s = stats + 3 * global_row(&r, &p, k);
            s[0] = r.I[k];
            s[1] = r.P[k];
            s[2] = r.G[k];
        }
    }
    segloss__region_free(&r);
    return st;
}

segloss_status segloss__region_loss_from_stats(const segloss__region_loss *L, double *loss,
                                               float *elems, const double *stats,
                                               const segloss_shape *shape,
                                               const segloss_dice_opts *o,
                                               const segloss_batch_part *part) {
    if (!o) o = &defaults;
    segloss_batch_part p;
    segloss_shape glob;
    segloss_status st = part_of(&p, &glob, shape, part);
    if (st != SEGLOSS_OK) return st;
    segloss__region r;
    st = segloss__region_init(&r, NULL, NULL, &glob, o, L->allow | SEGLOSS__REGION_SHAPE_ONLY);
    if (st != SEGLOSS_OK) return st;
    if (!loss || !stats) return SEGLOSS_ERR_NULL;
    int64_t items = segloss__region_items(&r, L);
    /* groups and items <= numel of the global shape, which fits size_t */
    r.I = malloc((size_t)r.groups * 5 * sizeof(double));
    double *f = malloc((size_t)items * sizeof *f);
    if (!r.I || !f) {
        free(r.I);
        free(f);
        return SEGLOSS_ERR_NOMEM;
    }
    r.P = r.I + r.groups;
    r.G = r.P + r.groups;
    r.dI = r.G + r.groups;
    r.dP = r.dI + r.groups;
    for (int64_t g = 0; g < r.groups; g++) {
        r.I[g] = stats[3 * g];
        r.P[g] = stats[3 * g + 1];
        r.G[g] = stats[3 * g + 2];
    }
    segloss__region_eval_items(&r, L, 0, items, 0, 0.0, NULL, f);
    segloss__region_reduce(loss, elems, f, items, o->reduction);
    free(f);
    segloss__region_free(&r);
    return SEGLOSS_OK;
}

segloss_status segloss__region_backward_from_stats(const segloss__region_loss *L, float *grad,
                                                   const float *x, const segloss_target *t,
                                                   const segloss_shape *shape,
                                                   const segloss_dice_opts *o,
                                                   const segloss_batch_part *part,
                                                   const double *stats, const float *grad_out) {
    if (!o) o = &defaults;
    segloss_batch_part p;
    segloss_shape glob;
    segloss_status st = part_of(&p, &glob, shape, part);
    int64_t groups = 0, items_all = 0;
    if (st == SEGLOSS_OK) st = global_groups(&groups, &items_all, &glob, o, L->allow, L);
    if (st != SEGLOSS_OK) return st;
    if (!grad || !stats) return SEGLOSS_ERR_NULL;
    segloss__region r;
    if ((st = segloss__region_init(&r, x, t, shape, o, L->allow)) != SEGLOSS_OK) return st;
    int64_t items = segloss__region_items(&r, L);
    double *f = malloc((size_t)items * sizeof *f); /* items <= numel */
    if (!f) {
        segloss__region_free(&r);
        return SEGLOSS_ERR_NOMEM;
    }
    for (int64_t k = 0; k < r.groups; k++) {
        const double *s = stats + 3 * global_row(&r, &p, k);
        r.I[k] = s[0];
        r.P[k] = s[1];
        r.G[k] = s[2];
    }
    /* MEAN divides by the batch's items; NONE reads the batch's upstream
     * array from this rank's first item on (items of a batch-wide loss are
     * the same on every rank) */
    double scale = o->reduction == SEGLOSS_REDUCTION_MEAN ? (double)items / (double)items_all : 1.0;
    int64_t first = r.batch ? 0 : (L->per_image ? p.n_offset : p.n_offset * r.ck);
    const float *up = grad_out && o->reduction == SEGLOSS_REDUCTION_NONE ? grad_out + first
                                                                         : grad_out;
    segloss__region_eval_items(&r, L, 0, items, 1, scale, up, f);
    st = segloss__region_grad(&r, grad);
    free(f);
    segloss__region_free(&r);
    return st;
}
