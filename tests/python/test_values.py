"""segloss.loss values and gradients against PyTorch autograd of the
peers' formulas in float64 (refs.py). segloss computes in float32 with
double sums: tolerances are float32's (rtol 1e-5 on values, 1e-4 + atol on
gradients)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import refs
import segloss


def _ref(fn, x, y, **kw):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    v = fn(xt, torch.tensor(y, dtype=torch.float64), **kw)
    v.backward()
    return v.item(), xt.grad.numpy()


def _close(got, ref):
    (v, g), (rv, rg) = got, ref
    assert v == pytest.approx(rv, rel=1e-5, abs=1e-7)
    scale = max(np.abs(rg).max(), 1e-30)
    np.testing.assert_allclose(g, rg, rtol=1e-4, atol=1e-5 * scale)


@pytest.fixture
def data(rng):
    x = rng.normal(0, 1.5, (3, 2, 8, 7)).astype(np.float32)
    y = (rng.random(x.shape) < 0.35).astype(np.float32)
    return x, y


@pytest.mark.parametrize("kw", [{}, {"squared": True}, {"jaccard": True}, {"batch": True},
                                {"smooth_nr": 0.0, "smooth_dr": 1e-3},
                                {"no_background": True}])
def test_dice_monai(data, kw):
    x, y = data
    rkw = dict(kw)
    if rkw.pop("no_background", False):
        rkw["include_background"] = False
    _close(segloss.loss("dice", x, y, grad=True, **kw), _ref(refs.dice, x, y, **rkw))


def test_dice_probabilities(data):
    x, y = data
    p = (1 / (1 + np.exp(-x))).astype(np.float32)
    _close(segloss.loss("dice", p, y, grad=True, activation="none"),
           _ref(refs.dice, p, y, sigmoid=False))


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.3, "beta": 0.7}, {"batch": True}])
def test_tversky_monai(data, kw):
    x, y = data
    _close(segloss.loss("tversky", x, y, grad=True, **kw), _ref(refs.tversky, x, y, **kw))


@pytest.mark.parametrize("w_type", ["square", "simple", "uniform"])
def test_generalized_dice_monai(data, w_type):
    x, y = data
    y[0, 1] = 0          # an empty channel: MONAI's infinite-weight rule
    _close(segloss.loss("generalized-dice", x, y, grad=True, w_type=w_type),
           _ref(refs.generalized_dice, x, y, w_type=w_type))


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 0.0), (0.6, 1.5)])
def test_focal_torchvision(data, alpha, gamma):
    x, y = data
    _close(segloss.loss("focal", x, y, grad=True, alpha=alpha, gamma=gamma),
           _ref(refs.focal, x, y, alpha=alpha, gamma=gamma))


def test_bce_logits_torch(data):
    x, y = data
    pw = np.array([0.5, 3.0], np.float32).reshape(2, 1, 1)
    w = np.linspace(0.1, 2, 7).astype(np.float32)
    ref = _ref(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight=torch.tensor(w, dtype=torch.float64),
        pos_weight=torch.tensor(pw, dtype=torch.float64)), x, y)
    _close(segloss.loss("bce-logits", x, y, grad=True, weight=w, pos_weight=pw), ref)
    # a list is one weight per channel (axis 1): the same as the (C,1,1) array
    _close(segloss.loss("bce-logits", x, y, grad=True, weight=w, pos_weight=[0.5, 3.0]), ref)


def test_bce_torch(data):
    x, y = data
    p = (1 / (1 + np.exp(-x))).astype(np.float32)
    _close(segloss.loss("bce", p, y, grad=True), _ref(F.binary_cross_entropy, p, y))


def test_ce_torch(rng):
    x = rng.normal(0, 1, (2, 4, 5, 6)).astype(np.float32)
    t = rng.integers(0, 4, (2, 5, 6))
    t[0, 0, 0] = -100
    w = [1.0, 0.5, 2.0, 1.5]
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    v = F.cross_entropy(xt, torch.tensor(t), weight=torch.tensor(w, dtype=torch.float64),
                        label_smoothing=0.1)
    v.backward()
    _close(segloss.loss("ce", x, t, grad=True, class_weight=w, label_smoothing=0.1),
           (v.item(), xt.grad.numpy()))


def test_dice_bce_monai(rng):
    x = rng.normal(0, 1, (4, 1, 9, 9)).astype(np.float32)
    y = (rng.random(x.shape) < 0.5).astype(np.float32)
    _close(segloss.loss("dice-bce", x, y, grad=True, lambda_dice=0.7, lambda_bce=1.3),
           _ref(refs.dice_bce, x, y, lambda_dice=0.7, lambda_bce=1.3))


def test_reduction_none_and_grad_out(data):
    x, y = data
    elems, g = segloss.loss("dice", x, y, reduction="none", grad=True,
                            grad_out=np.full((3, 2), 2.0, np.float32))
    f = refs.dice(torch.tensor(x, dtype=torch.float64, requires_grad=True),
                  torch.tensor(y, dtype=torch.float64), reduction="none")
    np.testing.assert_allclose(elems, f.detach().numpy(), rtol=1e-5)
    _, g1 = segloss.loss("dice", x, y, reduction="sum", grad=True)
    np.testing.assert_allclose(g, 2 * g1, rtol=1e-6)


def test_inputs_any_layout_and_dtype(data):
    """float64 and non-contiguous inputs are converted/copied, never mutated."""
    x, y = data
    want = segloss.loss("dice", x, y, grad=True)
    x64 = x.astype(np.float64)
    before = x64.copy()
    got = segloss.loss("dice", x64, y.astype(bool), grad=True)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    assert np.array_equal(x64, before)
    xf = np.asfortranarray(x)
    got = segloss.loss("dice", xf, y.astype(np.int64), grad=True)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    got = segloss.loss("dice", x.tolist(), y, grad=True)   # any array-like
    assert got[0] == want[0]
