#!/usr/bin/python3
"""Same metrics as bench/bench_metric.c, the SciPy way, for timing and checking.

Run (Debian's python3 has NumPy and SciPy; the first python3 on PATH may not):
    build/bench_metric /tmp/bm
    /usr/bin/python3 bench/metric_ref.py /tmp/bm [--full-labels N]

For every label it computes dice, hd95 (SPEC default: max of the two directed
95th percentiles) and assd (SPEC: pooled mean) two ways:
  * MedPy way: surfaces by binary_erosion of the FULL volume, one
    distance_transform_edt (with sampling) of the full volume per label and
    direction (what medpy.metric.binary does). This is slow, so it runs on
    the first N labels (default 8) and the time is extrapolated to all.
  * bounding-box way: the same on the crop to the union bounding box of the
    two masks (exact: see src/metric/surface.c), every label.
and prints seconds and the max abs difference from segloss.txt.
"""
import sys
import time

import numpy as np
from scipy.ndimage import (binary_erosion, distance_transform_edt, find_objects,
                           generate_binary_structure)

SPACING = (1.2, 0.9, 0.9)


def surface_dists(a, b, spacing):
    fp = generate_binary_structure(a.ndim, 1)
    sa = a ^ binary_erosion(a, structure=fp, iterations=1)
    sb = b ^ binary_erosion(b, structure=fp, iterations=1)
    dab = distance_transform_edt(~sb, sampling=spacing)[sa]
    dba = distance_transform_edt(~sa, sampling=spacing)[sb]
    return dab, dba


def metrics(a, b, spacing):
    tp = np.count_nonzero(a & b)
    den = np.count_nonzero(a) + np.count_nonzero(b)
    dice = 2.0 * tp / den if den else float("nan")
    if not a.any() or not b.any():
        return dice, float("nan"), float("nan"), float("nan")
    dab, dba = surface_dists(a, b, spacing)
    hd95 = max(np.percentile(dab, 95), np.percentile(dba, 95))
    assd = (dab.sum() + dba.sum()) / (len(dab) + len(dba))
    hd = max(dab.max(), dba.max())
    return dice, hd95, assd, hd


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    d = args[0] if args else "/tmp/bm"
    nfull = 8
    if "--full-labels" in sys.argv:
        nfull = int(sys.argv[sys.argv.index("--full-labels") + 1])
    pred = np.load(d + "/pred.npy")
    ref = np.load(d + "/ref.npy")
    seg = {}
    for line in open(d + "/segloss.txt"):
        if line.startswith("#"):
            continue
        f = line.split()
        seg[int(f[0])] = [float(x) for x in f[1:]]
    labels = sorted(seg)
    print("volume %s, %d labels, spacing %s" % (pred.shape, len(labels), SPACING))

    # bounding-box way, all labels
    t0 = time.perf_counter()
    lab_max = int(max(pred.max(), ref.max()))
    boxes_p = find_objects(pred, lab_max)
    boxes_r = find_objects(ref, lab_max)
    box_res = {}
    for lab in labels:
        bp, br = boxes_p[lab - 1], boxes_r[lab - 1]
        bb = [b for b in (bp, br) if b is not None]
        sl = tuple(slice(min(b[i].start for b in bb), max(b[i].stop for b in bb))
                   for i in range(pred.ndim))
        a = pred[sl] == lab
        b = ref[sl] == lab
        box_res[lab] = metrics(a, b, SPACING)
    t_box = time.perf_counter() - t0

    # MedPy way on the first nfull labels
    t0 = time.perf_counter()
    full_res = {}
    for lab in labels[:nfull]:
        full_res[lab] = metrics(pred == lab, ref == lab, SPACING)
    t_full = time.perf_counter() - t0
    t_full_all = t_full * len(labels) / max(1, len(full_res))

    def maxdiff(res):
        m = [0.0] * 4
        for lab, v in res.items():
            for k in range(4):
                x, y = v[k], seg[lab][k]
                if np.isnan(x) and np.isnan(y):
                    continue
                m[k] = max(m[k], abs(x - y))
        return m

    names = ("dice", "hd95", "assd", "hd")
    mb, mf = maxdiff(box_res), maxdiff(full_res)
    print("bounding-box way (SciPy), %d labels:     %.3f s" % (len(box_res), t_box))
    print("MedPy way (full volume), %d labels:      %.3f s  -> %.1f s extrapolated to %d labels"
          % (len(full_res), t_full, t_full_all, len(labels)))
    print("max |segloss - bbox|:  " + "  ".join("%s %.3g" % (n, v) for n, v in zip(names, mb)))
    print("max |segloss - medpy|: " + "  ".join("%s %.3g" % (n, v) for n, v in zip(names, mf)))
    # agreement between the two SciPy ways on the common labels
    mx = 0.0
    for lab in full_res:
        for k in range(4):
            x, y = full_res[lab][k], box_res[lab][k]
            if not (np.isnan(x) and np.isnan(y)):
                mx = max(mx, abs(x - y))
    print("max |medpy - bbox| (same labels): %.3g" % mx)


if __name__ == "__main__":
    main()
