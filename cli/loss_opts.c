/* segloss loss: the options, their help, and the checks between them.
 *
 * The options are declared once, in groups (opts.h): the help prints every
 * group, and a kind accepts the common group plus those its table entry
 * names (loss_kinds.c); any other option of the command is reported as not
 * applying to that loss. */
#include "loss.h"
#include "opts.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define C loss_cfg

static const cli_choice reductions[] = {{"mean", SEGLOSS_REDUCTION_MEAN},
                                        {"sum", SEGLOSS_REDUCTION_SUM},
                                        {"none", SEGLOSS_REDUCTION_NONE},
                                        {NULL, 0}};
static const cli_choice activations[] = {{"sigmoid", SEGLOSS_ACTIVATION_SIGMOID},
                                         {"none", SEGLOSS_ACTIVATION_NONE},
                                         {"softmax", SEGLOSS_ACTIVATION_SOFTMAX},
                                         {NULL, 0}};
static const cli_choice w_types[] = {{"square", SEGLOSS_GDICE_SQUARE},
                                     {"simple", SEGLOSS_GDICE_SIMPLE},
                                     {"uniform", SEGLOSS_GDICE_UNIFORM},
                                     {NULL, 0}};

static const cli_range positive = {0.0, HUGE_VAL, 1, "must be > 0"};
static const cli_range nonneg = {0.0, HUGE_VAL, 0, "must be >= 0"};
static const cli_range unit = {0.0, 1.0, 0, "must lie in [0, 1]"};

static const cli_opt common_opts[] = {
    CLI_STR(C, "-i", "--input", "FILE", input, "predictions (.npy, float32 or float64)"),
    CLI_STR(C, "-t", "--target", "FILE", target,
            "target (.npy, the input's shape): float in [0,1],\n"
            "or an integer/bool 0/1 mask"),
    CLI_CHOICE(C, "--reduction", "R", reduction, reductions, "mean (default), sum or none"),
    CLI_STR(C, NULL, "--grad", "FILE", grad_path,
            "write d(loss)/d(input), float32 .npy of the input's shape\n"
            "(upstream gradient: ones of the loss's shape with --reduction none)"),
    CLI_STR(C, NULL, "--out", "FILE", out_path,
            "write the loss array (float32 .npy); needs --reduction none"),
    CLI_FLAG(C, NULL, "--json", json, "print {\"kind\",\"loss\",\"reduction\",\"numel\"} as JSON"),
    CLI_FLAG(C, NULL, "--allow-nonfinite", allow_nonfinite,
             "let NaN/inf in the input propagate as in PyTorch\n"
             "(default: an error giving their count and the first)"),
    CLI_BYTES(C, "--max-bytes", "N[K|M|G]", max_bytes,
              "cap on the data of each file read (default 8G, or half\n"
              "the physical memory if less; 0 = no cap)"),
    CLI_END,
};

static const cli_opt weight_opts[] = {
    CLI_STR(C, NULL, "--weight", "FILE", weight,
            "weights (.npy), broadcast against the input like NumPy/PyTorch"),
    CLI_END,
};

static const cli_opt pos_weight_opts[] = {
    CLI_STR(C, NULL, "--pos-weight", "a,b,...|FILE.npy", pos_weight,
            "a list: one weight per channel (axis 1) of an (N, C, ...) input;\n"
            "a .npy file: broadcast right-aligned exactly as PyTorch does\n"
            "(a 1-D file of length L weighs the LAST axis, not the channels);\n"
            "a value ending in .npy is read as a file"),
    CLI_END,
};

