#!/usr/bin/python3
"""How far segloss's voxel surfaces are from DeepMind's surfels, measured.

segloss (like MedPy and MONAI) takes the surface voxels of a mask, each with
weight 1, and measures between voxel centres. DeepMind's surface-distance
takes surface elements on the voxel corners (2x2(x2) neighbourhood codes),
each weighted by its length (2-D) or area (3-D). This script runs both on
the same random blobs and prints the median and largest absolute
differences (and their 95th percentile) of HD95, ASSD and surface Dice at
tolerance 1.

Run (Debian's python3 has NumPy and SciPy; the first python3 on PATH may not):
    make -j2
    /usr/bin/python3 bench/compare_deepmind.py SURFACE_DISTANCE_DIR [SEGLOSS] [--pairs N]

SURFACE_DISTANCE_DIR holds the package directory surface_distance/
(metrics.py, lookup_tables.py, __init__.py) of google-deepmind/surface-distance;
SEGLOSS defaults to build/segloss. N pairs (default 60) per group; groups:
2-D 96x96 and 3-D 48x48x48, each with isotropic and anisotropic spacing.
Seeds are fixed, so the output is reproducible.

What is compared (mask_gt = reference, mask_pred = prediction):
  HD95       DeepMind compute_robust_hausdorff(sd, 95) (area-weighted
             percentile of each direction, then the max) vs segloss hd95
             (default variant: max of the two directed 95th percentiles,
             numpy 'linear' interpolation).
  ASSD       segloss assd = (sum D_AB + sum D_BA) / (|S(A)| + |S(B)|), the
             pooled mean, vs two readings of DeepMind's
             compute_average_surface_distance, which returns the two directed
             area-weighted means: 'pooled' = (sum d*area over both
             directions) / (total area of both surfaces), the like-for-like
             definition, and 'mean of the two' = their plain average.
  NSD@1      DeepMind compute_surface_dice_at_tolerance(sd, 1) vs segloss nsd
             with --tolerance 1.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import warnings

import numpy as np

GROUPS = [
    ("2-D", (96, 96), (1.0, 1.0)),
    ("2-D", (96, 96), (0.7, 1.4)),
    ("3-D", (48, 48, 48), (1.0, 1.0, 1.0)),
    ("3-D", (48, 48, 48), (2.5, 0.8, 0.8)),
]


def ellipsoids(shape, params):
    grid = np.indices(shape).astype(float)
    out = np.zeros(shape, dtype=bool)
    for centre, radii in params:
        d = sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(len(shape)))
        out |= d <= 1.0
    return out


def blob_pair(rng, shape):
    """A reference of 1-3 random ellipsoids; the prediction jitters their
    centres and radii by up to ~2 voxels and sometimes adds a small false
    positive blob."""
    nd = len(shape)
    params = []
    for _ in range(rng.randint(1, 4)):
        r = [rng.uniform(3.0, s * 0.3) for s in shape]
        c = [rng.uniform(r[i] + 1, shape[i] - r[i] - 1) for i in range(nd)]
        params.append((c, r))
    ref = ellipsoids(shape, params)
    jit = [([c[i] + rng.uniform(-2, 2) for i in range(nd)],
            [max(1.5, r[i] * rng.uniform(0.85, 1.15)) for i in range(nd)]) for c, r in params]
    if rng.uniform() < 0.3:
        jit.append(([rng.uniform(3, s - 3) for s in shape], [rng.uniform(1.0, 2.5)] * nd))
    pred = ellipsoids(shape, jit)
    return pred, ref


def deepmind(sd_mod, pred, ref, spacing):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sd = sd_mod.compute_surface_distances(ref, pred, spacing)
    a_gt, a_pr = sd["surfel_areas_gt"], sd["surfel_areas_pred"]
    d_gt, d_pr = sd["distances_gt_to_pred"], sd["distances_pred_to_gt"]
    avg_gt, avg_pr = sd_mod.compute_average_surface_distance(sd)
    return {
        "hd95": sd_mod.compute_robust_hausdorff(sd, 95),
        "assd_pooled": (np.sum(d_gt * a_gt) + np.sum(d_pr * a_pr)) / (a_gt.sum() + a_pr.sum()),
        "assd_mean2": 0.5 * (avg_gt + avg_pr),
        "nsd": sd_mod.compute_surface_dice_at_tolerance(sd, 1.0),
    }


def segloss_eval(segloss, pairs, spacing, tmp):
    pdir, rdir = os.path.join(tmp, "pred"), os.path.join(tmp, "ref")
    for d in (pdir, rdir):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    for k, (pred, ref) in enumerate(pairs):
        np.save(os.path.join(pdir, "c%03d.npy" % k), pred.astype(np.uint8))
        np.save(os.path.join(rdir, "c%03d.npy" % k), ref.astype(np.uint8))
    out = subprocess.run([segloss, "eval", "--pred", pdir, "--ref", rdir, "--labels", "1",
                          "--metrics", "hd95,assd,nsd", "--tolerance", "1",
                          "--spacing", ",".join(repr(s) for s in spacing), "--json", "-",
                          "--quiet"], check=True, capture_output=True, text=True).stdout
    cases = json.loads(out)["cases"]
    return [c["labels"]["1"] for c in cases]


def main():
    ap = argparse.ArgumentParser(description="segloss vs DeepMind surface-distance")
    ap.add_argument("deepmind", help="directory holding the surface_distance/ package")
    ap.add_argument("segloss", nargs="?", default="build/segloss")
    ap.add_argument("--pairs", type=int, default=60, help="pairs per group (default 60)")
    args = ap.parse_args()
    sys.path.insert(0, args.deepmind)
    import surface_distance as sd_mod  # pylint: disable=import-outside-toplevel

    keys = ("hd95", "assd_pooled", "assd_mean2", "nsd")
    rows = []
    diffs_all = {k: [] for k in keys}
    with tempfile.TemporaryDirectory() as tmp:
        for gi, (name, shape, spacing) in enumerate(GROUPS):
            rng = np.random.RandomState(1000 + gi)
            pairs = [blob_pair(rng, shape) for _ in range(args.pairs)]
            seg = segloss_eval(args.segloss, pairs, spacing, tmp)
            diffs = {k: [] for k in keys}
            for (pred, ref), s in zip(pairs, seg):
                dm = deepmind(sd_mod, pred, ref, spacing)
                # segloss's assd (pooled) against both readings of DeepMind's
                ours = {"hd95": s["hd95"], "assd_pooled": s["assd"], "assd_mean2": s["assd"],
                        "nsd": s["nsd"]}
                for k in keys:
                    diffs[k].append(abs(ours[k] - dm[k]))
                    diffs_all[k].append(diffs[k][-1])
            rows.append(("%s %s spacing %s" % (name, "x".join(map(str, shape)),
                                                ",".join(map(str, spacing))), args.pairs, diffs))
    rows.append(("all", len(diffs_all["nsd"]), diffs_all))

    print("|segloss − DeepMind| per pair: median / 95th percentile / max")
    print()
    print("| group | pairs | HD95 | ASSD (pooled) | ASSD (mean of the two) | NSD@1 |")
    print("|---|---|---|---|---|---|")
    for label, n, d in rows:
        cells = ["%.3f / %.3f / %.3f" % (statistics.median(d[k]), np.percentile(d[k], 95),
                                         max(d[k])) for k in keys]
        print("| %s | %d | %s |" % (label, n, " | ".join(cells)))


if __name__ == "__main__":
    main()
