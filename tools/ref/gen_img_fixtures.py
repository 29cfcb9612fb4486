#!/usr/bin/python3
"""Writes the PNG and NIfTI fixtures of tests/data/img/ for tests/test_io_png.c
and tests/test_io_nifti.c.

The files are written by hand with zlib/struct/gzip only (no PIL, no nibabel):
this script is an independent writer to check segloss's readers against. The
pixel values follow closed-form patterns that the C tests recompute on their
own, so no expected-value file is needed. Output is deterministic (gzip mtime
0): rerunning the script must leave `git status` clean.

    /usr/bin/python3 tools/ref/gen_img_fixtures.py [OUTDIR]

Patterns (r = row, c = column; i = flat index in file order, x fastest):
  PNG <= 8 bit   pat(r, c, m) = (31 r + 17 c + 3) mod m
  PNG 16 bit     pat16(r, c)  = (4099 r + 257 c + 1) mod 65536
  NIfTI          see VALUES below, per datatype
"""
import gzip
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "img")

ROWS, COLS = 6, 13   # odd width: exercises the padding of packed rows


def pat(r, c, m):
    return (31 * r + 17 * c + 3) % m


def pat16(r, c):
    return (4099 * r + 257 * c + 1) % 65536


# ---------------------------------------------------------------------------
# PNG
# ---------------------------------------------------------------------------
def chunk(typ, data):
    return (struct.pack(">I", len(data)) + typ + data +
            struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF))


def pack_row(samples, depth):
    """One scanline's samples (already interleaved) as bytes."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per = 8 // depth
    out = bytearray()
    for k in range(0, len(samples), per):
        byte = 0
        group = samples[k:k + per]
        for j, s in enumerate(group):
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """Filters each row with type (row index mod 5): every filter is used."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for k, row in enumerate(rows):
        ftype = k % 5
        f = bytearray()
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            f.append((row[x] - pred) & 0xFF)
        out.append(ftype)
        out += f
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, pixels, depth, color_type, palette=None, interlace=False,
              text=None):
    """pixels[r][c] is a tuple of channel samples."""
    h, w = len(pixels), len(pixels[0])
    channels = len(pixels[0][0])
    bpp = max(1, channels * depth // 8)
    raw = bytearray()
    if not interlace:
        rows = [pack_row([s for px in pixels[r] for s in px], depth) for r in range(h)]
        raw += filter_rows(rows, bpp)
    else:
        for (x0, y0, dx, dy) in ADAM7:
            xs = list(range(x0, w, dx))
            ys = list(range(y0, h, dy))
            if not xs or not ys:
                continue
            rows = [pack_row([s for x in xs for s in pixels[y][x]], depth) for y in ys]
            raw += filter_rows(rows, bpp)
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0,
                                       1 if interlace else 0))
    if palette is not None:
        data += chunk(b"PLTE", b"".join(bytes(rgb) for rgb in palette))
    if text is not None:
        data += chunk(b"tEXt", b"Comment\0" + text)
    z = zlib.compress(bytes(raw), 9)
    # Two IDAT chunks: readers must join them.
    half = len(z) // 2
    data += chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:])
    data += chunk(b"IEND", b"")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def grid(fn):
    return [[fn(r, c) for c in range(COLS)] for r in range(ROWS)]


