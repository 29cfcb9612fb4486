#!/usr/bin/python3
"""Fixtures and expected values for tests/cli/eval.sh (`segloss eval`).

    /usr/bin/python3 tools/ref/gen_eval_fixtures.py [OUTDIR]

Writes tests/cli/eval_data/: PNG, NIfTI and .npy prediction/reference pairs
(files written by hand: zlib/struct/gzip, no PIL/nibabel), broken files for
the error paths, `expected.txt` and `tiny.json`.

expected.txt has one line per value:   RUN CASE LABEL KEY VALUE
  RUN    a name that tests/cli/eval.sh maps to one command line
  CASE   the reference path relative to the run's reference root
  KEY    tp fp fn tn n_pred n_ref dice iou precision recall specificity
         accuracy vs hd hd95 assd nsd, and for --metrics all also mcc kappa
         fbeta balanced_accuracy youden npv fpr fnr fdr for lr_pos lr_neg
         vol_pred vol_ref vol_diff masd sd_median sd_std boundary_iou com_dist
         gce ri ari mi voi icc pbd mahalanobis auc cldice
  VALUE  a number with 17 significant digits, or nan
The values are computed here independently of segloss, with NumPy/SciPy on
full volumes, the way MedPy does it (SPEC §4):
  surface S(X) = X xor binary_erosion(X, face connectivity, border_value=0)
  d(a, S)      = scipy.ndimage.distance_transform_edt(~S, sampling=spacing)[a]
  hd95         = max of the directed numpy.percentile(.., P) (or of the
                 pooled distances for --hd95-variant pooled)
  assd         = pooled mean; nsd at tolerance tau.
  masd         = mean of the two directed means; sd_median, sd_std =
                 numpy.median, numpy.std of the pooled distances
  boundary_iou = |A_w & B_w| / |A_w | B_w|, X_w = X & (edt(~S(X)) < w)
  com_dist     = distance of scipy.ndimage.center_of_mass(A), (B), scaled
  counts       = the formulas of counts2() below
  gce .. auc   = EvaluateSegmentation's metrics from their definitions on
                 the voxels, evalseg() below
  cldice       = 2 tprec tsens / (tprec + tsens), tprec = |S(A) & B| / |S(A)|,
                 tsens = |S(B) & A| / |S(B)| with S = scikit-image's
                 skeletonize (Metrics Reloaded's centreline_dsc); both
                 empty: the empty score; an empty skeleton, 0/0 or a 1-D
                 image: nan
tiny.json is the exact expected output of
  segloss eval --pred tiny/pred --ref tiny/ref --metrics dice,hd --json -
run inside OUTDIR (numbers as the shortest %.{p}g that round-trips).

Deterministic: rerunning leaves `git status` clean.
"""
import math
import os
import shutil
import sys

import numpy as np
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_examples as mx  # noqa: E402  (writers and the examples' arrays)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "cli", "eval_data")

OVERLAP = ["dice", "iou", "precision", "recall", "specificity", "accuracy", "vs"]
DIST = ["hd", "hd95", "assd", "nsd"]
# the second edition's metrics, in the CLI's order after the first eleven
COUNTS2 = ["mcc", "kappa", "fbeta", "balanced_accuracy", "youden", "npv", "fpr", "fnr", "fdr",
           "for", "lr_pos", "lr_neg", "vol_pred", "vol_ref", "vol_diff"]
DIST2 = ["masd", "sd_median", "sd_std"]
MASK2 = ["boundary_iou", "com_dist"]
EVALSEG = ["gce", "ri", "ari", "mi", "voi", "icc", "pbd", "mahalanobis", "auc"]
ALL = OVERLAP + DIST + COUNTS2 + DIST2 + MASK2 + EVALSEG + ["cldice"]


# ---------------------------------------------------------------------------
# Reference metrics
# ---------------------------------------------------------------------------
def surface(x):
    st = ndi.generate_binary_structure(x.ndim, 1)
    return x & ~ndi.binary_erosion(x, structure=st, border_value=0)


def directed(sa, sb, spacing):
    """Distances from the voxels of sa to the nearest voxel of sb."""
    return ndi.distance_transform_edt(~sb, sampling=spacing)[sa]


