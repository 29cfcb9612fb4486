#!/usr/bin/python3
"""Reference metric values from MedPy's own code (medpy.metric.binary).

Writes tests/data/metric/medpy_ref.txt, read by tests/test_metric_medpy.c
(the C tests never run Python). Needs NumPy and SciPy (Debian:
/usr/bin/python3 with python3-numpy and python3-scipy) and a MedPy source
tree, >= 0.5.2 (0.5.0 and 0.5.1's assd raises ValueError on NumPy >= 1.24
whenever the two surfaces have different voxel counts). Only
medpy/metric/binary.py is loaded (it imports NumPy and SciPy only), so a
plain copy of that file is enough:

    mkdir -p /tmp/medpy/medpy/metric
    git -C MEDPY_CLONE show 0.5.2:medpy/metric/binary.py > /tmp/medpy/medpy/metric/binary.py
    git -C MEDPY_CLONE show 0.5.2:medpy/__init__.py > /tmp/medpy/medpy/__init__.py
    /usr/bin/python3 tools/ref/gen_metric_medpy.py /tmp/medpy [OUT]

MEDPY is a directory holding medpy/metric/binary.py (and, for the version
in the header line, medpy/__init__.py). Values per label L present in both
masks, with A = (pred == L), B = (ref == L), from MedPy's functions:

    hd          = binary.hd(A, B, spacing)
    hd95_pooled = binary.hd95(A, B, spacing)   percentile of both directions pooled
    assd        = binary.assd(A, B, spacing)   mean of both directions pooled (>= 0.5.2)
    assd_means  = mean(binary.asd(A, B), binary.asd(B, A))
                  (mean of the two directed means: MedPy <= 0.4's assd)
    dc, jc      = binary.dc(A, B), binary.jc(A, B)

and, from MedPy's directed distances D_AB = __surface_distances(A, B),
D_BA = __surface_distances(B, A) (the functions above are built on them):

    hd95_max = max(percentile(D_AB, 95), percentile(D_BA, 95))
    nsd_t    = (#{D_AB <= t} + #{D_BA <= t}) / (|D_AB| + |D_BA|), t = 1, 2

For a label absent from one or both masks (MedPy's distances raise
RuntimeError there), only dc and jc: for two empty masks MedPy >= 0.5
returns 1.0 for both.

File format (one case = header, two masks, then one line per label 1..NLABELS):
    case NDIM D0 [D1 [D2]] S0 [S1 [S2]] NLABELS
    pred DIGITS      (label of every voxel, C order, one digit each)
    ref DIGITS
    label L NSA NSB HD HD95_POOLED HD95_MAX ASSD_MEANS ASSD NSD1 NSD2 DC JC
    nodist L NA NB DC JC      (NA = |A|, NB = |B|; at least one is 0)
"""
import importlib.util
import os
import re
import sys

import numpy as np
import scipy


def load_medpy(root):
    path = os.path.join(root, "medpy", "metric", "binary.py")
    spec = importlib.util.spec_from_file_location("medpy_metric_binary", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    version = "unknown version"
    init = os.path.join(root, "medpy", "__init__.py")
    if os.path.exists(init):
        m = re.search(r'__version__\s*=\s*"([^"]+)"', open(init).read())
        if m:
            version = m.group(1)
    return mod, version


def blobs(rng, shape, nlabels, nblobs):
    grid = np.indices(shape).astype(float)
    out = np.zeros(shape, dtype=np.int64)
    for _ in range(nblobs):
        lab = rng.randint(1, nlabels + 1)
        c = [rng.uniform(-1, s) for s in shape]
        r = [rng.uniform(0.8, max(1.0, s * 0.45)) for s in shape]
        d = sum(((grid[i] - c[i]) / r[i]) ** 2 for i in range(len(shape)))
        out[d <= 1.0] = lab
    return out


def perturb(rng, ref, nlabels):
    pred = ref.copy()
    # shift by one voxel along a random axis, then flip a few voxels
    ax = rng.randint(ref.ndim)
    pred = np.roll(pred, rng.choice([-1, 1]), axis=ax)
    flip = rng.uniform(size=ref.shape) < 0.06
    pred[flip] = rng.randint(0, nlabels + 1, size=int(flip.sum()))
    return pred


def ellipsoid(shape, centre, radii):
    grid = np.indices(shape).astype(float)
    return sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(len(shape))) <= 1.0


