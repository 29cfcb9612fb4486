#!/usr/bin/python3
"""Per-training-step time of the second-edition losses: segloss against the
peers' PyTorch code, in one process, one thread each.

For each kind (--kind, repeatable; `all`: every row below whose peer folder
is given): the median of --repeat rounds of forward + backward in PyTorch
(x.requires_grad, loss.backward(), float32 as in training), against the
median of --repeat calls of segloss.loss(kind, x, t, grad=True, out=g)
(the Python package over libsegloss, the same NumPy arrays already in
memory) in the same process. Threads: torch.set_num_threads(T) and
segloss.set_num_threads(T), T = --threads (default 1). Times are CPU
seconds of this process
(time.process_time), so that a busy machine distorts them less; wall-clock
medians are printed as well. The loss of each side and the largest gradient
difference are printed as a check (gwdl: MONAI 1.5.0 mixes the images of a
batch, MONAI issue #4650, so its values differ for N > 1).

Data: N x C x spatial from --shape (its C is replaced by the row's: 1 for
the binary rows, 2 for unified-focal, cldice and dice-cldice (MONAI
leaves channel 0 out of those two), 3 for the multi-class rows); logits
from a smoothed random field (blobs with edges), the target its argmax /
threshold, as float32 one-hot or int64 class indices for the peer and
uint8 for segloss.

  /usr/bin/python3 bench/compare_loss2.py MONAI_DIR [--smp SMP_DIR]
      [--nnunet NNUNET_DIR] [--boundary BL_DIR] [--kind K ...|all]
      [--shape 8,1,256,256] [--repeat 5] [--threads 1]

The folders are those of tools/ref/gen_loss2_ref.py (MONAI 1.5.0, smp
5006616, nnU-Net 2.8.1, LIVIAETS/boundary-loss 171c32d). The default kind
is hausdorff-dt (MONAI HausdorffDTLoss(sigmoid=True, include_background=
True) against segloss hausdorff-dt --activation sigmoid
--include-background).
"""
import argparse
import contextlib
import io
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def median_times(fn, repeat):
    """Median CPU and wall seconds of repeat calls of fn after one warm-up."""
    cpu, wall = [], []
    for _ in range(repeat + 1):
        t0, w0 = time.process_time(), time.perf_counter()
        r = fn()
        cpu.append(time.process_time() - t0)
        wall.append(time.perf_counter() - w0)
    return float(np.median(cpu[1:])), float(np.median(wall[1:])), r


def data(shape, c, rng):
    """Logits (N, c, spatial...) and the class map (N, spatial...)."""
    shape = (shape[0], c) + tuple(shape[2:])
    base = rng.standard_normal(shape).astype(np.float32)
    for ax in range(2, len(shape)):
        base = (base + np.roll(base, 1, ax) + np.roll(base, -1, ax)) / 3
    x = np.ascontiguousarray((3 * base + rng.standard_normal(shape) * 0.5).astype(np.float32))
    lab = (base[:, 0] > 0).astype(np.int64) if c == 1 else base.argmax(1)
    return x, lab


def onehot(lab, c):
    return np.ascontiguousarray(np.moveaxis(np.eye(c, dtype=np.float32)[lab], -1, 1))