def metrics(pred, ref, label, spacing, metric_names, empty_score="nan",
            empty_distance="nan", percentile=95.0, variant="max", tolerance=1.0, beta=1.0,
            width=1.0):
    a = pred == label
    b = ref == label
    tp = int(np.sum(a & b))
    fp = int(np.sum(a & ~b))
    fn = int(np.sum(~a & b))
    tn = int(a.size - tp - fp - fn)
    empty = {"nan": math.nan, "one": 1.0, "zero": 0.0}[empty_score]

    def ratio(n, d):
        return n / d if d else empty

    v = {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "n_pred": tp + fp, "n_ref": tp + fn}
    allm = {
        "dice": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "accuracy": ratio(tp + tn, tp + fp + fn + tn),
        "vs": (1 - abs(fp - fn) / (2 * tp + fp + fn)) if 2 * tp + fp + fn else empty,
    }
    allm.update(counts2(tp, fp, fn, tn, empty, beta, float(np.prod(spacing))))
    allm.update(evalseg(a, b, empty))
    na, nb = int(a.sum()), int(b.sum())
    diag = math.sqrt(sum((n * s) ** 2 for n, s in zip(a.shape, spacing)))
    one_empty = diag if empty_distance == "diag" else math.nan
    if any(m in MASK2 for m in metric_names):
        if na == 0 or nb == 0:
            allm["com_dist"] = one_empty if na + nb else math.nan
        else:
            ca, cb = ndi.center_of_mass(a), ndi.center_of_mass(b)
            allm["com_dist"] = math.sqrt(sum((s * (x - y)) ** 2
                                             for s, x, y in zip(spacing, ca, cb)))
        if na == 0 and nb == 0:
            allm["boundary_iou"] = empty
        else:
            # X_w: the voxels of X closer than w to S(X)
            aw = a & (ndi.distance_transform_edt(~surface(a), sampling=spacing) < width)
            bw = b & (ndi.distance_transform_edt(~surface(b), sampling=spacing) < width)
            allm["boundary_iou"] = float(np.sum(aw & bw) / np.sum(aw | bw))
    if "cldice" in metric_names:
        allm["cldice"] = cldice(a, b, empty)
    if any(m in DIST + DIST2 for m in metric_names):
        if na == 0 and nb == 0:
            allm.update(hd=math.nan, hd95=math.nan, assd=math.nan, nsd=empty)
            allm.update((m, math.nan) for m in DIST2)
        elif na == 0 or nb == 0:
            d = one_empty
            allm.update(hd=d, hd95=d, assd=d, nsd=0.0)
            allm.update((m, d) for m in DIST2)
        else:
            sa, sb = surface(a), surface(b)
            dab = directed(sa, sb, spacing)
            dba = directed(sb, sa, spacing)
            both = np.concatenate([dab, dba])
            if variant == "pooled":
                p = np.percentile(both, percentile)
            else:
                p = max(np.percentile(dab, percentile), np.percentile(dba, percentile))
            allm.update(hd=max(dab.max(), dba.max()), hd95=float(p),
                        assd=float(both.sum() / both.size),
                        nsd=float((np.sum(dab <= tolerance) + np.sum(dba <= tolerance)) /
                                  both.size),
                        masd=float((dab.mean() + dba.mean()) / 2),
                        sd_median=float(np.median(both)), sd_std=float(np.std(both)))
    for m in metric_names:
        v[m] = float(allm[m])
    return v


def cldice(a, b, empty):
    from skimage.morphology import skeletonize
    if not a.any() and not b.any():
        return empty
    if a.ndim == 1 or not a.any() or not b.any():
        return math.nan
    sa = skeletonize(a.astype(np.uint8)) > 0
    sb = skeletonize(b.astype(np.uint8)) > 0
    if not sa.any() or not sb.any():
        return math.nan
    tprec = np.sum(sa & b) / np.sum(sa)
    tsens = np.sum(sb & a) / np.sum(sb)
    if tprec + tsens == 0:
        return math.nan
    return float(2 * tsens * tprec / (tsens + tprec))


