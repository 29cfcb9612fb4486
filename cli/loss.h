/* segloss loss — private declarations shared by cmd_loss.c (the command:
 * run the loss, write the outputs), loss_kinds.c (the kinds table and the
 * library calls), loss_opts.c (options and help) and loss_input.c
 * (reading and checking the arrays, explaining failures). Nothing here is
 * part of the library.
 *
 * Adding a loss: one entry in loss_kinds[] (loss_kinds.c) with its
 * capability flags and the option groups that apply, its forward/backward
 * wrappers next to it, and, if it has options of its own, one group in
 * loss_opts.c. */
#ifndef SEGLOSS_CLI_LOSS_H
#define SEGLOSS_CLI_LOSS_H

#include <segloss.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct loss_kind;

/* The parsed command line. */
typedef struct loss_cfg {
    const struct loss_kind *kind;
    const char *input, *target, *weight, *pos_weight, *grad_path, *out_path;
    segloss_reduction reduction;
    int json;
    /* The library's options as parsed, from its segloss_*_opts_default();
     * reduction, weights and the ignore value are filled in per call. */
    segloss_dice_opts region;  /* region losses: activation, smoothing, flags */
    int have_snr, have_sdr;    /* --smooth-nr / --smooth-dr given */
    int smp_version;           /* --smp-version: SEGLOSS_SMP_*, 0 if not given */
    int have_ignore;           /* --ignore-index given */
    double ignore_index;
    int per_image;             /* lovasz-hinge */
    segloss_focal_opts focal;                   /* alpha, gamma */
    double label_smoothing;                     /* ce */
    const char *class_weight;                   /* ce, a list read with the input */
    segloss_tversky_opts tversky;               /* alpha, beta, gamma */
    segloss_dice_bce_opts dice_bce;             /* lambda_dice, lambda_bce */
    segloss_dice_ce_opts dice_ce;               /* lambdas, label smoothing, nnunet */
    segloss_dice_focal_opts dice_focal;         /* gamma, alpha, lambdas (both focal kinds) */
    double lambda_gdl;                          /* generalized-dice-focal */
    segloss_mcc_opts mcc;                       /* activation, eps */
    double topk;                                /* topk-ce --k */
    segloss_hausdorff_dt_opts hd;               /* alpha (activation, batch: region) */
    int include_background;                     /* hausdorff-dt --include-background */
    segloss_unified_focal_opts uf;              /* unified-focal: weight, delta, gamma */
    segloss_gwdl_opts gwdl;                     /* gwdl: weighting mode, smoothing */
    const char *dist_matrix;                    /* gwdl --distance-matrix, read with the input */
    int have_activation;       /* --activation given (LK_MULTICLASS kinds choose otherwise) */
    segloss_gdice_weight w_type;                /* generalized-dice */
    segloss_dice_cldice_opts cldice;            /* cldice, dice-cldice: iter, smooth, alpha */
    size_t max_bytes;          /* --max-bytes: cap on each file's data (0: none) */
    int allow_nonfinite;       /* --allow-nonfinite */
} loss_cfg;

/* The arrays, as read and converted. */
typedef struct loss_data {
    segloss_npy in, tgt, w, pw;      /* files as read */
    const float *x;                  /* input as float32 */
    segloss_shape shape;             /* input's shape */
    int64_t numel;
    segloss_target target;           /* aligned */
    segloss_farray weight, pos_weight;
    segloss_farray class_weight;     /* ce --class-weight */
    segloss_npy dm;                  /* gwdl --distance-matrix as read */
    const float *dist_matrix;        /* its C x C values as float32 */
    void *owned[4];                  /* converted copies, freed at the end */
    int binary_bce;                  /* bce on predictions that are all 0 or 1 */
} loss_data;

/* ---------------------------------------------------------------------- */
/* The kinds (loss_kinds.c)                                                 */
/* ---------------------------------------------------------------------- */
/* Capabilities of a kind. */
enum {
    LK_REGION = 1u << 0,        /* the region layer: (N, C, spatial...) or one image, 1 to 5
                                   dimensions; takes --activation (softmax: class-index
                                   targets) */
    LK_CLASS_TARGET = 1u << 1,  /* the target is class indices, the input's shape without
                                   axis 1; the ignore index defaults to -100 and is an
                                   integer (PyTorch CrossEntropyLoss) */
    LK_PROBS = 1u << 2,         /* the input is probabilities (bce): all-0/1 predictions get
                                   a warning */
    LK_FINITE = 1u << 3,        /* non-finite inputs are refused even with
                                   --allow-nonfinite (the kind's `finite_why` says why) */
    LK_LOGITS_REDUCED = 1u << 4, /* logits only (--activation sigmoid) and mean or sum only */
    LK_MULTICLASS = 1u << 5,    /* dice-ce: with C > 1 channels (axis 1 of an input of ndim
                                   >= 3) the target is class indices and --activation
                                   defaults to softmax; with one channel it is dense and
                                   sigmoid; mean or sum only */
    LK_REDUCED = 1u << 6,       /* mean or sum only */
    LK_MEAN_ONLY = 1u << 7,     /* mean only (a loss that is one mean by definition) */
    LK_ACT_NONE = 1u << 8,      /* --activation defaults to none (probabilities) */
    LK_ACT_SOFTMAX = 1u << 9    /* --activation defaults to softmax */
};

