/* Label maps: per-label confusion counts and bounding boxes in one pass
 * (element access: label_access.c).
 *
 * The scan walks the volume row by row (innermost axis) and cuts each row
 * into runs on which both the prediction and the reference label are
 * constant; a run costs one or two table updates whatever its length, so a
 * label map (long runs) is scanned at memory speed. Labels live in an
 * open-addressing hash table (any int64 label, no range assumption) with a
 * one-entry cache per input, so consecutive runs of one label skip the hash.
 * Counts are integers and boxes are min/max: results are exact and
 * independent of any traversal order, which is what makes sets mergeable. */
#include "metric/metric.h"

#include <math.h>
#include <stdlib.h>

segloss_status segloss__grid_init(segloss__grid *g, const segloss_shape *shape,
                                  const double *spacing) {
    if (!shape) return SEGLOSS_ERR_NULL;
    if (shape->ndim < 1 || shape->ndim > 3) return SEGLOSS_ERR_SHAPE;
    /* Own check rather than the core helper: every dim >= 1 and the byte
     * size of an 8-byte-element array must fit in size_t and int64. */
    int64_t numel = 1;
    int64_t limit = (int64_t)((SIZE_MAX / 8) < (size_t)(INT64_MAX / 8) ? SIZE_MAX / 8
                                                                       : (size_t)(INT64_MAX / 8));
    for (int d = 0; d < shape->ndim; d++) {
        int64_t n = shape->dim[d];
        if (n < 0) return SEGLOSS_ERR_SHAPE;
        if (n == 0) return SEGLOSS_ERR_EMPTY;
        if (numel > limit / n) return SEGLOSS_ERR_OVERFLOW;
        numel *= n;
    }
    g->ndim = shape->ndim;
    g->numel = numel;
    int pad = 3 - shape->ndim;
    for (int a = 0; a < 3; a++) {
        g->n[a] = a < pad ? 1 : shape->dim[a - pad];
        g->sp[a] = 1.0;
    }
    if (spacing) {
        for (int d = 0; d < shape->ndim; d++) {
            double s = spacing[d];
            if (!(s >= 0.0) || !isfinite(s)) return SEGLOSS_ERR_ARG;
            g->sp[pad + d] = s == 0.0 ? 1.0 : s;
        }
    }
    return SEGLOSS_OK;
}

segloss_status segloss__label_array_check(const segloss_label_array *a) {
    if (!a || !a->data) return SEGLOSS_ERR_NULL;
    switch (a->dtype) {
    case SEGLOSS_BOOL: case SEGLOSS_U8: case SEGLOSS_I8: case SEGLOSS_I16: case SEGLOSS_U16:
    case SEGLOSS_I32: case SEGLOSS_U32: case SEGLOSS_I64: case SEGLOSS_U64:
        return SEGLOSS_OK;
    case SEGLOSS_F32: case SEGLOSS_F64:
        return SEGLOSS_ERR_DTYPE;
    }
    return SEGLOSS_ERR_DTYPE;
}

/* ------------------------------------------------------------------------ */
/* Label table                                                               */
/* ------------------------------------------------------------------------ */

typedef struct table {
    segloss_label_stats *items;  /* boxes in padded 3-D coordinates, hi inclusive */
    int64_t count, cap;
    int64_t *slot;               /* hash slots: item index or -1 */
    int64_t nslots;              /* power of two */
} table;

