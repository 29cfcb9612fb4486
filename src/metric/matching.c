/* Matching reference components to predicted components.
 *
 * 1. From the runs of both sides (runs.c): the size and bounding box of
 *    every component, and the intersection I(r, p) of every pair that
 *    touches, by merging the runs of each row (two pointers) into an
 *    open-addressing hash table keyed by (r, p) (consecutive overlaps of
 *    the same pair hit a one-entry cache). Memory O(n_ref + n_pred + P),
 *    P = touching pairs; never a dense n_ref x n_pred matrix.
 * 2. Candidates: score > threshold (iou or dice), or I > 0 (OVERLAP).
 * 3. Assignment (definitions in segloss.h):
 *    greedy: sort the candidates by (score desc, ref asc, pred asc), take a
 *      pair when both ends are free. O(P log P).
 *    hungarian: the candidate graph is split into connected blocks
 *      (union-find over the 2 x components); each block of r refs and q
 *      preds is a dense min(r,q) x max(r,q) assignment problem with cost
 *      -score on candidate pairs and 0 elsewhere, solved exactly by the
 *      shortest-augmenting-path Hungarian method with potentials
 *      (hungarian.c), O(k^3) for k = max(r,q). A zero-cost assignment is
 *      "no match", so the optimum of the dense problem is a maximum-weight matching of the
 *      candidates. Splitting into blocks is exact (no candidate joins two
 *      blocks) and keeps the cubic term to the blocks, which in lesion
 *      maps hold a handful of components; one block of all components is
 *      still solved exactly, only slower.
 *    hungarian-all (MONAI below 0.5): the same solver over every touching
 *      pair (weight = score), then the assigned pairs that are not
 *      candidates are dropped. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair_table {
    uint64_t *key;
    int64_t *idx;        /* -1 = empty */
    size_t mask;
    int64_t n, cap;      /* pairs stored in r/p/inter */
    int32_t *r, *p;
    int64_t *inter;
} pair_table;

static size_t pair_hash(uint64_t k, size_t m) {
    k *= 0x9E3779B97F4A7C15ull;
    return (size_t)(k ^ (k >> 31)) & m;
}

static void pt_free(pair_table *t) {
    free(t->key);
    free(t->idx);
    free(t->r);
    free(t->p);
    free(t->inter);
}

static segloss_status pt_rehash(pair_table *t, size_t cap) {
    uint64_t *key = malloc(cap * sizeof *key);
    int64_t *idx = malloc(cap * sizeof *idx);
    if (!key || !idx) {
        free(key);
        free(idx);
        return SEGLOSS_ERR_NOMEM;
    }
    for (size_t s = 0; s < cap; s++) idx[s] = -1;
    for (int64_t k = 0; k < t->n; k++) {
        uint64_t kk = (uint64_t)(uint32_t)t->r[k] << 32 | (uint32_t)t->p[k];
        size_t h = pair_hash(kk, cap - 1);
        while (idx[h] >= 0) h = (h + 1) & (cap - 1);
        key[h] = kk;
        idx[h] = k;
    }
    free(t->key);
    free(t->idx);
    t->key = key;
    t->idx = idx;
    t->mask = cap - 1;
    return SEGLOSS_OK;
}

/* Index of pair (r, p), added with inter 0 when new. */
static segloss_status pt_get(pair_table *t, int32_t r, int32_t p, int64_t *out) {
    uint64_t kk = (uint64_t)(uint32_t)r << 32 | (uint32_t)p;
    size_t h = pair_hash(kk, t->mask);
    while (t->idx[h] >= 0) {
        if (t->key[h] == kk) {
            *out = t->idx[h];
            return SEGLOSS_OK;
        }
        h = (h + 1) & t->mask;
    }
    if (t->n == t->cap) {
        int64_t cap = t->cap * 2;
        int32_t *r2 = realloc(t->r, (size_t)cap * sizeof *r2);
        if (r2) t->r = r2;
        int32_t *p2 = realloc(t->p, (size_t)cap * sizeof *p2);
        if (p2) t->p = p2;
        int64_t *i2 = realloc(t->inter, (size_t)cap * sizeof *i2);
        if (i2) t->inter = i2;
        if (!r2 || !p2 || !i2) return SEGLOSS_ERR_NOMEM;
        t->cap = cap;
    }
    int64_t k = t->n++;
    t->r[k] = r;
    t->p[k] = p;
    t->inter[k] = 0;
    t->key[h] = kk;
    t->idx[h] = k;
    if ((size_t)t->n * 2 > t->mask + 1) {
        segloss_status st = pt_rehash(t, (t->mask + 1) * 2);
        if (st != SEGLOSS_OK) return st;
    }
    *out = k;
    return SEGLOSS_OK;
}

