"""segloss.evaluate / evaluate_files / read_image: `segloss eval` from Python.

The numbers come from the library calls the CLI makes (segloss_label_scan,
segloss_label_metrics_compute, segloss_percentile_inplace for the median);
the dicts have the layout of the CLI's --json output, with NaN as
float('nan'). What the CLI itself decides before calling the library is
mirrored here, rule for rule: a float prediction is a score map
thresholded into label 1 (probabilities p >= T, default 0.5, values in
[0,1]; logits x >= T, default 0; each dtype compared in its own precision);
a float reference must hold integers only; spacing is `spacing=`, else the
reference file's; the summary is the mean, population std and median of the
non-NaN values per label and of the per-label means ("mean").
"""
import ctypes
import math
import os
import warnings

import numpy as np

from . import _arrays, _instances, _lib
from ._errors import Error, check

fn = _lib.fn

# The metrics, in output order (the CLI's --metrics order): name -> (getter
# on segloss_label_metrics, what it needs computed: None = the counts,
# "distances" = the surface-distance pass, else its SEGLOSS_MASK_* bit).
# `metrics=None` reports dice .. vs, 'all' every one.
_DIST = "distances"
_O = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "vs")
_S = ("hd", "hd95", "assd", "nsd")
_C = ("mcc", "kappa", "fbeta", "balanced_accuracy", "youden", "npv", "fpr", "fnr", "fdr",
      "for", "lr_pos", "lr_neg", "vol_pred", "vol_ref", "vol_diff")
_E = ("gce", "ri", "ari", "mi", "voi", "icc", "pbd")


def _overlap(name):
    field = "for_" if name == "for" else name
    return lambda r: getattr(r.overlap, field)


def _surface(name):
    return lambda r: getattr(r.surface, name)


def _mask(name):
    return lambda r: getattr(r.mask, name)


METRICS = dict(
    [(m, (_overlap(m), None)) for m in _O] +
    [(m, (_surface(m), _DIST)) for m in _S] +
    [(m, (_overlap(m), None)) for m in _C] +
    [(m, (_surface(m), _DIST)) for m in ("masd", "sd_median", "sd_std")] +
    [("boundary_iou", (_mask("boundary_iou"), _lib.MASK_BOUNDARY_IOU)),
     ("com_dist", (_mask("com_dist"), _lib.MASK_COM_DIST))] +
    [(m, (_overlap(m), None)) for m in _E] +
    [("mahalanobis", (_mask("mahalanobis"), _lib.MASK_MAHALANOBIS)),
     ("auc", (_overlap("auc"), None)),
     ("cldice", (_mask("cldice"), _lib.MASK_CLDICE))])
# Values in physical units (the spacing read from a file matters for them).
_PHYSICAL = set(_S) | {"masd", "sd_median", "sd_std", "vol_pred", "vol_ref", "vol_diff",
                       "boundary_iou", "com_dist"}
DEFAULT_METRICS = _O


def read_image(path, *, max_bytes=0):
    """(array, spacing): a .png, .nii, .nii.gz or .npy file as the CLI reads
    it; spacing has one value per array axis, axis 0 first."""
    return _read(path, max_bytes)[:2]


def _read(path, max_bytes):
    """read_image plus has_spacing, the substituted-axes bits and the
    file's own spacing values (for the CLI's warnings)."""
    img = _lib.image()
    err = ctypes.create_string_buffer(512)
    st = fn.image_read(ctypes.byref(img), os.fsencode(path), max_bytes, err, len(err))
    try:
        if st != _lib.OK:
            if st == _lib.ERR_NOMEM:
                raise MemoryError(str(path))
            why = err.value.decode(errors="replace") or fn.strerror(st).decode()
            raise Error("%s: %s" % (path, why), st)
        a = img.array
        arr = _arrays.from_c(a.data, a.dtype, a.shape, a.numel)
        nd = range(a.shape.ndim)
        return (arr, tuple(float(img.spacing[k]) for k in nd), bool(img.has_spacing),
                int(img.spacing_substituted), tuple(float(img.spacing_file[k]) for k in nd))
    finally:
        fn.image_free(ctypes.byref(img))


