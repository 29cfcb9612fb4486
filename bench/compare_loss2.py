#!/usr/bin/python3
"""Per-training-step time of the distance-map losses: segloss against MONAI,
in one process, one thread each.

For hausdorff-dt (MONAI HausdorffDTLoss(sigmoid=True, include_background=
True), whose distance maps are scipy.ndimage.distance_transform_edt per
image and channel on CPU) on an N x 1 x H x W batch: the median of --repeat
rounds of forward + backward in PyTorch (x.requires_grad, loss.backward()),
against the median of --repeat calls of segloss_hausdorff_dt_forward_backward
(libsegloss.so through ctypes, the same arrays already in memory: float32
logits, uint8 target) in the same process. Threads: torch.set_num_threads(1)
and segloss_set_num_threads(1). Times are CPU seconds of this process
(time.process_time), so that a busy machine distorts them less; wall-clock
medians are printed as well. The loss and the largest gradient difference
against MONAI are printed as a check.

  /usr/bin/python3 bench/compare_loss2.py MONAI_DIR [--lib build/libsegloss.so]
      [--shape 8,1,256,256] [--repeat 5]

MONAI_DIR holds the `monai` package (see tools/ref/gen_loss2_ref.py).

--kind cldice / dice-cldice: MONAI SoftclDiceLoss / SoftDiceclDiceLoss
(iter_ 3, smooth 1, alpha 0.5) on torch.sigmoid of the logits against
segloss_cldice_forward_backward / segloss_dice_cldice_forward_backward with
activation SIGMOID, on an N x C x H x W batch (--shape 8,2,256,256 by
default for these kinds; MONAI leaves channel 0 out, segloss too).
"""
import argparse
import ctypes as C
import sys
import time

import numpy as np
import torch

MAX_DIMS = 8  # SEGLOSS_MAX_DIMS


class Shape(C.Structure):
    _fields_ = [("ndim", C.c_int), ("dim", C.c_int64 * MAX_DIMS)]


class Target(C.Structure):
    _fields_ = [("data", C.c_void_p), ("dtype", C.c_int)]


class HdOpts(C.Structure):  # segloss_hausdorff_dt_opts
    _fields_ = [("reduction", C.c_int), ("activation", C.c_int), ("target_kind", C.c_int),
                ("no_background", C.c_int), ("batch", C.c_int), ("alpha", C.c_double),
                ("log", C.c_int)]


def median_times(fn, repeat):
    """Median CPU and wall seconds of repeat calls of fn after one warm-up."""
    cpu, wall = [], []
    for _ in range(repeat + 1):
        t0, w0 = time.process_time(), time.perf_counter()
        r = fn()
        cpu.append(time.process_time() - t0)
        wall.append(time.perf_counter() - w0)
    return float(np.median(cpu[1:])), float(np.median(wall[1:])), r


class ClOpts(C.Structure):  # segloss_cldice_opts
    _fields_ = [("iter", C.c_int), ("smooth", C.c_double), ("activation", C.c_int),
                ("target_kind", C.c_int), ("no_background", C.c_int)]


class DclOpts(C.Structure):  # segloss_dice_cldice_opts
    _fields_ = [("cldice", ClOpts), ("alpha", C.c_double)]


def time_both(a, x, y8, shape, monai_loss, lib, name, opts, elems):
    """Median CPU and wall seconds of MONAI's training step (monai_loss(xt)
    -> loss tensor) and of segloss_<name>_forward_backward on the same
    arrays (elems: its signature has the loss-array argument), with the
    losses and gradients: (t_monai, w_monai, l_monai, g_monai, t_seg, w_seg,
    l_seg, g_seg)."""
    def monai_step():
        xt = torch.tensor(x, requires_grad=True)
        loss = monai_loss(xt)
        loss.backward()
        return float(loss), xt.grad.numpy()

    t_monai, w_monai, (l_monai, g_monai) = median_times(monai_step, a.repeat)
    f = getattr(lib, "segloss_%s_forward_backward" % name)
    f.restype = C.c_int
    sh = Shape(len(shape), (C.c_int64 * MAX_DIMS)(*shape))
    tg = Target(y8.ctypes.data, 2)  # SEGLOSS_U8
    g = np.empty_like(x)
    loss = C.c_double()
    fp = C.POINTER(C.c_float)
    args = [C.byref(loss)] + ([None] if elems else []) + \
        [g.ctypes.data_as(fp), x.ctypes.data_as(fp), C.byref(tg), C.byref(sh), opts, None]

    def segloss_step():
        st = f(*args)
        if st != 0:
            raise RuntimeError("segloss status %d" % st)
        return loss.value

    t_seg, w_seg, l_seg = median_times(segloss_step, a.repeat)
    return t_monai, w_monai, l_monai, g_monai, t_seg, w_seg, l_seg, g