static uint64_t hash64(int64_t key) {
    uint64_t x = (uint64_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static segloss_status table_init(table *t) {
    t->count = 0;
    t->cap = 16; /* grown by doubling: a few labels per block are the rule */
    t->nslots = 64;
    t->items = malloc((size_t)t->cap * sizeof *t->items);
    t->slot = malloc((size_t)t->nslots * sizeof *t->slot);
    if (!t->items || !t->slot) return SEGLOSS_ERR_NOMEM;
    for (int64_t i = 0; i < t->nslots; i++) t->slot[i] = -1;
    return SEGLOSS_OK;
}

static void table_free(table *t) {
    free(t->items);
    free(t->slot);
    t->items = NULL;
    t->slot = NULL;
}

static segloss_status table_grow_slots(table *t) {
    int64_t ns = t->nslots * 2;
    int64_t *slot = malloc((size_t)ns * sizeof *slot);
    if (!slot) return SEGLOSS_ERR_NOMEM;
    for (int64_t i = 0; i < ns; i++) slot[i] = -1;
    for (int64_t i = 0; i < t->count; i++) {
        uint64_t h = hash64(t->items[i].label) & (uint64_t)(ns - 1);
        while (slot[h] >= 0) h = (h + 1) & (uint64_t)(ns - 1);
        slot[h] = i;
    }
    free(t->slot);
    t->slot = slot;
    t->nslots = ns;
    return SEGLOSS_OK;
}

/* Index of label's entry, created (zero counts, empty box) if new; -1 on
 * allocation failure. */
static int64_t table_get(table *t, int64_t label) {
    uint64_t mask = (uint64_t)(t->nslots - 1);
    uint64_t h = hash64(label) & mask;
    while (t->slot[h] >= 0) {
        if (t->items[t->slot[h]].label == label) return t->slot[h];
        h = (h + 1) & mask;
    }
    if (t->count == t->cap) {
        int64_t nc = t->cap * 2;
        segloss_label_stats *it = realloc(t->items, (size_t)nc * sizeof *it);
        if (!it) return -1;
        t->items = it;
        t->cap = nc;
    }
    int64_t i = t->count++;
    segloss_label_stats *e = &t->items[i];
    memset(e, 0, sizeof *e);
    e->label = label;
    for (int a = 0; a < 3; a++) {
        e->box_lo[a] = INT64_MAX;
        e->box_hi[a] = -1;
    }
    t->slot[h] = i;
    if (2 * t->count > t->nslots && table_grow_slots(t) != SEGLOSS_OK) return -1;
    return i;
}

/* Adds a run [k0, k1) of row (i0, i1) to a box (padded coords, hi inclusive). */
static inline void box_add(segloss_label_stats *e, int64_t i0, int64_t i1, int64_t k0,
                           int64_t k1) {
    if (i0 < e->box_lo[0]) e->box_lo[0] = i0;
    if (i0 > e->box_hi[0]) e->box_hi[0] = i0;
    if (i1 < e->box_lo[1]) e->box_lo[1] = i1;
    if (i1 > e->box_hi[1]) e->box_hi[1] = i1;
    if (k0 < e->box_lo[2]) e->box_lo[2] = k0;
    if (k1 - 1 > e->box_hi[2]) e->box_hi[2] = k1 - 1;
}

/* End of the run of equal stored values that starts at element off + k of
 * src: the smallest e in (k, n) with src[off + e] != src[off + k], or n. (For
 * bool, bytes 1 and 2 make different runs of the same label: harmless, runs
 * only need to be constant.)
 *
 * Label maps are mostly long runs (background above all), so a run is
 * first followed 32 bytes at a time: four 8-byte words compared with the
 * run's value repeated to fill a word (element sizes divide 8 and the words
 * start on an element, so each word holds whole elements), which compilers
 * turn into a few vector instructions; the element-wise loop then finds
 * the end inside the last block. */
#define RUN_CASE(DT, T)                                                     \
    case DT: {                                                              \
        const T *s = (const T *)src + off;                                  \
        const T v = s[k];                                                   \
        while (e < n && s[e] == v) e++;                                     \
        return e;                                                           \
    }

static int64_t run_end(const void *src, segloss_dtype dtype, int64_t off, int64_t k, int64_t n) {
    const size_t es = segloss_dtype_size(dtype);
    const unsigned char *row = (const unsigned char *)src + (size_t)off * es;
    uint64_t pat = 0;
    for (size_t b = 0; b < 8; b += es) memcpy((unsigned char *)&pat + b, row + (size_t)k * es, es);
    size_t pos = (size_t)(k + 1) * es;
    const size_t end = (size_t)n * es;
    while (pos + 32 <= end) {
        uint64_t w[4];
        memcpy(w, row + pos, sizeof w);
        if (((w[0] ^ pat) | (w[1] ^ pat) | (w[2] ^ pat) | (w[3] ^ pat)) != 0) break;
        pos += 32;
    }
    int64_t e = (int64_t)(pos / es);
    switch (dtype) {
    RUN_CASE(SEGLOSS_BOOL, uint8_t)
    RUN_CASE(SEGLOSS_U8, uint8_t)
    RUN_CASE(SEGLOSS_I8, int8_t)
    RUN_CASE(SEGLOSS_I16, int16_t)
    RUN_CASE(SEGLOSS_U16, uint16_t)
    RUN_CASE(SEGLOSS_I32, int32_t)
    RUN_CASE(SEGLOSS_U32, uint32_t)
    RUN_CASE(SEGLOSS_I64, int64_t)
    RUN_CASE(SEGLOSS_U64, uint64_t)
    case SEGLOSS_F32: case SEGLOSS_F64:
        break;
    }
    return n;
}

static int cmp_label(const void *a, const void *b) {
    int64_t x = ((const segloss_label_stats *)a)->label;
    int64_t y = ((const segloss_label_stats *)b)->label;
    return (x > y) - (x < y);
}

/* Rows [r0, r1) of the volume (row r: i0 = r / n1, i1 = r % n1) into t.
 * pz, rz (may be NULL): rows of pred / ref known to hold only zeros, taken
 * as one run of 0 without being read. */
static segloss_status scan_rows(table *t, const segloss_label_array *pred,
                                const segloss_label_array *ref, const uint8_t *pz,
                                const uint8_t *rz, const segloss__grid *g, int64_t r0,
                                int64_t r1) {
    const int64_t n2 = g->n[2];
    segloss_status st = SEGLOSS_OK;
    /* one-entry caches: last label seen in pred / ref and its index */
    int64_t pl = 0, pi = -1, rl = 0, ri = -1;
    for (int64_t row = r0; row < r1 && st == SEGLOSS_OK; row++) {
        const int64_t i0 = row / g->n[1], i1 = row % g->n[1];
        const int64_t off = row * n2;
        const int pzero = pz && pz[row], rzero = rz && rz[row];
        if (pzero && rzero) continue;
        /* [k, pe) and [k, re): runs of one stored value in pred / ref;
         * each array is read once, in its own type */
        int64_t k = 0, pe = pzero ? n2 : 0, re = rzero ? n2 : 0, p = 0, r = 0;
        while (k < n2) {
            if (k >= pe) {
                st = segloss__load_labels(&p, pred->data, pred->dtype, off + k, 1);
                pe = run_end(pred->data, pred->dtype, off, k, n2);
            }
            if (k >= re && st == SEGLOSS_OK) {
                st = segloss__load_labels(&r, ref->data, ref->dtype, off + k, 1);
                re = run_end(ref->data, ref->dtype, off, k, n2);
            }
            if (st != SEGLOSS_OK) break;
            const int64_t e = pe < re ? pe : re;
            if (p != 0) {
                if (pi < 0 || pl != p) {
                    pi = table_get(t, p);
                    pl = p;
                    if (pi < 0) return SEGLOSS_ERR_NOMEM;
                }
                segloss_label_stats *s = &t->items[pi];
                if (p == r) s->conf.tp += e - k;
                else s->conf.fp += e - k;
                box_add(s, i0, i1, k, e);
            }
            if (r != 0 && r != p) {
                if (ri < 0 || rl != r) {
                    ri = table_get(t, r);
                    rl = r;
                    if (ri < 0) return SEGLOSS_ERR_NOMEM;
                }
                segloss_label_stats *s = &t->items[ri];
                s->conf.fn += e - k;
                box_add(s, i0, i1, k, e);
            }
            k = e;
        }
    }
    return st;
}

/* The scan in parallel: the rows are cut into blocks of about SCAN_BLOCK
 * voxels (a partition that depends only on the shape), each block counts
 * into its own table, and the tables are added up in block order. Counts
 * are integers and boxes min/max, so the sums are exact: the result does
 * not depend on the number of threads, and the error reported is the first
 * failing block's, the one a single pass meets first. */
#define SCAN_BLOCK ((int64_t)1 << 21)

typedef struct scan_job {
    const segloss_label_array *pred, *ref;
    const uint8_t *pz, *rz;
    const segloss__grid *g;
    int64_t rows, rows_per_block;
    table *tables;
} scan_job;

static segloss_status scan_block(void *ctx, int64_t b) {
    scan_job *j = ctx;
    int64_t r0 = b * j->rows_per_block;
    int64_t r1 = r0 + j->rows_per_block < j->rows ? r0 + j->rows_per_block : j->rows;
    segloss_status st = table_init(&j->tables[b]);
    if (st == SEGLOSS_OK) st = scan_rows(&j->tables[b], j->pred, j->ref, j->pz, j->rz, j->g, r0, r1);
    return st;
}

/* acc += t: counts added, boxes (padded, inclusive) united. */
static segloss_status table_add(table *acc, const table *t) {
    for (int64_t i = 0; i < t->count; i++) {
        const segloss_label_stats *s = &t->items[i];
        int64_t k = table_get(acc, s->label);
        if (k < 0) return SEGLOSS_ERR_NOMEM;
        segloss_label_stats *e = &acc->items[k];
        e->conf.tp += s->conf.tp;
        e->conf.fp += s->conf.fp;
        e->conf.fn += s->conf.fn;
        for (int a = 0; a < 3; a++) {
            if (s->box_lo[a] < e->box_lo[a]) e->box_lo[a] = s->box_lo[a];
            if (s->box_hi[a] > e->box_hi[a]) e->box_hi[a] = s->box_hi[a];
        }
    }
    return SEGLOSS_OK;
}

static segloss_status scan_all(table *out, const segloss_label_array *pred,
                               const segloss_label_array *ref, const uint8_t *pz,
                               const uint8_t *rz, const segloss__grid *g) {
    const int64_t rows = g->n[0] * g->n[1];
    int64_t per = SCAN_BLOCK / g->n[2];
    if (per < 1) per = 1;
    const int64_t nblocks = (rows + per - 1) / per;
    if (nblocks <= 1) {
        segloss_status st = table_init(out);
        return st == SEGLOSS_OK ? scan_rows(out, pred, ref, pz, rz, g, 0, rows) : st;
    }
    table *tables = calloc((size_t)nblocks, sizeof *tables);
    if (!tables) {
        memset(out, 0, sizeof *out);
        return SEGLOSS_ERR_NOMEM;
    }
    scan_job job = {pred, ref, pz, rz, g, rows, per, tables};
    segloss_status st = segloss__for_items(nblocks, scan_block, &job);
    for (int64_t b = 1; b < nblocks && st == SEGLOSS_OK; b++) st = table_add(&tables[0], &tables[b]);
    for (int64_t b = 1; b < nblocks; b++) table_free(&tables[b]);
    *out = tables[0];
    free(tables);
    return st;
}

segloss_status segloss_label_scan(segloss_label_set *out, const segloss_label_array *pred,
                                  const segloss_label_array *ref, const segloss_shape *shape) {
    return segloss_label_scan_rows(out, pred, NULL, ref, NULL, shape);
}

/* Whether n bytes hold only zeros: 8-byte words or-ed, 64 bytes a step. */
static int all_zero(const unsigned char *b, size_t n) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t w[8], o = 0;
        memcpy(w, b + i, sizeof w);
        for (int k = 0; k < 8; k++) o |= w[k];
        if (o) return 0;
    }
    unsigned char o = 0;
    for (; i < n; i++) o |= b[i];
    return o == 0;
}