def constructed():
    """Surfaces of very different sizes (a big object against a small one,
    a thin line, a stray voxel), where the pooled mean and the mean of the
    two directed means differ; labels absent from both masks; an all-zero
    pair. Yields (shape, spacing, nlabels, pred, ref)."""
    # 2-D, anisotropic: big disc vs small off-centre disc + a stray pixel (label 1),
    # a square vs a one-pixel-wide line (label 2), label 3 in neither mask.
    shape = (30, 26)
    ref = np.zeros(shape, dtype=np.int64)
    pred = np.zeros(shape, dtype=np.int64)
    ref[ellipsoid(shape, (12, 11), (9.5, 9.0))] = 1
    pred[ellipsoid(shape, (9, 14), (3.2, 2.6))] = 1
    pred[27, 2] = 1
    ref[22:29, 17:25] = 2
    pred[21:29, 20] = 2
    yield shape, (0.8, 1.7), 3, pred, ref
    # 3-D, anisotropic: large ellipsoid vs small one (label 1), a slab vs a
    # single voxel (label 2), label 4 in neither mask.
    shape = (14, 18, 12)
    ref = np.zeros(shape, dtype=np.int64)
    pred = np.zeros(shape, dtype=np.int64)
    ref[ellipsoid(shape, (6, 8, 6), (5.5, 7.5, 5.0))] = 1
    pred[ellipsoid(shape, (7, 10, 5), (2.2, 2.6, 2.1))] = 1
    ref[11:14, 0:6, 0:12] = 2
    pred[12, 3, 6] = 2
    pred[0:2, 16:18, 10:12] = 3
    ref[0:3, 15:18, 9:12] = 3
    yield shape, (2.5, 0.9, 0.9), 4, pred, ref
    # 1-D: a long run vs a short one.
    shape = (33,)
    ref = np.zeros(shape, dtype=np.int64)
    pred = np.zeros(shape, dtype=np.int64)
    ref[3:25] = 1
    pred[18:21] = 1
    yield shape, (0.6,), 1, pred, ref
    # Two all-background masks: every label is empty in both.
    shape = (6, 7)
    z = np.zeros(shape, dtype=np.int64)
    yield shape, (1.0, 1.0), 2, z, z.copy()
    # One mask empty for label 1 (MedPy's dc and jc: 0), both for label 2.
    shape = (5, 6, 4)
    ref = np.zeros(shape, dtype=np.int64)
    ref[1:4, 2:5, 1:3] = 1
    yield shape, (1.0, 2.0, 0.5), 2, np.zeros(shape, dtype=np.int64), ref


def random_cases(rng):
    for shape, spacing, nlabels, nblobs in [
        ((40,), (0.7,), 2, 4),
        ((24, 30), (1.0, 1.0), 3, 6),
        ((24, 30), (0.8, 1.7), 3, 6),
        ((17, 13), (2.0, 1.0), 1, 3),
        ((12, 14, 10), (1.0, 1.0, 1.0), 3, 6),
        ((12, 14, 10), (0.8, 1.25, 2.5), 3, 6),
        ((9, 16, 11), (3.0, 0.5, 0.5), 4, 8),
        ((1, 10, 12), (1.0, 1.0, 1.0), 2, 3),   # one-slice volume: all border
    ]:
        ref = blobs(rng, shape, nlabels, nblobs)
        yield shape, spacing, nlabels, perturb(rng, ref, nlabels), ref


def label_lines(mb, pred, ref, spacing, nlabels):
    sds = getattr(mb, "__surface_distances")
    out = []
    for lab in range(1, nlabels + 1):
        a, b = pred == lab, ref == lab
        dc, jc = mb.dc(a, b), mb.jc(a, b)
        if not a.any() or not b.any():
            out.append("nodist %d %d %d %s" % (lab, a.sum(), b.sum(),
                                              " ".join("%.17g" % v for v in (dc, jc))))
            continue
        dab, dba = sds(a, b, spacing), sds(b, a, spacing)
        n = len(dab) + len(dba)
        vals = [
            mb.hd(a, b, spacing),
            mb.hd95(a, b, spacing),
            max(np.percentile(dab, 95), np.percentile(dba, 95)),
            np.mean((mb.asd(a, b, spacing), mb.asd(b, a, spacing))),
            mb.assd(a, b, spacing),
            ((dab <= 1.0).sum() + (dba <= 1.0).sum()) / n,
            ((dab <= 2.0).sum() + (dba <= 2.0).sum()) / n,
            dc,
            jc,
        ]
        out.append("label %d %d %d %s" % (lab, len(dab), len(dba),
                                          " ".join("%.17g" % v for v in vals)))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: gen_metric_medpy.py MEDPY_SOURCE_DIR [OUT]")
    mb, version = load_medpy(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/data/metric/medpy_ref.txt"
    rng = np.random.RandomState(20240611)
    lines = ["# generated by tools/ref/gen_metric_medpy.py: MedPy %s medpy.metric.binary "
             "on SciPy %s, NumPy %s" % (version, scipy.__version__, np.__version__)]
    cases = list(random_cases(rng)) + list(constructed())
    for shape, spacing, nlabels, pred, ref in cases:
        lines.append("case %d %s %s %d" % (len(shape), " ".join(map(str, shape)),
                                            " ".join(repr(float(s)) for s in spacing), nlabels))
        lines.append("pred " + "".join(str(int(v)) for v in pred.ravel()))
        lines.append("ref " + "".join(str(int(v)) for v in ref.ravel()))
        lines += label_lines(mb, pred, ref, spacing, nlabels)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
