#!/usr/bin/python3
"""Reference values for `--convention`: each peer tool's own code run on the
same binary mask pairs, one line of values per (case, convention).

Writes tests/data/metric/convention_ref.txt, read by
tests/test_metric_convention.c (the C tests never run Python). Needs
/usr/bin/python3 with NumPy, SciPy and torch (Debian python3-numpy,
python3-scipy, python3-torch) and the peers' source trees, unpacked from
their git repositories:

    mkdir -p /tmp/conv/{monai,medpy,sd,mr,nn}
    git -C MONAI archive HEAD monai | tar x -C /tmp/conv/monai
    git -C MEDPY show HEAD:medpy/metric/binary.py > /tmp/conv/medpy/binary.py
    git -C SURFACE_DISTANCE archive HEAD surface_distance | tar x -C /tmp/conv/sd
    git -C METRICS_RELOADED archive HEAD MetricsReloaded | tar x -C /tmp/conv/mr
    git -C NNUNET show HEAD:nnunetv2/evaluation/evaluate_predictions.py \
        > /tmp/conv/nn/evaluate_predictions.py
    /usr/bin/python3 tools/ref/gen_convention_ref.py /tmp/conv

Versions used for the committed file: MONAI 1.5.0 (d388d1c), MedPy 0.5.2
(d6abf41), google-deepmind/surface-distance 1f805ce, Metrics Reloaded
cb38dfc, nnU-Net 2.8.1 (0e49508).

Each peer is called the way its users call it, label 1 of 0/1 masks, pred
= the prediction, ref = the reference, spacing = the case's:
  medpy:    binary.dc, jc, precision, recall, specificity, hd, hd95, assd
            (voxelspacing=spacing); a RuntimeError (empty mask) is "nan".
  monai:    compute_dice, compute_iou (ignore_empty=True, the default),
            compute_hausdorff_distance (percentile None and 95),
            compute_average_surface_distance (symmetric=True),
            compute_average_surface_distance (symmetric=False, both ways),
            compute_surface_dice (class_thresholds=[tau]) and the
            confusion-matrix metrics (get_confusion_matrix,
            compute_confusion_matrix_metric), on float64 tensors of shape
            (1, 1, ...), spacing=spacing. MONAI returns float32 (its
            get_surface_distance rounds the distances to float32 before the
            quantile and the mean).
  deepmind: compute_surface_distances(ref, pred, spacing) and the measures
            on it; compute_dice_coefficient(ref, pred).
  metricsreloaded: BinaryPairwiseMeasures(pred, ref, pixdim=spacing,
            dict_args={"hd_perc": 95, "nsd": tau}).
  nnunet:   compute_metrics (taken from evaluate_predictions.py by
            gen_metrics2_ref.load_nnunet) for label 1, no ignore label.

File format:
    case NAME NDIM D0 [D1 [D2]] S0 [S1 [S2]] TAU
    pred DIGITS   (0/1 per voxel, C order)
    ref DIGITS
    CONVENTION KEY VALUE KEY VALUE ...   (one line per convention; VALUE is
                                          repr(float): nan, inf allowed)
Keys are segloss's metric names (as `segloss eval --metrics` spells them),
plus mean_pred_to_ref / mean_ref_to_pred / max_pred_to_ref /
max_ref_to_pred for the directed values a peer reports.
"""
import importlib
import importlib.util
import math
import os
import sys
import types
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def ellipsoid(shape, centre, radii):
    g = np.indices(shape).astype(float)
    r = sum(((g[a] - centre[a]) / radii[a]) ** 2 for a in range(len(shape)))
    return r <= 1.0


