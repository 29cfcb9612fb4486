"""In-process Python timings, segloss against what people use today, side by
side in one run (one machine, one load):

1. Surface distances (hd, hd95, assd) of every label of a synthetic
   180x220x180 label map with 120 labels:
   - segloss.evaluate(pred, ref, metrics="hd,hd95,assd", hd95_variant="pooled")
   - MedPy-style: medpy.metric.binary.hd / hd95 / assd per label, as MedPy
     0.5 writes them (each call builds both surfaces by binary erosion with
     the face-connected structure and runs scipy's distance_transform_edt
     over the whole volume, twice): the code below follows
     medpy/metric/binary.py's __surface_distances. Timed on --medpy-labels
     labels and scaled to all 120 (it takes minutes otherwise).
   - SciPy-cropped: the same surfaces and EDTs, computed once per label and
     direction on the union bounding box plus a 1-voxel margin (boxes from
     one scipy.ndimage.find_objects pass over each volume).
   segloss's hd and pooled hd95 are checked equal to both (1e-9).
2. Forward+backward on 16x1x512x512 CPU float32 logits, torch and segloss
   both at --threads threads: torch.nn.BCEWithLogitsLoss vs
   segloss.torch.BCEWithLogitsLoss; MONAI's DiceLoss(sigmoid=True) formula in
   torch vs segloss.torch.DiceLoss(sigmoid=True); Dice + BCE (MONAI
   DiceCELoss with one channel) vs segloss.torch.DiceCELoss(sigmoid=True).
   Each step is x.detach().requires_grad_(True), the loss, loss.backward()
   (reduction 'mean', float32 0/1 targets), torch and segloss alternated
   for --reps rounds: medians and the fastest round in ms, the ratio of
   the medians and the median of the per-round ratios (each round's torch
   time over segloss's in the same round: the steadiest figure on a shared
   machine), the ratio of the median CPU times of the process (all threads:
   the work done, which other jobs disturb less than the wall time), and
   the minor page faults per call (PyTorch's composite loss
   allocates several 16 MiB temporaries per step; glibc hands them back to
   the system and faults them in again on the next step; with --malloc-keep
   glibc is told to keep freed memory, PyTorch's best case, with no page
   faults on either side).
   The surface timings above are the fastest of --reps-eval runs.

    OMP_WAIT_POLICY=passive PYTHONPATH=build/python python3 bench/compare_python.py

OMP_WAIT_POLICY=passive: torch and libsegloss share one OpenMP runtime
(libgomp); on a machine with more busy threads than cores, its default
spin-waiting threads steal the CPU from the next parallel region (a 4M
element torch multiply measured 16 ms spinning, 1.2 ms passive, on the
2-core machine of BENCHMARKS.md). On an idle machine it changes little.
"""
import argparse
import os
import time

import numpy as np
from scipy.ndimage import (binary_erosion, distance_transform_edt, find_objects,
                           generate_binary_structure)

import segloss
from pytiming import (fastest, median, monai_dice, monai_dice_bce, rounds, torch_case,
                      torch_step)


def volume(shape=(180, 220, 180), labels=120, seed=0):
    """ref: 120 ellipsoids at random places (later labels overwrite earlier
    ones where they overlap); pred: the same with centres moved by up to 2
    voxels and radii changed by up to 20 %."""
    rng = np.random.default_rng(seed)
    ref = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    for lab in range(1, labels + 1):
        c = rng.uniform(12, np.array(shape) - 12)
        r = rng.uniform(3, 11, 3)
        for out, cc, rr in ((ref, c, r), (pred, c + rng.uniform(-2, 2, 3),
                                          r * rng.uniform(0.8, 1.2, 3))):
            lo = np.maximum(np.floor(cc - rr).astype(int), 0)
            hi = np.minimum(np.ceil(cc + rr).astype(int) + 1, shape)
            g = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
            inside = sum(((g[d] - cc[d]) / rr[d]) ** 2 for d in range(3)) <= 1.0
            out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]][inside] = lab
    return pred, ref


