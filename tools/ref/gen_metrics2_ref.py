#!/usr/bin/python3
"""Reference values of the second-edition metrics from Metrics Reloaded's own
code (MetricsReloaded/metrics/pairwise_measures.py, BinaryPairwiseMeasures).

Writes tests/data/metric/metrics2_ref.txt, read by tests/test_metric_mr.c
(the C tests never run Python). Needs /usr/bin/python3 with NumPy, SciPy and
scikit-image (Debian python3-numpy, python3-scipy, python3-skimage) and a
Metrics Reloaded source tree (github.com/Project-MONAI/MetricsReloaded):

    git -C MR_CLONE archive HEAD MetricsReloaded | tar x -C /tmp/mr
    git -C NNUNET_CLONE show HEAD:nnunetv2/evaluation/evaluate_predictions.py \
        > /tmp/nnunet_eval.py
    /usr/bin/python3 tools/ref/gen_metrics2_ref.py /tmp/mr /tmp/nnunet_eval.py

MR is a directory holding the MetricsReloaded package. Its modules import
pandas at the top but BinaryPairwiseMeasures never calls it, so an empty
stand-in module is installed when pandas is missing.

Per label L present in both masks, A = (pred == L), B = (ref == L),
m = BinaryPairwiseMeasures(A, B, pixdim=spacing, dict_args=...):

    from Metrics Reloaded:
      mcc, kappa (cohens_kappa), fbeta (beta 1), fbeta2 (beta 2),
      balanced_accuracy, youden, npv, fpr, lr_pos, sensitivity, specificity,
      hd, hd95 (hd_perc 95), assd, masd, nsd (tau 1), nsd2 (tau 2),
      com_dist (with pixdim),
      boundary_iou, boundary_iou2, boundary_iou4 (boundary_dist 1, 2, 4: Metrics Reloaded
      measures this width in voxels, without pixdim)
    from Metrics Reloaded's own distance maps (m.border_distance()) and NumPy:
      sd_median, sd_std = numpy.median, numpy.std of the pooled distances
      ref_border_dist[pred_border > 0] and pred_border_dist[ref_border > 0]
    from NumPy on the masks (counts; not in Metrics Reloaded):
      fnr = FN/(FN+TP), fdr = FP/(FP+TP), for = FN/(FN+TN),
      lr_neg = (1 - TP/(TP+FN)) / (TN/(TN+FP)),
      vol_pred, vol_ref, vol_diff = |A|v, |B|v, (|A|-|B|)v, v = prod(spacing)
    Metrics Reloaded's formulas evaluated by NumPy in float64 (its own sums
    are float32): mcc64, kappa64, npv64, fbeta64

nnU-Net (v2.8.1, nnunetv2/evaluation/evaluate_predictions.py): its
compute_metrics, region_or_label_to_mask and compute_tp_fp_fn_tn are taken
from the file (they need NumPy only) and run on label maps with regions
and an ignore label; the results go to tests/cli/regions_data/ (pred.npy,
ref.npy, expected.txt: one line per run and region, the JSON member
`"KEY":{"tp":..,"fp":..,"fn":..,"tn":..,"n_pred":..,"n_ref":..,"dice":..,
"iou":..}` that `segloss eval --json - --metrics dice,iou` prints for it,
numbers as the shortest %.{p}g that reads back, NaN as null).

File format (one case = header, two masks, then one line per label):
    case NDIM D0 [D1 [D2]] S0 [S1 [S2]] NLABELS
    pred DIGITS      (label of every voxel, C order, one digit each)
    ref DIGITS
    label L NAME VALUE NAME VALUE ...
"""
import importlib
import math
import os
import sys
import types
import warnings

import numpy as np
import scipy

HERE = os.path.dirname(os.path.abspath(__file__))


def load(root):
    """MetricsReloaded.metrics.pairwise_measures and its utility module
    only: the package __init__ also loads the processes, which need nibabel
    and pandas."""
    if importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = types.ModuleType("pandas")
    for name in ("MetricsReloaded", "MetricsReloaded.metrics", "MetricsReloaded.utility"):
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(root, *name.split("."))]
        sys.modules[name] = pkg
    pm = importlib.import_module("MetricsReloaded.metrics.pairwise_measures")
    version = importlib.import_module("MetricsReloaded._version").__version__
    return pm, version