class _Config:
    def __init__(self, labels="all", metrics=None, scores="probs", threshold=None,
                 spacing=None, tolerance=None, hd95_variant=None, percentile=None,
                 empty_score=None, empty_distance=None, threads=0, beta=None,
                 boundary_width=None, regions=None, ignore_label=None, instances=False,
                 connectivity=None, match=None, assignment=None, min_size=None,
                 instance_maps=False, lesionwise=None, surface=None, convention=None):
        self.labels = None
        if not (isinstance(labels, str) and labels == "all"):
            ls = [labels] if isinstance(labels, (int, np.integer)) else \
                labels.split(",") if isinstance(labels, str) else list(labels)
            try:
                ls = [int(v) for v in ls]
            except ValueError:
                raise Error("invalid labels %r (expected 'all', or integers like [1, 2] or "
                            "'1,2')" % (labels,), _lib.ERR_ARG) from None
            if any(int(v) == 0 for v in ls):
                raise Error("labels: label 0 is the background and is not scored",
                            _lib.ERR_ARG)
            self.labels = sorted({int(v) for v in ls})
        if metrics is None:
            names = list(DEFAULT_METRICS)
        else:
            names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
            if "all" in names:
                names = list(METRICS)
            bad = [m for m in names if m not in METRICS]
            if bad:
                raise Error("invalid metric %r (expected %s or all)"
                            % (bad[0], ", ".join(METRICS)), _lib.ERR_ARG)
        self.metrics = [m for m in METRICS if m in names]
        if scores not in ("probs", "logits"):
            raise Error("scores must be 'probs' or 'logits', got %r" % (scores,), _lib.ERR_ARG)
        self.logits = scores == "logits"
        if threshold is None:
            threshold = 0.0 if self.logits else 0.5
        elif not self.logits and not 0.0 <= threshold <= 1.0:
            raise Error("threshold %g is not a probability; with scores='probs' it must lie "
                        "in [0, 1] (use scores='logits' for a logit threshold)" % threshold,
                        _lib.ERR_ARG)
        self.threshold = float(threshold)
        self.spacing = None if spacing is None else tuple(float(s) for s in spacing)
        if self.spacing is not None and not all(s > 0 for s in self.spacing):
            raise Error("spacings must be > 0, got %s" % (self.spacing,), _lib.ERR_ARG)
        o = fn.metric_opts_default()
        if tolerance is not None:
            o.tolerance = float(tolerance)
        if percentile is not None:
            o.percentile = float(percentile)
        if convention is not None:
            # first, as the CLI does: the single options below override it
            names = _conventions()
            if not isinstance(convention, str) or convention not in names:
                raise Error("invalid convention %r (expected %s)"
                            % (convention, ", ".join(names)), _lib.ERR_ARG)
            check(fn.metric_opts_convention(ctypes.byref(o), convention.encode()))
        if hd95_variant is not None:
            o.hd95_variant = _pick(_lib.HD95_VARIANTS, hd95_variant, "hd95_variant")
        if empty_score is not None or empty_distance is not None:
            # an explicit empty rule replaces the convention's per-metric values
            o.convention = 0
        if empty_score is not None:
            o.empty_score = _pick(_lib.EMPTY_SCORES, empty_score, "empty_score")
        if empty_distance is not None:
            o.empty_distance = _pick(_lib.EMPTY_DISTANCES, empty_distance, "empty_distance")
        if surface is not None:
            o.surface = _pick(_lib.SURFACES, surface, "surface")
        for name, v in (("beta", beta), ("boundary_width", boundary_width)):
            if v is not None:
                if not (math.isfinite(float(v)) and float(v) > 0):
                    raise Error("%s must be a number > 0, got %r" % (name, v), _lib.ERR_ARG)
                setattr(o, name, float(v))
        needs = [METRICS[m][1] for m in self.metrics]
        o.distances = int(_DIST in needs)
        o.mask_metrics = sum(b for b in set(needs) if isinstance(b, int))
        o.threads = int(threads)
        self.mopts = o
        self.physical = any(m in _PHYSICAL for m in self.metrics)
        self.regions = None if regions is None else _regions(regions)
        if self.regions is not None and self.labels is not None:
            raise Error("regions and labels both choose what is scored; give one",
                        _lib.ERR_ARG)
        self.ignore = None
        if ignore_label is not None:
            if isinstance(ignore_label, (bool, np.bool_)) or \
                    not isinstance(ignore_label, (int, np.integer)):
                raise Error("invalid ignore_label %r (expected an integer)" % (ignore_label,),
                            _lib.ERR_ARG)
            self.ignore = int(ignore_label)
        self.inst = _instances.Config(instances, connectivity, match, assignment, min_size,
                                      instance_maps, lesionwise, o.empty_score)
        if self.inst.on and (self.regions is not None or self.ignore is not None):
            # as the CLI: instance scoring does not run on region / ignore masks yet
            raise Error("instances (and their options) cannot be combined with %s yet"
                        % ("regions" if self.regions is not None else "ignore_label"),
                        _lib.ERR_ARG)