segloss_status segloss_label_rows_zero(uint8_t *zero, const segloss_label_array *a,
                                       const segloss_shape *shape) {
    if (!zero) return SEGLOSS_ERR_NULL;
    segloss_status st = segloss__label_array_check(a);
    if (st != SEGLOSS_OK) return st;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, NULL);
    if (st != SEGLOSS_OK) return st;
    /* every integer dtype (bool included) stores 0 as all-zero bytes */
    const size_t row = (size_t)g.n[2] * segloss_dtype_size(a->dtype);
    const unsigned char *d = a->data;
    for (int64_t r = 0; r < g.n[0] * g.n[1]; r++) zero[r] = (uint8_t)all_zero(d + (size_t)r * row, row);
    return SEGLOSS_OK;
}

segloss_status segloss_label_scan_rows(segloss_label_set *out, const segloss_label_array *pred,
                                       const uint8_t *pred_zero, const segloss_label_array *ref,
                                       const uint8_t *ref_zero, const segloss_shape *shape) {
    if (!out) return SEGLOSS_ERR_NULL;
    out->items = NULL;
    out->count = 0;
    out->numel = 0;
    segloss_status st = segloss__label_array_check(pred);
    if (st == SEGLOSS_OK) st = segloss__label_array_check(ref);
    if (st != SEGLOSS_OK) return st;
    segloss__grid g;
    st = segloss__grid_init(&g, shape, NULL);
    if (st != SEGLOSS_OK) return st;

    table t;
    st = scan_all(&t, pred, ref, pred_zero, ref_zero, &g);
    if (st != SEGLOSS_OK) {
        table_free(&t);
        return st;
    }
    /* padded inclusive boxes -> real axes, half-open */
    int pad = 3 - g.ndim;
    for (int64_t i = 0; i < t.count; i++) {
        segloss_label_stats *e = &t.items[i];
        int64_t lo[3], hi[3];
        for (int a = 0; a < 3; a++) {
            lo[a] = e->box_lo[a];
            hi[a] = e->box_hi[a] + 1;
        }
        for (int d = 0; d < 3; d++) {
            e->box_lo[d] = d < g.ndim ? lo[pad + d] : 0;
            e->box_hi[d] = d < g.ndim ? hi[pad + d] : 1;
        }
        e->conf.tn = g.numel - e->conf.tp - e->conf.fp - e->conf.fn;
    }
    if (t.count > 1) qsort(t.items, (size_t)t.count, sizeof *t.items, cmp_label);
    free(t.slot);
    out->items = t.items;
    out->count = t.count;
    out->numel = g.numel;
    return SEGLOSS_OK;
}

