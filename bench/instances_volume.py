#!/usr/bin/python3
"""A 180x220x180 lesion map pair for timing `segloss eval --instances`
against `segloss eval --metrics dice` (docs/instances.md, "Speed").

    /usr/bin/python3 bench/instances_volume.py OUTDIR

writes OUTDIR/ref.npy and OUTDIR/pred.npy (uint8): 350 spheres of radius
1.5-4 voxels in the reference (341 components after touching ones merge),
85% of them predicted with a jitter of one voxel and a radius off by up to
20%, plus 60 small false-positive blobs (357 predicted components).
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
s = (180, 220, 180)
ref = np.zeros(s, np.uint8)
pred = np.zeros(s, np.uint8)
for _ in range(350):
    c = rng.integers(4, np.array(s) - 4)
    r = rng.uniform(1.5, 4)
    lo = np.maximum(c - 5, 0)
    hi = np.minimum(c + 6, s)
    g = np.indices(hi - lo).astype(float)
    sl = tuple(slice(lo[a], hi[a]) for a in range(3))
    d2 = sum((g[a] + lo[a] - c[a]) ** 2 for a in range(3))
    ref[sl][d2 <= r * r] = 1
    if rng.random() < 0.85:
        c2 = c + rng.integers(-1, 2, 3)
        d2 = sum((g[a] + lo[a] - c2[a]) ** 2 for a in range(3))
        pred[sl][d2 <= (r * rng.uniform(0.8, 1.2)) ** 2] = 1
for _ in range(60):
    c = rng.integers(4, np.array(s) - 4)
    pred[c[0] - 1:c[0] + 2, c[1] - 1:c[1] + 2, c[2] - 1:c[2] + 1] = 1
np.save(os.path.join(out, "ref.npy"), ref)
np.save(os.path.join(out, "pred.npy"), pred)
