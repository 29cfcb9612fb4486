/* segloss eval: one case — read both files, check that they can be
 * compared, turn them into label maps, score every label.
 *
 * Label maps: integer and bool arrays as they are (label 0 = background).
 * Score maps: a float prediction is thresholded into a 0/1 mask (label 1):
 * probabilities p >= T (T = 0.5 by default; values must lie in [0,1]),
 * logits x >= T (T = 0 by default: the logit >= 0 rule), float32 and
 * float64 scores each compared in their own precision. A float
 * reference is accepted when every value is an integer (NIfTI files with
 * scl_slope/scl_inter come out as float64 even when they hold labels) and
 * is then a label map; any other float reference is an error.
 *
 * Everything a case produces (results, messages) goes into its eval_case,
 * so cases can run on any thread and be reported in order afterwards. */
#include "eval.h"
#include "util.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef SEGLOSS_OPENMP
#include <omp.h>
#endif

const char *const eval_metric_names[EM_COUNT] = {
    "dice",   "iou",      "precision", "recall",   "specificity",       "accuracy",
    "vs",     "hd",       "hd95",      "assd",     "nsd",               "mcc",
    "kappa",  "fbeta",    "balanced_accuracy",     "youden",            "npv",
    "fpr",    "fnr",      "fdr",       "for",      "lr_pos",            "lr_neg",
    "vol_pred", "vol_ref", "vol_diff", "masd",     "sd_median",         "sd_std",
    "boundary_iou", "com_dist", "gce",      "ri",       "ari",       "mi",       "voi",
    "icc",    "pbd",      "mahalanobis",       "auc",      "cldice",
};

/* Where each metric's value lives in a result: one table for the getter
 * and the setter (segloss merge rebuilds results from a part's JSON). */
/* offsetof a member that must be a double (a compile error otherwise). */
#define M(f)                                                                              \
    (offsetof(segloss_label_metrics, f) +                                                 \
     0 * sizeof(char[sizeof(((segloss_label_metrics *)0)->f) == sizeof(double) ? 1 : -1]))
static const size_t metric_offset[EM_COUNT] = {
    [EM_DICE] = M(overlap.dice),
    [EM_IOU] = M(overlap.iou),
    [EM_PRECISION] = M(overlap.precision),
    [EM_RECALL] = M(overlap.recall),
    [EM_SPECIFICITY] = M(overlap.specificity),
    [EM_ACCURACY] = M(overlap.accuracy),
    [EM_VS] = M(overlap.vs),
    [EM_HD] = M(surface.hd),
    [EM_HD95] = M(surface.hd95),
    [EM_ASSD] = M(surface.assd),
    [EM_NSD] = M(surface.nsd),
    [EM_MCC] = M(overlap.mcc),
    [EM_KAPPA] = M(overlap.kappa),
    [EM_FBETA] = M(overlap.fbeta),
    [EM_BALANCED_ACCURACY] = M(overlap.balanced_accuracy),
    [EM_YOUDEN] = M(overlap.youden),
    [EM_NPV] = M(overlap.npv),
    [EM_FPR] = M(overlap.fpr),
    [EM_FNR] = M(overlap.fnr),
    [EM_FDR] = M(overlap.fdr),
    [EM_FOR] = M(overlap.for_),
    [EM_LR_POS] = M(overlap.lr_pos),
    [EM_LR_NEG] = M(overlap.lr_neg),
    [EM_VOL_PRED] = M(overlap.vol_pred),
    [EM_VOL_REF] = M(overlap.vol_ref),
    [EM_VOL_DIFF] = M(overlap.vol_diff),
    [EM_MASD] = M(surface.masd),
    [EM_SD_MEDIAN] = M(surface.sd_median),
    [EM_SD_STD] = M(surface.sd_std),
    [EM_BOUNDARY_IOU] = M(mask.boundary_iou),
    [EM_COM_DIST] = M(mask.com_dist),
    [EM_GCE] = M(overlap.gce),
    [EM_RI] = M(overlap.ri),
    [EM_ARI] = M(overlap.ari),
    [EM_MI] = M(overlap.mi),
    [EM_VOI] = M(overlap.voi),
    [EM_ICC] = M(overlap.icc),
    [EM_PBD] = M(overlap.pbd),
    [EM_MAHALANOBIS] = M(mask.mahalanobis),
    [EM_AUC] = M(overlap.auc),
    [EM_CLDICE] = M(mask.cldice),
};
#undef M