def cases():
    """(name, pred, ref, spacing, tau): 2-D and 3-D, anisotropic spacing,
    empty masks on either side and both, single voxels, objects touching
    the border, an object against a much smaller one."""
    out = []
    s2 = (30, 26)
    big = ellipsoid(s2, (12, 11), (9.5, 9.0))
    small = ellipsoid(s2, (9, 14), (3.2, 2.6))
    small[27, 2] = True
    z2 = np.zeros(s2, bool)
    out.append(("disc2d", small, big, (0.8, 1.7), 1.5))
    out.append(("pred_empty2d", z2, big, (0.8, 1.7), 1.0))
    out.append(("ref_empty2d", small, z2, (0.8, 1.7), 1.0))
    out.append(("both_empty2d", z2, z2.copy(), (0.8, 1.7), 1.0))
    one = z2.copy()
    one[5, 7] = True
    one2 = z2.copy()
    one2[9, 3] = True
    out.append(("voxels2d", one, one2, (1.0, 1.0), 2.0))
    same = z2.copy()
    same[3:9, 4:11] = True
    out.append(("identical2d", same, same.copy(), (0.5, 2.0), 1.0))
    border_p = z2.copy()
    border_p[0:7, 0:5] = True
    border_r = z2.copy()
    border_r[0:5, 0:9] = True
    border_r[29, :] = True
    out.append(("border2d", border_p, border_r, (1.3, 0.6), 1.0))
    s3 = (14, 18, 12)
    a3 = ellipsoid(s3, (7, 10, 5), (2.2, 2.6, 2.1))
    b3 = ellipsoid(s3, (6, 8, 6), (5.5, 7.5, 5.0))
    out.append(("ellipsoid3d", a3, b3, (2.5, 0.9, 0.9), 2.0))
    z3 = np.zeros(s3, bool)
    out.append(("pred_empty3d", z3, b3, (2.5, 0.9, 0.9), 1.0))
    out.append(("ref_empty3d", a3, z3, (2.5, 0.9, 0.9), 1.0))
    out.append(("both_empty3d", z3, z3.copy(), (1.0, 1.0, 1.0), 1.0))
    slab = z3.copy()
    slab[11:14, 0:6, 0:12] = True
    vox = z3.copy()
    vox[12, 3, 6] = True
    out.append(("slab_voxel3d", vox, slab, (1.0, 2.0, 0.5), 1.0))
    rng = np.random.default_rng(20261206)
    for k, (shape, sp) in enumerate([((16, 15, 13), (1.2, 0.7, 2.0)), ((25, 31), (1.0, 1.0))]):
        from scipy import ndimage
        r = ndimage.gaussian_filter(rng.random(shape), 1.5)
        ref = r > np.quantile(r, 0.7)
        pred = ndimage.binary_dilation(ref) if k else ref.copy()
        flip = rng.random(shape) < 0.04
        pred = pred ^ flip
        out.append(("random%dd" % len(shape), pred, ref, sp, 1.0))
    return out


# --------------------------------------------------------------------------
def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def medpy_values(mb, pred, ref, sp, tau):
    v = {}
    for key, fn in (("dice", mb.dc), ("iou", mb.jc), ("precision", mb.precision),
                    ("recall", mb.recall), ("specificity", mb.specificity)):
        v[key] = float(fn(pred, ref))
    for key, fn in (("hd", mb.hd), ("hd95", mb.hd95), ("assd", mb.assd),
                    ("mean_pred_to_ref", mb.asd)):
        try:
            v[key] = float(fn(pred, ref, voxelspacing=sp))
        except RuntimeError:
            v[key] = math.nan
    try:
        v["mean_ref_to_pred"] = float(mb.asd(ref, pred, voxelspacing=sp))
    except RuntimeError:
        v["mean_ref_to_pred"] = math.nan
    return v


