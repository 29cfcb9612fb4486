/* segloss bench — time a loss's forward and forward+backward on generated
 * data, next to a streaming pass over the same bytes (the memory floor).
 *
 * Data: logits like a trained model's (mostly confident, 10% wrong, noise),
 * targets 0/1 with 35% foreground, as uint8 or float32; fixed seed. Kinds
 * whose target is class indices (C > 1 with softmax, ce, topk-ce, ...)
 * get uint8 indices instead, 0 for background and 1 + (i mod (C - 1)) for
 * foreground; kinds that take probabilities by default (bce, mcc,
 * hausdorff-dt, unified-focal, ...) get sigmoid(logits); gwdl the matrix
 * M[i][j] = (i != j). Each
 * round times, in this order, the forward call, the forward+backward call
 * and the streaming pass (read the logits and the target, write a float
 * array: grad[i] = x[i] - y[i]), so that noise from other processes
 * spreads over all three; the figures are medians (and minima) over
 * --repeat rounds, after one untimed warm-up round.
 * Every kind of `segloss loss` with its defaults there (mean), through
 * the same kinds table (loss_kinds.c): the forward call, and the fused
 * forward_backward where the library has one (bce-logits, dice, dice-bce,
 * dice-ce, hausdorff-dt, ...), else the forward and backward calls, as a
 * user without a fused call would make them. */
#include "commands.h"
#include "loss.h"
#include "opts.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct bench_cfg {
    const char *kind;      /* a name of loss_kinds[] */
    const char *shape;
    int u8;                /* --target: 1 uint8, 0 float32 */
    int threads, repeat;   /* threads 0: the library's */
    int json;
} bench_cfg;

typedef struct bench {
    const loss_kind *kind;
    loss_cfg cfg;          /* the kind's defaults, as `segloss loss KIND` */
    loss_data d;           /* x, shape, target (and gwdl's matrix) */
    segloss_shape shape;
    int64_t numel;
    int u8;
    float *x, *grad, *yf, *dm;
    uint8_t *yb, *yi;      /* yi: class indices, for kinds that take them */
    segloss_target t;
    double sink;
} bench;

static const cli_choice targets[] = {{"uint8", 1}, {"float32", 0}, {NULL, 0}};
static const cli_range threads_range = {1.0, 1024.0, 0, "expected 1 to 1024 threads"};
static const cli_range repeat_range = {1.0, 100000.0, 0, "expected 1 to 100000 rounds"};

#define C bench_cfg
static const cli_opt opts[] = {
    CLI_STR(C, NULL, "--kind", "K", kind,
            "a kind of 'segloss loss' (default bce-logits), with its\n"
            "defaults there"),
    CLI_STR(C, NULL, "--shape", "D,D,..", shape,
            "array shape (default 16,1,512,512; rank 1..5 except for\n"
            "bce-logits; arrays up to the memory cap of\n"
            "'segloss loss --max-bytes')"),
    CLI_CHOICE(C, "--target", "T", u8, targets, "uint8 (default) or float32"),
    CLI_INT(C, "--threads", "N", threads, &threads_range,
            "threads (default: the library's, all cores)"),
    CLI_INT(C, "--repeat", "R", repeat, &repeat_range, "timed rounds (default 10)"),
    CLI_FLAG(C, NULL, "--json", json, "one JSON object instead of text"),
    CLI_END,
};
#undef C

static const cli_group groups[] = {{"Options", opts}};
static const cli_spec spec = {"bench", groups, 1, 14};

