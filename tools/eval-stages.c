/* Stage profile of one `segloss eval` case (docs/benchmarks-eval.md):
 * the same library calls as the CLI — both files read on two threads
 * when THREADS > 1 (the thread with the smaller file then maps the
 * all-zero rows of its image until the other read is done), the label
 * scan, every label's
 * overlap and surface metrics — and, per stage, the on-CPU time of every
 * thread of the process (/proc/self/task/T/schedstat, in ns).
 *
 *   cc -std=c11 -O2 -fopenmp -Iinclude tools/eval-stages.c \
 *      build/libsegloss_io.a build/libsegloss.a -lpng -lz -ldeflate -lm \
 *      -o build/eval-stages
 *   OMP_WAIT_POLICY=passive build/eval-stages PRED REF THREADS
 *
 * For each stage: "longest", the on-CPU time of the busiest thread (the
 * stage's wall time on an otherwise idle machine, when no two threads
 * share a core), and "cpu", the sum over threads. On a loaded machine the
 * wall time mostly measures the waiting; these two do not (passive
 * waiting: an idle OpenMP thread then sleeps instead of spinning). */
#define _DEFAULT_SOURCE 1
#include <segloss.h>

#include <dirent.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

enum { MAX_TASKS = 256 };
typedef struct task_time {
    int tid;
    long long ns;
} task_time;

static int snapshot(task_time *v) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAX_TASKS) {
        if (e->d_name[0] == '.') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fscanf(f, "%lld", &v[n].ns) == 1) v[n++].tid = atoi(e->d_name);
        fclose(f);
    }
    if (d) closedir(d);
    return n;
}

static task_time before[MAX_TASKS], after[MAX_TASKS];
static int n_before;
static double total_longest, total_cpu;

static void stage_start(void) { n_before = snapshot(before); }

static void stage_end(const char *name) {
    int n = snapshot(after);
    double longest = 0, cpu = 0;
    for (int i = 0; i < n; i++) {
        long long t0 = 0;
        for (int j = 0; j < n_before; j++)
            if (before[j].tid == after[i].tid) t0 = before[j].ns;
        double s = (double)(after[i].ns - t0) * 1e-9;
        cpu += s;
        if (s > longest) longest = s;
    }
    total_longest += longest;
    total_cpu += cpu;
    printf("%-8s longest %.3f s  cpu %.3f s\n", name, longest, cpu);
}

static void must(segloss_status st, const char *what) {
    if (st == SEGLOSS_OK) return;
    fprintf(stderr, "eval-stages: %s: %s\n", what, segloss_strerror(st));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: eval-stages PRED REF THREADS\n");
        return 1;
    }
    const int th = atoi(argv[3]) > 0 ? atoi(argv[3]) : 1;
    segloss_set_num_threads(th);
    segloss_image p, r;
    segloss_status sp = SEGLOSS_OK, sr = SEGLOSS_OK;
    char ep[256] = "", er[256] = "";

    /* as cli/eval_case.c: thread 0 reads the larger file on disk; the
     * other thread maps the zero rows of its image while thread 0 reads */
    struct stat s1, s2;
    const int ref_first = stat(argv[1], &s1) == 0 && stat(argv[2], &s2) == 0 &&
                          s2.st_size > s1.st_size;
    uint8_t *zero = NULL;
    int64_t mapped = 0, rows = 0;
    atomic_int first_done;
    atomic_init(&first_done, 0);
    stage_start();
#pragma omp parallel num_threads(2) if (th > 1)
    for (int k = omp_get_thread_num(); k < 2; k += omp_get_num_threads()) {
        segloss_image *img = (k == 0) == ref_first ? &r : &p;
        if ((k == 0) == ref_first) sr = segloss_image_read(&r, argv[2], 0, er, sizeof er);
        else sp = segloss_image_read(&p, argv[1], 0, ep, sizeof ep);
        if (k == 0) atomic_store(&first_done, 1);
        else if (omp_get_num_threads() == 2 && (img == &r ? sr : sp) == SEGLOSS_OK) {
            const segloss_shape *sh = &img->array.shape;
            const int64_t n = sh->dim[sh->ndim - 1];
            const size_t rb = (size_t)n * segloss_dtype_size(img->array.dtype);
            rows = img->array.numel / n;
            zero = calloc((size_t)rows, 1);
            for (int64_t q = 0; zero && q < rows && !atomic_load(&first_done); q += 4096) {
                const int64_t nr = rows - q < 4096 ? rows - q : 4096;
                segloss_label_array slab = {(const char *)img->array.data + (size_t)q * rb,
                                            img->array.dtype};
                segloss_shape ss = {2, {nr, n}};
                must(segloss_label_rows_zero(zero + q, &slab, &ss), "zero rows");
                mapped = q + nr;
            }
        }
    }
    stage_end("read");
    must(sp, ep[0] ? ep : argv[1]);
    must(sr, er[0] ? er : argv[2]);
    if (th > 1) printf("         zero rows of the %s mapped: %lld of %lld\n", ref_first ? "prediction" : "reference", (long long)mapped, (long long)rows);

    segloss_label_array pa = {p.array.data, p.array.dtype}, ra = {r.array.data, r.array.dtype};
    segloss_label_set set;
    stage_start();
    must(segloss_label_scan_rows(&set, &pa, ref_first ? zero : NULL, &ra, ref_first ? NULL : zero,
                                 &r.array.shape),
         "label scan");
    stage_end("scan");
    free(zero);

    segloss_metric_opts o = segloss_metric_opts_default();
    for (int d = 0; d < r.array.shape.ndim; d++) o.spacing[d] = r.spacing[d];
    o.distances = 1;
    o.threads = th;
    segloss_label_metrics *res = calloc((size_t)(set.count ? set.count : 1), sizeof *res);
    if (!res) return 1;
    stage_start();
    must(segloss_label_metrics_compute(res, NULL, set.count, &set, &pa, &ra, &r.array.shape, &o),
         "metrics");
    stage_end("metrics");

    stage_start();
    free(res);
    segloss_label_set_free(&set);
    segloss_image_free(&p);
    segloss_image_free(&r);
    stage_end("free");
    printf("threads %d: longest %.3f s  cpu %.3f s\n", th, total_longest, total_cpu);
    return 0;
}