# ---- MedPy 0.5's way (medpy/metric/binary.py), per label ------------------------
def _medpy_surface_distances(result, reference, voxelspacing=None, connectivity=1):
    result = np.atleast_1d(result.astype(np.bool_))
    reference = np.atleast_1d(reference.astype(np.bool_))
    footprint = generate_binary_structure(result.ndim, connectivity)
    result_border = result ^ binary_erosion(result, structure=footprint, iterations=1)
    reference_border = reference ^ binary_erosion(reference, structure=footprint, iterations=1)
    dt = distance_transform_edt(~reference_border, sampling=voxelspacing)
    return dt[result_border]


def medpy_label(pred, ref, lab):
    a, b = pred == lab, ref == lab
    hd = max(_medpy_surface_distances(a, b).max(), _medpy_surface_distances(b, a).max())
    hd95 = np.percentile(np.hstack((_medpy_surface_distances(a, b),
                                    _medpy_surface_distances(b, a))), 95)
    assd = np.mean((_medpy_surface_distances(a, b).mean(),
                    _medpy_surface_distances(b, a).mean()))
    return hd, hd95, assd


# ---- SciPy, cropped to the label's box, each surface distance once --------------
def scipy_boxes(pred, ref):
    """Union bounding box of every label (+1 voxel), from one find_objects
    pass over each volume."""
    bp, br = find_objects(pred), find_objects(ref)
    boxes = {}
    for lab in range(1, max(len(bp), len(br)) + 1):
        sl = [s for s in (bp[lab - 1] if lab <= len(bp) else None,
                          br[lab - 1] if lab <= len(br) else None) if s is not None]
        if sl:
            boxes[lab] = tuple(slice(max(min(s[d].start for s in sl) - 1, 0),
                                     min(max(s[d].stop for s in sl) + 1, pred.shape[d]))
                               for d in range(pred.ndim))
    return boxes


def scipy_cropped_label(pred, ref, lab, box):
    a, b = pred[box] == lab, ref[box] == lab
    fp = generate_binary_structure(3, 1)
    sa = a ^ binary_erosion(a, structure=fp)
    sb = b ^ binary_erosion(b, structure=fp)
    # the crop keeps a zero margin except where the box meets the image
    # border, so erosion's border rule (outside = background) is MedPy's
    d_ab = distance_transform_edt(~sb)[sa]
    d_ba = distance_transform_edt(~sa)[sb]
    both = np.hstack((d_ab, d_ba))
    return max(d_ab.max(), d_ba.max()), np.percentile(both, 95), np.mean((d_ab.mean(),
                                                                           d_ba.mean()))


def surface_benchmark(args):
    pred, ref = volume()
    labels = sorted(set(np.unique(ref)) - {0})
    print("volume %s, %d labels, segloss %s threads" % (ref.shape, len(labels),
                                                       segloss.get_num_threads()))
    out = {}

    def run_segloss():
        out["s"] = segloss.evaluate(pred, ref, metrics="hd,hd95,assd",
                                    hd95_variant="pooled")["labels"]
    t_seg, = fastest([run_segloss], args.reps_eval)
    t0 = time.perf_counter()
    boxes = scipy_boxes(pred, ref)
    crop = {lab: scipy_cropped_label(pred, ref, lab, boxes[lab]) for lab in labels}
    t_crop = time.perf_counter() - t0
    some = labels[:args.medpy_labels]
    t0 = time.perf_counter()
    med = {lab: medpy_label(pred, ref, lab) for lab in some}
    t_med = (time.perf_counter() - t0) / len(some) * len(labels)
    for lab in labels:
        s = out["s"][str(lab)]
        for ref_vals in ([crop[lab]] + ([med[lab]] if lab in med else [])):
            assert abs(s["hd"] - ref_vals[0]) < 1e-9 and abs(s["hd95"] - ref_vals[1]) < 1e-9, \
                (lab, s, ref_vals)
    print("  segloss.evaluate      %8.3f s" % t_seg)
    print("  SciPy-cropped         %8.3f s   (segloss %.0fx faster)" % (t_crop, t_crop / t_seg))
    print("  MedPy-style (scaled)  %8.1f s   (segloss %.0fx faster; %d labels timed)"
          % (t_med, t_med / t_seg, len(some)))
    print("  hd and pooled hd95 equal (1e-9) on every label")


