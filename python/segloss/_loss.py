"""segloss.loss: the loss kinds of `segloss loss`, one table row each.

A row names the library function family (segloss_LIB_forward / _backward /
_forward_backward), the option groups the kind takes (the CLI's groups, in
snake_case), how its options struct is built, how its target is read and
the shape of its loss array for reduction='none'. Adding a kind is adding a
row (and, if it brings a new options struct, its mirror in _lib.py).
"""
import ctypes
import math

import numpy as np

from . import _arrays, _lib
from ._errors import Error, check, strerror
from ._loss_opts import (
    GROUPS, _choice, _ignore, _bce, _focal, _ce, _lovasz, _dice, _tversky, _gdice, _dice_bce,
    _dice_ce, _dice_focal, _gdice_focal, _mcc, _topk, _hd, _boundary, _cldice, _cldice_only,
    _unified_focal, _gwdl, _set_reduction,
)

fn = _lib.fn


# ---- loss-array shapes for reduction='none' ----------------------------------
def _same(kind, xs, o):
    return xs


def _class_target_shape(xs):
    return xs[:1] + xs[2:] if len(xs) >= 2 else ()


def _items(items_fn):
    def shape(kind, xs, o):
        s = _lib.shape()
        check(items_fn(ctypes.byref(s), ctypes.byref(_arrays.shape_of(np.empty(xs, np.uint8))),
                       ctypes.byref(o)), "loss " + kind.name)
        return _arrays.shape_tuple(s)
    return shape


class Kind:
    """One row: `name` as the CLI spells it; `lib` the C family
    segloss_<lib>_forward/_backward[/_forward_backward]; `struct` its options
    struct (_lib) and `opts` the builder of one from the keywords; `groups`
    the option groups it takes; `target` "dense", "index" or "auto" (index
    with activation='softmax'); `out_shape` the reduction='none' shape;
    `probs`: the input is probabilities; `finite`: NaN/inf always refused;
    `activation`: the default activation, a name or a function of the
    input's shape ("multiclass" target: class indices when C > 1);
    `reductions`: the reductions it takes; `elems`: its forward takes the
    loss array."""

    def __init__(self, name, lib, struct, opts, groups, target, out_shape, probs=False,
                 finite=False, summary="", activation="sigmoid",
                 reductions=("mean", "sum", "none"), elems=True):
        self.name, self.lib, self.opts, self.out_shape = name, lib, opts, out_shape
        self.struct = struct
        self.groups = groups
        self.target = target
        self.probs, self.finite, self.summary = probs, finite, summary
        self.activation, self.reductions = activation, reductions
        self.options = {o for g in groups for o in GROUPS[g]}
        self.elems = elems
        protos = _lib.loss_protos(struct, elems)
        self.forward = _lib.bind(lib + "_forward", *protos["forward"])
        self.backward = _lib.bind(lib + "_backward", *protos["backward"])
        self.fused = _lib.bind(lib + "_forward_backward", *protos["forward_backward"])


_R = ("region", "ignore")
_L = _lib
_MS = ("mean", "sum")


def _channels(xs):
    return xs[1] if len(xs) >= 3 else 1