def _regions(regions):
    """[(key, labels)]: regions as 'L,L;L' or a list of label lists; each
    group's labels ascending without repeats, its key "1,2,3"."""
    groups = regions.split(";") if isinstance(regions, str) else list(regions)
    out = []
    for g in groups:
        items = g.split(",") if isinstance(g, str) else \
            [g] if isinstance(g, (int, np.integer)) else list(g)
        try:
            labs = sorted({int(v) for v in items})
        except (TypeError, ValueError):
            labs = [0]
        if not labs or 0 in labs:
            raise Error("invalid region %r in regions (expected nonzero integers: groups like "
                        "[1, 2, 3] or '1,2,3;2,3')" % (g,), _lib.ERR_ARG)
        key = ",".join(str(v) for v in labs)
        if any(key == k for k, _ in out):
            raise Error("regions: region %s is given twice" % key, _lib.ERR_ARG)
        out.append((key, labs))
    return out


def _conventions():
    """The convention names, from the library (segloss_convention_name)."""
    out, k = [], 0
    while True:
        name = fn.convention_name(k)
        if name is None:
            return out
        out.append(name.decode())
        k += 1


def _pick(table, v, name):
    if v not in table:
        raise Error("invalid %s %r (expected %s)" % (name, v, ", ".join(table)), _lib.ERR_ARG)
    return table[v]


