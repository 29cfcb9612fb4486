"""segloss.torch: modules against PyTorch's own losses and float64 autograd
of the MONAI/torchvision formulas (refs.py), gradcheck, CUDA refusal.

gradcheck: the kernels compute in float32, so torch.autograd.gradcheck runs
on float64 inputs with a step (eps 1e-3) and tolerances (atol 1e-3, rtol
1e-2) sized for float32 rounding of the finite differences; the exact
check is the comparison of the analytic gradient with float64 autograd of
the reference formula (rtol 1e-4)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import refs
import segloss
import segloss.torch as st  # noqa: E402


def _pair(rng, shape=(2, 1, 8, 9), dtype=torch.float32):
    x = torch.tensor(rng.normal(0, 1.5, shape), dtype=dtype, requires_grad=True)
    y = torch.tensor((rng.random(shape) < 0.4).astype(np.float32))
    return x, y


def _compare(mod, ref, x, y, rtol=1e-5):
    v = mod(x, y)
    (g,) = torch.autograd.grad(v, x)
    xr = x.detach().double().requires_grad_(True)
    rv = ref(xr, y.double() if y.is_floating_point() else y)
    (rg,) = torch.autograd.grad(rv, xr)
    assert v.dtype == x.dtype
    assert v.item() == pytest.approx(rv.item(), rel=rtol, abs=1e-7)
    torch.testing.assert_close(g.double(), rg, rtol=1e-4, atol=1e-5 * rg.abs().max().item())


def test_dice_loss(rng):
    x, y = _pair(rng, (2, 3, 8, 9))
    _compare(st.DiceLoss(sigmoid=True), refs.dice, x, y)
    _compare(st.DiceLoss(sigmoid=True, squared_pred=True, batch=True, include_background=False),
             lambda a, b: refs.dice(a, b, squared=True, batch=True, include_background=False),
             x, y)
    p = torch.sigmoid(x.detach()).requires_grad_(True)
    _compare(st.DiceLoss(), lambda a, b: refs.dice(a, b, sigmoid=False), p, y)


def test_dice_loss_softmax_onehot(rng):
    x = torch.tensor(rng.normal(0, 1, (2, 3, 6, 5)), dtype=torch.float32, requires_grad=True)
    lab = torch.tensor(rng.integers(0, 3, (2, 1, 6, 5)))

    def ref(a, b):
        onehot = F.one_hot(b[:, 0], 3).permute(0, 3, 1, 2).double()
        return refs.dice(torch.softmax(a, 1), onehot, sigmoid=False)
    _compare(st.DiceLoss(to_onehot_y=True, softmax=True), ref, x, lab)


def test_tversky_gdice_focal_dicece(rng):
    x, y = _pair(rng, (3, 2, 7, 6))
    _compare(st.TverskyLoss(sigmoid=True, alpha=0.3, beta=0.7),
             lambda a, b: refs.tversky(a, b, alpha=0.3, beta=0.7), x, y)
    _compare(st.GeneralizedDiceLoss(sigmoid=True, w_type="simple"),
             lambda a, b: refs.generalized_dice(a, b, w_type="simple"), x, y)
    _compare(st.FocalLoss(gamma=1.5, alpha=0.25),
             lambda a, b: refs.focal(a, b, alpha=0.25, gamma=1.5), x, y)
    _compare(st.FocalLoss(), lambda a, b: refs.focal(a, b, alpha=None), x, y)
    _compare(st.FocalLoss(reduction="sum"),     # MONAI: spatial mean, then sum
             lambda a, b: refs.focal(a, b, alpha=None) * a.shape[0] * a.shape[1], x, y)
    x1, y1 = _pair(rng, (3, 1, 7, 6))
    _compare(st.DiceCELoss(sigmoid=True, lambda_dice=0.5, lambda_ce=2.0),
             lambda a, b: refs.dice_bce(a, b, 0.5, 2.0), x1, y1)


def test_torch_losses(rng):
    x, y = _pair(rng, (2, 3, 4, 5))
    pw = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5])       # PyTorch broadcasting: last axis
    w = torch.rand(3, 1, 5)
    _compare(st.BCEWithLogitsLoss(weight=w, pos_weight=pw),
             torch.nn.BCEWithLogitsLoss(weight=w.double(), pos_weight=pw.double()), x, y)
    _compare(st.BCEWithLogitsLoss(reduction="sum"), torch.nn.BCEWithLogitsLoss(reduction="sum"),
             x, y)
    p = torch.sigmoid(x.detach()).requires_grad_(True)
    _compare(st.BCELoss(), torch.nn.BCELoss(), p, y)
    t = torch.tensor(rng.integers(0, 3, (2, 4, 5)))
    cw = torch.tensor([1.0, 0.3, 2.0])
    _compare(st.CrossEntropyLoss(weight=cw, label_smoothing=0.05),
             torch.nn.CrossEntropyLoss(weight=cw.double(), label_smoothing=0.05), x, t)


def test_reduction_none_backward(rng):
    x, y = _pair(rng, (2, 3, 4, 5))
    v = st.BCEWithLogitsLoss(reduction="none")(x, y)
    up = torch.rand_like(v)
    (g,) = torch.autograd.grad(v, x, up)
    xr = x.detach().double().requires_grad_(True)
    rv = F.binary_cross_entropy_with_logits(xr, y.double(), reduction="none")
    (rg,) = torch.autograd.grad(rv, xr, up.double())
    torch.testing.assert_close(v.double(), rv, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g.double(), rg, rtol=1e-4, atol=1e-6)
    d = st.DiceLoss(sigmoid=True, reduction="none")(x, y)
    assert d.shape == (2, 3, 1, 1)          # MONAI keeps the spatial axes


@pytest.mark.parametrize("kind", ["bce-logits", "dice", "tversky", "focal", "dice-bce",
                                  "generalized-dice"])
def test_gradcheck(kind, rng):
    x, y = _pair(rng, (2, 1, 4, 3), dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: st.loss(kind, a, y), (x,), eps=1e-3, atol=1e-3,
                                    rtol=1e-2)


def test_scaling_by_upstream_gradient(rng):
    x, y = _pair(rng)
    v = st.loss("dice", x, y)
    (g1,) = torch.autograd.grad(v, x)
    (g3,) = torch.autograd.grad(3.0 * st.loss("dice", x, y), x)
    torch.testing.assert_close(g3, 3.0 * g1)
    # the NumPy API gives the same bits
    value, g = segloss.loss("dice", x.detach().numpy(), y.numpy(), grad=True)
    assert np.array_equal(g, g1.numpy()) and np.float32(value) == v.item()


def test_no_grad_and_float64(rng):
    x, y = _pair(rng, dtype=torch.float64)
    with torch.no_grad():
        v = st.DiceLoss(sigmoid=True)(x, y)
    assert v.dtype == torch.float64 and not v.requires_grad


def test_device_and_unsupported(rng):
    x = torch.empty((1, 1, 4, 4), device="meta")
    with pytest.raises(segloss.Error, match="CPU"):
        st.DiceLoss(sigmoid=True)(x, x)
    x, y = _pair(rng, (2, 3, 4, 4))
    with pytest.raises(NotImplementedError):
        st.DiceCELoss(sigmoid=True)(x, y)
    with pytest.raises(NotImplementedError):
        st.DiceLoss(other_act=torch.tanh)
    with pytest.raises(NotImplementedError):
        st.DiceCELoss(softmax=True)


def test_dice_ce_multiclass(rng):
    """MONAI DiceCELoss(softmax=True, to_onehot_y=True) on C = 3 channels."""
    x = torch.tensor(rng.normal(0, 1.5, (2, 3, 6, 5)), dtype=torch.float32, requires_grad=True)
    lab = torch.tensor(rng.integers(0, 3, (2, 1, 6, 5)))
    _compare(st.DiceCELoss(softmax=True, to_onehot_y=True), lambda a, b: refs.dice_ce(a, b[:, 0]),
             x, lab)
    _compare(st.DiceCELoss(softmax=True, to_onehot_y=True, include_background=False,
                           lambda_dice=0.5, lambda_ce=2.0, label_smoothing=0.1),
             lambda a, b: refs.dice_ce(a, b[:, 0], 0.5, 2.0, 0.1, include_background=False),
             x, lab)
    with pytest.raises(NotImplementedError):
        st.DiceCELoss(softmax=True)          # one-hot (soft) CE targets: not implemented


def test_dice_focal_and_generalized_dice_focal(rng):
    x, y = _pair(rng, (2, 3, 7, 6))
    _compare(st.DiceFocalLoss(sigmoid=True),
             lambda a, b: refs.dice(a, b) + refs.monai_focal(a, b), x, y)
    _compare(st.DiceFocalLoss(sigmoid=True, gamma=1.5, alpha=0.25, lambda_dice=0.5,
                              lambda_focal=2.0, include_background=False),
             lambda a, b: 0.5 * refs.dice(a, b, include_background=False)
             + 2.0 * refs.monai_focal(a, b, 1.5, 0.25, include_background=False), x, y)
    _compare(st.GeneralizedDiceFocalLoss(sigmoid=True, lambda_gdl=2.0, gamma=1.0),
             lambda a, b: 2.0 * refs.generalized_dice(a, b) + refs.monai_focal(a, b, 1.0),
             x, y)
    # softmax Dice with class indices; the focal part on the logits against the one-hot
    lab = torch.tensor(rng.integers(0, 3, (2, 1, 7, 6)))
    _compare(st.DiceFocalLoss(softmax=True, to_onehot_y=True),
             lambda a, b: refs.dice(torch.softmax(a, 1), refs.onehot(b[:, 0], 3),
                                    sigmoid=False)
             + refs.monai_focal(a, refs.onehot(b[:, 0], 3)), x, lab)


def test_mcc_loss(rng):
    x, y = _pair(rng, (3, 1, 8, 7))
    p = torch.sigmoid(x.detach()).requires_grad_(True)
    _compare(st.MCCLoss(), refs.mcc, p, y)
    _compare(st.MCCLoss(eps=1e-2), lambda a, b: refs.mcc(a, b, 1e-2), p, y)


def test_hausdorff_dt_losses(rng):
    x, y = _pair(rng, (2, 3, 9, 8))
    p = torch.sigmoid(x.detach()).requires_grad_(True)
    _compare(st.HausdorffDTLoss(), refs.hausdorff_dt, p, y)
    _compare(st.LogHausdorffDTLoss(alpha=1.0, include_background=True),
             lambda a, b: refs.hausdorff_dt(a, b, 1.0, True, log=True), p, y)


@pytest.mark.parametrize("kind", ["dice-focal", "generalized-dice-focal", "mcc"])
def test_gradcheck_second_edition(kind, rng):
    x, y = _pair(rng, (2, 2, 4, 3), dtype=torch.float64)
    if kind == "mcc":
        x = torch.sigmoid(x).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: st.loss(kind, a, y), (x,), eps=1e-3, atol=1e-3,
                                    rtol=1e-2)


def _grad_pointers(rng, keep, shape=(2, 1, 16, 16)):
    """The data pointers of x.grad over three steps of BCEWithLogitsLoss
    (with `keep`: the gradients are kept alive), and the gradients."""
    x, y = _pair(rng, shape)
    mod, out = st.BCEWithLogitsLoss(), []
    for _ in range(3):
        xx = x.detach().requires_grad_(True)
        mod(xx, y).backward()
        out.append((xx.grad.data_ptr(), xx.grad if keep else xx.grad.clone()))
    return out, F.binary_cross_entropy_with_logits(x.detach(), y, reduction="none")


def test_grad_array_reused_only_when_unreferenced(rng):
    """The gradient memory of a call is reused by the next call only when no
    tensor refers to it any more: a kept x.grad is never overwritten."""
    dropped, _ = _grad_pointers(rng, keep=False)
    assert dropped[0][0] == dropped[1][0] == dropped[2][0]
    kept, _ = _grad_pointers(rng, keep=True)
    assert len({p for p, _ in kept}) == 3
    ref = kept[0][1].clone()
    for _, g in kept:
        torch.testing.assert_close(g, ref, rtol=0, atol=0)
    # a NumPy view of the gradient, or a graph not yet backpropagated, keeps it
    x, y = _pair(rng)
    mod = st.DiceLoss(sigmoid=True)
    (g1,) = torch.autograd.grad(mod(x, y), x)
    view = g1[0].numpy()
    expect = view.copy()
    del g1
    loss_alive = mod(x, y)                   # a new array: `view` holds the first
    saved = loss_alive.grad_fn.saved_tensors[0].data_ptr()
    assert saved != view.ctypes.data
    (g3,) = torch.autograd.grad(mod(x * 2, y), x)   # a third: loss_alive holds the second
    assert g3.data_ptr() not in (saved, view.ctypes.data)
    np.testing.assert_array_equal(view, expect)
    (g2,) = torch.autograd.grad(loss_alive, x)
    assert g2.data_ptr() == saved
    np.testing.assert_array_equal(g2[0].numpy(), expect)


def test_grad_array_retain_graph(rng):
    """A graph kept for a second backward keeps its gradient: a call of the
    same size in between writes elsewhere."""
    x, y = _pair(rng, (2, 1, 16, 16))
    x2, y2 = _pair(rng, (2, 1, 16, 16))
    mod = st.BCEWithLogitsLoss()
    loss = mod(x, y)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    mod(x2, y2).backward()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * first, rtol=0, atol=0)


def test_grad_arrays_of_threads(rng):
    """Threads computing at once never share a gradient array."""
    import threading
    x, y = _pair(rng, (4, 1, 32, 32))
    (ref,) = torch.autograd.grad(st.DiceCELoss(sigmoid=True)(x, y), x)
    bad = []

    def run():
        mod = st.DiceCELoss(sigmoid=True)
        for _ in range(50):
            (g,) = torch.autograd.grad(mod(x, y), x)
            if not torch.equal(g, ref):
                bad.append(1)
    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not bad
def test_cldice_losses(rng):
    """MONAI's argument order (y_true, y_pred); probabilities; 2-D."""
    x, y = _pair(rng, (2, 3, 9, 8))
    p = torch.sigmoid(x.detach()).requires_grad_(True)
    for mod, ref in ((st.SoftclDiceLoss(), lambda a, b: refs.cldice(b, a)),
                     (st.SoftclDiceLoss(iter_=1, smooth=0.5),
                      lambda a, b: refs.cldice(b, a, 1, 0.5)),
                     (st.SoftDiceclDiceLoss(alpha=0.3), lambda a, b: refs.cldice(b, a, alpha=0.3))):
        _compare(lambda a, b: mod(b, a), ref, p, y)