KINDS = {k.name: k for k in (
    Kind("bce", "bce", _L.bce_opts, _bce, ("weight", "ignore"), "dense", _same, probs=True,
         summary="BCE on probabilities in [0,1] (torch BCELoss)"),
    Kind("bce-logits", "bce_logits", _L.bce_opts, _bce, ("weight", "pos_weight", "ignore"),
         "dense", _same, summary="BCE on logits (torch BCEWithLogitsLoss)"),
    Kind("dice", "dice", _L.dice_opts, _dice, _R + ("dice", "smp"), "auto",
         _items(fn.dice_items_shape), summary="soft Dice on (N, C, spatial...) (MONAI DiceLoss)"),
    Kind("focal", "focal", _L.focal_opts, _focal, ("weight", "focal", "ignore"), "dense", _same,
         summary="sigmoid focal loss on logits (torchvision sigmoid_focal_loss)"),
    Kind("ce", "ce", _L.ce_opts, _ce, ("ce", "ignore"), "index",
         lambda k, xs, o: _class_target_shape(xs),
         summary="softmax cross-entropy over axis 1 (torch CrossEntropyLoss)"),
    Kind("lovasz-hinge", "lovasz_hinge", _L.lovasz_opts, _lovasz, ("lovasz", "ignore"), "dense",
         _items(fn.lovasz_items_shape), finite=True,
         summary="binary Lovasz hinge on logits (smp LovaszLoss)"),
    Kind("jaccard", "jaccard", _L.dice_opts, _dice, _R + ("smp",), "auto",
         _items(fn.dice_items_shape), summary="soft IoU, 1 - (I + s)/(P + G - I + s)"),
    Kind("tversky", "tversky", _L.tversky_opts, _tversky, _R + ("tversky",), "auto",
         _items(fn.tversky_items_shape),
         summary="Tversky loss, focal with gamma (MONAI TverskyLoss)"),
    Kind("generalized-dice", "generalized_dice", _L.generalized_dice_opts, _gdice,
         _R + ("gdice",), "auto", _items(fn.generalized_dice_items_shape),
         summary="generalized Dice (MONAI GeneralizedDiceLoss)"),
    Kind("dice-bce", "dice_bce", _L.dice_bce_opts, _dice_bce,
         _R + ("dice", "smp", "dice_bce", "pos_weight"), "dense", lambda k, xs, o: (),
         summary="Dice + BCE-with-logits (MONAI DiceCELoss, one channel)"),
    Kind("dice-ce", "dice_ce", _L.dice_ce_opts, _dice_ce, _R + ("dice", "dice_ce"),
         "multiclass", lambda k, xs, o: (), reductions=_MS,
         activation=lambda xs: "softmax" if _channels(xs) > 1 else "sigmoid",
         summary="Dice + CE, softmax for C > 1 (MONAI DiceCELoss; nnU-Net with nnunet)"),
    Kind("dice-focal", "dice_focal", _L.dice_focal_opts, _dice_focal,
         ("region", "dice", "dice_focal"), "auto", lambda k, xs, o: (), reductions=_MS,
         summary="Dice + sigmoid focal (MONAI DiceFocalLoss)"),
    Kind("generalized-dice-focal", "generalized_dice_focal", _L.generalized_dice_focal_opts,
         _gdice_focal, ("region", "gdice", "dice_focal", "gdice_focal"), "auto",
         lambda k, xs, o: (), reductions=_MS,
         summary="generalized Dice + focal (MONAI GeneralizedDiceFocalLoss)"),
    Kind("mcc", "mcc", _L.mcc_opts, _mcc, ("mcc",), "dense", lambda k, xs, o: (),
         activation="none",
         summary="1 - Matthews correlation, probabilities by default (smp MCCLoss)"),
    Kind("topk-ce", "topk_ce", _L.topk_ce_opts, _topk, ("ce", "topk", "ignore"), "index",
         lambda k, xs, o: (), reductions=("mean",), elems=False,
         summary="mean CE over the k % largest (nnU-Net TopKLoss)"),
    Kind("lovasz-softmax", "lovasz_softmax", _L.lovasz_opts, _lovasz, ("lovasz", "ignore"),
         "index", _items(fn.lovasz_items_shape), finite=True,
         summary="Lovasz-softmax on logits (smp LovaszLoss, multiclass)"),
    Kind("hausdorff-dt", "hausdorff_dt", _L.hausdorff_dt_opts, _hd(0), ("hd",), "auto",
         _items(fn.hausdorff_dt_items_shape), activation="none",
         summary="Hausdorff distance-transform loss (MONAI HausdorffDTLoss)"),
    Kind("boundary", "boundary", _L.boundary_opts, _boundary, ("boundary",), "auto",
         lambda k, xs, o: (), activation="softmax", reductions=_MS, elems=False,
         summary="boundary loss, mean of p * signed distance (Kervadec et al.)"),
    Kind("log-hausdorff-dt", "hausdorff_dt", _L.hausdorff_dt_opts, _hd(1), ("hd",), "auto",
         _items(fn.hausdorff_dt_items_shape), activation="none",
         summary="log(1 + hausdorff-dt) (MONAI LogHausdorffDTLoss)"),
    # issue 13, clDice (MONAI cldice.py)
    Kind("cldice", "cldice", _L.cldice_opts, _cldice_only, ("cldice",), "auto",
         lambda k, xs, o: (), activation="none", reductions=("mean",), elems=False,
         summary="soft clDice, 2-D or 3-D, probabilities (MONAI SoftclDiceLoss)"),
    Kind("dice-cldice", "dice_cldice", _L.dice_cldice_opts, _cldice, ("cldice", "dice_cldice"),
         "auto", lambda k, xs, o: (), activation="none", reductions=("mean",), elems=False,
         summary="(1 - alpha) soft Dice + alpha clDice (MONAI SoftDiceclDiceLoss)"),
    Kind("unified-focal", "unified_focal", _L.unified_focal_opts, _unified_focal,
         ("unified_focal",), "auto", lambda k, xs, o: (), activation="none",
         reductions=("mean",), elems=False,
         summary="asymmetric unified focal, binary (MONAI AsymmetricUnifiedFocalLoss)"),
    Kind("gwdl", "gwdl", _L.gwdl_opts, _gwdl, ("gwdl",), "index",
         lambda k, xs, o: xs[:1],
         summary="generalized Wasserstein Dice, softmax (MONAI GeneralizedWassersteinDiceLoss)"),
)}