def _label_map_pred(a, cfg, who):
    """A float score map -> uint8 0/1 mask (label 1); integer maps as given."""
    if a.dtype.kind != "f":
        return a
    wide = a.astype(np.float64)   # exact: each dtype compared in its own precision
    nan = np.isnan(wide)
    if nan.any():
        n = int(nan.sum())
        i = int(np.flatnonzero(nan.ravel())[0])
        raise Error("%s: the score map contains NaN (%d value%s, first at index %d)"
                    % (who, n, "" if n == 1 else "s", i), _lib.ERR_DOMAIN, i, math.nan)
    if not cfg.logits:
        bad = ~((wide >= 0.0) & (wide <= 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            v = float(wide.ravel()[i])
            raise Error("%s: value %s outside [0,1] in a probability map (scores='logits' for "
                        "logits; a label map needs an integer dtype)"
                        % (who, ("%.17g" if a.dtype == np.float64 else "%.9g") % v),
                        _lib.ERR_DOMAIN, i, v)
    return (wide >= cfg.threshold).astype(np.uint8)


def _label_map_ref(a, who):
    """A float reference must hold integers: it becomes the smallest of
    uint8, int32, int64 that holds them."""
    if a.dtype.kind != "f":
        return a
    wide = a.astype(np.float64).ravel()
    bad = ~((wide == np.floor(wide)) & (np.abs(wide) < 2.0 ** 63))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise Error("%s: the reference is a %s array with the non-integer value %.17g "
                    "(a reference must be a label map)" % (who, a.dtype, wide[i]),
                    _lib.ERR_DOMAIN, i, float(wide[i]))
    lo, hi = (wide.min(), wide.max()) if wide.size else (0.0, 0.0)
    dt = np.uint8 if lo >= 0 and hi <= 255 else \
        np.int32 if lo >= -2147483648.0 and hi <= 2147483647.0 else np.int64
    return wide.astype(dt).reshape(a.shape)


def _case(pred, ref, spacing, cfg, pname="pred", rname="ref"):
    """One case's dict: "labels" and, with instance options, "instances"."""
    p = np.asarray(pred)
    r = np.asarray(ref)
    if p.shape != r.shape:
        raise Error("shape mismatch: %s %s vs %s %s" % (pname, p.shape, rname, r.shape),
                    _lib.ERR_SHAPE)
    if not 1 <= r.ndim <= 3:
        raise Error("%s: shape %s: eval compares 1-D, 2-D or 3-D images" % (pname, r.shape),
                    _lib.ERR_SHAPE)
    if r.size == 0:
        raise Error("%s: empty image (shape %s)" % (pname, r.shape), _lib.ERR_EMPTY)
    if len(spacing) != r.ndim:
        raise Error("spacing has %d value%s but %s has %d axes (shape %s): give one spacing "
                    "per array axis, axis 0 first" % (len(spacing), "" if len(spacing) == 1
                                                      else "s", rname, r.ndim, r.shape),
                    _lib.ERR_ARG)
    scores = p.dtype.kind == "f"
    pa, pcode = _arrays.typed(_label_map_pred(p, cfg, pname), "prediction")
    ra, rcode = _arrays.typed(_label_map_ref(r, rname), "reference")
    shp = _arrays.shape_of(ra)
    pl = _lib.label_array(pa.ctypes.data, pcode)
    rl = _lib.label_array(ra.ctypes.data, rcode)
    lset = _lib.label_set()
    try:
        check(fn.label_scan(ctypes.byref(lset), ctypes.byref(pl), ctypes.byref(rl),
                            ctypes.byref(shp)), "%s vs %s" % (pname, rname))
        if scores:
            for i in range(lset.count):
                it = lset.items[i]
                if it.label != 1 and it.conf.tp + it.conf.fn > 0:
                    warnings.warn("%s: the reference has label %d, but a thresholded score map "
                                  "(%s) is compared as label 1" % (rname, it.label, pname),
                                  stacklevel=3)
                    break
        o = _lib.metric_opts.from_buffer_copy(cfg.mopts)
        for d in range(r.ndim):
            o.spacing[d] = spacing[d]
        if cfg.regions is not None or cfg.ignore is not None:
            res = _regions_compute(lset, pl, rl, shp, o, cfg, "%s vs %s" % (pname, rname))
        else:
            if cfg.labels is None:
                n, labels = lset.count, None
            else:
                n = len(cfg.labels)
                labels = (ctypes.c_int64 * max(n, 1))(*cfg.labels)
            arr = (_lib.label_metrics * max(n, 1))()
            check(fn.label_metrics_compute(arr, labels, n, ctypes.byref(lset),
                                           ctypes.byref(pl), ctypes.byref(rl),
                                           ctypes.byref(shp), ctypes.byref(o)),
                  "%s vs %s" % (pname, rname))
            res = [(str(arr[j].stats.label), arr[j]) for j in range(n)]
    finally:
        fn.label_set_free(ctypes.byref(lset))
    out = {}
    for key, m in res:
        q = m.stats.conf
        d = {"tp": q.tp, "fp": q.fp, "fn": q.fn, "tn": q.tn, "n_pred": q.tp + q.fp,
             "n_ref": q.tp + q.fn}
        for name in cfg.metrics:
            d[name] = float(METRICS[name][0](m))
        out[key] = d
    if not cfg.inst.on:
        return {"labels": out}
    return {"labels": out, "instances": _instances.case(
        cfg.inst, pa, ra, shp, [int(k) for k in out], spacing, rname)}


def _regions_compute(lset, pl, rl, shp, o, cfg, who):
    """[(key, segloss_label_metrics)] of the regions, or with only
    ignore_label of the labels, as `segloss eval --regions/--ignore-label`
    computes them (segloss_region_metrics_compute; labels="all" leaves the
    ignore label out)."""
    if cfg.regions is not None:
        items = cfg.regions
    else:
        labs = [lset.items[i].label for i in range(lset.count)] if cfg.labels is None \
            else cfg.labels
        items = [(str(v), [v]) for v in labs if not (cfg.labels is None and v == cfg.ignore)]
    flat = [v for _, labs in items for v in labs]
    offsets = [0]
    for _, labs in items:
        offsets.append(offsets[-1] + len(labs))
    n = len(items)
    arr = (_lib.label_metrics * max(n, 1))()
    labels = (ctypes.c_int64 * max(len(flat), 1))(*flat)
    offs = (ctypes.c_int64 * (n + 1))(*offsets)
    ign = None if cfg.ignore is None else ctypes.byref(ctypes.c_int64(cfg.ignore))
    check(fn.region_metrics_compute(arr, labels, offs, n, ign, ctypes.byref(pl),
                                    ctypes.byref(rl), ctypes.byref(shp), ctypes.byref(o)), who)
    return [(key, arr[j]) for j, (key, _) in enumerate(items)]


def evaluate(pred, ref, *, spacing=None, labels="all", metrics=None, **opts):
    """Metrics of one case: {"labels": {"1": {"tp": ..., "dice": ...}, ...}},
    one entry of the CLI's JSON "cases" (without the file names)."""
    cfg = _Config(labels=labels, metrics=metrics, spacing=spacing, **opts)
    r = np.asarray(ref)
    sp = cfg.spacing if cfg.spacing is not None else (1.0,) * r.ndim
    out = _case(pred, r, sp, cfg)
    _instances.strip([out])
    return out


# ---- files and directories ----------------------------------------------------
def _join(a, b):
    if not b:
        return a
    return a + b if a.endswith("/") or not a else a + "/" + b


def _walk(root, rel="", depth=0):
    d = _join(root, rel)
    if depth > 64:
        raise Error("%s: directories nested more than 64 deep (a symbolic-link loop?)" % d,
                    _lib.ERR_IO)
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("."):
            continue
        sub = _join(rel, name)
        full = _join(root, sub)
        if os.path.isdir(full):
            out += _walk(root, sub, depth + 1)
        elif fn.image_format_from_path(os.fsencode(name)) != 0:
            out.append(sub)
    return out


def _pairs(pred, ref):
    """[(pred path or None, ref path or None)], sorted by relative name."""
    pred, ref = os.fspath(pred), os.fspath(ref)
    if os.path.isdir(pred) != os.path.isdir(ref):
        raise Error("pred %s and ref %s: give two files or two directories" % (pred, ref),
                    _lib.ERR_ARG)
    if not os.path.isdir(pred):
        return [(pred, ref)]
    p = {n: _join(pred, n) for n in _walk(pred)}
    r = {n: _join(ref, n) for n in _walk(ref)}
    if not p and not r:
        raise Error("no .png, .nii, .nii.gz or .npy files under %s or %s" % (pred, ref),
                    _lib.ERR_IO)
    return [(p.get(n), r.get(n)) for n in sorted(set(p) | set(r), key=os.fsencode)]


def _stats(values):
    """mean, std (ddof 0), median of the finite values, as the CLI sums them
    (an infinite value, null in the CLI's JSON, counts as NaN)."""
    v = [x for x in values if math.isfinite(x)]
    s = {"mean": math.nan, "std": math.nan, "median": math.nan, "n": len(v),
         "n_nan": len(values) - len(v)}
    if v:
        total = 0.0
        for x in v:
            total += x
        mean = total / len(v)
        ss = 0.0
        for x in v:
            ss += (x - mean) * (x - mean)
        buf = (ctypes.c_double * len(v))(*v)
        med = ctypes.c_double()
        check(fn.percentile_inplace(ctypes.byref(med), buf, len(v), 50.0), "median")
        s.update(mean=mean, std=math.sqrt(ss / len(v)), median=med.value)
    return s


def summarize(cases, metrics, regions=None):
    """The CLI's "summary": per label (ascending) or region (in the order
    given) and "mean" over them."""
    present = {k for c in cases for k in c["labels"]}
    if regions is None:
        keys = [str(v) for v in sorted(int(k) for k in present)]
    else:
        keys = [k for k, _ in regions if k in present]
    summary, means = {}, {m: [] for m in metrics}
    for key in keys:
        per = {}
        for m in metrics:
            st = _stats([c["labels"][key][m] for c in cases if key in c["labels"]])
            per[m] = st
            means[m].append(st["mean"])
        summary[key] = per
    summary["mean"] = {m: _stats(means[m]) for m in metrics}
    return summary


def _spacing_warnings(p, r, psp, p_has, rsp, r_has, r_sub, r_file, distances):
    """The CLI's warnings about the spacing taken from the reference file."""
    nd = len(rsp)
    for d in range(nd):
        if distances and r_sub & (1 << d):
            warnings.warn("%s: pixdim[%d] (array axis %d) is %g; using spacing 1 on that axis"
                          % (r, nd - d, d, r_file[d]), stacklevel=3)
    if p_has and r_has and len(psp) == nd and any(
            abs(a - b) > 1e-4 * max(abs(a), abs(b)) for a, b in zip(psp, rsp)):
        warnings.warn("%s: spacing %s differs from the reference's %s (%s); using the "
                      "reference's" % (p, psp, rsp, r), stacklevel=3)


def _file_case(p, r, cfg, max_bytes, allow_missing, distances):
    if r is None:
        raise Error("%s: prediction without reference" % p, _lib.ERR_IO)
    if p is None and not allow_missing:
        raise Error("%s: reference without prediction (allow_missing=True scores it as an "
                    "empty prediction)" % r, _lib.ERR_IO)
    ra, rsp, r_has, r_sub, r_file = _read(r, max_bytes)
    if p is None:
        pa, psp, p_has = np.zeros(ra.shape, np.uint8), rsp, False
    else:
        pa, psp, p_has, _, _ = _read(p, max_bytes)
    sp = cfg.spacing if cfg.spacing is not None else rsp
    if cfg.spacing is None:
        _spacing_warnings(p, r, psp, p_has, rsp, r_has, r_sub, r_file, distances)
    return dict({"pred": p, "ref": r}, **_case(pa, ra, sp, cfg, p or "(missing prediction)", r))


def evaluate_files(pred_path, ref_path, *, spacing=None, labels="all", metrics=None,
                   max_bytes=0, allow_missing=False, keep_going=False, **opts):
    """`segloss eval --pred P --ref R --json -` as a dict: two files, or two
    directories paired by relative name (recursively, sorted byte-wise).
    allow_missing: a reference without prediction is scored against an empty
    prediction ("pred": None). keep_going: a case that fails is left out
    and reported as a UserWarning instead of raising segloss.Error."""
    cfg = _Config(labels=labels, metrics=metrics, spacing=spacing, **opts)
    cases = []
    for p, r in _pairs(pred_path, ref_path):
        try:
            cases.append(_file_case(p, r, cfg, max_bytes, allow_missing, cfg.physical))
        except Error as e:
            if not keep_going:
                raise
            warnings.warn("skipped: %s" % e, stacklevel=2)
    out = {"cases": cases, "summary": summarize(cases, cfg.metrics, cfg.regions)}
    if cfg.inst.on:
        out["instances"] = _instances.summarize(cases, cfg.inst, cfg.mopts.empty_score)
    _instances.strip(cases)
    return out
