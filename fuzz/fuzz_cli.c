/* Fuzz target: the segloss command line (argument parsing of every
 * command, `loss` and `eval` first, and what the commands do with small
 * real files).
 *
 * Input: the arguments after "segloss", separated by NUL bytes (at most
 * 64, each at most 256 bytes). "%" followed by a letter stands for one of
 * the fixtures written at start-up, so that file arguments reach the
 * readers and the losses (see `fixtures` below: %x is a (2,3,2,2) float32
 * logits file, %y its 0/1 target, %m a PNG mask, %Z a .nii.gz, %P/%Q two
 * directories of cases, %o and %G output names, ...); "%%" is "%".
 *
 * The command runs in a scratch directory (work/) next to the fixtures
 * (fix/); inputs with an absolute path or ".." are skipped, so nothing is
 * written outside the scratch area. stdin reads /dev/null; stdout and
 * stderr are swapped for a /dev/null stream during the call (sanitizer
 * reports still reach the real stderr: they write to file descriptor 2).
 * After each call the scratch directory is emptied, and fixtures touched
 * through "%F" (the fixture directory) are rewritten.
 *
 * `segloss bench` is skipped (it allocates and runs as long as asked).
 *
 * Properties checked: the command returns (never exits or aborts), with an
 * exit code of 0..3; a failed `segloss loss` leaves no file behind (SPEC
 * §5: outputs are all-or-nothing). */
#include "fuzz.h"

#include <segloss.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* cli/main.c compiled with -Dmain=segloss_cli_main (see the Makefile). */
int segloss_cli_main(int argc, char **argv);

#define MAX_ARGS 64
#define MAX_ARG_LEN 256

static char fix_dir[4096], work_dir[4096];
/* mtimes of fix/, fix/P, fix/Q: a change means a fixture was touched. */
static struct stat fix_stat[3];
static const char *const fix_dirs[3] = {"", "/P", "/Q"};
static FILE *devnull;
static int initialised;

typedef struct fixture {
    char code;
    const char *name;
} fixture;

/* Codes for the fixture files (relative to work/) and output names. */
static const fixture fixtures[] = {
    {'x', "../fix/x.npy"},     {'p', "../fix/p.npy"},      {'y', "../fix/y.npy"},
    {'u', "../fix/yu8.npy"},   {'b', "../fix/ybool.npy"},  {'i', "../fix/yi64.npy"},
    {'s', "../fix/ysoft.npy"}, {'d', "../fix/x64.npy"},    {'w', "../fix/w.npy"},
    {'v', "../fix/pw.npy"},    {'B', "../fix/wbad.npy"},   {'e', "../fix/e.npy"},
    {'n', "../fix/nan.npy"},   {'k', "../fix/y255.npy"},   {'1', "../fix/x1.npy"},
    {'2', "../fix/y1.npy"},    {'c', "../fix/cls.npy"},    {'g', "../fix/garbage.npy"},
    {'t', "../fix/trunc.npy"}, {'m', "../fix/m.png"},      {'r', "../fix/r.png"},
    {'N', "../fix/m.nii"},     {'Z', "../fix/m.nii.gz"},   {'M', "../fix/mask.npy"},
    {'R', "../fix/ref.npy"},   {'S', "../fix/score.npy"},  {'P', "../fix/P"},
    {'Q', "../fix/Q"},         {'F', "../fix"},            {'o', "o.npy"},
    {'G', "g.npy"},            {'j', "o.json"},            {'C', "o.csv"},
};
#define NUM_FIXTURES (sizeof fixtures / sizeof fixtures[0])

static void fix_path(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", fix_dir, name);
}

static void write_npy(const char *name, const void *data, segloss_dtype dt, int ndim,
                      const int64_t *dims) {
    segloss_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    for (int k = 0; k < ndim; k++) s.dim[k] = dims[k];
    char path[8192];
    fix_path(path, sizeof path, name);
    char err[256];
    if (segloss_npy_write(path, data, dt, &s, err, sizeof err) != SEGLOSS_OK)
        fuzz_fail(__FILE__, __LINE__, "fixture %s: %s", name, err);
}

