#!/usr/bin/python3
"""Reference values for instance (lesion-wise) evaluation
(tests/test_metric_instances.c reads tests/data/metric/instances_ref.txt).

Usage:
  /usr/bin/python3 tools/ref/gen_instances_ref.py MONAI_DIR METRICS_RELOADED_DIR \
      BRATS2023_DIR [PANDAS_SITE] > tests/data/metric/instances_ref.txt
  SEGLOSS_CLI_FIXTURES=tests/cli/instances_data /usr/bin/python3 \
      tools/ref/gen_instances_ref.py ...same arguments... >/dev/null
      also writes the .npy inputs and expected.txt of tests/cli/instances.sh

MONAI_DIR, METRICS_RELOADED_DIR, BRATS2023_DIR: checkouts (or `git archive`
trees) of Project-MONAI/MONAI, Project-MONAI/MetricsReloaded and
rachitsaluja/BraTS-2023-Metrics. PANDAS_SITE: a directory holding pandas
1.5 (Metrics Reloaded and the BraTS code need it; Debian's python3-pandas
works: `apt-get download python3-pandas python3-pandas-lib` and `dpkg -x`
them, then pass .../usr/lib/python3/dist-packages).

What each reference comes from:
 * components: scipy.ndimage.label with generate_binary_structure(ndim, c)
   on random masks; the labels are checked here to be numbered in scan
   order of first voxel (so the C test compares label for label).
 * matching: a brute-force pairwise IoU/Dice matrix in numpy (one dense
   mask comparison per pair), greedy by sorting the candidate pairs, and
   the Hungarian optimum from scipy.optimize.linear_sum_assignment on the
   candidate weights; MONAI's compute_panoptic_quality (tp, fp, fn,
   iou_sum, pq, sq, rq; monai/metrics/panoptic_quality.py run as is) and
   Metrics Reloaded's AssignmentMapping (mask_iou, greedy_matching;
   MetricsReloaded/utility/assignment_localization.py run as is) where
   their rules are the ones segloss implements (see docs/instances.md).
 * BraTS 2023 lesion-wise: metrics.py's get_LesionWiseScores and the
   aggregation of get_LesionWiseResults, run on in-memory volumes.

Imports stubbed (never the computation): MONAI's package __init__ chain and
its CumulativeIterationMetric base class (panoptic_quality.py imports them;
compute_panoptic_quality does not use them) — remap_instance_id is taken
from monai/metrics/utils.py's own source; nibabel (the BraTS code only
calls nib.load(path).get_fdata() and header.get_zooms(): a stand-in object
returns the in-memory volume and spacing); cc3d (not packaged here:
cc3d.connected_components(x, connectivity=26) is
scipy.ndimage.label(x, generate_binary_structure(3, 3))[0], the same
labelling up to numbering, which the BraTS scores do not depend on);
DataFrame.append runs on pandas 1.5. Metrics Reloaded prints progress to
stdout: it is redirected to stderr here.
"""
import ast
import contextlib
import os
import sys
import types

import numpy as np
import scipy
import scipy.ndimage as ndi
from scipy.optimize import linear_sum_assignment

RNG = np.random.default_rng(20261206)


# --------------------------------------------------------------------------
# Peer code loading
# --------------------------------------------------------------------------
def load_monai(monai_dir):
    import torch
    src = open(os.path.join(monai_dir, "monai/metrics/utils.py")).read()
    tree = ast.parse(src)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "remap_instance_id"][0]
    utils = types.ModuleType("monai.metrics.utils")
    from typing import Any, Iterable
    utils.__dict__.update(torch=torch, Any=Any, Iterable=Iterable)
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "monai/metrics/utils.py", "exec"), utils.__dict__)
    utils.do_metric_reduction = None  # used by aggregate() only
    metric = types.ModuleType("monai.metrics.metric")
    metric.CumulativeIterationMetric = type("CumulativeIterationMetric", (), {})
    mutils = types.ModuleType("monai.utils")
    mutils.MetricReduction = types.SimpleNamespace(MEAN_BATCH="mean_batch")

    def optional_import(module, name=""):
        import importlib
        return getattr(importlib.import_module(module), name), True

    mutils.optional_import = optional_import
    mutils.ensure_tuple = tuple  # used by the metric class only
    for name, mod in [("monai", types.ModuleType("monai")),
                      ("monai.metrics", types.ModuleType("monai.metrics")),
                      ("monai.metrics.utils", utils), ("monai.metrics.metric", metric),
                      ("monai.utils", mutils)]:
        sys.modules[name] = mod
    pq = types.ModuleType("monai.metrics.panoptic_quality")
    path = os.path.join(monai_dir, "monai/metrics/panoptic_quality.py")
    exec(compile(open(path).read(), path, "exec"), pq.__dict__)
    return pq