def rows(a):
    """kind -> (peer name, channels, peer step builder, segloss options,
    segloss target kind 'dense'|'index'); a builder takes (x, lab) and
    returns the peer's loss function of a tensor x."""
    sys.path.insert(0, a.monai_dir)
    from monai import losses as ml
    r = {}

    def dense(fn, act=None):
        def build(x, lab):
            y = torch.tensor(onehot(lab, x.shape[1]) if x.shape[1] > 1 else
                             lab[:, None].astype(np.float32))
            return lambda v: fn(act(v) if act else v, y)
        return build

    def index(fn, as_float=False):
        def build(x, lab):
            t = torch.tensor(lab[:, None])
            t = t.float() if as_float else t
            return lambda v: fn(v, t)
        return build

    r["hausdorff-dt"] = ("MONAI HausdorffDTLoss", 1,
                         dense(ml.HausdorffDTLoss(sigmoid=True, include_background=True)),
                         dict(activation="sigmoid", include_background=True), "dense")
    r["log-hausdorff-dt"] = ("MONAI LogHausdorffDTLoss", 1,
                             dense(ml.LogHausdorffDTLoss(sigmoid=True, include_background=True)),
                             dict(activation="sigmoid", include_background=True), "dense")
    r["dice-ce"] = ("MONAI DiceCELoss", 3, index(ml.DiceCELoss(softmax=True, to_onehot_y=True)),
                    {}, "index")
    r["dice-focal"] = ("MONAI DiceFocalLoss", 3, dense(ml.DiceFocalLoss(sigmoid=True)), {},
                       "dense")
    r["generalized-dice-focal"] = ("MONAI GeneralizedDiceFocalLoss", 3,
                                   dense(ml.GeneralizedDiceFocalLoss(sigmoid=True)), {}, "dense")
    r["unified-focal"] = ("MONAI AsymmetricUnifiedFocalLoss (on torch.softmax)", 2,
                          dense(ml.AsymmetricUnifiedFocalLoss(), lambda v: torch.softmax(v, 1)),
                          dict(activation="softmax"), "index")
    m3 = np.array([[0, 1, 1], [1, 0, 0.5], [1, 0.5, 0]], np.float32)
    r["gwdl"] = ("MONAI GeneralizedWassersteinDiceLoss", 3,
                 index(ml.GeneralizedWassersteinDiceLoss(dist_matrix=m3.copy())),
                 dict(distance_matrix=m3), "index")

    def swapped(fn, act):
        def build(x, lab):
            y = torch.tensor(onehot(lab, x.shape[1]))
            return lambda v: fn(y, act(v))   # MONAI's clDice losses take (y_true, y_pred)
        return build
    # MONAI leaves channel 0 out of both (segloss too, by default): C = 2
    r["cldice"] = ("MONAI SoftclDiceLoss (on torch.sigmoid)", 2,
                   swapped(ml.SoftclDiceLoss(), torch.sigmoid), dict(activation="sigmoid"), "dense")
    r["dice-cldice"] = ("MONAI SoftDiceclDiceLoss (on torch.sigmoid)", 2,
                        swapped(ml.SoftDiceclDiceLoss(), torch.sigmoid),
                        dict(activation="sigmoid"), "dense")
    if a.smp:
        sys.path.insert(0, a.smp)
        from smp_losses import LovaszLoss, MCCLoss
        r["mcc"] = ("smp MCCLoss (on torch.sigmoid)", 1,
                    dense(MCCLoss(), torch.sigmoid), dict(activation="sigmoid"), "dense")
        lov = LovaszLoss("multiclass")
        r["lovasz-softmax"] = ("smp LovaszLoss multiclass", 3,
                               lambda x, lab: (lambda v, t=torch.tensor(lab): lov(v, t)), {},
                               "index")
    if a.nnunet:
        sys.path.insert(0, a.nnunet)
        from nnunetv2.training.loss.robust_ce_loss import TopKLoss
        r["topk-ce"] = ("nnU-Net TopKLoss", 3, index(TopKLoss(), as_float=True), {}, "index")
    if a.boundary:
        bl = load_boundary(a.boundary)
        with contextlib.redirect_stdout(io.StringIO()):   # SurfaceLoss prints its kwargs
            sl = bl["losses"].SurfaceLoss(idc=[1, 2])

        def boundary(x, lab):
            def step(v):
                # one_hot2dist per image every step (scipy EDT), as the
                # boundary-loss data loader does per sample
                oh = np.stack([(lab == k) for k in range(3)], 1).astype(np.int64)
                dist = torch.tensor(np.stack([bl["utils"].one_hot2dist(oh[b], dtype=np.float32)
                                              for b in range(len(oh))]))
                return sl(torch.softmax(v, 1), dist)
            return step
        r["boundary"] = ("boundary-loss one_hot2dist + SurfaceLoss", 3, boundary,
                         dict(no_background=True), "index")
    return r


def load_boundary(bl_dir):
    sys.path.insert(0, os.path.join(HERE, "..", "tools", "ref"))
    from bl_stubs import load_boundary as load
    return load(bl_dir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("monai_dir")
    ap.add_argument("--smp")
    ap.add_argument("--nnunet")
    ap.add_argument("--boundary")
    ap.add_argument("--kind", action="append")
    ap.add_argument("--shape", default="8,1,256,256")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    for p in (os.path.join(HERE, "..", "build", "python"), os.path.join(HERE, "..", "python")):
        if os.path.isdir(p):
            sys.path.insert(0, p)
            break
    import segloss

    table = rows(a)
    kinds = a.kind or ["hausdorff-dt"]
    if kinds == ["all"]:
        kinds = list(table)
    shape = tuple(int(v) for v in a.shape.split(","))
    torch.set_num_threads(a.threads)
    segloss.set_num_threads(a.threads)
    print("# shape %s (C per row), CPU ms per fwd+bwd, median of %d, %d thread(s), load %.1f"
          % (a.shape, a.repeat, a.threads, os.getloadavg()[0]))
    print("| kind | peer | peer ms | segloss ms | speed-up | wall peer / segloss ms |"
          " loss peer / segloss | max abs grad diff |")
    print("|---|---|---:|---:|---:|---:|---|---:|")
    for kind in kinds:
        if kind not in table:
            raise SystemExit("no row for %r here (its peer folder not given?)" % kind)
        peer, c, build, opts, tkind = table[kind]
        rng = np.random.default_rng(7)
        x, lab = data(shape, c, rng)
        fn = build(x, lab)

        def peer_step():
            xt = torch.tensor(x, requires_grad=True)
            loss = fn(xt)
            loss.backward()
            return float(loss), xt.grad.numpy()

        t_p, w_p, (l_p, g_p) = median_times(peer_step, a.repeat)
        t = np.ascontiguousarray(lab.astype(np.uint8)) if tkind == "index" else \
            (onehot(lab, c) if c > 1 else lab[:, None]).astype(np.uint8)
        g = np.empty_like(x)
        t_s, w_s, (l_s, _) = median_times(
            lambda: segloss.loss(kind, x, t, grad=True, out=g, **opts), a.repeat)
        print("| %s | %s | %.1f | %.2f | %.1f× | %.1f / %.2f | %.6g / %.6g | %.2g |"
              % (kind, peer, 1e3 * t_p, 1e3 * t_s, t_p / t_s, 1e3 * w_p, 1e3 * w_s, l_p, l_s,
                 float(np.abs(g - g_p).max())))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