static int box_empty(const segloss_label_stats *s) {
    for (int d = 0; d < 3; d++)
        if (s->box_hi[d] <= s->box_lo[d]) return 1;
    return 0;
}

segloss_status segloss_label_set_merge(segloss_label_set *acc, const segloss_label_set *other) {
    if (!acc || !other) return SEGLOSS_ERR_NULL;
    if ((acc->count && !acc->items) || (other->count && !other->items) || acc->count < 0 ||
        other->count < 0)
        return SEGLOSS_ERR_ARG;
    if (acc->numel > INT64_MAX - other->numel) return SEGLOSS_ERR_OVERFLOW;
    int64_t n = acc->count + other->count;
    segloss_label_stats *m = malloc((size_t)(n ? n : 1) * sizeof *m);
    if (!m) return SEGLOSS_ERR_NOMEM;
    int64_t numel = acc->numel + other->numel;
    int64_t i = 0, j = 0, k = 0;
    while (i < acc->count || j < other->count) {
        const segloss_label_stats *a = i < acc->count ? &acc->items[i] : NULL;
        const segloss_label_stats *b = j < other->count ? &other->items[j] : NULL;
        if (a && (!b || a->label < b->label)) {
            m[k] = *a;
            i++;
        } else if (!a || b->label < a->label) {
            m[k] = *b;
            j++;
        } else {
            m[k] = *a;
            m[k].conf.tp += b->conf.tp;
            m[k].conf.fp += b->conf.fp;
            m[k].conf.fn += b->conf.fn;
            if (box_empty(a)) {
                for (int d = 0; d < 3; d++) {
                    m[k].box_lo[d] = b->box_lo[d];
                    m[k].box_hi[d] = b->box_hi[d];
                }
            } else if (!box_empty(b)) {
                for (int d = 0; d < 3; d++) {
                    if (b->box_lo[d] < m[k].box_lo[d]) m[k].box_lo[d] = b->box_lo[d];
                    if (b->box_hi[d] > m[k].box_hi[d]) m[k].box_hi[d] = b->box_hi[d];
                }
            }
            i++;
            j++;
        }
        m[k].conf.tn = numel - m[k].conf.tp - m[k].conf.fp - m[k].conf.fn;
        k++;
    }
    free(acc->items);
    acc->items = m;
    acc->count = k;
    acc->numel = numel;
    return SEGLOSS_OK;
}

void segloss_label_set_get(segloss_label_stats *out, const segloss_label_set *set,
                           int64_t label) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->label = label;
    if (!set) return;
    out->conf.tn = set->numel;
    int64_t lo = 0, hi = set->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (set->items[mid].label < label) lo = mid + 1;
        else hi = mid;
    }
    if (lo < set->count && set->items[lo].label == label) *out = set->items[lo];
}

void segloss_label_set_free(segloss_label_set *set) {
    if (!set) return;
    free(set->items);
    set->items = NULL;
    set->count = 0;
    set->numel = 0;
}
