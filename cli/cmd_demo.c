/* segloss demo — a worked example, step by step: BCE, BCE-with-logits,
 * the logit >= 0 threshold, Dice and IoU of a 2x2 image.
 *
 * Every number printed comes from a library call on the example's arrays
 * (nothing is hard-coded but the inputs), so the demo doubles as a smoke
 * test of sigmoid, BCE, BCE-with-logits, thresholding and the overlap
 * scores. Values are printed with 4 decimals. */
#include "commands.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static void demo_usage(FILE *f) {
    fprintf(f,
            "Usage: segloss demo\n"
            "\n"
            "Walks through the worked example: logits of a 2x2 image and the 2x2\n"
            "identity as label; prints the sigmoid, the per-element BCE terms, BCE,\n"
            "BCE-with-logits (both 0.6622), the thresholded mask (logit >= 0), its\n"
            "Dice and IoU, and the gradient of BCE-with-logits.\n");
}

/* A 2x2 float matrix, one row per line. */
static void print_mat(const char *title, const float *v) {
    printf("%s\n", title);
    for (int r = 0; r < 2; r++) printf("  %9.4f %9.4f\n", v[2 * r], v[2 * r + 1]);
}

static void print_mask(const char *title, const uint8_t *v) {
    printf("%s\n", title);
    for (int r = 0; r < 2; r++) printf("  %9d %9d\n", v[2 * r], v[2 * r + 1]);
}

static int check(segloss_status st, const char *what) {
    if (st == SEGLOSS_OK) return 0;
    cli_error("demo: %s failed: %s", what, segloss_strerror(st));
    return 1;
}

int cmd_demo(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            demo_usage(stdout);
            return CLI_OK;
        }
    }
    if (argc > 1) {
        cli_error("demo: unexpected argument '%s'", argv[1]);
        cli_error("try 'segloss demo --help'");
        return CLI_USAGE;
    }

    static const float x[4] = {0.6455f, 0.3470f, 0.4777f, 0.7547f}; /* logits */
    static const uint8_t y[4] = {1, 0, 0, 1};                         /* identity */
    const segloss_shape shape = {2, {2, 2}};
    const segloss_target target = {y, SEGLOSS_U8};
    segloss_bce_opts none = segloss_bce_opts_default(), mean = segloss_bce_opts_default();
    none.reduction = SEGLOSS_REDUCTION_NONE;
    mean.reduction = SEGLOSS_REDUCTION_MEAN;

    float p[4], elems[4], terms[4], grad[4];
    uint8_t mask[4];
    double sum, bce, bce_logits;
    segloss_confusion cm;

    if (check(segloss_sigmoid_forward(p, x, 4), "sigmoid") ||
        check(segloss_bce_forward(&sum, elems, p, &target, &shape, &none), "bce (none)") ||
        check(segloss_bce_forward(&bce, NULL, p, &target, &shape, &mean), "bce") ||
        check(segloss_bce_logits_forward(&bce_logits, NULL, x, &target, &shape, &mean),
              "bce-logits") ||
        check(segloss_threshold_logits(mask, x, 4, 0.0), "threshold") ||
        check(segloss_confusion_binary(&cm, mask, y, 4), "confusion") ||
        check(segloss_bce_logits_backward(grad, x, &target, &shape, &mean, NULL),
              "bce-logits backward"))
        return CLI_INTERNAL;
    /* The loss is the negated term: l = -[y ln p + (1-y) ln(1-p)]. */
    for (int i = 0; i < 4; i++) terms[i] = -elems[i];

    printf("Worked example: logits of a 2x2 image, label = identity.\n\n");
    print_mat("logits x:", x);
    print_mask("target y (1 = foreground):", y);
    print_mat("sigmoid p = 1/(1+exp(-x)):", p);
    print_mat("BCE terms y*ln(p) + (1-y)*ln(1-p):", terms);
    printf("BCE = -mean(terms) = %.4f\n", bce);
    printf("BCE-with-logits on x (no p formed) = %.4f\n\n", bce_logits);
    print_mask("mask = (x >= 0), i.e. p >= 0.5:", mask);
    printf("confusion vs y: TP=%lld FP=%lld FN=%lld TN=%lld\n", (long long)cm.tp,
           (long long)cm.fp, (long long)cm.fn, (long long)cm.tn);
    printf("Dice = 2TP/(2TP+FP+FN) = %.4f\n", segloss_dice_score(&cm));
    printf("IoU = TP/(TP+FP+FN) = %.4f\n\n", segloss_iou_score(&cm));
    print_mat("gradient of BCE-with-logits (mean), (p - y)/4:", grad);
    printf("\n"
           "Feed BCE probabilities: never the mask (log 0) nor the logits.\n"
           "BCE             = %.4f\n"
           "BCE-with-logits = %.4f\n",
           bce, bce_logits);
    return CLI_OK;
}
