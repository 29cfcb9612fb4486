/* segloss loss KIND -i INPUT.npy -t TARGET.npy [options]
 *
 * A thin layer over the library's loss calls: parse the options
 * (loss_opts.c), read the arrays and check them, naming the file at fault
 * (loss_input.c), run forward (and backward with --grad) through the
 * kind's entry (loss_kinds.c), then write every output all-or-nothing and
 * print the loss. */
#include "commands.h"
#include "loss.h"
#include "opts.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reduction_name(segloss_reduction r) {
    return r == SEGLOSS_REDUCTION_SUM ? "sum" : r == SEGLOSS_REDUCTION_NONE ? "none" : "mean";
}

/* Forward, backward (in one call where the kind has a fused one), outputs.
 * Buffers are freed by the caller. */
static int run(const loss_cfg *c, loss_data *d, float **elems, float **grad, float **ones,
               double *loss) {
    segloss_shape oshape;
    int64_t onum;
    segloss_status st = c->kind->out_shape(c, d, &oshape);
    if (st == SEGLOSS_OK) st = segloss_shape_numel(&oshape, &onum);
    if (st != SEGLOSS_OK) return loss_fail(c, d, st);

    int none = c->reduction == SEGLOSS_REDUCTION_NONE;
    int fused = c->grad_path && c->kind->fused;
    if (none && !(*elems = malloc((size_t)onum * sizeof(float) + 1))) return loss_oom();
    if (!fused) {
        st = c->kind->forward(c, d, loss, *elems);
        if (st != SEGLOSS_OK) return loss_fail(c, d, st);
    }

    if (c->grad_path) {
        if (!(*grad = malloc((size_t)d->numel * sizeof(float)))) return loss_oom();
        if (none) {
            if (!(*ones = malloc((size_t)onum * sizeof(float) + 1))) return loss_oom();
            for (int64_t k = 0; k < onum; k++) (*ones)[k] = 1.0f;
        }
        st = fused ? c->kind->fused(c, d, loss, *elems, *grad, *ones)
                   : c->kind->backward(c, d, *grad, *ones);
        if (st != SEGLOSS_OK) return loss_fail(c, d, st);
    }

    /* Everything is computed: now the outputs, all or nothing. */
    cli_outputs outs = {0};
    int rc = CLI_OK;
    if (c->grad_path)
        rc = cli_stage_npy(&outs, c->grad_path, *grad, SEGLOSS_F32, &d->shape);
    if (!rc && c->out_path) rc = cli_stage_npy(&outs, c->out_path, *elems, SEGLOSS_F32, &oshape);
    if (!rc) rc = cli_commit(&outs);
    cli_discard(&outs);
    return rc;
}

int cmd_loss(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        loss_usage(stdout);
        return CLI_OK;
    }
    loss_cfg c;
    int rc = loss_parse_args(&c, argc, argv);
    if (rc) return rc;

    loss_data d;
    memset(&d, 0, sizeof d);
    float *elems = NULL, *grad = NULL, *ones = NULL;
    double loss = 0.0;
    rc = loss_load_data(&c, &d);
    if (!rc) rc = run(&c, &d, &elems, &grad, &ones, &loss);
    if (!rc) {
        if (d.binary_bce)
            cli_error("warning: %s: predictions are binary (only 0 and 1): BCE will be "
                      "dominated by the -100 log clamp; feed probabilities or use bce-logits "
                      "on logits",
                      c.input);
        if (c.json) {
            printf("{\"kind\":\"%s\",\"loss\":", c.kind->name);
            cli_json_number(loss);
            printf(",\"reduction\":\"%s\",\"numel\":%lld}\n", reduction_name(c.reduction),
                   (long long)d.numel);
        } else {
            cli_text_number(loss);
            putchar('\n');
        }
        if (fflush(stdout) != 0) {
            cli_error("cannot write to standard output");
            rc = CLI_INTERNAL;
        }
    }
    free(elems);
    free(grad);
    free(ones);
    loss_free_data(&d);
    return rc;
}