static const cli_opt region_opts[] = {
    /* CLI_CHOICE with `given`: dice-ce picks its default from the input */
    {NULL, "--activation", "A", CLI_ARG_CHOICE, CLI_AT(C, region.activation, int),
     CLI_GIVEN(C, have_activation), activations, NULL,
     "sigmoid (default: the input is logits; dice-ce: softmax when\n"
     "C > 1), none (probabilities) or softmax (over axis 1; the target\n"
     "is then class indices of the input's shape without axis 1)"},
    CLI_NUM(C, "--smooth-nr", "X", region.smooth_nr, CLI_GIVEN(C, have_snr), NULL,
            "numerator smoothing (default 1e-5; 0 with --smp)"),
    CLI_NUM(C, "--smooth-dr", "X", region.smooth_dr, CLI_GIVEN(C, have_sdr), NULL,
            "denominator smoothing (default 1e-5; 0 with --smp)"),
    CLI_FLAG(C, NULL, "--batch", region.batch, "sum over the batch axis before the ratio"),
    CLI_FLAG(C, NULL, "--no-background", region.no_background,
             "leave channel 0 out (MONAI include_background=False)"),
    CLI_END,
};

static const cli_opt dice_opts[] = {
    CLI_FLAG(C, NULL, "--squared", region.squared,
             "squared sums in the denominator (sum p^2 + sum y^2)"),
    CLI_FLAG(C, NULL, "--jaccard", region.jaccard,
             "Jaccard form: denominator 2*(sum p + sum y - sum p*y)"),
    CLI_END,
};

static const cli_choice smp_versions[] = {{"current", SEGLOSS_SMP_CURRENT},
                                          {"0.3", SEGLOSS_SMP_0_3},
                                          {NULL, 0}};

static const cli_opt smp_opts[] = {
    CLI_FLAG(C, NULL, "--smp", region.smp,
             "smp DiceLoss/JaccardLoss: sums over batch and space per\n"
             "class, smoothing 0, denominator >= 1e-7, classes absent from\n"
             "the target give 0 (and count in the mean)"),
    CLI_CHOICE(C, "--smp-version", "V", smp_version, smp_versions,
               "implies --smp: current (default; smp >= 0.4, intersection\n"
               "sum min(p, y)) or 0.3 (smp 0.3.x: (2I + s)/(P + G + s))"),
    CLI_FLAG(C, NULL, "--log-loss", region.log_loss,
             "-ln(max(score, 1e-7)) instead of 1 - score"),
    CLI_END,
};

static const cli_opt tversky_opts[] = {
    CLI_NUM(C, "--alpha", "A", tversky.alpha, 0, NULL,
            "weight of false positives (default 0.5)"),
    CLI_NUM(C, "--beta", "B", tversky.beta, 0, NULL, "weight of false negatives (default 0.5)"),
    CLI_NUM(C, "--gamma", "G", tversky.gamma, 0, &positive,
            "focal exponent (1 - TI)^G (default 1; > 0)"),
    CLI_END,
};

static const cli_opt gdice_opts[] = {
    CLI_CHOICE(C, "--w-type", "W", w_type, w_types,
               "class weights 1/G^2 (square, default), 1/G (simple), 1 (uniform)"),
    CLI_END,
};

static const cli_opt dice_bce_opts[] = {
    CLI_NUM(C, "--lambda-dice", "L", dice_bce.lambda_dice, 0, &nonneg,
            "weight of the Dice part (default 1)"),
    CLI_NUM(C, "--lambda-bce", "L", dice_bce.lambda_bce, 0, &nonneg,
            "weight of the BCE part (default 1)"),
    CLI_END,
};

static const cli_opt dice_ce_opts[] = {
    CLI_NUM(C, "--lambda-dice", "L", dice_ce.lambda_dice, 0, &nonneg,
            "weight of the Dice part (default 1)"),
    CLI_NUM(C, "--lambda-ce", "L", dice_ce.lambda_ce, 0, &nonneg,
            "weight of the CE (C > 1) or BCE (C = 1) part (default 1)"),
    CLI_NUM(C, "--label-smoothing", "E", dice_ce.label_smoothing, 0, &unit,
            "CE label smoothing in [0, 1] (default 0)"),
    CLI_FLAG(C, NULL, "--nnunet", dice_ce.nnunet,
             "nnU-Net DC_and_CE_loss: Dice term -mean(dc), background\n"
             "left out (smoothing 1e-5, --batch for batch_dice)"),
    CLI_END,
};

