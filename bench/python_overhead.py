"""Per-call cost of the Python layer: segloss.loss("dice", x, y, grad=True)
(fused forward+backward) against the same C function called through ctypes
with every argument built once beforehand (the C time plus ~1 us of ctypes).

    PYTHONPATH=build/python python3 bench/python_overhead.py [--threads N]

Prints, for 16x1x512x512 and 1x1x8x8, as the fastest of repeated runs: the C
time; segloss.loss(..., out=g, allow_nonfinite=True) (argument conversion
and the call, the gradient written into a reused array as the C loop does);
segloss.loss(..., out=g) as by default (the same: the input is scanned
for NaN/inf only when the result is not finite); and segloss.loss without out= (a
new gradient array per call: its page faults are the allocation's cost,
not the binding's). Then the Python layer alone, timed with the C function
replaced by a stub (what the layer adds, free of the kernel's timing noise
on a shared machine), and the non-finite scan's C pass alone."""
import argparse
import ctypes

import numpy as np

import segloss
from pytiming import fastest
from segloss import _arrays, _lib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    segloss.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print("threads %d, kernels %s" % (segloss.get_num_threads(), _lib.fn.kernel_isa().decode()))
    for shape, reps in (((16, 1, 512, 512), 30), ((1, 1, 8, 8), 3000)):
        x = rng.normal(0, 1, shape).astype(np.float32)
        y = (rng.random(shape) < 0.3).astype(np.uint8)
        g = np.empty_like(x)
        loss = ctypes.c_double()
        tgt = _lib.target(y.ctypes.data, _lib.DTYPES["uint8"])
        shp = _arrays.shape_of(x)
        opts = _lib.fn.dice_opts_default()
        xp, gp = _arrays.f32p(x), _arrays.f32p(g)
        args_c = (ctypes.byref(loss), None, gp, xp, ctypes.byref(tgt), ctypes.byref(shp),
                  ctypes.byref(opts), None)
        f = _lib.fn.dice_forward_backward
        g2 = np.empty_like(x)
        t_c, t_fast, t_def, t_new = fastest([
            lambda: f(*args_c),
            lambda: segloss.loss("dice", x, y, grad=True, out=g2, allow_nonfinite=True),
            lambda: segloss.loss("dice", x, y, grad=True, out=g2),
            lambda: segloss.loss("dice", x, y, grad=True)], reps)
        # The Python layer alone: the same call with the C function replaced
        # by a stub that returns OK at once (no timing noise from the kernel).
        kind = segloss._loss.KINDS["dice"]
        real = kind.fused
        kind.fused = lambda *a: 0
        try:
            t_layer, t_stub = fastest([
                lambda: segloss.loss("dice", x, y, grad=True, out=g2),
                lambda: kind.fused(*args_c)], reps)
        finally:
            kind.fused = real
        rep = _lib.check_report()
        t_check, = fastest([lambda: _lib.fn.input_check(ctypes.byref(rep), xp, x.size,
                                                             _lib.INPUT_FINITE)], reps)
        name = "x".join(map(str, shape))
        print("%-14s Python layer %.1f us per call (%.2f%% of the C time); the non-finite "
              "scan %.1f us (%.1f%%, run only when the result is not finite)"
              % (name, (t_layer - t_stub) * 1e6, 100 * (t_layer - t_stub) / t_c,
                 t_check * 1e6, 100 * t_check / t_c))
        print("%-14s C %10.1f us | loss(allow_nonfinite) %10.1f us (+%.1f us, %+.1f%%) | "
              "loss() %10.1f us (+%.1f us, %+.1f%%) | new grad array %10.1f us"
              % (name, t_c * 1e6, t_fast * 1e6, (t_fast - t_c) * 1e6, 100 * (t_fast / t_c - 1),
                 t_def * 1e6, (t_def - t_c) * 1e6, 100 * (t_def / t_c - 1), t_new * 1e6))


if __name__ == "__main__":
    main()
