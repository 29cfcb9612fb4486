/* Metric options: defaults, checks, and the values of undefined results
 * (empty-score rule, image diagonal). */
#include "metric/metric.h"

#include <math.h>

static const segloss_metric_opts metric_defaults = {.spacing = {1.0, 1.0, 1.0},
                                                    .percentile = 95.0,
                                                    .tolerance = 1.0,
                                                    .hd95_variant = SEGLOSS_HD95_MAX,
                                                    .empty_score = SEGLOSS_EMPTY_SCORE_NAN,
                                                    .empty_distance = SEGLOSS_EMPTY_DISTANCE_NAN,
                                                    .beta = 1.0,
                                                    .boundary_width = 1.0};

segloss_metric_opts segloss_metric_opts_default(void) { return metric_defaults; }

segloss_status segloss__mopts_init(segloss__mopts *m, const segloss_metric_opts *opts) {
    if (!opts) opts = &metric_defaults;
    if (!(opts->percentile >= 0.0 && opts->percentile <= 100.0)) return SEGLOSS_ERR_ARG;
    if (!(opts->tolerance >= 0.0)) return SEGLOSS_ERR_ARG;
    m->percentile = opts->percentile;
    m->tolerance = opts->tolerance;
    if (opts->hd95_variant != SEGLOSS_HD95_MAX && opts->hd95_variant != SEGLOSS_HD95_POOLED)
        return SEGLOSS_ERR_ARG;
    if (opts->empty_score != SEGLOSS_EMPTY_SCORE_NAN &&
        opts->empty_score != SEGLOSS_EMPTY_SCORE_ONE &&
        opts->empty_score != SEGLOSS_EMPTY_SCORE_ZERO)
        return SEGLOSS_ERR_ARG;
    if (opts->empty_distance != SEGLOSS_EMPTY_DISTANCE_NAN &&
        opts->empty_distance != SEGLOSS_EMPTY_DISTANCE_DIAG)
        return SEGLOSS_ERR_ARG;
    /* beta and boundary_width: 0 is read as the default 1 (as a spacing
     * of 0), so a struct filled before these fields existed keeps working */
    if (!(opts->beta >= 0.0 && opts->beta < HUGE_VAL)) return SEGLOSS_ERR_ARG;
    if (!(opts->boundary_width >= 0.0 && opts->boundary_width < HUGE_VAL))
        return SEGLOSS_ERR_ARG;
    if (opts->mask_metrics &
        ~(SEGLOSS_MASK_BOUNDARY_IOU | SEGLOSS_MASK_COM_DIST | SEGLOSS_MASK_MAHALANOBIS |
          SEGLOSS_MASK_CLDICE))
        return SEGLOSS_ERR_ARG;
    if (opts->surface != SEGLOSS_SURFACE_VOXEL && opts->surface != SEGLOSS_SURFACE_SURFEL)
        return SEGLOSS_ERR_ARG;
    m->surface = opts->surface;
    if (!segloss__convention_valid(opts->convention)) return SEGLOSS_ERR_ARG;
    m->conv = opts->convention;
    m->beta = opts->beta > 0.0 ? opts->beta : 1.0;
    m->boundary_width = opts->boundary_width > 0.0 ? opts->boundary_width : 1.0;
    m->mask_metrics = opts->mask_metrics;
    m->distances = opts->distances != 0;
    m->variant = opts->hd95_variant;
    m->empty_score = opts->empty_score;
    m->empty_distance = opts->empty_distance;
    return SEGLOSS_OK;
}

double segloss__empty_value(segloss_empty_score e) {
    return e == SEGLOSS_EMPTY_SCORE_ONE ? 1.0 : e == SEGLOSS_EMPTY_SCORE_ZERO ? 0.0 : NAN;
}

double segloss__grid_diagonal(const segloss__grid *g) {
    double s = 0.0;
    for (int a = 3 - g->ndim; a < 3; a++) {
        double e = (double)g->n[a] * g->sp[a];
        s += e * e;
    }
    return sqrt(s);
}

segloss_status segloss__mopts_grid_check(const segloss__mopts *m, const segloss__grid *g) {
    if (m->distances && m->surface == SEGLOSS_SURFACE_SURFEL && g->ndim < 2) return SEGLOSS_ERR_ARG;
    return SEGLOSS_OK;
}