# ---- arrays ------------------------------------------------------------------
def _weights(w, name):
    w = _arrays.contiguous(np.asarray(w), np.float32)
    if w.size and not np.isfinite(w).all():
        i = int(np.flatnonzero(~np.isfinite(w.ravel()))[0])
        raise Error("%s: non-finite value at index %d; weights must be finite and >= 0"
                    % (name, i), _lib.ERR_ARG, i, float(w.ravel()[i]))
    if w.size and (w < 0).any():
        i = int(np.flatnonzero(w.ravel() < 0)[0])
        raise Error("%s: negative value %g at index %d; weights must be finite and >= 0"
                    % (name, w.ravel()[i], i), _lib.ERR_ARG, i, float(w.ravel()[i]))
    return w


def _broadcasts(a, full):
    if a.ndim > len(full):
        return False
    off = len(full) - a.ndim
    return all(d == 1 or d == full[k + off] for k, d in enumerate(a.shape))


def _prepare(kind, x, kw):
    """The farrays of weight, pos_weight, class_weight, and the arrays they
    point into (to keep alive)."""
    keep, arr = [], {"weight": _lib.farray(), "pos_weight": _lib.farray(),
                     "class_weight": _lib.farray()}
    for name, group in (("weight", "weight"), ("pos_weight", "pos_weight"),
                        ("class_weight", "ce")):
        v = kw.get(name)
        if v is None or group not in kind.groups:  # unified-focal's weight is a number
            continue
        if name == "class_weight" or (name == "pos_weight" and isinstance(v, (list, tuple))):
            # one weight per channel (axis 1; ce: axis 0 of a (C,) input)
            axis = 0 if (name == "class_weight" and x.ndim == 1) else 1
            if x.ndim <= axis:
                raise Error("%s gives one weight per channel (axis 1), but the input has "
                            "shape %s (no channel axis)" % (name, x.shape), _lib.ERR_SHAPE)
            w = _weights(np.asarray(v, dtype=np.float64).ravel(), name)
            if w.size != x.shape[axis]:
                raise Error("%s has %d values but the input has %d channels (axis %d of %s)"
                            % (name, w.size, x.shape[axis], axis, x.shape), _lib.ERR_SHAPE)
            if name == "pos_weight":
                w = w.reshape((w.size,) + (1,) * (x.ndim - 2))
        else:
            w = _weights(v, name)
            if not _broadcasts(w, x.shape):
                raise Error("%s of shape %s cannot be broadcast to the input's %s"
                            % (name, w.shape, x.shape), _lib.ERR_SHAPE)
        keep.append(w)
        arr[name] = _arrays.farray(w)
    m = kw.get("distance_matrix")
    if m is not None:       # gwdl: (C, C) for the input's C channels
        m = _weights(m, "distance_matrix")
        c = x.shape[1] if x.ndim >= 2 else 0
        if m.shape != (c, c):
            raise Error("distance_matrix of shape %s; expected (%d, %d) for the input's %d "
                        "classes (axis 1)" % (m.shape, c, c, c), _lib.ERR_SHAPE)
        keep.append(m)
        arr["distance_matrix"] = m
    return arr, keep