/* Option groups (loss_opts.c), in help order; a kind lists those that
 * apply to it as a mask of LG(...) bits. The first, common one applies to
 * every kind. */
enum {
    LG_COMMON,
    LG_WEIGHT,
    LG_POS_WEIGHT,
    LG_REGION,
    LG_IGNORE,
    LG_FOCAL,
    LG_CE,
    LG_LOVASZ,
    LG_DICE,
    LG_SMP,
    LG_TVERSKY,
    LG_GDICE,
    LG_DICE_BCE,
    LG_DICE_CE,
    LG_DICE_FOCAL,
    LG_GDICE_FOCAL,
    LG_MCC,
    LG_TOPK,
    LG_HD,
    LG_BOUNDARY,
    LG_CLDICE,
    LG_DICE_CLDICE,
    LG_UNIFIED_FOCAL,
    LG_GWDL,
    LG_COUNT
};
#define LG(g) (1u << LG_##g)

typedef segloss_status (*loss_forward_fn)(const loss_cfg *, const loss_data *, double *loss,
                                          float *elems);
typedef segloss_status (*loss_backward_fn)(const loss_cfg *, const loss_data *, float *grad,
                                           const float *grad_out);
/* Forward and backward in one call (the library's fused
 * segloss_*_forward_backward: the same bits as the two calls). */
typedef segloss_status (*loss_fused_fn)(const loss_cfg *, const loss_data *, double *loss,
                                        float *elems, float *grad, const float *grad_out);
/* Shape of the per-item loss array written by --out. */
typedef segloss_status (*loss_shape_fn)(const loss_cfg *, const loss_data *, segloss_shape *);

typedef struct loss_kind {
    const char *name;
    const char *summary;          /* one line of `segloss loss --help` */
    unsigned flags;               /* LK_* */
    unsigned groups;              /* LG(...) of the options that apply, besides the common ones */
    loss_shape_fn out_shape;
    loss_forward_fn forward;
    loss_backward_fn backward;
    loss_fused_fn fused;          /* used with --grad when the library has one; else NULL */
    const char *domain_hint;      /* after "INPUT: values outside [0,1]" */
    const char *finite_why;       /* LK_FINITE: why non-finite inputs are refused */
} loss_kind;

extern const loss_kind loss_kinds[];
extern const size_t loss_num_kinds;

/* The class-index target shape: the input's without axis 1 ((C) -> ()). */
segloss_status loss_class_target_shape(const segloss_shape *input, segloss_shape *out);

/* Whether the target holds class indices: LK_CLASS_TARGET kinds, region
 * kinds with --activation softmax, and LK_MULTICLASS kinds on an input with
 * C > 1 (d: the input read). */
int loss_class_target(const loss_cfg *c, const loss_data *d);
/* The activation in effect: --activation, or for LK_MULTICLASS kinds
 * without it softmax when C > 1 and sigmoid otherwise. */
segloss_activation loss_activation(const loss_cfg *c, const loss_data *d);
/* --ignore-index as the library's value (an integer: loss_parse_args
 * checks it); `none` when not given. */
int64_t loss_ignore_value(const loss_cfg *c, int64_t none);

/* ---------------------------------------------------------------------- */
/* Options and help (loss_opts.c)                                            */
/* ---------------------------------------------------------------------- */
void loss_usage(FILE *f);
/* Prints "try 'segloss loss --help'"; returns CLI_USAGE. */
int loss_usage_error(void);
/* Fills c from argv; returns 0 or an exit code (after the message). */
int loss_parse_args(loss_cfg *c, int argc, char **argv);

/* ---------------------------------------------------------------------- */
/* Inputs and their errors (loss_input.c)                                   */
/* ---------------------------------------------------------------------- */
/* Reads and checks the input, target and weights (naming the file at
 * fault); returns an exit code. d is freed by loss_free_data, also after a
 * failure. */
int loss_load_data(const loss_cfg *c, loss_data *d);
void loss_free_data(loss_data *d);
/* Prints what a failed library call `st` means for these inputs (the
 * first bad value and where it is); returns the exit code. */
int loss_fail(const loss_cfg *c, const loss_data *d, segloss_status st);
/* "out of memory"; returns CLI_INTERNAL. */
int loss_oom(void);

#endif