def load_mr(mr_dir):
    # MetricsReloaded/processes imports nibabel at import time (for file
    # loading this script does not use): the stand-in module of load_brats.
    sys.modules.setdefault("nibabel", types.ModuleType("nibabel"))
    sys.path.insert(0, mr_dir)
    from MetricsReloaded.utility.assignment_localization import AssignmentMapping
    return AssignmentMapping


def load_brats(brats_dir):
    nib = sys.modules.setdefault("nibabel", types.ModuleType("nibabel"))
    cc3d = types.ModuleType("cc3d")

    def connected_components(x, connectivity=26):
        assert connectivity == 26
        return ndi.label(x, ndi.generate_binary_structure(3, 3))[0]

    cc3d.connected_components = connected_components
    sys.modules["nibabel"] = nib
    sys.modules["cc3d"] = cc3d
    sys.path.insert(0, brats_dir)
    import metrics as brats
    return brats, nib


# --------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------
def scan_order(lab):
    """True when labels 1..n appear in scan order of their first voxel."""
    flat = lab.ravel()
    nz = flat[flat > 0]
    _, first = np.unique(nz, return_index=True)
    return bool(np.all(np.diff(first) > 0)) and (nz.size == 0 or np.array_equal(np.unique(nz), np.arange(1, nz.max() + 1)))


def mask_str(m):
    return "".join("1" if v else "0" for v in m.ravel())


def emit_components(out):
    shapes = [(1, (40,)), (2, (13, 17)), (2, (24, 9)), (3, (6, 7, 8)), (3, (9, 5, 11))]
    k = 0
    for ndim, shape in shapes:
        for density in (0.3, 0.5, 0.7):
            m = RNG.random(shape) < density
            for conn in range(1, ndim + 1):
                lab, n = ndi.label(m, ndi.generate_binary_structure(ndim, conn))
                assert scan_order(lab)
                out.append(f"components c{k} {ndim} {' '.join(map(str, shape))} {conn} {n}")
                out.append("mask " + mask_str(m))
                out.append("labels " + " ".join(map(str, lab.ravel())))
                k += 1


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------
def blob(shape, centre, radius):
    g = np.indices(shape).astype(float)
    d2 = sum((g[a] - centre[a]) ** 2 for a in range(len(shape)))
    return d2 <= radius * radius