def keep_freed_memory():
    """glibc: keep freed memory in the process (no trimming of the heap, no
    mmap below 32 MiB), so that a new 16 MiB tensor reuses pages already
    mapped instead of faulting fresh ones in: PyTorch's best case."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    if not (libc.mallopt(m_trim_threshold, 1 << 30) and
            libc.mallopt(m_mmap_threshold, 32 << 20)):
        raise SystemExit("mallopt failed")


def torch_benchmark(args):
    import torch
    import segloss.torch as st
    torch.set_num_threads(args.threads)
    if args.malloc_keep:
        keep_freed_memory()
    x, y = torch_case()

    def step(fn):
        return torch_step(fn, x, y)
    pairs = [
        ("BCE-with-logits", torch.nn.BCEWithLogitsLoss(), st.BCEWithLogitsLoss()),
        ("Dice (MONAI)", monai_dice, st.DiceLoss(sigmoid=True)),
        ("Dice + BCE", monai_dice_bce, st.DiceCELoss(sigmoid=True)),
    ]
    print("16x1x512x512 float32 forward+backward (x.requires_grad_, loss, loss.backward()), "
          "%d threads (torch %s); %d alternated rounds, load average %.1f%s"
          % (args.threads, torch.__version__, args.reps, os.getloadavg()[0],
             "; glibc keeps freed memory (--malloc-keep)" if args.malloc_keep else ""))
    print("  %-16s %22s %22s %14s %10s %10s" % ("", "torch ms: median (min)",
                                                "segloss ms: median (min)", "ratio: medians",
                                                "per round", "CPU time"))
    for name, ref, mine in pairs:
        gt, gs = step(ref)(), step(mine)()
        err = (gt - gs).abs().max().item() / gt.abs().max().item()
        r = rounds([step(ref), step(mine)], args.reps)
        (wt, ws), (ct, cs), (ft, fs) = r["wall"], r["cpu"], r["faults"]
        print("  %-16s %12.1f (%6.1f) %14.1f (%6.1f) %12.1fx %9.1fx %9.1fx   (page faults per "
              "call %d / %d; max grad diff %.1e of max)"
              % (name, median(wt) * 1e3, min(wt) * 1e3, median(ws) * 1e3, min(ws) * 1e3,
                 median(wt) / median(ws), median([a / b for a, b in zip(wt, ws)]),
                 median(ct) / median(cs), median(ft), median(fs), err))
    print("  torch: nn.BCEWithLogitsLoss(); MONAI 1.3 DiceLoss(sigmoid=True)'s formula; the "
          "two summed (MONAI DiceCELoss, one channel)")
    print("  segloss.torch: BCEWithLogitsLoss(), DiceLoss(sigmoid=True), "
          "DiceCELoss(sigmoid=True)")
    print("  per round: the median over rounds of torch's time / segloss's in the same round; "
          "CPU time: the ratio of the medians of the process's CPU time (all threads) per call; "
          "load average now %.1f" % os.getloadavg()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--reps-eval", type=int, default=3)
    ap.add_argument("--medpy-labels", type=int, default=3)
    ap.add_argument("--only", choices=["surface", "torch"])
    ap.add_argument("--malloc-keep", action="store_true",
                    help="torch part: glibc keeps freed memory (no page faults on either side)")
    args = ap.parse_args()
    segloss.set_num_threads(args.threads)
    if args.only != "torch":
        surface_benchmark(args)
    if args.only != "surface":
        torch_benchmark(args)


if __name__ == "__main__":
    main()
