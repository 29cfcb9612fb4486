#!/usr/bin/python3
"""Reference skeletons and clDice values from scikit-image and Metrics
Reloaded, for tests/test_metric_cldice.c.

Writes tests/data/metric/cldice_ref.txt (the C tests never run Python).
Needs /usr/bin/python3 with NumPy, SciPy and scikit-image (Debian
python3-numpy, python3-scipy, python3-skimage 0.19.3) and a Metrics
Reloaded source tree (github.com/Project-MONAI/MetricsReloaded):

    git -C MR_CLONE archive HEAD MetricsReloaded | tar x -C /tmp/mr
    /usr/bin/python3 tools/ref/gen_cldice_ref.py /tmp/mr

Per case: two label maps (pred, ref) on a 2-D or 3-D grid with a spacing;
per label L of the case, A = (pred == L), B = (ref == L):
  skeletons: skimage.morphology.skeletonize(A) and (B) (2-D: the
    look-up-table thinning `skeletonize_2d`; 3-D: `skeletonize_3d`), as the
    flat C-order indices of their voxels;
  cldice, tprec, tsens: BinaryPairwiseMeasures(A, B, pixdim=spacing)
    .centreline_dsc(), .topology_precision(), .topology_sensitivity()
    (nan printed as nan).

File format:
    case NAME NDIM D0 D1 [D2] S0 S1 [S2] NLABELS
    pred DIGITS              (the label of every voxel, C order, one digit each)
    ref DIGITS
    label L cldice V tprec V tsens V
    skel pred N I1 .. IN     (skeleton of A: N flat indices)
    skel ref N I1 .. IN
"""
import importlib
import os
import sys
import warnings

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "metric", "cldice_ref.txt")