def lesion_cases():
    """(name, ref_mask, pred_mask) synthetic lesion maps."""
    cases = []
    s = (24, 28)
    ref = blob(s, (5, 5), 3) | blob(s, (15, 20), 4) | blob(s, (5, 20), 2)
    pred = blob(s, (5, 6), 3) | blob(s, (16, 20), 3) | blob(s, (19, 5), 2)
    cases.append(("shifted", ref, pred))
    # a reference lesion split in two by the prediction
    ref = blob(s, (10, 10), 5)
    pred = ref.copy()
    pred[10, :] = False
    cases.append(("split", ref, pred))
    # two reference lesions merged by one prediction (many-to-one)
    ref = blob(s, (10, 7), 3) | blob(s, (10, 15), 3)
    pred = np.zeros(s, bool)
    pred[7:14, 4:19] = True
    cases.append(("merged", ref, pred))
    # touching lesions (one component at connectivity 2)
    ref = np.zeros(s, bool)
    ref[2:6, 2:6] = True
    ref[6:10, 6:10] = True
    pred = np.zeros(s, bool)
    pred[2:6, 2:7] = True
    pred[6:10, 7:10] = True
    cases.append(("touching", ref, pred))
    cases.append(("empty_ref", np.zeros(s, bool), blob(s, (8, 8), 3)))
    cases.append(("empty_pred", blob(s, (8, 8), 3), np.zeros(s, bool)))
    cases.append(("both_empty", np.zeros(s, bool), np.zeros(s, bool)))
    # lesions on the border
    ref = np.zeros(s, bool)
    ref[0:3, 0:4] = True
    ref[20:24, 25:28] = True
    pred = np.zeros(s, bool)
    pred[0:3, 0:3] = True
    pred[21:24, 24:28] = True
    cases.append(("border", ref, pred))
    # ambiguous at low thresholds: p1 overlaps r1 (iou 6/14) and r2 (3/10),
    # p2 lies inside r1 (iou 3/10). Above 0.1: greedy takes (r1, p1) alone,
    # the Hungarian optimum is (r1, p2) + (r2, p1). MONAI at 0.3 runs its
    # Munkres step on every pair, gets that same optimum and then drops both
    # pairs (0.3 is not > 0.3), where segloss matches (r1, p1).
    ref = np.zeros(s, bool)
    ref[3:7, 2:12] = True
    ref[3:7, 13:16] = True
    pred = np.zeros(s, bool)
    pred[3:7, 2:5] = True
    pred[3:7, 6:16] = True
    cases.append(("ambiguous", ref, pred))
    # 3-D random blobs, anisotropic-looking extents
    s3 = (10, 16, 14)
    for t in range(3):
        ref = np.zeros(s3, bool)
        pred = np.zeros(s3, bool)
        for _ in range(6):
            c = RNG.integers(0, s3)
            r = RNG.uniform(1.0, 3.2)
            ref |= blob(s3, c, r)
            if RNG.random() < 0.8:
                pred |= blob(s3, c + RNG.integers(-1, 2, 3) * (RNG.random() < 0.5), r * RNG.uniform(0.8, 1.2))
        for _ in range(2):
            pred |= blob(s3, RNG.integers(0, s3), RNG.uniform(0.8, 2.0))
        cases.append((f"random3d_{t}", ref, pred))
    return cases


def pair_scores(rl, nr, pl, np_):
    inter = np.zeros((nr + 1, np_ + 1), np.int64)
    for r in range(1, nr + 1):
        for p in range(1, np_ + 1):
            inter[r, p] = np.sum((rl == r) & (pl == p))
    sr = np.array([np.sum(rl == r) for r in range(nr + 1)])
    sp = np.array([np.sum(pl == p) for p in range(np_ + 1)])
    iou = np.zeros_like(inter, float)
    dice = np.zeros_like(inter, float)
    for r in range(1, nr + 1):
        for p in range(1, np_ + 1):
            if inter[r, p]:
                iou[r, p] = inter[r, p] / (sr[r] + sp[p] - inter[r, p])
                dice[r, p] = 2 * inter[r, p] / (sr[r] + sp[p])
    return inter, iou, dice


def brute_match(inter, iou, dice, nr, np_, rule, thr, assignment):
    score = dice if rule == "dice" else iou
    cand = inter > 0 if rule == "overlap" else score > thr
    cand[0, :] = False
    cand[:, 0] = False
    pairs = []
    if assignment == "greedy":
        lst = sorted(((-score[r, p], r, p) for r in range(nr + 1) for p in range(np_ + 1) if cand[r, p]))
        ur, up = set(), set()
        for _, r, p in lst:
            if r not in ur and p not in up:
                ur.add(r)
                up.add(p)
                pairs.append((r, p))
    else:
        w = np.where(cand, score, 0.0)[1:, 1:]
        if w.size:
            rows, cols = linear_sum_assignment(w, maximize=True)
            pairs = [(r + 1, c + 1) for r, c in zip(rows, cols) if w[r, c] > 0]
    pairs.sort()
    return pairs


def fmt(v):
    return repr(float(v))