/* Size and box of every component of one run set. */
typedef struct comp_info {
    int64_t *size;          /* [n + 1] */
    int64_t (*lo)[3], (*hi)[3];
} comp_info;

static segloss_status ci_init(comp_info *c, const segloss__runs *r, const segloss__grid *g) {
    const int64_t n = r->count;
    c->size = calloc((size_t)n + 1, sizeof *c->size);
    c->lo = malloc(((size_t)n + 1) * sizeof *c->lo);
    c->hi = malloc(((size_t)n + 1) * sizeof *c->hi);
    if (!c->size || !c->lo || !c->hi) return SEGLOSS_ERR_NOMEM;
    for (int64_t k = 0; k <= n; k++)
        for (int a = 0; a < 3; a++) {
            c->lo[k][a] = INT64_MAX;
            c->hi[k][a] = 0;
        }
    for (int64_t row = 0; row < r->nrows; row++) {
        const int64_t x[2] = {row / g->n[1], row % g->n[1]};
        for (int64_t u = r->row_start[row]; u < r->row_start[row + 1]; u++) {
            const int32_t l = r->comp[u];
            c->size[l] += r->end[u] - r->start[u];
            for (int a = 0; a < 2; a++) {
                if (x[a] < c->lo[l][a]) c->lo[l][a] = x[a];
                if (x[a] + 1 > c->hi[l][a]) c->hi[l][a] = x[a] + 1;
            }
            if (r->start[u] < c->lo[l][2]) c->lo[l][2] = r->start[u];
            if (r->end[u] > c->hi[l][2]) c->hi[l][2] = r->end[u];
        }
    }
    return SEGLOSS_OK;
}

static void ci_free(comp_info *c) {
    free(c->size);
    free(c->lo);
    free(c->hi);
}

/* Box in real-axis order (axis 0 first, unused axes [0,1)). */
static void box_out(int64_t lo[3], int64_t hi[3], const segloss__grid *g, const int64_t plo[3],
                    const int64_t phi[3]) {
    const int sh = 3 - g->ndim;
    for (int a = 0; a < 3; a++) {
        lo[a] = 0;
        hi[a] = 1;
    }
    for (int a = 0; a < g->ndim; a++) {
        lo[a] = plo[a + sh];
        hi[a] = phi[a + sh];
    }
}

static int64_t node_find(int64_t *par, int64_t x) {
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

typedef struct match_ctx {
    const pair_table *t;
    const double *score;
    const uint8_t *cand;
    const uint8_t *edge;  /* pairs the Hungarian step may assign: cand, or
                             every touching pair (ASSIGN_HUNGARIAN_ALL) */
    int64_t n_ref, n_pred;
    int64_t *ref_to;      /* [n_ref + 1]: pair index matched, or -1 */
    int64_t *pred_to;     /* [n_pred + 1] */
} match_ctx;

/* A candidate as the greedy sort sees it. */
typedef struct greedy_key {
    double score;
    int32_t r, p;
    int64_t k;
} greedy_key;

/* score desc, then ref asc, then pred asc: a total order, so the result
 * does not depend on the sort algorithm. */
static int cmp_greedy(const void *x, const void *y) {
    const greedy_key *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->r != b->r) return a->r < b->r ? -1 : 1;
    return (a->p > b->p) - (a->p < b->p);
}