static const cli_opt dice_focal_opts[] = {
    CLI_NUM(C, "--gamma", "G", dice_focal.gamma, 0, &nonneg,
            "focal exponent (default 2; >= 0)"),
    CLI_NUM(C, "--alpha", "A", dice_focal.alpha, 0, NULL,
            "focal weight of positives in [0, 1] (default: off, MONAI None)"),
    CLI_NUM(C, "--lambda-dice", "L", dice_focal.lambda_dice, 0, &nonneg,
            "weight of the Dice part (dice-focal; default 1)"),
    CLI_NUM(C, "--lambda-focal", "L", dice_focal.lambda_focal, 0, &nonneg,
            "weight of the focal part (default 1)"),
    CLI_END,
};

static const cli_opt gdice_focal_opts[] = {
    CLI_NUM(C, "--lambda-gdl", "L", lambda_gdl, 0, &nonneg,
            "weight of the generalized Dice part (default 1)"),
    CLI_END,
};

static const cli_choice mcc_activations[] = {{"none", SEGLOSS_ACTIVATION_NONE},
                                             {"sigmoid", SEGLOSS_ACTIVATION_SIGMOID},
                                             {NULL, 0}};

static const cli_opt mcc_opts[] = {
    CLI_CHOICE(C, "--activation", "A", mcc.activation, mcc_activations,
               "none (default: probabilities, as smp) or sigmoid (logits)"),
    CLI_NUM(C, "--eps", "E", mcc.eps, 0, &nonneg, "added to tp, fp, fn, tn (default 1e-5)"),
    CLI_END,
};

static const cli_range percent = {0.0, 100.0, 0, "must lie in [0, 100]"};

static const cli_opt topk_opts[] = {
    CLI_NUM(C, "--k", "K", topk, 0, &percent,
            "percent of the positions with the largest CE (default 10)"),
    CLI_END,
};

static const cli_opt hd_opts[] = {
    {NULL, "--activation", "A", CLI_ARG_CHOICE, CLI_AT(C, region.activation, int),
     CLI_GIVEN(C, have_activation), activations,
     NULL, "none (default: probabilities, as MONAI), sigmoid or softmax"},
    CLI_FLAG(C, NULL, "--batch", region.batch, "one item per channel over the batch"),
    CLI_FLAG(C, NULL, "--include-background", include_background,
             "keep channel 0 (MONAI's default include_background=False drops it)"),
    CLI_NUM(C, "--alpha", "A", hd.alpha, 0, &nonneg, "exponent of the distances (default 2)"),
    CLI_END,
};

static const cli_opt boundary_opts[] = {
    {NULL, "--activation", "A", CLI_ARG_CHOICE, CLI_AT(C, region.activation, int),
     CLI_GIVEN(C, have_activation), activations,
     NULL, "softmax (default; class-index target), sigmoid or none"},
    CLI_FLAG(C, NULL, "--no-background", region.no_background,
             "leave channel 0 out (the paper's idc = [1, ...])"),
    CLI_END,
};

static const cli_range iter_range = {0, 1000000, 0, "must lie in [0, 1000000]"};

static const cli_opt cldice_opts[] = {
    {NULL, "--activation", "A", CLI_ARG_CHOICE, CLI_AT(C, region.activation, int),
     CLI_GIVEN(C, have_activation), activations,
     NULL, "none (default: probabilities, as MONAI), sigmoid or softmax"},
    CLI_INT(C, "--iter", "N", cldice.cldice.iter, &iter_range,
            "skeleton iterations (MONAI iter_; default 3)"),
    CLI_NUM(C, "--smooth", "S", cldice.cldice.smooth, 0, &nonneg,
            "added to the numerators and denominators (default 1)"),
    CLI_FLAG(C, NULL, "--include-background", include_background,
             "keep channel 0 (MONAI always drops it: [:, 1:], so one\n"
             "channel gives 0 without this flag)"),
    CLI_END,
};

static const cli_opt dice_cldice_opts[] = {
    CLI_NUM(C, "--alpha", "A", cldice.alpha, 0, NULL,
            "loss = (1 - A) Dice + A clDice (default 0.5)"),
    CLI_END,
};

