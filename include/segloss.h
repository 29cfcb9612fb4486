/*
 * segloss.h — segmentation losses and metrics, forward and backward, in C11.
 *
 * The only public header of segloss's two libraries:
 *  - libsegloss (-lsegloss; pkg-config segloss; CMake segloss::segloss):
 *    everything except the image readers: losses, metrics, .npy files,
 *    threads, versions. It needs only libm (and the OpenMP runtime when
 *    built with OpenMP), never libpng or zlib.
 *  - libsegloss_io (-lsegloss_io -lsegloss; pkg-config segloss-io; CMake
 *    segloss::segloss_io): the PNG and NIfTI readers, segloss_image_*,
 *    segloss_png_* and segloss_nifti_* (section "Images" below); it needs
 *    libsegloss, libpng, zlib and libdeflate.
 * Every public name starts with `segloss_` (macros with `SEGLOSS_`). Every
 * fallible call returns a segloss_status; results come back through
 * out-parameters. The library never prints, never exits and never aborts on
 * bad input.
 *
 * Example: BCE-with-logits and its gradient for a 2x2 image.
 *
 *     #include <segloss.h>
 *     #include <stdio.h>
 *     int main(void) {
 *         float x[4] = {0.6455f, 0.3470f, 0.4777f, 0.7547f};   // logits
 *         float y[4] = {1, 0, 0, 1};                           // target
 *         float g[4];                                          // d loss / d x
 *         segloss_shape shape = {2, {2, 2}};
 *         segloss_target t = {y, SEGLOSS_F32};
 *         segloss_bce_opts opts = segloss_bce_opts_default();  // mean, no weights
 *         double loss;
 *         segloss_status st = segloss_bce_logits_forward(&loss, NULL, x, &t, &shape, &opts);
 *         if (st == SEGLOSS_OK)
 *             st = segloss_bce_logits_backward(g, x, &t, &shape, &opts, NULL);
 *         if (st != SEGLOSS_OK) { fprintf(stderr, "%s\n", segloss_strerror(st)); return 1; }
 *         printf("loss %.4f grad %.4f %.4f %.4f %.4f\n", loss, g[0], g[1], g[2], g[3]);
 *         return 0;
 *     }
 *
 * Conventions
 *  - Predictions (logits or probabilities) are float32, C order.
 *  - A target has the prediction's shape and one of the dtypes of
 *    segloss_dtype; its values must lie in [0,1] (soft labels allowed for
 *    float targets; integer targets must be 0 or 1; bool: nonzero is 1).
 *  - Reductions follow PyTorch: MEAN divides by the element count (never by
 *    the sum of weights), SUM, NONE. Sums are accumulated in double over fixed
 *    blocks whose size depends only on the problem, combined in a fixed
 *    order: results are bit-identical for any thread count.
 *  - Backward writes d(reduced loss)/d(input), overwriting `grad`. `grad_out`
 *    is the upstream gradient: NULL means 1; for MEAN/SUM it points to one
 *    float; for NONE to an array of the loss's shape.
 *  - Option structs: initialise one with its segloss_X_opts_default()
 *    (e.g. segloss_dice_opts opts = segloss_dice_opts_default();) and change
 *    the fields you need; a NULL options pointer means the same defaults.
 *    Every field is used as given: a zero-filled struct is NOT the defaults
 *    (its smoothing, focal alpha/gamma, lambdas, percentile... are 0).
 *  - ignore_index (bce, focal, ce, lovasz, region losses) is an int64_t;
 *    SEGLOSS_IGNORE_NONE ignores nothing. The rule is the one of
 *    segloss_check_report below.
 */
#ifndef SEGLOSS_H
#define SEGLOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Symbol visibility                                                         */
/* ------------------------------------------------------------------------ */
/* SEGLOSS_API marks every public function. The libraries are built with
 * -fvisibility=hidden, so the shared libraries export exactly the functions
 * declared here and nothing else. On Windows, define SEGLOSS_DLL_EXPORT=1
 * when building a DLL and SEGLOSS_DLL_IMPORT=1 when using one. Defining
 * SEGLOSS_VISIBLE or SEGLOSS_API before including this header overrides
 * them. */
#ifndef SEGLOSS_VISIBLE
#  if defined(__GNUC__) && (__GNUC__ >= 4) && !defined(__MINGW32__)
#    define SEGLOSS_VISIBLE __attribute__((visibility("default")))
#  else
#    define SEGLOSS_VISIBLE
#  endif
#endif
#ifndef SEGLOSS_API
#  if defined(SEGLOSS_DLL_EXPORT) && (SEGLOSS_DLL_EXPORT == 1)
#    define SEGLOSS_API __declspec(dllexport) SEGLOSS_VISIBLE
#  elif defined(SEGLOSS_DLL_IMPORT) && (SEGLOSS_DLL_IMPORT == 1)
#    define SEGLOSS_API __declspec(dllimport) SEGLOSS_VISIBLE
#  else
#    define SEGLOSS_API SEGLOSS_VISIBLE
#  endif
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */
#define SEGLOSS_VERSION_MAJOR 0
#define SEGLOSS_VERSION_MINOR 2
#define SEGLOSS_VERSION_PATCH 0
#define SEGLOSS_VERSION_STRING "0.2.0"
/* major*10000 + minor*100 + patch: 200 for 0.2.0, 10203 for 1.2.3. */
#define SEGLOSS_VERSION_NUMBER \
    (SEGLOSS_VERSION_MAJOR * 10000 + SEGLOSS_VERSION_MINOR * 100 + SEGLOSS_VERSION_PATCH)

/* The version of the library linked at run time, which may differ from the
 * header's SEGLOSS_VERSION_NUMBER / SEGLOSS_VERSION_STRING when a program
 * runs against another build of the shared library. */
SEGLOSS_API unsigned segloss_version_number(void);
SEGLOSS_API const char *segloss_version_string(void);

/* Maximum array rank handled anywhere in the library. */
#define SEGLOSS_MAX_DIMS 8

/* ------------------------------------------------------------------------ */
/* Status codes (fixed values: programs may store them).                     */
/* ------------------------------------------------------------------------ */
typedef enum segloss_status {
    SEGLOSS_OK = 0,
    SEGLOSS_ERR_NULL = 1,        /* a required pointer argument was NULL */
    SEGLOSS_ERR_SHAPE = 2,       /* shapes differ, cannot broadcast, or bad rank */
    SEGLOSS_ERR_EMPTY = 3,       /* an array has zero elements */
    SEGLOSS_ERR_OVERFLOW = 4,    /* a size computation would overflow */
    SEGLOSS_ERR_NOMEM = 5,       /* memory allocation failed */
    SEGLOSS_ERR_DOMAIN = 6,      /* input outside the loss's domain (probabilities not in [0,1], NaN) */
    SEGLOSS_ERR_TARGET = 7,      /* target value outside [0,1] (or not 0/1 for integer targets), or NaN */
    SEGLOSS_ERR_ARG = 8,         /* invalid option value or enum */
    SEGLOSS_ERR_DTYPE = 9,       /* dtype not supported for this use */
    SEGLOSS_ERR_NONFINITE = 10,  /* NaN or infinity where finite values are required */
    SEGLOSS_ERR_IO = 11,         /* the operating system failed to open/read/write a file */
    SEGLOSS_ERR_FORMAT = 12,     /* a file is malformed or truncated */
    SEGLOSS_ERR_UNSUPPORTED = 13,/* a well-formed file uses a feature segloss does not support */
    SEGLOSS_ERR_LIMIT = 14,      /* decoded size exceeds the configured cap */
    SEGLOSS_ERR_INTERNAL = 15    /* a bug in segloss */
} segloss_status;

/* A static, human-readable sentence for a status (never NULL). */
SEGLOSS_API const char *segloss_strerror(segloss_status status);

/* ------------------------------------------------------------------------ */
/* Element types, shapes, arrays                                             */
/* ------------------------------------------------------------------------ */
typedef enum segloss_dtype {
    SEGLOSS_F32 = 0,
    SEGLOSS_F64 = 1,
    SEGLOSS_U8 = 2,
    SEGLOSS_BOOL = 3,
    SEGLOSS_I8 = 4,
    SEGLOSS_I16 = 5,
    SEGLOSS_I32 = 6,
    SEGLOSS_I64 = 7,
    SEGLOSS_U16 = 8,
    SEGLOSS_U32 = 9,
    SEGLOSS_U64 = 10
} segloss_dtype;

/* Size in bytes of one element (0 for an invalid dtype). */
SEGLOSS_API size_t segloss_dtype_size(segloss_dtype dtype);
/* NumPy-style name: "float32", "uint8", "bool", ... ("invalid" otherwise). */
SEGLOSS_API const char *segloss_dtype_name(segloss_dtype dtype);

typedef struct segloss_shape {
    int ndim;                          /* 0 .. SEGLOSS_MAX_DIMS (0 = scalar) */
    int64_t dim[SEGLOSS_MAX_DIMS];     /* dim[0] is the outermost (C order) */
} segloss_shape;

/* Number of elements, with dimension and overflow checks (product must fit
 * in int64 and its byte size for 8-byte elements in size_t). A zero
 * dimension gives *numel = 0 and SEGLOSS_OK; as in NumPy, the nonzero
 * dimensions must still not overflow ((0, 2^62, 2^62) is OVERFLOW). A
 * negative dimension or a rank outside 0..SEGLOSS_MAX_DIMS is SHAPE. */
SEGLOSS_API segloss_status segloss_shape_numel(const segloss_shape *shape, int64_t *numel);

/* A target array: same shape as the prediction it is paired with. */
typedef struct segloss_target {
    const void *data;
    segloss_dtype dtype;
} segloss_target;

/* A float32 array with its own shape, broadcast against the input with
 * NumPy/PyTorch rules (right-aligned; each dim equal to the input's or 1; rank
 * at most the input's). data == NULL means "absent". */
typedef struct segloss_farray {
    const float *data;
    segloss_shape shape;
} segloss_farray;

/* ------------------------------------------------------------------------ */
/* Target and input rules, with the location of the first bad element        */
/* ------------------------------------------------------------------------ */
/* How a target is read. DENSE: the prediction's shape; float32/float64
 * values in [0,1] (soft labels; NaN is bad), integer values exactly 0 or 1,
 * bool: any nonzero byte is 1. INDEX: class indices in [0, C); integer
 * dtypes and bool (as the classes 0 and 1); float dtypes are
 * SEGLOSS_ERR_DTYPE. AUTO (region losses only): INDEX with activation
 * SOFTMAX, DENSE otherwise. */
typedef enum segloss_target_kind {
    SEGLOSS_TARGET_AUTO = 0,
    SEGLOSS_TARGET_DENSE = 1,
    SEGLOSS_TARGET_INDEX = 2
} segloss_target_kind;

/* "No ignore value" for segloss_target_check's ignore_index. */
#define SEGLOSS_IGNORE_NONE INT64_MIN

/* The ignore rule, the same in every loss: a target element is ignored
 * when its value converted to double equals (double)ignore_index (a bool
 * element's value is 0 or 1; uint64 values above INT64_MAX never equal).
 * Ignored elements are not range-checked. */
typedef struct segloss_check_report {
    int64_t index;     /* flat C-order index of the first (lowest) offending
                          element; -1 if none */
    double value;      /* that element's value as double (NaN stays NaN; a
                          bool element is 0 or 1); 0 when index is -1 */
    int64_t ignored;   /* elements equal to the ignore value, when the call
                          returns OK (0 otherwise, and with
                          SEGLOSS_IGNORE_NONE) */
    int64_t count;     /* offending elements in all n (0 when none) */
} segloss_check_report;

/* Checks n target elements with the rules of `kind` (DENSE or INDEX; AUTO
 * is ARG); num_classes is C for INDEX (>= 1, else ARG) and unused for
 * DENSE. Returns OK, TARGET (report->index and value set: the lowest bad
 * index, whatever the thread count), DTYPE (invalid dtype; a float dtype
 * with INDEX), NULL (report or target NULL, or data NULL with n > 0), ARG
 * (also n < 0). Every loss applies exactly these rules. */
SEGLOSS_API segloss_status segloss_target_check(segloss_check_report *report, const segloss_target *target,
                                                int64_t n, segloss_target_kind kind, int64_t num_classes,
                                                int64_t ignore_index);

/* Input rules: FINITE (NaN and +-inf are bad: SEGLOSS_ERR_NONFINITE) or
 * PROB (NaN or a value outside [0,1]: SEGLOSS_ERR_DOMAIN). */
typedef enum segloss_input_rule {
    SEGLOSS_INPUT_FINITE = 0,
    SEGLOSS_INPUT_PROB = 1
} segloss_input_rule;

/* Checks n float32 inputs against `rule`; report as segloss_target_check
 * (ignored is always 0). Returns OK, NONFINITE or DOMAIN (report->index and
 * value set), NULL, ARG (bad rule, n < 0). */
SEGLOSS_API segloss_status segloss_input_check(segloss_check_report *report, const float *x, int64_t n,
                                               segloss_input_rule rule);

/* Convert n elements of any dtype to float32 (integers as C converts them;
 * bool: any nonzero byte is 1; float64 rounded to nearest). n < 0 is ARG;
 * NULL pointers with n > 0 are NULL. out may alias src only for F32/F64
 * sources. */
SEGLOSS_API segloss_status segloss_convert_to_f32(float *out, const void *src, segloss_dtype dtype, int64_t n);

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */
/* Number of threads the library may use (n <= 0: all available cores).
 * Without OpenMP support compiled in, always 1. Results never depend on it. */
SEGLOSS_API void segloss_set_num_threads(int n);
SEGLOSS_API int segloss_get_num_threads(void);

/* The element kernels in use, chosen at the first call for this CPU:
 * "avx512" (AVX-512F/BW/DQ/VL), "avx2" (AVX2+FMA), "neon" (aarch64) or
 * "portable" (compiler-vectorised C: SSE2 on x86-64), the first the CPU
 * has; "scalar" (plain float32 C, one element at a time) when the
 * environment variable SEGLOSS_FORCE_SCALAR=1 is set. SEGLOSS_ISA=
 * scalar|portable|avx2|avx512|neon forces that path when the CPU has it
 * (the best one otherwise). Every path gives results within the documented
 * accuracy (element terms within 2 ulp of the double formula); sums are
 * double, independent of the thread count, and may differ between paths
 * in the last bits. Never NULL. */
SEGLOSS_API const char *segloss_kernel_isa(void);

/* ------------------------------------------------------------------------ */
/* Options shared by losses                                                  */
/* ------------------------------------------------------------------------ */
typedef enum segloss_reduction {
    SEGLOSS_REDUCTION_MEAN = 0,   /* default */
    SEGLOSS_REDUCTION_SUM = 1,
    SEGLOSS_REDUCTION_NONE = 2
} segloss_reduction;

typedef enum segloss_activation {
    SEGLOSS_ACTIVATION_SIGMOID = 0,  /* default: inputs are logits */
    SEGLOSS_ACTIVATION_NONE = 1,     /* inputs are probabilities */
    SEGLOSS_ACTIVATION_SOFTMAX = 2   /* softmax over axis 1 (region losses) */
} segloss_activation;

/* ------------------------------------------------------------------------ */
/* Sigmoid and thresholding                                                  */
/* ------------------------------------------------------------------------ */
/* out[i] = 1/(1+exp(-x[i])), no overflow for any finite x; NaN -> NaN;
 * +-inf -> 1/0. out may alias x. */
SEGLOSS_API segloss_status segloss_sigmoid_forward(float *out, const float *x, int64_t n);
/* grad_in[i] = grad_out[i] * y[i] * (1 - y[i]) where y = sigmoid(x) (the
 * forward output, as torch's sigmoid_backward). grad_in may alias grad_out. */
SEGLOSS_API segloss_status segloss_sigmoid_backward(float *grad_in, const float *grad_out, const float *y, int64_t n);