static void bench_usage(FILE *f) {
    fprintf(f,
            "Usage: segloss bench [OPTIONS]\n"
            "\n"
            "Times a loss on generated logits and 0/1 targets: the forward call, the\n"
            "forward+backward call, and a streaming pass over the same bytes (read\n"
            "logits and target, write a gradient-sized array): the memory floor.\n"
            "Figures are nanoseconds per element, medians over the rounds.\n");
    cli_print_options(f, &spec);
    fprintf(f,
            "\n"
            "Exit status: 0 success, 1 bad usage, 2 the loss failed, 3 out of memory.\n");
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct shape_ctx {
    segloss_shape *shape;
    const char *text;
} shape_ctx;

static int one_dim(void *ctx, const char *field, int64_t k) {
    const shape_ctx *s = ctx;
    int64_t d;
    if (cli_parse_i64(field, &d) || d < 1 || d > ((int64_t)1 << 40)) {
        cli_error("invalid value for --shape: '%s' (expected sizes >= 1 like 16,1,512,512)",
                  s->text);
        return CLI_USAGE;
    }
    s->shape->dim[k] = d;
    return 0;
}

static int parse_shape(const char *text, segloss_shape *sh) {
    memset(sh, 0, sizeof *sh);
    int64_t n = cli_list_count(text);
    if (n > SEGLOSS_MAX_DIMS) {
        cli_error("invalid value for --shape: more than %d dimensions", SEGLOSS_MAX_DIMS);
        return CLI_USAGE;
    }
    sh->ndim = (int)n;
    shape_ctx s = {sh, text};
    return cli_list_each(text, one_dim, &s);
}

/* Deterministic data (xorshift64*). */
static void fill(bench *b) {
    uint64_t st = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < b->numel; i++) {
        uint64_t r[3];
        for (int k = 0; k < 3; k++) {
            st ^= st >> 12;
            st ^= st << 25;
            st ^= st >> 27;
            r[k] = st * 0x2545F4914F6CDD1Dull;
        }
        double u0 = (double)(r[0] >> 11) * 0x1p-53, u1 = (double)(r[1] >> 11) * 0x1p-53;
        double u2 = (double)(r[2] >> 11) * 0x1p-53;
        int fg = u0 < 0.35;
        double m = (fg ? 3.0 : -3.0) * (u1 < 0.9 ? 1.0 : -1.0);
        b->x[i] = (float)(m + 5.0 * (u2 - 0.5));
        b->grad[i] = 0.0f;
        if (b->u8) b->yb[i] = (uint8_t)fg;
        else b->yf[i] = (float)fg;
    }
}

/* The memory floor: grad[i] = x[i] - y[i] over the same bytes as a fused
 * loss pass, threads as the library's, 16-byte vectors where SSE2 is
 * baseline (x86-64). */
static void stream_range(bench *b, int64_t lo, int64_t hi) {
    const float *x = b->x;
    float *g = b->grad;
    int64_t i = lo;
#if defined(__SSE2__)
    if (b->u8) {
        const __m128i zero = _mm_setzero_si128();
        for (; i + 4 <= hi; i += 4) {
            int32_t w;
            memcpy(&w, b->yb + i, sizeof w);
            __m128i v = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), zero), zero);
            _mm_storeu_ps(g + i, _mm_sub_ps(_mm_loadu_ps(x + i), _mm_cvtepi32_ps(v)));
        }
    } else {
        for (; i + 4 <= hi; i += 4)
            _mm_storeu_ps(g + i, _mm_sub_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(b->yf + i)));
    }
#endif
    for (; i < hi; i++) g[i] = x[i] - (b->u8 ? (float)b->yb[i] : b->yf[i]);
}

static void stream_pass(bench *b, int nt) {
    const int64_t chunk = 1 << 16;
    int64_t nchunks = (b->numel + chunk - 1) / chunk;
#ifdef SEGLOSS_OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
#endif
    for (int64_t k = 0; k < nchunks; k++) {
        int64_t lo = k * chunk, hi = lo + chunk < b->numel ? lo + chunk : b->numel;
        stream_range(b, lo, hi);
    }
    (void)nt;
}

static segloss_status run_fwd(bench *b) {
    double loss = 0.0;
    segloss_status st = b->kind->forward(&b->cfg, &b->d, &loss, NULL);
    b->sink += loss;
    return st;
}

static segloss_status run_fwd_bwd(bench *b) {
    double loss = 0.0;
    segloss_status st;
    if (b->kind->fused)
        st = b->kind->fused(&b->cfg, &b->d, &loss, NULL, b->grad, NULL);
    else if ((st = b->kind->forward(&b->cfg, &b->d, &loss, NULL)) == SEGLOSS_OK)
        st = b->kind->backward(&b->cfg, &b->d, b->grad, NULL);
    b->sink += loss + (double)b->grad[b->numel / 2];
    return st;
}

/* The kind's configuration, as `segloss loss KIND` parses it (usage
 * errors: the kind's own). Returns 0 or an exit code. */