def emit_matching(out, monai_pq, mr_assign):
    import torch
    for name, ref, pred in lesion_cases():
        ndim = ref.ndim
        st = ndi.generate_binary_structure(ndim, ndim)
        rl, nr = ndi.label(ref, st)
        pl, np_ = ndi.label(pred, st)
        assert scan_order(rl) and scan_order(pl)
        inter, iou, dice = pair_scores(rl, nr, pl, np_)
        out.append(f"lesions {name} {ndim} {' '.join(map(str, ref.shape))}")
        out.append("ref " + mask_str(ref))
        out.append("pred " + mask_str(pred))
        for rule, thr in (("iou", 0.5), ("iou", 0.3), ("iou", 0.1), ("dice", 0.5), ("overlap", 0.0)):
            for assignment in ("greedy", "hungarian"):
                pairs = brute_match(inter, iou, dice, nr, np_, rule, thr, assignment)
                tp = len(pairs)
                iou_sum = sum(iou[r, p] for r, p in pairs)
                out.append(f"match {rule} {thr!r} {assignment} {nr} {np_} {tp} {np_ - tp} {nr - tp} "
                           f"{fmt(iou_sum)} {len(pairs)} " + " ".join(f"{r} {p}" for r, p in pairs))
        # MONAI: iou > 0.5 (its non-Munkres branch; the one-to-one pairs)
        conf = monai_pq.compute_panoptic_quality(torch.as_tensor(pl), torch.as_tensor(rl),
                                                 match_iou_threshold=0.5, output_confusion_matrix=True)
        pqsr = [monai_pq.compute_panoptic_quality(torch.as_tensor(pl), torch.as_tensor(rl), metric_name=m,
                                                  match_iou_threshold=0.5) for m in ("pq", "sq", "rq")]
        out.append("monai 0.5 " + " ".join(str(int(v)) for v in conf[:3]) + " " + fmt(conf[3]) + " " +
                   " ".join(fmt(v) for v in pqsr))
        conf = monai_pq.compute_panoptic_quality(torch.as_tensor(pl), torch.as_tensor(rl),
                                                 match_iou_threshold=0.3, output_confusion_matrix=True)
        out.append("monai 0.3 " + " ".join(str(int(v)) for v in conf[:3]) + " " + fmt(conf[3]))
        # Metrics Reloaded: mask_iou, thresh 0.5, greedy_matching
        if nr and np_:
            with contextlib.redirect_stdout(sys.stderr):
                am = mr_assign([(pl == p).astype(int) for p in range(1, np_ + 1)],
                               [(rl == r).astype(int) for r in range(1, nr + 1)],
                               None, localization="mask_iou", thresh=0.5, assignment="greedy_matching")
                df = am.df_matching
            tpr = df[(df["ref"] >= 0) & (df["pred"] >= 0)]
            mr_pairs = sorted((int(r) + 1, int(p) + 1) for r, p in zip(tpr["ref"], tpr["pred"]))
            mr_fp = int((df["ref"] < 0).sum())
            mr_fn = int((df["pred"] < 0).sum())
            out.append(f"mr 0.5 {len(mr_pairs)} {mr_fp} {mr_fn} {len(mr_pairs)} " +
                       " ".join(f"{r} {p}" for r, p in mr_pairs))
        out.append("end")


# --------------------------------------------------------------------------
# BraTS 2023 lesion-wise (GLI: dilation 3, volume threshold 50)
# --------------------------------------------------------------------------
def brats_cases():
    s = (24, 30, 28)
    cases = []
    for t in range(4):
        gt = np.zeros(s, np.uint8)
        pr = np.zeros(s, np.uint8)
        for _ in range(5):
            c = RNG.integers(2, np.array(s) - 2)
            r = RNG.uniform(1.5, 4.5)
            gt[blob(s, c, r)] = 1
            if RNG.random() < 0.75:
                pr[blob(s, c + RNG.integers(-2, 3, 3), r * RNG.uniform(0.5, 1.3))] = 1
        for _ in range(2):
            pr[blob(s, RNG.integers(0, s), RNG.uniform(1.0, 3.0))] = 1
        cases.append((f"brats{t}", gt, pr))
    gt = np.zeros(s, np.uint8)
    gt[blob(s, (12, 10, 8), 4)] = 1
    gt[blob(s, (12, 10, 15), 3)] = 1   # joined to the first by the dilation
    pr = np.zeros(s, np.uint8)
    pr[blob(s, (12, 10, 9), 4)] = 1
    cases.append(("brats_joined", gt, pr))
    cases.append(("brats_empty_pred", gt.copy(), np.zeros(s, np.uint8)))
    cases.append(("brats_empty_gt", np.zeros(s, np.uint8), pr.copy()))
    cases.append(("brats_both_empty", np.zeros(s, np.uint8), np.zeros(s, np.uint8)))
    return cases


