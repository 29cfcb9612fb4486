#!/usr/bin/python3
"""Writes the input-fault fixtures of tests/cli/fault_data/ for
tests/cli/faults.sh (the table in docs/faults.md).

Run with Debian's /usr/bin/python3 (numpy):

    /usr/bin/python3 tools/ref/gen_fault_fixtures.py [tests/cli/fault_data]

Well-formed .npy arrays come from numpy; broken and oversized headers are
written by hand. PNG and NIfTI files are written with the independent
writers of gen_img_fixtures.py (zlib/struct/gzip only) and then damaged
byte by byte. Everything is deterministic (fixed seed, gzip mtime 0):
rerunning the script must leave `git status` clean.
"""
import gzip
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_img_fixtures as img  # noqa: E402  (chunk, write_png, nifti1, nifti2)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "..", "tests", "cli", "fault_data")
img.OUT = OUT   # its writers put files under img.OUT

rng = np.random.RandomState(20240607)
SHAPE = (2, 1, 4, 4)


def path(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def put(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def save(name, arr):
    np.save(path(name), arr, allow_pickle=False)


def npy_bytes(arr):
    """The bytes np.save writes (format 1.0 for everything here)."""
    import io
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=False)
    return b.getvalue()


def npy_header_only(descr, shape_text, fortran=False):
    """A version 1.0 .npy preamble + header, padded to 64 bytes, no data."""
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    total = (10 + len(hdr) + 1 + 63) // 64 * 64
    hdr = hdr + " " * (total - 10 - len(hdr) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode("latin1")


def noise(n, seed):
    """n deterministic bytes that start with none of the formats' magics."""
    r = np.random.RandomState(seed)
    b = bytearray(r.randint(0, 256, size=n, dtype=np.uint8).tobytes())
    b[0] = 0x42
    return bytes(b)


# ---------------------------------------------------------------------------
# loss: .npy arrays
# ---------------------------------------------------------------------------
def gen_loss():
    x = (rng.standard_normal(SHAPE) * 2.0).astype(np.float32)            # logits
    p = (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)  # probabilities
    y = (rng.uniform(size=SHAPE) < 0.4).astype(np.float32)
    save("x.npy", x)
    save("p.npy", p)
    save("y.npy", y)
    save("y255.npy", (y * 255).astype(np.uint8))
    # Binarised predictions: the mask itself, thresholded at logit 0.
    save("p_binary.npy", (x >= 0).astype(np.float32))

    # Non-finite predictions: NaN at 17, +inf at 20, -inf at 25 (flat).
    xn = x.copy().reshape(-1)
    xn[17], xn[20], xn[25] = np.nan, np.inf, -np.inf
    save("x_nonfinite.npy", xn.reshape(SHAPE))
    xi = x.copy().reshape(-1)
    xi[5] = -np.inf
    save("x_inf.npy", xi.reshape(SHAPE))
    pn = p.copy().reshape(-1)
    pn[3] = np.nan
    save("p_nan.npy", pn.reshape(SHAPE))
    # The same positions marked 255 in a uint8 target: --ignore-index 255
    # excludes them, and their inputs are not read.
    yi = y.astype(np.uint8).reshape(-1)
    yi[[17, 20, 25]] = 255
    save("y_ign.npy", yi.reshape(SHAPE))

    # Weights (broadcast (1, 4, 4) against (2, 1, 4, 4)) and pos_weight (4,).
    w = rng.uniform(0.5, 2.0, size=(1, 4, 4)).astype(np.float32)
    save("w.npy", w)
    wn = w.copy().reshape(-1)
    wn[2], wn[9] = np.nan, np.inf
    save("w_nonfinite.npy", wn.reshape(w.shape))
    wneg = w.copy().reshape(-1)
    wneg[6] = -0.5
    save("w_negative.npy", wneg.reshape(w.shape))
    save("pw_nan.npy", np.array([1.0, np.nan, 2.0, 0.5], dtype=np.float32))
    save("pw_negative.npy", np.array([1.0, 2.0, -1.0, 0.5], dtype=np.float32))
    yn = y.copy().reshape(-1)
    yn[7] = np.nan
    save("y_nan.npy", yn.reshape(SHAPE))
    # ce: three classes on axis 1, class-index target.
    save("x3.npy", (rng.standard_normal((2, 3, 4, 4)) * 2.0).astype(np.float32))
    save("cls.npy", rng.randint(0, 3, size=(2, 4, 4)).astype(np.int64))

    # Shapes.
    save("a23.npy", rng.uniform(size=(2, 3)).astype(np.float32))
    save("b32.npy", (rng.uniform(size=(3, 2)) < 0.5).astype(np.float32))
    save("empty.npy", np.zeros((0, 3), dtype=np.float32))
    save("rank6.npy", rng.standard_normal((1, 1, 2, 2, 2, 2)).astype(np.float32))
    save("rank6_y.npy", (rng.uniform(size=(1, 1, 2, 2, 2, 2)) < 0.5).astype(np.float32))
    put("rank9.npy", npy_header_only("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)") + b"\0\0\0\0")
    # Element count 2^120: overflows before anything is allocated.
    put("overflow.npy", npy_header_only("<f4", "(1099511627776, 1099511627776, 1099511627776)"))
    # 2^62 elements of 8 bytes: the count fits in int64, the byte size does not.
    put("overflow_bytes.npy", npy_header_only("<f8", "(4611686018427387904,)"))
    # 64 GiB promised by a 128-byte file: above the default --max-bytes.
    put("huge.npy", npy_header_only("<f4", "(65536, 65536, 4)"))

    # Dtypes, byte order, memory order.
    save("x_i32.npy", np.arange(32, dtype=np.int32).reshape(SHAPE) % 2)
    save("c64.npy", (rng.standard_normal((2, 3)) + 1j).astype(np.complex64))
    save("bigend.npy", rng.uniform(size=(2, 3)).astype(">f4"))
    save("fortran.npy", np.asfortranarray(rng.uniform(size=(2, 3)).astype(np.float32)))

    # Truncated and garbage files.
    full = npy_bytes(x)
    put("trunc_data.npy", full[:128 + 40])        # header + 40 of 128 data bytes
    put("trunc_header.npy", full[:30])           # inside the header
    put("trailing.npy", full + b"\0\0\0")
    put("garbage.npy", noise(200, 1))
    put("zero_bytes.npy", b"")


# ---------------------------------------------------------------------------
# eval: PNG, NIfTI, .npy score maps, directories
# ---------------------------------------------------------------------------
R, C = 6, 7


def label_grid(seed, rows=R, cols=C):
    r = np.random.RandomState(seed)
    m = (r.uniform(size=(rows, cols)) < 0.4).astype(int)
    return [[(int(m[i, j]),) for j in range(cols)] for i in range(rows)]


def png_chunks(data):
    """[(offset, type, length)] of the chunks of a PNG file."""
    out, pos = [], 8
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        out.append((pos, data[pos + 4:pos + 8], n))
        pos += 12 + n
    return out


def flip_crc(data, typ):
    """The PNG with the CRC of the first chunk of type `typ` changed."""
    for off, t, n in png_chunks(data):
        if t == typ:
            b = bytearray(data)
            b[off + 8 + n] ^= 0x01
            return bytes(b)
    raise ValueError(typ)


def ihdr_only_png(w, h):
    """Signature, IHDR of a w x h 8-bit grey image, one tiny IDAT, IEND."""
    d = b"\x89PNG\r\n\x1a\n"
    d += img.chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    d += img.chunk(b"IDAT", zlib.compress(b"\0" * 64))
    d += img.chunk(b"IEND", b"")
    return d


def gen_png():
    os.makedirs(os.path.join(OUT, "png"), exist_ok=True)
    img.write_png("png/pred.png", label_grid(1), 8, 0)
    img.write_png("png/ref.png", label_grid(2), 8, 0)
    img.write_png("png/ref_7x6.png", label_grid(3, C, R), 8, 0)
    img.write_png("png/text.png", label_grid(1), 8, 0, text=b"segloss fault fixture")
    img.write_png("png/colour.png",
                  [[(v[0] * 200, v[0] * 200 + (1 if (i, j) == (2, 3) else 0), v[0] * 200)
                    for j, v in enumerate(row)] for i, row in enumerate(label_grid(1))], 8, 2)
    with open(path("png", "pred.png"), "rb") as f:
        good = f.read()
    with open(path("png", "text.png"), "rb") as f:
        text = f.read()
    os.remove(path("png", "text.png"))
    put("png/crc_idat.png", flip_crc(good, b"IDAT"))
    put("png/crc_text.png", flip_crc(text, b"tEXt"))
    put("png/trunc.png", good[:len(good) * 2 // 3])
    put("png/garbage.png", noise(300, 2))
    # 100000 x 100000 8-bit: 10^10 bytes, above the default --max-bytes.
    put("png/huge.png", ihdr_only_png(100000, 100000))


def nii_patch_dims1(data, dims):
    b = bytearray(data)
    dim = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into("<8h", b, 40, *dim)
    return bytes(b)


def gen_nifti():
    labels = [int(v) for v in (np.random.RandomState(4).uniform(size=60) < 0.4)]
    ok = img.nifti1((5, 4, 3), (1.0, 1.0, 2.0), "uint8", values=labels)
    put("nii/ref.nii", ok)
    put("nii/pred.nii.gz", gzip.compress(ok, compresslevel=9, mtime=0))
    put("nii/trunc.nii", ok[:352 + 30])                  # 30 of 60 voxels
    put("nii/trunc_header.nii", ok[:200])
    put("nii/garbage.nii", noise(400, 3))
    gz = gzip.compress(ok, compresslevel=9, mtime=0)
    put("nii/trunc.nii.gz", gz[:len(gz) // 2])
    b = bytearray(gz)
    b[len(b) // 2] ^= 0xFF                               # inside the deflate data
    put("nii/corrupt.nii.gz", bytes(b))
    b = bytearray(gz)
    b[-8] ^= 0x01                                        # the CRC-32 of the trailer
    put("nii/badcrc.nii.gz", bytes(b))
    # float64 32767^3: 2.8e14 bytes promised by a 412-byte file.
    big = img.nifti1((1, 1, 1), (1.0, 1.0, 1.0), "float64")
    put("nii/huge.nii", nii_patch_dims1(big, (32767, 32767, 32767)))
    put("nii/negdim.nii", nii_patch_dims1(ok, (5, -4, 3)))
    # NIfTI-2, dims 2^40 x 2^40 x 2^40: the voxel count overflows int64.
    n2 = bytearray(img.nifti2((1, 1, 1), (1.0, 1.0, 1.0), "uint8"))
    struct.pack_into("<8q", n2, 16, 3, 1 << 40, 1 << 40, 1 << 40, 1, 1, 1, 1)
    put("nii/overflow2.nii", bytes(n2))


def gen_eval_npy():
    ref = (np.random.RandomState(5).uniform(size=(R, C)) < 0.4).astype(np.uint8)
    save("scores/ref.npy", ref)
    s = np.random.RandomState(6).uniform(size=(R, C)).astype(np.float32)
    sn = s.copy().reshape(-1)
    sn[[9, 11, 30]] = [np.nan, np.inf, np.nan]
    save("scores/nonfinite.npy", sn.reshape(R, C))
    si = s.copy().reshape(-1)
    si[4] = np.inf
    save("scores/inf.npy", si.reshape(R, C))           # probabilities: outside [0,1]
    lg = np.log(s / (1 - s)).astype(np.float32).reshape(-1)
    lg[4], lg[8] = np.inf, -np.inf
    save("scores/logits_inf.npy", lg.reshape(R, C))    # logits: +-inf threshold fine
    save("scores/empty.npy", np.zeros((0, C), dtype=np.uint8))
    save("scores/c64.npy", s.astype(np.complex64))
    # Directories whose files do not pair up: a.npy both sides, b.npy only
    # in pred, c.npy only in ref.
    save("pairs/pred/a.npy", ref)
    save("pairs/pred/b.npy", ref)
    save("pairs/ref/a.npy", ref)
    save("pairs/ref/c.npy", ref)


def main():
    os.makedirs(OUT, exist_ok=True)
    gen_loss()
    gen_png()
    gen_nifti()
    gen_eval_npy()


if __name__ == "__main__":
    main()