def counts2(tp, fp, fn, tn, empty, beta, voxel_volume):
    """The confusion-derived scores (Metrics Reloaded's definitions; 0/0 and
    an undefined part give the empty-score value) and the volumes."""
    def ratio(n, d):
        return n / d if d else empty
    sens = tp / (tp + fn) if tp + fn else None
    spec = tn / (tn + fp) if tn + fp else None
    both = sens is not None and spec is not None
    pp, rp, rn, pn, n = tp + fp, tp + fn, tn + fp, tn + fn, tp + fp + fn + tn
    p_e = (pp * rp + pn * rn) / n ** 2
    b2 = beta * beta
    return {
        "mcc": ratio(tp * tn - fp * fn, math.sqrt(pp * rp * rn * pn)),
        "kappa": ratio((tp + tn) / n - p_e, 1 - p_e),
        "fbeta": ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp),
        "balanced_accuracy": (sens + spec) / 2 if both else empty,
        "youden": sens + spec - 1 if both else empty,
        "npv": ratio(tn, pn), "fpr": ratio(fp, rn), "fnr": ratio(fn, rp),
        "fdr": ratio(fp, pp), "for": ratio(fn, pn),
        "lr_pos": sens / (1 - spec) if both and fp else empty,
        "lr_neg": (1 - sens) / spec if both and tn else empty,
        "vol_pred": pp * voxel_volume, "vol_ref": rp * voxel_volume,
        "vol_diff": (pp - rp) * voxel_volume,
    }


def evalseg(a, b, empty):
    """EvaluateSegmentation's metrics (Taha & Hanbury 2015) from their
    definitions on the voxels, not from segloss's count formulas: pair
    counting for the Rand indices, histograms for the entropies, per-voxel
    sums for icc and pbd, per-class sums for gce, NumPy's covariance and
    inverse for Mahalanobis."""
    f, m = b.ravel().astype(float), a.ravel().astype(float)   # reference, prediction
    n = f.size
    joint = np.array([[np.sum((f == i) & (m == j)) for j in (0, 1)] for i in (0, 1)], float)
    comb2 = lambda x: x * (x - 1) / 2.0
    same_both = comb2(joint).sum()
    same_f, same_m = comb2(joint.sum(1)).sum(), comb2(joint.sum(0)).sum()
    pairs = comb2(n)
    out = {"ri": (pairs + 2 * same_both - same_f - same_m) / pairs}
    expected = same_f * same_m / pairs
    den = (same_f + same_m) / 2 - expected
    out["ari"] = (same_both - expected) / den if den else empty
    def ent(p):
        p = p[p > 0] / n
        return float(-(p * np.log2(p)).sum())
    hf, hm, hfm = ent(joint.sum(1)), ent(joint.sum(0)), ent(joint.ravel())
    out["mi"] = hf + hm - hfm
    out["voi"] = hf + hm - 2 * out["mi"]
    mu = (f + m) / 2
    ssw = float(np.sum((f - mu) ** 2 + (m - mu) ** 2)) / n
    ssb = float(np.sum((mu - (f.mean() + m.mean()) / 2) ** 2)) / (n - 1) * 2
    out["icc"] = (ssb - ssw) / (ssb + ssw) if ssb + ssw else empty
    joint_p = float(np.sum(f * m))
    out["pbd"] = float(np.sum(np.abs(f - m))) / (2 * joint_p) if joint_p else empty
    # EvaluateSegmentation's GCE (GlobalConsistencyError.h:74-77, the paper's
    # equation): for each class of one segmentation, errors * (errors + 2
    # hits) / class size, a class of size 0 adding 0. This is not Martin et
    # al.'s GCE (whose sum over one class is 2 hits * errors / size).
    def refine(x, y):
        total = 0.0
        for v in (0, 1):
            size = np.sum(x == v)
            hits = np.sum((x == v) & (y == v))
            if size:
                total += (size - hits) * (size - hits + 2 * hits) / size
        return total
    out["gce"] = min(refine(f, m), refine(m, f)) / n
    tpr = np.sum(f * m) / f.sum() if f.sum() else None
    tnr = np.sum((1 - f) * (1 - m)) / (n - f.sum()) if n - f.sum() else None
    out["auc"] = (tpr + tnr) / 2 if tpr is not None and tnr is not None else empty
    out["mahalanobis"] = math.nan
    if a.any() and b.any():
        pa, pb = np.argwhere(a).astype(float), np.argwhere(b).astype(float)
        ca, cb = np.cov(pa.T, bias=True).reshape(a.ndim, a.ndim), \
            np.cov(pb.T, bias=True).reshape(a.ndim, a.ndim)
        pooled = (len(pa) * ca + len(pb) * cb) / (len(pa) + len(pb))
        d = pb.mean(0) - pa.mean(0)
        if abs(np.linalg.det(pooled)) > 1e-9 * max(1.0, float(np.abs(pooled).max())) ** a.ndim:
            out["mahalanobis"] = float(np.sqrt(d @ np.linalg.inv(pooled) @ d))
    return out


