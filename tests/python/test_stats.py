"""segloss.region_stats / loss_from_stats / backward_from_stats: a batch
split over ranks gives the whole batch's loss and gradient (two ranks in
process, then torch.distributed with two gloo processes: the example
examples/python/distributed_dice.py). The whole batch is computed by one
process through segloss.loss (its own engine) and float64 autograd of
MONAI's DiceLoss formula (refs.py)."""
import importlib
import os

import numpy as np
import pytest

import segloss

CASES = [("dice", {}), ("dice", {"batch": True}), ("dice", {"squared": True}),
         ("jaccard", {"no_background": True}), ("tversky", {"alpha": 0.3, "beta": 0.7}),
         ("generalized-dice", {"w_type": "simple"}), ("dice", {"activation": "softmax"}),
         ("dice", {"smp": True})]


def _split(kind, x, y, parts, reduction, opts):
    n = x.shape[0]
    s = sum(segloss.region_stats(kind, x[a:b], y[a:b], n_total=n, n_offset=a, **opts)
            for a, b in parts)
    losses = [segloss.loss_from_stats(kind, s, x[a:b].shape, n_total=n, n_offset=a,
                                      reduction=reduction, **opts) for a, b in parts]
    grad = np.concatenate([segloss.backward_from_stats(kind, s, x[a:b], y[a:b], n_total=n,
                                                       n_offset=a, reduction=reduction, **opts)
                           for a, b in parts])
    return s, losses, grad


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind,opts", CASES, ids=str)
def test_two_ranks_equal_one(kind, opts, reduction, rng):
    x = rng.normal(0, 1.5, (5, 3, 6, 7)).astype(np.float32)
    y = rng.integers(0, 3, (5, 6, 7)) if opts.get("activation") == "softmax" else \
        (rng.random(x.shape) < 0.4).astype(np.uint8)
    s1, (l1,), g1 = _split(kind, x, y, [(0, 5)], reduction, opts)
    s2, l2, g2 = _split(kind, x, y, [(0, 2), (2, 5)], reduction, opts)
    np.testing.assert_allclose(s2, s1, rtol=1e-12)
    for v in l2:                      # every rank: the batch loss
        np.testing.assert_allclose(v, l1, rtol=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=0, atol=1e-7 * np.abs(g1).max())
    # one process, the ordinary call: the same loss and gradient
    want, gw = segloss.loss(kind, x, y, grad=True, reduction=reduction, **opts)
    np.testing.assert_allclose(l1, want, rtol=1e-6)
    np.testing.assert_allclose(g1, gw, rtol=0, atol=1e-6 * np.abs(gw).max())


def test_stats_errors(rng):
    x = rng.normal(0, 1, (2, 2, 3, 3)).astype(np.float32)
    y = (x > 0).astype(np.uint8)
    with pytest.raises(segloss.Error, match="statistics"):
        segloss.region_stats("focal", x, y)
    s = segloss.region_stats("dice", x, y)
    assert s.shape == (3 * 2 * 2,)
    with pytest.raises(segloss.Error, match="stats has"):
        segloss.loss_from_stats("dice", s[:-3], x.shape)
    with pytest.raises(segloss.Error):
        segloss.region_stats("dice", x, y, n_total=2, n_offset=1)   # past the batch


def test_torch_distributed_example(root, monkeypatch):
    """Two gloo processes (torch.multiprocessing.spawn), each with half the
    batch: every rank's loss and the gathered gradient equal one process's
    DiceLoss(sigmoid=True) and float64 autograd of MONAI's formula."""
    torch = pytest.importorskip("torch")
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed without gloo")
    import refs
    # importable by name: the spawned processes unpickle its worker by module
    monkeypatch.syspath_prepend(os.path.join(root, "examples", "python"))
    ex = importlib.import_module("distributed_dice")
    losses, grad, loss1, grad1 = ex.run()
    assert len(losses) == 2
    for v in losses:
        assert v == pytest.approx(loss1, rel=1e-6)
    np.testing.assert_allclose(grad, grad1, rtol=0, atol=1e-6 * np.abs(grad1).max())
    x, y = ex.batch()
    xr = x.double().requires_grad_(True)
    ref = refs.dice(xr, y.double())
    ref.backward()
    for v in losses:
        assert v == pytest.approx(ref.item(), rel=1e-6)
    np.testing.assert_allclose(grad, xr.grad.numpy(), rtol=0,
                               atol=1e-5 * np.abs(xr.grad.numpy()).max())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_distributed_loss_one_rank(reduction, rng, tmp_path):
    """A group of one rank: distributed_loss is the ordinary loss (value and
    gradient, 'none' with an upstream array too)."""
    torch = pytest.importorskip("torch")
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed without gloo")
    import segloss.torch as st
    dist.init_process_group("gloo", init_method="file://%s" % (tmp_path / "init"), rank=0,
                            world_size=1)
    try:
        x = torch.tensor(rng.normal(0, 1, (3, 2, 5, 4)), dtype=torch.float32,
                         requires_grad=True)
        y = torch.tensor((rng.random((3, 2, 5, 4)) < 0.4).astype(np.float32))
        opts = {"activation": "sigmoid", "no_background": True, "smooth_nr": 0.5}
        v = st.distributed_loss("tversky", x, y, reduction=reduction, **opts)
        w = st.loss("tversky", x, y, reduction=reduction, **opts)
        up = torch.rand_like(w) if reduction == "none" else torch.tensor(2.5)
        (g,) = torch.autograd.grad(v, x, up)
        (gw,) = torch.autograd.grad(w, x, up)
        torch.testing.assert_close(v, w, rtol=1e-6, atol=0)
        torch.testing.assert_close(g, gw, rtol=0, atol=1e-6 * gw.abs().max().item())
    finally:
        dist.destroy_process_group()
