#!/usr/bin/python3
"""Generate the small .npy fixtures and reference values used by tests/cli/run.sh.

Run with Debian's /usr/bin/python3 (numpy + torch 1.13):

    /usr/bin/python3 tools/ref/gen_cli_fixtures.py [tests/cli/data]

Reference values come from PyTorch in float64 on the float32 fixture data
(BCELoss, BCEWithLogitsLoss, and MONAI DiceLoss's formula written out in
torch, since MONAI itself is not a dependency). expected.txt holds one
"key value" per line (%.17g); gradients and --out arrays are stored as
float32 .npy files named g_*.npy and o_*.npy.

Everything is deterministic (fixed seed): rerunning rewrites identical files.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cli", "data")
os.makedirs(OUT, exist_ok=True)

rng = np.random.RandomState(20240521)
SHAPE = (2, 3, 4, 4)  # (N, C, H, W)


def save(name, arr):
    np.save(os.path.join(OUT, name), arr, allow_pickle=False)


def t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


expected = []


def record(key, value):
    expected.append("%s %.17g" % (key, float(value)))


def save_grad(name, g):
    save(name, g.detach().numpy().astype(np.float32))


# ---- fixture arrays ------------------------------------------------------
x = (rng.standard_normal(SHAPE) * 2.0).astype(np.float32)        # logits
p = (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)  # probabilities
y = (rng.uniform(size=SHAPE) < 0.4).astype(np.float32)           # 0/1 mask
y_soft = rng.uniform(size=SHAPE)                                  # float64 soft labels
w = rng.uniform(0.5, 2.0, size=(3, 1, 1)).astype(np.float32)      # per-channel weight
pw = rng.uniform(0.5, 3.0, size=(4,)).astype(np.float32)          # right-aligned: last axis
PW_LIST = [0.5, 2.0, 3.0]                                         # per channel (axis 1)

save("x.npy", x)
save("x64.npy", x.astype(np.float64))
save("p.npy", p)
save("y.npy", y)
save("y_u8.npy", y.astype(np.uint8))
save("y_bool.npy", y.astype(np.bool_))
save("y_i64.npy", y.astype(np.int64))
save("y_soft.npy", y_soft)
save("w.npy", w)
save("pw.npy", pw)

# SPEC §1 worked example.
ex_x = np.array([[0.6455, 0.3470], [0.4777, 0.7547]], dtype=np.float32)
ex_y = np.eye(2, dtype=np.uint8)
save("ex_x.npy", ex_x)
save("ex_y.npy", ex_y)

# ---- bad inputs ------------------------------------------------------------
with open(os.path.join(OUT, "x.npy"), "rb") as f:
    raw = f.read()
with open(os.path.join(OUT, "trunc.npy"), "wb") as f:
    f.write(raw[:-10])                                   # data cut short
save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3) / 10))
save("bigend.npy", np.array([[0.1, 0.2], [0.3, 0.4]], dtype=">f4"))
save("x_i32.npy", np.zeros((2, 2), dtype=np.int32))
save("a23.npy", np.full((2, 3), 0.25, dtype=np.float32))
save("b32.npy", np.zeros((3, 2), dtype=np.float32))
save("y255.npy", (y * 255).astype(np.uint8))
save("empty.npy", np.zeros((0, 4), dtype=np.float32))
save("w_bad.npy", np.ones((5,), dtype=np.float32))       # cannot broadcast to (2,3,4,4)
save("x1d.npy", x.ravel()[:4].copy())                     # no channel axis
save("y1d.npy", y.ravel()[:4].copy())
# An all-empty item with zero smoothing: Dice's 0/0 is NaN (JSON null).
save("zeros.npy", np.zeros((1, 1, 2, 2), dtype=np.float32))
save("zeros_u8.npy", np.zeros((1, 1, 2, 2), dtype=np.uint8))
with open(os.path.join(OUT, "garbage.npy"), "wb") as f:
    f.write(b"this is not a numpy file\n")

# ---- reference values ------------------------------------------------------
X, P, Y = t64(x), t64(p), t64(y)
W = t64(w)
PW = t64(pw)
PWL = t64(PW_LIST).reshape(3, 1, 1)

for red in ("mean", "sum", "none"):
    # bce on probabilities
    pp = P.clone().requires_grad_(True)
    l = F.binary_cross_entropy(pp, Y, reduction=red)
    record("bce.%s" % red, l.sum())
    l.backward(torch.ones_like(l))
    save_grad("g_bce_%s.npy" % red, pp.grad)
    if red == "none":
        save_grad("o_bce_none.npy", l)

    # bce-logits
    xx = X.clone().requires_grad_(True)
    l = F.binary_cross_entropy_with_logits(xx, Y, reduction=red)
    record("bce-logits.%s" % red, l.sum())
    l.backward(torch.ones_like(l))
    save_grad("g_bcel_%s.npy" % red, xx.grad)
    if red == "none":
        save_grad("o_bcel_none.npy", l)

record("bce.weight.mean", F.binary_cross_entropy(P, Y, weight=W.expand(SHAPE)))
record("bce-logits.weight.mean", F.binary_cross_entropy_with_logits(X, Y, weight=W))
record("bce-logits.soft.mean", F.binary_cross_entropy_with_logits(X, t64(y_soft)))

xx = X.clone().requires_grad_(True)
l = F.binary_cross_entropy_with_logits(xx, Y, pos_weight=PWL)
record("bce-logits.pwlist.mean", l)
l.backward()
save_grad("g_bcel_pwlist_mean.npy", xx.grad)

xx = X.clone().requires_grad_(True)
l = F.binary_cross_entropy_with_logits(xx, Y, weight=W, pos_weight=PW, reduction="sum")
record("bce-logits.weight.pwfile.sum", l)
l.backward()
save_grad("g_bcel_w_pwfile_sum.npy", xx.grad)

record("bce-logits.pwfile.mean", F.binary_cross_entropy_with_logits(X, Y, pos_weight=PW))
record("bce-logits.ex.mean",
       F.binary_cross_entropy_with_logits(t64(ex_x), t64(ex_y)))


def dice(inp, tgt, sigmoid=True, squared=False, jaccard=False, batch=False,
         snr=1e-5, sdr=1e-5, reduction="mean"):
    """MONAI DiceLoss for (N, C, spatial...) inputs; 'none' gives (N,C) or (C,)."""
    pr = torch.sigmoid(inp) if sigmoid else inp
    axes = list(range(2, inp.dim()))
    if batch:
        axes = [0] + axes
    inter = torch.sum(pr * tgt, dim=axes)
    if squared:
        g, q = torch.sum(tgt * tgt, dim=axes), torch.sum(pr * pr, dim=axes)
    else:
        g, q = torch.sum(tgt, dim=axes), torch.sum(pr, dim=axes)
    den = g + q
    if jaccard:
        den = 2.0 * (den - inter)
    f = 1.0 - (2.0 * inter + snr) / (den + sdr)
    if reduction == "mean":
        return f.mean()
    if reduction == "sum":
        return f.sum()
    return f


for red in ("mean", "sum", "none"):
    xx = X.clone().requires_grad_(True)
    l = dice(xx, Y, reduction=red)
    record("dice.%s" % red, l.sum())
    l.backward(torch.ones_like(l))
    save_grad("g_dice_%s.npy" % red, xx.grad)
    if red == "none":
        save_grad("o_dice_none.npy", l)

xx = X.clone().requires_grad_(True)
l = dice(xx, Y, batch=True, reduction="none")
record("dice.batch.none", l.sum())
l.backward(torch.ones_like(l))
save_grad("g_dice_batch_none.npy", xx.grad)
save_grad("o_dice_batch_none.npy", l)

record("dice.batch.mean", dice(X, Y, batch=True))
record("dice.squared.mean", dice(X, Y, squared=True))
record("dice.jaccard.mean", dice(X, Y, jaccard=True))
record("dice.squared.jaccard.sum", dice(X, Y, squared=True, jaccard=True, reduction="sum"))
record("dice.smooth.mean", dice(X, Y, snr=1.0, sdr=1.0))
record("dice.smoothnr.mean", dice(X, Y, snr=0.5))            # --smooth-nr 0.5 alone
record("dice.actnone.mean", dice(P, Y, sigmoid=False))
# The worked example as a single image (ndim 2 -> N = C = 1).
record("dice.ex.mean", dice(t64(ex_x)[None, None], t64(ex_y)[None, None]))

with open(os.path.join(OUT, "expected.txt"), "w") as f:
    f.write("# generated by tools/ref/gen_cli_fixtures.py (torch %s, float64)\n"
            % torch.__version__)
    f.write("\n".join(expected) + "\n")
print("wrote %d reference values to %s" % (len(expected), OUT))