static void take(match_ctx *m, int64_t k) {
    m->ref_to[m->t->r[k]] = k;
    m->pred_to[m->t->p[k]] = k;
}

static segloss_status assign_greedy(match_ctx *m) {
    const pair_table *t = m->t;
    int64_t nc = 0;
    for (int64_t k = 0; k < t->n; k++) nc += m->cand[k];
    greedy_key *order = malloc((size_t)(nc ? nc : 1) * sizeof *order);
    if (!order) return SEGLOSS_ERR_NOMEM;
    nc = 0;
    for (int64_t k = 0; k < t->n; k++)
        if (m->cand[k]) {
            greedy_key e = {m->score[k], t->r[k], t->p[k], k};
            order[nc++] = e;
        }
    qsort(order, (size_t)nc, sizeof *order, cmp_greedy);
    for (int64_t q = 0; q < nc; q++) {
        int64_t k = order[q].k;
        if (m->ref_to[t->r[k]] < 0 && m->pred_to[t->p[k]] < 0) take(m, k);
    }
    free(order);
    return SEGLOSS_OK;
}

static segloss_status assign_hungarian(match_ctx *m) {
    const pair_table *t = m->t;
    const int64_t nr = m->n_ref, nn = m->n_ref + m->n_pred;
    segloss_status st = SEGLOSS_OK;
    int64_t *par = malloc(((size_t)nn + 1) * sizeof *par);
    int64_t *local = malloc(((size_t)nn + 1) * sizeof *local);
    int64_t *bcand = NULL, *start = NULL, *fill = NULL, *rows = NULL, *cols = NULL,
            *roc = NULL;
    double *a = NULL;
    size_t acap = 0;
    if (!par || !local) goto nomem;
    for (int64_t x = 0; x <= nn; x++) par[x] = x;
    /* nodes: ref r -> r - 1, pred p -> nr + p - 1 */
    for (int64_t k = 0; k < t->n; k++) {
        if (!m->edge[k]) continue;
        int64_t x = node_find(par, t->r[k] - 1), y = node_find(par, nr + t->p[k] - 1);
        if (x != y) par[x < y ? y : x] = x < y ? x : y;
    }
    /* Bucket the candidates by block root (counting sort). */
    start = calloc((size_t)nn + 2, sizeof *start);
    fill = malloc(((size_t)nn + 1) * sizeof *fill);
    int64_t nc = 0;
    for (int64_t k = 0; k < t->n; k++) nc += m->edge[k];
    bcand = malloc((size_t)(nc ? nc : 1) * sizeof *bcand);
    rows = malloc(((size_t)nn + 1) * sizeof *rows);
    cols = malloc(((size_t)nn + 1) * sizeof *cols);
    roc = malloc(((size_t)nn + 1) * sizeof *roc);
    if (!start || !fill || !bcand || !rows || !cols || !roc) goto nomem;
    for (int64_t k = 0; k < t->n; k++)
        if (m->edge[k]) start[node_find(par, t->r[k] - 1) + 1]++;
    for (int64_t x = 0; x < nn; x++) start[x + 1] += start[x];
    for (int64_t x = 0; x <= nn; x++) fill[x] = start[x];
    for (int64_t k = 0; k < t->n; k++)
        if (m->edge[k]) bcand[fill[node_find(par, t->r[k] - 1)]++] = k;
    for (int64_t x = 0; x <= nn; x++) local[x] = -1;
    for (int64_t b = 0; b < nn; b++) {
        const int64_t c0 = start[b], c1 = start[b + 1];
        if (c0 == c1) continue;
        int64_t nrow = 0, ncol = 0;
        for (int64_t q = c0; q < c1; q++) {
            int64_t k = bcand[q], x = t->r[k] - 1, y = nr + t->p[k] - 1;
            if (local[x] < 0) {
                local[x] = nrow;
                rows[nrow++] = x;
            }
            if (local[y] < 0) {
                local[y] = ncol;
                cols[ncol++] = y;
            }
        }
        /* refs as rows when they are fewer, else transposed */
        const int tr = nrow > ncol;
        const int64_t n = tr ? ncol : nrow, mm = tr ? nrow : ncol;
        size_t need = (size_t)n * (size_t)mm;
        if (need > acap) {
            free(a);
            acap = need;
            a = malloc(acap * sizeof *a);
            if (!a) goto nomem;
        }
        memset(a, 0, need * sizeof *a);
        for (int64_t q = c0; q < c1; q++) {
            int64_t k = bcand[q];
            int64_t i = local[t->r[k] - 1], j = local[nr + t->p[k] - 1];
            if (tr) a[j * mm + i] = -m->score[k];
            else a[i * mm + j] = -m->score[k];
        }
        st = segloss__hungarian(roc, a, n, mm);
        if (st != SEGLOSS_OK) goto done;
        for (int64_t j = 1; j <= mm; j++) {
            if (!roc[j]) continue;
            int64_t i = roc[j] - 1;
            int64_t ri = tr ? j - 1 : i, pj = tr ? i : j - 1;
            int32_t r = (int32_t)(rows[ri] + 1), p = (int32_t)(cols[pj] - nr + 1);
            /* the candidate (r, p), if any: the assigned entry is nonzero */
            if (a[i * mm + (j - 1)] == 0.0) continue;
            for (int64_t q = c0; q < c1; q++) {
                int64_t k = bcand[q];
                if (t->r[k] == r && t->p[k] == p) {
                    if (m->cand[k]) take(m, k);
                    break;
                }
            }
        }
        for (int64_t i = 0; i < nrow; i++) local[rows[i]] = -1;
        for (int64_t j = 0; j < ncol; j++) local[cols[j]] = -1;
    }
    goto done;
nomem:
    st = SEGLOSS_ERR_NOMEM;
done:
    free(par);
    free(local);
    free(bcand);
    free(start);
    free(fill);
    free(rows);
    free(cols);
    free(a);
    free(roc);
    return st;
}