static void put32be(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A grey 8-bit PNG of h x w pixels: signature, IHDR, one IDAT, IEND. */
static void write_png(const char *name, const uint8_t *pix, uint32_t h, uint32_t w) {
    unsigned char raw[256], z[512], out[1024];
    size_t rl = 0;
    for (uint32_t r = 0; r < h; r++) {
        raw[rl++] = 0; /* filter: none */
        memcpy(raw + rl, pix + r * w, w);
        rl += w;
    }
    uLongf zl = sizeof z;
    FUZZ_CHECK(compress2(z, &zl, raw, (uLong)rl, 9) == Z_OK);
    size_t n = 0;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    n = 8;
    unsigned char ihdr[13] = {0};
    put32be(ihdr, w);
    put32be(ihdr + 4, h);
    ihdr[8] = 8; /* bit depth; colour type 0 (grey), no interlace */
    const struct {
        const char *type;
        const unsigned char *data;
        size_t len;
    } chunks[3] = {{"IHDR", ihdr, 13}, {"IDAT", z, zl}, {"IEND", NULL, 0}};
    for (int c = 0; c < 3; c++) {
        put32be(out + n, (uint32_t)chunks[c].len);
        memcpy(out + n + 4, chunks[c].type, 4);
        if (chunks[c].len) memcpy(out + n + 8, chunks[c].data, chunks[c].len);
        uLong crc = crc32(0L, out + n + 4, (uInt)(4 + chunks[c].len));
        put32be(out + n + 8 + chunks[c].len, (uint32_t)crc);
        n += 12 + chunks[c].len;
    }
    char path[8192];
    fix_path(path, sizeof path, name);
    FUZZ_CHECK(fuzz_write_file(path, out, n) == 0);
}

/* A NIfTI-1 uint8 volume of (nx, ny, 1) voxels, spacing 0.5 x 2. */
static void write_nifti(const char *name, const uint8_t *vox, int16_t nx, int16_t ny, int gz) {
    unsigned char f[352 + 64];
    memset(f, 0, sizeof f);
    int32_t sz = 348;
    int16_t dim[8] = {3, nx, ny, 1, 1, 1, 1, 1};
    int16_t dt = 2, bitpix = 8;
    float pixdim[8] = {1, 0.5f, 2, 1, 1, 1, 1, 1};
    float vox_offset = 352;
    memcpy(f, &sz, 4);
    memcpy(f + 40, dim, sizeof dim);
    memcpy(f + 70, &dt, 2);
    memcpy(f + 72, &bitpix, 2);
    memcpy(f + 76, pixdim, sizeof pixdim);
    memcpy(f + 108, &vox_offset, 4);
    memcpy(f + 344, "n+1", 4);
    size_t n = (size_t)nx * (size_t)ny;
    memcpy(f + 352, vox, n);
    char path[8192];
    fix_path(path, sizeof path, name);
    if (!gz) {
        FUZZ_CHECK(fuzz_write_file(path, f, 352 + n) == 0);
        return;
    }
    gzFile g = gzopen(path, "wb");
    FUZZ_CHECK(g != NULL);
    FUZZ_CHECK(gzwrite(g, f, (unsigned)(352 + n)) == (int)(352 + n));
    FUZZ_CHECK(gzclose(g) == Z_OK);
}

static void make_fixtures(void) {
    fuzz_empty_dir(fix_dir);
    const int64_t d4[4] = {2, 3, 2, 2}, d2[2] = {4, 4}, d1[1] = {4};
    float x[24], p[24], y[24], nanx[24];
    double x64[24], ysoft[24];
    uint8_t yu8[24], y255[24];
    int64_t yi64[24];
    for (int k = 0; k < 24; k++) {
        x[k] = (float)((k * 7) % 11 - 5) / 2.0f;
        p[k] = (float)((k * 5) % 9) / 8.0f;
        yu8[k] = (uint8_t)((k * 3 + 1) % 4 == 0);
        y[k] = yu8[k];
        yi64[k] = yu8[k];
        y255[k] = (uint8_t)(yu8[k] * 255);
        ysoft[k] = (double)((k * 3) % 5) / 4.0;
        x64[k] = x[k];
        nanx[k] = k == 3 ? (float)NAN : k == 7 ? (float)INFINITY : x[k];
    }
    write_npy("x.npy", x, SEGLOSS_F32, 4, d4);
    write_npy("p.npy", p, SEGLOSS_F32, 4, d4);
    write_npy("y.npy", y, SEGLOSS_F32, 4, d4);
    write_npy("yu8.npy", yu8, SEGLOSS_U8, 4, d4);
    write_npy("ybool.npy", yu8, SEGLOSS_BOOL, 4, d4);
    write_npy("yi64.npy", yi64, SEGLOSS_I64, 4, d4);
    write_npy("ysoft.npy", ysoft, SEGLOSS_F64, 4, d4);
    write_npy("x64.npy", x64, SEGLOSS_F64, 4, d4);
    write_npy("nan.npy", nanx, SEGLOSS_F32, 4, d4);
    write_npy("y255.npy", y255, SEGLOSS_U8, 4, d4);
    const float w[4] = {0.5f, 1, 2, 0};
    const int64_t dw[2] = {2, 2}, dpw[3] = {3, 1, 1}, dbad[1] = {5};
    write_npy("w.npy", w, SEGLOSS_F32, 2, dw);
    const float pw[3] = {0.5f, 2, 3};
    write_npy("pw.npy", pw, SEGLOSS_F32, 3, dpw);
    const float wbad[5] = {1, 2, 3, 4, 5};
    write_npy("wbad.npy", wbad, SEGLOSS_F32, 1, dbad);
    const int64_t d0[1] = {0};
    write_npy("e.npy", x, SEGLOSS_F32, 1, d0);
    write_npy("x1.npy", x, SEGLOSS_F32, 1, d1);
    write_npy("y1.npy", y, SEGLOSS_F32, 1, d1);
    const int64_t dcls[3] = {2, 2, 2};
    int64_t cls[8];
    for (int k = 0; k < 8; k++) cls[k] = k % 3;
    write_npy("cls.npy", cls, SEGLOSS_I64, 3, dcls);
    char path[8192], src[8192];
    fix_path(path, sizeof path, "garbage.npy");
    FUZZ_CHECK(fuzz_write_file(path, "hello, not an array\n", 20) == 0);
    {
        /* The first 70 bytes of x.npy: a header and part of the data. */
        fix_path(src, sizeof src, "x.npy");
        FILE *f = fopen(src, "rb");
        unsigned char buf[70];
        FUZZ_CHECK(f && fread(buf, 1, sizeof buf, f) == sizeof buf);
        fclose(f);
        fix_path(path, sizeof path, "trunc.npy");
        FUZZ_CHECK(fuzz_write_file(path, buf, sizeof buf) == 0);
    }
    uint8_t mask[16], ref[16];
    float score[16];
    for (int k = 0; k < 16; k++) {
        int r = k / 4, c = k % 4;
        mask[k] = (uint8_t)(r >= 1 && r <= 2 && c >= 1);
        ref[k] = (uint8_t)(r >= 1 && c >= 1 && c <= 2 ? 1 : r == 0 && c == 0 ? 2 : 0);
        score[k] = mask[k] ? 0.75f : 0.25f;
    }
    write_png("m.png", mask, 4, 4);
    write_png("r.png", ref, 4, 4);
    write_nifti("m.nii", mask, 4, 4, 0);
    write_nifti("m.nii.gz", mask, 4, 4, 1);
    write_npy("mask.npy", mask, SEGLOSS_U8, 2, d2);
    write_npy("ref.npy", ref, SEGLOSS_U8, 2, d2);
    write_npy("score.npy", score, SEGLOSS_F32, 2, d2);
    /* Two case directories: a.npy and b.png in both, c.npy only in Q. */
    fix_path(path, sizeof path, "P");
    FUZZ_CHECK(mkdir(path, 0777) == 0);
    fix_path(path, sizeof path, "Q");
    FUZZ_CHECK(mkdir(path, 0777) == 0);
    write_npy("P/a.npy", mask, SEGLOSS_U8, 2, d2);
    write_npy("Q/a.npy", ref, SEGLOSS_U8, 2, d2);
    write_png("P/b.png", ref, 4, 4);
    write_png("Q/b.png", mask, 4, 4);
    write_npy("Q/c.npy", ref, SEGLOSS_U8, 2, d2);
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s%s", fix_dir, fix_dirs[k]);
        FUZZ_CHECK(stat(path, &fix_stat[k]) == 0);
    }
}