double eval_metric_value(const segloss_label_metrics *r, eval_metric m) {
    if ((unsigned)m >= EM_COUNT) return NAN;
    double v;
    memcpy(&v, (const char *)r + metric_offset[m], sizeof v);
    return v;
}

void eval_metric_set(segloss_label_metrics *r, eval_metric m, double v) {
    if ((unsigned)m < EM_COUNT) memcpy((char *)r + metric_offset[m], &v, sizeof v);
}

unsigned eval_mask_metrics(uint64_t metrics) {
    return (metrics & EM_BIT(EM_BOUNDARY_IOU) ? SEGLOSS_MASK_BOUNDARY_IOU : 0u) |
           (metrics & EM_BIT(EM_COM_DIST) ? SEGLOSS_MASK_COM_DIST : 0u) |
           (metrics & EM_BIT(EM_MAHALANOBIS) ? SEGLOSS_MASK_MAHALANOBIS : 0u) |
           (metrics & EM_BIT(EM_CLDICE) ? SEGLOSS_MASK_CLDICE : 0u);
}

/* Everything one case holds while it runs. */
typedef struct case_work {
    segloss_image pi, ri;        /* files as read */
    void *pbuf, *rbuf;           /* converted label maps (owned), or NULL */
    segloss_label_array pa, ra;  /* what the metrics read */
    segloss_label_set set;
    uint8_t *pzero, *rzero;      /* rows of pi / ri known to be all zeros, or NULL */
    int pred_scores;             /* prediction was a thresholded score map */
} case_work;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(eval_case *k, int rc, const char *fmt, ...) {
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    eval_msg(&k->err, "%s", line);
    k->rc = rc;
    return rc;
}

static int oom(eval_case *k) {
    eval_msg(&k->err, "out of memory");
    k->rc = CLI_INTERNAL;
    return CLI_INTERNAL;
}

static int read_image(eval_case *k, segloss_image *img, const char *path, const eval_cfg *c) {
    char err[512] = "";
    const char *what = cli_not_regular(path);
    if (what) return fail(k, CLI_INPUT, "%s: %s (expected a .png, .nii, .nii.gz or .npy file)",
                          path, what);
    segloss_status st = segloss_image_read(img, path, c->max_bytes, err, sizeof err);
    if (st == SEGLOSS_OK) return 0;
    const char *why = err[0] ? err : segloss_strerror(st);
    if (st == SEGLOSS_ERR_LIMIT)
        eval_msg(&k->err, "%s: %s (raise the cap with --max-bytes)", path, why);
    else eval_msg(&k->err, "%s: %s", path, why);
    k->rc = st == SEGLOSS_ERR_NOMEM ? CLI_INTERNAL : CLI_INPUT;
    return k->rc;
}

static int same_shape(const segloss_shape *a, const segloss_shape *b) {
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->dim[d] != b->dim[d]) return 0;
    return 1;
}

static char *spacing_str(char *buf, size_t len, const double *sp, int n) {
    size_t pos = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < n && pos < len; d++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%g", d ? ", " : "", sp[d]);
    if (pos < len) snprintf(buf + pos, len - pos, ")");
    return buf;
}

/* Element i of a float32 or float64 array, as double: float32 values are
 * widened exactly and float64 ones used as they are, so each dtype is
 * compared in its own precision (a float64 0.49999999999 stays below 0.5,
 * where rounding it to float32 first would give 0.5). */
static double float_at(const segloss_npy *a, int64_t i) {
    return a->dtype == SEGLOSS_F64 ? ((const double *)a->data)[i]
                                   : (double)((const float *)a->data)[i];
}