def _index_target(kind, kw, xs):
    """Whether the target holds class indices (kw: with the activation in
    effect)."""
    if kind.target == "multiclass" and _channels(xs) > 1:
        return True
    return kind.target == "index" or (kind.target != "dense" and
                                      kw.get("activation") == "softmax")


def _explain(kind, st, x, tgt, x_shape, index, kw):
    """segloss.Error for a failed loss call, naming the first bad value."""
    r = _lib.check_report()
    if st == _lib.ERR_DOMAIN:
        fn.input_check(ctypes.byref(r), _arrays.f32p(x), x.size, _lib.INPUT_PROB)
        if r.index >= 0:
            what = "NaN" if math.isnan(r.value) else "value %g" % r.value
            return Error("input: %s at index %d; probabilities must lie in [0,1]%s"
                         % (what, r.index, "; did you mean bce-logits?" if kind.probs else ""),
                         st, r.index, r.value)
    elif st == _lib.ERR_NONFINITE:
        fn.input_check(ctypes.byref(r), _arrays.f32p(x), x.size, _lib.INPUT_FINITE)
        if r.count:
            return _nonfinite_error(kind, r)
    elif st == _lib.ERR_TARGET:
        classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
        default = fn.ce_opts_default().ignore_index if kind.target == "index" \
            else _lib.IGNORE_NONE
        fn.target_check(ctypes.byref(r), ctypes.byref(tgt[0]), tgt[1].size,
                        _lib.TARGET_INDEX if index else _lib.TARGET_DENSE, classes,
                        _ignore(kw, default))
        if r.index >= 0:
            rule = ("a class index in [0, %d)" % classes if index
                    else "in [0,1]" if tgt[1].dtype.kind == "f" else "0 or 1")
            return Error("target: value %.17g at index %d; target values must be %s"
                         % (r.value, r.index, rule), st, r.index, r.value)
    return Error("loss %s: %s" % (kind.name, strerror(st)), st)


def check_kind(kind, opts, reduction, xs):
    """The kind's row and the options with the activation in effect for an
    input of shape xs (unknown kind, options or reduction: errors)."""
    k = KINDS.get(kind)
    if k is None:
        raise Error("unknown loss kind %r (one of: %s)" % (kind, ", ".join(KINDS)),
                    _lib.ERR_ARG)
    extra = set(opts) - k.options
    if extra:
        raise TypeError("loss %s: option%s %s do%s not apply (it takes: %s)"
                        % (kind, "s" if len(extra) > 1 else "", ", ".join(sorted(extra)),
                           "" if len(extra) > 1 else "es", ", ".join(sorted(k.options))))
    if reduction not in k.reductions and reduction in _lib.REDUCTIONS:
        raise Error("loss %s takes reduction %s, not %r" % (kind, " or ".join(k.reductions),
                                                           reduction), _lib.ERR_ARG)
    if "activation" in k.options and opts.get("activation") is None:
        act = k.activation(xs) if callable(k.activation) else k.activation
        opts = dict(opts, activation=act)
    return k, opts


def setup(kind, input, target, reduction, opts):
    """The checks and conversions of a loss call: (kind row, options
    struct, input float32, target, its dtype code, class-index target?,
    options with the activation in effect, reduction code, arrays to keep
    alive)."""
    x = _arrays.input_f32(input)
    if x.size == 0:
        raise Error("input: array is empty (shape %s)" % (x.shape,), _lib.ERR_EMPTY)
    k, opts = check_kind(kind, opts, reduction, x.shape)
    t, tcode = _arrays.typed(target, "target")
    index = _index_target(k, opts, x.shape)
    if index and t.dtype.kind == "f":
        raise Error("target: %s needs integer class indices, got dtype %s"
                    % (kind if k.target == "index" else "activation='softmax'", t.dtype),
                    _lib.ERR_DTYPE)
    want = _class_target_shape(x.shape) if index else x.shape
    if t.shape != want:
        raise Error("shape mismatch: input %s vs target %s%s"
                    % (x.shape, t.shape, " (the target is the input's shape without axis 1)"
                       if index else ""), _lib.ERR_SHAPE)
    arr, keep = _prepare(k, x, opts)
    o = k.opts(opts, arr)
    red = _choice(_lib.REDUCTIONS, reduction, "reduction")
    _set_reduction(o, red)
    return k, o, x, t, tcode, index, opts, red, keep