def medpy_cases():
    """The random cases of gen_metric_medpy.py (blobs, perturbed by a shift
    and flipped voxels) and its constructed ones."""
    spec = importlib.util.spec_from_file_location(
        "gen_metric_medpy", os.path.join(HERE, "gen_metric_medpy.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = np.random.RandomState(20261206)
    return list(mod.random_cases(rng)) + list(mod.constructed())


def edge_cases():
    """Single-voxel objects, objects touching the border, a thin line."""
    shape = (9, 11)
    pred = np.zeros(shape, dtype=np.int64)
    ref = np.zeros(shape, dtype=np.int64)
    pred[4, 5] = 1              # single voxel vs 3x3 block
    ref[3:6, 4:7] = 1
    pred[0:3, 0:4] = 2          # touching two image borders
    ref[0:2, 0:5] = 2
    pred[8, :] = 3              # a full border row vs half of it
    ref[8, 3:9] = 3
    yield shape, (1.0, 1.0), 3, pred, ref
    yield shape, (0.5, 2.0), 3, pred, ref
    shape = (5, 8, 7)
    pred = np.zeros(shape, dtype=np.int64)
    ref = np.zeros(shape, dtype=np.int64)
    pred[2, 3, 3] = 1           # single voxels apart
    ref[3, 5, 1] = 1
    pred[:, 0:3, 5:7] = 2       # touching four faces
    ref[1:5, 0:4, 4:7] = 2
    yield shape, (1.0, 1.0, 1.0), 2, pred, ref
    yield shape, (2.0, 0.7, 1.3), 2, pred, ref


def kappa64(tp, fp, fn, tn):
    n = tp + fp + fn + tn
    p_o = (tp + tn) / n
    p_e = ((tp + fp) / n) * ((tp + fn) / n) + ((tn + fn) / n) * ((tn + fp) / n)
    return (p_o - p_e) / (1 - p_e)


def fbeta64(tp, fp, fn):
    """Metrics Reloaded's fbeta for beta 1: 0 when precision + recall is 0."""
    if tp == 0:
        return 0.0
    p, r = tp / (tp + fp), tp / (tp + fn)
    return 2 * p * r / (p + r)


def label_line(pm, lab, a, b, spacing):
    args = {"beta": 1, "hd_perc": 95, "nsd": 1, "boundary_dist": 1}
    m = pm.BinaryPairwiseMeasures(a.astype(np.int8), b.astype(np.int8),
                                  pixdim=list(spacing), dict_args=args)
    m2 = pm.BinaryPairwiseMeasures(a.astype(np.int8), b.astype(np.int8), pixdim=list(spacing),
                                   dict_args={"beta": 2, "nsd": 2, "boundary_dist": 2})
    tp, fp = np.float64(np.sum(a & b)), np.float64(np.sum(a & ~b))
    fn, tn = np.float64(np.sum(~a & b)), np.float64(np.sum(~a & ~b))
    v = float(np.prod(spacing))
    d_ref, d_pred, border_ref, border_pred = m.border_distance()
    pooled = np.concatenate([d_ref[border_pred > 0], d_pred[border_ref > 0]])
    vals = [
        ("mcc", m.matthews_correlation_coefficient()),
        ("kappa", m.cohens_kappa()),
        ("fbeta", m.fbeta()),
        ("fbeta2", m2.fbeta()),
        ("balanced_accuracy", m.balanced_accuracy()),
        ("youden", m.youden_index()),
        ("npv", m.negative_predictive_value()),
        ("fpr", m.false_positive_rate()),
        ("lr_pos", m.positive_likelihood_ratio()),
        ("recall", m.sensitivity()),
        ("specificity", m.specificity()),
        ("hd", m.measured_hausdorff_distance()),
        ("hd95", m.measured_hausdorff_distance_perc()),
        ("assd", m.measured_average_distance()),
        ("masd", m.measured_masd()),
        ("nsd", m.normalised_surface_distance()),
        ("nsd2", m2.normalised_surface_distance()),
        ("com_dist", m.com_dist()),
        ("boundary_iou", m.boundary_iou()),
        ("boundary_iou2", m2.boundary_iou()),
        ("boundary_iou4", pm.BinaryPairwiseMeasures(
            a.astype(np.int8), b.astype(np.int8), dict_args={"boundary_dist": 4}).boundary_iou()),
        ("sd_median", np.median(pooled)),
        ("sd_std", np.std(pooled)),
        ("fnr", fn / (fn + tp)),
        ("fdr", fp / (fp + tp)),
        ("for", fn / (fn + tn)),
        ("lr_neg", (1 - tp / (tp + fn)) / (tn / (tn + fp))),
        ("vol_pred", (tp + fp) * v),
        ("vol_ref", (tp + fn) * v),
        ("vol_diff", (tp + fp - tp - fn) * v),
        # Metrics Reloaded's formulas for these, evaluated in float64 (its
        # own values carry float32 rounding, amplified in kappa when p_e is
        # near 1)
        ("mcc64", (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))),
        ("kappa64", kappa64(tp, fp, fn, tn)),
        ("npv64", tn / (fn + tn)),
        ("fbeta64", fbeta64(tp, fp, fn)),
    ]
    return "label %d " % lab + " ".join("%s %.17g" % (k, float(x)) for k, x in vals)


def load_nnunet(path):
    """nnU-Net's own compute_metrics and the two helpers it calls, from the
    source file (the module's imports, batchgenerators and nnunetv2, are not
    needed by them)."""
    import ast
    tree = ast.parse(open(path).read())
    keep = {"compute_metrics", "region_or_label_to_mask", "compute_tp_fp_fn_tn"}
    body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in keep]
    assert len(body) == 3, "nnU-Net's evaluate_predictions.py changed"
    ns = {"np": np, "Union": __import__("typing").Union, "Tuple": __import__("typing").Tuple,
          "List": __import__("typing").List, "BaseReaderWriter": object}
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), ns)
    return ns["compute_metrics"]