def table(cases, names):
    """The text table of `segloss eval` (cli/eval_out.c's layout): one row
    per case and label, 4 decimals, then the mean per label over the cases
    (when there are several cases) and the mean over labels (when there
    are several labels)."""
    rows = []
    per = {}
    for name, pred, ref, spacing in cases:
        for lab in labels_of(pred, ref):
            v = metrics(pred, ref, lab, spacing, names)
            rows.append((name, lab, v))
            per.setdefault(lab, []).append(v)

    def mean(xs):
        ok = [x for x in xs if not math.isnan(x)]
        s = 0.0
        for x in ok:
            s += x
        return s / len(ok) if ok else math.nan

    def title(n):
        return "mean (%d case%s)" % (n, "" if n == 1 else "s")

    w = max([4, 14] + [len(c[0]) for c in cases] + [len(title(len(v))) for v in per.values()])
    mw = [max(7, len(m)) for m in names]

    def cells(vals):
        return "".join("  %*s" % (k, "nan") if math.isnan(x) else "  %*.4f" % (k, x)
                       for k, x in zip(mw, vals))

    out = "%-*s  %5s" % (w, "case", "label") + "".join(
        "  %*s" % (k, m) for k, m in zip(mw, names)) + "\n"
    for name, lab, v in rows:
        out += "%-*s  %5d" % (w, name, lab) + cells([v[m] for m in names]) + "\n"
    if len(cases) > 1 or len(per) > 1:
        out += "\n"
    means = {lab: [mean([v[m] for v in per[lab]]) for m in names] for lab in sorted(per)}
    if len(cases) > 1:
        for lab in sorted(per):
            out += "%-*s  %5d" % (w, title(len(per[lab])), lab) + cells(means[lab]) + "\n"
    if len(per) > 1:
        over = [mean([means[lab][i] for lab in sorted(per)]) for i in range(len(names))]
        out += "%-*s  %5s" % (w, "mean of labels", "all") + cells(over) + "\n"
    return out


def labels_of(pred, ref):
    u = np.union1d(np.unique(pred), np.unique(ref))
    return [int(x) for x in u if x != 0]


EXPECTED = []


def expect(run, cases, metric_names, labels=None, **kw):
    """cases: [(case, pred label map, ref label map, spacing)]."""
    for case, pred, ref, spacing in cases:
        labs = labels if labels is not None else labels_of(pred, ref)
        for lab in labs:
            vals = metrics(pred, ref, lab, spacing, metric_names, **kw)
            for k, x in vals.items():
                EXPECTED.append("%s %s %d %s %s" % (
                    run, case, lab, k,
                    "nan" if isinstance(x, float) and math.isnan(x) else
                    ("%d" % x if isinstance(x, int) else "%.17g" % x)))


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------
def f32(spacing):
    """Spacings as a NIfTI header stores them (float32), back in double."""
    return tuple(float(np.float32(x)) for x in spacing)


def path(*p):
    return os.path.join(OUT, *p)


def put(rel, data):
    mx.put(path(rel), data)


def save_npy(rel, a):
    os.makedirs(os.path.dirname(path(rel)), exist_ok=True)
    np.save(path(rel), a)


def shortest(v):
    for p in range(1, 18):
        s = "%.*g" % (p, v)
        if float(s) == v:
            return s
    return "%.17g" % v


def jnum(v):
    return "null" if math.isnan(v) else shortest(v)


def blobs(shape, rng, labels, count=3, rmax=4):
    """A label map with a few random balls per label."""
    m = np.zeros(shape, np.int64)
    for lab in labels:
        for _ in range(count):
            c = [rng.integers(0, n) for n in shape]
            r = [rng.uniform(1.0, rmax) for _ in shape]
            m[mx.ellipse(shape, c, r)] = lab
    return m