/* A float prediction -> 0/1 mask: p >= T (probabilities) or x >= T
 * (logits), T in the scores' own units. */
static int threshold_scores(eval_case *k, case_work *w, const eval_cfg *c) {
    const segloss_npy *a = &w->pi.array;
    const int64_t n = a->numel;
    int64_t n_nan = 0, first_nan = -1;
    for (int64_t i = 0; i < n; i++)
        if (isnan(float_at(a, i)) && n_nan++ == 0) first_nan = i;
    if (n_nan)
        return fail(k, CLI_INPUT,
                    "%s: the score map contains NaN (%lld value%s, first at index %lld)",
                    k->pred, (long long)n_nan, n_nan == 1 ? "" : "s", (long long)first_nan);
    for (int64_t i = 0; i < n && !c->logits; i++) {
        double s = float_at(a, i);
        if (!(s >= 0.0 && s <= 1.0)) {
            char num[64];
            snprintf(num, sizeof num, a->dtype == SEGLOSS_F64 ? "%.17g" : "%.9g", s);
            return fail(k, CLI_INPUT,
                        "%s: value %s outside [0,1] in a probability map (--scores logits "
                        "for logits; a label map needs an integer dtype)",
                        k->pred, num);
        }
    }
    uint8_t *mask = malloc((size_t)n + 1);
    if (!mask) return oom(k);
    for (int64_t i = 0; i < n; i++) mask[i] = float_at(a, i) >= c->threshold;
    w->pbuf = mask;
    w->pa.data = mask;
    w->pa.dtype = SEGLOSS_U8;
    w->pred_scores = 1;
    return 0;
}

/* A float reference whose values are all integers -> the smallest integer
 * label map that holds them (uint8, int32 or int64). */
static int integral_reference(eval_case *k, case_work *w) {
    const segloss_npy *a = &w->ri.array;
    const int64_t n = a->numel;
    double lo = 0.0, hi = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = float_at(a, i);
        /* 2^63 is the first double that does not fit in int64. */
        if (!(v == floor(v)) || !(fabs(v) < 9223372036854775808.0)) {
            char num[64];
            snprintf(num, sizeof num, "%.17g", v);
            return fail(k, CLI_INPUT,
                        "%s: the reference is a %s array with the non-integer value %s "
                        "(a reference must be a label map)",
                        k->ref, segloss_dtype_name(a->dtype), num);
        }
        if (i == 0 || v < lo) lo = v;
        if (i == 0 || v > hi) hi = v;
    }
    segloss_dtype dt = lo >= 0 && hi <= 255 ? SEGLOSS_U8
                       : lo >= -2147483648.0 && hi <= 2147483647.0 ? SEGLOSS_I32
                                                                   : SEGLOSS_I64;
    void *buf = malloc((size_t)n * segloss_dtype_size(dt) + 1);
    if (!buf) return oom(k);
    for (int64_t i = 0; i < n; i++) {
        double v = float_at(a, i);
        if (dt == SEGLOSS_U8) ((uint8_t *)buf)[i] = (uint8_t)v;
        else if (dt == SEGLOSS_I32) ((int32_t *)buf)[i] = (int32_t)v;
        else ((int64_t *)buf)[i] = (int64_t)v;
    }
    w->rbuf = buf;
    w->ra.data = buf;
    w->ra.dtype = dt;
    return 0;
}

static int is_float(segloss_dtype dt) { return dt == SEGLOSS_F32 || dt == SEGLOSS_F64; }

/* One of the two reads of a case, reporting into its own record. */
typedef struct read_job {
    eval_case rec;
    segloss_image *img;
    const char *path; /* NULL: nothing to read (--allow-missing) */
    long long size;   /* bytes on disk; 0 when unknown or not needed */
    uint8_t **zero;   /* where the map of its all-zero rows goes */
} read_job;