def gen_png():
    for d in (1, 2, 4, 8):
        write_png("grey%d.png" % d, grid(lambda r, c, d=d: (pat(r, c, 1 << d),)), d, 0)
    write_png("grey16.png", grid(lambda r, c: (pat16(r, c),)), 16, 0)
    write_png("grey8_adam7.png", grid(lambda r, c: (pat(r, c, 256),)), 8, 0, interlace=True)
    write_png("grey1_adam7.png", grid(lambda r, c: (pat(r, c, 2),)), 1, 0, interlace=True)
    write_png("grey8_text.png", grid(lambda r, c: (pat(r, c, 256),)), 8, 0,
              text=b"written by gen_img_fixtures.py")
    # Palettes: the index is the label; the colours are arbitrary.
    for d, n in ((2, 3), (4, 11), (8, 7)):
        pal = [((37 * k) % 256, (91 * k) % 256, (13 * k) % 256) for k in range(n)]
        write_png("palette%d.png" % d, grid(lambda r, c, n=n: (pat(r, c, n),)), d, 3,
                  palette=pal)
    g8 = lambda r, c: pat(r, c, 256)
    write_png("rgb8_grey.png", grid(lambda r, c: (g8(r, c),) * 3), 8, 2)
    write_png("rgb16_grey.png", grid(lambda r, c: (pat16(r, c),) * 3), 16, 2)
    write_png("rgba8_grey.png", grid(lambda r, c: (g8(r, c),) * 3 + (255,)), 8, 6)
    write_png("ga8_opaque.png", grid(lambda r, c: (g8(r, c), 255)), 8, 4)
    write_png("ga16_opaque.png", grid(lambda r, c: (pat16(r, c), 65535)), 16, 4)
    # Rejected: colour at pixel (2, 5); transparency at pixel (1, 2).
    write_png("rgb8_colour.png",
              grid(lambda r, c: (g8(r, c), g8(r, c) ^ (1 if (r, c) == (2, 5) else 0), g8(r, c))),
              8, 2)
    write_png("ga8_transparent.png",
              grid(lambda r, c: (g8(r, c), 128 if (r, c) == (1, 2) else 255)), 8, 4)
    write_png("rgba8_transparent.png",
              grid(lambda r, c: (g8(r, c),) * 3 + (0 if (r, c) == (4, 12) else 255,)), 8, 6)


# ---------------------------------------------------------------------------
# NIfTI
# ---------------------------------------------------------------------------
# code, struct format char, value of flat index i
VALUES = {
    "uint8": (2, "B", lambda i: (7 * i + 3) % 256),
    "int8": (256, "b", lambda i: (7 * i + 3) % 256 - 128),
    "int16": (4, "h", lambda i: (389 * i) % 20000 - 10000),
    "uint16": (512, "H", lambda i: (389 * 13 * i) % 65536),
    "int32": (8, "i", lambda i: (1000003 * i) % 4000000000 - 2000000000),
    "uint32": (768, "I", lambda i: (2654435761 * i) % (1 << 32)),
    "int64": (1024, "q", lambda i: 123456789012345 * i - 4000000000000000),
    "uint64": (1280, "Q", lambda i: (11400714819323198485 * i) % (1 << 64)),
    "float32": (16, "f", lambda i: i * 0.25 - 3.0),
    "float64": (64, "d", lambda i: i * 0.1 - 1.0),
}
BITPIX = {"B": 8, "b": 8, "h": 16, "H": 16, "i": 32, "I": 32, "q": 64, "Q": 64,
          "f": 32, "d": 64}


def nifti1(dims, pixdim, dtype, big=False, slope=0.0, inter=0.0, ext=b"", values=None):
    e = ">" if big else "<"
    code, fmt, fn = VALUES[dtype]
    n = 1
    for d in dims:
        n *= d
    h = bytearray(348)
    struct.pack_into(e + "i", h, 0, 348)
    dim = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into(e + "8h", h, 40, *dim)
    struct.pack_into(e + "hh", h, 70, code, BITPIX[fmt])
    pd = [1.0] + list(pixdim) + [0.0] * (7 - len(pixdim))
    struct.pack_into(e + "8f", h, 76, *pd)
    vox = 352 + len(ext)
    struct.pack_into(e + "fff", h, 108, float(vox), slope, inter)
    h[123] = 2  # xyzt_units: mm
    h[344:348] = b"n+1\0"
    flag = b"\1\0\0\0" if ext else b"\0\0\0\0"
    vals = values if values is not None else [fn(i) for i in range(n)]
    data = struct.pack(e + "%d%s" % (n, fmt), *vals)
    return bytes(h) + flag + ext + data


