/* Foreground runs and their connected components.
 *
 * A row of the padded grid is split into maximal runs of foreground
 * voxels; labelling works on runs, not voxels (the run-based form of the
 * classic two-pass algorithm): run u in row (i0, i1) and run v in an
 * earlier neighbouring row (i0 + d0, i1 + d1), (d0, d1) in {-1,0}x{-1,0,1}
 * before (0, 0), are connected when their columns overlap with a slack of
 * one column if the neighbour offset (d0, d1, +-1) still has rank <= conn,
 * and of none otherwise (rank = number of nonzero offsets: a face
 * neighbour row at conn 1 needs shared columns, an edge neighbour row at
 * conn 3 may touch diagonally). Runs of one row never touch (they are
 * maximal; for ID maps two different IDs side by side are two runs of
 * different instances and are not merged). Union-find over runs, smaller
 * root kept, then numbering in scan order of the first run.
 *
 * Cost: one pass over the voxels to find the runs (the label compare of
 * segloss__mask_row, a row at a time), then O(runs x runs in the
 * neighbouring rows) with two pointers per neighbour row; memory O(rows +
 * runs). Equal to scipy.ndimage.label with generate_binary_structure(ndim,
 * conn) (tests/test_metric_instances.c). */
#include "metric/metric.h"

#include <stdlib.h>
#include <string.h>

void segloss__runs_free(segloss__runs *r) {
    free(r->row_start);
    free(r->start);
    free(r->end);
    free(r->val);
    free(r->comp);
    memset(r, 0, sizeof *r);
}

static segloss_status push(segloss__runs *r, int64_t s, int64_t e, int64_t v, int ids) {
    if (r->n == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 1024;
        int64_t *a = realloc(r->start, (size_t)cap * sizeof *a);
        if (a) r->start = a;
        int64_t *b = realloc(r->end, (size_t)cap * sizeof *b);
        if (b) r->end = b;
        int64_t *c = ids ? realloc(r->val, (size_t)cap * sizeof *c) : r->val;
        if (c) r->val = c;
        if (!a || !b || (ids && !c)) return SEGLOSS_ERR_NOMEM;
        r->cap = cap;
    }
    r->start[r->n] = s;
    r->end[r->n] = e;
    if (ids) r->val[r->n] = v;
    r->n++;
    return SEGLOSS_OK;
}

/* Nonzero when the n bytes at p are all zero (8 at a time). */
static int all_zero(const unsigned char *p, size_t n) {
    uint64_t acc = 0;
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        uint64_t w[4];
        memcpy(w, p + k, sizeof w);
        if (w[0] | w[1] | w[2] | w[3]) return 0;
    }
    for (; k < n; k++) acc |= p[k];
    return acc == 0;
}

