/* segloss_target_check and segloss_input_check: the decoder's rules with
 * the location of the first offending element.
 *
 * [0, n) is cut into SEGLOSS_BLOCK blocks checked in parallel; each block
 * records its first bad offset, its ignored count and its count of bad
 * elements; the lowest failing block gives the index, so the report does not
 * depend on the thread count. */
#include "core/target.h"

#include <math.h>
#include <stdlib.h>

typedef struct check_ctx {
    const segloss_target *t;   /* target check; NULL for inputs */
    segloss_target_kind kind;
    int64_t classes, ignore;
    const float *x;            /* input check */
    segloss_input_rule rule;
    int64_t n;
    int64_t *bad;              /* per block: first bad offset, -1 if none */
    int64_t *ignored;          /* per block */
    int64_t *count;            /* per block: offending elements */
} check_ctx;

/* The first offending offset in [from, len) of block b (-1: none) and the
 * status it gives. */
static segloss_status first_bad(const check_ctx *c, int64_t begin, int64_t from, int64_t len,
                                int64_t *bad, int64_t *valid) {
    segloss_status st = SEGLOSS_OK;
    *bad = -1;
    *valid = len - from;
    if (c->t) {
        if (c->kind == SEGLOSS_TARGET_INDEX) {
            int64_t idx[SEGLOSS_BLOCK];
            st = segloss__decode_index(idx, NULL, valid, bad, c->t, begin + from, len - from,
                                       c->classes, c->ignore);
        } else {
            double y[SEGLOSS_BLOCK];
            st = segloss__decode_dense_d(y, NULL, valid, bad, c->t, begin + from, len - from,
                                         c->ignore);
        }
    } else {
        const float *x = c->x + begin + from;
        for (int64_t i = 0; i < len - from && *bad < 0; i++) {
            int ok = c->rule == SEGLOSS_INPUT_PROB ? (x[i] >= 0.0f && x[i] <= 1.0f)
                                                   : isfinite(x[i]);
            if (!ok) *bad = i;
        }
        if (*bad >= 0)
            st = c->rule == SEGLOSS_INPUT_PROB ? SEGLOSS_ERR_DOMAIN : SEGLOSS_ERR_NONFINITE;
    }
    if (st != SEGLOSS_OK) *bad += from;
    return st;
}

/* Block b: its first bad offset, its ignored count (when it has no bad
 * element) and the number of bad elements (the scan resumes after each). */
static segloss_status check_block(void *ctx, int64_t b) {
    const check_ctx *c = ctx;
    int64_t begin = b * SEGLOSS_BLOCK;
    int64_t len = c->n - begin < SEGLOSS_BLOCK ? c->n - begin : SEGLOSS_BLOCK;
    int64_t bad, valid, count = 0;
    segloss_status st = first_bad(c, begin, 0, len, &bad, &valid);
    c->bad[b] = st == SEGLOSS_OK ? -1 : begin + bad;
    c->ignored[b] = len - valid;
    if (st == SEGLOSS_ERR_TARGET || st == SEGLOSS_ERR_DOMAIN || st == SEGLOSS_ERR_NONFINITE) {
        count = 1;
        for (int64_t at = bad, v; at + 1 < len; count++)
            if (first_bad(c, begin, at + 1, len, &at, &v) == SEGLOSS_OK) break;
    }
    c->count[b] = count;
    return st;
}

/* Runs the blocks and fills the report from the lowest failing one. */
static segloss_status run_checks(segloss_check_report *report, check_ctx *c) {
    int64_t nblocks = (c->n + SEGLOSS_BLOCK - 1) / SEGLOSS_BLOCK;
    if (nblocks == 0) return SEGLOSS_OK;
    c->bad = malloc((size_t)nblocks * 3 * sizeof *c->bad);
    if (!c->bad) return SEGLOSS_ERR_NOMEM;
    c->ignored = c->bad + nblocks;
    c->count = c->ignored + nblocks;
    segloss_status st = segloss__for_items(nblocks, check_block, c);
    int64_t ignored = 0, count = 0;
    for (int64_t b = 0; b < nblocks; b++) {
        if (c->bad[b] >= 0 && report->index < 0) report->index = c->bad[b];
        ignored += c->ignored[b];
        count += c->count[b];
    }
    report->count = count;
    if (st == SEGLOSS_OK) report->ignored = ignored;
    free(c->bad);
    return st;
}

/* Element i of a target as double (bool: 0/1). */
static double target_value(const segloss_target *t, int64_t i) {
    switch (t->dtype) {
    case SEGLOSS_F32: return ((const float *)t->data)[i];
    case SEGLOSS_F64: return ((const double *)t->data)[i];
    case SEGLOSS_BOOL: return ((const uint8_t *)t->data)[i] ? 1.0 : 0.0;
    case SEGLOSS_U8: return ((const uint8_t *)t->data)[i];
    case SEGLOSS_I8: return ((const int8_t *)t->data)[i];
    case SEGLOSS_I16: return ((const int16_t *)t->data)[i];
    case SEGLOSS_I32: return ((const int32_t *)t->data)[i];
    case SEGLOSS_I64: return (double)((const int64_t *)t->data)[i];
    case SEGLOSS_U16: return ((const uint16_t *)t->data)[i];
    case SEGLOSS_U32: return ((const uint32_t *)t->data)[i];
    case SEGLOSS_U64: return (double)((const uint64_t *)t->data)[i];
    }
    return NAN;
}

static void report_init(segloss_check_report *report) {
    report->index = -1;
    report->value = 0.0;
    report->ignored = 0;
    report->count = 0;
}

segloss_status segloss_target_check(segloss_check_report *report, const segloss_target *target,
                                    int64_t n, segloss_target_kind kind, int64_t num_classes,
                                    int64_t ignore_index) {
    if (!report || !target) return SEGLOSS_ERR_NULL;
    report_init(report);
    if (n < 0) return SEGLOSS_ERR_ARG;
    if (kind != SEGLOSS_TARGET_DENSE && kind != SEGLOSS_TARGET_INDEX) return SEGLOSS_ERR_ARG;
    if (kind == SEGLOSS_TARGET_INDEX && num_classes < 1) return SEGLOSS_ERR_ARG;
    if (segloss_dtype_size(target->dtype) == 0) return SEGLOSS_ERR_DTYPE;
    if (kind == SEGLOSS_TARGET_INDEX &&
        (target->dtype == SEGLOSS_F32 || target->dtype == SEGLOSS_F64))
        return SEGLOSS_ERR_DTYPE;
    if (n > 0 && !target->data) return SEGLOSS_ERR_NULL;
    check_ctx c = {target, kind, num_classes, ignore_index, NULL, SEGLOSS_INPUT_FINITE, n,
                   NULL, NULL, NULL};
    segloss_status st = run_checks(report, &c);
    if (report->index >= 0) report->value = target_value(target, report->index);
    return st;
}

segloss_status segloss_input_check(segloss_check_report *report, const float *x, int64_t n,
                                   segloss_input_rule rule) {
    if (!report) return SEGLOSS_ERR_NULL;
    report_init(report);
    if (n < 0 || (rule != SEGLOSS_INPUT_FINITE && rule != SEGLOSS_INPUT_PROB))
        return SEGLOSS_ERR_ARG;
    if (n > 0 && !x) return SEGLOSS_ERR_NULL;
    check_ctx c = {NULL, SEGLOSS_TARGET_DENSE, 0, SEGLOSS_IGNORE_NONE, x, rule, n,
                   NULL, NULL, NULL};
    segloss_status st = run_checks(report, &c);
    if (report->index >= 0) report->value = x[report->index];
    return st;
}
