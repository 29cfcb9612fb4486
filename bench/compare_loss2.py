#!/usr/bin/python3
"""Per-training-step time of the distance-map losses: segloss against MONAI.

For hausdorff-dt (MONAI HausdorffDTLoss(sigmoid=True), whose distance maps
are scipy.ndimage.distance_transform_edt per image and channel on CPU) on
an N x 1 x H x W batch: the median of --repeat rounds of forward + backward
in PyTorch (x.requires_grad, loss.backward()), against the median of
--repeat runs of `segloss loss hausdorff-dt --activation sigmoid
--include-background --grad G.npy` on the same arrays. The segloss time is
the whole command (process start, reading both .npy files, the loss and its
gradient, writing the gradient): an upper bound of the library call.
Times are CPU seconds (this process's for PyTorch with
torch.set_num_threads(1); the child's user + system time for segloss, run
with OMP_NUM_THREADS=1), so that a busy machine does not distort them;
wall-clock medians are printed as well.

  /usr/bin/python3 bench/compare_loss2.py MONAI_DIR [--segloss build/segloss]
      [--shape 8,1,256,256] [--repeat 5]

MONAI_DIR holds the `monai` package (see tools/ref/gen_loss2_ref.py).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("monai_dir")
    ap.add_argument("--segloss", default="build/segloss")
    ap.add_argument("--shape", default="8,1,256,256")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    sys.path.insert(0, a.monai_dir)
    from monai.losses import HausdorffDTLoss

    shape = tuple(int(v) for v in a.shape.split(","))
    rng = np.random.default_rng(7)
    # blobs: a smoothed random field thresholded, so the masks have edges
    base = rng.standard_normal(shape).astype(np.float32)
    for ax in range(2, len(shape)):
        base = (base + np.roll(base, 1, ax) + np.roll(base, -1, ax)) / 3
    x = (3 * base + rng.standard_normal(shape) * 0.5).astype(np.float32)
    y = (base > 0).astype(np.float32)
    torch.set_num_threads(1)
    fn = HausdorffDTLoss(sigmoid=True, include_background=True)
    times, walls = [], []
    for _ in range(a.repeat + 1):
        xt = torch.tensor(x, requires_grad=True)
        t0, w0 = time.process_time(), time.perf_counter()
        loss = fn(xt, torch.tensor(y))
        loss.backward()
        times.append(time.process_time() - t0)
        walls.append(time.perf_counter() - w0)
    t_monai, w_monai = float(np.median(times[1:])), float(np.median(walls[1:]))
    with tempfile.TemporaryDirectory() as d:
        xp, yp, gp = (os.path.join(d, n) for n in ("x.npy", "y.npy", "g.npy"))
        np.save(xp, x)
        np.save(yp, y.astype(np.uint8))
        cmd = [a.segloss, "loss", "hausdorff-dt", "-i", xp, "-t", yp, "--activation", "sigmoid",
               "--include-background", "--grad", gp]
        times, walls = [], []
        env = dict(os.environ, OMP_NUM_THREADS="1")
        for _ in range(a.repeat + 1):
            r0, w0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                                 env=env).stdout
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            times.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
            walls.append(time.perf_counter() - w0)
        t_seg, w_seg = float(np.median(times[1:])), float(np.median(walls[1:]))
        g = np.load(gp)
    print("shape %s, CPU time: MONAI HausdorffDTLoss fwd+bwd %.1f ms (loss %.6g), segloss command"
          " %.1f ms (loss %s), speed-up %.1fx (wall: %.1f vs %.1f ms), max |grad diff| %.2g"
          % (a.shape, 1e3 * t_monai, float(loss), 1e3 * t_seg, out.strip(), t_monai / t_seg,
             1e3 * w_monai, 1e3 * w_seg, float(np.abs(g - xt.grad.numpy()).max())))


if __name__ == "__main__":
    main()
