/* Connected-component labelling and instance-ID maps.
 *
 * segloss_components: two passes over the voxels in C order with a
 * union-find forest of provisional labels.
 *  - Pass 1: a foreground voxel looks at its already-visited neighbours
 *    (the half of the neighbourhood that precedes it in C order: offsets
 *    (d0,d1,d2) in {-1,0,1}^3, lexicographically < (0,0,0), with at most
 *    `connectivity` nonzero entries: 1, 3 or 13 of them in 3-D at
 *    connectivity 1, 2, 3). No labelled neighbour: a new provisional label;
 *    otherwise the first neighbour's label, united with the others'.
 *    Union keeps the smaller root, finds halve paths.
 *  - Pass 2: each voxel's root gets its final number the first time the
 *    root is met, so components are numbered in scan order of their first
 *    voxel, as scipy.ndimage.label numbers them.
 * Time O(V * neighbours * alpha(V)), memory one int32 per voxel (the output)
 * plus two int32 per provisional label. Equal to scipy.ndimage.label with
 * generate_binary_structure(ndim, connectivity), label for label
 * (tests/test_metric_instances.c, references from tools/ref/gen_instances_ref.py).
 *
 * min_size: component sizes are counted, components of fewer voxels become
 * background and the others are renumbered in the same order.
 *
 * segloss_instances_from_ids: the distinct nonzero IDs, sorted, become
 * 1..n (MONAI's remap_instance_id); an open-addressing hash table maps an ID
 * to its number in O(1) per voxel. */
#include "metric/metric.h"

#include <stdlib.h>
#include <string.h>

segloss_instance_opts segloss_instance_opts_default(void) {
    segloss_instance_opts o;
    memset(&o, 0, sizeof o);
    o.connectivity = 0;
    o.min_size = 0;
    o.match = SEGLOSS_MATCH_IOU;
    o.threshold = 0.5;
    o.assignment = SEGLOSS_ASSIGN_GREEDY;
    o.empty_score = SEGLOSS_EMPTY_SCORE_NAN;
    return o;
}