def _loss3_cases(root):
    """The cases of tests/data/loss3_ref.txt (MONAI 1.5.0 values and
    autograd gradients, tools/ref/gen_loss3_ref.py)."""
    import os
    cases, c = [], None
    for line in open(os.path.join(root, "tests", "data", "loss3_ref.txt")):
        key, _, rest = line.strip().partition(" ")
        if key == "case":
            c = {"name": rest}
        elif key == "end":
            cases.append(c)
        elif key in ("x", "grad", "dm"):
            c[key] = np.array(rest.split()[2:], np.float64)
        elif key == "target":
            c["tdtype"], _, vals = rest.partition(" ")
            c["target"] = np.array(vals.split()[2:], np.float64)
        elif key == "shape":
            c["shape"] = tuple(int(v) for v in rest.split()[1:])
        elif key == "opts":
            c["opts"] = dict(kv.split("=") for kv in rest.split())
        elif key in ("kind", "loss"):
            c[key] = rest if key == "kind" else float(rest)
    return cases


def test_unified_focal_and_gwdl_modules_against_monai(root):
    cases = _loss3_cases(root)
    assert len(cases) >= 17
    for c in cases:
        o, shape = c["opts"], c["shape"]
        x = torch.tensor(c["x"].reshape(shape), dtype=torch.float32, requires_grad=True)
        if c["kind"] == "unified-focal":
            if "extreme" in c["name"] and o["act"] != "none":
                continue    # a float32 torch activation saturates; the library's is double
            act = {"sigmoid": torch.sigmoid, "softmax": lambda v: torch.softmax(v, 1),
                   "none": lambda v: v}[o["act"]]
            if o["tkind"] == "index":
                lab = torch.tensor(c["target"].reshape((shape[0],) + shape[2:])).long()
                y = F.one_hot(lab, 2).movedim(-1, 1).float()
            else:
                y = torch.tensor(c["target"].reshape(shape), dtype=torch.float32)
            kw = {k: float(o[s]) for k, s in (("weight", "w"), ("delta", "delta"),
                                             ("gamma", "gamma")) if s in o}
            v = st.AsymmetricUnifiedFocalLoss(**kw)(act(x), y)
        else:
            m = c["dm"].reshape(shape[1], shape[1])
            lab = torch.tensor(c["target"].reshape((shape[0], 1) + shape[2:])).long()
            kw = {k: float(o[s]) for k, s in (("smooth_nr", "snr"), ("smooth_dr", "sdr"))
                  if s in o}
            v = st.GeneralizedWassersteinDiceLoss(m, weighting_mode=o["mode"],
                                                  reduction=o["red"], **kw)(x, lab)
        (g,) = torch.autograd.grad(v, x)
        assert v.item() == pytest.approx(c["loss"], rel=2e-5), c["name"]
        ref = c["grad"].reshape(shape)
        assert np.abs(g.numpy() - ref).max() <= 1e-5 * np.abs(ref).max(), c["name"]


def test_unified_focal_and_gwdl_module_arguments():
    with pytest.raises(NotImplementedError):
        st.AsymmetricUnifiedFocalLoss(num_classes=3)
    with pytest.raises(NotImplementedError):
        st.AsymmetricUnifiedFocalLoss(to_onehot_y=True)
    with pytest.raises(ValueError):
        st.GeneralizedWassersteinDiceLoss(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        st.GeneralizedWassersteinDiceLoss(np.ones((2, 2)), weighting_mode="gdl")
    with pytest.raises(segloss.Error, match="distance_matrix"):
        segloss.loss("gwdl", np.zeros((1, 3, 2, 2), np.float32), np.zeros((1, 2, 2), np.int64),
                     distance_matrix=np.ones((2, 2)))