def emit_brats(out, brats, nib):
    import pandas as pd
    import math
    for name, gt, pr in brats_cases():
        for spacing in ((1.0, 1.0, 1.0), (1.0, 1.0, 2.0)):
            vols = {"gt": gt.astype(np.float64), "pred": pr.astype(np.float64)}

            def load(path, vols=vols, spacing=spacing):
                v = vols[path].copy()
                hdr = types.SimpleNamespace(get_zooms=lambda: spacing)
                return types.SimpleNamespace(get_fdata=lambda: v, header=hdr)

            nib.load = load
            # label_value 'ET' keeps value 3 only: pass the masks as 3s.
            vols["gt"] *= 3
            vols["pred"] *= 3
            tp, fn, fp, gt_tp, metric_pairs, *_ = brats.get_LesionWiseScores("pred", "gt", "ET", 3)
            # get_LesionWiseResults' aggregation, verbatim in substance
            thresh = 50
            metric_df = pd.DataFrame(metric_pairs, columns=['predicted_lesion_numbers', 'gt_lesion_numbers',
                                                            'gt_lesion_vol', 'dice_lesionwise',
                                                            'hd95_lesionwise']).sort_values(
                by=['gt_lesion_numbers'], ascending=True).reset_index(drop=True)
            metric_df['_len'] = metric_df['predicted_lesion_numbers'].map(len)
            fn_sub = (metric_df[(metric_df['_len'] == 0) & (metric_df['gt_lesion_vol'] <= thresh)]).shape[0]
            gt_tp_sub = (metric_df[(metric_df['_len'] != 0) & (metric_df['gt_lesion_vol'] <= thresh)]).shape[0]
            # metric_df.replace(np.inf, 374) as in metrics.py, on the numeric
            # columns: pandas 1.5 cannot compare the object column of lesion
            # number arrays with a scalar (the values replaced are the same).
            num = ['gt_lesion_vol', 'dice_lesionwise', 'hd95_lesionwise']
            metric_df[num] = metric_df[num].replace(np.inf, 374)
            th = metric_df[metric_df['gt_lesion_vol'] > thresh]
            try:
                lw_dice = np.sum(th['dice_lesionwise']) / (len(th) + len(fp))
            except ZeroDivisionError:
                lw_dice = np.nan
            try:
                lw_hd95 = (np.sum(th['hd95_lesionwise']) + len(fp) * 374) / (len(th) + len(fp))
            except ZeroDivisionError:
                lw_hd95 = np.nan
            if math.isnan(lw_dice):
                lw_dice = 1
            if math.isnan(lw_hd95):
                lw_hd95 = 0
            out.append(f"brats {name} {' '.join(map(str, gt.shape))} {' '.join(map(repr, spacing))}")
            out.append("gt " + mask_str(gt))
            out.append("pred " + mask_str(pr))
            out.append(f"counts {len(gt_tp) - gt_tp_sub} {len(fp)} {len(fn) - fn_sub} {len(metric_df)}")
            out.append(f"scores {fmt(lw_dice)} {fmt(lw_hd95)}")
            for _, row in metric_df.sort_values('gt_lesion_numbers').iterrows():
                out.append(f"lesion {fmt(row['gt_lesion_vol'])} {len(row['predicted_lesion_numbers'])} "
                           f"{fmt(row['dice_lesionwise'])} {fmt(row['hd95_lesionwise'])}")
            out.append("end")