static int32_t uf_find(int32_t *par, int32_t x) {
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static void uf_union(int32_t *par, int32_t a, int32_t b) {
    a = uf_find(par, a);
    b = uf_find(par, b);
    if (a < b) par[b] = a;
    else if (b < a) par[a] = b;
}

/* Components of fewer than min_size voxels -> 0; the rest renumbered
 * 1..*count in order. */
static segloss_status drop_small(int32_t *labels, int64_t *count, int64_t numel,
                                 int64_t min_size) {
    if (min_size <= 1 || *count == 0) return SEGLOSS_OK;
    int64_t n = *count;
    int64_t *size = calloc((size_t)n + 1, sizeof *size);
    int32_t *map = malloc(((size_t)n + 1) * sizeof *map);
    if (!size || !map) {
        free(size);
        free(map);
        return SEGLOSS_ERR_NOMEM;
    }
    for (int64_t i = 0; i < numel; i++) size[labels[i]]++;
    int32_t next = 0;
    map[0] = 0;
    for (int64_t c = 1; c <= n; c++) map[c] = size[c] >= min_size ? ++next : 0;
    for (int64_t i = 0; i < numel; i++) labels[i] = map[labels[i]];
    *count = next;
    free(size);
    free(map);
    return SEGLOSS_OK;
}

/* Backward neighbour offsets of rank <= conn: (d0, d1, d2) triples. */
static int backward_offsets(int d[13][3], int conn) {
    int k = 0;
    for (int a = -1; a <= 1; a++)
        for (int b = -1; b <= 1; b++)
            for (int c = -1; c <= 1; c++) {
                int before = a < 0 || (a == 0 && (b < 0 || (b == 0 && c < 0)));
                int rank = (a != 0) + (b != 0) + (c != 0);
                if (!before || rank > conn) continue;
                d[k][0] = a;
                d[k][1] = b;
                d[k][2] = c;
                k++;
            }
    return k;
}

segloss_status segloss_components(int32_t *labels, int64_t *count, const uint8_t *mask,
                                  const segloss_shape *shape, int connectivity,
                                  int64_t min_size) {
    if (!labels || !count || !mask || !shape) return SEGLOSS_ERR_NULL;
    *count = 0;
    segloss__grid g;
    segloss_status st = segloss__grid_init(&g, shape, NULL);
    if (st != SEGLOSS_OK) return st;
    if (connectivity == 0) connectivity = g.ndim;
    if (connectivity < 1 || connectivity > g.ndim) return SEGLOSS_ERR_ARG;
    if (g.numel > INT32_MAX - 1) return SEGLOSS_ERR_LIMIT;

    int nb[13][3];
    const int nn = backward_offsets(nb, connectivity);
    int64_t off[13];
    for (int k = 0; k < nn; k++) off[k] = (nb[k][0] * g.n[1] + nb[k][1]) * g.n[2] + nb[k][2];

    /* par[0] is unused (label 0 = background); grown by doubling. */
    size_t cap = 1024;
    int32_t *par = malloc(cap * sizeof *par);
    if (!par) return SEGLOSS_ERR_NOMEM;
    int32_t nprov = 0;
    par[0] = 0;
    for (int64_t i0 = 0; i0 < g.n[0]; i0++) {
        for (int64_t i1 = 0; i1 < g.n[1]; i1++) {
            const int64_t row = (i0 * g.n[1] + i1) * g.n[2];
            for (int64_t i2 = 0; i2 < g.n[2]; i2++) {
                const int64_t i = row + i2;
                if (!mask[i]) {
                    labels[i] = 0;
                    continue;
                }
                int32_t lab = 0;
                for (int k = 0; k < nn; k++) {
                    int64_t j0 = i0 + nb[k][0], j1 = i1 + nb[k][1], j2 = i2 + nb[k][2];
                    if (j0 < 0 || j1 < 0 || j1 >= g.n[1] || j2 < 0 || j2 >= g.n[2]) continue;
                    int32_t l = labels[i + off[k]];
                    if (!l) continue;
                    if (!lab) lab = l;
                    else if (l != lab) uf_union(par, lab, l);
                }
                if (!lab) {
                    if ((size_t)nprov + 1 >= cap) {
                        int32_t *p2 = realloc(par, 2 * cap * sizeof *par);
                        if (!p2) {
                            free(par);
                            return SEGLOSS_ERR_NOMEM;
                        }
                        par = p2;
                        cap *= 2;
                    }
                    lab = ++nprov;
                    par[lab] = lab;
                }
                labels[i] = lab;
            }
        }
    }
    /* Final numbers in scan order of first voxels; map reuses a fresh array. */
    int32_t *fin = calloc((size_t)nprov + 1, sizeof *fin);
    if (!fin) {
        free(par);
        return SEGLOSS_ERR_NOMEM;
    }
    int32_t next = 0;
    for (int64_t i = 0; i < g.numel; i++) {
        int32_t l = labels[i];
        if (!l) continue;
        int32_t r = uf_find(par, l);
        if (!fin[r]) fin[r] = ++next;
        labels[i] = fin[r];
    }
    free(fin);
    free(par);
    *count = next;
    return drop_small(labels, count, g.numel, min_size);
}

segloss_status segloss_label_mask(uint8_t *mask, const segloss_label_array *a, int64_t n,
                                  int64_t label) {
    if (!mask || !a) return SEGLOSS_ERR_NULL;
    segloss_status st = segloss__label_array_check(a);
    if (st != SEGLOSS_OK) return st;
    if (n < 0) return SEGLOSS_ERR_ARG;
    int64_t buf[4096];
    for (int64_t off = 0; off < n; off += 4096) {
        int64_t k = n - off < 4096 ? n - off : 4096;
        st = segloss__load_labels(buf, a->data, a->dtype, off, k);
        if (st != SEGLOSS_OK) return st;
        for (int64_t i = 0; i < k; i++) mask[off + i] = buf[i] == label;
    }
    return SEGLOSS_OK;
}

/* ---------------------------------------------------------------------- */
/* Instance-ID maps                                                         */
/* ---------------------------------------------------------------------- */
typedef struct id_table {
    int64_t *key;
    int32_t *val;      /* 0 = empty slot */
    size_t mask;       /* capacity - 1 (a power of two) */
    int64_t used;
} id_table;

static size_t id_hash(int64_t k, size_t m) {
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & m;
}

static segloss_status id_grow(id_table *t) {
    size_t cap = (t->mask + 1) * 2;
    int64_t *key = malloc(cap * sizeof *key);
    int32_t *val = calloc(cap, sizeof *val);
    if (!key || !val) {
        free(key);
        free(val);
        return SEGLOSS_ERR_NOMEM;
    }
    for (size_t s = 0; s <= t->mask; s++) {
        if (!t->val[s]) continue;
        size_t h = id_hash(t->key[s], cap - 1);
        while (val[h]) h = (h + 1) & (cap - 1);
        key[h] = t->key[s];
        val[h] = t->val[s];
    }
    free(t->key);
    free(t->val);
    t->key = key;
    t->val = val;
    t->mask = cap - 1;
    return SEGLOSS_OK;
}

/* Slot of k (inserting it with value 1 when absent). */
static segloss_status id_slot(id_table *t, int64_t k, size_t *slot) {
    if ((size_t)(t->used + 1) * 2 > t->mask + 1) {
        segloss_status st = id_grow(t);
        if (st != SEGLOSS_OK) return st;
    }
    size_t h = id_hash(k, t->mask);
    while (t->val[h] && t->key[h] != k) h = (h + 1) & t->mask;
    if (!t->val[h]) {
        t->key[h] = k;
        t->val[h] = 1;
        t->used++;
    }
    *slot = h;
    return SEGLOSS_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#define ID_CHUNK 4096

segloss_status segloss_instances_from_ids(int32_t *labels, int64_t *count,
                                          const segloss_label_array *ids, const uint8_t *mask,
                                          int64_t numel, int64_t min_size) {
    if (!labels || !count || !ids) return SEGLOSS_ERR_NULL;
    *count = 0;
    segloss_status st = segloss__label_array_check(ids);
    if (st != SEGLOSS_OK) return st;
    if (numel < 0) return SEGLOSS_ERR_ARG;
    if (numel > INT32_MAX - 1) return SEGLOSS_ERR_LIMIT;
    id_table t = {NULL, NULL, 63, 0};
    t.key = malloc(64 * sizeof *t.key);
    t.val = calloc(64, sizeof *t.val);
    int64_t buf[ID_CHUNK];
    int64_t *keys = NULL;
    if (!t.key || !t.val) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    /* Pass 1: the distinct IDs. */
    for (int64_t off = 0; off < numel && st == SEGLOSS_OK; off += ID_CHUNK) {
        int64_t n = numel - off < ID_CHUNK ? numel - off : ID_CHUNK;
        st = segloss__load_labels(buf, ids->data, ids->dtype, off, n);
        for (int64_t k = 0; k < n && st == SEGLOSS_OK; k++) {
            size_t s;
            if (buf[k] != 0 && (!mask || mask[off + k])) st = id_slot(&t, buf[k], &s);
        }
    }
    if (st != SEGLOSS_OK) goto done;
    if (t.used > INT32_MAX - 1) {
        st = SEGLOSS_ERR_LIMIT;
        goto done;
    }
    /* Sorted IDs -> 1..n. */
    keys = malloc((size_t)(t.used ? t.used : 1) * sizeof *keys);
    if (!keys) {
        st = SEGLOSS_ERR_NOMEM;
        goto done;
    }
    int64_t m = 0;
    for (size_t s = 0; s <= t.mask; s++)
        if (t.val[s]) keys[m++] = t.key[s];
    qsort(keys, (size_t)m, sizeof *keys, cmp_i64);
    for (int64_t r = 0; r < m; r++) {
        size_t s;
        st = id_slot(&t, keys[r], &s);
        if (st != SEGLOSS_OK) goto done;
        t.val[s] = (int32_t)(r + 1);
    }
    /* Pass 2: relabel. */
    for (int64_t off = 0; off < numel && st == SEGLOSS_OK; off += ID_CHUNK) {
        int64_t n = numel - off < ID_CHUNK ? numel - off : ID_CHUNK;
        st = segloss__load_labels(buf, ids->data, ids->dtype, off, n);
        for (int64_t k = 0; k < n && st == SEGLOSS_OK; k++) {
            size_t s = 0;
            if (buf[k] == 0 || (mask && !mask[off + k])) {
                labels[off + k] = 0;
                continue;
            }
            st = id_slot(&t, buf[k], &s);
            labels[off + k] = t.val[s];
        }
    }
    if (st != SEGLOSS_OK) goto done;
    *count = m;
    st = drop_small(labels, count, numel, min_size);
done:
    free(keys);
    free(t.key);
    free(t.val);
    return st;
}