def nifti2(dims, pixdim, dtype, big=False):
    e = ">" if big else "<"
    code, fmt, fn = VALUES[dtype]
    n = 1
    for d in dims:
        n *= d
    h = bytearray(540)
    struct.pack_into(e + "i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into(e + "hh", h, 12, code, BITPIX[fmt])
    dim = [len(dims)] + list(dims) + [1] * (7 - len(dims))
    struct.pack_into(e + "8q", h, 16, *dim)
    pd = [1.0] + list(pixdim) + [0.0] * (7 - len(pixdim))
    struct.pack_into(e + "8d", h, 104, *pd)
    struct.pack_into(e + "q", h, 168, 544)
    struct.pack_into(e + "dd", h, 176, 0.0, 0.0)
    struct.pack_into(e + "i", h, 500, 2)
    data = struct.pack(e + "%d%s" % (n, fmt), *[fn(i) for i in range(n)])
    return bytes(h) + b"\0\0\0\0" + data


def put(name, data, gz=False):
    if gz:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def gen_nifti():
    put("n1_u8.nii", nifti1((5, 4, 3), (0.5, 0.75, 2.5), "uint8"))
    put("n1_i16.nii.gz", nifti1((6, 5, 4), (1.25, 1.25, 3.0), "int16"), gz=True)
    put("n1_f32.nii.gz", nifti1((7, 3), (0.8, 0.6), "float32"), gz=True)
    put("n1_scaled.nii", nifti1((5, 4, 3), (1.0, 1.0, 1.0), "int16", slope=0.5, inter=-10.0))
    put("n1_be_f32.nii", nifti1((4, 3, 2), (0.5, 1.5, 4.0), "float32", big=True))
    put("n1_ext.nii", nifti1((5, 4, 3), (0.5, 0.75, 2.5), "uint8",
                             ext=struct.pack("<ii", 32, 6) + b"segloss test extension\0\0"))
    put("n1_4d.nii", nifti1((4, 3, 2, 1), (0.5, 0.25, 2.0, 0.0), "uint8"))
    put("n1_slice.nii", nifti1((4, 3, 1), (0.5, 0.25, 3.0), "uint8"))
    put("n1_nopixdim.nii", nifti1((5, 4, 3), (0.0, 0.0, 0.0), "uint8"))
    # One bad pixdim per file, the others kept (negative ones as |pixdim|).
    put("n1_pix0_x.nii", nifti1((5, 4, 3), (0.0, 0.75, 2.5), "uint8"))
    put("n1_pixbad.nii", nifti1((5, 4, 3), (-0.5, float("nan"), float("inf")), "uint8"))
    put("n1_pixneg.nii", nifti1((5, 4, 3), (-0.5, -0.75, 2.5), "uint8"))
    put("n1_pixninf_2d.nii", nifti1((7, 3), (0.8, float("-inf")), "uint8"))
    put("n2_pix0_z.nii", nifti2((5, 4, 3), (0.7, 0.9, 0.0), "uint16"))
    put("n2_u16.nii", nifti2((5, 4, 3), (0.7, 0.9, 1.1), "uint16"))
    put("n2_be_f64.nii.gz", nifti2((3, 4, 2), (2.0, 0.5, 1.5), "float64", big=True), gz=True)
    for name in VALUES:
        put("n1_dt_%s.nii" % name, nifti1((24,), (1.0,), name))
    # Two gzip members, split inside the voxel data.
    raw = nifti1((5, 4, 3), (0.5, 0.75, 2.5), "uint8")
    put("n1_u8_2member.nii.gz", gzip.compress(raw[:370], mtime=0) + gzip.compress(raw[370:], mtime=0))


def gen_npy():
    """A .npy label map for the dispatcher test: uint8 (2, 3), values 0..5."""
    hdr = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"
    hdr += b" " * (64 - 10 - len(hdr) - 1) + b"\n"
    put("labels.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + bytes(range(6)))


def npy(descr, shape, fmt, values, fortran=False):
    """A .npy file: header as numpy.save writes it, then the values packed
    with struct format fmt (byte order included) in the order given."""
    shp = "(%s)" % ("".join("%d, " % d for d in shape)[:-1] if len(shape) > 1 else "%d," % shape[0])
    hdr = ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"
           % (descr, fortran, shp)).encode()
    hdr += b" " * ((-(10 + len(hdr) + 1)) % 64) + b"\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr
            + struct.pack(fmt[0] + "%d%s" % (len(values), fmt[1:]), *values))


