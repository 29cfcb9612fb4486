#!/usr/bin/python3
"""Generate the .npy fixtures read by tests/test_npy.c.

Run from the repository root with a Python that has numpy (on Debian:
/usr/bin/python3 tools/ref/gen_npy_fixtures.py). Writes tests/data/npy/.

Values follow fixed patterns of the flat index i that tests/test_npy.c
recomputes independently (it never derives them from segloss):
  float32  (i - 7) * 0.25
  float64  i * 0.1 - 1.0                     (double arithmetic)
  bool     i % 3 == 0
  integers the low 8*itemsize bits of i * M + A (mod 2**64), with
           (M, A) from INT_PATTERN below, viewed as the signed/unsigned type.

good_*.npy are valid files; hand_*.npy are valid files with hand-written
headers (odd but legal spellings); bad_*.npy must be rejected.

good_*_fortran_* / good_*_be_* hold the same patterns stored in Fortran order
and/or big-endian: what segloss returns (native C order) is the pattern.
conv_*.npy are arrays whose values are not a pattern (transposed arrays,
float16): each comes with conv_*.want.npy, the values NumPy holds for it,
saved by NumPy as a C-order little-endian array (float16 as float32, through
NumPy's own astype): the test compares what segloss reads, element for
element and bit for bit, with the want file.
"""
import os
import struct
import sys

import numpy as np

OUT = os.path.join("tests", "data", "npy")

# (multiplier, addend) per integer dtype; keep in sync with tests/test_npy.c.
INT_PATTERN = {
    "u1": (37, 11),
    "i1": (37, 11),
    "i2": (40503, 12345),
    "u2": (4099, 7),
    "i4": (2654435761, 1),
    "u4": (2246822519, 3),
    "i8": (0x9E3779B97F4A7C15, 5),
    "u8": (0xC2B2AE3D27D4EB4F, 9),
}


def pattern(code, shape):
    """The array of dtype code (e.g. 'f4', 'u2') and shape with the pattern."""
    n = int(np.prod(shape, dtype=np.int64))
    if code == "f4":
        a = ((np.arange(n, dtype=np.float64) - 7) * 0.25).astype("<f4")
    elif code == "f8":
        a = np.arange(n, dtype=np.float64) * 0.1 - 1.0
    elif code == "b1":
        a = np.arange(n) % 3 == 0
    else:
        m, add = INT_PATTERN[code]
        bits = 8 * int(code[1])
        with np.errstate(over="ignore"):
            u = np.arange(n, dtype=np.uint64) * np.uint64(m) + np.uint64(add)
        u = u & np.uint64((1 << bits) - 1) if bits < 64 else u
        a = u.astype("<u%d" % (bits // 8)).view("<%s%d" % (code[0], bits // 8))
    return a.reshape(shape)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=(arr.dtype == object))
        else:
            np.lib.format.write_array(f, arr, version=version)


def raw(header, data=b"", version=(1, 0), align=True):
    """A .npy file with a hand-written header string."""
    h = header.encode("latin1")
    pre = 10 if version[0] == 1 else 12
    if align:
        total = pre + len(h) + 1
        h = h + b" " * ((-total) % 64) + b"\n"
    fmt = "<H" if version[0] == 1 else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(h)) + h + data


