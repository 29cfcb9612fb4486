"""Failures raise segloss.Error (a ValueError) with the library's status,
the offending flat index and value where the C API reports one."""
import math

import numpy as np
import pytest

import segloss
from segloss import _lib


def _raises(status, index, fn, *a, **kw):
    with pytest.raises(segloss.Error) as e:
        fn(*a, **kw)
    assert isinstance(e.value, ValueError)
    assert e.value.status == status, str(e.value)
    assert e.value.index == index, str(e.value)
    return e.value


def test_bce_probability_out_of_range():
    p = np.full((2, 3), 0.5, np.float32)
    p[1, 1] = 1.5
    e = _raises(_lib.ERR_DOMAIN, 4, segloss.loss, "bce", p, np.zeros((2, 3), np.uint8))
    assert e.value == 1.5 and "bce-logits" in str(e)


def test_target_not_binary():
    t = np.zeros((2, 3), np.uint8)
    t[1, 2] = 2
    e = _raises(_lib.ERR_TARGET, 5, segloss.loss, "bce-logits", np.zeros((2, 3), np.float32), t)
    assert e.value == 2.0 and "index 5" in str(e)


def test_class_index_out_of_range():
    t = np.zeros((1, 4), np.int64)
    t[0, 3] = 7
    _raises(_lib.ERR_TARGET, 3, segloss.loss, "ce", np.zeros((1, 3, 4), np.float32), t)


def test_nonfinite_input():
    x = np.zeros((2, 4), np.float32)
    x[1, 3] = np.nan
    e = _raises(_lib.ERR_NONFINITE, 7, segloss.loss, "dice", x, np.zeros((2, 4), np.uint8))
    assert "allow_nonfinite" in str(e)
    assert math.isnan(segloss.loss("dice", x, np.zeros((2, 4), np.uint8), allow_nonfinite=True))
    # an infinite logit that leaves the loss finite is accepted (as PyTorch)
    x[1, 3] = np.inf
    assert math.isfinite(segloss.loss("dice", x, np.ones((2, 4), np.uint8)))
    x[1, 3] = np.nan
    _raises(_lib.ERR_NONFINITE, 7, segloss.loss, "lovasz-hinge", x,
            np.zeros((2, 4), np.uint8), allow_nonfinite=True)


def test_shape_dtype_kind_option():
    x = np.zeros((2, 3), np.float32)
    _raises(_lib.ERR_SHAPE, None, segloss.loss, "dice", x, np.zeros((3, 2), np.uint8))
    _raises(_lib.ERR_DTYPE, None, segloss.loss, "dice", x.astype(np.int32), x)
    _raises(_lib.ERR_DTYPE, None, segloss.loss, "ce", np.zeros((1, 3, 2), np.float32),
            np.zeros((1, 2), np.float32))
    _raises(_lib.ERR_ARG, None, segloss.loss, "no-such-loss", x, x)
    _raises(_lib.ERR_ARG, None, segloss.loss, "dice", x, x, reduction="avg")
    _raises(_lib.ERR_EMPTY, None, segloss.loss, "dice", np.zeros((0,), np.float32),
            np.zeros((0,), np.float32))
    with pytest.raises(TypeError, match="pos_weight"):
        segloss.loss("dice", x, x, pos_weight=[1.0])
    # an option value the library refuses (gamma must be > 0)
    _raises(_lib.ERR_ARG, None, segloss.loss, "tversky", x, x, gamma=0.0)


def test_weights_checked():
    x = np.zeros((2, 3), np.float32)
    w = np.ones(3, np.float32)
    w[2] = -1
    _raises(_lib.ERR_ARG, 2, segloss.loss, "bce-logits", x, x, weight=w)
    _raises(_lib.ERR_SHAPE, None, segloss.loss, "bce-logits", x, x, weight=np.ones(4))


def test_eval_errors(tmp_path):
    p = np.array([[0.2, 1.2], [0.5, 0.1]])
    _raises(_lib.ERR_DOMAIN, 1, segloss.evaluate, p, np.zeros((2, 2), np.uint8))
    _raises(_lib.ERR_DOMAIN, 3, segloss.evaluate, np.zeros((2, 2), np.uint8),
            np.array([[0, 1], [2, 0.5]]))
    _raises(_lib.ERR_SHAPE, None, segloss.evaluate, np.zeros((2, 2), np.uint8),
            np.zeros((2, 3), np.uint8))
    with pytest.raises(segloss.Error, match="invalid labels"):
        segloss.evaluate(np.zeros(3, np.uint8), np.zeros(3, np.uint8), labels="1,x")
    assert repr(segloss.evaluate(np.ones(3, np.uint8), np.ones(3, np.uint8), labels="1, 2")) == \
        repr(segloss.evaluate(np.ones(3, np.uint8), np.ones(3, np.uint8), labels=[2, 1]))
    with pytest.raises(segloss.Error, match="label 0"):
        segloss.evaluate(np.zeros(3, np.uint8), np.zeros(3, np.uint8), labels=[0, 1])
    with pytest.raises(segloss.Error, match="nope.png") as e:
        segloss.read_image(tmp_path / "nope.png")
    assert e.value.status == _lib.ERR_IO
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"not a nifti file at all")
    with pytest.raises(segloss.Error, match="bad.nii"):
        segloss.read_image(bad)


def test_score_map_against_multilabel_reference_warns():
    ref = np.array([[0, 1], [2, 2]], np.uint8)
    with pytest.warns(UserWarning, match="label 2"):
        segloss.evaluate(np.array([[0.1, 0.9], [0.2, 0.8]]), ref)


def test_convention():
    z = np.zeros((6, 7), np.uint8)
    with pytest.raises(segloss.Error, match="invalid convention 'MedPy'"):
        segloss.evaluate(z, z, convention="MedPy")
    ref = z.copy()
    ref[1:4, 2:5] = 1
    # MONAI: +inf for hd and assd with an empty prediction, NaN for hd95
    m = segloss.evaluate(z, ref, metrics="dice,hd,hd95,assd", convention="monai")["labels"]["1"]
    assert m["dice"] == 0 and m["hd"] == math.inf and m["assd"] == math.inf
    assert math.isnan(m["hd95"])
    # MedPy: dc of two empty masks is 1; an explicit empty_score replaces it
    both = segloss.evaluate(z, z, labels=[1], convention="medpy")["labels"]["1"]
    assert both["dice"] == 1 and both["precision"] == 0
    zero = segloss.evaluate(z, z, labels=[1], convention="medpy", empty_score="nan")
    assert math.isnan(zero["labels"]["1"]["dice"])