static void init(void) {
    snprintf(fix_dir, sizeof fix_dir, "%s/fix", fuzz_tmpdir());
    snprintf(work_dir, sizeof work_dir, "%s/work", fuzz_tmpdir());
    mkdir(fix_dir, 0777);
    mkdir(work_dir, 0777);
    make_fixtures();
    devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    /* Nothing may wait for input. */
    int fd = open("/dev/null", O_RDONLY);
    FUZZ_CHECK(fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    initialised = 1;
}

static int same_time(const struct stat *a, const struct stat *b) {
    return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ino == b->st_ino;
}

/* Number of entries in dir (".", ".." excluded). */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* Expands "%c" codes; returns -1 for an input to skip. */
static int expand(char *dst, size_t cap, const char *src, size_t n) {
    if (n > 0 && src[0] == '/') return -1;
    for (size_t k = 0; k + 1 < n; k++)
        if (src[k] == '.' && src[k + 1] == '.') return -1;
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
        const char *piece = NULL;
        char one[2] = {src[k], 0};
        if (src[k] == '%' && k + 1 < n) {
            char code = src[++k];
            if (code == '%') piece = "%";
            for (size_t f = 0; f < NUM_FIXTURES && !piece; f++)
                if (fixtures[f].code == code) piece = fixtures[f].name;
            if (!piece) {
                one[0] = '%';
                k--; /* an unknown code stays as it is */
            }
        }
        if (!piece) piece = one;
        size_t pl = strlen(piece);
        if (o + pl + 1 > cap) return -1;
        memcpy(dst + o, piece, pl);
        o += pl;
    }
    dst[o] = '\0';
    return 0;
}

