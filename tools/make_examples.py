#!/usr/bin/python3
"""Writes the sample data of examples/ that the README runs `segloss eval` on.

    /usr/bin/python3 tools/make_examples.py [REPO_ROOT]

examples/png/pred/caseNN.png, examples/png/ref/caseNN.png
    Four 64x64 8-bit grey label maps (0 background, 1 "organ", 2 "lesion"):
    an ellipse with a small disc inside it. The predictions are shifted,
    grown, shrunk or miss/invent the lesion, so the table shows the usual
    situations, including a NaN (a recall with no lesion in the reference).
examples/nifti/pred.nii.gz, examples/nifti/ref.nii.gz
    One 3-D pair, NIfTI-1, dim (nx, ny, nz) = (48, 40, 20), pixdim
    (0.8, 0.8, 2.5) mm, uint8 labels 1 (an ellipsoid) and 2 (a ball in it).
    segloss reads it as an array of shape (20, 40, 48) with spacing
    (2.5, 0.8, 0.8): NIfTI's x varies fastest, so it is the last array axis.

Written with zlib/struct/gzip only (no PIL, no nibabel); deterministic (gzip
mtime 0): rerunning leaves `git status` clean. tools/ref/gen_eval_fixtures.py
imports the array builders below to compute the expected metrics.
"""
import gzip
import os
import struct
import sys
import zlib

import numpy as np

# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _chunk(typ, data):
    return (struct.pack(">I", len(data)) + typ + data +
            struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF))


def png_bytes(a, palette=None):
    """A 2-D uint8 or uint16 array as a grey PNG (8 or 16 bit), or, with a
    palette (list of RGB triples), as a palette PNG holding the indices."""
    a = np.asarray(a)
    h, w = a.shape
    if palette is not None:
        depth, color = 8, 3
        rows = a.astype(np.uint8)
    elif a.dtype == np.uint16:
        depth, color = 16, 0
        rows = a.astype(">u2")
    else:
        depth, color = 8, 0
        rows = a.astype(np.uint8)
    raw = b"".join(b"\x00" + rows[r].tobytes() for r in range(h))  # filter 0
    out = b"\x89PNG\r\n\x1a\n"
    out += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
    if palette is not None:
        out += _chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    out += _chunk(b"IDAT", zlib.compress(raw, 9))
    out += _chunk(b"IEND", b"")
    return out


NIFTI_TYPES = {  # numpy dtype -> (NIfTI datatype code, bitpix)
    "uint8": (2, 8), "int16": (4, 16), "int32": (8, 32), "float32": (16, 32),
    "float64": (64, 64), "int8": (256, 8), "uint16": (512, 16),
}


def nifti_bytes(a, spacing):
    """NIfTI-1 single file ("n+1"), little-endian. `a` is a segloss-ordered
    array (axis 0 = NIfTI's slowest axis): a 3-D array of shape (nz, ny, nx)
    is written with dim = (nx, ny, nz) and pixdim = spacing reversed, so that
    segloss reads back the same array and the same spacing."""
    a = np.ascontiguousarray(a)
    code, bitpix = NIFTI_TYPES[a.dtype.name]
    dims = list(reversed(a.shape))
    pix = list(reversed([float(s) for s in spacing]))
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    dim = [len(dims)] + dims + [1] * (7 - len(dims))
    struct.pack_into("<8h", h, 40, *dim)
    struct.pack_into("<hh", h, 70, code, bitpix)
    struct.pack_into("<8f", h, 76, 1.0, *(pix + [1.0] * (7 - len(pix))))
    struct.pack_into("<fff", h, 108, 352.0, 1.0, 0.0)   # vox_offset, scl_slope, scl_inter
    struct.pack_into("<B", h, 123, 2)                    # xyzt_units: mm
    struct.pack_into("<hh", h, 252, 0, 0)                # qform_code, sform_code
    h[344:348] = b"n+1\x00"
    return bytes(h) + b"\x00\x00\x00\x00" + a.astype(a.dtype.newbyteorder("<")).tobytes()


def gz(data):
    return gzip.compress(data, 9, mtime=0)


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# The sample data
# ---------------------------------------------------------------------------
PNG_SIZE = (64, 64)
NIFTI_SHAPE = (20, 40, 48)          # (nz, ny, nx): array order
NIFTI_SPACING = (2.5, 0.8, 0.8)     # per array axis, axis 0 first


def ellipse(shape, centre, radii):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    r = sum(((g - c) / float(s)) ** 2 for g, c, s in zip(grids, centre, radii))
    return r <= 1.0


def label_map(shape, organ, lesion):
    """organ/lesion: (centre, radii) or None."""
    m = np.zeros(shape, np.uint8)
    if organ:
        m[ellipse(shape, *organ)] = 1
    if lesion:
        m[ellipse(shape, *lesion)] = 2
    return m


# (reference, prediction) per case: (organ, lesion) each.
PNG_CASES = [
    ("case01",  # a good prediction, slightly shifted
     (((32, 30), (20, 14)), ((30, 34), (5, 5))),
     (((33, 31), (20, 14)), ((31, 34), (5, 5)))),
    ("case02",  # organ over-segmented, lesion under-segmented
     (((30, 32), (18, 22)), ((26, 38), (6, 6))),
     (((30, 32), (21, 25)), ((26, 38), (4, 4)))),
    ("case03",  # lesion missed entirely
     (((34, 32), (22, 16)), ((40, 30), (4, 4))),
     (((34, 33), (21, 16)), None)),
    ("case04",  # no lesion in the reference, a false positive one predicted
     (((32, 32), (16, 16)), None),
     (((32, 31), (17, 16)), ((24, 28), (3, 3)))),
]


def png_pairs():
    """[(name, pred, ref)] of the PNG examples, uint8 arrays (rows, cols)."""
    out = []
    for name, ref, pred in PNG_CASES:
        out.append((name + ".png", label_map(PNG_SIZE, *pred), label_map(PNG_SIZE, *ref)))
    return out


def nifti_pair():
    """(pred, ref, spacing): arrays of shape (nz, ny, nx), spacing per axis."""
    # Radii in voxels: an ellipsoid of about 24 x 13 x 6 mm semi-axes.
    ref = label_map(NIFTI_SHAPE, ((10, 20, 24), (6.5, 13, 17)), ((11, 18, 28), (2.2, 5, 5)))
    pred = label_map(NIFTI_SHAPE, ((10, 21, 23), (7.0, 13, 18)), ((11, 19, 29), (1.8, 4, 5)))
    return pred, ref, NIFTI_SPACING


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    ex = os.path.join(root, "examples")
    for name, pred, ref in png_pairs():
        put(os.path.join(ex, "png", "pred", name), png_bytes(pred))
        put(os.path.join(ex, "png", "ref", name), png_bytes(ref))
    pred, ref, sp = nifti_pair()
    put(os.path.join(ex, "nifti", "pred.nii.gz"), gz(nifti_bytes(pred, sp)))
    put(os.path.join(ex, "nifti", "ref.nii.gz"), gz(nifti_bytes(ref, sp)))


if __name__ == "__main__":
    main()
