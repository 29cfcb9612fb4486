/* Hard overlap metrics of two binary masks from TP/FP/FN/TN counts. */
#include "core/internal.h"

#include <math.h>

segloss_status segloss_confusion_binary(segloss_confusion *out, const uint8_t *pred,
                                        const uint8_t *ref, int64_t n) {
    if (!out || !pred || !ref) return SEGLOSS_ERR_NULL;
    if (n < 0) return SEGLOSS_ERR_ARG;
    int64_t tp = 0, fp = 0, fn = 0;
    for (int64_t i = 0; i < n; i++) {
        int a = pred[i] != 0, b = ref[i] != 0;
        tp += a & b;
        fp += a & !b;
        fn += (!a) & b;
    }
    out->tp = tp;
    out->fp = fp;
    out->fn = fn;
    out->tn = n - tp - fp - fn;
    return SEGLOSS_OK;
}

void segloss_confusion_add(segloss_confusion *acc, const segloss_confusion *c) {
    acc->tp += c->tp;
    acc->fp += c->fp;
    acc->fn += c->fn;
    acc->tn += c->tn;
}

double segloss_dice_score(const segloss_confusion *c) {
    int64_t den = 2 * c->tp + c->fp + c->fn;
    return den ? (double)(2 * c->tp) / (double)den : NAN;
}

double segloss_iou_score(const segloss_confusion *c) {
    int64_t den = c->tp + c->fp + c->fn;
    return den ? (double)c->tp / (double)den : NAN;
}