def load(root):
    """Metrics Reloaded's pairwise_measures, loaded as gen_metrics2_ref.py
    loads it (without the package __init__ and its pandas/nibabel)."""
    spec = importlib.util.spec_from_file_location(
        "gen_metrics2_ref", os.path.join(HERE, "gen_metrics2_ref.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load(root)[0]


def blobs(rng, shape, sigma, level):
    f = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return f > level * f.std()


def perturb(rng, m, p=0.03):
    flip = rng.random_sample(m.shape) < p
    return np.roll(m, 1, axis=-1) ^ (flip & ndi.binary_dilation(m))


def cases():
    rng = np.random.RandomState(20261206)
    # 2-D ------------------------------------------------------------------
    for k in range(4):
        shape = (40, 52)
        a = blobs(rng, shape, 3.0, 0.2 * k)
        yield "blobs2d_%d" % k, shape, (1.0, 1.0), a.astype(int), perturb(rng, a).astype(int)
    for k in range(3):  # noise: many neighbourhood codes of the table
        shape = (24, 31)
        yield ("noise2d_%d" % k, shape, (0.5, 2.0),
               (rng.random_sample(shape) < 0.3 + 0.2 * k).astype(int),
               (rng.random_sample(shape) < 0.5).astype(int))
    shape = (21, 23)
    p = np.zeros(shape, int)
    r = np.zeros(shape, int)
    p[3, 2:20] = 1                       # a 1-pixel line
    r[2:5, 1:21] = 1                     # a 3-pixel band around it
    for i in range(15):                  # diagonals, 1 and 2 pixels thick
        p[5 + i, 2 + i] = 2
        r[5 + i, 2 + i] = r[5 + i, 3 + i] = 2
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    d = np.hypot(yy - 13, xx - 14)
    p[(d >= 4) & (d < 6)] = 3            # rings
    r[(d >= 3.5) & (d < 7.5)] = 3
    yield "lines_rings2d", shape, (1.0, 1.0), p, r
    shape = (12, 15)
    p = np.zeros(shape, int)
    r = np.zeros(shape, int)
    p[0:5, 0:15] = 1                     # touching three borders
    r[0:7, 2:15] = 1
    p[11, 0:15] = 2                      # a whole border row
    r[9:12, 3:12] = 2
    p[7, 7] = 3                          # single pixel vs 2x2
    r[7:9, 6:8] = 3
    yield "border2d", shape, (1.0, 1.0), p, r
    yield "full2d", (6, 7), (1.0, 1.0), np.ones((6, 7), int), np.ones((6, 7), int)
    p = np.zeros((8, 9), int)
    r = np.zeros((8, 9), int)
    r[2:6, 3:7] = 1
    yield "empty_pred2d", (8, 9), (1.0, 1.0), p, r
    yield "empty_ref2d", (8, 9), (1.0, 1.0), r, p
    p = np.zeros((8, 9), int)
    p[1:3, 1:3] = 2                      # label 1 absent from both
    r = np.zeros((8, 9), int)
    r[5:8, 6:9] = 2
    yield "disjoint2d", (8, 9), (1.0, 1.0), p, r
    # 3-D ------------------------------------------------------------------
    for k in range(3):
        shape = (20, 22, 24)
        a = blobs(rng, shape, 2.5, 0.3 * k)
        yield ("blobs3d_%d" % k, shape, (1.2, 0.9, 0.9), a.astype(int),
               perturb(rng, a).astype(int))
    for k in range(2):
        shape = (12, 13, 11)
        yield ("noise3d_%d" % k, shape, (1.0, 1.0, 1.0),
               (rng.random_sample(shape) < 0.35 + 0.3 * k).astype(int),
               (rng.random_sample(shape) < 0.5).astype(int))
    shape = (24, 26, 28)
    zz, yy, xx = np.mgrid[0:shape[0], 0:shape[1], 0:shape[2]]
    p = np.zeros(shape, int)
    r = np.zeros(shape, int)
    inner = (zz >= 2) & (zz < 22)
    p[(np.hypot(yy - 6, xx - 6) < 2.5) & inner] = 1         # tube along axis 0
    r[(np.hypot(yy - 6.5, xx - 6) < 3.2) & inner] = 1
    p[np.hypot(zz - 5, yy - 13) < 1.6] = 5                   # tubes through the image
    r[np.hypot(zz - 5.5, yy - 13) < 2.1] = 5                 # (skimage: empty skeletons)
    bend = np.hypot(np.hypot(zz - 12, yy - 13) - 8, xx - 18)
    p[bend < 2.2] = 2                                        # a torus (bent tube)
    r[bend < 2.8] = 2
    p[(zz > 2) & (zz < 8) & (np.abs(yy - 20) < 4) & (xx > 2) & (xx < 9)] = 3  # a slab
    r[(zz > 2) & (zz < 9) & (np.abs(yy - 20) < 3) & (xx > 1) & (xx < 9)] = 3
    sph = np.sqrt((zz - 18) ** 2 + (yy - 20) ** 2 + (xx - 6) ** 2)
    p[(sph >= 3) & (sph < 5)] = 4                             # hollow shells
    r[(sph >= 2.5) & (sph < 5.5)] = 4
    yield "tubes3d", shape, (1.0, 0.8, 0.6), p, r
    shape = (9, 10, 11)
    p = np.zeros(shape, int)
    r = np.zeros(shape, int)
    p[0:4, 0:10, 0:3] = 1                # touching four faces
    r[0:5, 0:9, 0:4] = 1
    p[8, 2:8, 5:11] = 2                  # one plane of a deep volume (six directions)
    r[7:9, 2:9, 5:11] = 2
    p[4, 5, 7] = 3                       # single voxels
    r[4, 5, 7] = 3
    p[6, 8, 1] = 4
    yield "border3d", shape, (1.0, 1.0, 1.0), p, r
    shape = (1, 18, 20)                  # depth 1: four directions
    a = blobs(rng, shape[1:], 2.0, 0.0)[None]
    yield "flat3d", shape, (1.0, 1.0, 1.0), a.astype(int), perturb(rng, a).astype(int)
    yield "full3d", (4, 5, 6), (1.0, 1.0, 1.0), np.ones((4, 5, 6), int), np.ones((4, 5, 6), int)
    p = np.zeros((5, 6, 7), int)
    r = np.zeros((5, 6, 7), int)
    r[1:4, 2:5, 2:6] = 1
    yield "empty_pred3d", (5, 6, 7), (1.0, 1.0, 1.0), p, r
    # rows longer than 64 and 128 voxels (bit rows of several words)
    shape = (10, 12, 150)
    a = blobs(rng, shape, 2.5, 0.0)
    b = blobs(rng, shape, 2.0, 0.5) & ~a
    p = a.astype(int) + 2 * b
    pa = perturb(rng, a)
    r = pa.astype(int) + 2 * (perturb(rng, b) & ~pa)
    yield "wide3d", shape, (1.0, 1.0, 1.0), p, r
    # thick overlapping ellipsoids, as in bench/bench_metric.c: many sweeps
    shape = (30, 34, 90)
    zz, yy, xx = np.mgrid[0:shape[0], 0:shape[1], 0:shape[2]]
    p = np.zeros(shape, int)
    r = np.zeros(shape, int)
    for lab, c, rad in ((1, (14, 16, 30), (12, 14, 25)), (2, (16, 18, 62), (10, 12, 30)),
                        (3, (8, 10, 70), (6, 5, 12))):
        for m, d in ((r, 0.0), (p, 1.3)):
            q = (((zz - c[0] - d) / rad[0]) ** 2 + ((yy - c[1] + d) / rad[1]) ** 2 +
                 ((xx - c[2] - 2 * d) / (rad[2] * (1 + 0.05 * d))) ** 2)
            m[q <= 1.0] = lab
    yield "ellipsoids3d", shape, (1.2, 0.9, 0.9), p, r


def fmt(v):
    v = float(v)
    return "nan" if v != v else repr(v)


def main():
    pm = load(sys.argv[1])
    warnings.simplefilter("ignore")
    lines = ["# generated by tools/ref/gen_cldice_ref.py (scikit-image %s, Metrics Reloaded "
             "centreline_dsc); do not edit" % __import__("skimage").__version__]
    for name, shape, spacing, pred, ref in cases():
        pred = np.asarray(pred, dtype=np.int64).reshape(shape)
        ref = np.asarray(ref, dtype=np.int64).reshape(shape)
        assert pred.max() <= 9 and ref.max() <= 9
        labels = sorted(set(np.unique(pred)) | set(np.unique(ref)) | {1})
        labels = [int(x) for x in labels if x != 0]
        lines.append("case %s %d %s %s %d" % (name, len(shape), " ".join(map(str, shape)),
                                            " ".join(map(repr, spacing)), len(labels)))
        lines.append("pred " + "".join(str(int(v)) for v in pred.ravel()))
        lines.append("ref " + "".join(str(int(v)) for v in ref.ravel()))
        for lab in labels:
            a = (pred == lab).astype(np.int8)
            b = (ref == lab).astype(np.int8)
            m = pm.BinaryPairwiseMeasures(a, b, pixdim=list(spacing))
            cl, tp, ts = m.centreline_dsc(), m.topology_precision(), m.topology_sensitivity()
            lines.append("label %d cldice %s tprec %s tsens %s" % (lab, fmt(cl), fmt(tp), fmt(ts)))
            for tag, x in (("pred", a), ("ref", b)):
                s = np.flatnonzero(skeletonize(x.astype(np.uint8)) > 0) if x.any() else []
                lines.append("skel %s %d%s" % (tag, len(s),
                                               "".join(" %d" % i for i in s)))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