static const cli_opt uf_opts[] = {
    {NULL, "--activation", "A", CLI_ARG_CHOICE, CLI_AT(C, region.activation, int),
     CLI_GIVEN(C, have_activation), activations,
     NULL, "none (default: probabilities, as MONAI), sigmoid or softmax\n"
           "(softmax: class-index target, MONAI's to_onehot_y)"},
    CLI_NUM(C, "--weight", "W", uf.weight, 0, NULL,
            "weight of the focal part; 1 - W the focal Tversky part (default 0.5)"),
    CLI_NUM(C, "--delta", "D", uf.delta, 0, NULL,
            "background/foreground balance (default 0.7)"),
    CLI_NUM(C, "--gamma", "G", uf.gamma, 0, NULL, "focusing exponent (default 0.5)"),
    CLI_END,
};

static const cli_choice gwdl_modes[] = {{"default", SEGLOSS_GWDL_DEFAULT},
                                        {"GDL", SEGLOSS_GWDL_GDL},
                                        {NULL, 0}};

static const cli_opt gwdl_opts[] = {
    CLI_STR(C, NULL, "--distance-matrix", "M.npy", dist_matrix,
            "C x C distances between the classes (required; divided by\n"
            "its largest entry)"),
    CLI_CHOICE(C, "--weighting-mode", "M", gwdl.weighting_mode, gwdl_modes,
               "default (foreground classes weigh 1, background 0) or GDL\n"
               "(1 / (class volume + 1))"),
    CLI_NUM(C, "--smooth-nr", "S", gwdl.smooth_nr, 0, NULL, "numerator smoothing (default 1e-5)"),
    CLI_NUM(C, "--smooth-dr", "S", gwdl.smooth_dr, 0, NULL,
            "denominator smoothing (default 1e-5)"),
    CLI_END,
};

static const cli_opt ignore_opts[] = {
    CLI_NUM(C, "--ignore-index", "V", ignore_index, CLI_GIVEN(C, have_ignore), NULL,
            "target elements equal to V (e.g. 255 for void pixels) count\n"
            "for nothing: no loss, no gradient, not in the mean's count\n"
            "(ce: a class index; default -100)"),
    CLI_END,
};

static const cli_opt focal_opts[] = {
    CLI_NUM(C, "--alpha", "A", focal.alpha, 0, NULL,
            "weight of positives (default 0.25; < 0: off)"),
    CLI_NUM(C, "--gamma", "G", focal.gamma, 0, &nonneg, "focusing exponent (default 2; >= 0)"),
    CLI_END,
};

static const cli_opt ce_opts[] = {
    CLI_STR(C, NULL, "--class-weight", "a,b,...", class_weight,
            "one weight per class (axis 1); mean divides by the sum\n"
            "of the targets' weights, as PyTorch"),
    CLI_NUM(C, "--label-smoothing", "E", label_smoothing, 0, &unit, "in [0, 1] (default 0)"),
    CLI_END,
};

static const cli_opt lovasz_opts[] = {
    CLI_FLAG(C, NULL, "--per-image", per_image,
             "one loss per image (axis 0 of an array of ndim >= 3), averaged"),
    CLI_END,
};