static void read_job_init(read_job *j, segloss_image *img, const char *path, int two,
                          uint8_t **zero) {
    struct stat sb;
    memset(j, 0, sizeof *j);
    j->img = img;
    j->path = path;
    j->zero = zero;
    if (two && path && stat(path, &sb) == 0) j->size = (long long)sb.st_size;
}

/* Rows per call of segloss_label_rows_zero between two looks at `other`. */
#define ZERO_SLAB 4096

/* The first half of the label scan of an image just read, while the other
 * file is still being read (its thread would wait otherwise): the map of
 * its all-zero rows, which the scan then does not read
 * (segloss_label_scan_rows). Made slab by slab until `other` says the other
 * read is done; the rows not reached keep 0 ("read it"). Only for a label
 * map the scan will read as it is: integer dtype, 1 to 3 axes. */
static void zero_rows(read_job *j, atomic_int *other) {
    const segloss_npy *a = &j->img->array;
    const int nd = a->shape.ndim;
    if (nd < 1 || nd > 3 || a->numel <= 0 || is_float(a->dtype)) return;
    const int64_t n = a->shape.dim[nd - 1], rows = a->numel / n;
    const size_t row_bytes = (size_t)n * segloss_dtype_size(a->dtype);
    uint8_t *zero = calloc((size_t)rows, 1);
    if (!zero) return;
    for (int64_t r = 0; r < rows && !atomic_load(other); r += ZERO_SLAB) {
        const int64_t nr = rows - r < ZERO_SLAB ? rows - r : ZERO_SLAB;
        segloss_label_array slab = {(const char *)a->data + (size_t)r * row_bytes, a->dtype};
        segloss_shape shape = {2, {nr, n}};
        if (segloss_label_rows_zero(zero + r, &slab, &shape) != SEGLOSS_OK) {
            free(zero);
            return;
        }
    }
    *j->zero = zero;
}

/* Reads the prediction and the reference, on two threads when `threads`
 * allows (decoding a big .nii.gz is most of a case's time). Thread 0,
 * which opens the region and is already running, reads the larger file on
 * disk (an int16 reference next to a uint8 prediction: the longer read);
 * the thread it starts, which takes a while to get going, the other one,
 * and then maps the all-zero rows of that image until the longer read is
 * done (zero_rows). Each read reports into its own record; the
 * prediction's failure is the one reported when both fail, as when they
 * are read one after the other. */
static int read_both(eval_case *k, case_work *w, const eval_cfg *c, int threads) {
    const int two = threads > 1 && k->pred; /* two threads */
    read_job job[2];
    read_job_init(&job[0], &w->pi, k->pred, two, &w->pzero);
    read_job_init(&job[1], &w->ri, k->ref, two, &w->rzero);
    const int first = job[1].size > job[0].size; /* the job thread 0 runs first */
    atomic_int first_done;
    atomic_init(&first_done, 0);
#ifdef SEGLOSS_OPENMP
#pragma omp parallel num_threads(2) if (two)
#endif
    {
        int t = 0, nt = 1;
#ifdef SEGLOSS_OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (int r = t; r < 2; r += nt) {
            read_job *j = &job[r == 0 ? first : !first];
            if (j->path) read_image(&j->rec, j->img, j->path, c);
            if (r == 0) atomic_store(&first_done, 1);
            else if (nt == 2 && j->rec.rc == 0 && j->path) zero_rows(j, &first_done);
        }
    }
    eval_case *bad = job[0].rec.rc ? &job[0].rec : job[1].rec.rc ? &job[1].rec : NULL;
    if (bad) { /* k->err is NULL: a case with a message does not run */
        free(k->err);
        k->err = bad->err;
        bad->err = NULL;
        k->rc = bad->rc;
    }
    free(job[0].rec.err);
    free(job[1].rec.err);
    return k->rc;
}

