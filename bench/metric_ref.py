#!/usr/bin/python3
"""Same metrics as bench/bench_metric.c, the SciPy way, for timing and checking.

Run (Debian's python3 has NumPy and SciPy; the first python3 on PATH may not):
    build/bench_metric /tmp/bm
    /usr/bin/python3 bench/metric_ref.py /tmp/bm [--full-labels N] [--repeats R]
        [--skeletons 1]

For every label it computes dice, hd95 (SPEC default: max of the two directed
95th percentiles) and assd (SPEC: pooled mean) two ways:
  * MedPy way: surfaces by binary_erosion of the FULL volume, one
    distance_transform_edt (with sampling) of the full volume per label and
    direction (what medpy.metric.binary does). This is slow, so it runs on
    the first N labels (default 8) and the time is extrapolated to all.
  * bounding-box way (MONAI, DeepMind surface-distance): the same on the crop
    to the union bounding box of the two masks (exact: see
    src/metric/surface.c), every label; find_objects (the scan) included.
    Timed R times (default 3), the median is reported.
With --skeletons 1 (after `bench_metric OUTDIR ROUNDS all`) it also times
scikit-image's skeletonize_3d of every label's two masks and checks
segloss's cldice against the value from those skeletons.
It prints seconds, the max abs difference from segloss.txt, and a table
against segloss's own medians from timing.txt (scan + metrics, 1 thread and
all threads; wall clock, and CPU time where timing.txt has it).
"""
import statistics
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


def bbox_way(pred, ref, labels):
    lab_max = int(max(pred.max(), ref.max()))
    boxes_p = find_objects(pred, lab_max)
    boxes_r = find_objects(ref, lab_max)
    res = {}
    for lab in labels:
        bp, br = boxes_p[lab - 1], boxes_r[lab - 1]
        bb = [b for b in (bp, br) if b is not None]
        sl = tuple(slice(min(b[i].start for b in bb), max(b[i].stop for b in bb))
                   for i in range(pred.ndim))
        res[lab] = metrics(pred[sl] == lab, ref[sl] == lab, SPACING)
    return res


def skeleton_way(pred, ref, labels):
    """cldice of every label from scikit-image's skeletonize_3d of the two
    masks cropped to their union bounding box (what segloss thins; the crop
    does not change the skeleton: skimage pads the image with zeros)."""
    from skimage.morphology import skeletonize_3d
    lab_max = int(max(pred.max(), ref.max()))
    boxes_p = find_objects(pred, lab_max)
    boxes_r = find_objects(ref, lab_max)
    res = {}
    for lab in labels:
        bb = [b for b in (boxes_p[lab - 1], boxes_r[lab - 1]) if b is not None]
        sl = tuple(slice(min(b[i].start for b in bb), max(b[i].stop for b in bb))
                   for i in range(pred.ndim))
        a, b = pred[sl] == lab, ref[sl] == lab
        sa, sb = skeletonize_3d(a) > 0, skeletonize_3d(b) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            tprec = np.float64((sa & b).sum()) / sa.sum()
            tsens = np.float64((sb & a).sum()) / sb.sum()
            res[lab] = 2.0 * tsens * tprec / (tsens + tprec)
    return res


def option(name, default):
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    args = []
    skip = False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a.startswith("--"):
            skip = True
        else:
            args.append(a)
    d = args[0] if args else "/tmp/bm"
    nfull = option("--full-labels", 8)
    repeats = max(1, option("--repeats", 3))
    skeletons = option("--skeletons", 0)
    pred = np.load(d + "/pred.npy")
    ref = np.load(d + "/ref.npy")
    seg = {}
    for line in open(d + "/segloss.txt"):
        if line.startswith("#"):
            continue
        f = line.split()
        seg[int(f[0])] = [float(x) for x in f[1:6]]
    timing = {}
    for line in open(d + "/timing.txt"):
        if not line.startswith("#"):
            k, v = line.split()
            timing[k] = float(v)
    labels = sorted(seg)
    print("volume %s, %d labels, spacing %s" % (pred.shape, len(labels), SPACING))

    # bounding-box way, all labels, `repeats` times
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        box_res = bbox_way(pred, ref, labels)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    t_box = statistics.median(times)
    c_box = statistics.median(cpus)

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
    print("bounding-box way (SciPy), %d labels: %.3f s (median of %d: %s), CPU %.3f s"
          % (len(box_res), t_box, repeats, " ".join("%.3f" % t for t in times), c_box))
    print("MedPy way (full volume), %d labels:  %.3f s  -> %.1f s extrapolated to %d labels"
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

    if skeletons:
        t0, c0 = time.perf_counter(), time.process_time()
        cl = skeleton_way(pred, ref, labels)
        t_sk, c_sk = time.perf_counter() - t0, time.process_time() - c0
        worst = 0.0
        for lab, v in cl.items():  # segloss.txt's cldice is nan unless "all"
            x = seg[lab][4] if len(seg[lab]) > 4 else float("nan")
            if np.isnan(x) and np.isnan(v):
                continue
            worst = max(worst, abs(x - v))  # nan if only one is nan
        print("scikit-image skeletonize_3d of both masks, %d labels: %.3f s (CPU %.3f s); "
              "max |cldice segloss - skimage| %.3g" % (len(cl), t_sk, c_sk, worst))

    s1, sn, nt = timing["total_1"], timing["total_n"], int(timing["threads"])
    print()
    print("%-45s %8s %17s %16s" % ("dice+hd95+assd, %d labels, scan included" % len(labels),
                                   "seconds", "MedPy way / this", "bbox way / this"))
    rows = [("segloss, 1 thread", s1),
            ("segloss, %d threads" % nt, sn),
            ("SciPy, bounding-box way (MONAI/DeepMind)", t_box),
            ("SciPy, MedPy way (full volume, projected)", t_full_all)]
    def ratio(x):
        return ("%.3g" % x if x < 100 else "%.0f" % x) + "x"

    for name, t in rows:
        print("%-45s %8.3f %17s %16s" % (name, t, ratio(t_full_all / t), ratio(t_box / t)))
    if "cpu_1" in timing:
        print()
        print("CPU time (all threads), scan included: segloss 1 thread %.3f s, %d threads %.3f s;"
              " SciPy bounding-box way %.3f s: ratios %s, %s"
              % (timing["cpu_1"], nt, timing["cpu_n"], c_box, ratio(c_box / timing["cpu_1"]),
                 ratio(c_box / timing["cpu_n"])))


if __name__ == "__main__":
    main()