static void row_box(segloss_instance_pair *row, const segloss__grid *g, const comp_info *rc,
                    const comp_info *pc) {
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        lo[a] = INT64_MAX;
        hi[a] = 0;
        if (row->ref) {
            if (rc->lo[row->ref][a] < lo[a]) lo[a] = rc->lo[row->ref][a];
            if (rc->hi[row->ref][a] > hi[a]) hi[a] = rc->hi[row->ref][a];
        }
        if (row->pred) {
            if (pc->lo[row->pred][a] < lo[a]) lo[a] = pc->lo[row->pred][a];
            if (pc->hi[row->pred][a] > hi[a]) hi[a] = pc->hi[row->pred][a];
        }
    }
    box_out(row->box_lo, row->box_hi, g, lo, hi);
}

/* Fills a row's masks in its box from the runs and scores its surfaces. */
static segloss_status row_surface(segloss_instance_pair *row, const segloss__runs *rr,
                                  const segloss__runs *pr, const segloss__grid *g,
                                  const segloss_metric_opts *dist) {
    segloss_surface_metrics *o = &row->surface;
    if (!row->ref || !row->pred) return SEGLOSS_OK;  /* stays NaN */
    const int sh = 3 - g->ndim;
    int64_t lo[3] = {0, 0, 0}, m[3] = {1, 1, 1};
    for (int a = 0; a < g->ndim; a++) {
        lo[a + sh] = row->box_lo[a];
        m[a + sh] = row->box_hi[a] - row->box_lo[a];
    }
    /* The box holds both components whole, so a voxel of either on its
     * border is a surface voxel in the full image too: the distances are
     * those of the full image. */
    const size_t nb = (size_t)(m[0] * m[1] * m[2]);
    uint8_t *pm = calloc(nb, 2);
    if (!pm) return SEGLOSS_ERR_NOMEM;
    uint8_t *rm = pm + nb;
    for (int64_t i0 = 0; i0 < m[0]; i0++)
        for (int64_t i1 = 0; i1 < m[1]; i1++) {
            const int64_t row_i = (lo[0] + i0) * g->n[1] + lo[1] + i1;
            const size_t base = (size_t)((i0 * m[1] + i1) * m[2]);
            for (int side = 0; side < 2; side++) {
                const segloss__runs *r = side ? pr : rr;
                const int32_t want = (int32_t)(side ? row->pred : row->ref);
                uint8_t *dst = (side ? pm : rm) + base;
                for (int64_t u = r->row_start[row_i]; u < r->row_start[row_i + 1]; u++)
                    if (r->comp[u] == want)
                        memset(dst + (r->start[u] - lo[2]), 1, (size_t)(r->end[u] - r->start[u]));
            }
        }
    segloss_shape bs;
    bs.ndim = g->ndim;
    for (int a = 0; a < g->ndim; a++) bs.dim[a] = m[a + sh];
    segloss_status st = segloss_surface_distances_binary(o, pm, rm, &bs, dist);
    free(pm);
    return st;
}