def monai_values(mm, torch, pred, ref, sp, tau):
    p = torch.tensor(pred[None, None].astype(np.float64))
    r = torch.tensor(ref[None, None].astype(np.float64))
    v = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v["dice"] = float(mm.compute_dice(p, r)[0, 0])
        v["iou"] = float(mm.compute_iou(p, r)[0, 0])
        sp_ = list(sp)
        v["hd"] = float(mm.compute_hausdorff_distance(p, r, spacing=sp_)[0, 0])
        v["hd95"] = float(mm.compute_hausdorff_distance(p, r, percentile=95, spacing=sp_)[0, 0])
        v["assd"] = float(mm.compute_average_surface_distance(p, r, symmetric=True,
                                                              spacing=sp_)[0, 0])
        v["mean_pred_to_ref"] = float(mm.compute_average_surface_distance(p, r, spacing=sp_)[0, 0])
        v["mean_ref_to_pred"] = float(mm.compute_average_surface_distance(r, p, spacing=sp_)[0, 0])
        v["nsd"] = float(mm.compute_surface_dice(p, r, class_thresholds=[tau],
                                                 spacing=list(sp))[0, 0])
        cm = mm.get_confusion_matrix(p, r)
        for key, name in (("recall", "sensitivity"), ("specificity", "specificity"),
                          ("precision", "precision"), ("npv", "negative predictive value"),
                          ("fnr", "miss rate"), ("fpr", "fall out"),
                          ("fdr", "false discovery rate"), ("for", "false omission rate"),
                          ("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
                          ("mcc", "matthews correlation coefficient"),
                          ("youden", "informedness")):
            v[key] = float(mm.compute_confusion_matrix_metric(name, cm)[0, 0])
    return v


def deepmind_values(sdm, pred, ref, sp, tau):
    v = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v["dice"] = float(sdm.compute_dice_coefficient(ref, pred))
        sd = sdm.compute_surface_distances(ref, pred, list(sp))
        v["hd"] = float(sdm.compute_robust_hausdorff(sd, 100))
        v["hd95"] = float(sdm.compute_robust_hausdorff(sd, 95))
        g2p, p2g = sdm.compute_average_surface_distance(sd)
        v["mean_pred_to_ref"] = float(p2g)
        v["mean_ref_to_pred"] = float(g2p)
        v["nsd"] = float(sdm.compute_surface_dice_at_tolerance(sd, tau))
    return v


def mr_values(pm, pred, ref, sp, tau):
    m = pm.BinaryPairwiseMeasures(pred.astype(np.int8), ref.astype(np.int8), pixdim=list(sp),
                                  dict_args={"hd_perc": 95, "nsd": tau, "beta": 1})
    v = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, fn in (("dice", m.dsc), ("iou", m.intersection_over_union),
                        ("precision", m.positive_predictive_value), ("recall", m.sensitivity),
                        ("specificity", m.specificity), ("accuracy", m.accuracy),
                        ("mcc", m.matthews_correlation_coefficient), ("kappa", m.cohens_kappa),
                        ("fbeta", m.fbeta), ("balanced_accuracy", m.balanced_accuracy),
                        ("youden", m.youden_index), ("npv", m.negative_predictive_value),
                        ("fpr", m.false_positive_rate), ("lr_pos", m.positive_likelihood_ratio),
                        ("hd", m.measured_hausdorff_distance),
                        ("hd95", m.measured_hausdorff_distance_perc),
                        ("assd", m.measured_average_distance), ("masd", m.measured_masd),
                        ("nsd", m.normalised_surface_distance), ("com_dist", m.com_dist),
                        ("boundary_iou", m.boundary_iou)):
            try:
                v[key] = float(fn())
            except (ZeroDivisionError, ValueError) as e:
                v[key] = "raise:" + type(e).__name__
    return v


def nnunet_values(compute_metrics, pred, ref, sp, tau):
    from gen_metrics2_ref import ArrayReader
    reader = ArrayReader({"pred": pred.astype(np.uint8), "ref": ref.astype(np.uint8)})
    res = compute_metrics("ref", "pred", reader, [1], None)["metrics"][1]
    return {k.lower(): float(res[k]) for k in ("TP", "FP", "FN", "TN", "n_pred", "n_ref", "Dice",
                                               "IoU")}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/conv"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, "..", "..", "tests", "data", "metric", "convention_ref.txt")
    mb = load_module("medpy_binary", os.path.join(root, "medpy", "binary.py"))
    sys.path.insert(0, os.path.join(root, "monai"))
    import torch  # noqa: E402
    mm = importlib.import_module("monai.metrics")
    sys.path.insert(0, os.path.join(root, "sd"))
    sdm = importlib.import_module("surface_distance.metrics")
    sys.path.insert(0, HERE)
    from gen_metrics2_ref import load, load_nnunet  # noqa: E402
    pm, _ = load(os.path.join(root, "mr"))
    nn = load_nnunet(os.path.join(root, "nn", "evaluate_predictions.py"))
    peers = [("medpy", lambda *a: medpy_values(mb, *a)),
             ("monai", lambda *a: monai_values(mm, torch, *a)),
             ("deepmind", lambda *a: deepmind_values(sdm, *a)),
             ("metricsreloaded", lambda *a: mr_values(pm, *a)),
             ("nnunet", lambda *a: nnunet_values(nn, *a))]
    lines = ["# generated by tools/ref/gen_convention_ref.py (NumPy %s, torch %s)"
             % (np.__version__, torch.__version__)]
    for name, pred, ref, sp, tau in cases():
        lines.append("case %s %d %s %s %r" % (name, pred.ndim, " ".join(map(str, pred.shape)),
                                             " ".join(repr(float(s)) for s in sp), float(tau)))
        lines.append("pred " + "".join("1" if x else "0" for x in pred.ravel()))
        lines.append("ref " + "".join("1" if x else "0" for x in ref.ravel()))
        for conv, fn in peers:
            vals = fn(pred, ref, sp, tau)
            lines.append(conv + " " + " ".join("%s %r" % (k, x) for k, x in vals.items()))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    cli_fixtures(peers)


# `segloss eval --convention X --metrics CLI_METRICS[X] --labels 1,2,3,4
#  --spacing 2.5,0.9,0.9 --tolerance 2 --csv -` on tests/cli/eval_data/convention/
# {pred,ref}.npy (label 1 in both, 2 in the reference only, 3 in the
# prediction only, 4 in neither): expected.txt rows "conv_X ref.npy LABEL KEY
# VALUE", the values from the tool on (pred == L, ref == L), the counts from
# NumPy; inf where the tool gives inf (the CSV field is empty, as for nan).
CLI_METRICS = {
    "medpy": "dice,iou,precision,recall,specificity,hd,hd95,assd",
    "monai": "dice,iou,precision,recall,specificity,accuracy,balanced_accuracy,mcc,youden,"
             "npv,fpr,fnr,fdr,for,hd,hd95,assd,nsd",
    "deepmind": "dice,hd,hd95,nsd",
    "metricsreloaded": "dice,iou,precision,recall,specificity,accuracy,mcc,kappa,fbeta,"
                       "balanced_accuracy,youden,npv,fpr,lr_pos,hd,hd95,assd,masd,nsd,"
                       "com_dist,boundary_iou",
    "nnunet": "dice,iou",
}
CLI_SPACING, CLI_TAU = (2.5, 0.9, 0.9), 2.0


def cli_fixtures(peers):
    outdir = os.path.join(HERE, "..", "..", "tests", "cli", "eval_data", "convention")
    os.makedirs(outdir, exist_ok=True)
    shape = (10, 14, 12)
    ref = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    ref[ellipsoid(shape, (5, 7, 6), (3.5, 5.5, 4.0))] = 1
    pred[ellipsoid(shape, (6, 8, 5), (2.2, 3.6, 3.1))] = 1
    pred[0, 0, 0:3] = 1                     # a stray run on the border
    ref[8:10, 0:3, 9:12] = 2
    pred[0:2, 11:14, 0:2] = 3
    np.save(os.path.join(outdir, "pred.npy"), pred)
    np.save(os.path.join(outdir, "ref.npy"), ref)
    rows = ["# RUN CASE LABEL KEY VALUE - generated by tools/ref/gen_convention_ref.py"]
    for conv, fn in peers:
        keys = CLI_METRICS[conv].split(",")
        for lab in (1, 2, 3, 4):
            a, b = pred == lab, ref == lab
            tp, fp, fn_ = int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())
            counts = {"tp": tp, "fp": fp, "fn": fn_, "tn": a.size - tp - fp - fn_,
                      "n_pred": int(a.sum()), "n_ref": int(b.sum())}
            vals = fn(a, b, CLI_SPACING, CLI_TAU)
            for k, v in counts.items():
                rows.append("conv_%s ref.npy %d %s %d" % (conv, lab, k, v))
            for k in keys:
                rows.append("conv_%s ref.npy %d %s %r" % (conv, lab, k, vals[k]))
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