/* Reads and checks both files; fills w->pa, w->ra and spacing. */
static int load(eval_case *k, case_work *w, const eval_cfg *c, double spacing[3], int threads) {
    char s1[CLI_SHAPE_STRLEN], s2[CLI_SHAPE_STRLEN];
    if (read_both(k, w, c, threads)) return k->rc;
    const segloss_shape *rs = &w->ri.array.shape;
    if (!k->pred) {
        /* --allow-missing: an empty prediction of the reference's shape. */
        w->pbuf = calloc((size_t)w->ri.array.numel + 1, 1);
        if (!w->pbuf) return oom(k);
        w->pi.array.shape = *rs;
        w->pi.array.numel = w->ri.array.numel;
        w->pi.array.dtype = SEGLOSS_U8;
    }
    const segloss_shape *ps = &w->pi.array.shape;
    if (!same_shape(ps, rs))
        return fail(k, CLI_INPUT, "shape mismatch: %s %s vs %s %s", k->pred,
                    cli_shape_str(s1, sizeof s1, ps), k->ref, cli_shape_str(s2, sizeof s2, rs));
    const char *who = k->pred ? k->pred : k->ref;
    if (rs->ndim < 1 || rs->ndim > 3)
        return fail(k, CLI_INPUT, "%s: shape %s: eval compares 1-D, 2-D or 3-D images", who,
                    cli_shape_str(s1, sizeof s1, rs));
    if (w->ri.array.numel == 0)
        return fail(k, CLI_INPUT, "%s: empty image (shape %s)", who,
                    cli_shape_str(s1, sizeof s1, rs));

    /* Spacing: --spacing, else the reference's (as nnU-Net and MedPy use
     * the reference image's), else 1. */
    const int nd = rs->ndim;
    if (c->n_spacing) {
        if (c->n_spacing != nd) {
            return fail(k, CLI_USAGE,
                        "--spacing has %d value%s but %s has %d ax%s (shape %s): give one "
                        "spacing per array axis, axis 0 first",
                        c->n_spacing, c->n_spacing == 1 ? "" : "s", k->ref, nd,
                        nd == 1 ? "is" : "es", cli_shape_str(s1, sizeof s1, rs));
        }
        for (int d = 0; d < nd; d++) spacing[d] = c->spacing[d];
    } else {
        /* The reader has put 1 on the axes whose pixdim is unusable: say
         * so when metrics in physical units, which that spacing changes,
         * are asked for. */
        for (int d = 0; d < nd; d++) spacing[d] = w->ri.spacing[d];
        for (int d = 0; d < nd && (c->metrics & EM_SPACING_MASK); d++)
            if (w->ri.spacing_substituted & 1u << d)
                eval_msg(&k->warn,
                         "warning: %s: pixdim[%d] (array axis %d) is %g; using spacing 1 on "
                         "that axis",
                         k->ref, nd - d, d, w->ri.spacing_file[d]);
        if (k->pred && w->pi.has_spacing && w->ri.has_spacing) {
            int differ = 0;
            for (int d = 0; d < nd; d++) {
                double a = w->pi.spacing[d], b = w->ri.spacing[d];
                if (fabs(a - b) > 1e-4 * fmax(fabs(a), fabs(b))) differ = 1;
            }
            if (differ) {
                char t1[200], t2[200];
                eval_msg(&k->warn,
                         "warning: %s: spacing %s differs from the reference's %s (%s); "
                         "using the reference's",
                         k->pred, spacing_str(t1, sizeof t1, w->pi.spacing, nd),
                         spacing_str(t2, sizeof t2, w->ri.spacing, nd), k->ref);
            }
        }
    }

    /* Label maps. */
    if (k->pred && is_float(w->pi.array.dtype)) {
        if (threshold_scores(k, w, c)) return k->rc;
    } else if (k->pred) {
        w->pa.data = w->pi.array.data;
        w->pa.dtype = w->pi.array.dtype;
    } else {
        w->pa.data = w->pbuf;
        w->pa.dtype = SEGLOSS_U8;
    }
    if (is_float(w->ri.array.dtype)) {
        if (integral_reference(k, w)) return k->rc;
    } else {
        w->ra.data = w->ri.array.data;
        w->ra.dtype = w->ri.array.dtype;
    }
    return 0;
}