segloss_status segloss__runs_build(segloss__runs *r, const segloss__grid *g,
                                   const segloss_label_array *a, int64_t label, int mode,
                                   const uint8_t *mask) {
    memset(r, 0, sizeof *r);
    const int64_t n2 = g->n[2];
    const size_t esize = segloss_dtype_size(a->dtype);
    r->nrows = g->n[0] * g->n[1];
    r->row_start = malloc(((size_t)r->nrows + 1) * sizeof *r->row_start);
    uint8_t *m = mode == SEGLOSS__RUNS_IDS ? NULL : malloc((size_t)n2);
    int64_t *v = mode == SEGLOSS__RUNS_IDS ? malloc((size_t)n2 * sizeof *v) : NULL;
    segloss_status st = SEGLOSS_OK;
    if (!r->row_start || (!m && !v)) st = SEGLOSS_ERR_NOMEM;
    for (int64_t row = 0; row < r->nrows && st == SEGLOSS_OK; row++) {
        const int64_t off = row * n2;
        r->row_start[row] = r->n;
        /* A row whose bytes are all zero holds only value 0: no runs
         * (lesion maps are mostly such rows). */
        if ((mode != SEGLOSS__RUNS_LABEL || label != 0) &&
            all_zero((const unsigned char *)a->data + (size_t)off * esize, (size_t)n2 * esize))
            continue;
        if (m) {
            memset(m, 0, (size_t)n2);
            segloss__mask_row(m, a->data, a->dtype, off, n2, label,
                              mode == SEGLOSS__RUNS_NONZERO, 1);
            if (a->dtype == SEGLOSS_U64 && mode == SEGLOSS__RUNS_LABEL) {
                /* values above INT64_MAX are an error, as in every scan */
                const uint64_t *u = (const uint64_t *)a->data + off;
                for (int64_t k = 0; k < n2; k++)
                    if (u[k] > (uint64_t)INT64_MAX) st = SEGLOSS_ERR_DOMAIN;
            }
            if (mask)
                for (int64_t k = 0; k < n2; k++) m[k] &= mask[off + k] != 0;
            for (int64_t k = 0; k < n2 && st == SEGLOSS_OK;) {
                const uint8_t *z = memchr(m + k, 1, (size_t)(n2 - k));
                if (!z) break;
                int64_t s = z - m, e = s + 1;
                while (e < n2 && m[e]) e++;
                st = push(r, s, e, 0, 0);
                k = e;
            }
        } else {
            st = segloss__load_labels(v, a->data, a->dtype, off, n2);
            if (mask)
                for (int64_t k = 0; k < n2; k++)
                    if (!mask[off + k]) v[k] = 0;
            for (int64_t k = 0; k < n2 && st == SEGLOSS_OK;) {
                if (!v[k]) {
                    k++;
                    continue;
                }
                int64_t e = k + 1;
                while (e < n2 && v[e] == v[k]) e++;
                st = push(r, k, e, v[k], 1);
                k = e;
            }
        }
    }
    if (st == SEGLOSS_OK) {
        r->row_start[r->nrows] = r->n;
        r->comp = malloc((size_t)(r->n ? r->n : 1) * sizeof *r->comp);
        if (!r->comp) st = SEGLOSS_ERR_NOMEM;
    }
    if (st == SEGLOSS_OK && r->n > INT32_MAX - 1) st = SEGLOSS_ERR_LIMIT;
    free(m);
    free(v);
    if (st != SEGLOSS_OK) segloss__runs_free(r);
    return st;
}

static int64_t find(int64_t *par, int64_t x) {
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static void unite(int64_t *par, int64_t a, int64_t b) {
    a = find(par, a);
    b = find(par, b);
    if (a < b) par[b] = a;
    else if (b < a) par[a] = b;
}

segloss_status segloss__runs_label(segloss__runs *r, const segloss__grid *g, int conn) {
    int64_t *par = malloc((size_t)(r->n ? r->n : 1) * sizeof *par);
    if (!par) return SEGLOSS_ERR_NOMEM;
    for (int64_t u = 0; u < r->n; u++) par[u] = u;
    /* earlier neighbour rows: (d0, d1) before (0, 0) in C order */
    static const int nb[4][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}};
    for (int64_t i0 = 0; i0 < g->n[0]; i0++)
        for (int64_t i1 = 0; i1 < g->n[1]; i1++) {
            const int64_t row = i0 * g->n[1] + i1;
            const int64_t u0 = r->row_start[row], u1 = r->row_start[row + 1];
            if (u0 == u1) continue;
            for (int q = 0; q < 4; q++) {
                const int rank = (nb[q][0] != 0) + (nb[q][1] != 0);
                if (rank > conn) continue;
                const int64_t j0 = i0 + nb[q][0], j1 = i1 + nb[q][1];
                if (j0 < 0 || j1 < 0 || j1 >= g->n[1]) continue;
                const int64_t slack = rank + 1 <= conn ? 1 : 0;
                const int64_t nrow = j0 * g->n[1] + j1;
                int64_t v = r->row_start[nrow];
                const int64_t v1 = r->row_start[nrow + 1];
                for (int64_t u = u0; u < u1 && v < v1; u++) {
                    /* runs v of the other row touching [start-slack, end+slack) */
                    while (v < v1 && r->end[v] + slack <= r->start[u]) v++;
                    for (int64_t w = v; w < v1 && r->start[w] < r->end[u] + slack; w++)
                        unite(par, u, w);
                }
            }
        }
    /* numbers in scan order of the first run of each root */
    int32_t *num = calloc((size_t)(r->n ? r->n : 1), sizeof *num);
    if (!num) {
        free(par);
        return SEGLOSS_ERR_NOMEM;
    }
    int32_t next = 0;
    for (int64_t u = 0; u < r->n; u++) {
        int64_t root = find(par, u);
        if (!num[root]) num[root] = ++next;
        r->comp[u] = num[root];
    }
    r->count = next;
    free(num);
    free(par);
    return SEGLOSS_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

segloss_status segloss__runs_number_ids(segloss__runs *r) {
    int64_t *ids = malloc((size_t)(r->n ? r->n : 1) * sizeof *ids);
    if (!ids) return SEGLOSS_ERR_NOMEM;
    if (r->n) memcpy(ids, r->val, (size_t)r->n * sizeof *ids);
    qsort(ids, (size_t)r->n, sizeof *ids, cmp_i64);
    int64_t m = 0;
    for (int64_t k = 0; k < r->n; k++)
        if (m == 0 || ids[m - 1] != ids[k]) ids[m++] = ids[k];
    if (m > INT32_MAX - 1) {
        free(ids);
        return SEGLOSS_ERR_LIMIT;
    }
    for (int64_t u = 0; u < r->n; u++) {
        int64_t lo = 0, hi = m - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (ids[mid] < r->val[u]) lo = mid + 1;
            else hi = mid;
        }
        r->comp[u] = (int32_t)(lo + 1);
    }
    r->count = m;
    free(ids);
    return SEGLOSS_OK;
}