/* Indexed by LG_*. */
static const cli_group groups[LG_COUNT] = {
    [LG_COMMON] = {"Options", common_opts},
    [LG_WEIGHT] = {"bce, bce-logits, focal", weight_opts},
    [LG_POS_WEIGHT] = {"bce-logits, dice-bce", pos_weight_opts},
    [LG_REGION] = {"region losses (dice, jaccard, tversky, generalized-dice, dice-bce)",
                   region_opts},
    [LG_IGNORE] = {"every loss", ignore_opts},
    [LG_FOCAL] = {"focal", focal_opts},
    [LG_CE] = {"ce (input (N, C, ...), target (N, ...) of class indices)", ce_opts},
    [LG_LOVASZ] = {"lovasz-hinge, lovasz-softmax", lovasz_opts},
    [LG_DICE] = {"dice, dice-bce", dice_opts},
    [LG_SMP] = {"dice, jaccard, dice-bce", smp_opts},
    [LG_TVERSKY] = {"tversky", tversky_opts},
    [LG_GDICE] = {"generalized-dice", gdice_opts},
    [LG_DICE_BCE] = {"dice-bce (dice part: logits, dense target)", dice_bce_opts},
    [LG_DICE_CE] = {"dice-ce (C > 1: class-index target; mean or sum)", dice_ce_opts},
    [LG_DICE_FOCAL] = {"dice-focal, generalized-dice-focal (mean or sum)", dice_focal_opts},
    [LG_GDICE_FOCAL] = {"generalized-dice-focal", gdice_focal_opts},
    [LG_MCC] = {"mcc (binary; one value for the whole array)", mcc_opts},
    [LG_TOPK] = {"topk-ce (with the ce options; mean only)", topk_opts},
    [LG_HD] = {"hausdorff-dt, log-hausdorff-dt (input (N, C, spatial...))", hd_opts},
    [LG_BOUNDARY] = {"boundary (input (N, C, spatial...); mean or sum)", boundary_opts},
    [LG_CLDICE] = {"cldice, dice-cldice (input (N, C, [D,] H, W); one value, mean only)",
                   cldice_opts},
    [LG_DICE_CLDICE] = {"dice-cldice", dice_cldice_opts},
    [LG_UNIFIED_FOCAL] = {"unified-focal (input (N, C, spatial...), C = 1 or 2; mean only)",
                          uf_opts},
    [LG_GWDL] = {"gwdl (input logits (N, C, spatial...), target class indices)", gwdl_opts},
};

static const cli_spec spec = {"loss", groups, LG_COUNT, 22};

void loss_usage(FILE *f) {
    fprintf(f,
            "Usage: segloss loss KIND -i INPUT.npy -t TARGET.npy [options]\n"
            "\n"
            "Computes a loss of the predictions INPUT against TARGET (same shape; for ce\n"
            "and --activation softmax the class indices, the input's shape without\n"
            "axis 1) and prints it with 9 significant digits (with --reduction none:\n"
            "the sum of the loss array).\n"
            "Writes the gradient with --grad.\n"
            "\n"
            "Kinds:\n");
    for (size_t k = 0; k < loss_num_kinds; k++)
        fprintf(f, "  %-16s %s\n", loss_kinds[k].name, loss_kinds[k].summary);
    cli_print_options(f, &spec);
    fprintf(f,
            "\n"
            "Options take their value as '--opt value' or '--opt=value'.\n"
            "Exit status: 0 success, 1 bad usage, 2 bad, unreadable or unwritable file,\n"
            "3 internal error. On failure no output file is created or changed.\n");
}

int loss_usage_error(void) { return cli_usage_error(&spec); }

/* "bce, bce-logits, ..." from the kinds table. */
static const char *kind_names(void) {
    static char buf[512];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < loss_num_kinds && len < sizeof buf; k++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", k ? ", " : "",
                                loss_kinds[k].name);
    return buf;
}