def hdr(descr, shape, fortran=False):
    return "{'descr': %r, 'fortran_order': %s, 'shape': %r, }" % (descr, fortran, shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".npy"):
            os.remove(os.path.join(OUT, f))

    # --- valid files written by numpy itself -------------------------------
    good = [
        ("f4", (2, 3)), ("f8", (4,)), ("u1", (2, 3, 4)), ("b1", (3, 5)), ("i1", (7,)),
        ("i2", (2, 2, 2, 2)), ("i4", (1, 2, 3, 2, 1)), ("i8", (5, 3)), ("u2", (6,)),
        ("u4", (2, 3, 2)), ("u8", (3, 3)),
    ]
    for code, shape in good:
        save("good_%s_%s.npy" % (code, "x".join(map(str, shape))), pattern(code, shape))
    save("good_f4_scalar.npy", pattern("f4", ()))
    save("good_f8_scalar.npy", pattern("f8", ()))
    save("good_i8_scalar.npy", pattern("i8", ()))
    save("good_f4_1.npy", pattern("f4", (1,)))
    save("good_f4_0.npy", pattern("f4", (0,)))
    save("good_u1_2x0x3.npy", pattern("u1", (2, 0, 3)))
    save("good_f4_rank6.npy", pattern("f4", (2, 1, 2, 1, 3, 1)))
    save("good_f4_rank8.npy", pattern("f4", (1, 2, 1, 2, 1, 2, 1, 2)))
    save("good_f4_v2.npy", pattern("f4", (3, 4)), version=(2, 0))
    save("good_u1_v3.npy", pattern("u1", (2, 5)), version=(3, 0))
    save("good_i2_v3.npy", pattern("i2", (4,)), version=(3, 0))
    # Fortran order (np.asfortranarray keeps the values, changes the layout).
    # 33 x 3 x 65 spans several 32 x 32 tiles with ragged edges.
    fortran = [
        ("f4", (2, 3)), ("f8", (3, 4, 5)), ("u1", (4, 3, 2)), ("b1", (3, 5)),
        ("i2", (2, 3, 4, 5)), ("i8", (5, 3)), ("u4", (3, 1, 4)), ("i1", (2, 1, 2, 1, 2, 1, 2, 1)),
        ("f4", (33, 3, 65)),
    ]
    for code, shape in fortran:
        a = np.asfortranarray(pattern(code, shape))
        assert not a.flags.c_contiguous  # so numpy writes fortran_order: True
        save("good_%s_fortran_%s.npy" % (code, "x".join(map(str, shape))), a)
    # Big-endian, every multi-byte dtype ('>f2' is in the conv_ files).
    for code in ("f4", "f8", "i2", "i4", "i8", "u2", "u4", "u8"):
        save("good_%s_be_2x3.npy" % code, pattern(code, (2, 3)).astype(">" + code))
    save("good_f8_be_fortran_3x4x5.npy", np.asfortranarray(pattern("f8", (3, 4, 5)).astype(">f8")))
    save("good_u8_be_fortran_4x3.npy", np.asfortranarray(pattern("u8", (4, 3)).astype(">u8")))

    # conv_: values that are no pattern, each with the values NumPy holds.
    def conv(name, arr, same_as=None):
        save("conv_%s.npy" % name, arr)
        want = np.ascontiguousarray(arr)
        if same_as is not None:  # the want file of another conv_ array
            ref = np.load(os.path.join(OUT, "conv_%s.want.npy" % same_as))
            assert ref.dtype == want.dtype.newbyteorder("<") or want.itemsize == 2
            assert ref.tobytes() == want.astype(ref.dtype).tobytes()
            return
        want = want.astype("<f4") if want.dtype.kind == "f" and want.itemsize == 2 else \
            want.astype(want.dtype.newbyteorder("<"))
        save("conv_%s.want.npy" % name, want)
    conv("i4_transposed_4x3", pattern("i4", (3, 4)).T)
    conv("u2_transposed_4x3x2", pattern("u2", (2, 3, 4)).transpose())
    conv("f8_swapaxes_5x4x3", np.swapaxes(pattern("f8", (3, 4, 5)), 0, 2).copy(order="F"))
    conv("i4_be_transposed_4x3", pattern("i4", (3, 4)).astype(">i4").T)
    # float16: every one of the 65536 bit patterns (zeros, subnormals,
    # normals, +-inf, quiet and signalling NaNs with payloads), both orders.
    every = np.arange(65536, dtype="<u2").view("<f2")
    conv("f2_every", every)
    conv("f2_be_every", every.astype(">f2"), same_as="f2_every")
    special = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08,
                        np.inf, -np.inf, np.nan], dtype="<f2")
    conv("f2_special_fortran_5x2", np.asfortranarray(special.reshape(5, 2)))
    conv("f2_be_fortran_2x5", np.asfortranarray(special.astype(">f2").reshape(2, 5)))

    special = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, np.finfo(np.float32).max],
                       dtype="<f4")
    save("good_f4_special.npy", special)

    # --- valid files with hand-written headers ------------------------------
    a = pattern("f4", (2, 2))
    write("hand_dquote_f4_2x2.npy",
          raw('{"descr": "<f4", "fortran_order": False, "shape": (2, 2), }', a.tobytes()))
    a = pattern("i4", (3,))
    write("hand_order_i4_3.npy",
          raw("{ 'shape' :( 3 , ) ,\t'fortran_order':False,'descr':'<i4'}", a.tobytes()))
    a = pattern("f8", (2,))
    # No padding: the data starts at an odd offset.
    write("hand_native_f8_2.npy",
          raw("{'descr': '=f8', 'fortran_order': False, 'shape': (2,)}", a.tobytes(),
              align=False))
    a = pattern("f4", (2, 3))
    write("hand_py2long_f4_2x3.npy",
          raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", a.tobytes()))
    a = pattern("u1", (4,))
    write("hand_lt_u1_4.npy", raw(hdr("<u1", (4,)), a.tobytes()))
    a = pattern("i1", (3,))
    write("hand_gt_i1_3.npy", raw(hdr(">i1", (3,)), a.tobytes()))
    a = pattern("u2", (2, 3))
    write("hand_pipe_u2_2x3.npy", raw(hdr("|u2", (2, 3)), a.tobytes()))
    a = pattern("b1", (5,))
    write("hand_v2_b1_5.npy", raw(hdr("|b1", (5,)), a.tobytes(), version=(2, 0)))
    a = pattern("f4", (1, 1))
    write("hand_nopad_f4_1x1.npy",
          raw("{'descr':'<f4','fortran_order':False,'shape':(1,1)}", a.tobytes(), align=False))
    # Fortran order where it changes nothing (numpy itself writes False).
    a = pattern("f4", (3,))
    write("hand_fortran_f4_3.npy", raw(hdr("<f4", (3,), True), a.tobytes()))
    write("hand_fortran_u1_2x0x3.npy", raw(hdr("|u1", (2, 0, 3), True)))
    write("hand_fortran_f8_scalar.npy", raw(hdr("<f8", (), True), pattern("f8", ()).tobytes()))
    a = pattern("u2", (1, 5, 1))
    write("hand_fortran_u2_1x5x1.npy", raw(hdr("<u2", (1, 5, 1), True), a.tobytes()))
    # '!' is network order: big-endian.
    a = pattern("i4", (3,))
    write("hand_bang_i4_3.npy", raw(hdr("!i4", (3,)), a.astype(">i4").tobytes()))

    # --- invalid files ------------------------------------------------------
    ok = raw(hdr("<f4", (2, 3)), pattern("f4", (2, 3)).tobytes())
    write("bad_empty.npy", b"")
    write("bad_magic.npy", b"\x93NUMPZ" + ok[6:])
    write("bad_text.npy", b"descr,shape\n1,2,3\n")
    write("bad_trunc_preamble.npy", ok[:9])
    write("bad_trunc_header.npy", ok[:40])
    write("bad_trunc_data.npy", ok[:-4])
    write("bad_trailing.npy", ok + b"\0\0\0")
    write("bad_version.npy", ok[:6] + b"\x04\x00" + ok[8:])
    write("bad_hdrlen.npy", ok[:8] + struct.pack("<H", 60000) + ok[10:])
    write("bad_hdrlen_v2.npy", raw(hdr("<f4", (2,)), b"\0" * 8, version=(2, 0))[:8]
          + struct.pack("<I", 0xFFFFFFF0) + b"{'descr'")
    save("bad_complex.npy", np.arange(4, dtype="<c8"))
    save("bad_object.npy", np.array([1, "a", None], dtype=object))
    save("bad_structured.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("bad_unicode.npy", np.array(["ab", "c"], dtype="<U2"))
    save("bad_datetime.npy", np.zeros(2, dtype="<M8[ns]"))
    save("bad_float128.npy", np.zeros(2, dtype="<f16"))
    write("bad_float3.npy", raw(hdr("<f3", (1,)), b"\0" * 3))
    write("bad_negdim.npy", raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"))
    write("bad_overflow.npy", raw(hdr("<f4", (2**62, 2**62))))
    write("bad_hugedim.npy", raw(hdr("<f4", (10**25,))))
    write("bad_rank9.npy", raw(hdr("<f4", (1,) * 9), pattern("f4", (1,)).tobytes()))
    write("bad_garbage_dict.npy", raw("hello world", b""))
    write("bad_unclosed_dict.npy", raw("{'descr': '<f4', 'fortran_order': False", b""))
    write("bad_unterminated.npy", raw("{'descr': '<f4, 'fortran_order': False, 'shape': (), }"))
    write("bad_unknown_key.npy", raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                                     "'extra': 1, }", b"\0" * 4))
    write("bad_missing_key.npy", raw("{'descr': '<f4', 'shape': (1,), }", b"\0" * 4))
    write("bad_dup_key.npy", raw("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, "
                                 "'shape': (1,), }", b"\0" * 4))
    write("bad_shape_notuple.npy", raw(hdr("<f4", 5), b"\0" * 20))
    write("bad_shape_list.npy", raw(hdr("<f4", [5]), b"\0" * 20))
    write("bad_shape_float.npy", raw("{'descr': '<f4', 'fortran_order': False, "
                                     "'shape': (2.5,), }", b"\0" * 8))
    write("bad_fortran_value.npy", raw("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
                                       b"\0" * 4))
    write("bad_descr_garbage.npy", raw(hdr("<zz", (1,)), b"\0" * 4))
    write("bad_text_after.npy", raw(hdr("<f4", (1,)) + " x", b"\0" * 4))
    print("wrote", len([f for f in os.listdir(OUT) if f.endswith(".npy")]), "files to", OUT)


if __name__ == "__main__":
    sys.exit(main())
