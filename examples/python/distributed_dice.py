"""Batch Dice over two processes (torch.distributed, gloo backend).

Each rank holds half of a batch of 4 images; segloss.torch.distributed_loss
all-reduces the Dice statistics (sum p*y, sum p, sum y per image and
channel), so every rank gets the loss of the whole batch and, from
backward, its own slice of the whole batch's gradient. Rank 0 checks both
against one process computing the whole batch.

    PYTHONPATH=build/python python3 examples/python/distributed_dice.py
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import segloss.torch as st

WORLD = 2
SHAPE = (4, 3, 16, 16)      # the global batch: N = 4 images, C = 3 channels


def batch():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(0, 1.5, SHAPE), dtype=torch.float32)
    y = torch.tensor((rng.random(SHAPE) < 0.4).astype(np.float32))
    return x, y


def worker(rank, init_file, out_dir):
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank,
                            world_size=WORLD)
    x, y = batch()
    lo, hi = rank * SHAPE[0] // WORLD, (rank + 1) * SHAPE[0] // WORLD
    xr = x[lo:hi].clone().requires_grad_(True)
    loss = st.distributed_loss("dice", xr, y[lo:hi])          # MONAI DiceLoss(sigmoid=True)
    loss.backward()
    np.save(os.path.join(out_dir, "loss%d.npy" % rank), loss.detach().numpy())
    np.save(os.path.join(out_dir, "grad%d.npy" % rank), xr.grad.numpy())
    dist.destroy_process_group()


def run():
    """Spawns the ranks; returns (loss per rank, gradient gathered from the
    ranks, single-process loss, single-process gradient)."""
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(worker, args=(os.path.join(d, "init"), d), nprocs=WORLD, join=True)
        losses = [float(np.load(os.path.join(d, "loss%d.npy" % r))) for r in range(WORLD)]
        grad = np.concatenate([np.load(os.path.join(d, "grad%d.npy" % r))
                               for r in range(WORLD)])
    x, y = batch()
    x.requires_grad_(True)
    whole = st.DiceLoss(sigmoid=True)(x, y)
    whole.backward()
    return losses, grad, whole.item(), x.grad.numpy()


if __name__ == "__main__":
    losses, grad, loss1, grad1 = run()
    err = np.abs(grad - grad1).max() / np.abs(grad1).max()
    print("ranks' loss %s, one process %.9g; gradient max rel. difference %.2g"
          % (", ".join("%.9g" % v for v in losses), loss1, err))
    sys.exit(0 if all(abs(v - loss1) <= 1e-6 * abs(loss1) for v in losses) and err < 1e-5
             else 1)