def gen_eval():
    """Pairs for tests/cli/eval.sh (prefix ev_).

    ev_f64_*: float64 scores next to 0.5 (and next to a logit threshold 0.1)
    that rounding to float32 would push onto the threshold. Row-major values:
      pred  0.49999999999 0.5 0.9 / 0.1 0.49999999999 1.0
      ref   1 1 1 / 0 1 0
    p >= 0.5 in float64: pred mask 0 1 1 / 0 0 1 -> tp 2, fp 1, fn 2, tn 1,
    dice 4/7 (in float32 the two 0.49999999999 become 0.5: tp 4, fn 0).
      logits 0.09999999999999 0.1 0.5 / -1 0.09999999999999 2, --threshold 0.1:
    the same mask.
    ev_order_*: one (2, 3) label map 0 1 2 / 3 1 0 stored C-order uint8
    (ref), and as the prediction: Fortran-order uint8, big-endian int16,
    Fortran big-endian int32, and big-endian float32 probabilities
    0.1 0.9 0.2 / 0.3 0.8 0.4 (mask 0 1 0 / 0 1 0) stored Fortran.
    ev_nii_*: a 3-D pair (nx, ny, nz) = (6, 5, 4), pixdim (0.5, 0.75, 2): ref
    box x 1..3, y 1..3, z 1..2; pred box x 2..4, y 1..3, z 1..2; and the same
    ref with pixdim[1] = 0 (ev_nii_ref_pix0) and with pixdim (-0.5, nan, inf)
    (ev_nii_ref_pixbad)."""
    put("ev_f64_pred.npy", npy("<f8", (2, 3), "<d",
                               [0.49999999999, 0.5, 0.9, 0.1, 0.49999999999, 1.0]))
    put("ev_f64_logits.npy", npy("<f8", (2, 3), "<d",
                                 [0.09999999999999, 0.1, 0.5, -1.0, 0.09999999999999, 2.0]))
    put("ev_f64_ref.npy", npy("|u1", (2, 3), "<B", [1, 1, 1, 0, 1, 0]))
    labels = [[0, 1, 2], [3, 1, 0]]
    c_order = [v for row in labels for v in row]
    f_order = [labels[r][c] for c in range(3) for r in range(2)]
    put("ev_order_ref.npy", npy("|u1", (2, 3), "<B", c_order))
    put("ev_order_fortran_u1.npy", npy("|u1", (2, 3), "<B", f_order, fortran=True))
    put("ev_order_be_i2.npy", npy(">i2", (2, 3), ">h", c_order))
    put("ev_order_be_fortran_i4.npy", npy(">i4", (2, 3), ">i", f_order, fortran=True))
    probs = [[0.1, 0.9, 0.2], [0.3, 0.8, 0.4]]
    put("ev_order_be_fortran_f4.npy",
        npy(">f4", (2, 3), ">f", [probs[r][c] for c in range(3) for r in range(2)], fortran=True))

    def box(x0, x1):
        return [1 if x0 <= x <= x1 and 1 <= y <= 3 and 1 <= z <= 2 else 0
                for z in range(4) for y in range(5) for x in range(6)]
    put("ev_nii_pred.nii", nifti1((6, 5, 4), (0.5, 0.75, 2.0), "uint8", values=box(2, 4)))
    put("ev_nii_ref.nii", nifti1((6, 5, 4), (0.5, 0.75, 2.0), "uint8", values=box(1, 3)))
    put("ev_nii_ref_pix0.nii", nifti1((6, 5, 4), (0.0, 0.75, 2.0), "uint8", values=box(1, 3)))
    put("ev_nii_ref_pixbad.nii", nifti1((6, 5, 4), (-0.5, float("nan"), float("inf")), "uint8",
                                        values=box(1, 3)))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen_png()
    gen_nifti()
    gen_npy()
    gen_eval()


if __name__ == "__main__":
    main()