def compare_cldice(a, x, y, y8, shape, lib):
    """The cldice / dice-cldice row: MONAI's training step against the
    library's fused call, one thread each."""
    from monai.losses.cldice import SoftclDiceLoss, SoftDiceclDiceLoss
    dcl = a.kind == "dice-cldice"
    fn = SoftDiceclDiceLoss() if dcl else SoftclDiceLoss()
    yt = torch.tensor(y)
    lib.segloss_dice_cldice_opts_default.restype = DclOpts
    o = lib.segloss_dice_cldice_opts_default()
    o.cldice.activation = 0  # SIGMOID
    name = "dice_cldice" if dcl else "cldice"
    t_monai, w_monai, l_monai, g_monai, t_seg, w_seg, l_seg, g = time_both(
        a, x, y8, shape, lambda xt: fn(yt, torch.sigmoid(xt)), lib, name,
        C.byref(o) if dcl else C.byref(o.cldice), False)
    print("shape %s, CPU time per fwd+bwd, 1 thread: MONAI %s %.1f ms (loss %.6g),"
          " segloss_%s_forward_backward %.2f ms (loss %.6g), speed-up %.1fx (wall: %.1f vs"
          " %.2f ms, %.1fx), max |grad diff| %.2g of %.2g"
          % (a.shape, type(fn).__name__, 1e3 * t_monai, l_monai, name, 1e3 * t_seg, l_seg,
             t_monai / t_seg, 1e3 * w_monai, 1e3 * w_seg, w_monai / w_seg,
             float(np.abs(g - g_monai).max()), float(np.abs(g_monai).max())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("monai_dir")
    ap.add_argument("--lib", default="build/libsegloss.so")
    ap.add_argument("--shape", default=None, help="default 8,1,256,256 (cldice: 8,2,256,256)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--kind", default="hausdorff-dt",
                    choices=("hausdorff-dt", "cldice", "dice-cldice"))
    a = ap.parse_args()
    if a.shape is None:
        a.shape = "8,2,256,256" if "cldice" in a.kind else "8,1,256,256"
    sys.path.insert(0, a.monai_dir)
    from monai.losses import HausdorffDTLoss

    shape = tuple(int(v) for v in a.shape.split(","))
    rng = np.random.default_rng(7)
    # blobs: a smoothed random field thresholded, so the masks have edges
    base = rng.standard_normal(shape).astype(np.float32)
    for ax in range(2, len(shape)):
        base = (base + np.roll(base, 1, ax) + np.roll(base, -1, ax)) / 3
    x = np.ascontiguousarray((3 * base + rng.standard_normal(shape) * 0.5).astype(np.float32))
    y = (base > 0).astype(np.float32)
    y8 = np.ascontiguousarray(y.astype(np.uint8))

    torch.set_num_threads(1)
    lib = C.CDLL(a.lib)
    lib.segloss_set_num_threads(1)
    if "cldice" in a.kind:
        return compare_cldice(a, x, y, y8, shape, lib)
    fn = HausdorffDTLoss(sigmoid=True, include_background=True)
    lib.segloss_hausdorff_dt_opts_default.restype = HdOpts
    o = lib.segloss_hausdorff_dt_opts_default()
    o.activation, o.no_background = 0, 0  # SIGMOID, include_background=True
    t_monai, w_monai, l_monai, g_monai, t_seg, w_seg, l_seg, g = time_both(
        a, x, y8, shape, lambda xt: fn(xt, torch.tensor(y)), lib, "hausdorff_dt", C.byref(o),
        True)
    print("shape %s, CPU time per fwd+bwd, 1 thread: MONAI HausdorffDTLoss %.1f ms (loss %.6g),"
          " segloss_hausdorff_dt_forward_backward %.2f ms (loss %.6g), speed-up %.1fx"
          " (wall: %.1f vs %.2f ms, %.1fx), max |grad diff| %.2g"
          % (a.shape, 1e3 * t_monai, l_monai, 1e3 * t_seg, l_seg, t_monai / t_seg,
             1e3 * w_monai, 1e3 * w_seg, w_monai / w_seg, float(np.abs(g - g_monai).max())))


if __name__ == "__main__":
    main()