/* mask[i] = (x[i] >= logit_threshold) ? 1 : 0; NaN -> 0.
 * The project's rule: logit >= 0 -> foreground (sigmoid >= 0.5). */
SEGLOSS_API segloss_status segloss_threshold_logits(uint8_t *mask, const float *x, int64_t n, double logit_threshold);
/* Logit threshold equivalent to probability threshold t in (0,1): ln(t/(1-t)).
 * t = 0 gives -inf, t = 1 gives +inf; t outside [0,1] or NaN gives NaN. */
SEGLOSS_API double segloss_prob_to_logit_threshold(double t);

/* ------------------------------------------------------------------------ */
/* BCE and BCE-with-logits                                                   */
/* ------------------------------------------------------------------------ */
typedef struct segloss_bce_opts {
    segloss_reduction reduction;   /* default MEAN */
    segloss_farray weight;         /* optional, broadcast against the input */
    segloss_farray pos_weight;     /* bce-logits only; optional; broadcast
                                      right-aligned exactly like PyTorch (a 1-D
                                      pos_weight of length L weighs the LAST
                                      axis). For one weight per channel (axis 1)
                                      of an (N,C,...) input use shape (C,1,...,1)
                                      of rank ndim-1. */
    int64_t ignore_index;          /* default SEGLOSS_IGNORE_NONE (nothing is
                                      ignored). Otherwise target elements
                                      equal to it (e.g. 255 in a uint8 PNG
                                      mask; the rule of segloss_check_report:
                                      the element's value as double ==
                                      (double)ignore_index) are ignored:
                                      loss 0 (also in the NONE array), not
                                      counted by MEAN, gradient 0, exempt
                                      from the [0,1] target check, and their
                                      inputs are not read. MEAN divides by
                                      the number of non-ignored elements (NaN
                                      when all are ignored; the gradient is
                                      then 0). smp's SoftBCEWithLogitsLoss
                                      divides by all elements instead. */
} segloss_bce_opts;

/* Defaults: MEAN, no weight, no pos_weight, ignore_index
 * SEGLOSS_IGNORE_NONE (for bce and bce-logits). */
SEGLOSS_API segloss_bce_opts segloss_bce_opts_default(void);

/* BCE on probabilities (torch.nn.BCELoss):
 *   l = -w * [ y*max(ln p, -100) + (1-y)*max(ln(1-p), -100) ]
 * p must lie in [0,1] (SEGLOSS_ERR_DOMAIN otherwise, NaN included).
 * `loss` receives the reduced loss (for NONE: the sum of elements); `elems`
 * (may be NULL) receives the per-element loss, input's shape, for NONE only.
 */
SEGLOSS_API segloss_status segloss_bce_forward(double *loss, float *elems, const float *p,
                                               const segloss_target *target, const segloss_shape *shape,
                                               const segloss_bce_opts *opts);
/* d/dp = g * w * (p - y) / max(p*(1-p), 1e-12)   (PyTorch's formula). */
SEGLOSS_API segloss_status segloss_bce_backward(float *grad, const float *p,
                                                const segloss_target *target, const segloss_shape *shape,
                                                const segloss_bce_opts *opts, const float *grad_out);

/* BCE with logits (torch.nn.BCEWithLogitsLoss):
 *   l = w * [ (1-y)*x + (1+(pw-1)*y) * (log1p(exp(-|x|)) + max(-x,0)) ]
 * Stable for any finite x. NaN logits propagate as in PyTorch. */
SEGLOSS_API segloss_status segloss_bce_logits_forward(double *loss, float *elems, const float *x,
                                                      const segloss_target *target, const segloss_shape *shape,
                                                      const segloss_bce_opts *opts);
/* d/dx = g * w * [ (1+(pw-1)*y)*sigmoid(x) - pw*y ]. */
SEGLOSS_API segloss_status segloss_bce_logits_backward(float *grad, const float *x,
                                                       const segloss_target *target, const segloss_shape *shape,
                                                       const segloss_bce_opts *opts, const float *grad_out);
/* Forward and backward in one pass over the data: `loss` and `elems` as
 * segloss_bce_logits_forward, `grad` (required) as
 * segloss_bce_logits_backward with `grad_out`; the same bits as the two
 * calls (a NaN result may differ in sign only), in about half their time
 * (logits and target are read once). With
 * MEAN and ignore_index the divisor (non-ignored count) is needed before
 * the pass: a first, cheap pass over the target alone counts it. */