def emit_cli_fixtures(outdir, monai_pq, brats, nib):
    """Inputs of tests/cli/instances.sh and expected.txt ("KEY VALUE")."""
    import torch
    os.makedirs(outdir, exist_ok=True)
    cases = {name: (ref, pred) for name, ref, pred in lesion_cases()}
    exp = []
    # label map: label 1 = the "shifted" lesions (left half), label 2 = the
    # "ambiguous" ones (right half)
    z = np.zeros_like(cases["shifted"][0])
    r1, p1 = (np.concatenate([m, z], axis=1) for m in cases["shifted"])
    r2, p2 = (np.concatenate([z, m], axis=1) for m in cases["ambiguous"])
    ref = np.where(r2, 2, np.where(r1, 1, 0)).astype(np.uint8)
    pred = np.where(p2, 2, np.where(p1, 1, 0)).astype(np.uint8)
    np.save(os.path.join(outdir, "ref.npy"), ref)
    np.save(os.path.join(outdir, "pred.npy"), pred)
    st = ndi.generate_binary_structure(2, 2)
    for lab in (1, 2):
        rl, nr = ndi.label(ref == lab, st)
        pl, np_ = ndi.label(pred == lab, st)
        inter, iou, dice = pair_scores(rl, nr, pl, np_)
        for tag, rule, thr, asg in (("default", "iou", 0.5, "greedy"), ("g01", "iou", 0.1, "greedy"),
                                    ("h01", "iou", 0.1, "hungarian")):
            pairs = brute_match(inter, iou, dice, nr, np_, rule, thr, asg)
            tp = len(pairs)
            fp, fn = np_ - tp, nr - tp
            iou_sum = sum(iou[r, p] for r, p in pairs)
            half = tp + fp / 2 + fn / 2
            exp.append(f"{tag}_{lab}_tp {tp}")
            exp.append(f"{tag}_{lab}_fp {fp}")
            exp.append(f"{tag}_{lab}_fn {fn}")
            exp.append(f"{tag}_{lab}_pq {fmt(iou_sum / half if half else float('nan'))}")
            exp.append(f"{tag}_{lab}_f1 {fmt(tp / half if half else float('nan'))}")
        conf = monai_pq.compute_panoptic_quality(torch.as_tensor(pl), torch.as_tensor(rl),
                                                 match_iou_threshold=0.5)
        exp.append(f"monai_{lab}_pq {fmt(conf)}")
    # instance-ID map of the same label-1 lesions, IDs scrambled
    rl, nr = ndi.label(r1, st)
    pl, np_ = ndi.label(p1, st)
    ids_r = np.where(rl > 0, rl * 37 + 1000, 0).astype(np.int32)
    ids_p = np.where(pl > 0, (np_ + 1 - pl) * 11 + 5, 0).astype(np.int32)
    np.save(os.path.join(outdir, "ids_ref.npy"), ids_r)
    np.save(os.path.join(outdir, "ids_pred.npy"), ids_p)
    # a BraTS case, official scores
    name, gt, pr = brats_cases()[2]
    np.save(os.path.join(outdir, "brats_ref.npy"), gt)
    np.save(os.path.join(outdir, "brats_pred.npy"), pr)
    vols = {"gt": gt.astype(np.float64) * 3, "pred": pr.astype(np.float64) * 3}

    def load(path):
        v = vols[path].copy()
        hdr = types.SimpleNamespace(get_zooms=lambda: (1.0, 1.0, 1.0))
        return types.SimpleNamespace(get_fdata=lambda: v, header=hdr)

    nib.load = load
    tp, fn, fp, gt_tp, pairs, *_ = brats.get_LesionWiseScores("pred", "gt", "ET", 3)
    kept = [(d, h) for (_, _, vol, d, h) in pairs if vol > 50]
    n = len(kept) + len(fp)
    exp.append(f"brats_dice {fmt(sum(d for d, _ in kept) / n)}")
    exp.append(f"brats_hd95 {fmt((sum(min(h, 374) for _, h in kept) + 374 * len(fp)) / n)}")
    exp.append(f"brats_fp {len(fp)}")
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        f.write("# tests/cli/instances.sh expectations: tools/ref/gen_instances_ref.py\n")
        f.write("\n".join(exp) + "\n")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    monai_dir, mr_dir, brats_dir = sys.argv[1:4]
    if len(sys.argv) > 4:
        sys.path.insert(0, sys.argv[4])
    import pandas
    import torch
    monai_pq = load_monai(monai_dir)
    mr_assign = load_mr(mr_dir)
    brats, nib = load_brats(brats_dir)
    out = []
    emit_components(out)
    emit_matching(out, monai_pq, mr_assign)
    emit_brats(out, brats, nib)
    if os.environ.get("SEGLOSS_CLI_FIXTURES"):
        emit_cli_fixtures(os.environ["SEGLOSS_CLI_FIXTURES"], monai_pq, brats, nib)
    print("# segloss instance references: generated by tools/ref/gen_instances_ref.py")
    print(f"# scipy {scipy.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
          f"pandas {pandas.__version__}; MONAI, Metrics Reloaded, BraTS-2023-Metrics")
    print("# checkouts as named in docs/instances.md. Do not edit; regenerate.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