segloss_status segloss__runs_ids_as_given(segloss__runs *r, int64_t count) {
    for (int64_t u = 0; u < r->n; u++) {
        if (r->val[u] < 1 || r->val[u] > count) return SEGLOSS_ERR_ARG;
        r->comp[u] = (int32_t)r->val[u];
    }
    r->count = count;
    return SEGLOSS_OK;
}

segloss_status segloss__runs_drop_small(segloss__runs *r, int64_t min_size) {
    if (min_size <= 1 || r->count == 0) return SEGLOSS_OK;
    int64_t *size = calloc((size_t)r->count + 1, sizeof *size);
    int32_t *map = malloc(((size_t)r->count + 1) * sizeof *map);
    if (!size || !map) {
        free(size);
        free(map);
        return SEGLOSS_ERR_NOMEM;
    }
    for (int64_t u = 0; u < r->n; u++) size[r->comp[u]] += r->end[u] - r->start[u];
    int32_t next = 0;
    map[0] = 0;
    for (int64_t c = 1; c <= r->count; c++) map[c] = size[c] >= min_size ? ++next : 0;
    /* compact the runs, rows kept in order */
    int64_t w = 0;
    for (int64_t row = 0; row < r->nrows; row++) {
        const int64_t u0 = r->row_start[row], u1 = r->row_start[row + 1];
        r->row_start[row] = w;
        for (int64_t u = u0; u < u1; u++) {
            int32_t c = map[r->comp[u]];
            if (!c) continue;
            r->start[w] = r->start[u];
            r->end[w] = r->end[u];
            if (r->val) r->val[w] = r->val[u];
            r->comp[w++] = c;
        }
    }
    r->row_start[r->nrows] = w;
    r->n = w;
    r->count = next;
    free(size);
    free(map);
    return SEGLOSS_OK;
}

void segloss__runs_write(int32_t *labels, const segloss__runs *r, const segloss__grid *g) {
    const int64_t n2 = g->n[2];
    for (int64_t row = 0; row < r->nrows; row++) {
        int32_t *d = labels + row * n2;
        int64_t k = 0;
        for (int64_t u = r->row_start[row]; u < r->row_start[row + 1]; u++) {
            for (; k < r->start[u]; k++) d[k] = 0;
            for (; k < r->end[u]; k++) d[k] = r->comp[u];
        }
        for (; k < n2; k++) d[k] = 0;
    }
}
