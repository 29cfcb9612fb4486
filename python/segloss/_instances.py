"""Instance (lesion-wise) scores of segloss.evaluate / evaluate_files:
`segloss eval --instances` and its options, with the library calls the
CLI makes (segloss_instance_eval, segloss_label_mask,
segloss_lesionwise_brats, segloss_instance_scores).

Per case and scored label L: the components of pred == L and ref == L
(connectivity, min_size) matched one-to-one (match, assignment) into
n_ref, n_pred, tp, fp, fn, precision, recall, f1, pq, sq, rq; with
instance_maps the arrays hold instance IDs and the case has one entry,
"all". lesionwise='brats2023' adds BraTS 2023's lesion-wise Dice and HD95.
The summary per label sums the counts over the cases (and scores the
sums) and averages the per-case scores (NaN left out).
"""
import ctypes
import math

import numpy as np

from . import _lib
from ._errors import Error, check

fn = _lib.fn
SCORES = ("precision", "recall", "f1", "pq", "sq", "rq")


class Config:
    """The instance options, checked as the CLI checks them; `on` is False
    when none is given."""

    def __init__(self, instances=False, connectivity=None, match=None, assignment=None,
                 min_size=None, instance_maps=False, lesionwise=None, empty_score=0):
        self.on = bool(instances or instance_maps or connectivity or min_size or
                       match is not None or assignment is not None or lesionwise is not None)
        o = fn.instance_opts_default()
        if connectivity is not None:
            if connectivity not in (0, 1, 2, 3) or isinstance(connectivity, bool):
                raise Error("invalid connectivity %r (expected 1, 2 or 3)" % (connectivity,),
                            _lib.ERR_ARG)
            o.connectivity = int(connectivity)
        if min_size is not None:
            if not (float(min_size) >= 0 and float(min_size) == math.floor(float(min_size))):
                raise Error("min_size %r is not a whole number of voxels" % (min_size,),
                            _lib.ERR_ARG)
            o.min_size = int(min_size)
        if match is not None:
            o.match, o.threshold = _match(match)
        if assignment is not None:
            if assignment not in _lib.ASSIGNMENTS:
                raise Error("invalid assignment %r (expected %s)"
                            % (assignment, ", ".join(_lib.ASSIGNMENTS)), _lib.ERR_ARG)
            o.assignment = _lib.ASSIGNMENTS[assignment]
        if lesionwise not in (None, "brats2023"):
            raise Error("invalid lesionwise %r (expected 'brats2023')" % (lesionwise,),
                        _lib.ERR_ARG)
        o.empty_score = empty_score
        self.opts, self.maps, self.brats = o, bool(instance_maps), lesionwise is not None


def _match(m):
    """'iou:T', 'dice:T' or 'overlap' -> (rule, threshold)."""
    if m == "overlap":
        return _lib.MATCH_RULES["overlap"], 0.0
    rule, _, t = str(m).partition(":")
    try:
        thr = float(t)
    except ValueError:
        thr = math.nan
    if rule not in ("iou", "dice") or not 0.0 <= thr < 1.0:
        raise Error("invalid match %r (expected 'iou:T', 'dice:T' with T in [0, 1), or "
                    "'overlap')" % (m,), _lib.ERR_ARG)
    return _lib.MATCH_RULES[rule], thr


def _mask(a, label, any_nonzero):
    """uint8 mask of a == label (any nonzero value with any_nonzero), read
    as the library reads label values."""
    m = np.empty(a.size, np.uint8)
    la = _lib.label_array(a.ctypes.data, _lib.DTYPES[a.dtype.name])
    check(fn.label_mask(m.ctypes.data_as(_lib.P(ctypes.c_uint8)), ctypes.byref(la), a.size,
                        0 if any_nonzero else label), "lesion-wise scores")
    return (m == 0).astype(np.uint8) if any_nonzero else m