/* The checks that involve more than one option. Returns 0 or an exit code. */
static int check_combinations(loss_cfg *c) {
    const loss_kind *k = c->kind;
    if (!c->input || !c->target) {
        cli_error("loss: missing %s", !c->input ? "-i INPUT.npy" : "-t TARGET.npy");
        return loss_usage_error();
    }
    if (c->out_path && c->reduction != SEGLOSS_REDUCTION_NONE) {
        cli_error("loss: --out writes the loss array and needs --reduction none");
        return loss_usage_error();
    }
    if (c->out_path && c->grad_path && strcmp(c->out_path, c->grad_path) == 0) {
        cli_error("loss: --grad and --out name the same file '%s'", c->out_path);
        return loss_usage_error();
    }
    if (c->have_ignore && (k->flags & LK_CLASS_TARGET) &&
        !(c->ignore_index == floor(c->ignore_index) && fabs(c->ignore_index) < 0x1p62)) {
        cli_error("loss %s: --ignore-index must be an integer class index, got %.17g", k->name,
                  c->ignore_index);
        return loss_usage_error();
    }
    /* the library's ignore value is an int64 */
    if (c->have_ignore && !(c->ignore_index == floor(c->ignore_index) &&
                            fabs(c->ignore_index) <= 0x1p63 && c->ignore_index != 0x1p63)) {
        cli_error("loss %s: --ignore-index must be an integer, got %.17g", k->name,
                  c->ignore_index);
        return loss_usage_error();
    }
    /* dice-bce: MONAI's DiceCELoss takes logits and reduces to one number */
    if ((k->flags & LK_LOGITS_REDUCED) &&
        (c->reduction == SEGLOSS_REDUCTION_NONE ||
         c->region.activation != SEGLOSS_ACTIVATION_SIGMOID)) {
        cli_error("loss %s: %s", k->name,
                  c->reduction == SEGLOSS_REDUCTION_NONE
                      ? "--reduction none is not supported (mean or sum, as MONAI DiceCELoss)"
                      : "the input is logits: --activation must be sigmoid");
        return loss_usage_error();
    }
    if ((k->flags & (LK_MULTICLASS | LK_REDUCED)) && c->reduction == SEGLOSS_REDUCTION_NONE) {
        cli_error("loss %s: --reduction none is not supported (mean or sum)", k->name);
        return loss_usage_error();
    }
    if ((k->flags & LK_MEAN_ONLY) && c->reduction != SEGLOSS_REDUCTION_MEAN) {
        cli_error("loss %s: --reduction must be mean (%s)", k->name,
                  k->flags & LK_CLASS_TARGET ? "the mean of the selected positions"
                                             : "the loss is one value, as MONAI's");
        return loss_usage_error();
    }
    if (k->groups & LG(GWDL) && !c->dist_matrix) {
        cli_error("loss %s: missing --distance-matrix M.npy (C x C)", k->name);
        return loss_usage_error();
    }
    if (c->smp_version) c->region.smp = c->smp_version; /* --smp-version implies --smp */
    if (c->region.smp && (c->region.squared || c->region.jaccard)) {
        cli_error("loss %s: --smp does not combine with --squared or --jaccard", k->name);
        return loss_usage_error();
    }
    /* A smoothing term not given keeps its default: MONAI's (the
     * library's), or smp's 0 with --smp. */
    if (c->region.smp) {
        if (!c->have_snr) c->region.smooth_nr = 0.0;
        if (!c->have_sdr) c->region.smooth_dr = 0.0;
    }
    return CLI_OK;
}

int loss_parse_args(loss_cfg *c, int argc, char **argv) {
    memset(c, 0, sizeof *c);
    c->max_bytes = cli_default_max_bytes();
    c->region = segloss_dice_opts_default();
    c->focal = segloss_focal_opts_default();
    c->tversky = segloss_tversky_opts_default();
    c->dice_bce = segloss_dice_bce_opts_default();
    c->dice_ce = segloss_dice_ce_opts_default();
    c->dice_focal = segloss_dice_focal_opts_default();
    c->lambda_gdl = 1.0;
    c->mcc = segloss_mcc_opts_default();
    c->topk = segloss_topk_ce_opts_default().k;
    c->hd = segloss_hausdorff_dt_opts_default();
    c->cldice = segloss_dice_cldice_opts_default();
    c->uf = segloss_unified_focal_opts_default();
    c->gwdl = segloss_gwdl_opts_default();
    int ki = cli_first_operand(&spec, argc, argv);
    if (!ki) {
        cli_error("loss: missing KIND (one of: %s)", kind_names());
        return loss_usage_error();
    }
    for (size_t k = 0; k < loss_num_kinds; k++)
        if (strcmp(argv[ki], loss_kinds[k].name) == 0) c->kind = &loss_kinds[k];
    if (!c->kind) {
        cli_error("loss: unknown KIND '%s' (one of: %s)", argv[ki], kind_names());
        return loss_usage_error();
    }
    char scope[64];
    snprintf(scope, sizeof scope, "loss %s", c->kind->name);
    int rc = cli_parse(&spec, LG(COMMON) | c->kind->groups, scope, c, argc, argv, ki);
    return rc ? rc : check_combinations(c);
}