def shortest(v):
    if isinstance(v, float) and math.isnan(v):
        return "null"
    for p in range(1, 18):
        s = "%.*g" % (p, v)
        if float(s) == v:
            return s
    return "%.17g" % v


class ArrayReader:
    """Stands in for nnU-Net's image reader: 'files' are arrays by name."""
    def __init__(self, arrays):
        self.arrays = arrays

    def read_seg(self, name):
        return self.arrays[name], {}


def nnunet_runs(compute_metrics, outdir):
    """BraTS-like label maps (1 = necrosis, 2 = oedema, 3 = enhancing, 4 =
    the ignore label, in the reference only where annotators left voxels
    out; the prediction has every label there)."""
    rng = np.random.RandomState(20261206)
    shape = (14, 17, 12)
    grid = np.indices(shape).astype(float)
    ref = np.zeros(shape, dtype=np.int16)
    for lab, r in ((2, 6.0), (1, 4.0), (3, 2.5)):
        d = sum(((grid[i] - (7, 8, 6)[i]) / (r * (1.0, 1.2, 0.9)[i])) ** 2 for i in range(3))
        ref[d <= 1.0] = lab
    pred = np.roll(ref, 1, axis=1).astype(np.uint8)
    flip = rng.uniform(size=shape) < 0.05
    pred[flip] = rng.randint(0, 4, size=int(flip.sum()))
    ref[:, :, 0:2][ref[:, :, 0:2] == 0] = 4          # an unannotated slab
    ref[rng.uniform(size=shape) < 0.03] = 4
    ref[6, 8, 3] = 4                                 # inside the tumour
    pred[0, 0, 0] = 4                                # label 4 predicted once
    os.makedirs(outdir, exist_ok=True)
    np.save(os.path.join(outdir, "pred.npy"), pred)
    np.save(os.path.join(outdir, "ref.npy"), ref)
    reader = ArrayReader({"pred": pred, "ref": ref})
    lines = []
    for run, regions, ignore in (
            ("regions_ignore", [(1, 2, 3), (2, 3), (3,)], 4),
            ("regions", [(1, 2, 3), (2, 3), (3,)], None),
            ("labels_ignore", [1, 2, 3], 4)):
        res = compute_metrics("ref", "pred", reader, regions, ignore)["metrics"]
        for r in regions:
            m = res[r]
            key = ",".join(map(str, r)) if isinstance(r, tuple) else str(r)
            nums = ",".join('"%s":%d' % (k, int(m[c])) for k, c in (
                ("tp", "TP"), ("fp", "FP"), ("fn", "FN"), ("tn", "TN"), ("n_pred", "n_pred"),
                ("n_ref", "n_ref")))
            lines.append('%s "%s":{%s,"dice":%s,"iou":%s}' % (
                run, key, nums, shortest(float(m["Dice"])), shortest(float(m["IoU"]))))
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        f.write("# generated by tools/ref/gen_metrics2_ref.py: nnU-Net 2.8.1 compute_metrics\n")
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen_metrics2_ref.py METRICS_RELOADED_SOURCE_DIR "
                 "NNUNET_EVALUATE_PREDICTIONS_PY")
    pm, version = load(sys.argv[1])
    nnunet_runs(load_nnunet(sys.argv[2]), os.path.join(HERE, "..", "..", "tests", "cli",
                                                      "regions_data"))
    out = os.path.join(HERE, "..", "..", "tests", "data", "metric", "metrics2_ref.txt")
    warnings.simplefilter("ignore")
    lines = ["# generated by tools/ref/gen_metrics2_ref.py: Metrics Reloaded %s "
             "BinaryPairwiseMeasures on SciPy %s, NumPy %s"
             % (version, scipy.__version__, np.__version__)]
    for shape, spacing, nlabels, pred, ref in medpy_cases() + list(edge_cases()):
        body = []
        for lab in range(1, nlabels + 1):
            a, b = pred == lab, ref == lab
            if a.any() and b.any() and (~a).any() and (~b).any():
                body.append(label_line(pm, lab, a, b, spacing))
        if not body:
            continue
        lines.append("case %d %s %s %d" % (len(shape), " ".join(map(str, shape)),
                                            " ".join(repr(float(s)) for s in spacing), nlabels))
        lines.append("pred " + "".join(str(int(v)) for v in pred.ravel()))
        lines.append("ref " + "".join(str(int(v)) for v in ref.ravel()))
        lines += body
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
