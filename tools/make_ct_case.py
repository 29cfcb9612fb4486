#!/usr/bin/env python3
"""A CT-sized evaluation case for docs/benchmarks-eval.md (synthetic, NumPy only).

    /usr/bin/python3 tools/make_ct_case.py OUTDIR [--cases N] [--shape Z,Y,X]

Writes OUTDIR/ref/ct000.nii(.gz) (int16, 10 labels: ellipsoids of different
sizes, some overlapping, later labels painted over earlier ones) and
OUTDIR/pred/ct000.nii(.gz) (uint8: the same ellipsoids shifted by a voxel or
two and resized by a few percent), spacing 0.8 x 0.8 x 1.5 mm, as NIfTI-1,
both uncompressed (.nii) and gzip level 6 (.nii.gz, as nibabel writes). With
--cases N > 1 it writes N such pairs (other random ellipsoids) of the shape
given (default 512,512,300)."""
import argparse
import gzip
import os
import struct

import numpy as np


def nifti1(arr, spacing_zyx):
    """NIfTI-1 single-file bytes of a C-order (z, y, x) array."""
    codes = {np.dtype(np.uint8): (2, 8), np.dtype(np.int16): (4, 16)}
    code, bitpix = codes[arr.dtype]
    nz, ny, nx = arr.shape
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, code, bitpix)
    sz, sy, sx = spacing_zyx
    struct.pack_into("<8f", h, 76, 1.0, sx, sy, sz, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into("<f", h, 108, 352.0)
    struct.pack_into("<ff", h, 112, 1.0, 0.0)
    h[344:348] = b"n+1\0"
    return bytes(h) + b"\0\0\0\0" + np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()


def case(rng, shape):
    nz, ny, nx = shape
    ref = np.zeros(shape, np.int16)
    pred = np.zeros(shape, np.uint8)
    z, y, x = np.ogrid[:nz, :ny, :nx]
    for lab in range(1, 11):
        c = rng.uniform(0.25, 0.75, 3) * shape
        r = rng.uniform(0.04, 0.18, 3) * shape
        m = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1
        ref[m] = lab
        c2 = c + rng.integers(-2, 3, 3)
        r2 = r * rng.uniform(0.95, 1.05, 3)
        m2 = ((z - c2[0]) / r2[0]) ** 2 + ((y - c2[1]) / r2[1]) ** 2 + ((x - c2[2]) / r2[2]) ** 2 <= 1
        pred[m2] = lab
    return ref, pred


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--cases", type=int, default=1)
    ap.add_argument("--shape", default="300,512,512", help="Z,Y,X (array axes)")
    a = ap.parse_args()
    shape = tuple(int(s) for s in a.shape.split(","))
    rng = np.random.default_rng(14)
    for d in ("ref", "pred", "ref-gz", "pred-gz"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    for i in range(a.cases):
        ref, pred = case(rng, shape)
        for side, arr in (("ref", ref), ("pred", pred)):
            raw = nifti1(arr, (1.5, 0.8, 0.8))
            with open(os.path.join(a.out, side, "ct%03d.nii" % i), "wb") as f:
                f.write(raw)
            with open(os.path.join(a.out, side + "-gz", "ct%03d.nii.gz" % i), "wb") as f:
                f.write(gzip.compress(raw, compresslevel=6, mtime=0))


if __name__ == "__main__":
    main()