SEGLOSS_API segloss_status segloss_bce_logits_forward_backward(double *loss, float *elems, float *grad,
                                                               const float *x, const segloss_target *target,
                                                               const segloss_shape *shape,
                                                               const segloss_bce_opts *opts,
                                                               const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Focal loss, softmax cross-entropy, Lovasz hinge (docs/losses-element.md)  */
/* ------------------------------------------------------------------------ */
/* Sigmoid focal loss (torchvision.ops.sigmoid_focal_loss), element-wise on
 * logits of any shape, with p = sigmoid(x):
 *   ce  = BCE-with-logits(x, y)
 *   q   = 1 - p_t = p*(1-y) + (1-p)*y        (no cancellation: 1-p from exp(-|x|))
 *   l   = w * a_t * ce * q^gamma,   a_t = alpha*y + (1-alpha)*(1-y)  (1 if alpha < 0)
 * gamma = 0 with alpha < 0 is BCE-with-logits. Backward:
 *   dl/dx = w * a_t * [ (p-y) q^gamma + gamma q^gamma (p(1-p)/q) (1-2y) ce ]
 * p(1-p)/q lies in [0,1], so the gradient is finite for every gamma >= 0 and
 * finite x, also for gamma < 1 where d(q^gamma)/dq is infinite at q = 0:
 * q > 0 for |x| < ~745, and where q underflows to 0 the second term takes
 * its limit 0. (PyTorch, forming 1-p_t by subtraction, gets NaN there.) */
typedef struct segloss_focal_opts {
    segloss_reduction reduction;   /* default MEAN (torchvision's default is none) */
    segloss_farray weight;         /* optional extension (not in torchvision):
                                      multiplies each element's loss; broadcast */
    double alpha;                  /* default 0.25 (torchvision); < 0 switches
                                      the alpha factor off; finite */
    double gamma;                  /* default 2 (torchvision); finite, >= 0
                                      (ARG otherwise) */
    int64_t ignore_index;          /* as in segloss_bce_opts (default none) */
} segloss_focal_opts;

/* Defaults: MEAN, no weight, alpha 0.25, gamma 2, SEGLOSS_IGNORE_NONE. */
SEGLOSS_API segloss_focal_opts segloss_focal_opts_default(void);

SEGLOSS_API segloss_status segloss_focal_forward(double *loss, float *elems, const float *x,
                                                 const segloss_target *target, const segloss_shape *shape,
                                                 const segloss_focal_opts *opts);
SEGLOSS_API segloss_status segloss_focal_backward(float *grad, const float *x,
                                                  const segloss_target *target, const segloss_shape *shape,
                                                  const segloss_focal_opts *opts, const float *grad_out);

/* Softmax cross-entropy over axis 1 (torch.nn.CrossEntropyLoss with class
 * index targets). `shape` is the input's: (N, C, d1, ...) or (N, C), or (C)
 * for one unbatched sample. The target holds class indices of shape
 * (N, d1, ...) (() for (C)): any integer dtype, or bool (the classes 0 and
 * 1); float targets are DTYPE (the INDEX rule of segloss_target_kind). With logp = log_softmax(x) over C,
 * eps = label_smoothing and w_c the class weights (1 when absent), per
 * target element i of class y:
 *   l_i = (1-eps) * w_y * (-logp_y) + (eps/C) * sum_c w_c * (-logp_c)
 * and l_i = 0 where y equals ignore_index (the rule of segloss_check_report,
 * SEGLOSS_IGNORE_NONE: none). MEAN divides the sum by
 * W = sum_i w_{y_i} over non-ignored elements (PyTorch's weighted mean; the
 * count when unweighted); W = 0 (every element ignored) gives NaN, as
 * PyTorch, with gradient 0. A class outside [0, C) that is not ignore_index
 * is SEGLOSS_ERR_TARGET. Backward:
 *   dl_i/dx_c = (1-eps) w_y (softmax_c - [c==y]) + (eps/C)(softmax_c sum_k w_k - w_c).
 * NONE: elems (and grad_out) have the target's shape. */
typedef struct segloss_ce_opts {
    segloss_reduction reduction;   /* default MEAN */
    segloss_farray class_weight;   /* optional; shape (C,) */
    int64_t ignore_index;          /* default -100 (PyTorch's); SEGLOSS_IGNORE_NONE:
                                      none */
    double label_smoothing;        /* in [0, 1]; default 0 */
} segloss_ce_opts;

/* Defaults: MEAN, no class weights, ignore_index -100, label_smoothing 0. */
SEGLOSS_API segloss_ce_opts segloss_ce_opts_default(void);

SEGLOSS_API segloss_status segloss_ce_forward(double *loss, float *elems, const float *x,
                                              const segloss_target *target, const segloss_shape *shape,
                                              const segloss_ce_opts *opts);
SEGLOSS_API segloss_status segloss_ce_backward(float *grad, const float *x, const segloss_target *target,
                                               const segloss_shape *shape, const segloss_ce_opts *opts,
                                               const float *grad_out);

/* Binary Lovasz hinge on logits (smp LovaszLoss, mode "binary"/"multilabel").
 * Arrays are (N, ...) images along axis 0 when ndim >= 3, one image when
 * ndim <= 2. An item is the whole array, or one image with per_image. Per
 * item, over its non-ignored elements: s = 2y-1, e = 1 - x*s, e sorted in
 * decreasing order (ties: lower flat index first, a stable sort), and
 *   loss = sum_k relu(e_(k)) * (J_k - J_(k-1)),
 *   J_k = 1 - (G - Y_k) / (G + k - Y_k),  J_0 = 0,
 *   G = sum y, Y_k = y_(1) + ... + y_(k) (labels in sorted order)
 * (the Lovasz extension of the Jaccard loss). The value does not depend on
 * the tie rule; the gradient dl/dx_i = -s_i [e_i > 0] (J_k - J_(k-1)) does,
 * and is deterministic by that rule. An item whose elements are all ignored
 * has loss 0 and still counts in MEAN (as smp). Reduction over items: MEAN
 * (smp's per_image mean), SUM, NONE (elems: one value per item). Logits
 * must be finite (NONFINITE otherwise); targets in [0,1]. */
typedef struct segloss_lovasz_opts {
    segloss_reduction reduction;   /* default MEAN over items */
    int per_image;                 /* smp per_image (default 0, as smp) */
    int64_t ignore_index;          /* as in segloss_bce_opts (smp ignore_index;
                                      default none) */
} segloss_lovasz_opts;

/* Defaults: MEAN, per_image 0, SEGLOSS_IGNORE_NONE. */
SEGLOSS_API segloss_lovasz_opts segloss_lovasz_opts_default(void);

/* Shape of the NONE loss array: (items,), items = N with per_image and
 * ndim >= 3, else 1. Only shape and options are checked. */
SEGLOSS_API segloss_status segloss_lovasz_items_shape(segloss_shape *items, const segloss_shape *shape,
                                                      const segloss_lovasz_opts *opts);
SEGLOSS_API segloss_status segloss_lovasz_hinge_forward(double *loss, float *elems, const float *x,
                                                        const segloss_target *target,
                                                        const segloss_shape *shape,
                                                        const segloss_lovasz_opts *opts);
SEGLOSS_API segloss_status segloss_lovasz_hinge_backward(float *grad, const float *x,
                                                         const segloss_target *target,
                                                         const segloss_shape *shape,
                                                         const segloss_lovasz_opts *opts,
                                                         const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Soft Dice loss (MONAI DiceLoss)                                           */
/* ------------------------------------------------------------------------ */
/* Values of segloss_dice_opts.smp. */
#define SEGLOSS_SMP_CURRENT 1   /* segmentation_models_pytorch >= 0.4 (to 0.5.0) */
#define SEGLOSS_SMP_0_3 2       /* segmentation_models_pytorch 0.3.x (to 0.3.4) */
/* Arrays are (N, C, spatial...) when ndim >= 3 and a single image (N = C = 1)
 * when ndim <= 2. Per item (n,c) — or per c over all n with `batch`:
 *   I = sum p*y,  S = sum p + sum y  (squared: sum p^2 + sum y^2)
 *   den = S (jaccard: 2*(S - I)),  f = 1 - (2I + smooth_nr)/(den + smooth_dr)
 * Reduction over the items: MEAN, SUM, or NONE (elems gets N*C values, or C
 * with `batch`, in C order). */
typedef struct segloss_dice_opts {
    segloss_reduction reduction;   /* default MEAN over items */
    segloss_activation activation; /* default SIGMOID; NONE: inputs are probabilities */
    double smooth_nr;              /* default 1e-5 (MONAI); finite; used as given,
                                      also with smp (smp's own default is 0:
                                      set both to 0 for smp's DiceLoss()) */
    double smooth_dr;              /* default 1e-5 (MONAI); finite */
    int squared;                   /* MONAI squared_pred */
    int jaccard;                   /* MONAI jaccard */
    int batch;                     /* MONAI batch: sum over N before the ratio */
    /* Region-loss fields (defaults: AUTO, off, none); see "Region losses"
     * below. */
    segloss_target_kind target_kind; /* default AUTO */
    int no_background;             /* drop channel 0 (MONAI include_background=False) */
    int64_t ignore_index;          /* targets equal to it are excluded; default
                                      SEGLOSS_IGNORE_NONE */
    int smp;                       /* smp DiceLoss/JaccardLoss (dice, jaccard): 0 off,
                                      SEGLOSS_SMP_CURRENT (smp >= 0.4) or
                                      SEGLOSS_SMP_0_3 (smp <= 0.3.4); see
                                      "Region losses" below */
    int log_loss;                  /* -ln(max(score, 1e-7)) instead of 1 - score (dice, jaccard) */
} segloss_dice_opts;

/* Defaults: MEAN, SIGMOID, smooth_nr = smooth_dr = 1e-5, target_kind AUTO,
 * ignore_index SEGLOSS_IGNORE_NONE, every flag (squared, jaccard, batch,
 * no_background, smp, log_loss) 0. */
SEGLOSS_API segloss_dice_opts segloss_dice_opts_default(void);

/* Shape of the loss array of dice and jaccard for reduction NONE: (N, C')
 * per item, or (C',) with batch or smp; C' = the kept channels (C, or C-1
 * with no_background and C >= 2); one image (N = C = 1) for ndim <= 2.
 * Only shape and options are checked (the target is not read). */
SEGLOSS_API segloss_status segloss_dice_items_shape(segloss_shape *items, const segloss_shape *shape,
                                                   const segloss_dice_opts *opts);
SEGLOSS_API segloss_status segloss_dice_forward(double *loss, float *elems, const float *x,
                                                const segloss_target *target, const segloss_shape *shape,
                                                const segloss_dice_opts *opts);
SEGLOSS_API segloss_status segloss_dice_backward(float *grad, const float *x,
                                                 const segloss_target *target, const segloss_shape *shape,
                                                 const segloss_dice_opts *opts, const float *grad_out);
/* Both in one call, the same bits as the two (a NaN result may differ in
 * sign only): loss and elems as the forward, grad (required) as the
 * backward. With SIGMOID and a dense target
 * the per-item sums are gathered once (the backward alone must gather them
 * too) and the gradient is added per image while it is in cache (see
 * segloss_dice_bce_forward_backward); otherwise it is the two calls. */
SEGLOSS_API segloss_status segloss_dice_forward_backward(double *loss, float *elems, float *grad,
                                                         const float *x, const segloss_target *target,
                                                         const segloss_shape *shape,
                                                         const segloss_dice_opts *opts,
                                                         const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Region losses: Jaccard, Tversky, generalized Dice, Dice + BCE             */
/* ------------------------------------------------------------------------ */
/* Every region loss (dice above included) reads (N, C, spatial...) for ndim
 * 3..5 and one image (N = C = 1) for ndim 1..2, keeps per-item sums in
 * double over fixed blocks (bit-identical for any thread count), and takes
 * segloss_dice_opts as its common options. The trailing fields of
 * segloss_dice_opts mean:
 *
 *  target_kind    AUTO (0): INDEX with activation SOFTMAX, DENSE otherwise.
 *                 DENSE: the input's shape; values in [0,1] (soft labels,
 *                 masks, one-hot). INDEX: class indices of shape
 *                 (N, spatial...) — the input's shape without axis 1 —
 *                 any integer or bool dtype (float: SEGLOSS_ERR_DTYPE),
 *                 values in [0, C) (else SEGLOSS_ERR_TARGET), one-hot inside
 *                 (MONAI to_onehot_y). INDEX needs ndim >= 3 and C >= 2
 *                 (SEGLOSS_ERR_SHAPE otherwise).
 *  activation     SOFTMAX: softmax over axis 1; needs C >= 2 (SHAPE; MONAI
 *                 silently skips softmax for one channel). The gradient goes
 *                 through the softmax Jacobian, dropped channels included.
 *  no_background  drop channel 0 after the activation (MONAI
 *                 include_background=False); no effect when C == 1, as MONAI.
 *  ignore_index   unless SEGLOSS_IGNORE_NONE, target elements (DENSE) or pixels (INDEX, all channels)
 *                 equal to ignore_index add nothing to any sum and get a zero
 *                 gradient; they are exempt from the range check (255 is
 *                 fine), and their inputs are not used (a NaN logit or,
 *                 with NONE, a value outside [0,1] there is no error).
 *                 Items still count in MEAN (MEAN divides by the number of
 *                 items, never by a number of elements). The rule is
 *                 segloss_check_report's.
 *  smp            (dice, jaccard) segmentation_models_pytorch DiceLoss /
 *                 JaccardLoss: sums over N and space per channel (items: the
 *                 kept channels, whatever `batch` says), denominator
 *                 clamped to >= 1e-7, and a
 *                 channel whose target sum is 0 contributes 0 but still
 *                 counts in MEAN. Not with squared or jaccard (ARG); values
 *                 other than 0, 1, 2 are ARG. smp's one `smooth` S is
 *                 smooth_nr = smooth_dr = S; smoothing is used as given
 *                 (smp's default is smooth = 0, segloss_dice_opts_default's
 *                 1e-5: set both fields to 0 for smp's DiceLoss(); the CLI's
 *                 --smp does). With P = sum p, G = sum y:
 *                 SEGLOSS_SMP_CURRENT (smp >= 0.4, checked against 0.5.0):
 *                   I = sum min(p, y) = (P + G - sum |p - y|)/2
 *                   dice    = (I + s_nr) / max((P + G)/2 + s_dr, 1e-7)
 *                   jaccard = (I + s_nr) / max(P + G - I + s_dr, 1e-7)
 *                 d I/d p = 1 where p < y, 0 where p > y, 1/2 where p == y
 *                 (torch's sign(0) = 0); with a 0/1 target I = sum p*y.
 *                 SEGLOSS_SMP_0_3 (smp 0.3.x, checked against 0.3.4):
 *                   I = sum p*y
 *                   dice    = (2I + s_nr) / max(P + G + s_dr, 1e-7)
 *                   jaccard = (I + s_nr) / max(P + G - I + s_dr, 1e-7)
 *                 The two agree when the smoothing is 0 and the target is
 *                 0/1. The fast sigmoid path (0/1 targets) takes d I/d p =
 *                 y also where p == y (a saturated float32 sigmoid), where
 *                 the gradient is below 1e-7 of its scale anyway.
 *  log_loss       (dice, jaccard) loss = -ln(max(score, 1e-7)) instead of
 *                 1 - score, as smp's log_loss.
 * A field a loss does not take must be 0 (SEGLOSS_ERR_ARG otherwise):
 * squared and jaccard are dice-only; smp and log_loss dice/jaccard-only.
 * With no_background (C >= 2) the items are N*(C-1) (or C-1); the gradient
 * of the dropped channel is 0 (SIGMOID, NONE) or its softmax share. */
/* The loss array of jaccard for NONE has segloss_dice_items_shape's shape. */

/* Soft Jaccard (IoU) loss, per item (n,c) or c with batch:
 *   I = sum p*y,  f = 1 - (I + smooth_nr) / (sum p + sum y - I + smooth_dr)
 * smp: f = 1 - (I + s)/max(sum p + sum y - I + s, 1e-7) (smp JaccardLoss;
 * I = sum min(p, y) with SEGLOSS_SMP_CURRENT, sum p*y with SEGLOSS_SMP_0_3).
 * Defaults and reductions as dice; squared and jaccard must be 0. */
SEGLOSS_API segloss_status segloss_jaccard_forward(double *loss, float *elems, const float *x,
                                                   const segloss_target *target, const segloss_shape *shape,
                                                   const segloss_dice_opts *opts);
SEGLOSS_API segloss_status segloss_jaccard_backward(float *grad, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_dice_opts *opts, const float *grad_out);

/* Tversky loss (MONAI TverskyLoss), with a focal exponent:
 *   FP = sum p*(1-y),  FN = sum (1-p)*y
 *   TI = (I + smooth_nr) / (I + alpha*FP + beta*FN + smooth_dr)
 *   f  = (1 - TI)^gamma   per item (gamma = 1: MONAI; focal Tversky otherwise)
 * alpha weighs false positives, beta false negatives. */
typedef struct segloss_tversky_opts {
    segloss_dice_opts region;      /* squared, jaccard, smp, log_loss must be 0 */
    double alpha;                  /* default 0.5; finite (ARG otherwise) */
    double beta;                   /* default 0.5; finite */
    double gamma;                  /* default 1; finite, > 0 */
} segloss_tversky_opts;

/* Defaults: region = segloss_dice_opts_default(), alpha = beta = 0.5,
 * gamma = 1 (MONAI TverskyLoss). */
SEGLOSS_API segloss_tversky_opts segloss_tversky_opts_default(void);
/* Shape of the NONE loss array: (N, C') or (C',) with batch, as
 * segloss_dice_items_shape. */
SEGLOSS_API segloss_status segloss_tversky_items_shape(segloss_shape *items, const segloss_shape *shape,
                                                      const segloss_tversky_opts *opts);

SEGLOSS_API segloss_status segloss_tversky_forward(double *loss, float *elems, const float *x,
                                                   const segloss_target *target, const segloss_shape *shape,
                                                   const segloss_tversky_opts *opts);
SEGLOSS_API segloss_status segloss_tversky_backward(float *grad, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_tversky_opts *opts, const float *grad_out);

/* Generalized Dice loss (MONAI GeneralizedDiceLoss). Per image n (or once
 * over the batch with `batch`), over the kept channels c:
 *   w_c = 1/G_c^2 (SQUARE), 1/G_c (SIMPLE), 1 (UNIFORM),  G_c = sum y
 *   f   = 1 - (2 sum_c w_c I_c + smooth_nr) / (sum_c w_c (P_c + G_c) + smooth_dr)
 * An infinite weight (G_c = 0) is replaced by the largest finite weight of
 * its image (of the batch with `batch`); when all are infinite all become 0
 * and f = 1 - smooth_nr/smooth_dr (0 with the defaults), exactly as MONAI.
 * The weights are constants for the gradient (MONAI computes them from the
 * target only). Items: N, or 1 with batch. */
typedef enum segloss_gdice_weight {
    SEGLOSS_GDICE_SQUARE = 0,      /* default */
    SEGLOSS_GDICE_SIMPLE = 1,
    SEGLOSS_GDICE_UNIFORM = 2
} segloss_gdice_weight;

typedef struct segloss_generalized_dice_opts {
    segloss_dice_opts region;      /* squared, jaccard, smp, log_loss must be 0 */
    segloss_gdice_weight w_type;   /* default SQUARE */
} segloss_generalized_dice_opts;

/* Defaults: region = segloss_dice_opts_default(), w_type SQUARE. */
SEGLOSS_API segloss_generalized_dice_opts segloss_generalized_dice_opts_default(void);

/* Shape of the NONE loss array: (N,), or (1,) with batch. */
SEGLOSS_API segloss_status segloss_generalized_dice_items_shape(segloss_shape *items,
                                                                const segloss_shape *shape,
                                                                const segloss_generalized_dice_opts *opts);
SEGLOSS_API segloss_status segloss_generalized_dice_forward(double *loss, float *elems, const float *x,
                                                            const segloss_target *target,
                                                            const segloss_shape *shape,
                                                            const segloss_generalized_dice_opts *opts);
SEGLOSS_API segloss_status segloss_generalized_dice_backward(float *grad, const float *x,
                                                             const segloss_target *target,
                                                             const segloss_shape *shape,
                                                             const segloss_generalized_dice_opts *opts,
                                                             const float *grad_out);
/* Both in one call (the float32 engine's fused pass with a sigmoid and a
 * dense target; otherwise the two calls): the same loss and gradient. */
SEGLOSS_API segloss_status segloss_generalized_dice_forward_backward(
    double *loss, float *elems, float *grad, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_opts *opts, const float *grad_out);

/* Dice + BCE-with-logits (MONAI DiceCELoss with one channel; for C > 1
 * segloss keeps BCE per channel, a multi-label loss, where MONAI switches
 * to softmax cross-entropy):
 *   loss = lambda_dice * dice(x) + lambda_bce * bce_logits(x)
 * The dice part is segloss_dice_forward with `dice` (activation must be
 * SIGMOID and the target DENSE; all other dice options apply). The BCE part
 * runs over every element (all channels, no_background or not) with
 * pos_weight broadcast as in segloss_bce_opts; elements equal to the ignore
 * value are left out, and its MEAN divides by the number of elements not
 * ignored (0 when all are ignored: no NaN). dice.reduction applies to both
 * parts: MEAN (default) or SUM; NONE is SEGLOSS_ERR_ARG (as MONAI), so
 * `elems` (the other forwards' per-item output) must be NULL (ARG
 * otherwise). The two parts before the lambdas are segloss_dice_forward
 * with `dice` and segloss_bce_logits_forward with reduction
 * dice.reduction, pos_weight and dice.ignore_index (except that with every
 * element ignored the BCE part is 0 where that MEAN is NaN).
 * dice.smp = SEGLOSS_SMP_CURRENT needs an integer or bool target (its
 * min(p, y) intersection is p*y there; a float target is
 * SEGLOSS_ERR_DTYPE); SEGLOSS_SMP_0_3 takes any. */
typedef struct segloss_dice_bce_opts {
    segloss_dice_opts dice;
    segloss_farray pos_weight;     /* optional, right-aligned broadcast */
    double lambda_dice;            /* default 1; finite, >= 0 */
    double lambda_bce;             /* default 1; finite, >= 0 */
} segloss_dice_bce_opts;

/* Defaults: dice = segloss_dice_opts_default(), no pos_weight, lambdas 1. */
SEGLOSS_API segloss_dice_bce_opts segloss_dice_bce_opts_default(void);
SEGLOSS_API segloss_status segloss_dice_bce_forward(double *loss, float *elems, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_dice_bce_opts *opts);
SEGLOSS_API segloss_status segloss_dice_bce_backward(float *grad, const float *x,
                                                     const segloss_target *target, const segloss_shape *shape,
                                                     const segloss_dice_bce_opts *opts, const float *grad_out);
/* Forward and backward in one call: loss and elems as the forward, grad
 * (required) as the backward with grad_out, the same bits as the two calls
 * (a NaN result may differ in sign only). Two sweeps per image: one reads
 * logits and target once for the sigmoid, the BCE terms and the per-item
 * Dice sums (and leaves in grad what the second needs of the logits),
 * the next turns that into the gradient while the image is in cache (with
 * batch or smp the Dice sums span all images: the second sweep then runs
 * after the first has covered the whole array). */
SEGLOSS_API segloss_status segloss_dice_bce_forward_backward(double *loss, float *elems, float *grad,
                                                             const float *x, const segloss_target *target,
                                                             const segloss_shape *shape,
                                                             const segloss_dice_bce_opts *opts,
                                                             const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Losses, second edition: data-parallel statistics of the region losses    */
/* ------------------------------------------------------------------------ */
/* dice, jaccard, tversky and generalized-dice are functions of per-group
 * sums (group g = (n, c') image n and kept channel c', or c' alone with
 * batch or smp; C' = C, or C - 1 with no_background and C >= 2):
 *   I_g = sum p*y,  P_g = sum p,  G_g = sum y   over the group's elements
 * (squared: sum p^2, sum y^2; smp SEGLOSS_SMP_CURRENT: I_g = sum min(p, y);
 * ignored elements add nothing). With the batch split over ranks (processes
 * or devices), each rank holding images [n_offset, n_offset + N) of a
 * global batch of n_total images:
 *   1. segloss_region_stats on each rank fills the global statistics array
 *      (3 doubles per global group: I, P, G) with its own part: with batch
 *      or smp its sums over its images, otherwise its images' rows with
 *      every other row 0;
 *   2. one all-reduce (sum) of that array gives the whole batch's sums;
 *   3. segloss_X_loss_from_stats gives the batch loss (every rank the same)
 *      and segloss_X_backward_from_stats each rank's slice of the batch
 *      gradient, d(batch loss)/d(its inputs).
 * Up to the order of the double additions across ranks (~1e-15 relative
 * in the sums) the split gives what one rank holding the whole batch gets
 * from these calls. The sums use the double sweep of the region losses
 * for every activation; segloss_X_forward with SIGMOID and a dense target
 * runs a float32 engine instead, which agrees to ~1e-8 relative in the
 * loss and float32 rounding in the gradient. */
typedef struct segloss_batch_part {
    int64_t n_total;     /* images in the global batch, >= 1 */
    int64_t n_offset;    /* this rank's first image; n_offset + N <= n_total */
} segloss_batch_part;

/* Number of doubles of the global statistics array: 3 * groups, groups =
 * C' with batch or smp, n_total * C' otherwise (part NULL: n_total = N,
 * n_offset = 0, one rank). Inputs of ndim <= 2 are one image: n_total must
 * be 1. The options are checked as the stats call does (ARG, SHAPE). */
SEGLOSS_API segloss_status segloss_region_stats_count(int64_t *count, const segloss_shape *shape,
                                                      const segloss_dice_opts *opts,
                                                      const segloss_batch_part *part);
/* stats[3g], stats[3g+1], stats[3g+2] = I_g, P_g, G_g for this rank's
 * elements (global group g: c' with batch/smp, (n_offset + n)*C' + c'
 * otherwise), every other entry 0. opts: the region options (for tversky
 * and generalized-dice, their `region` field); the loss-only fields
 * (squared, smp) change the sums and must match the loss's. Errors as
 * segloss_dice_forward's. */
SEGLOSS_API segloss_status segloss_region_stats(double *stats, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_dice_opts *opts,
                                                const segloss_batch_part *part);

/* The batch loss from the reduced statistics: `shape` and `part` as given
 * to segloss_region_stats (any rank's). elems (NONE) gets the batch's item
 * losses (N_total*C', C', N_total or 1 values, as the forward's). */
SEGLOSS_API segloss_status segloss_dice_loss_from_stats(double *loss, float *elems, const double *stats,
                                                        const segloss_shape *shape,
                                                        const segloss_dice_opts *opts,
                                                        const segloss_batch_part *part);
/* This rank's gradient of the batch loss: grad has the local input's shape;
 * grad_out is the upstream gradient of the batch loss (NONE: the batch's
 * whole item array). */
SEGLOSS_API segloss_status segloss_dice_backward_from_stats(float *grad, const float *x,
                                                            const segloss_target *target,
                                                            const segloss_shape *shape,
                                                            const segloss_dice_opts *opts,
                                                            const segloss_batch_part *part,
                                                            const double *stats,
                                                            const float *grad_out);
SEGLOSS_API segloss_status segloss_jaccard_loss_from_stats(double *loss, float *elems, const double *stats,
                                                           const segloss_shape *shape,
                                                           const segloss_dice_opts *opts,
                                                           const segloss_batch_part *part);
SEGLOSS_API segloss_status segloss_jaccard_backward_from_stats(float *grad, const float *x,
                                                               const segloss_target *target,
                                                               const segloss_shape *shape,
                                                               const segloss_dice_opts *opts,
                                                               const segloss_batch_part *part,
                                                               const double *stats,
                                                               const float *grad_out);
SEGLOSS_API segloss_status segloss_tversky_loss_from_stats(double *loss, float *elems, const double *stats,
                                                           const segloss_shape *shape,
                                                           const segloss_tversky_opts *opts,
                                                           const segloss_batch_part *part);
SEGLOSS_API segloss_status segloss_tversky_backward_from_stats(float *grad, const float *x,
                                                               const segloss_target *target,
                                                               const segloss_shape *shape,
                                                               const segloss_tversky_opts *opts,
                                                               const segloss_batch_part *part,
                                                               const double *stats,
                                                               const float *grad_out);
SEGLOSS_API segloss_status segloss_generalized_dice_loss_from_stats(
    double *loss, float *elems, const double *stats, const segloss_shape *shape,
    const segloss_generalized_dice_opts *opts, const segloss_batch_part *part);
SEGLOSS_API segloss_status segloss_generalized_dice_backward_from_stats(
    float *grad, const float *x, const segloss_target *target, const segloss_shape *shape,
    const segloss_generalized_dice_opts *opts, const segloss_batch_part *part,
    const double *stats, const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Losses, second edition: compound losses                                   */
/* ------------------------------------------------------------------------ */
/* Dice + cross-entropy (MONAI DiceCELoss; nnU-Net DC_and_CE_loss). For an
 * input (N, C, spatial...) with C > 1 and a class-index target
 * (N, spatial...):
 *   loss = lambda_dice * dice(x, y) + lambda_ce * ce(x, y)
 * dice is segloss_dice_forward with `dice` (target_kind AUTO or INDEX; AUTO
 * means INDEX here; DENSE is SEGLOSS_ERR_ARG, since the CE part takes
 * class indices), ce is segloss_ce_forward on the logits with
 * label_smoothing, ignore_index = dice.ignore_index, no class weights and
 * reduction dice.reduction. Reduction MEAN or SUM (NONE: SEGLOSS_ERR_ARG,
 * as MONAI; elems must be NULL). nnunet = 1: the dice term is nnU-Net's
 * MemoryEfficientSoftDiceLoss value -mean(dc) = dice - 1 (MEAN only); use
 * segloss_dice_ce_opts_nnunet() for DC_and_CE_loss's defaults in
 * nnUNetTrainer (smooth 1e-5, do_bg False, weights 1; batch dice is
 * dice.batch, as the plans' batch_dice).
 * C = 1 (or ndim <= 2): MONAI's BCE branch: segloss_dice_bce with
 * lambda_bce = lambda_ce (activation SIGMOID and a dense target;
 * label_smoothing and nnunet must be 0). */
typedef struct segloss_dice_ce_opts {
    segloss_dice_opts dice;        /* default: segloss_dice_opts_default() with
                                      activation SOFTMAX */
    double lambda_dice;            /* default 1; finite, >= 0 */
    double lambda_ce;              /* default 1; finite, >= 0 */
    double label_smoothing;        /* CE label smoothing in [0, 1]; default 0 */
    int nnunet;                    /* 0 (MONAI) or 1 (nnU-Net's -mean(dc)) */
} segloss_dice_ce_opts;

/* MONAI DiceCELoss(softmax=True, to_onehot_y=True): SOFTMAX, smoothing
 * 1e-5, lambdas 1, label_smoothing 0, nnunet 0. */
SEGLOSS_API segloss_dice_ce_opts segloss_dice_ce_opts_default(void);
/* nnU-Net v2 (2.x, nnUNetTrainer's DC_and_CE_loss): the defaults with
 * no_background = 1 and nnunet = 1. */
SEGLOSS_API segloss_dice_ce_opts segloss_dice_ce_opts_nnunet(void);
SEGLOSS_API segloss_status segloss_dice_ce_forward(double *loss, float *elems, const float *x,
                                                   const segloss_target *target, const segloss_shape *shape,
                                                   const segloss_dice_ce_opts *opts);
SEGLOSS_API segloss_status segloss_dice_ce_backward(float *grad, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_dice_ce_opts *opts, const float *grad_out);
SEGLOSS_API segloss_status segloss_dice_ce_forward_backward(double *loss, float *elems, float *grad,
                                                            const float *x, const segloss_target *target,
                                                            const segloss_shape *shape,
                                                            const segloss_dice_ce_opts *opts,
                                                            const float *grad_out);

/* Dice + focal (MONAI DiceFocalLoss) and generalized Dice + focal (MONAI
 * GeneralizedDiceFocalLoss):
 *   loss = lambda_dice * dice(x, y) + lambda_focal * focal(x, y)
 * (lambda_gdl and segloss_generalized_dice for the second). The region
 * part is segloss_dice / segloss_generalized_dice with the options given
 * (any activation, dense or class-index target). The focal part is MONAI's
 * sigmoid focal loss on the logits over the kept channels (no_background
 * drops channel 0 from it too; a class-index target is one-hot), whatever
 * the region part's activation. Per element, with s = 2y - 1:
 *   l = a * sigmoid(-x*s)^gamma * (softplus(x) - x*y),
 *   a = alpha*y + (1 - alpha)*(1 - y)  (a = 1 when alpha < 0: MONAI None)
 * MEAN: sum l / (N*C'*S); SUM: sum l / S (MONAI sums the per-(n, c)
 * spatial means). Reduction MEAN or SUM (NONE: SEGLOSS_ERR_ARG; elems must
 * be NULL); ignore_index must be SEGLOSS_IGNORE_NONE (ARG). */
typedef struct segloss_dice_focal_opts {
    segloss_dice_opts dice;        /* default segloss_dice_opts_default() */
    double gamma;                  /* default 2; finite, >= 0 */
    double alpha;                  /* default -1 (off, MONAI None); <= 1 */
    double lambda_dice;            /* default 1; finite, >= 0 */
    double lambda_focal;           /* default 1; finite, >= 0 */
} segloss_dice_focal_opts;

typedef struct segloss_generalized_dice_focal_opts {
    segloss_generalized_dice_opts gdice; /* default segloss_generalized_dice_opts_default() */
    double gamma;                  /* default 2; finite, >= 0 */
    double alpha;                  /* default -1 (off; MONAI's class has no alpha) */
    double lambda_gdl;             /* default 1; finite, >= 0 */
    double lambda_focal;           /* default 1; finite, >= 0 */
} segloss_generalized_dice_focal_opts;

SEGLOSS_API segloss_dice_focal_opts segloss_dice_focal_opts_default(void);
SEGLOSS_API segloss_generalized_dice_focal_opts segloss_generalized_dice_focal_opts_default(void);
SEGLOSS_API segloss_status segloss_dice_focal_forward(double *loss, float *elems, const float *x,
                                                      const segloss_target *target,
                                                      const segloss_shape *shape,
                                                      const segloss_dice_focal_opts *opts);
SEGLOSS_API segloss_status segloss_dice_focal_backward(float *grad, const float *x,
                                                       const segloss_target *target,
                                                       const segloss_shape *shape,
                                                       const segloss_dice_focal_opts *opts,
                                                       const float *grad_out);
SEGLOSS_API segloss_status segloss_generalized_dice_focal_forward(
    double *loss, float *elems, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_focal_opts *opts);
SEGLOSS_API segloss_status segloss_generalized_dice_focal_backward(
    float *grad, const float *x, const segloss_target *target, const segloss_shape *shape,
    const segloss_generalized_dice_focal_opts *opts, const float *grad_out);
/* dice-focal and generalized-dice-focal forward and backward in one call:
 * the region loss's fused pass and one focal pass for both the value and
 * the gradient; the same loss and gradient as the two calls. */
SEGLOSS_API segloss_status segloss_dice_focal_forward_backward(double *loss, float *elems, float *grad,
                                                               const float *x,
                                                               const segloss_target *target,
                                                               const segloss_shape *shape,
                                                               const segloss_dice_focal_opts *opts,
                                                               const float *grad_out);
SEGLOSS_API segloss_status segloss_generalized_dice_focal_forward_backward(
    double *loss, float *elems, float *grad, const float *x, const segloss_target *target,
    const segloss_shape *shape, const segloss_generalized_dice_focal_opts *opts,
    const float *grad_out);

/* Matthews correlation coefficient loss (smp MCCLoss, binary). One value
 * for the whole array (any shape; smp flattens the batch): with p the
 * probability, y the target (dense, in [0,1]), e = eps,
 *   tp = sum p*y + e,  fp = sum p*(1-y) + e,  fn = sum (1-p)*y + e,
 *   tn = sum (1-p)*(1-y) + e
 *   loss = 1 - (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))
 * Sums in double over fixed blocks (bit-identical for any thread count).
 * Every reduction gives that one value (NONE: elems gets 1 value). */
typedef struct segloss_mcc_opts {
    segloss_reduction reduction;   /* default MEAN (one item) */
    segloss_activation activation; /* default NONE (smp: probabilities); or SIGMOID */
    double eps;                    /* default 1e-5 (smp); finite, >= 0 */
} segloss_mcc_opts;

SEGLOSS_API segloss_mcc_opts segloss_mcc_opts_default(void);
SEGLOSS_API segloss_status segloss_mcc_forward(double *loss, float *elems, const float *x,
                                               const segloss_target *target, const segloss_shape *shape,
                                               const segloss_mcc_opts *opts);
SEGLOSS_API segloss_status segloss_mcc_backward(float *grad, const float *x,
                                                const segloss_target *target, const segloss_shape *shape,
                                                const segloss_mcc_opts *opts, const float *grad_out);

/* Top-k cross-entropy (nnU-Net TopKLoss): the mean of the K largest
 * per-position cross-entropies l_i (segloss_ce's unreduced loss with
 * ce's class weights, ignore_index and label smoothing; ignored positions
 * have l_i = 0 and still count), K = floor(M * k / 100), M = the number of
 * positions (target elements). Ties: lower flat index first. K = 0: NaN
 * loss, zero gradient. ce.reduction is not used (always this mean);
 * grad_out points to one float (or NULL). */
typedef struct segloss_topk_ce_opts {
    segloss_ce_opts ce;            /* default segloss_ce_opts_default() (ignore -100) */
    double k;                      /* percent in [0, 100]; default 10 (nnU-Net) */
} segloss_topk_ce_opts;

SEGLOSS_API segloss_topk_ce_opts segloss_topk_ce_opts_default(void);
SEGLOSS_API segloss_status segloss_topk_ce_forward(double *loss, const float *x,
                                                   const segloss_target *target, const segloss_shape *shape,
                                                   const segloss_topk_ce_opts *opts);
SEGLOSS_API segloss_status segloss_topk_ce_backward(float *grad, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_topk_ce_opts *opts, const float *grad_out);
/* Both from one selection (one softmax pass fewer than the two calls);
 * the same loss and gradient. */
SEGLOSS_API segloss_status segloss_topk_ce_forward_backward(double *loss, float *grad, const float *x,
                                                            const segloss_target *target,
                                                            const segloss_shape *shape,
                                                            const segloss_topk_ce_opts *opts,
                                                            const float *grad_out);

/* Lovasz-softmax (smp LovaszLoss, mode "multiclass", classes "present").
 * Input (N, C, spatial...) logits with C >= 2 (SHAPE otherwise), target
 * (N, spatial...) class indices (integer or bool dtype). p = softmax over
 * axis 1. An item is the batch, or one image with per_image; per item, over
 * the pixels whose label is not ignore_index, for each class c present:
 *   e_i = |[label_i == c] - p_ic| sorted decreasingly (ties: lower index
 *   first), loss_c = sum_k e_(k) (J_k - J_(k-1)) with J_k the Jaccard loss
 *   of the first k pixels as in segloss_lovasz_hinge_forward
 * and the item's loss is the mean of loss_c over the present classes (0
 * when none). Reductions over items as the hinge; the options are
 * segloss_lovasz_opts. Logits must be finite (NONFINITE). */
SEGLOSS_API segloss_status segloss_lovasz_softmax_forward(double *loss, float *elems, const float *x,
                                                          const segloss_target *target,
                                                          const segloss_shape *shape,
                                                          const segloss_lovasz_opts *opts);
SEGLOSS_API segloss_status segloss_lovasz_softmax_backward(float *grad, const float *x,
                                                           const segloss_target *target,
                                                           const segloss_shape *shape,
                                                           const segloss_lovasz_opts *opts,
                                                           const float *grad_out);

/* Hausdorff distance-transform loss (MONAI HausdorffDTLoss; with log = 1,
 * LogHausdorffDTLoss). Input (N, C, spatial...) with 1 to 3 spatial axes;
 * p = the activation of x (default NONE: probabilities, MONAI's default),
 * y = the target (dense, or class indices with target_kind INDEX / AUTO +
 * SOFTMAX). For image n and kept channel c (no_background, default on as
 * MONAI's include_background=False, drops channel 0 when C > 1):
 *   field(m)[i] = Euclidean distance from i to the nearest element of the
 *                 other value of the mask m; 0 everywhere when m is all 0
 *                 or all 1
 *   f_nc = mean over space of (p - y)^2 (field(p > 0.5)^alpha + field(y > 0.5)^alpha)
 * The fields are constants (not differentiated), from the exact EDT, once
 * per call. Items: (n, c), or c with batch (the mean over images and
 * space). Reductions MEAN, SUM, NONE over items; log: log(L + 1) of the
 * reduced loss (NONE: of each item). */
typedef struct segloss_hausdorff_dt_opts {
    segloss_reduction reduction;   /* default MEAN */
    segloss_activation activation; /* default NONE (MONAI sigmoid=softmax=False) */
    segloss_target_kind target_kind; /* default AUTO: INDEX with SOFTMAX */
    int no_background;             /* default 1 (MONAI include_background=False) */
    int batch;                     /* default 0 */
    double alpha;                  /* default 2; finite, >= 0 */
    int log;                       /* 0: HausdorffDTLoss, 1: LogHausdorffDTLoss */
} segloss_hausdorff_dt_opts;

SEGLOSS_API segloss_hausdorff_dt_opts segloss_hausdorff_dt_opts_default(void);
/* NONE loss array: (N, C') or (C',) with batch. */
SEGLOSS_API segloss_status segloss_hausdorff_dt_items_shape(segloss_shape *items, const segloss_shape *shape,
                                                            const segloss_hausdorff_dt_opts *opts);
SEGLOSS_API segloss_status segloss_hausdorff_dt_forward(double *loss, float *elems, const float *x,
                                                        const segloss_target *target,
                                                        const segloss_shape *shape,
                                                        const segloss_hausdorff_dt_opts *opts);
SEGLOSS_API segloss_status segloss_hausdorff_dt_backward(float *grad, const float *x,
                                                         const segloss_target *target,
                                                         const segloss_shape *shape,
                                                         const segloss_hausdorff_dt_opts *opts,
                                                         const float *grad_out);
/* Both in one call: the distance maps (the cost: two exact EDTs per image
 * and kept channel, one per mask) are computed once; the same values as
 * the two calls. */
SEGLOSS_API segloss_status segloss_hausdorff_dt_forward_backward(double *loss, float *elems, float *grad,
                                                                 const float *x,
                                                                 const segloss_target *target,
                                                                 const segloss_shape *shape,
                                                                 const segloss_hausdorff_dt_opts *opts,
                                                                 const float *grad_out);

/* Boundary loss (Kervadec et al.; LIVIAETS/boundary-loss SurfaceLoss with
 * utils.one_hot2dist). Input (N, C, spatial...) with 1 to 3 spatial axes;
 * p = the activation of x (default SOFTMAX: the paper's probabilities),
 * the target class indices (SOFTMAX/INDEX) or dense (mask y > 0.5). For
 * image n and kept channel c (no_background drops channel 0: the paper's
 * idc = [1, ...]):
 *   phi = distance to the nearest mask element outside the mask,
 *         1 - (distance to the nearest element outside the mask) on it,
 *         0 everywhere when the mask is empty or covers the image
 *   loss = sum p * phi / (N * C' * S)   (MEAN), or the sum (SUM)
 * phi is a constant (not differentiated), from the exact EDT once per
 * call. NONE is SEGLOSS_ERR_ARG. grad_out points to one float (or NULL). */
typedef struct segloss_boundary_opts {
    segloss_reduction reduction;   /* default MEAN */
    segloss_activation activation; /* default SOFTMAX */
    segloss_target_kind target_kind; /* default AUTO */
    int no_background;             /* default 0 */
} segloss_boundary_opts;

SEGLOSS_API segloss_boundary_opts segloss_boundary_opts_default(void);
SEGLOSS_API segloss_status segloss_boundary_forward(double *loss, const float *x,
                                                    const segloss_target *target, const segloss_shape *shape,
                                                    const segloss_boundary_opts *opts);
SEGLOSS_API segloss_status segloss_boundary_backward(float *grad, const float *x,
                                                     const segloss_target *target, const segloss_shape *shape,
                                                     const segloss_boundary_opts *opts, const float *grad_out);
/* Both in one call: the distance maps (one exact EDT per image and kept
 * channel) are computed once; the same values as the two calls. */
SEGLOSS_API segloss_status segloss_boundary_forward_backward(double *loss, float *grad, const float *x,
                                                             const segloss_target *target,
                                                             const segloss_shape *shape,
                                                             const segloss_boundary_opts *opts,
                                                             const float *grad_out);

/* Soft clDice (MONAI SoftclDiceLoss, monai/losses/cldice.py; Shit et al.
 * 2021) and soft Dice + clDice (MONAI SoftDiceclDiceLoss). Input
 * (N, C, H, W) or (N, C, D, H, W) (other ranks: SHAPE); p = the activation
 * of x (default NONE: probabilities in [0,1], MONAI's input, DOMAIN
 * otherwise; SIGMOID; SOFTMAX over axis 1; NaN p: NONFINITE), y the target
 * (dense in [0,1], or class indices one-hot with target_kind INDEX / AUTO +
 * SOFTMAX). The soft skeleton sk(.) of each image and channel iterates
 * erosion (min over the 3-element lines along each axis) and dilation (max
 * over the 3x3 / 3x3x3 box), iter times:
 *   E_0 = img, E_{k+1} = erode(E_k), delta_k = relu(E_k - dilate(E_{k+1}))
 *   S_0 = delta_0, S_k = S_{k-1} + relu(delta_k - S_{k-1} delta_k), sk = S_iter
 * With every sum over the whole batch and the kept channels (no_background,
 * the default, keeps 1..C-1 as MONAI's [:, 1:]: with C == 1 nothing is kept
 * and the loss is 0) and s = smooth:
 *   tprec = (sum sk(p) y + s) / (sum sk(p) + s),  tsens = (sum sk(y) p + s) / (sum sk(y) + s)
 *   cldice = 1 - 2 tprec tsens / (tprec + tsens)
 *   dice = 1 - (2 sum p y + s) / (sum p + sum y + s)
 *   dice-cldice = (1 - alpha) dice + alpha cldice
 * One value (MONAI has no reduction); grad_out points to one float (or
 * NULL). The backward follows torch's autograd through the pooling exactly
 * (max_pool: the first extremum of the window in scan order; torch.min: half
 * to each on a tie; relu: nothing at 0); sk(y) is a constant. Memory:
 * (C + 4 C') N S doubles with the backward (C' kept channels, S the
 * spatial size), (C + 2 C') N S for the forward alone, and per thread
 * about (2 iter + 12) S doubles. */
typedef struct segloss_cldice_opts {
    int iter;                      /* default 3 (MONAI iter_); >= 0 */
    double smooth;                 /* default 1 (MONAI smooth); finite, >= 0 */
    segloss_activation activation; /* default NONE (MONAI: probabilities) */
    segloss_target_kind target_kind; /* default AUTO: INDEX with SOFTMAX */
    int no_background;             /* default 1 (MONAI: channel 0 left out, even when C == 1) */
} segloss_cldice_opts;

typedef struct segloss_dice_cldice_opts {
    segloss_cldice_opts cldice;    /* default segloss_cldice_opts_default() */
    double alpha;                  /* default 0.5 (MONAI): weight of clDice; finite */
} segloss_dice_cldice_opts;

SEGLOSS_API segloss_cldice_opts segloss_cldice_opts_default(void);
SEGLOSS_API segloss_dice_cldice_opts segloss_dice_cldice_opts_default(void);
SEGLOSS_API segloss_status segloss_cldice_forward(double *loss, const float *x,
                                                  const segloss_target *target,
                                                  const segloss_shape *shape,
                                                  const segloss_cldice_opts *opts);
SEGLOSS_API segloss_status segloss_cldice_backward(float *grad, const float *x,
                                                   const segloss_target *target,
                                                   const segloss_shape *shape,
                                                   const segloss_cldice_opts *opts,
                                                   const float *grad_out);
/* Both in one call (the skeletons computed once); the same bits as the two. */
SEGLOSS_API segloss_status segloss_cldice_forward_backward(double *loss, float *grad,
                                                           const float *x,
                                                           const segloss_target *target,
                                                           const segloss_shape *shape,
                                                           const segloss_cldice_opts *opts,
                                                           const float *grad_out);
SEGLOSS_API segloss_status segloss_dice_cldice_forward(double *loss, const float *x,
                                                       const segloss_target *target,
                                                       const segloss_shape *shape,
                                                       const segloss_dice_cldice_opts *opts);
SEGLOSS_API segloss_status segloss_dice_cldice_backward(float *grad, const float *x,
                                                        const segloss_target *target,
                                                        const segloss_shape *shape,
                                                        const segloss_dice_cldice_opts *opts,
                                                        const float *grad_out);
SEGLOSS_API segloss_status segloss_dice_cldice_forward_backward(double *loss, float *grad,
                                                                const float *x,
                                                                const segloss_target *target,
                                                                const segloss_shape *shape,
                                                                const segloss_dice_cldice_opts *opts,
                                                                const float *grad_out);
/* Asymmetric unified focal loss (MONAI AsymmetricUnifiedFocalLoss, with its
 * AsymmetricFocalLoss and AsymmetricFocalTverskyLoss; binary). Input
 * (N, C, spatial...) with 1 to 3 spatial axes and C = 1 or 2; p = the
 * activation of x (default NONE: probabilities, as MONAI's code, which
 * applies no activation; SIGMOID; SOFTMAX with C = 2), y the target (dense;
 * class indices with target_kind INDEX or AUTO + SOFTMAX, MONAI's
 * to_onehot_y). C = 1: the two channels are (1 - p, 1 - y) and (p, y).
 * With q = clamp(p, e, 1 - e), e = epsilon, w = weight, d = delta,
 * g = gamma, channel 0 the background and 1 the foreground:
 *   focal = mean over (n, i) of (1-d)(1-q0)^g (-y0 log q0) + d (-y1 log q1)
 *   tp_k = sum_i y_k q_k, fn_k = sum_i y_k (1-q_k), fp_k = sum_i (1-y_k) q_k
 *   dc_k = (tp_k + e) / (tp_k + d fn_k + (1-d) fp_k + e)   per image
 *   tversky = mean over n of ((1 - dc_0) + (1 - dc_1)^(1-g)) / 2
 *   loss = w focal + (1 - w) tversky
 * One value (MONAI's reduction does not change it: its parts are means
 * already); grad_out points to one float (or NULL). The gradient is 0
 * where p lies outside [e, 1 - e] (the clamp). */
typedef struct segloss_unified_focal_opts {
    segloss_activation activation;   /* default NONE */
    segloss_target_kind target_kind; /* default AUTO: INDEX with SOFTMAX */
    double weight;                   /* default 0.5 (MONAI weight); finite */
    double delta;                    /* default 0.7 (MONAI delta); finite */
    double gamma;                    /* default 0.5 (MONAI gamma); finite */
    double epsilon;                  /* default 1e-7 (MONAI's sub-losses); in [0, 0.5) */
} segloss_unified_focal_opts;

SEGLOSS_API segloss_unified_focal_opts segloss_unified_focal_opts_default(void);
SEGLOSS_API segloss_status segloss_unified_focal_forward(double *loss, const float *x,
                                                         const segloss_target *target,
                                                         const segloss_shape *shape,
                                                         const segloss_unified_focal_opts *opts);
SEGLOSS_API segloss_status segloss_unified_focal_backward(float *grad, const float *x,
                                                          const segloss_target *target,
                                                          const segloss_shape *shape,
                                                          const segloss_unified_focal_opts *opts,
                                                          const float *grad_out);
/* Both in one call (one pass over the data); the same values as the two
 * calls. */
SEGLOSS_API segloss_status segloss_unified_focal_forward_backward(double *loss, float *grad,
                                                                  const float *x,
                                                                  const segloss_target *target,
                                                                  const segloss_shape *shape,
                                                                  const segloss_unified_focal_opts *opts,
                                                                  const float *grad_out);

/* Generalized Wasserstein Dice loss (MONAI GeneralizedWassersteinDiceLoss;
 * Fidon et al. 2017, the GDL weighting of Tilborghs et al. 2020). Input
 * logits (N, C, spatial...) with 1 to 3 spatial axes and C >= 2, p =
 * softmax over axis 1; target class indices (N, spatial...) in [0, C)
 * (integer dtypes). M = dist_matrix / max(dist_matrix) (C x C, row-major,
 * row = the target's class). Per image n, over its pixels i with class y_i:
 *   w_i = sum_c M[y_i][c] p_ci                 (the Wasserstein distance map)
 *   alpha_k = 1 for k >= 1 and 0 for k = 0     (DEFAULT)
 *             1 / (volume of class k in image n + 1)   (GDL)
 *   tp = sum_i alpha_{y_i} (1 - w_i)
 *   den = 2 tp + sum_i w_i (DEFAULT),  sum_i alpha_{y_i} (2 - w_i) (GDL)
 *   loss_n = 1 - (2 tp + smooth_nr) / (den + smooth_dr)
 * Reductions over the N items: MEAN, SUM, NONE (elems: N values; grad_out:
 * N floats). */
typedef enum segloss_gwdl_weighting {
    SEGLOSS_GWDL_DEFAULT = 0,      /* MONAI weighting_mode="default" */
    SEGLOSS_GWDL_GDL = 1           /* MONAI weighting_mode="GDL" */
} segloss_gwdl_weighting;

typedef struct segloss_gwdl_opts {
    segloss_reduction reduction;   /* default MEAN */
    const float *dist_matrix;      /* C x C distances, finite, >= 0, not all 0; required */
    int64_t num_classes;           /* the matrix's C: must equal the input's axis 1 */
    segloss_gwdl_weighting weighting_mode; /* default DEFAULT */
    double smooth_nr, smooth_dr;   /* default 1e-5 each (MONAI) */
} segloss_gwdl_opts;

/* Defaults with no matrix: set dist_matrix and num_classes. */
SEGLOSS_API segloss_gwdl_opts segloss_gwdl_opts_default(void);
SEGLOSS_API segloss_status segloss_gwdl_forward(double *loss, float *elems, const float *x,
                                                const segloss_target *target,
                                                const segloss_shape *shape,
                                                const segloss_gwdl_opts *opts);
SEGLOSS_API segloss_status segloss_gwdl_backward(float *grad, const float *x,
                                                 const segloss_target *target,
                                                 const segloss_shape *shape,
                                                 const segloss_gwdl_opts *opts,
                                                 const float *grad_out);
/* Both in one call (the softmax computed once); the same values as the two
 * calls. */
SEGLOSS_API segloss_status segloss_gwdl_forward_backward(double *loss, float *elems, float *grad,
                                                         const float *x,
                                                         const segloss_target *target,
                                                         const segloss_shape *shape,
                                                         const segloss_gwdl_opts *opts,
                                                         const float *grad_out);

/* ------------------------------------------------------------------------ */
/* Hard overlap metrics on binary masks                                      */
/* ------------------------------------------------------------------------ */
typedef struct segloss_confusion {
    int64_t tp, fp, fn, tn;
} segloss_confusion;

/* Counts over n elements; any nonzero byte is foreground. Adds nothing to
 * previous counts: *out is overwritten (merge with segloss_confusion_add). */
SEGLOSS_API segloss_status segloss_confusion_binary(segloss_confusion *out, const uint8_t *pred,
                                                    const uint8_t *ref, int64_t n);
SEGLOSS_API void segloss_confusion_add(segloss_confusion *acc, const segloss_confusion *c);
/* 2TP/(2TP+FP+FN) and TP/(TP+FP+FN); NaN when the denominator is 0. */
SEGLOSS_API double segloss_dice_score(const segloss_confusion *c);
SEGLOSS_API double segloss_iou_score(const segloss_confusion *c);

/* ------------------------------------------------------------------------ */
/* .npy files (NumPy format v1.0, v2.0, v3.0)                                */
/* ------------------------------------------------------------------------ */
/* Reads what numpy.save writes for float16/float32/float64/uint8/bool/
 * int8..int64/uint16..uint64 arrays of rank <= SEGLOSS_MAX_DIMS, in either
 * byte order and either memory order, and returns them native-endian in C
 * order (axis 0 slowest):
 *  - big-endian data ('>f4', '>i2', '>u8', ..., and '!' network order) is
 *    byte-swapped; '<', '|', '=' and no prefix are little-endian;
 *  - fortran_order: True (what np.save writes for a transposed or
 *    np.asfortranarray array) is reordered to C order; `shape` is the one
 *    NumPy reports (arr.shape), so element (i, j, ...) is where C order
 *    puts it, as np.ascontiguousarray(arr) would hold it;
 *  - float16 ('<f2', '>f2') is returned as SEGLOSS_F32, exactly (every
 *    binary16 value is a float32 value: subnormals become normal float32s,
 *    +-0 and +-inf keep their sign, a NaN keeps its sign and payload, as
 *    NumPy's astype(np.float32) gives).
 * Anything else (complex, strings, objects, structured dtypes, float128, a
 * malformed or truncated file) is an error with a sentence in `err` (may be
 * NULL) that names the problem (the caller adds the file name). */
typedef struct segloss_npy {
    void *data;            /* owned; release with segloss_npy_free */
    segloss_dtype dtype;
    segloss_shape shape;
    int64_t numel;
} segloss_npy;

/* Statuses: IO (open/read failed), FORMAT (malformed, truncated, trailing
 * bytes), UNSUPPORTED (valid but e.g. complex, rank > SEGLOSS_MAX_DIMS),
 * OVERFLOW (shape product), LIMIT (returned array larger than max_bytes;
 * checked before any data is read, so it wins over "truncated"), NOMEM,
 * NULL. max_bytes: cap on the returned array's size in bytes (a float16
 * file counts as its float32 result; 0 = no cap beyond overflow checks).
 * On success data is non-NULL, even for zero elements; on error *out is
 * zeroed and nothing is leaked. */
SEGLOSS_API segloss_status segloss_npy_read(segloss_npy *out, const char *path, size_t max_bytes,
                                            char *err, size_t errlen);
SEGLOSS_API segloss_status segloss_npy_read_mem(segloss_npy *out, const void *buf, size_t len,
                                                size_t max_bytes, char *err, size_t errlen);
/* Writes a v1.0 file (v2.0 if the header needs it; data 64-byte aligned,
 * little-endian, C order, as numpy.save) to PATH itself: created with
 * permissions 0666 minus umask, or truncated and overwritten if it exists
 * (a symlink is followed). If writing fails (IO), a partially written
 * regular file is removed, so PATH is then absent: to keep an old file
 * until the new one is complete, write to a temporary name in the same
 * directory and rename it over PATH (as `segloss loss --grad` does). ndim 0
 * (scalar) is allowed; data may be NULL when the shape has zero elements. */
SEGLOSS_API segloss_status segloss_npy_write(const char *path, const void *data, segloss_dtype dtype,
                                             const segloss_shape *shape, char *err, size_t errlen);
SEGLOSS_API void segloss_npy_free(segloss_npy *a);

/* ------------------------------------------------------------------------ */
/* Label-map metrics: per-label counts, overlap scores, surface distances    */
/* ------------------------------------------------------------------------ */
/* Volumes are label maps of spatial rank 1, 2 or 3 (C order, axis 0 first);
 * label 0 is background, every other value (negative ones included) is a
 * label. For one label L, A = {pred == L} (prediction) and B = {ref == L}
 * (reference). Definitions:
 *  - surface S(X): voxels of X with a face-neighbour (2 in 1-D, 4 in 2-D, 6
 *    in 3-D) outside X; voxels on the image border are surface (X XOR
 *    erosion(X) with a zero border, as MedPy).
 *  - d(a, S): Euclidean distance between voxel centres, in physical units
 *    (spacing per axis), from an exact Euclidean distance transform.
 *  - hd   = max(max_a d(a,S(B)), max_b d(b,S(A)))  over a in S(A), b in S(B)
 *  - hd95 = P-th percentile Hausdorff (P = 95 by default), numpy.percentile
 *    'linear' interpolation: default max of the two directed percentiles
 *    (Metrics Reloaded / MONAI); POOLED: percentile of the pooled distances
 *    (MedPy's hd95).
 *  - assd = (sum_a d(a,S(B)) + sum_b d(b,S(A))) / (|S(A)| + |S(B)|) (pooled
 *    mean: MedPy >= 0.5.2's assd and MONAI's symmetric average surface
 *    distance; MedPy <= 0.4's assd was the mean of the two directed means,
 *    (mean_pred_to_ref + mean_ref_to_pred)/2 from the fields below).
 *  - nsd  = (#{a: d(a,S(B)) <= tau} + #{b: d(b,S(A)) <= tau}) / (|S(A)|+|S(B)|).
 * Empty masks: hd, hd95, assd and the directed means are NaN when A or B is
 * empty; with SEGLOSS_EMPTY_DISTANCE_DIAG they are the image diagonal
 * sqrt(sum_d (dim[d]*spacing[d])^2) when exactly one is empty. nsd is 0 when
 * exactly one is empty (the formula: no surface voxel is within tau of an
 * empty surface) and follows empty_score when both are.
 * n_pred = |A| = tp + fp, n_ref = |B| = tp + fn.
 * Cost: the scan is one pass; the surface metrics of a label cost O(its
 * union bounding box), not O(volume) (a stray voxel far from the object
 * widens the box; results stay exact). A 3-D array with a dimension of 1 is
 * 3-D: all its voxels lie on the image border and are surface (as in
 * MedPy); give such a slice as 2-D for 2-D surfaces.
 */

/* Integer label array: pred and ref may have different dtypes. Accepted:
 * BOOL, U8, I8, I16, U16, I32, U32, I64, U64 (U64 values above INT64_MAX give
 * SEGLOSS_ERR_DOMAIN); float dtypes give SEGLOSS_ERR_DTYPE (threshold scores
 * into a uint8 mask first). */
typedef struct segloss_label_array {
    const void *data;
    segloss_dtype dtype;
} segloss_label_array;

/* Counts and extent of one label. box_lo/box_hi: half-open bounding box of
 * the union A u B, axis 0 first; axes >= ndim have [0,1). An absent label has
 * an empty box (box_hi = box_lo = 0) and tn = numel. */
typedef struct segloss_label_stats {
    int64_t label;
    segloss_confusion conf;    /* tp, fp, fn; tn = numel - tp - fp - fn */
    int64_t box_lo[3];
    int64_t box_hi[3];
} segloss_label_stats;

/* All labels (nonzero) present in pred or ref, ascending. */
typedef struct segloss_label_set {
    segloss_label_stats *items;  /* owned; release with segloss_label_set_free */
    int64_t count;
    int64_t numel;               /* voxels scanned (summed by merges) */
} segloss_label_set;

/* One pass over pred and ref (shape rank 1..3, same shape for both): counts
 * and union bounding box of every label. *out is overwritten (call
 * segloss_label_set_free on it afterwards, also on failure). Volumes of
 * more than about a million voxels are scanned in blocks of rows on the
 * library's threads (segloss_set_num_threads); the result is the same for
 * any number of threads. */
SEGLOSS_API segloss_status segloss_label_scan(segloss_label_set *out, const segloss_label_array *pred,
                                              const segloss_label_array *ref, const segloss_shape *shape);

/* The label scan in two steps, so that a part of it can run beside other
 * work, e.g. while the other file is still being read. Rows: the runs
 * along the last axis, in C order (numel / dim[ndim-1] of them).
 * segloss_label_rows_zero: zero[r] = 1 when row r of `a` holds only zeros,
 * else 0 (zero: one byte per row); it runs on the calling thread only.
 * segloss_label_scan_rows: segloss_label_scan, except that the rows that
 * pred_zero or ref_zero (each may be NULL) mark with a nonzero byte are
 * taken as all zeros without being read; a 0 byte means "read the row".
 * With maps from segloss_label_rows_zero of the same arrays (or any part of
 * them, the other bytes 0), the result is segloss_label_scan's, bit for
 * bit. */
SEGLOSS_API segloss_status segloss_label_rows_zero(uint8_t *zero, const segloss_label_array *a,
                                                   const segloss_shape *shape);
SEGLOSS_API segloss_status segloss_label_scan_rows(segloss_label_set *out, const segloss_label_array *pred,
                                                   const uint8_t *pred_zero, const segloss_label_array *ref,
                                                   const uint8_t *ref_zero, const segloss_shape *shape);
/* acc += other: union of the labels, counts and numel added, boxes united
 * (meaningful when both describe the same grid), tn recomputed. */
SEGLOSS_API segloss_status segloss_label_set_merge(segloss_label_set *acc, const segloss_label_set *other);
/* Stats of `label` (label 0 allowed); a label absent from the set gives zero
 * counts, tn = numel and an empty box. */
SEGLOSS_API void segloss_label_set_get(segloss_label_stats *out, const segloss_label_set *set,
                                       int64_t label);
SEGLOSS_API void segloss_label_set_free(segloss_label_set *set);

typedef enum segloss_empty_score {
    SEGLOSS_EMPTY_SCORE_NAN = 0,   /* default: a 0/0 score is NaN */
    SEGLOSS_EMPTY_SCORE_ONE = 1,
    SEGLOSS_EMPTY_SCORE_ZERO = 2
} segloss_empty_score;

typedef enum segloss_empty_distance {
    SEGLOSS_EMPTY_DISTANCE_NAN = 0,  /* default */
    SEGLOSS_EMPTY_DISTANCE_DIAG = 1  /* exactly one mask empty: image diagonal */
} segloss_empty_distance;

typedef enum segloss_hd95_variant {
    SEGLOSS_HD95_MAX = 0,     /* default: max of the two directed percentiles */
    SEGLOSS_HD95_POOLED = 1   /* percentile of the pooled distances (MedPy) */
} segloss_hd95_variant;

/* The surface the distance metrics (hd, hd95, assd, masd, sd_median,
 * sd_std, nsd and the directed fields) are measured on.
 *  - SEGLOSS_SURFACE_VOXEL: the surface voxels S(X) above, each of weight 1.
 *  - SEGLOSS_SURFACE_SURFEL: DeepMind surface-distance's surfels
 *    (compute_surface_distances, google-deepmind/surface-distance at
 *    1f805ce): the points of the voxel-corner grid (shifted by half a
 *    voxel) whose 2x2(x2) neighbourhood is partly inside X, each weighted
 *    by the area (3-D, marching-cubes triangles of DeepMind's table) or
 *    contour length (2-D) of its cell, spacing applied; distances between
 *    corner points. Per direction, over the surfels sorted by distance:
 *    mean = sum(d w)/sum(w) (compute_average_surface_distance), percentile
 *    P = the first distance where the cumulative weight fraction reaches
 *    P/100 (compute_robust_hausdorff; max = P 100), nsd = weight within
 *    tau over total weight of both (compute_surface_dice_at_tolerance).
 *    assd, sd_median, sd_std, and hd95 with SEGLOSS_HD95_POOLED: the same
 *    weighted rules over the surfels of both masks. n_surface_pred/_ref
 *    count surfels when both masks are non-empty (else, as with voxels,
 *    surface voxels). Empty masks: as with voxels. Rank 1: SEGLOSS_ERR_ARG. */
typedef enum segloss_surface_kind {
    SEGLOSS_SURFACE_VOXEL = 0,  /* default */
    SEGLOSS_SURFACE_SURFEL = 1
} segloss_surface_kind;

/* The tools whose conventions segloss reproduces; see
 * segloss_metric_opts_convention for their rules. */
typedef enum segloss_convention {
    SEGLOSS_CONVENTION_SEGLOSS = 0,  /* default: empty_score, empty_distance */
    SEGLOSS_CONVENTION_MEDPY = 1,
    SEGLOSS_CONVENTION_MONAI = 2,
    SEGLOSS_CONVENTION_DEEPMIND = 3,
    SEGLOSS_CONVENTION_METRICSRELOADED = 4,
    SEGLOSS_CONVENTION_NNUNET = 5,
    SEGLOSS_CONVENTION_EVALUATESEGMENTATION = 6
} segloss_convention;

typedef struct segloss_metric_opts {
    double spacing[3];          /* per axis, axis 0 first; default 1; must be
                                   finite and >= 0 (0 is read as 1.0) */
    double percentile;          /* P, default 95; in [0,100] */
    double tolerance;           /* tau, default 1; >= 0 */
    segloss_hd95_variant hd95_variant;
    segloss_empty_score empty_score;
    segloss_empty_distance empty_distance;
    int distances;              /* segloss_label_metrics only: nonzero also
                                   computes the surface metrics (default:
                                   overlap only, surface fields NaN) */
    int threads;                /* segloss_label_metrics only: 0 = the
                                   library setting (segloss_set_num_threads),
                                   n > 0 = n; results never depend on it */
    double beta;                /* fbeta's beta, default 1; finite, >= 0
                                   (0 is read as 1) */
    double boundary_width;      /* boundary_iou's width w, physical units,
                                   default 1; finite, >= 0 (0 is read as 1) */
    unsigned mask_metrics;      /* segloss_label_metrics only: OR of
                                   SEGLOSS_MASK_* (default 0: none, fields
                                   NaN) */
    segloss_surface_kind surface; /* the surface of the distance metrics:
                                   SEGLOSS_SURFACE_VOXEL (default) or
                                   SEGLOSS_SURFACE_SURFEL (2-D and 3-D) */
    segloss_convention convention; /* the tool whose rules no other field
                                   expresses: its value per metric for empty
                                   masks, and Metrics Reloaded's boundary
                                   width in voxels (segloss_metric_opts_
                                   convention). SEGLOSS_CONVENTION_SEGLOSS
                                   (default): empty_score, empty_distance */
} segloss_metric_opts;

/* Bits of segloss_metric_opts.mask_metrics: the metrics of
 * segloss_mask_metrics that are computed (each costs a pass over the
 * label's bounding box, shared with the surface distances). */
#define SEGLOSS_MASK_BOUNDARY_IOU 1u
#define SEGLOSS_MASK_COM_DIST 2u
#define SEGLOSS_MASK_MAHALANOBIS 4u
#define SEGLOSS_MASK_CLDICE 8u

/* Defaults: spacing {1,1,1}, percentile 95, tolerance 1, HD95_MAX,
 * EMPTY_SCORE_NAN, EMPTY_DISTANCE_NAN, distances 0, threads 0, beta 1,
 * boundary_width 1, mask_metrics 0, surface SEGLOSS_SURFACE_VOXEL,
 * convention SEGLOSS_CONVENTION_SEGLOSS. */
SEGLOSS_API segloss_metric_opts segloss_metric_opts_default(void);

/* Sets every choice of *opts that a tool makes differently, so that each
 * metric the tool has equals the tool's value (docs/metrics.md has the
 * table, tool x choice). name is one of segloss_convention_name's:
 *   "segloss"  voxel surfaces, hd95 = max of the directed percentiles,
 *              NaN for every undefined result (the defaults)
 *   "medpy"    MedPy 0.5.2 (medpy/metric/binary.py): hd95 of the pooled
 *              distances; dc, jc of two empty masks 1; precision, recall,
 *              specificity 0/0 = 0; distances with an empty mask NaN (MedPy
 *              raises)
 *   "monai"    MONAI 1.5.0 (monai/metrics): dice, iou NaN when the reference
 *              is empty (ignore_empty); with exactly one mask empty hd, assd
 *              and the directed means +inf, hd95 NaN, nsd 0
 *   "deepmind" surface-distance 1f805ce: surfels (SEGLOSS_SURFACE_SURFEL);
 *              hd, hd95 +inf when a mask is empty; a directed mean NaN from
 *              an empty surface, +inf to one
 *   "metricsreloaded" Metrics Reloaded (cb38dfc): dice, fbeta, nsd,
 *              boundary_iou of two empty masks 1 and hd, hd95, assd, masd 0;
 *              precision 0 when only the prediction is empty, npv 0 when
 *              only the prediction fills the image; com_dist -1 when a mask
 *              is empty; boundary_iou's width counted in voxels (its
 *              distance transform ignores the spacing)
 *   "nnunet"   nnU-Net 2.8.1 (evaluate_predictions.py): the defaults
 *   "evaluatesegmentation" EvaluateSegmentation (4cff08d, run with ITK
 *              5.2.1): distances from every voxel of a mask to the nearest
 *              voxel of the other, on the whole image: hd exact, hd95 the
 *              quantile D[(int)(q(|D|-1))] of the pooled distances of
 *              A\B and B\A (exact; the tool's own is randomised and never
 *              lower), masd its AVGDIST grid search, mahalanobis over the
 *              last two axes when the reference lies in plane 0 and NaN
 *              for a zero determinant; icc, pbd on voxel values 0/255, F 0
 *              and pbd -1 when TP = 0; every score and distance it has NaN
 *              when a mask is empty or fills the image (the tool refuses
 *              them); --surface surfel keeps segloss's surfel distances
 * It sets surface, hd95_variant, empty_score (NaN), empty_distance (NaN)
 * and convention, and leaves the other fields (spacing, percentile,
 * tolerance, beta, boundary_width, distances, mask_metrics, threads) as
 * they are. Unknown name or NULL: SEGLOSS_ERR_ARG, *opts unchanged. */
SEGLOSS_API segloss_status segloss_metric_opts_convention(segloss_metric_opts *opts,
                                                          const char *name);

/* Name of convention c (a segloss_convention value), NULL outside
 * 0..SEGLOSS_CONVENTION_EVALUATESEGMENTATION. */
SEGLOSS_API const char *segloss_convention_name(int c);

/* Overlap scores from counts, N = TP+FP+FN+TN. A 0 denominator gives
 * empty_score (MedPy >= 0.5's dc and jc of two empty masks are
 * SEGLOSS_EMPTY_SCORE_ONE):
 *   dice = 2TP/(2TP+FP+FN)  iou = TP/(TP+FP+FN)  precision = TP/(TP+FP)
 *   recall = TP/(TP+FN)  specificity = TN/(TN+FP)
 *   accuracy = (TP+TN)/N  vs = 1 - |FP-FN|/(2TP+FP+FN)
 * Confusion-derived scores (as Metrics Reloaded 0.1.0 defines them in
 * metrics/pairwise_measures.py; a 0 denominator gives empty_score):
 *   mcc   = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))
 *   kappa = (p_o - p_e)/(1 - p_e), p_o = accuracy,
 *           p_e = ((TP+FP)(TP+FN) + (TN+FN)(TN+FP))/N^2  (Cohen)
 *   fbeta = (1+b^2)TP / ((1+b^2)TP + b^2 FN + FP)  (b = opts->beta)
 *   balanced_accuracy = (recall + specificity)/2
 *   youden = recall + specificity - 1  (informedness)
 *   npv = TN/(TN+FN)  fpr = FP/(FP+TN)  fnr = FN/(FN+TP)
 *   fdr = FP/(FP+TP)  for_ = FN/(FN+TN)  (false omission rate; CLI "for")
 *   lr_pos = recall/(1 - specificity)  (empty_score when FP = 0 or the
 *            reference has no positive or no negative voxel)
 *   lr_neg = (1 - recall)/specificity  (empty_score when TN = 0 or either
 *            factor is undefined)
 *   balanced_accuracy and youden follow empty_score when recall or
 *   specificity is undefined.
 * EvaluateSegmentation's (Taha & Hanbury 2015; 0/1 masks, N voxels):
 *   gce = min(E1, E2)/N, E1 = FN(FN+2TP)/(TP+FN) + FP(FP+2TN)/(TN+FP),
 *         E2 = FP(FP+2TP)/(TP+FP) + FN(FN+2TN)/(TN+FN) (a 0/0 term is 0)
 *   ri, ari = Rand index and adjusted Rand index of the voxel pairs
 *   mi  = H(A) + H(B) - H(A,B) in bits (0 log 0 = 0), voi = H(A)+H(B)-2mi
 *   icc = (ssb - ssw)/(ssb + ssw), the intraclass correlation of the 0/1
 *         voxel values (ssw within voxels, ssb between, as the tool sums)
 *   pbd = (FP+FN)/(2TP)  auc = (recall + specificity)/2 (one ROC point)
 *   (empty_score when a denominator is 0; gce, mi, voi are always defined)
 * Volumes (never empty_score): vol_pred = (TP+FP)*v, vol_ref = (TP+FN)*v,
 * vol_diff = vol_pred - vol_ref, v = voxel volume = the product of the
 * spacings (segloss_overlap_from_counts: of opts->spacing[0..3), 0 read as
 * 1; segloss_label_metrics_compute: of the array's axes). */
typedef struct segloss_overlap_scores {
    double dice, iou, precision, recall, specificity, accuracy, vs;
    double mcc, kappa, fbeta, balanced_accuracy, youden;
    double npv, fpr, fnr, fdr, for_, lr_pos, lr_neg;
    double vol_pred, vol_ref, vol_diff;
    double gce, ri, ari, mi, voi, icc, pbd, auc;
} segloss_overlap_scores;

/* Negative counts give SEGLOSS_ERR_ARG. opts may be NULL. */
SEGLOSS_API segloss_status segloss_overlap_from_counts(segloss_overlap_scores *out,
                                                       const segloss_confusion *c,
                                                       const segloss_metric_opts *opts);

/* Besides hd, hd95, assd and nsd (above), with D = the pooled distances
 * {d(a,S(B)): a in S(A)} u {d(b,S(A)): b in S(B)}:
 *   masd      = (mean_pred_to_ref + mean_ref_to_pred)/2  (Metrics Reloaded)
 *   sd_median = median of D (numpy.median)
 *   sd_std    = population standard deviation of D (numpy.std, ddof 0)
 * Empty masks: as hd. */
typedef struct segloss_surface_metrics {
    double hd, hd95, assd, nsd;
    double masd, sd_median, sd_std;
    double max_pred_to_ref;      /* max_a d(a,S(B)) (directed Hausdorff) */
    double max_ref_to_pred;
    double mean_pred_to_ref;     /* mean_a d(a,S(B)) */
    double mean_ref_to_pred;
    int64_t n_surface_pred;      /* |S(A)| */
    int64_t n_surface_ref;       /* |S(B)| */
} segloss_surface_metrics;

/* Surface metrics of one label. `stats` comes from segloss_label_scan of the
 * same pred/ref/shape (its box bounds the work: cost scales with the box,
 * not the volume). Thread-safe: independent labels may run in parallel. */
SEGLOSS_API segloss_status segloss_surface_distances(segloss_surface_metrics *out,
                                                     const segloss_label_array *pred,
                                                     const segloss_label_array *ref,
                                                     const segloss_shape *shape,
                                                     const segloss_label_stats *stats,
                                                     const segloss_metric_opts *opts);
/* The same for two binary masks (nonzero byte = foreground) of n elements. */
SEGLOSS_API segloss_status segloss_surface_distances_binary(segloss_surface_metrics *out,
                                                            const uint8_t *pred, const uint8_t *ref,
                                                            const segloss_shape *shape,
                                                            const segloss_metric_opts *opts);

/* Metrics of the masks' shape (segloss_metric_opts.mask_metrics picks
 * them; the others are NaN):
 *  - boundary_iou = |A_w n B_w| / |A_w u B_w|, X_w = {x in X: d(x, S(X)) < w}
 *    the voxels of X closer than w (opts->boundary_width, physical units)
 *    to its own surface S(X) (Cheng et al. 2021, as Metrics Reloaded 0.1.0
 *    computes it; with w <= the smallest spacing, X_w = S(X)). Both masks
 *    empty: empty_score; one empty: 0.
 *  - com_dist = |c(A) - c(B)| in physical units, c(X) = the mean voxel
 *    index of X (scipy.ndimage.center_of_mass) scaled by the spacing; NaN
 *    (or the image diagonal, as hd) when A or B is empty.
 *  - mahalanobis = sqrt(d' C^-1 d): d = the difference of the masks' mean
 *    voxel indices, C = (|A| C_A + |B| C_B)/(|A| + |B|) with C_X the
 *    population covariance of X's voxel indices (EvaluateSegmentation,
 *    Taha & Hanbury 2015); independent of the spacing. NaN when A or B is
 *    empty or C is singular (both masks flat along an axis).
 *  - cldice = 2 tprec tsens / (tprec + tsens), the centre-line Dice (Shit
 *    et al. 2021, as Metrics Reloaded computes it): tprec = |S(A) n B| /
 *    |S(A)|, tsens = |S(B) n A| / |S(B)|, with S(X) the skeleton of X that
 *    scikit-image 0.19.3 computes (2-D: `skeletonize`, its parallel
 *    look-up-table thinning; 3-D: `skeletonize_3d`, Lee et al. 1994),
 *    voxel for voxel. Both masks empty: empty_score; NaN when a skeleton is
 *    empty (so when one mask is), when tprec = tsens = 0, and for 1-D
 *    images. Independent of the spacing. */
typedef struct segloss_mask_metrics {
    double boundary_iou, com_dist, mahalanobis;
    double cldice;
} segloss_mask_metrics;

typedef struct segloss_label_metrics {
    segloss_label_stats stats;
    segloss_overlap_scores overlap;
    segloss_surface_metrics surface;   /* all NaN (counts -1) unless opts->distances */
    segloss_mask_metrics mask;         /* NaN unless picked by opts->mask_metrics */
} segloss_label_metrics;

/* Metrics of n_labels labels (labels == NULL: every label of `set`, n_labels
 * must be set->count) into out[0..n_labels). `set` is the scan of the same
 * pred/ref/shape. Labels run in parallel (opts->threads); results do not
 * depend on the thread count. */
SEGLOSS_API segloss_status segloss_label_metrics_compute(segloss_label_metrics *out, const int64_t *labels,
                                                         int64_t n_labels, const segloss_label_set *set,
                                                         const segloss_label_array *pred,
                                                         const segloss_label_array *ref,
                                                         const segloss_shape *shape,
                                                         const segloss_metric_opts *opts);

/* Metrics of n_regions regions, with an optional ignore label (nnU-Net's
 * region-based evaluation and ignore label, as nnunetv2 2.x
 * evaluate_predictions.py computes them). A region R is a set of labels,
 * scored as label 1 of the 0/1 maps A = {pred in R}, B = {ref in R}:
 *  - offsets == NULL: region r is the single label labels[r], and
 *    out[r].stats.label = labels[r];
 *  - else region r is labels[offsets[r] .. offsets[r+1]) (offsets has
 *    n_regions + 1 nondecreasing entries, offsets[0] >= 0), and
 *    out[r].stats.label = r.
 * ignore_label (NULL: none): the voxels whose reference equals *ignore_label
 * are left out of everything: cleared in both maps (so out of the
 * distances and mask metrics), and TN is reduced by their number (TP, FP,
 * FN and TN all count only the other voxels), the overlap scores being
 * those of these counts. Otherwise out[r] is segloss_label_metrics_compute
 * of label 1 on the two maps. Each region costs one pass over the volume
 * plus that call. Values are read as segloss_label_scan reads them. */
SEGLOSS_API segloss_status segloss_region_metrics_compute(segloss_label_metrics *out, const int64_t *labels,
                                                          const int64_t *offsets, int64_t n_regions,
                                                          const int64_t *ignore_label,
                                                          const segloss_label_array *pred,
                                                          const segloss_label_array *ref,
                                                          const segloss_shape *shape,
                                                          const segloss_metric_opts *opts);

/* Squared Euclidean distance transform: out[i] = min over nonzero feat[j] of
 * sum_d (spacing[d]*(i_d - j_d))^2, +inf when feat has no nonzero element.
 * Exact (Felzenszwalb-Huttenlocher lower envelope, linear time), rank 1..3;
 * spacing NULL means 1 on every axis. */
SEGLOSS_API segloss_status segloss_edt_squared(double *out, const uint8_t *feat, const segloss_shape *shape,
                                               const double *spacing);

/* numpy.percentile(values, p) with the default 'linear' method, same bits,
 * by selection (expected O(n)); reorders values. n < 1 gives
 * SEGLOSS_ERR_EMPTY, p outside [0,100] SEGLOSS_ERR_ARG, a NaN value
 * SEGLOSS_ERR_NONFINITE (drop NaNs first, as nanpercentile would). */
SEGLOSS_API segloss_status segloss_percentile_inplace(double *result, double *values, int64_t n, double p);

/* ------------------------------------------------------------------------ */
/* Instances: connected components, matching, lesion-wise scores            */
/* ------------------------------------------------------------------------ */
/* Instance (lesion-wise) evaluation of one binary mask pair.
 *
 * Components. A component is a maximal set of foreground voxels connected
 * through neighbours of rank <= connectivity: two voxels are neighbours when
 * their coordinates differ by at most 1 on every axis and on at most
 * `connectivity` axes (1: faces, 4/6 neighbours in 2-D/3-D; 2: faces and
 * edges, 8/18; 3: and vertices, 26) — scipy.ndimage.label with
 * generate_binary_structure(ndim, connectivity). Components are numbered
 * 1..n in scan order (C order) of their first voxel; background is 0.
 *
 * Matching. For reference component r and predicted component p with
 * intersection I and sizes |r|, |p|: iou = I / (|r| + |p| - I),
 * dice = 2I / (|r| + |p|). A pair is a candidate when its score (iou or
 * dice, per `match`) is strictly greater than `threshold` (Metrics
 * Reloaded's and MONAI's `>`), or, for SEGLOSS_MATCH_OVERLAP, when I > 0.
 * Each component is matched at most once:
 *  - GREEDY: candidates in decreasing score (iou for OVERLAP), ties by
 *    reference then prediction number; a pair is taken when both are free.
 *  - HUNGARIAN: a maximum-weight one-to-one matching of the candidates,
 *    weight = score (iou for OVERLAP); exact (the shortest-augmenting-path
 *    Hungarian method, O(k^3) on each connected block of k components of
 *    the candidate graph; blocks are solved independently, which loses
 *    nothing since components in different blocks share no candidate).
 *  - HUNGARIAN_ALL: MONAI's compute_panoptic_quality below 0.5: the
 *    maximum-weight one-to-one matching over every touching pair (weight =
 *    score), after which the assigned pairs that are not candidates are
 *    dropped (so a pair above the threshold can be lost to two below it).
 * With iou > 0.5 (or dice > 2/3) a component has at most one candidate and
 * GREEDY and HUNGARIAN give the same pairs.
 *
 * Scores (tp = matched pairs, fp = unmatched predictions, fn = unmatched
 * references, iou_sum = sum of the iou of the matched pairs, whatever
 * `match` is): precision = tp/(tp+fp), recall = tp/(tp+fn),
 * f1 = rq = tp/(tp + fp/2 + fn/2), sq = iou_sum/tp,
 * pq = sq*rq = iou_sum/(tp + fp/2 + fn/2) (Kirillov et al. 2019; MONAI's
 * PanopticQualityMetric adds 1e-6 to the denominators, so it gives 0 where
 * these are 0/0). A 0/0 takes `empty_score`.
 *
 * Cost: one pass over each array finds its runs of foreground voxels;
 * labelling works on runs (union-find, linear in the runs); the overlap of
 * every touching (r, p) pair comes from merging the runs of each row (a
 * hash table of the pairs that touch: never n_ref x n_pred x voxels);
 * greedy matching is O(P log P) for P touching pairs. Memory O(rows +
 * runs) for segloss_instance_eval; the dense maps of segloss_components
 * are only the output. */
typedef enum segloss_match_rule {
    SEGLOSS_MATCH_IOU = 0,       /* default: iou > threshold */
    SEGLOSS_MATCH_DICE = 1,      /* dice > threshold */
    SEGLOSS_MATCH_OVERLAP = 2    /* any shared voxel */
} segloss_match_rule;

typedef enum segloss_assignment {
    SEGLOSS_ASSIGN_GREEDY = 0,   /* default */
    SEGLOSS_ASSIGN_HUNGARIAN = 1,
    SEGLOSS_ASSIGN_HUNGARIAN_ALL = 2   /* MONAI's rule below 0.5 (see above) */
} segloss_assignment;

typedef struct segloss_instance_opts {
    int connectivity;             /* 1..ndim; 0 (the default) means ndim */
    int64_t min_size;             /* components with fewer voxels are dropped
                                     before matching (default 0: none) */
    segloss_match_rule match;
    double threshold;             /* default 0.5; in [0,1) */
    segloss_assignment assignment;
    segloss_empty_score empty_score;   /* default NAN */
} segloss_instance_opts;

/* Defaults: connectivity 0 (= ndim), min_size 0, MATCH_IOU, threshold 0.5,
 * ASSIGN_GREEDY, EMPTY_SCORE_NAN. */
SEGLOSS_API segloss_instance_opts segloss_instance_opts_default(void);

/* Labels the components of mask (nonzero = foreground; rank 1..3):
 * labels[i] = component number (1..*count in scan order) or 0, then drops
 * the components of fewer than min_size voxels (min_size <= 1 drops none)
 * and renumbers the rest 1..*count in the same order. connectivity: 1..ndim,
 * 0 = ndim; anything else SEGLOSS_ERR_ARG. Arrays over INT32_MAX - 1
 * elements: SEGLOSS_ERR_LIMIT. */
SEGLOSS_API segloss_status segloss_components(int32_t *labels, int64_t *count, const uint8_t *mask,
                                              const segloss_shape *shape, int connectivity,
                                              int64_t min_size);

/* mask[i] = 1 where a[i] == label (label 0 included), else 0, for the n
 * elements of a (values read as segloss_label_scan reads them; U64 values
 * above INT64_MAX: SEGLOSS_ERR_DOMAIN). */
SEGLOSS_API segloss_status segloss_label_mask(uint8_t *mask, const segloss_label_array *a, int64_t n,
                                              int64_t label);

/* Instance-ID map -> numbered instances: every distinct nonzero value of
 * ids is one instance (connected or not); instances are numbered 1..*count
 * in increasing ID (MONAI's remap_instance_id), then min_size applies as in
 * segloss_components. mask (may be NULL) restricts the map: voxels with
 * mask[i] == 0 are background. */
SEGLOSS_API segloss_status segloss_instances_from_ids(int32_t *labels, int64_t *count,
                                                      const segloss_label_array *ids,
                                                      const uint8_t *mask, int64_t numel,
                                                      int64_t min_size);

/* One row of an instance comparison: a matched pair (ref > 0, pred > 0), a
 * missed reference (pred = 0) or an unmatched prediction (ref = 0).
 * inter is the overlap of the two (0 for unmatched rows); iou and dice are
 * those of the pair (NaN for unmatched rows); box: the union bounding box
 * of the two components, half-open, axis 0 first, axes >= ndim [0,1). */
typedef struct segloss_instance_pair {
    int64_t ref, pred;
    int64_t inter, n_ref, n_pred;
    double iou, dice;
    int64_t box_lo[3], box_hi[3];
    segloss_surface_metrics surface;   /* NaN unless distances were asked */
} segloss_instance_pair;

typedef struct segloss_instance_metrics {
    int64_t n_ref, n_pred, tp, fp, fn;
    double iou_sum;
    double precision, recall, f1, pq, sq, rq;
} segloss_instance_metrics;

/* Matches the components of ref_cc (numbered 1..n_ref) against those of
 * pred_cc (1..n_pred), both of `shape`, by opts (NULL = defaults). *pairs
 * (if pairs is not NULL) receives a malloc'd array of *n_pairs rows: the
 * matched pairs in increasing ref, then the missed references, then the
 * unmatched predictions, each in increasing number; release it with
 * segloss_instance_pairs_free. distances (may be NULL: surface fields NaN):
 * the surface metrics of every matched pair (as segloss_surface_distances,
 * with its spacing, percentile, tolerance and variant), computed inside the
 * pair's box (O(box), not O(volume)); rows with a missing side keep NaN.
 * A label outside 0..n: SEGLOSS_ERR_ARG. */
SEGLOSS_API segloss_status segloss_instance_match(segloss_instance_metrics *out,
                                                  segloss_instance_pair **pairs, int64_t *n_pairs,
                                                  const int32_t *ref_cc, int64_t n_ref,
                                                  const int32_t *pred_cc, int64_t n_pred,
                                                  const segloss_shape *shape,
                                                  const segloss_instance_opts *opts,
                                                  const segloss_metric_opts *distances);
SEGLOSS_API void segloss_instance_pairs_free(segloss_instance_pair *pairs);

/* precision .. rq of m from its counts (n_ref, n_pred, tp, fp, fn, iou_sum),
 * as defined above; for dataset-level scores, add the counts of the cases
 * and call this. A 0/0 gives empty_score. */
SEGLOSS_API void segloss_instance_scores(segloss_instance_metrics *m, segloss_empty_score empty_score);

/* Components of the voxels equal to `label` in pred and in ref (rank 1..3,
 * opts->connectivity, opts->min_size), or, with instance_maps nonzero, the
 * instances of two instance-ID maps (each distinct nonzero value; label
 * unused), matched as segloss_instance_match does — without dense label
 * maps: memory O(rows + runs of foreground), one pass over each array. */
SEGLOSS_API segloss_status segloss_instance_eval(segloss_instance_metrics *out,
                                                 segloss_instance_pair **pairs, int64_t *n_pairs,
                                                 const segloss_label_array *pred,
                                                 const segloss_label_array *ref, int64_t label,
                                                 int instance_maps, const segloss_shape *shape,
                                                 const segloss_instance_opts *opts,
                                                 const segloss_metric_opts *distances);

/* BraTS 2023 lesion-wise scores (rachitsaluja/BraTS-2023-Metrics,
 * metrics.py, as of commit 43c9052, Oct 2023), for one binary region (the
 * official code scores WT, TC and ET in turn):
 *  1. components of ref and pred at full connectivity (26 in 3-D);
 *  2. ref is dilated `dilation` times by the 18-neighbour cross
 *     (scipy generate_binary_structure(3, 2)); reference components whose
 *     dilations touch form one lesion (the components of the dilated mask,
 *     restricted to the reference voxels);
 *  3. each lesion L is dilated again; the predicted components that meet
 *     that dilation are its prediction P (possibly several components;
 *     one component may serve several lesions);
 *     dice(L) = 2|L n P| / (|L| + |P|), hd95(L) = the 95th-percentile
 *     Hausdorff distance between L and P (missing_hd95 when P is empty);
 *  4. lesions with volume |L| * prod(spacing) <= volume_threshold are left
 *     out; a predicted component that meets no lesion's dilation is a false
 *     positive (whatever its size), scored dice 0 and hd95 missing_hd95;
 *  5. dice = sum of dice(L) over the kept lesions / (kept + fp),
 *     hd95 = (sum of hd95(L) + fp * missing_hd95) / (kept + fp); with no
 *     kept lesion and no false positive, dice = 1 and hd95 = 0.
 * tp / fn: kept lesions with / without a prediction; fp as above.
 * hd95(L) is the official code's: DeepMind surface-distance's
 * compute_robust_hausdorff(compute_surface_distances(L, P, spacing), 95),
 * the max of the two directed area-weighted 95th percentiles over surfels
 * (SEGLOSS_SURFACE_SURFEL). Dice, counts, hd95 and the 374 rule are the
 * official ones. Ranks 2 and 3 (hd95 needs surfels). */
typedef struct segloss_lesionwise_opts {
    double spacing[3];          /* per axis, axis 0 first; default 1 */
    int dilation;               /* default 3 (GLI) */
    double volume_threshold;    /* default 50 (GLI), physical units */
    double missing_hd95;        /* default 374 */
} segloss_lesionwise_opts;

/* BraTS 2023 glioma (GLI) settings: spacing 1, dilation 3, threshold 50,
 * missing_hd95 374. */
SEGLOSS_API segloss_lesionwise_opts segloss_lesionwise_opts_brats2023(void);

typedef struct segloss_lesion_row {
    double volume;              /* |L| * prod(spacing) */
    int64_t n_voxels;           /* |L| */
    int64_t n_pred;             /* predicted components meeting its dilation */
    double dice, hd95;
    int kept;                   /* volume > volume_threshold */
} segloss_lesion_row;

typedef struct segloss_lesionwise {
    int64_t n_lesions;          /* all lesions, kept or not */
    int64_t tp, fp, fn;
    double dice, hd95;
} segloss_lesionwise;

/* Scores of pred against ref (nonzero = foreground), rank 1..3 (lower ranks
 * as a 3-D volume of leading size-1 axes). rows (may be NULL) receives a
 * malloc'd array of one row per lesion (out->n_lesions) in scan order of
 * first voxel; release it with segloss_lesion_rows_free. */
SEGLOSS_API segloss_status segloss_lesionwise_brats(segloss_lesionwise *out, segloss_lesion_row **rows,
                                                    const uint8_t *pred, const uint8_t *ref,
                                                    const segloss_shape *shape,
                                                    const segloss_lesionwise_opts *opts);
SEGLOSS_API void segloss_lesion_rows_free(segloss_lesion_row *rows);

/* Dataset-level summary of one label's instance results over cases:
 * segloss_instance_summary_init, then segloss_instance_summary_add per case,
 * then segloss_instance_summary_finish. Afterwards:
 *   cases  the number of cases added;
 *   total  n_ref, n_pred, tp, fp, fn and iou_sum summed over the cases, and
 *          precision .. rq of those sums (segloss_instance_scores);
 *   mean   precision .. rq: each the mean over the cases of its per-case
 *          values that are not NaN (NaN when there is none); counts 0;
 *   lesionwise_dice, lesionwise_hd95: the same means of the per-case BraTS
 *          lesion-wise dice and hd95 (cases added with lw NULL count as NaN).
 * Means add the cases in the order they were added. sum_ and n_ are the
 * running sums; only these functions use them. */
typedef struct segloss_instance_summary {
    int64_t cases;
    segloss_instance_metrics total;
    segloss_instance_metrics mean;
    double lesionwise_dice, lesionwise_hd95;
    double sum_[8];
    int64_t n_[8];
} segloss_instance_summary;

SEGLOSS_API void segloss_instance_summary_init(segloss_instance_summary *s);
/* Adds one case's results m (counts, iou_sum and scores as
 * segloss_instance_eval gives them) and, if not NULL, its lesion-wise
 * scores lw. */
SEGLOSS_API void segloss_instance_summary_add(segloss_instance_summary *s,
                                              const segloss_instance_metrics *m,
                                              const segloss_lesionwise *lw);
SEGLOSS_API void segloss_instance_summary_finish(segloss_instance_summary *s,
                                                 segloss_empty_score empty_score);

/* ------------------------------------------------------------------------ */
/* Images for `segloss eval`: PNG, NIfTI-1/2 (.nii, .nii.gz), .npy           */
/* ------------------------------------------------------------------------ */
/* These functions live in libsegloss_io (link -lsegloss_io -lsegloss, with
 * libpng, zlib and libdeflate for a static link); everything else is in
 * libsegloss.
 *
 * Every reader returns the array as a segloss_npy (C order, axis 0 slowest)
 * plus one voxel spacing per array axis, axis 0 first — the order of
 * `segloss eval --spacing`.
 *
 * PNG: shape (rows, cols); axis 0 = rows. 8-bit grey -> uint8, 16-bit grey
 *   -> uint16 (host order); 1/2/4-bit grey -> uint8 values 0..2^d-1 (not
 *   rescaled); palette -> the palette INDEX as uint8 (label PNGs store labels
 *   that way; the colours are ignored); grey+alpha, RGB and RGBA are accepted
 *   only when they are grey masks in disguise (every alpha at its maximum,
 *   R == G == B at every pixel) and become grey, otherwise
 *   SEGLOSS_ERR_UNSUPPORTED. tRNS, gamma and colour chunks are ignored.
 *   Spacing is always 1 (has_spacing = 0): pHYs is not used. Any CRC error
 *   (critical or ancillary chunk), truncation or zlib error is
 *   SEGLOSS_ERR_FORMAT. Images wider than 2^24 pixels: SEGLOSS_ERR_LIMIT.
 * NIfTI: single-file NIfTI-1 ("n+1") and NIfTI-2 ("n+2"), either byte
 *   order, optionally gzip-compressed; .hdr/.img pairs are
 *   SEGLOSS_ERR_UNSUPPORTED. NIfTI's x axis varies fastest, so a volume with
 *   dim = (nx, ny, nz) becomes an array of shape (nz, ny, nx) with spacing
 *   (pz, py, px) taken from |pixdim[3]|, |pixdim[2]|, |pixdim[1]| (no unit
 *   conversion: xyzt_units is ignored). Trailing size-1 NIfTI axes beyond the
 *   second are dropped (a (nx, ny, 1) volume is a 2-D (ny, nx) image, a
 *   4-D (nx, ny, nz, 1) one is 3-D); array axis j of an n-D image is NIfTI
 *   axis n - j, its spacing pixdim[n - j]. Spacing is decided per axis, as
 *   nibabel 5.x's header check does (a negative pixdim gives its absolute
 *   value, a zero one 1 on that axis only); a kept pixdim that is 0, NaN or
 *   +-infinite gives spacing 1 on its axis, sets bit j of
 *   spacing_substituted and clears has_spacing; the other axes keep their
 *   pixdim. spacing_file[j] is the pixdim as stored (sign, 0, NaN, inf
 *   kept), for messages. Data types:
 *   uint8/16/32/64, int8/16/32/64, float32, float64 (others, e.g. complex,
 *   RGB, binary: SEGLOSS_ERR_UNSUPPORTED). When scl_slope is finite and
 *   nonzero and (scl_slope, scl_inter) != (1, 0) the values are scaled
 *   (v*slope + inter, inter NaN/inf read as 0) and the array is float64,
 *   even when the scaled values are integers. vox_offset must be a whole
 *   number of bytes, at least the header's size; the header extensions it
 *   skips may not exceed 256 MiB (nor max_bytes): SEGLOSS_ERR_LIMIT, so a
 *   small .nii.gz cannot make the reader inflate gigabytes of padding.
 *   bitpix is not checked.
 *   A gzip stream is read to its end so that its CRC is verified (trailing
 *   data after the voxels is decoded and discarded, up to 64 MiB); when the
 *   header makes no sense and the stream is corrupt, the corruption is the
 *   error reported. A .nii.gz that is a single gzip member is decoded in one
 *   piece (libdeflate; CRC and length checked) into one buffer of its
 *   decoded size, which becomes the voxel data; other streams (several
 *   members, data after the member) are inflated piece by piece (zlib), and
 *   every error is reported as that path reports it.
 * .npy: segloss_npy_read (either byte order and memory order, float16 as
 *   float32); spacing 1, has_spacing = 0.
 *
 * max_bytes caps the decoded size in bytes (0 = no cap beyond overflow
 * checks): for PNG the decoded pixels of all channels, for NIfTI both the
 * voxel data in the file and the output array. Exceeding it is
 * SEGLOSS_ERR_LIMIT, detected from the header before any large allocation;
 * below the cap, buffers grow with the data actually decoded, so a header
 * that promises more than the file holds costs little memory. On error
 * `out` holds no array (data NULL, spacing 1; segloss_image_free on it is
 * harmless) and `err` (may be NULL) receives a sentence naming the problem,
 * without the file name. */
typedef enum segloss_image_format {
    SEGLOSS_IMAGE_UNKNOWN = 0,
    SEGLOSS_IMAGE_NPY = 1,
    SEGLOSS_IMAGE_PNG = 2,
    SEGLOSS_IMAGE_NIFTI = 3      /* .nii or .nii.gz */
} segloss_image_format;

typedef struct segloss_image {
    /* owned; release with segloss_image_free only (not free() or
     * segloss_npy_free: a .nii.gz's voxels may lie inside a bigger block) */
    segloss_npy array;
    double spacing[SEGLOSS_MAX_DIMS];    /* per array axis, axis 0 first; 1 when absent */
    int has_spacing;                     /* nonzero: every spacing came from the file */
    /* Bit j set: the file gives array axis j an unusable spacing (NIfTI
     * pixdim 0, NaN or +-inf) and spacing[j] is 1 in its place. 0 for
     * formats without spacing (PNG, .npy). */
    unsigned spacing_substituted;
    double spacing_file[SEGLOSS_MAX_DIMS]; /* NIfTI: pixdim as stored, per array axis; else 0 */
} segloss_image;

/* Format from the file name's extension, case-insensitive: .png, .nii,
 * .nii.gz, .npy; anything else (.hdr/.img included) is UNKNOWN. */
SEGLOSS_API segloss_image_format segloss_image_format_from_path(const char *path);

/* Reads by extension (segloss_image_format_from_path). An unknown
 * extension or a .hdr/.img pair is SEGLOSS_ERR_UNSUPPORTED. */
SEGLOSS_API segloss_status segloss_image_read(segloss_image *out, const char *path, size_t max_bytes,
                                              char *err, size_t errlen);
/* Decodes an image held in memory; format must not be UNKNOWN. NIfTI
 * buffers may be gzip-compressed (detected from the gzip magic). */
SEGLOSS_API segloss_status segloss_image_read_mem(segloss_image *out, segloss_image_format format,
                                                  const void *buf, size_t len, size_t max_bytes,
                                                  char *err, size_t errlen);
SEGLOSS_API segloss_status segloss_png_read(segloss_image *out, const char *path, size_t max_bytes,
                                            char *err, size_t errlen);
SEGLOSS_API segloss_status segloss_png_read_mem(segloss_image *out, const void *buf, size_t len,
                                                size_t max_bytes, char *err, size_t errlen);
SEGLOSS_API segloss_status segloss_nifti_read(segloss_image *out, const char *path, size_t max_bytes,
                                              char *err, size_t errlen);
SEGLOSS_API segloss_status segloss_nifti_read_mem(segloss_image *out, const void *buf, size_t len,
                                                  size_t max_bytes, char *err, size_t errlen);
/* Releases the array and resets the struct (data NULL, spacing 1); NULL is
 * allowed. */
SEGLOSS_API void segloss_image_free(segloss_image *img);

#ifdef __cplusplus
}
#endif
#endif /* SEGLOSS_H */
