#!/usr/bin/python3
"""Reference values for `--convention evaluatesegmentation`: the real
EvaluateSegmentation binary run on NIfTI masks, one block per case.

Writes tests/data/metric/evalseg_ref.txt, read by tests/test_metric_evalseg.c
(the C tests never run the tool or Python). Needs /usr/bin/python3 with NumPy
and SciPy, and the tool built by tools/ref/build_evaluatesegmentation.sh:

    sh tools/ref/build_evaluatesegmentation.sh EVALSEG_CHECKOUT /tmp/evalseg
    /usr/bin/python3 tools/ref/gen_evalseg_ref.py /tmp/evalseg

Version used for the committed file: EvaluateSegmentation 4cff08d
(github.com/Visceral-Project/EvaluateSegmentation), built with Debian 12's
ITK 5.2.1 (libinsighttoolkit5-dev 5.2.1-5+deb12u1) and g++ 12, -O3. Patches to
the tool: none (it compiles with ITK 5.2 as it is); the link needed the FFTW
development names, see the build script.

The masks: the cases of gen_convention_ref.py (2-D and 3-D, anisotropic
spacing, empty masks on either side and both, single voxels, identical masks,
border objects, random masks) and more: a reference in the first slice of a
3-D volume only (the tool's 2-D Mahalanobis), a full prediction and a full
reference (its NaN entropies and 0/0 rules), disjoint masks (TP = 0), masks
on one line (a singular covariance), a shifted square and larger random 3-D
blobs with spacing below 1. Each is written as two uint8 NIfTI-1 files (the
array in C order, NIfTI axes = the array axes reversed, pixdim = the spacing
reversed, as segloss reads NIfTI); the reference is the tool's first
("fixed", ground truth) argument, the prediction its second ("moving").

Runs, each parsed from the tool's stdout ("SYMBOL = VALUE ..."):
  voxel       `-use all` (distances in voxel units, the tool's default);
              the tool's own 6-decimal print is checked against the full
              value of the same run (the shim's ES_DIGITS).
  millimeter  `-unit millimeter -use HDRFDST,AVGDIST,REFVOL,SEGVOL`: the
              distances with the spacing, the volumes in ml.
  quantile    `-use HDRFDST@Q@` for Q = 0.95 and 0.5 in both units, once for
              each of 16 seeds (ES_TIME = 1..16: the tool seeds its shuffles
              with time(NULL)): the smallest and largest value and how many
              distinct values the seeds gave.
  refused     the tool's message when it computes nothing (an empty mask).
The full values come from the tool's own double through the LD_PRELOAD shim
(printf "%.17g" instead of "%.6f"); nothing else of the tool is changed.

Independent of the tool, from the definitions with NumPy/SciPy (exact
Euclidean distance transforms, scipy.ndimage.distance_transform_edt with
the spacing or without it):
  exact UNIT  hd = max(max_{a in A} d(a,B), max_{b in B} d(b,A)); masd =
              (mean_{a in A} d(a,B) + mean_{b in B} d(b,A))/2 (d(x,X) = 0
              inside X); hd95 / hd50 = the tool's quantile without its early
              exit: D = the pooled d over the voxels of A\\B and B\\A, sorted,
              D[int(Q*(len(D)-1))] (hd when len(D) <= 1).

File format:
    case NAME NDIM D0 [D1 [D2]] S0 [S1 [S2]]
    pred DIGITS   (0/1 per voxel, C order)
    ref DIGITS
    voxel KEY VALUE ...           (segloss's metric names)
    millimeter KEY VALUE ...
    quantile UNIT Q MIN MAX NDISTINCT
    exact UNIT hd X masd X hd95 X hd50 X
    refused MESSAGE
"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_convention_ref import cases as convention_cases, ellipsoid  # noqa: E402

# the tool's symbol -> segloss's metric name (bAVD has none)
KEYS = {"DICE": "dice", "JACRD": "iou", "AUC": "auc", "KAPPA": "kappa", "RNDIND": "ri",
        "ADJRIND": "ari", "ICCORR": "icc", "VOLSMTY": "vs", "MUTINF": "mi", "HDRFDST": "hd",
        "AVGDIST": "masd", "MAHLNBS": "mahalanobis", "VARINFO": "voi", "GCOERR": "gce",
        "PROBDST": "pbd", "SNSVTY": "recall", "SPCFTY": "specificity", "PRCISON": "precision",
        "FMEASR": "fbeta", "ACURCY": "accuracy", "FALLOUT": "fpr", "TP": "tp", "FP": "fp",
        "TN": "tn", "FN": "fn", "REFVOL": "vol_ref", "SEGVOL": "vol_pred"}
SEEDS = range(1, 17)
QUANTILES = (0.95, 0.5)


def more_cases():
    out = []
    s3 = (6, 20, 18)
    flat_r = np.zeros(s3, bool)
    flat_r[0] = ellipsoid(s3[1:], (9, 8), (6.5, 5.0))
    flat_p = np.zeros(s3, bool)
    flat_p[0:3, 4:14, 6:15] = True
    out.append(("flat_ref3d", flat_p, flat_r, (3.0, 0.8, 1.1)))
    s2 = (16, 19)
    blob = ellipsoid(s2, (7, 9), (5.2, 6.4))
    out.append(("full_pred2d", np.ones(s2, bool), blob, (1.0, 1.0)))
    out.append(("full_ref2d", blob, np.ones(s2, bool), (0.7, 1.3)))
    left = np.zeros(s2, bool)
    left[2:9, 1:6] = True
    right = np.zeros(s2, bool)
    right[6:14, 11:18] = True
    out.append(("disjoint2d", left, right, (1.0, 2.0)))
    line_p = np.zeros(s2, bool)
    line_p[5, 2:9] = True
    line_r = np.zeros(s2, bool)
    line_r[5, 6:17] = True
    out.append(("line2d", line_p, line_r, (1.0, 1.0)))
    sq_p = np.zeros(s2, bool)
    sq_p[3:10, 4:12] = True
    sq_r = np.zeros(s2, bool)
    sq_r[4:11, 4:12] = True
    out.append(("shifted2d", sq_p, sq_r, (1.5, 1.0)))
    rng = np.random.default_rng(61206)
    shape = (20, 26, 22)
    r = ndimage.gaussian_filter(rng.random(shape), 2.0)
    ref = r > np.quantile(r, 0.75)
    pred = ndimage.binary_erosion(ndimage.binary_dilation(ref, iterations=2))
    pred ^= rng.random(shape) < 0.02
    out.append(("blobs3d", pred, ref, (2.5, 0.6, 0.45)))
    return out


def all_cases():
    out = [(n, p, r, sp) for n, p, r, sp, _tau in convention_cases()]
    return out + more_cases()


def write_nifti(path, arr, sp):
    arr = np.ascontiguousarray(arr.astype(np.uint8))
    dims, pix = arr.shape[::-1], tuple(float(s) for s in sp)[::-1]
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, *([len(dims)] + list(dims) + [1] * (7 - len(dims))))
    struct.pack_into("<hh", h, 70, 2, 8)                       # DT_UINT8, 8 bits
    struct.pack_into("<8f", h, 76, *([1.0] + list(pix) + [0.0] * (7 - len(pix))))
    struct.pack_into("<fff", h, 108, 352.0, 1.0, 0.0)
    h[123] = 2                                                 # mm
    h[344:348] = b"n+1\0"
    with open(path, "wb") as f:
        f.write(bytes(h) + b"\0\0\0\0" + arr.tobytes())


class Tool:
    def __init__(self, root, tmp):
        self.exe = os.path.join(root, "build", "EvaluateSegmentation")
        self.shim = os.path.join(root, "shim.so")
        self.tmp = tmp

    def run(self, args, digits=True, seed=1):
        env = dict(os.environ, ES_TIME=str(seed), LD_PRELOAD=self.shim)
        if digits:
            env["ES_DIGITS"] = "1"
        p = subprocess.run([self.exe, "r.nii", "p.nii"] + args, cwd=self.tmp, env=env,
                           capture_output=True, text=True, timeout=600)
        vals, msgs = {}, []
        for line in p.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].startswith("= ") and parts[0] in KEYS:
                vals[KEYS[parts[0]]] = parts[1][2:].strip()
            elif "empty" in line or "Exception" in line:
                msgs.append(line.strip())
        return vals, msgs, p.returncode, p.stderr.strip()


def fl(s):
    return float(s.replace("-nan", "nan"))


def exact(pred, ref, sp):
    """hd, masd and the pooled lower quantiles from exact EDTs."""
    d_to_ref = ndimage.distance_transform_edt(~ref, sampling=sp)
    d_to_pred = ndimage.distance_transform_edt(~pred, sampling=sp)
    da, db = d_to_ref[pred], d_to_pred[ref]
    out = {"hd": float(max(da.max(), db.max())), "masd": float((da.mean() + db.mean()) / 2)}
    pooled = np.sort(np.concatenate([d_to_ref[pred & ~ref], d_to_pred[ref & ~pred]]))
    for q in QUANTILES:
        key = "hd%d" % round(q * 100)
        out[key] = float(pooled[int(q * (len(pooled) - 1))]) if len(pooled) > 1 else out["hd"]
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/evalseg"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, "..", "..", "tests", "data", "metric", "evalseg_ref.txt")
    tmp = tempfile.mkdtemp(prefix="evalseg_ref_")
    tool = Tool(root, tmp)
    lines = ["# generated by tools/ref/gen_evalseg_ref.py: EvaluateSegmentation 4cff08d, "
             "ITK 5.2.1, NumPy %s" % np.__version__]
    for name, pred, ref, sp in all_cases():
        pred, ref = pred.astype(bool), ref.astype(bool)
        # the spacing as the NIfTI header holds it (float32), which both the
        # tool and segloss read
        sp = tuple(float(np.float32(s)) for s in sp)
        write_nifti(os.path.join(tmp, "p.nii"), pred, sp)
        write_nifti(os.path.join(tmp, "r.nii"), ref, sp)
        lines.append("case %s %d %s %s" % (name, pred.ndim, " ".join(map(str, pred.shape)),
                                           " ".join(repr(float(s)) for s in sp)))
        lines.append("pred " + "".join("1" if x else "0" for x in pred.ravel()))
        lines.append("ref " + "".join("1" if x else "0" for x in ref.ravel()))
        full, msgs, rc, err = tool.run(["-use", "all"])
        short, _, _, _ = tool.run(["-use", "all"], digits=False)
        if msgs and not full:
            lines.append("refused " + " ".join(msgs))
            print("%-14s refused: %s" % (name, " ".join(msgs)))
            continue
        if rc != 0 or err:
            # ITK's Matrix::GetInverse throws on a zero determinant
            # (MahalanobisDistanceMetric.h:88, 98): the tool stops there,
            # after the metrics before MAHLNBS; the rest from a second run
            why = err.split("Description:")[-1].strip().replace("\n", " ")
            lines.append("# MAHLNBS: the tool exits with %d: %s" % (rc, why))
            if "Singular matrix" not in why:
                sys.exit("%s: unexpected failure: %s" % (name, err))
            full["mahalanobis"] = "nan"
            rest = "VARINFO,GCOERR,PROBDST,SNSVTY,SPCFTY,PRCISON,FMEASR,ACURCY,FALLOUT," \
                   "TP,FP,TN,FN,REFVOL,SEGVOL"
            more, _, rc2, _ = tool.run(["-use", rest])
            more2, _, _, _ = tool.run(["-use", rest], digits=False)
            if rc2 != 0:
                sys.exit("%s: the second run failed" % name)
            full.update(more)
            short.update(more2)
        for k, v in full.items():
            if k in short and short[k] != "%.6f" % fl(v) and "%.0f" % fl(v) != short[k]:
                sys.exit("%s: %s printed %s, full value %s" % (name, k, short[k], v))
        lines.append("voxel " + " ".join("%s %s" % (k, v) for k, v in full.items()))
        mm, _, _, _ = tool.run(["-unit", "millimeter", "-use", "HDRFDST,AVGDIST,REFVOL,SEGVOL"])
        lines.append("millimeter " + " ".join("%s %s" % (k, v) for k, v in mm.items()))
        for unit, spu in (("voxel", (1.0,) * pred.ndim), ("millimeter", sp)):
            ex = exact(pred, ref, spu)
            lines.append("exact %s %s" % (unit, " ".join("%s %r" % kv for kv in ex.items())))
            got = full if unit == "voxel" else mm
            for k in ("hd", "masd"):
                if abs(fl(got[k]) - ex[k]) > 1e-12 * max(1.0, ex[k]):
                    print("%-14s %s %s: tool %s, exact %r" % (name, unit, k, got[k], ex[k]))
            for q in QUANTILES:
                args = ["-use", "HDRFDST@%g@" % q] + (["-unit", "millimeter"] if unit != "voxel"
                                                       else [])
                vals = [fl(tool.run(args, seed=s)[0]["hd"]) for s in SEEDS]
                lines.append("quantile %s %g %r %r %d" % (unit, q, min(vals), max(vals),
                                                          len(set(vals))))
                key = "hd%d" % round(q * 100)
                print("%-14s %-10s q=%g exact %.6f tool %.6f..%.6f (%d distinct)"
                      % (name, unit, q, ex[key], min(vals), max(vals), len(set(vals))))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    cli_fixtures(tool, tmp)


# `segloss eval --convention evaluatesegmentation --metrics CLI_METRICS
#  --labels 1,2,3 --csv -` on tests/cli/eval_data/evalseg/{pred,ref}.nii
# (label 1 in both, 2 in both, 3 in the reference only), once with
# --spacing 1,1,1 (run es_voxel: the tool's default unit) and once with the
# files' spacing (es_mm: the tool's -unit millimeter; its volumes in ml are
# written here in mm^3, x 1000). expected.txt rows "RUN CASE LABEL KEY
# VALUE": the tool's values on the binary masks (pred == L, ref == L); the
# counts (and n_pred, n_ref) from NumPy; hd95 the exact pooled quantile (the
# tool's own varies from run to run); nan where the tool refuses the label,
# except the volumes (NumPy's counts x the voxel volume).
CLI_METRICS = ("dice,iou,auc,kappa,ri,ari,icc,vs,mi,voi,gce,pbd,recall,specificity,precision,"
               "fbeta,accuracy,fpr,vol_ref,vol_pred,hd,hd95,masd,mahalanobis")
CLI_SPACING = (2.0, 0.7, 0.9)


def cli_fixtures(tool, tmp):
    outdir = os.path.join(HERE, "..", "..", "tests", "cli", "eval_data", "evalseg")
    os.makedirs(outdir, exist_ok=True)
    shape = (12, 16, 14)
    ref = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    ref[ellipsoid(shape, (6, 8, 7), (4.5, 6.0, 5.0))] = 1
    pred[ellipsoid(shape, (5, 9, 6), (3.6, 5.2, 4.4))] = 1
    pred[0, 0, 0:3] = 1                                 # a stray run on the border
    ref[9:12, 0:3, 10:14] = 2
    pred[8:12, 1:4, 9:13] = 2
    ref[0:2, 12:16, 0:2] = 3
    sp = tuple(float(np.float32(s)) for s in CLI_SPACING)
    write_nifti(os.path.join(outdir, "pred.nii"), pred, sp)
    write_nifti(os.path.join(outdir, "ref.nii"), ref, sp)
    rows = ["# RUN CASE LABEL KEY VALUE - generated by tools/ref/gen_evalseg_ref.py"]
    keys = CLI_METRICS.split(",")
    for lab in (1, 2, 3):
        a, b = pred == lab, ref == lab
        write_nifti(os.path.join(tmp, "p.nii"), a, sp)
        write_nifti(os.path.join(tmp, "r.nii"), b, sp)
        tp, fp, fn_ = int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())
        counts = {"tp": tp, "fp": fp, "fn": fn_, "tn": a.size - tp - fp - fn_,
                  "n_pred": int(a.sum()), "n_ref": int(b.sum())}
        vox, _, rc, _ = tool.run(["-use", "all"])
        mm, _, _, _ = tool.run(["-unit", "millimeter", "-use", "HDRFDST,AVGDIST,REFVOL,SEGVOL"])
        if rc != 0:
            sys.exit("cli fixture label %d: the tool failed" % lab)
        for run, vals, spu in (("es_voxel", vox, (1.0, 1.0, 1.0)), ("es_mm", mm, sp)):
            vals = dict(vals)
            if run == "es_mm":
                vals = dict(vox, **vals)
                for k in ("vol_ref", "vol_pred"):
                    if k in vals:
                        vals[k] = repr(fl(vals[k]) * 1000.0)
            if vals:
                vals["hd95"] = repr(exact(a, b, spu)["hd95"])
            else:
                # refused: segloss still reports the volumes (counts x voxel volume)
                v = float(np.prod(spu))
                vals = {"vol_ref": repr(counts["n_ref"] * v), "vol_pred": repr(counts["n_pred"] * v)}
            for k, v in counts.items():
                rows.append("%s ref.nii %d %s %d" % (run, lab, k, v))
            for k in keys:
                rows.append("%s ref.nii %d %s %s" % (run, lab, k, vals.get(k, "nan")))
    with open(os.path.join(outdir, "expected.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