segloss_status segloss__match_runs(segloss_instance_metrics *out, segloss_instance_pair **pairs,
                                   int64_t *n_pairs, const segloss__runs *rr,
                                   const segloss__runs *pr, const segloss__grid *g,
                                   const segloss_instance_opts *o,
                                   const segloss_metric_opts *dist) {
    const int64_t n_ref = rr->count, n_pred = pr->count;
    segloss_status st;
    pair_table t = {0};
    comp_info rc = {0}, pc = {0};
    double *score = NULL;
    uint8_t *cand = NULL, *edge = NULL;
    int64_t *ref_to = NULL, *pred_to = NULL;
    segloss_instance_pair *rows = NULL;
    t.cap = 64;
    t.r = malloc(64 * sizeof *t.r);
    t.p = malloc(64 * sizeof *t.p);
    t.inter = malloc(64 * sizeof *t.inter);
    if (!t.r || !t.p || !t.inter || ci_init(&rc, rr, g) || ci_init(&pc, pr, g)) goto nomem;
    st = pt_rehash(&t, 128);
    if (st != SEGLOSS_OK) goto done;

    /* Intersections: the runs of each row merged, two pointers. */
    int32_t last_r = 0, last_p = 0;
    int64_t last_k = -1;
    for (int64_t row = 0; row < rr->nrows; row++) {
        int64_t u = rr->row_start[row], v = pr->row_start[row];
        const int64_t u1 = rr->row_start[row + 1], v1 = pr->row_start[row + 1];
        while (u < u1 && v < v1) {
            const int64_t s = rr->start[u] > pr->start[v] ? rr->start[u] : pr->start[v];
            const int64_t e = rr->end[u] < pr->end[v] ? rr->end[u] : pr->end[v];
            if (e > s) {
                const int32_t r = rr->comp[u], p = pr->comp[v];
                if (r != last_r || p != last_p || last_k < 0) {
                    st = pt_get(&t, r, p, &last_k);
                    if (st != SEGLOSS_OK) goto done;
                    last_r = r;
                    last_p = p;
                }
                t.inter[last_k] += e - s;
            }
            if (rr->end[u] < pr->end[v]) u++;
            else v++;
        }
    }

    /* Scores and candidates. */
    score = malloc((size_t)(t.n ? t.n : 1) * sizeof *score);
    cand = malloc((size_t)(t.n ? t.n : 1));
    ref_to = malloc(((size_t)n_ref + 1) * sizeof *ref_to);
    pred_to = malloc(((size_t)n_pred + 1) * sizeof *pred_to);
    if (!score || !cand || !ref_to || !pred_to) goto nomem;
    for (int64_t k = 0; k < t.n; k++) {
        const double in = (double)t.inter[k];
        const double sr = (double)rc.size[t.r[k]], sp = (double)pc.size[t.p[k]];
        const double iou = in / (sr + sp - in), dice = 2.0 * in / (sr + sp);
        score[k] = o->match == SEGLOSS_MATCH_DICE ? dice : iou;
        cand[k] = o->match == SEGLOSS_MATCH_OVERLAP ? t.inter[k] > 0 : score[k] > o->threshold;
    }
    for (int64_t r = 0; r <= n_ref; r++) ref_to[r] = -1;
    for (int64_t p = 0; p <= n_pred; p++) pred_to[p] = -1;
    edge = malloc((size_t)(t.n ? t.n : 1));
    if (!edge) goto nomem;
    for (int64_t k = 0; k < t.n; k++)
        edge[k] = o->assignment == SEGLOSS_ASSIGN_HUNGARIAN_ALL ? t.inter[k] > 0 : cand[k];
    match_ctx m = {&t, score, cand, edge, n_ref, n_pred, ref_to, pred_to};
    st = o->assignment == SEGLOSS_ASSIGN_GREEDY ? assign_greedy(&m) : assign_hungarian(&m);
    if (st != SEGLOSS_OK) goto done;

    out->n_ref = n_ref;
    out->n_pred = n_pred;
    for (int64_t r = 1; r <= n_ref; r++) {
        int64_t k = ref_to[r];
        if (k < 0) continue;
        out->tp++;
        const double in = (double)t.inter[k];
        out->iou_sum += in / ((double)rc.size[r] + (double)pc.size[t.p[k]] - in);
    }
    out->fn = n_ref - out->tp;
    out->fp = n_pred - out->tp;
    segloss_instance_scores(out, o->empty_score);

    if (pairs) {
        const int64_t nrow = out->tp + out->fn + out->fp;
        rows = malloc((size_t)(nrow ? nrow : 1) * sizeof *rows);
        if (!rows) goto nomem;
        int64_t q = 0;
        for (int pass = 0; pass < 3; pass++) {
            const int64_t lim = pass == 2 ? n_pred : n_ref;
            for (int64_t x = 1; x <= lim; x++) {
                segloss_instance_pair rw, *row = &rw;
                memset(row, 0, sizeof *row);
                if (pass == 0) {
                    int64_t k = ref_to[x];
                    if (k < 0) continue;
                    row->ref = x;
                    row->pred = t.p[k];
                    row->inter = t.inter[k];
                    row->n_ref = rc.size[x];
                    row->n_pred = pc.size[row->pred];
                    const double in = (double)row->inter;
                    const double sr = (double)row->n_ref, sp = (double)row->n_pred;
                    row->iou = in / (sr + sp - in);
                    row->dice = 2.0 * in / (sr + sp);
                } else if (pass == 1) {
                    if (ref_to[x] >= 0) continue;
                    row->ref = x;
                    row->n_ref = rc.size[x];
                    row->iou = row->dice = NAN;
                } else {
                    if (pred_to[x] >= 0) continue;
                    row->pred = x;
                    row->n_pred = pc.size[x];
                    row->iou = row->dice = NAN;
                }
                row_box(row, g, &rc, &pc);
                segloss_surface_metrics *sm = &row->surface;
                sm->hd = sm->hd95 = sm->assd = sm->nsd = NAN;
                sm->max_pred_to_ref = sm->max_ref_to_pred = NAN;
                sm->mean_pred_to_ref = sm->mean_ref_to_pred = NAN;
                sm->n_surface_pred = sm->n_surface_ref = -1;
                if (dist) {
                    st = row_surface(row, rr, pr, g, dist);
                    if (st != SEGLOSS_OK) goto done;
                }
                rows[q++] = rw;
            }
        }
        *pairs = rows;
        rows = NULL;
        if (n_pairs) *n_pairs = q;
    }
    st = SEGLOSS_OK;
    goto done;
nomem:
    st = SEGLOSS_ERR_NOMEM;
done:
    if (st != SEGLOSS_OK) memset(out, 0, sizeof *out);
    free(rows);
    pt_free(&t);
    ci_free(&rc);
    ci_free(&pc);
    free(score);
    free(cand);
    free(edge);
    free(ref_to);
    free(pred_to);
    return st;
}

void segloss_instance_pairs_free(segloss_instance_pair *pairs) { free(pairs); }
