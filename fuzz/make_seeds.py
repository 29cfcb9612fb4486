#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (standard library only).

    python3 fuzz/make_seeds.py OUTDIR

creates OUTDIR/<target>/ for npy, png, nifti, loss, loss2, metric and cli. The committed
corpora (fuzz/corpus/<target>/) started from these seeds and grew by
fuzzing; they were minimised with libFuzzer's -merge=1 (docs/fuzzing.md).
Seeds are the repository's small test files (tests/data, tests/cli/data)
plus hand-made edge cases written here."""
import gzip
import hashlib
import os
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def files(sub, exts):
    d = os.path.join(ROOT, sub)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(exts))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- npy -------------------------------------------------------------------
def npy(descr, shape, data, version=1, fortran=False, pad=True):
    shp = "(" + "".join("%d, " % s for s in shape)[:-2] + ("," if len(shape) == 1 else "") + ")"
    if not shape:
        shp = "()"
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shp)
    pre = 10 if version == 1 else 12
    if pad:
        total = pre + len(h) + 1
        h += " " * ((64 - total % 64) % 64)
    h += "\n"
    hb = h.encode("latin1")
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hb))
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(hb))
    return head + hb + data


def npy_seeds(out):
    for p in files("tests/data/npy", ".npy") + files("tests/cli/data", ".npy") + \
            files("tests/data/img", ".npy"):
        put(out, "npy", os.path.basename(p), read(p))
    put(out, "npy", "hand_u1_huge_claims.npy", npy("|u1", (1 << 40,), b"\x00" * 16))
    put(out, "npy", "hand_f8_nested_descr.npy",
        npy("[('a', '<f4'), ('b', [('c', '<i2')])]", (2,), b"\x00" * 12))
    put(out, "npy", "hand_v3_utf8.npy", npy("<f4", (1,), b"\x00\x00\x80\x3f", version=3))
    put(out, "npy", "hand_zero_dims.npy", npy("<i8", (0, 1 << 62), b""))
    put(out, "npy", "hand_hdrlen_huge_v2.npy",
        b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{'descr': '<f4'")


# ---- png -------------------------------------------------------------------
def chunk(t, data):
    c = t + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)


def png(w, h, depth, ctype, rows, interlace=0, extra=b""):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    return sig + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + \
        chunk(b"IEND", b"")


def png_seeds(out):
    for p in files("tests/data/img", ".png"):
        put(out, "png", os.path.basename(p), read(p))
    g = png(4, 3, 8, 0, [bytes([0, 1, 2, 255])] * 3)
    put(out, "png", "hand_grey8_4x3.png", g)
    bad = bytearray(g)
    bad[-20] ^= 0x40            # inside the IDAT data: CRC mismatch
    put(out, "png", "hand_bad_crc.png", bytes(bad))
    put(out, "png", "hand_truncated.png", g[: len(g) - 15])
    put(out, "png", "hand_huge_header.png",
        png(1 << 24, 1 << 20, 8, 0, [b"\x00" * 4]))        # promises 16 TB, holds nothing
    put(out, "png", "hand_wide_rgba16.png", png(1 << 22, 1, 16, 6, [b"\x00" * 8]))
    put(out, "png", "hand_palette.png",
        png(2, 2, 8, 3, [b"\x00\x01", b"\x01\x00"], extra=chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")))
    put(out, "png", "hand_ztxt.png",
        png(1, 1, 8, 0, [b"\x07"], extra=chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * 4096))))


# ---- nifti -----------------------------------------------------------------
def nifti1(dims, dtype, bitpix, data, pixdim=(1, 1, 1, 1), vox=352, endian="<", slope=0.0,
           inter=0.0):
    h = bytearray(348)
    struct.pack_into(endian + "i", h, 0, 348)
    d = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into(endian + "8h", h, 40, *d)
    struct.pack_into(endian + "hh", h, 70, dtype, bitpix)
    pd = [1.0] + list(pixdim) + [1.0] * (7 - len(pixdim))
    struct.pack_into(endian + "8f", h, 76, *pd)
    struct.pack_into(endian + "fff", h, 108, vox, slope, inter)
    h[344:348] = b"n+1\x00"
    return bytes(h) + b"\x00" * (vox - 348) + data


def nifti2(dims, dtype, bitpix, data, vox=544):
    h = bytearray(540)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\x00\r\n\x1a\n"
    struct.pack_into("<hh", h, 12, dtype, bitpix)
    d = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into("<8q", h, 16, *d)
    struct.pack_into("<8d", h, 104, *([1.0] * 8))
    struct.pack_into("<q", h, 168, vox)
    return bytes(h) + b"\x00" * (vox - 540) + data


def nifti_seeds(out):
    # Mode byte (fuzz_nifti.c): 0 as is, 1 gzip here, 2 two members, 3 cut.
    for p in files("tests/data/img", (".nii", ".nii.gz")):
        b = read(p)
        n = os.path.basename(p)
        put(out, "nifti", "m0_" + n, b"\x00" + b)
        if not n.endswith(".gz"):
            put(out, "nifti", "m1_" + n, b"\x01" + b)
    small = nifti1((3, 2, 1), 2, 8, bytes(range(6)), pixdim=(0.5, 2, 3))
    put(out, "nifti", "m0_hand_u8.nii", b"\x00" + small)
    put(out, "nifti", "m2_hand_u8_split.nii", bytes([2 | (20 << 2)]) + small)
    put(out, "nifti", "m3_hand_u8_cut.nii", bytes([3 | (40 << 2)]) + small)
    put(out, "nifti", "m1_hand_be_i16.nii",
        b"\x01" + nifti1((2, 2), 4, 16, struct.pack(">4h", 1, -2, 3, 300), endian=">"))
    put(out, "nifti", "m0_hand_scaled.nii",
        b"\x00" + nifti1((2,), 2, 8, b"\x01\x02", slope=2.5, inter=-1.0))
    put(out, "nifti", "m0_hand_huge_dims.nii",
        b"\x00" + nifti1((32767, 32767, 32767), 64, 64, b"\x00" * 64))
    put(out, "nifti", "m0_hand_n2_huge.nii",
        b"\x00" + nifti2((1 << 40, 1 << 20), 2, 8, b"\x00" * 16))
    put(out, "nifti", "m1_hand_n2_u8.nii", b"\x01" + nifti2((2, 2), 2, 8, b"\x01\x00\x00\x01"))
    put(out, "nifti", "m0_hand_gzip_bomb_header.nii",
        b"\x00" + gzip.compress(nifti1((4,), 2, 8, b"\x00" * 4) + b"\x00" * (1 << 20)))


# ---- loss ------------------------------------------------------------------
def loss_seeds(out):
    # Layout in fuzz_loss.c: family, rank, 5 dims, reduction, then option
    # bytes and values (zero bytes past the end are fine). A deterministic
    # spread: every family x rank 1..5 x reductions, values from a hash.
    for fam in range(12):
        for rank in range(1, 6):
            for red in range(3):
                dims = [1 + (fam + rank + k) % 3 for k in range(5)]
                dims = [d if d != 1 or k != 1 else 2 for k, d in enumerate(dims)]
                head = bytes([fam, rank - 1, *[(d - 1) for d in dims], red])
                body = hashlib.sha256(head).digest() * 8
                put(out, "loss", "f%02d_r%d_%d" % (fam, rank, red), head + body)


def loss2_seeds(out):
    # Layout in fuzz_loss2.c: the same case header (family, rank, 5 dims,
    # reduction), then the value mode and the family's bytes. Every family
    # x rank 1..5 x reductions, 2 or 3 channels, both value modes.
    for fam in range(13):
        for rank in range(1, 6):
            for red in range(3):
                for vmode in range(2):
                    dims = [1 + (fam + rank + k) % 3 for k in range(5)]
                    dims[1] = 2 + (fam + red) % 2
                    head = bytes([fam, rank - 1, *[(d - 1) for d in dims], red, vmode])
                    body = hashlib.sha256(head).digest() * 8
                    put(out, "loss2", "f%02d_r%d_%d_%d" % (fam, rank, red, vmode), head + body)


def metric_seeds(out):
    # Layout in fuzz_metric.c: rank and dtypes, 3 dims, 3 spacings,
    # percentile, tolerance, flags, beta, boundary width, mask metrics,
    # ignore label, convention, then pred and ref voxels. Ranks 1..3, both
    # surfaces, distances on, valid options mostly, every convention;
    # voxels from a hash.
    for rank in range(3):
        for flags in (16, 17, 16 + 32, 16 + 8 + 2, 0, 16 + 64):
            for dims in ((5, 4, 3), (6, 6, 6), (1, 5, 2)):
                conv = (2 * ((rank + flags + dims[0]) % 8) + 1) if flags & 16 else 0
                head = bytes([rank + 4 * (flags % 8), *[d - 1 for d in dims], 0, 1, 5,
                              0, 0, flags, 0, 0, 7, 1, conv])
                body = hashlib.sha256(head).digest() * 16
                put(out, "metric", "r%d_f%d_%d%d%d" % (rank + 1, flags, *dims), head + body)


# ---- cli -------------------------------------------------------------------
def cli_seeds(out):
    cases = [
        "--help", "--version", "demo", "frob",
        "loss --help", "loss dice --help",
        "loss bce -i %p -t %y",
        "loss bce-logits -i %x -t %y --reduction none --out %o --grad %G",
        "loss bce-logits -i %x -t %u --weight %w --pos-weight %v --reduction sum --grad %G",
        "loss bce-logits -i %x -t %y --pos-weight 0.5,2,3 --json",
        "loss bce-logits -i %d -t %b --grad=%G",
        "loss dice -i %x -t %y --batch --squared --jaccard --reduction none --out %o",
        "loss dice -i %p -t %s --activation none --smooth-nr 0 --smooth-dr=1e-3",
        "loss focal -i %x -t %y --alpha 0.25 --gamma 2 --grad %G",
        "loss ce -i %x -t %c --label-smoothing 0.1 --class-weight 1,2,3 --ignore-index 2",
        "loss lovasz-hinge -i %x -t %y --per-image --reduction none --out %o --grad %G",
        "loss bce -i %x -t %y --grad %G",
        "loss bce-logits -i %x -t %k --grad %G",
        "loss bce-logits -i %n -t %y",
        "loss bce -i %e -t %e",
        "loss bce -i %g -t %y",
        "loss bce -i %t -t %y",
        "loss bce-logits -i %1 -t %2 --pos-weight 1,2",
        "loss bce-logits -i %x -t %y --weight %B",
        "loss bce-logits -i %x -t %y --reduction none --grad %G --out nodir/o.npy",
        "eval --pred %M --ref %R --json -",
        "eval --pred %m --ref %r --metrics all --csv %C --json %j",
        "eval --pred %N --ref %Z --metrics dice,hd95,nsd --spacing 1,2 --tolerance 2",
        "eval --pred %S --ref %R --scores probs --threshold 0.3 --labels 1,2 --csv -",
        "eval --pred %P --ref %Q --allow-missing --keep-going --threads 2 --json -",
        "eval --pred %P --ref %Q --hd95-variant pooled --percentile 50 --empty-score one --empty-distance diag",
        "eval --pred %M --ref %m --max-bytes 1K --quiet",
    ]
    for k, c in enumerate(cases):
        put(out, "cli", "seed%02d" % k, b"\x00".join(a.encode() for a in c.split(" ")))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    npy_seeds(out)
    png_seeds(out)
    nifti_seeds(out)
    loss_seeds(out)
    loss2_seeds(out)
    metric_seeds(out)
    cli_seeds(out)


if __name__ == "__main__":
    main()