/* --threads N: at most 4 (the replay driver is built with OpenMP; a
 * thousand threads would only slow the suite down). */
static void clamp_threads(char **argv, int argc) {
    for (int i = 1; i < argc; i++) {
        char *v = NULL;
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) v = argv[i + 1];
        else if (strncmp(argv[i], "--threads=", 10) == 0) v = argv[i] + 10;
        if (v && strtol(v, NULL, 10) > 4 && strlen(v) >= 1) strcpy(v, "4");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!initialised) init();
    static char bufs[MAX_ARGS][MAX_ARG_LEN * 16 + 1];
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"segloss";
    size_t start = 0;
    for (size_t k = 0; k <= size; k++) {
        if (k < size && data[k] != 0) continue;
        if (argc > MAX_ARGS || k - start > MAX_ARG_LEN) return 0;
        if (expand(bufs[argc - 1], sizeof bufs[0], (const char *)data + start, k - start) != 0)
            return 0;
        argv[argc] = bufs[argc - 1];
        argc++;
        start = k + 1;
    }
    argv[argc] = NULL;
    /* `segloss bench` allocates and times as much as it is asked to (up to
     * the memory cap): slow by design, not a parser to fuzz. */
    if (argc > 1 && strcmp(argv[1], "bench") == 0) return 0;
    clamp_threads(argv, argc);

    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    FUZZ_CHECK(cwd >= 0);
    FUZZ_CHECK(chdir(work_dir) == 0);
    FILE *out = stdout, *err = stderr;
    fflush(stdout);
    fflush(stderr);
    stdout = devnull;
    stderr = devnull;
    int rc = segloss_cli_main(argc, argv);
    fflush(devnull);
    stdout = out;
    stderr = err;
    FUZZ_CHECK(fchdir(cwd) == 0);
    close(cwd);

    FUZZ_CHECK_MSG(rc >= 0 && rc <= 3, "exit code %d", rc);
    int entries = count_entries(work_dir);
    if (rc != 0 && argc > 1 && strcmp(argv[1], "loss") == 0)
        FUZZ_CHECK_MSG(entries == 0, "segloss loss failed (exit %d) but left %d file(s)", rc,
                       entries);
    if (entries > 0) fuzz_empty_dir(work_dir);
    for (int k = 0; k < 3; k++) {
        char path[8192];
        struct stat now;
        snprintf(path, sizeof path, "%s%s", fix_dir, fix_dirs[k]);
        if (stat(path, &now) != 0 || !same_time(&now, &fix_stat[k])) {
            make_fixtures();
            break;
        }
    }
    return 0;
}