static int setup_kind(bench *b, const char *name) {
    char *argv[] = {"loss", (char *)name, "-i", "x", "-t", "y", "--distance-matrix", "m", NULL};
    int argc = 6;
    for (size_t k = 0; k < loss_num_kinds; k++)
        if (strcmp(name, loss_kinds[k].name) == 0 && (loss_kinds[k].groups & LG(GWDL))) argc = 8;
    for (size_t k = 0; k < loss_num_kinds; k++)
        if (strcmp(name, loss_kinds[k].name) == 0) b->kind = &loss_kinds[k];
    if (!b->kind) {
        cli_error("invalid value for --kind: '%s' (a kind of 'segloss loss')", name);
        return CLI_USAGE;
    }
    return loss_parse_args(&b->cfg, argc, argv);
}

/* The data the kind takes: class indices, probabilities, gwdl's matrix.
 * Returns 0 or an exit code (after the message). */
static int setup_data(bench *b) {
    loss_data *d = &b->d;
    d->x = b->x;
    d->shape = b->shape;
    d->numel = b->numel;
    d->target = b->t;
    int64_t c = b->shape.ndim >= 3 ? b->shape.dim[1] : 1;
    int index = loss_class_target(&b->cfg, d), gwdl = (b->kind->groups & LG(GWDL)) != 0;
    if ((index || gwdl) && c < 2) {
        cli_error("--shape: %s takes class indices here: (N, C, spatial...) with C >= 2",
                  b->kind->name);
        return cli_usage_error(&spec);
    }
    if ((index && !(b->yi = malloc((size_t)(b->numel / c)))) ||
        (gwdl && !(b->dm = malloc((size_t)(c * c) * sizeof *b->dm)))) {
        cli_error("out of memory (%lld elements)", (long long)b->numel);
        return CLI_INTERNAL;
    }
    if (index) {
        int64_t s = b->numel / (b->shape.dim[0] * c);
        for (int64_t i = 0; i < b->numel / c; i++) {
            int64_t at = (i / s) * c * s + i % s; /* channel 0's element */
            int fg = b->u8 ? b->yb[at] != 0 : b->yf[at] > 0.5f;
            b->yi[i] = fg ? (uint8_t)(1 + i % (c - 1)) : 0;
        }
        d->target.data = b->yi;
        d->target.dtype = SEGLOSS_U8;
    }
    if (gwdl) {
        for (int64_t k = 0; k < c * c; k++) b->dm[k] = k / c != k % c;
        d->dist_matrix = b->dm;
        d->dm.shape.dim[0] = c;
    }
    /* a default activation none (probabilities): sigmoid of the logits */
    double loss;
    if (b->kind->forward(&b->cfg, d, &loss, NULL) == SEGLOSS_ERR_DOMAIN)
        for (int64_t i = 0; i < b->numel; i++) b->x[i] = (float)(1.0 / (1.0 + exp(-b->x[i])));
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts them). */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        bench_usage(stdout);
        return CLI_OK;
    }
    bench_cfg c = {"bce-logits", "16,1,512,512", 1, 0, 10, 0};
    int rc = cli_parse(&spec, 1u, "bench", &c, argc, argv, 0);
    if (rc) return rc;
    bench b;
    memset(&b, 0, sizeof b);
    if ((rc = setup_kind(&b, c.kind))) return rc == CLI_USAGE ? cli_usage_error(&spec) : rc;
    b.u8 = c.u8;
    const int json = c.json;
    const long long threads = c.threads, repeat = c.repeat;
    if ((rc = parse_shape(c.shape, &b.shape))) return rc == CLI_USAGE ? cli_usage_error(&spec) : rc;
    if ((b.kind->flags & LK_REGION) && b.shape.ndim > 5) {
        cli_error("--shape: %s takes rank 1..5", b.kind->name);
        return cli_usage_error(&spec);
    }
    if (segloss_shape_numel(&b.shape, &b.numel) != SEGLOSS_OK ||
        (uint64_t)b.numel > (SIZE_MAX >> 4)) {
        cli_error("--shape: too many elements");
        return cli_usage_error(&spec);
    }
    /* the arrays (logits, gradient, target) under the CLI's memory cap */
    size_t need = (size_t)b.numel * (b.u8 ? 9 : 12), cap = cli_default_max_bytes();
    if (cap && need > cap) {
        cli_error("--shape: the arrays need %zu bytes, more than the cap of %zu", need, cap);
        return cli_usage_error(&spec);
    }
    if (threads > 0) segloss_set_num_threads((int)threads);
    int nt = segloss_get_num_threads();

    size_t n = (size_t)b.numel;
    b.x = malloc(n * sizeof *b.x);
    b.grad = malloc(n * sizeof *b.grad);
    if (b.u8) b.yb = malloc(n);
    else b.yf = malloc(n * sizeof *b.yf);
    double *tf = malloc((size_t)repeat * 3 * sizeof *tf);
    if (!b.x || !b.grad || (!b.yb && !b.yf) || !tf) {
        cli_error("out of memory (%lld elements)", (long long)b.numel);
        rc = CLI_INTERNAL;
        goto done;
    }
    fill(&b);
    b.t.data = b.u8 ? (const void *)b.yb : (const void *)b.yf;
    b.t.dtype = b.u8 ? SEGLOSS_U8 : SEGLOSS_F32;
    if ((rc = setup_data(&b))) goto done;

    double *tfb = tf + repeat, *tc = tfb + repeat;
    segloss_status st = SEGLOSS_OK;
    for (long long r = -1; r < repeat && st == SEGLOSS_OK; r++) {
        double t0 = now_s();
        st = run_fwd(&b);
        double t1 = now_s();
        if (st == SEGLOSS_OK) st = run_fwd_bwd(&b);
        double t2 = now_s();
        stream_pass(&b, nt);
        double t3 = now_s();
        if (r < 0) continue; /* warm-up */
        double k = 1e9 / (double)b.numel;
        tf[r] = (t1 - t0) * k;
        tfb[r] = (t2 - t1) * k;
        tc[r] = (t3 - t2) * k;
    }
    if (st != SEGLOSS_OK) {
        cli_error("bench: %s failed: %s", b.kind->name, segloss_strerror(st));
        rc = st == SEGLOSS_ERR_SHAPE || st == SEGLOSS_ERR_ARG ? CLI_USAGE : cli_status_exit(st);
        goto done;
    }
    int R = (int)repeat;
    double minf = tf[0], minfb = tfb[0], minc = tc[0];
    for (int r = 1; r < R; r++) {
        if (tf[r] < minf) minf = tf[r];
        if (tfb[r] < minfb) minfb = tfb[r];
        if (tc[r] < minc) minc = tc[r];
    }
    double mf = median(tf, R), mfb = median(tfb, R), mc = median(tc, R);
    char shp[CLI_SHAPE_STRLEN];
    cli_shape_str(shp, sizeof shp, &b.shape);
    if (json) {
        printf("{\"kind\":\"%s\",\"numel\":%lld,\"threads\":%d,\"fwd_ns_per_elem\":%.4f,"
               "\"fwd_bwd_ns_per_elem\":%.4f,\"copy_ns_per_elem\":%.4f,\"isa\":\"%s\","
               "\"target\":\"%s\",\"shape\":[",
               b.kind->name, (long long)b.numel, nt, mf, mfb, mc, segloss_kernel_isa(),
               b.u8 ? "uint8" : "float32");
        for (int d = 0; d < b.shape.ndim; d++)
            printf("%s%lld", d ? "," : "", (long long)b.shape.dim[d]);
        printf("],\"repeat\":%d,\"stat\":\"median\",\"fwd_ns_per_elem_min\":%.4f,"
               "\"fwd_bwd_ns_per_elem_min\":%.4f,\"copy_ns_per_elem_min\":%.4f}\n",
               R, minf, minfb, minc);
    } else {
        printf("%s, %s target, shape %s (%lld elements), %d thread%s, %s kernels\n",
               b.kind->name, b.u8 ? "uint8" : "float32", shp, (long long)b.numel, nt,
               nt == 1 ? "" : "s", segloss_kernel_isa());
        printf("ns per element, median (min) of %d rounds:\n", R);
        printf("  forward            %9.4f (%.4f)\n", mf, minf);
        printf("  forward+backward   %9.4f (%.4f)\n", mfb, minfb);
        printf("  streaming pass     %9.4f (%.4f)   memory floor: %.1f B/element\n", mc, minc,
               b.u8 ? 9.0 : 12.0);
        printf("  forward+backward / floor: %.2f\n", mfb / mc);
    }
done:
    free(b.x);
    free(b.grad);
    free(b.yb);
    free(b.yf);
    free(b.yi);
    free(b.dm);
    free(tf);
    return rc;
}
