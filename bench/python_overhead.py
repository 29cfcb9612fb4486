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
on a shared machine), and the non-finite scan's C pass alone.

With --torch: where the time of one segloss.torch forward+backward goes,
16x1x512x512 (--shape) float32 logits and float32 0/1 targets (the usual PyTorch
training pattern, as bench/compare_python.py times it), for
BCEWithLogitsLoss and DiceCELoss(sigmoid=True) (dice-bce): medians (and
the fastest) over --reps interleaved rounds of wall time, CPU time of the
process (all threads; less sensitive to other jobs than wall time) and
minor page faults per call, for
  - the fused C call with every argument built beforehand (float32 target;
    and the same target as uint8, to show the cost of a float target),
  - segloss_target_check of the float32 target alone (the [0,1] pass),
  - segloss.loss(..., grad=True): the NumPy layer, a new gradient per call,
  - the segloss.torch step (x.requires_grad_, module, loss.backward()) with
    a new gradient array per call, and as it runs (the array reused),
  - the segloss.torch step with the C function stubbed out (the Python and
    autograd layers alone),
  - PyTorch's own step at the same threads.

    OMP_WAIT_POLICY=passive PYTHONPATH=build/python python3 bench/python_overhead.py --torch"""
import argparse
import ctypes
import os

import numpy as np

import segloss
from pytiming import fastest, median, monai_dice_bce, rounds, torch_case, torch_step
from segloss import _arrays, _lib


def torch_breakdown(args):
    import torch
    import segloss.torch as st
    torch.set_num_threads(args.threads)
    x, y = torch_case(tuple(int(d) for d in args.shape.split("x")))
    xn, yn = x.numpy(), y.numpy()
    yu8 = yn.astype(np.uint8)
    gbuf = np.empty_like(xn)

    def step(fn):
        return torch_step(fn, x, y)

    def new_array_step(mod):     # as before the gradient array was reused
        def run():
            keep = st._grad_array
            st._grad_array = lambda shape: np.empty(shape, np.float32)
            try:
                return step(mod)()
            finally:
                st._grad_array = keep
        return run

    def c_call(kind, opts, target):
        k = segloss._loss.KINDS[kind]
        value = ctypes.c_double()
        tgt = _lib.target(target.ctypes.data, _lib.DTYPES[target.dtype.name])
        shp = _arrays.shape_of(xn)
        a = (ctypes.byref(value), None, _arrays.f32p(gbuf), _arrays.f32p(xn),
             ctypes.byref(tgt), ctypes.byref(shp), ctypes.byref(opts), None)
        return lambda: k.fused(*a)

    def stubbed(kind, mod):
        k = segloss._loss.KINDS[kind]

        def run():
            real, k.fused = k.fused, lambda *a: 0
            try:
                return step(mod)()
            finally:
                k.fused = real
        return run

    rep = _lib.check_report()
    tgt = _lib.target(yn.ctypes.data, _lib.DTYPES["float32"])

    def tcheck():
        _lib.fn.target_check(ctypes.byref(rep), ctypes.byref(tgt), yn.size, _lib.TARGET_DENSE, 1,
                             _lib.IGNORE_NONE)
    cases = [("bce-logits", "BCEWithLogitsLoss", _lib.fn.bce_opts_default(),
              st.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()),
             ("dice-bce", "DiceCELoss(sigmoid=True)", _lib.fn.dice_bce_opts_default(),
              st.DiceCELoss(sigmoid=True),
              monai_dice_bce)]
    print("%s float32 logits, float32 0/1 target, %d threads, kernels %s, torch %s"
          % (args.shape, args.threads, _lib.fn.kernel_isa().decode(), torch.__version__))
    for kind, name, opts, mod, ref in cases:
        rows = [("C call, float32 target", c_call(kind, opts, yn)),
                ("C call, uint8 target", c_call(kind, opts, yu8)),
                ("target check alone", tcheck),
                ("segloss.loss, new grad", lambda: segloss.loss(kind, xn, yn, grad=True)),
                ("st step, new grad array", new_array_step(mod)),
                ("st step (grad array reused)", step(mod)),
                ("st step, C stubbed", stubbed(kind, mod)),
                ("torch step", step(ref))]
        r = rounds([f for _, f in rows], args.reps)
        print("%s (%s), load average %.1f" % (kind, name, os.getloadavg()[0]))
        print("  %-28s %9s %9s %9s %7s" % ("", "wall med", "wall min", "cpu med", "faults"))
        for i, (label, _) in enumerate(rows):
            print("  %-28s %7.3f ms %6.3f ms %6.3f ms %7d"
                  % (label, median(r["wall"][i]) * 1e3, min(r["wall"][i]) * 1e3,
                     median(r["cpu"][i]) * 1e3, median(r["faults"][i])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch", action="store_true",
                    help="the segloss.torch breakdown instead (BCE-with-logits, Dice + BCE)")
    ap.add_argument("--reps", type=int, default=15, help="rounds of --torch")
    ap.add_argument("--shape", default="16x1x512x512", help="input shape of --torch")
    args = ap.parse_args()
    segloss.set_num_threads(args.threads)
    if args.torch:
        torch_breakdown(args)
        return
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