def loss(kind, input, target, *, grad=False, reduction="mean", grad_out=None,
         allow_nonfinite=False, out=None, **opts):
    """The loss `kind` of `input` against `target` (see docs/python.md).

    A NaN or infinite result caused by a NaN/inf input is an error naming
    the first such input (allow_nonfinite=True returns it, as PyTorch);
    the check costs nothing when the result is finite.

    Returns the reduced loss as a float (reduction 'mean'/'sum') or the loss
    array (reduction 'none'); with grad=True a pair (loss, gradient), the
    gradient d(loss)/d(input) scaled by grad_out (1, or ones of the loss
    array's shape for 'none'), float32 of the input's shape, written into
    `out` when given (a C-contiguous float32 array of the input's shape:
    no allocation per call)."""
    k, o, x, t, tcode, index, opts, red, keep = setup(kind, input, target, reduction, opts)
    result = call(k, o, x, t, tcode, index, opts, red == 2, grad, grad_out, out)
    value = result[0] if grad else result
    if not allow_nonfinite and not (np.isfinite(value).all() if red == 2
                                    else math.isfinite(value)):
        _refuse_nonfinite(k, x)       # a NaN/inf result: was it the input's?
    return result


def _nonfinite_error(k, r):
    return Error("input: %d non-finite value%s (first at index %d: %s)%s"
                 % (r.count, "" if r.count == 1 else "s", r.index, r.value,
                    "; %s needs finite logits" % k.name if k.finite
                    else "; pass allow_nonfinite=True to propagate them as PyTorch"),
                 _lib.ERR_NONFINITE, r.index, r.value)


def _refuse_nonfinite(k, x):
    r = _lib.check_report()
    fn.input_check(ctypes.byref(r), _arrays.f32p(x), x.size, _lib.INPUT_FINITE)
    if r.count:
        raise _nonfinite_error(k, r)


def _grad_buffer(out, x):
    if out is None:
        return np.empty(x.shape, np.float32)
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and
            out.shape == x.shape and out.flags.c_contiguous and out.flags.writeable):
        raise Error("out must be a writeable C-contiguous float32 array of shape %s"
                    % (x.shape,), _lib.ERR_ARG)
    return out


def call(k, o, x, t, tcode, index, opts, none, grad, grad_out, out=None):
    """The library calls themselves (fused where there is one)."""
    tgt = _lib.target(t.ctypes.data, tcode)
    shp = _arrays.shape_of(x)
    out_shape = k.out_shape(k, x.shape, o)
    elems = np.empty(out_shape, np.float32) if none else None
    ep = _arrays.f32p(elems) if none else None
    go = None
    if grad:
        if grad_out is None:
            go = np.ones(out_shape, np.float32) if none else None
        else:
            go = _arrays.contiguous(np.asarray(grad_out, np.float32))
            if go.shape != (out_shape if none else ()) and go.size != 1:
                raise Error("grad_out of shape %s; expected %s" % (go.shape, out_shape),
                            _lib.ERR_SHAPE)
    gop = _arrays.f32p(go) if go is not None else None
    value = ctypes.c_double()
    g = _grad_buffer(out, x) if grad else None
    if grad and k.fused is not None:
        st = k.fused(*([ctypes.byref(value)] + ([ep] if k.elems else []) +
                       [_arrays.f32p(g), _arrays.f32p(x), ctypes.byref(tgt), ctypes.byref(shp),
                        ctypes.byref(o), gop]))
    else:
        st = k.forward(*([ctypes.byref(value)] + ([ep] if k.elems else []) +
                         [_arrays.f32p(x), ctypes.byref(tgt), ctypes.byref(shp),
                          ctypes.byref(o)]))
        if st == _lib.OK and grad:
            st = k.backward(_arrays.f32p(g), _arrays.f32p(x), ctypes.byref(tgt),
                            ctypes.byref(shp), ctypes.byref(o), gop)
    if st != _lib.OK:
        if st == _lib.ERR_NOMEM:
            raise MemoryError(strerror(st))
        raise _explain(k, st, x, (tgt, t), x.shape, index, opts)
    result = elems if none else value.value
    return (result, g) if grad else result
