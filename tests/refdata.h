/* Shared helpers of the reference-data tests (test_ref_core.c,
 * test_element_ref.c, test_region_ref.c): the token reader of the
 * tools/ref/gen_*_ref.py text format, ARRAY parsing with the splitmix64
 * regeneration, typed target buffers, the element-wise and gradient
 * comparisons and the worst-error bookkeeping. */
#ifndef SEGLOSS_TESTS_REFDATA_H
#define SEGLOSS_TESTS_REFDATA_H
#include <segloss.h>

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */
/* ------------------------------------------------------------------------ */
typedef struct ref_lexer {
    char *p;
} ref_lexer;

/* Next whitespace-separated token (NUL-terminated in place), skipping
 * '#' comments to the end of the line; NULL at the end. */
char *ref_tok(ref_lexer *lx);
/* The rest of the current line (NUL-terminated in place). */
char *ref_rest_of_line(ref_lexer *lx);
int ref_tok_i64(ref_lexer *lx, int64_t *v);
int ref_tok_u64(ref_lexer *lx, uint64_t *v);
int ref_tok_f64(ref_lexer *lx, double *v);
/* The next "KEY VALUE" pair of a line of such pairs: the key, with its
 * number in *v (a missing or bad number fails a check); NULL at the end. */
char *ref_tok_pair(ref_lexer *lx, double *v);
/* float32 values are parsed with strtof: correctly rounded, so a value
 * printed with 9 digits comes back bit for bit. */
int ref_tok_f32(ref_lexer *lx, double *v);

/* `TAG DIGITS`: a 0/1 mask of n voxels, one digit each (malloc'd); NULL
 * when the tag or the length differs. */
uint8_t *ref_read_mask(ref_lexer *lx, const char *tag, int64_t n);

/* The whole file, NUL-terminated (malloc'd); NULL when unreadable. */
char *ref_read_file(const char *path);

/* A pair of 0/1 masks of the metric reference files (gen_convention_ref.py,
 * gen_evalseg_ref.py): a line "case NAME NDIM D0 [D1 [D2]] S0 [S1 [S2]]
 * [TAU]" and the lines "pred DIGITS", "ref DIGITS" after it. */
typedef struct ref_mask_case {
    char name[64];
    segloss_shape shape;
    double sp[3], tau; /* spacing (1 on missing axes); tau 0 when absent */
    uint8_t *pred, *ref;
} ref_mask_case;
/* line: the "case" line of a text being split by strtok_r(NULL, "\n",
 * save), which then yields the two mask lines. Frees c's previous masks;
 * 0 on a format error. */
int ref_mask_case_read(ref_mask_case *c, char *line, char **save);
void ref_mask_case_free(ref_mask_case *c);
/* Walks such a file (text, split in place; *save NULL on the first call):
 * reads each case block into *c (counting it in *ncase) and returns the
 * tag of the next other line that follows a case, with *rest the text
 * after the tag; NULL at the end. Comment lines are skipped. */
char *ref_mask_case_next(char *text, char **save, ref_mask_case *c, int *ncase, char **rest);
/* Every metric of label 1 of c's two masks under *o (the calls checked). */
void ref_mask_case_metrics(segloss_label_metrics *m, const ref_mask_case *c,
                           const segloss_metric_opts *o);

/* ------------------------------------------------------------------------ */
/* Arrays                                                                    */
/* ------------------------------------------------------------------------ */
uint64_t ref_splitmix64(uint64_t *s);
/* U in [0, 1) from the top 24 bits of the next splitmix64 value. */
double ref_uniform(uint64_t *s);

typedef struct ref_arr {
    int64_t n;
    double *v;       /* dense values (n), or NULL when sparse */
    int64_t k;       /* sparse: count, indices, values, max |value| */
    int64_t *idx;
    double *sv;
    double maxabs;
} ref_arr;

void ref_arr_free(ref_arr *a);
/* Parses an ARRAY: `v N values...`, `r N SEED A B`, `q N SEED K A B`,
 * `m N SEED P`, `c N SEED K` or the sparse `s N MAXABS K (I X)...`;
 * as_f32: values are float32 (parsed with strtof, generated ones rounded).
 * 0 on a format error. */
int ref_parse_array(ref_lexer *lx, int as_f32, ref_arr *a);
/* The dense values as floats (malloc'd). */
float *ref_arr_to_f32(const ref_arr *a);
/* n doubles as floats (malloc'd; left unset when v is NULL). */
float *ref_to_f32(const double *v, int64_t n);

/* Dense or sparse reference entries as (index, value) pairs. */
int64_t ref_count(const ref_arr *r);
int64_t ref_index(const ref_arr *r, int64_t j);
double ref_value(const ref_arr *r, int64_t j);

/* `NDIM D...` */
int ref_parse_shape(ref_lexer *lx, segloss_shape *s);
/* f32 f64 u8 bool i8 i16 i32 i64 u16 u32 u64; 0 when unknown or NULL. */
int ref_parse_dtype(const char *t, segloss_dtype *d);
/* Buffer of n values of dtype dt (malloc'd; bool: v != 0). */
void *ref_make_target(const double *v, int64_t n, segloss_dtype dt);
/* n floats pre-filled with NaN (malloc'd). */
float *ref_nan_buffer(int64_t n);

/* ------------------------------------------------------------------------ */
/* Comparisons and the worst errors seen                                     */
/* ------------------------------------------------------------------------ */
/* |a - ref| <= rtol |ref| + atol, a == ref, or both NaN. */
int ref_close(double a, double ref, double rtol, double atol);

/* Element-wise comparison of got (indexed as r) with ref_close. */
typedef struct ref_elem_cmp {
    int64_t bad;      /* elements off */
    int64_t first;    /* index of the first one, -1 when none */
    double firstref;  /* its reference value */
    double worst;     /* max |a - ref| / |ref| over |ref| >= FLT_MIN, finite */
} ref_elem_cmp;
ref_elem_cmp ref_compare_elems(const float *got, const ref_arr *r, double rtol, double atol);

/* Gradient comparison: max |g - g_ref| and max |g_ref| (at least a sparse
 * reference's maxabs), NaN positions compared separately. */
typedef struct ref_grad_cmp {
    double maxref, maxerr;
    int64_t at;       /* index of maxerr, -1 when none */
    int64_t nan_bad;  /* entries NaN on one side only */
} ref_grad_cmp;
ref_grad_cmp ref_compare_grad(const float *g, const ref_arr *r);

/* The worst relative errors seen and the cases they came from. */
typedef struct ref_stats {
    int cases;
    double loss_rel;
    char loss_case[160];
    double elem_rel;
    char elem_case[160];
    double grad_rel;
    char grad_case[160];
} ref_stats;

/* *slot = v and name = cname when v > *slot. */
void ref_worst(double *slot, char *name, size_t len, double v, const char *cname);

/* A loss case against a peer (the second-edition rule): the loss within
 * 2e-5 relative (or atol), the gradient g within 1e-5 of its largest
 * reference entry; each is one check, a failure names the case. The
 * relative errors raise *worst_loss (not for a reference of 0) and
 * *worst_grad. */
void ref_check_loss_grad(const char *name, double loss, double ref, double atol, const float *g,
                         const ref_arr *grad, double *worst_loss, double *worst_grad);

/* Item counts: the number of elements of the library's *_items_shape. */
segloss_status ref_dice_items(int64_t *n, const segloss_shape *shape, const segloss_dice_opts *o);
segloss_status ref_lovasz_items(int64_t *n, const segloss_shape *shape,
                                const segloss_lovasz_opts *o);

#endif
