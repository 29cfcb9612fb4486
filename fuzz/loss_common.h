/* Shared by the loss fuzz targets (fuzz/fuzz_loss.c: the first-edition
 * losses; fuzz/fuzz_loss2.c: the second edition and the statistics API):
 * the value tables, the exactly-sized buffers, the case header and the
 * properties every loss call is checked against. See docs/fuzzing.md. */
#ifndef SEGLOSS_FUZZ_LOSS_COMMON_H
#define SEGLOSS_FUZZ_LOSS_COMMON_H

#include "fuzz.h"

#include <segloss.h>

/* A bit pattern no computation produces (a signalling NaN with a payload):
 * an output element still holding it after success was never written. */
#define SENTINEL_BITS 0x7fa5a5a5u

/* The case being run: buffers are released by case_free. */
typedef struct fcase {
    int family;
    segloss_shape shape;
    int64_t numel;         /* -1: the shape is invalid (the call must fail) */
    int shape_ok;
    segloss_reduction red;
    float *x, *grad, *elems, *grad_out, *w1, *w2;
    void *tgt;
    segloss_target target;
} fcase;

/* The fused forward_backward calls promise the same bits as the forward
 * and the backward called apart: the same success, the same loss (and
 * parts), loss array and gradient. */
typedef struct fused {
    float *elems, *grad;
    int64_t n_elems;
} fused;

/* Values from one input byte: logits (specials first), probabilities
 * (mostly in [0,1]), parameters (a table with NaN, +-inf, huge, negative,
 * denormal values), ignore values, reductions and activations (with
 * invalid enum values). */
float value_logit(uint8_t b);
float value_prob(uint8_t b);
double value_param(uint8_t b);
int64_t ignore_param(uint8_t b);
segloss_reduction pick_reduction(uint8_t b);
segloss_activation pick_activation(uint8_t b);

/* Buffers of exactly the documented size (ASan guards the end); the
 * sentinel marks output elements not yet written. */
float sentinel(void);
int is_sentinel(float f);
void *alloc_exact(int64_t n, size_t es);
void fill_target(void *t, segloss_dtype dt, int64_t n, fuzz_bytes *in, int index, int64_t classes);
void fill_floats(float *v, int64_t n, fuzz_bytes *in, int prob);
float *make_farray(segloss_farray *fa, const segloss_shape *in_shape, fuzz_bytes *in);
/* A class-weight array: shape (classes,), or with any_shape the
 * broadcast shapes of make_farray against the input. */
float *make_class_weight(segloss_farray *fa, const fcase *c, int64_t classes, int any_shape,
                         fuzz_bytes *in);
void make_target(fcase *c, fuzz_bytes *in, int index, int64_t count, int64_t classes);
int64_t index_count(const fcase *c, int ce);
void make_outputs(fcase *c, int64_t items, fuzz_bytes *in);
int64_t shape_count(segloss_status st, const segloss_shape *s);
void case_free(fcase *c);

/* Reads the case header: the family (modulo `families`), the rank, the
 * dims (with 0, -1 and 2^62 now and then) and the reduction. */
void case_begin(fcase *c, fuzz_bytes *in, int families);

/* Region options from the input. FILL_SQUARED: the loss takes squared
 * and jaccard; FILL_SMP: it takes smp and log_loss (others get them only
 * now and then, to check they are rejected or ignored). */
#define FILL_SQUARED 1
#define FILL_SMP 2
void fill_region(segloss_dice_opts *o, fuzz_bytes *in, int flags);

/* The properties (fuzz_fail on violation). */
void check_forward(const fcase *c, segloss_status st, double loss, int64_t items);
void check_backward(const fcase *c, segloss_status st);
void check_repeat(const fcase *c, segloss_status st1, double l1, segloss_status st2, double l2);
void fused_alloc(fused *f, const fcase *c, int64_t items);
int same_bits_d(double a, double b);
int same_bits_f(float a, float b);
void check_fused(const fcase *c, fused *f, segloss_status st_f, segloss_status st_b,
                 double loss, segloss_status st_fb, double loss_fb);
/* The calls of one loss behind one interface (its options as const void *):
 * the forward with a loss array, the backward, and the fused
 * forward_backward (NULL where the loss has none). one_value: the loss is
 * one value whatever the reduction, so a forward without the loss array
 * gives the same result under NONE too. LOSS_CALLS(name, T) and
 * LOSS_CALLS_NO_FUSED(name, T) define name##_calls over segloss_name_*. */
typedef struct loss_calls {
    segloss_status (*fwd)(double *, float *, const float *, const segloss_target *,
                          const segloss_shape *, const void *);
    segloss_status (*bwd)(float *, const float *, const segloss_target *, const segloss_shape *,
                          const void *, const float *);
    segloss_status (*fb)(double *, float *, float *, const float *, const segloss_target *,
                         const segloss_shape *, const void *, const float *);
    int one_value;
} loss_calls;

#define LOSS_FWD_BWD_(name, T)                                                                   \
    static segloss_status name##_fwd_(double *l, float *e, const float *x, const segloss_target *t, \
                                      const segloss_shape *s, const void *o) {                    \
        return segloss_##name##_forward(l, e, x, t, s, (const T *)o);                             \
    }                                                                                             \
    static segloss_status name##_bwd_(float *g, const float *x, const segloss_target *t,          \
                                      const segloss_shape *s, const void *o, const float *go) {   \
        return segloss_##name##_backward(g, x, t, s, (const T *)o, go);                           \
    }
#define LOSS_CALLS(name, T, one_value)                                                           \
    LOSS_FWD_BWD_(name, T)                                                                        \
    static segloss_status name##_fb_(double *l, float *e, float *g, const float *x,               \
                                     const segloss_target *t, const segloss_shape *s,             \
                                     const void *o, const float *go) {                            \
        return segloss_##name##_forward_backward(l, e, g, x, t, s, (const T *)o, go);             \
    }                                                                                             \
    static const loss_calls name##_calls = {name##_fwd_, name##_bwd_, name##_fb_, one_value};
#define LOSS_CALLS_NO_FUSED(name, T, one_value)                                                  \
    LOSS_FWD_BWD_(name, T)                                                                        \
    static const loss_calls name##_calls = {name##_fwd_, name##_bwd_, NULL, one_value};

/* Runs and checks the calls of k on case c with `items` loss elements: the
 * forward into c->elems (check_forward), again without the loss array
 * (check_repeat, unless NONE needs the array), the backward into c->grad
 * (check_backward) and the fused call (check_fused). x is NULL with
 * null_arg. Returns the first forward's status. */
segloss_status run_calls(fcase *c, int null_arg, int64_t items, const loss_calls *k,
                         const void *o);
void check_target_rule(const fcase *c, segloss_status st, int64_t n, int64_t iv);

#endif
