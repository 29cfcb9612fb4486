#!/usr/bin/python3
"""`segloss eval --convention evaluatesegmentation` against the
EvaluateSegmentation binary on a 3-D label map: same values, and the time.

    sh tools/ref/build_evaluatesegmentation.sh EVALSEG_CHECKOUT /tmp/evalseg
    /usr/bin/python3 tools/ref/bench_evalseg.py /tmp/evalseg [build/segloss]

The volume: 90 x 110 x 90 voxels, spacing (1.2, 0.9, 0.9), 30 overlapping
ellipsoids (radii 3-20 voxels) in the reference, the same moved by up to 2
voxels and scaled by 0.85-1.15 in the prediction (the recipe of
docs/benchmarks-eval.md, smaller). The tool runs once per label on the two
binary masks (its only mode), `-use all -unit millimeter` (its hd95 is left
out: HDRFDST@0.95@ is random); segloss runs once for all labels,
`--metrics all --threads 1`. Prints the largest relative difference per
metric over the labels and both wall times (median of 3 segloss runs; the
tool's total over the labels).
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_evalseg_ref import Tool, fl, write_nifti  # noqa: E402

SPACING = (1.2, 0.9, 0.9)
KEYS = ("dice", "iou", "auc", "kappa", "ri", "ari", "icc", "vs", "mi", "voi", "gce", "pbd",
        "recall", "specificity", "precision", "fbeta", "accuracy", "fpr", "hd", "masd",
        "mahalanobis")


def volume():
    rng = np.random.default_rng(7)
    shape, nl = (90, 110, 90), 30
    ref = np.zeros(shape, np.int32)
    pred = np.zeros(shape, np.int32)
    g = np.indices(shape).astype(np.float32)
    for lab in rng.permutation(np.arange(1, nl + 1)):
        c = rng.uniform(10, np.array(shape) - 10)
        r = rng.uniform(3, 20, 3)
        ref[sum(((g[a] - c[a]) / r[a]) ** 2 for a in range(3)) <= 1] = lab
        c2 = c + rng.uniform(-2, 2, 3)
        r2 = r * rng.uniform(0.85, 1.15, 3)
        pred[sum(((g[a] - c2[a]) / r2[a]) ** 2 for a in range(3)) <= 1] = lab
    return pred, ref


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/evalseg"
    seg = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "build",
                                                             "segloss")
    tmp = tempfile.mkdtemp(prefix="evalseg_bench_")
    pred, ref = volume()
    sp = tuple(float(np.float32(s)) for s in SPACING)
    write_nifti(os.path.join(tmp, "pred.nii"), pred, sp)
    write_nifti(os.path.join(tmp, "ref.nii"), ref, sp)
    labels = [int(x) for x in np.unique(ref) if x and (pred == x).any()]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run([seg, "eval", "--pred", os.path.join(tmp, "pred.nii"),
                              "--ref", os.path.join(tmp, "ref.nii"),
                              "--convention", "evaluatesegmentation", "--metrics", "all",
                              "--labels", ",".join(map(str, labels)), "--threads", "1",
                              "--csv", "-"], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    rows = [r.split(",") for r in out.stdout.strip().splitlines()]
    col = {k: i for i, k in enumerate(rows[0])}
    ours = {int(r[col["label"]]): r for r in rows[1:]}
    tool = Tool(root, tmp)
    worst = {k: (0.0, None) for k in KEYS}
    t_tool = 0.0
    for lab in labels:
        write_nifti(os.path.join(tmp, "p.nii"), pred == lab, sp)
        write_nifti(os.path.join(tmp, "r.nii"), ref == lab, sp)
        use = ",".join(["DICE", "JACRD", "AUC", "KAPPA", "RNDIND", "ADJRIND", "ICCORR",
                        "VOLSMTY", "MUTINF", "HDRFDST", "AVGDIST", "MAHLNBS"])
        t0 = time.perf_counter()
        v1 = tool.run(["-use", use, "-unit", "millimeter"])[0]
        v2 = tool.run(["-use", "VARINFO,GCOERR,PROBDST,SNSVTY,SPCFTY,PRCISON,FMEASR,ACURCY,"
                       "FALLOUT", "-unit", "millimeter"])[0]
        t_tool += time.perf_counter() - t0
        vals = dict(v1, **v2)
        for k in KEYS:
            want, got = fl(vals[k]), float(ours[lab][col[k]] or "nan")
            d = abs(got - want) / max(abs(want), 1e-300) if want != got else 0.0
            if d > worst[k][0] or (np.isnan(got) != np.isnan(want)):
                worst[k] = (d if not np.isnan(d) else float("inf"), lab)
    print("labels: %d; largest relative difference segloss vs the tool, per metric:" % len(labels))
    for k in KEYS:
        print("  %-12s %.3g%s" % (k, worst[k][0], "" if worst[k][1] is None
                                  else " (label %d)" % worst[k][1]))
    print("segloss --metrics all, 1 thread: %.3f s (median of 3); the tool, two runs per label "
          "(all its metrics but the quantile): %.2f s" % (sorted(times)[1], t_tool))


if __name__ == "__main__":
    main()