static void library_error(eval_case *k, segloss_status st) {
    k->rc = cli_status_exit(st) == CLI_USAGE ? CLI_INTERNAL : cli_status_exit(st);
    if (st == SEGLOSS_ERR_DOMAIN)
        eval_msg(&k->err, "%s, %s: uint64 label values above 9223372036854775807 are not "
                          "supported",
                 k->pred ? k->pred : "(missing prediction)", k->ref);
    else if (st == SEGLOSS_ERR_NOMEM) eval_msg(&k->err, "out of memory");
    else
        eval_msg(&k->err, "%s vs %s: %s", k->pred ? k->pred : "(missing prediction)", k->ref,
                 segloss_strerror(st));
}

void eval_case_run(eval_case *k, const eval_cfg *c, int label_threads) {
    if (k->rc) return;
    case_work w;
    memset(&w, 0, sizeof w);
    double spacing[3] = {1.0, 1.0, 1.0};
    if (load(k, &w, c, spacing, label_threads) == 0) {
        const segloss_shape *shape = &w.ri.array.shape;
        /* a map of zero rows holds for the image as read, not converted */
        const uint8_t *pz = w.pa.data == w.pi.array.data ? w.pzero : NULL;
        const uint8_t *rz = w.ra.data == w.ri.array.data ? w.rzero : NULL;
        segloss_status st = segloss_label_scan_rows(&w.set, &w.pa, pz, &w.ra, rz, shape);
        if (st == SEGLOSS_OK && w.pred_scores) {
            /* The thresholded prediction is label 1: a reference with other
             * labels (a 0/255 mask, a multi-label map) is almost always a
             * mistake, so say so. */
            for (int64_t i = 0; i < w.set.count; i++) {
                const segloss_label_stats *s = &w.set.items[i];
                if (s->label != 1 && s->conf.tp + s->conf.fn > 0) {
                    char lab[32];
                    snprintf(lab, sizeof lab, "%lld", (long long)s->label);
                    eval_msg(&k->warn,
                             "warning: %s: the reference has label %s, but a thresholded "
                             "score map (%s) is compared as label 1",
                             k->ref, lab, k->pred);
                    break;
                }
            }
        }
        int64_t n = c->labels_all ? w.set.count : c->n_labels;
        segloss_metric_opts o = c->mopts;
        for (int d = 0; d < shape->ndim; d++) o.spacing[d] = spacing[d];
        o.distances = (c->metrics & EM_DISTANCE_MASK) != 0;
        o.mask_metrics = eval_mask_metrics(c->metrics);
        o.threads = label_threads;
        if (st == SEGLOSS_OK && (o.distances || c->inst.on) &&
            o.surface == SEGLOSS_SURFACE_SURFEL && shape->ndim < 2) {
            k->rc = CLI_INPUT;
            eval_msg(&k->err, "%s: --surface surfel needs a 2-D or 3-D image, this one is %d-D",
                     k->ref, shape->ndim);
            goto out;
        }
        if (st == SEGLOSS_OK && (c->n_regions || c->have_ignore)) {
            st = eval_regions_compute(&k->res, &n, &w.set, &w.pa, &w.ra, shape, &o, c);
        } else if (st == SEGLOSS_OK) {
            k->res = calloc((size_t)(n ? n : 1), sizeof *k->res);
            if (!k->res) st = SEGLOSS_ERR_NOMEM;
            if (st == SEGLOSS_OK)
                st = segloss_label_metrics_compute(k->res, c->labels_all ? NULL : c->labels, n,
                                                   &w.set, &w.pa, &w.ra, shape, &o);
        }
        if (st == SEGLOSS_OK) {
            k->n = n;
            eval_instances_case(k, c, &w.pa, &w.ra, shape, spacing);
        } else {
            free(k->res);
            k->res = NULL;
            library_error(k, st);
        }
    }
out:
    segloss_label_set_free(&w.set);
    free(w.pzero);
    free(w.rzero);
    segloss_image_free(&w.pi);
    segloss_image_free(&w.ri);
    free(w.pbuf);
    free(w.rbuf);
}