def case(ic, pa, ra, shp, labels, spacing, who):
    """The "instances" dict of one case: labels are the scored labels (the
    keys of its "labels" dict, as integers); pa, ra the typed label maps."""
    pl = _lib.label_array(pa.ctypes.data, _lib.DTYPES[pa.dtype.name])
    rl = _lib.label_array(ra.ctypes.data, _lib.DTYPES[ra.dtype.name])
    if ic.opts.connectivity > shp.ndim:
        raise Error("%s: connectivity %d needs a %d-D image; this one is %d-D"
                    % (who, ic.opts.connectivity, ic.opts.connectivity, shp.ndim),
                    _lib.ERR_ARG)
    out = {}
    for lab in ([0] if ic.maps else labels):
        m = _lib.instance_metrics()
        check(fn.instance_eval(ctypes.byref(m), None, None, ctypes.byref(pl), ctypes.byref(rl),
                               lab, int(ic.maps), ctypes.byref(shp), ctypes.byref(ic.opts),
                               None), "%s: instances" % who)
        e = {"n_ref": m.n_ref, "n_pred": m.n_pred, "tp": m.tp, "fp": m.fp, "fn": m.fn}
        e.update((s, float(getattr(m, s))) for s in SCORES)
        e["iou_sum"] = m.iou_sum        # for the summary; removed from the output there
        if ic.brats:
            lo = fn.lesionwise_opts_brats2023()
            for d in range(shp.ndim):
                lo.spacing[d] = spacing[d]
            lw = _lib.lesionwise()
            pm, rm = _mask(pa, lab, ic.maps), _mask(ra, lab, ic.maps)
            u8 = _lib.P(ctypes.c_uint8)
            check(fn.lesionwise_brats(ctypes.byref(lw), None, pm.ctypes.data_as(u8),
                                      rm.ctypes.data_as(u8), ctypes.byref(shp),
                                      ctypes.byref(lo)), "%s: lesion-wise scores" % who)
            e["brats2023"] = {"lesions": lw.n_lesions, "tp": lw.tp, "fp": lw.fp, "fn": lw.fn,
                              "dice": float(lw.dice), "hd95": float(lw.hd95)}
        out["all" if lab == 0 else str(lab)] = e
    return out


def strip(cases):
    """Drops the summary-only iou_sum from the cases' entries."""
    for c in cases:
        for e in c.get("instances", {}).values():
            e.pop("iou_sum", None)


def summarize(cases, ic, empty_score):
    """The top-level "instances" of evaluate_files: per label ascending
    ("all" = 0 first), the summed counts and their scores, and the means of
    the per-case scores."""
    def num(key):
        return 0 if key == "all" else int(key)
    keys = sorted({k for c in cases for k in c.get("instances", {})}, key=num)
    out = {}
    for key in keys:
        es = [c["instances"][key] for c in cases if key in c.get("instances", {})]
        sm = _lib.instance_summary()
        fn.instance_summary_init(ctypes.byref(sm))
        for e in es:
            m = _lib.instance_metrics(**{f: e[f] for f in ("n_ref", "n_pred", "tp", "fp", "fn",
                                                           "iou_sum") + SCORES})
            lw = None
            if "brats2023" in e:
                lw = ctypes.byref(_lib.lesionwise(dice=e["brats2023"]["dice"],
                                                  hd95=e["brats2023"]["hd95"]))
            fn.instance_summary_add(ctypes.byref(sm), ctypes.byref(m), lw)
        fn.instance_summary_finish(ctypes.byref(sm), empty_score)
        t = sm.total
        s = {"cases": sm.cases, "n_ref": t.n_ref, "n_pred": t.n_pred, "tp": t.tp, "fp": t.fp,
             "fn": t.fn}
        s.update((q, float(getattr(t, q))) for q in SCORES)
        s["mean"] = {q: float(getattr(sm.mean, q)) for q in SCORES}
        if ic.brats:
            s["mean"]["brats2023_dice"] = float(sm.lesionwise_dice)
            s["mean"]["brats2023_hd95"] = float(sm.lesionwise_hd95)
        out[key] = s
    return out