def perturb(m, rng, flips=6):
    """A copy with a few blocks relabelled (a plausible prediction)."""
    p = m.copy()
    for _ in range(flips):
        c = [rng.integers(0, n) for n in m.shape]
        sl = tuple(slice(max(0, x - 1), x + 2) for x in c)
        p[sl] = rng.choice(np.unique(m))
    return p


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = np.random.default_rng(20261129)

    # --- a directory of PNGs: 8-bit, palette, 0/255, 16-bit; sub-directory;
    # files that are not images, and a hidden file on one side only.
    shape = (30, 37)
    png = []
    ref = blobs(shape, rng, [1, 2, 3], count=2, rmax=6).astype(np.uint8)
    pred = perturb(ref, rng, 8).astype(np.uint8)
    png.append(("a.png", pred, ref, mx.png_bytes(pred), mx.png_bytes(ref)))
    ref = blobs(shape, rng, [1, 2], count=2, rmax=6).astype(np.uint8)
    pred = perturb(ref, rng, 5).astype(np.uint8)
    pal = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    png.append(("b_palette.png", pred, ref, mx.png_bytes(pred, palette=pal), mx.png_bytes(ref)))
    ref = (blobs(shape, rng, [1], count=3, rmax=7) * 255).astype(np.uint8)
    pred = perturb(ref, rng, 6).astype(np.uint8)
    png.append(("sub/c.png", pred, ref, mx.png_bytes(pred), mx.png_bytes(ref)))
    ref = blobs(shape, rng, [1000, 2], count=2, rmax=6).astype(np.uint16)
    pred = perturb(ref, rng, 6).astype(np.uint16)
    png.append(("sub/d16.png", pred, ref, mx.png_bytes(pred), mx.png_bytes(ref)))
    for name, pred, ref, pb, rb in png:
        put("png/pred/" + name, pb)
        put("png/ref/" + name, rb)
    put("png/pred/notes.txt", b"not an image: ignored\n")
    put("png/ref/README", b"not an image: ignored\n")
    put("png/pred/.hidden.png", b"hidden files are skipped\n")
    expect("png", [(n, p, r, (1.0, 1.0)) for n, p, r, _, _ in png], ALL)

    # --- a NIfTI pair with anisotropic pixdim: array (nz, ny, nx) = (9, 11, 14),
    # spacing (pz, py, px) = (2.5, 1.1, 0.7); pred uint8 gzipped, ref int16.
    shape3 = (9, 11, 14)
    sp3 = (2.5, 1.1, 0.7)
    sp3f = f32(sp3)   # pixdim is float32: what segloss reads back
    ref = blobs(shape3, rng, [1, 2], count=2, rmax=5)
    pred = perturb(ref, rng, 8)
    put("nii/pred.nii.gz", mx.gz(mx.nifti_bytes(pred.astype(np.uint8), sp3)))
    put("nii/ref.nii", mx.nifti_bytes(ref.astype(np.int16), sp3))
    # Same voxels, other pixdim: scored with the reference's spacing (warning).
    put("nii/pred_sp.nii.gz", mx.gz(mx.nifti_bytes(pred.astype(np.uint8), (2.0, 1.1, 0.7))))
    expect("nii", [("nii/ref.nii", pred, ref, sp3f)], ALL)
    # --spacing overrides pixdim; pooled hd95 at P=90; nsd at tau=2.5.
    expect("nii_sp", [("nii/ref.nii", pred, ref, (1.0, 2.0, 0.5))],
           ["dice", "hd", "hd95", "assd", "nsd"], variant="pooled", percentile=90.0,
           tolerance=2.5)
    # --beta 2, --boundary-width 2.4 (wider than every spacing but 2.5).
    expect("nii_bw", [("nii/ref.nii", pred, ref, sp3f)],
           ["fbeta", "boundary_iou", "com_dist", "vol_diff"], beta=2.0, width=2.4)

    # --- .npy label maps (int32 vs int64), --labels with an absent label.
    ref = blobs((10, 12, 9), rng, [1, 3, 5], count=2, rmax=4)
    pred = perturb(ref, rng, 6)
    save_npy("npy/pred/vol.npy", pred.astype(np.int32))
    save_npy("npy/ref/vol.npy", ref.astype(np.int64))
    expect("npy", [("vol.npy", pred, ref, (1, 1, 1))], ALL, labels=[1, 3, 7])

    # --- score maps. Scores stay at least 0.01 away from the thresholds.
    shape2 = (20, 24)
    ref = blobs(shape2, rng, [1], count=3, rmax=6).astype(np.uint8)
    noise = rng.uniform(-0.45, 0.45, shape2)
    probs = np.clip(ref * 0.8 + 0.1 + noise, 0.0, 1.0)
    for t in (0.5, 0.3):  # keep away from both thresholds
        probs[np.abs(probs - t) < 0.01] = t + 0.02
    probs = probs.astype(np.float32)
    save_npy("scores/probs.npy", probs)
    save_npy("scores/ref.npy", ref)
    p64 = probs.astype(np.float64)
    expect("probs", [("scores/ref.npy", (p64 >= 0.5).astype(np.uint8), ref, (1, 1))], ALL)
    expect("probs_t", [("scores/ref.npy", (p64 >= 0.3).astype(np.uint8), ref, (1, 1))], ALL)
    logits = rng.normal(0.0, 3.0, shape2) + (ref * 2.0 - 1.0) * 2.0
    for t in (0.0, 1.5):
        logits[np.abs(logits - t) < 0.01] = t + 0.05
    save_npy("scores/logits.npy", logits.astype(np.float64))
    save_npy("scores/ref_f64.npy", ref.astype(np.float64))
    l32 = logits.astype(np.float32).astype(np.float64)  # segloss thresholds float32 scores
    expect("logits", [("scores/ref_f64.npy", (l32 >= 0.0).astype(np.uint8), ref, (1, 1))], ALL)
    expect("logits_t", [("scores/ref_f64.npy", (l32 >= 1.5).astype(np.uint8), ref, (1, 1))],
           ALL)
    multi = ref.copy()
    multi[0:2, 0:3] = 2
    save_npy("scores/ref_multi.npy", multi)
    bad = probs.copy()
    bad[3, 4] = 1.5
    save_npy("scores/probs_bad.npy", bad)
    nanp = probs.copy()
    nanp[0, 0] = np.nan
    save_npy("scores/probs_nan.npy", nanp)
    soft = ref.astype(np.float32)
    soft[5, 5] = 0.5
    save_npy("scores/ref_soft.npy", soft)

    # --- empty masks: an empty prediction; label 2 absent from both files.
    pe = np.zeros((16, 16), np.uint8)
    re = np.zeros((16, 16), np.uint8)
    re[4:9, 5:11] = 1
    save_npy("empty/pred.npy", pe)
    save_npy("empty/ref.npy", re)
    cs = [("empty/ref.npy", pe, re, (1, 1))]
    expect("empty_nan", cs, ALL, labels=[1, 2])
    expect("empty_one", cs, ALL, labels=[1, 2], empty_score="one", empty_distance="diag")
    expect("empty_zero", cs, ALL, labels=[1, 2], empty_score="zero")
    expect("empty_sp", [("empty/ref.npy", pe, re, (0.5, 3.0))], ALL, labels=[1, 2],
           empty_distance="diag")

    # --- missing files.
    m1 = blobs((12, 13), rng, [1, 2], count=2, rmax=4).astype(np.uint8)
    m2 = blobs((12, 13), rng, [1], count=2, rmax=4).astype(np.uint8)
    save_npy("miss/pred/a.npy", m1)
    save_npy("miss/ref/a.npy", m1)
    save_npy("miss/pred/extra.npy", m1)
    save_npy("miss/ref/b.npy", m2)
    save_npy("miss2/pred/a.npy", perturb(m1, rng, 3))
    save_npy("miss2/ref/a.npy", m1)
    save_npy("miss2/ref/b.npy", m2)
    pa = np.load(path("miss2/pred/a.npy"))
    expect("miss2", [("a.npy", pa, m1, (1, 1)), ("b.npy", np.zeros_like(m2), m2, (1, 1))], ALL)

    # --- shape mismatch; rank 4.
    save_npy("mism/pred.npy", np.zeros((6, 7), np.uint8))
    save_npy("mism/ref.npy", np.zeros((7, 6), np.uint8))
    save_npy("mism/rank4.npy", np.zeros((2, 3, 4, 5), np.uint8))

    # --- broken files: b.png truncated (pred side), c.nii.gz garbage (ref).
    for name in ("a", "b", "d"):
        r = blobs((14, 15), rng, [1], count=2, rmax=4).astype(np.uint8)
        put("bad/pred/%s.png" % name, mx.png_bytes(perturb(r, rng, 2).astype(np.uint8)))
        put("bad/ref/%s.png" % name, mx.png_bytes(r))
    whole = mx.png_bytes(np.ones((14, 15), np.uint8))
    put("bad/pred/b.png", whole[:50])
    put("bad/pred/c.nii.gz", mx.gz(mx.nifti_bytes(np.ones((3, 4, 5), np.uint8), (1, 1, 1))))
    put("bad/ref/c.nii.gz", b"this is not a NIfTI file\n" * 20)

    # --- many small 3-D cases: thread-count independence of the output.
    many = []
    for k in range(12):
        r = blobs((12, 10, 8), rng, [1, 2, 4], count=2, rmax=3)
        p = perturb(r, rng, 4)
        name = "case%02d.npy" % k
        save_npy("many/pred/" + name, p.astype(np.uint8))
        save_npy("many/ref/" + name, r.astype(np.int16))
        many.append((name, p, r, (1, 1, 1)))
    expect("many", many, ALL)

    # --- tiny: the exact JSON.
    t1p = np.array([[0, 1, 1, 0, 0], [0, 1, 1, 0, 2], [0, 0, 0, 0, 2], [0, 0, 0, 0, 0]], np.uint8)
    t1r = np.array([[0, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 2], [0, 0, 0, 0, 2]], np.uint8)
    t2p = np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 2]], np.uint8)
    t2r = np.array([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], np.uint8)
    tiny = [("x.npy", t1p, t1r), ("y.npy", t2p, t2r)]
    cases = []
    per_label = {}
    for name, p, r in tiny:
        save_npy("tiny/pred/" + name, p)
        save_npy("tiny/ref/" + name, r)
        items = []
        for lab in labels_of(p, r):
            v = metrics(p, r, lab, (1.0, 1.0), ["dice", "hd"])
            per_label.setdefault(lab, []).append(v)
            items.append('"%d":{"tp":%d,"fp":%d,"fn":%d,"tn":%d,"n_pred":%d,"n_ref":%d,'
                         '"dice":%s,"hd":%s}' % (lab, v["tp"], v["fp"], v["fn"], v["tn"],
                                                 v["n_pred"], v["n_ref"], jnum(v["dice"]),
                                                 jnum(v["hd"])))
        cases.append('{"pred":"tiny/pred/%s","ref":"tiny/ref/%s","labels":{%s}}' % (
            name, name, ",".join(items)))

    def stats(xs):
        ok = [x for x in xs if not math.isnan(x)]
        n = len(ok)
        if n == 0:
            return '{"mean":null,"std":null,"median":null,"n":0,"n_nan":%d}' % len(xs)
        s = 0.0
        for x in ok:
            s += x
        m = s / n
        ss = 0.0
        for x in ok:
            ss += (x - m) * (x - m)
        return '{"mean":%s,"std":%s,"median":%s,"n":%d,"n_nan":%d}' % (
            jnum(m), jnum(math.sqrt(ss / n)), jnum(float(np.percentile(ok, 50))), n,
            len(xs) - n)

    def mean_of(xs):
        ok = [x for x in xs if not math.isnan(x)]
        s = 0.0
        for x in ok:
            s += x
        return s / len(ok) if ok else math.nan

    summ = []
    for lab in sorted(per_label):
        summ.append('"%d":{"dice":%s,"hd":%s}' % (
            lab, stats([v["dice"] for v in per_label[lab]]),
            stats([v["hd"] for v in per_label[lab]])))
    summ.append('"mean":{"dice":%s,"hd":%s}' % (
        stats([mean_of([v["dice"] for v in per_label[lab]]) for lab in sorted(per_label)]),
        stats([mean_of([v["hd"] for v in per_label[lab]]) for lab in sorted(per_label)])))
    with open(path("tiny.json"), "w") as f:
        f.write('{"cases":[%s],"summary":{%s}}\n' % (",".join(cases), ",".join(summ)))

    # --- the bundled examples (arrays from tools/make_examples.py).
    expect("ex_png", [(n, p, r, (1.0, 1.0)) for n, p, r in mx.png_pairs()], ALL)
    p, r, sp = mx.nifti_pair()
    expect("ex_nii", [("examples/nifti/ref.nii.gz", p, r, f32(sp))], ALL)

    # The README's example outputs: the exact table `segloss eval` prints.
    tm = ["dice", "iou", "hd95", "assd"]
    with open(path("examples_png.txt"), "w") as f:
        f.write(table([(n, pr, rf, (1.0, 1.0)) for n, pr, rf in mx.png_pairs()], tm))
    with open(path("examples_nifti.txt"), "w") as f:
        f.write(table([("examples/nifti/pred.nii.gz", p, r, f32(sp))], tm))

    with open(path("expected.txt"), "w") as f:
        f.write("# RUN CASE LABEL KEY VALUE — generated by tools/ref/gen_eval_fixtures.py\n")
        f.write("\n".join(EXPECTED) + "\n")


if __name__ == "__main__":
    main()
