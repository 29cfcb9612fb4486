"""segloss.torch: the losses as differentiable PyTorch functions and modules.

`loss(kind, input, target, **opts)` is a torch.autograd.Function over the C
library: with reduction 'mean'/'sum' its forward calls the fused
forward+backward (where the library has one) and keeps the gradient; the
backward only scales it by the upstream gradient. With reduction 'none' the
backward calls the C backward with the upstream gradient array. CPU tensors
only: the kernels are float32 (float64 input is converted; the loss and the
gradient come back in the input's dtype, computed in float32). A CUDA tensor
is an error, never a silent copy.

The gradient array the C kernels write into is reused from one call to the
next (one per thread) once nothing refers to it any more: see _grad_array.

The modules take the constructor arguments of the MONAI / PyTorch classes
they mirror, in the same order and with the same defaults; arguments that
segloss does not implement raise NotImplementedError rather than being
ignored.
"""
import sys
import threading

import numpy as np
import torch

from . import _loss, _stats
from ._errors import Error

__all__ = ["loss", "DiceLoss", "DiceCELoss", "DiceFocalLoss", "GeneralizedDiceFocalLoss",
           "TverskyLoss", "GeneralizedDiceLoss", "FocalLoss", "MCCLoss", "HausdorffDTLoss",
           "LogHausdorffDTLoss", "AsymmetricUnifiedFocalLoss", "GeneralizedWassersteinDiceLoss",
           "BCEWithLogitsLoss", "BCELoss", "CrossEntropyLoss",
           "distributed_loss"]


def _numpy(t, name):
    if not isinstance(t, torch.Tensor):
        return np.asarray(t)
    if t.device.type != "cpu":
        raise Error("segloss.torch: %s is a %s tensor; segloss runs on the CPU only for now "
                    "(no GPU kernels yet): move it with .cpu() if that is what you want"
                    % (name, t.device.type))
    return t.detach().contiguous().numpy()


class _GradArrays(threading.local):
    last = None


_grads = _GradArrays()


def _count_unshared():
    """sys.getrefcount of an array held only by a _GradArrays slot and one
    local variable, read as _grad_array reads it (3 on CPython 3.11: the
    slot, the local, the argument; newer interpreters may borrow some)."""
    slot = _GradArrays()
    slot.last = np.empty(1, np.float32)
    a = slot.last
    return sys.getrefcount(a)


_UNSHARED = _count_unshared()


def _grad_array(shape):
    """A float32 array of `shape` for a gradient: the array of this
    thread's previous call when it has as many elements and nothing else
    refers to it any more, else a new one (kept for the next call).

    Why it is safe: every tensor, view or array over the memory holds a
    reference to the flat array `last` (torch.from_numpy's storage holds the
    NumPy array, a reshaped view holds its base), so a reference count of
    ours alone means nothing can read or write it any more: neither a
    gradient the user kept (x.grad), nor a loss whose graph still saves it.
    Why it pays: glibc serves an array over 32 MiB (its largest mmap
    threshold) with fresh memory from the system on every call, so a new
    gradient array costs page faults and zeroing each step: at
    16x1x1024x1024 (64 MiB) that doubled the CPU time of a BCE-with-logits
    step (bench/python_overhead.py --torch --shape 16x1x1024x1024). Smaller
    arrays come back from glibc's heap without faults; the reuse changes
    nothing measurable there."""
    n = 1
    for d in shape:
        n *= int(d)
    a = _grads.last
    if a is None or a.size != n or sys.getrefcount(a) != _UNSHARED:
        a = _grads.last = np.empty(n, np.float32)
    return a.reshape(shape)


class _LossFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, target, kind, reduction, opts):
        x = _numpy(input, "input")
        t = _numpy(target, "target")
        want_grad = ctx.needs_input_grad[0]
        ctx.reduction, ctx.kind, ctx.opts, ctx.dtype = reduction, kind, opts, input.dtype
        if reduction == "none":
            out = _loss.loss(kind, x, t, reduction="none", allow_nonfinite=True, **opts)
            if want_grad:   # saved as tensors: autograd sees later in-place changes
                ctx.save_for_backward(input, target if isinstance(target, torch.Tensor)
                                      else torch.as_tensor(t))
            return torch.from_numpy(out).to(input.dtype)
        if want_grad:
            value, g = _loss.loss(kind, x, t, reduction=reduction, grad=True,
                                  allow_nonfinite=True, out=_grad_array(x.shape), **opts)
            ctx.save_for_backward(torch.from_numpy(g))
        else:
            value = _loss.loss(kind, x, t, reduction=reduction, allow_nonfinite=True, **opts)
        return torch.tensor(value, dtype=input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        if ctx.reduction == "none":
            x, t = (_numpy(a, "input") for a in ctx.saved_tensors)
            go = _numpy(grad_output, "grad_output").astype(np.float32)
            _, g = _loss.loss(ctx.kind, x, t, reduction="none", grad=True, grad_out=go,
                              allow_nonfinite=True, out=_grad_array(x.shape), **ctx.opts)
            g = torch.from_numpy(g)
        else:
            (g,) = ctx.saved_tensors
            if not (grad_output.numel() == 1 and grad_output.item() == 1.0):
                g = g * grad_output.to(g.dtype)   # loss.backward() needs no pass over g
        return g.to(ctx.dtype), None, None, None, None


def loss(kind, input, target, *, reduction="mean", **opts):
    """The segloss loss `kind` (segloss.kinds()) as a differentiable function
    of `input`; options as segloss.loss. NaN/inf inputs propagate as in
    PyTorch (the NumPy API refuses them unless allow_nonfinite=True)."""
    if kind not in _loss.KINDS:
        raise Error("unknown loss kind %r (one of: %s)" % (kind, ", ".join(_loss.KINDS)))
    if isinstance(input, torch.Tensor) and input.device.type != "cpu":
        _numpy(input, "input")
    if not isinstance(input, torch.Tensor):
        input = torch.as_tensor(input)
    return _LossFunction.apply(input, target, kind, reduction, opts)


class _DistributedFunction(torch.autograd.Function):
    """The batch loss of a batch split over the ranks of a process group:
    one all-reduce of the image counts, one of the statistics."""

    @staticmethod
    def forward(ctx, input, target, kind, reduction, group, opts):
        import torch.distributed as dist
        x, t = _numpy(input, "input"), _numpy(target, "target")
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        counts = torch.zeros(world, dtype=torch.int64)
        counts[rank] = x.shape[0] if x.ndim >= 3 else 1
        dist.all_reduce(counts, group=group)
        part = dict(n_total=int(counts.sum()), n_offset=int(counts[:rank].sum()))
        s = torch.from_numpy(_stats.region_stats(kind, x, t, **part, **opts))
        dist.all_reduce(s, group=group)
        s = s.numpy()
        value = _stats.loss_from_stats(kind, s, x.shape, reduction=reduction, **part, **opts)
        ctx.args = (kind, s, x, t, reduction, part, opts, input.dtype)
        if reduction == "none":
            return torch.from_numpy(value).to(input.dtype)
        return torch.tensor(value, dtype=input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        kind, s, x, t, reduction, part, opts, dtype = ctx.args
        go = _numpy(grad_output, "grad_output").astype(np.float32)
        g = _stats.backward_from_stats(kind, s, x, t, reduction=reduction, grad_out=go,
                                       **part, **opts)
        return torch.from_numpy(g).to(dtype), None, None, None, None, None


def distributed_loss(kind, input, target, *, reduction="mean", group=None, **opts):
    """The region loss `kind` (dice, jaccard, tversky, generalized-dice) of
    the whole batch when each rank of the torch.distributed process `group`
    (default: the world) holds consecutive images of it, rank 0 first:
    every rank gets the batch loss, and backward gives each rank the
    gradient of that batch loss with respect to its own input (the slice
    one process holding the whole batch would get). Options as
    segloss.torch.loss. Collective: every rank of the group must call it."""
    if not isinstance(input, torch.Tensor):
        input = torch.as_tensor(input)
    return _DistributedFunction.apply(input, target, kind, reduction, group, opts)


def _unsupported(cls, **given):
    for name, value in given.items():
        if value:
            raise NotImplementedError("segloss.torch.%s: %s=%r is not implemented by segloss"
                                      % (cls, name, value))


class _Module(torch.nn.Module):
    kind = None

    def _opts(self, input, target):
        return dict(self.opts)

    def forward(self, input, target):
        opts = self._opts(input, target)
        return loss(self.kind, input, target, reduction=self.reduction, **opts)


class _RegionModule(_Module):
    """MONAI's region-loss arguments -> segloss's region options."""

    def _region(self, cls, include_background, to_onehot_y, sigmoid, softmax, other_act,
                reduction, smooth_nr, smooth_dr, batch):
        _unsupported(cls, other_act=other_act)
        if sigmoid and softmax:
            raise ValueError("sigmoid=True and softmax=True are not compatible (as MONAI)")
        if to_onehot_y and not softmax:
            raise NotImplementedError("segloss.torch.%s: to_onehot_y=True needs softmax=True "
                                      "(class-index targets go with the softmax)" % cls)
        self.reduction = reduction
        self.to_onehot_y = to_onehot_y
        self.opts = dict(activation="sigmoid" if sigmoid else "softmax" if softmax else "none",
                         smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                         no_background=not include_background)

    def forward(self, input, target):
        if self.to_onehot_y and isinstance(target, torch.Tensor) and target.dim() == input.dim():
            target = target[:, 0]   # MONAI's (N, 1, spatial...) label map
        if self.opts.get("activation") == "softmax" and not self.to_onehot_y:
            raise NotImplementedError("segloss.torch: softmax=True takes class-index targets "
                                      "(to_onehot_y=True)")
        out = loss(self.kind, input, target, reduction=self.reduction, **self.opts)
        if self.reduction == "none" and out.dim() >= 1 and input.dim() >= 3:
            out = out.reshape(out.shape + (1,) * (input.dim() - 2))  # MONAI's shape
        return out


class DiceLoss(_RegionModule):
    """MONAI DiceLoss (sigmoid=True for logits; the default sigmoid=False
    takes probabilities, as MONAI)."""
    kind = "dice"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, squared_pred=False, jaccard=False,
                 reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5, batch=False, weight=None):
        super().__init__()
        _unsupported("DiceLoss", weight=weight is not None)
        self._region("DiceLoss", include_background, to_onehot_y, sigmoid, softmax, other_act,
                     reduction, smooth_nr, smooth_dr, batch)
        self.opts.update(squared=squared_pred, jaccard=jaccard)


class GeneralizedDiceLoss(_RegionModule):
    """MONAI GeneralizedDiceLoss."""
    kind = "generalized-dice"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, w_type="square", reduction="mean",
                 smooth_nr=1e-5, smooth_dr=1e-5, batch=False):
        super().__init__()
        self._region("GeneralizedDiceLoss", include_background, to_onehot_y, sigmoid, softmax,
                     other_act, reduction, smooth_nr, smooth_dr, batch)
        self.opts.update(w_type=str(w_type).lower())


class TverskyLoss(_RegionModule):
    """MONAI TverskyLoss."""
    kind = "tversky"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, alpha=0.5, beta=0.5, reduction="mean",
                 smooth_nr=1e-5, smooth_dr=1e-5, batch=False):
        super().__init__()
        self._region("TverskyLoss", include_background, to_onehot_y, sigmoid, softmax,
                     other_act, reduction, smooth_nr, smooth_dr, batch)
        self.opts.update(alpha=alpha, beta=beta)


class DiceCELoss(_RegionModule):
    """MONAI DiceCELoss. C > 1 channels: softmax=True, to_onehot_y=True and a
    class-index target ((N, 1, spatial...) or (N, spatial...)): lambda_dice *
    Dice(softmax) + lambda_ce * CrossEntropyLoss(logits, labels) (segloss's
    dice-ce). One channel: sigmoid=True, Dice + BCE-with-logits on a 0/1
    target (segloss's dice-bce; MONAI >= 1.2 uses BCE-with-logits for one
    channel). Class weights (`weight`) are not implemented."""
    kind = "dice-ce"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, squared_pred=False, jaccard=False,
                 reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5, batch=False, weight=None,
                 lambda_dice=1.0, lambda_ce=1.0, label_smoothing=0.0):
        super().__init__()
        _unsupported("DiceCELoss", weight=weight is not None)
        if not (sigmoid or (softmax and to_onehot_y)):
            raise NotImplementedError("segloss.torch.DiceCELoss: sigmoid=True (one channel) or "
                                      "softmax=True with to_onehot_y=True (C > 1) is "
                                      "implemented")
        if reduction == "none":
            raise ValueError("DiceCELoss: reduction='none' is not supported (as MONAI)")
        self._region("DiceCELoss", include_background, to_onehot_y, sigmoid, softmax,
                     other_act, reduction, smooth_nr, smooth_dr, batch)
        self.opts.update(squared=squared_pred, jaccard=jaccard, lambda_dice=lambda_dice)
        self.lambda_ce, self.label_smoothing = lambda_ce, label_smoothing

    def forward(self, input, target):
        c = input.shape[1] if input.dim() >= 3 else 1
        if c == 1 and self.opts["activation"] == "sigmoid":
            if self.label_smoothing:
                raise NotImplementedError("segloss.torch.DiceCELoss: label_smoothing with "
                                          "one channel (BCE)")
            return loss("dice-bce", input, target, reduction=self.reduction,
                        lambda_bce=self.lambda_ce, **self.opts)
        if self.opts["activation"] != "softmax":
            raise NotImplementedError("segloss.torch.DiceCELoss: %d channels need softmax=True "
                                      "and to_onehot_y=True (sigmoid Dice + BCE is one "
                                      "channel)" % c)
        if isinstance(target, torch.Tensor) and target.dim() == input.dim():
            target = target[:, 0]   # MONAI's (N, 1, spatial...) label map
        return loss("dice-ce", input, target, reduction=self.reduction,
                    lambda_ce=self.lambda_ce, label_smoothing=self.label_smoothing,
                    **self.opts)


class _FocalRegionModule(_RegionModule):
    """MONAI's DiceFocalLoss / GeneralizedDiceFocalLoss arguments: the focal
    part is MONAI's sigmoid FocalLoss on the raw input (logits), whatever
    the region part's activation; 'mean' or 'sum' only."""

    def _focal(self, cls, gamma, focal_weight, weight, alpha):
        _unsupported(cls, focal_weight=focal_weight is not None, weight=weight is not None)
        if self.reduction not in ("mean", "sum"):
            raise NotImplementedError("segloss.torch.%s: reduction %r (mean or sum are "
                                      "implemented)" % (cls, self.reduction))
        self.opts.update(gamma=gamma, alpha=-1.0 if alpha is None else alpha)


class DiceFocalLoss(_FocalRegionModule):
    """MONAI DiceFocalLoss: lambda_dice * DiceLoss + lambda_focal * FocalLoss."""
    kind = "dice-focal"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, squared_pred=False, jaccard=False,
                 reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5, batch=False, gamma=2.0,
                 focal_weight=None, weight=None, lambda_dice=1.0, lambda_focal=1.0,
                 alpha=None):
        super().__init__()
        self._region("DiceFocalLoss", include_background, to_onehot_y, sigmoid, softmax,
                     other_act, reduction, smooth_nr, smooth_dr, batch)
        self._focal("DiceFocalLoss", gamma, focal_weight, weight, alpha)
        self.opts.update(squared=squared_pred, jaccard=jaccard, lambda_dice=lambda_dice,
                         lambda_focal=lambda_focal)


class GeneralizedDiceFocalLoss(_FocalRegionModule):
    """MONAI GeneralizedDiceFocalLoss: lambda_gdl * GeneralizedDiceLoss +
    lambda_focal * FocalLoss (no alpha, as MONAI's class)."""
    kind = "generalized-dice-focal"

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, w_type="square", reduction="mean",
                 smooth_nr=1e-5, smooth_dr=1e-5, batch=False, gamma=2.0, focal_weight=None,
                 weight=None, lambda_gdl=1.0, lambda_focal=1.0):
        super().__init__()
        self._region("GeneralizedDiceFocalLoss", include_background, to_onehot_y, sigmoid,
                     softmax, other_act, reduction, smooth_nr, smooth_dr, batch)
        self._focal("GeneralizedDiceFocalLoss", gamma, focal_weight, weight, None)
        self.opts.update(w_type=str(w_type).lower(), lambda_gdl=lambda_gdl,
                         lambda_focal=lambda_focal)


class MCCLoss(_Module):
    """smp MCCLoss (segmentation_models_pytorch.losses.MCCLoss): 1 - the
    Matthews correlation of probabilities y_pred against a 0/1 y_true, one
    value over the whole batch, eps added to tp, fp, fn, tn."""
    kind = "mcc"

    def __init__(self, eps=1e-5):
        super().__init__()
        self.reduction = "mean"
        self.opts = dict(eps=eps, activation="none")


class _HausdorffModule(_Module):
    def __init__(self, alpha=2.0, include_background=False, to_onehot_y=False, sigmoid=False,
                 softmax=False, other_act=None, reduction="mean", batch=False):
        super().__init__()
        cls = type(self).__name__
        _unsupported(cls, other_act=other_act)
        if sigmoid and softmax:
            raise ValueError("sigmoid=True and softmax=True are not compatible (as MONAI)")
        if to_onehot_y != bool(softmax):
            raise NotImplementedError("segloss.torch.%s: class-index targets go with "
                                      "softmax=True and to_onehot_y=True" % cls)
        self.reduction = reduction
        self.opts = dict(activation="sigmoid" if sigmoid else "softmax" if softmax else "none",
                         alpha=alpha, include_background=include_background, batch=batch)

    def forward(self, input, target):
        if self.opts["activation"] == "softmax" and isinstance(target, torch.Tensor) and \
                target.dim() == input.dim():
            target = target[:, 0]
        return super().forward(input, target)   # 'none': the (N, C') item losses


class HausdorffDTLoss(_HausdorffModule):
    """MONAI HausdorffDTLoss (the distance maps are constants, as MONAI
    computes them under no_grad)."""
    kind = "hausdorff-dt"


class LogHausdorffDTLoss(_HausdorffModule):
    """MONAI LogHausdorffDTLoss: log(HausdorffDTLoss + 1)."""
    kind = "log-hausdorff-dt"


class AsymmetricUnifiedFocalLoss(_Module):
    """MONAI AsymmetricUnifiedFocalLoss (binary): probabilities y_pred of
    shape (N, 2, spatial...), channel 1 the foreground, against a dense
    y_true of the same shape; one channel p is read as (1 - p, p) (MONAI
    one-hots the prediction itself there, which has no gradient). The
    parts are means already, so every reduction gives the one value, as in
    MONAI."""
    kind = "unified-focal"

    def __init__(self, to_onehot_y=False, num_classes=2, weight=0.5, gamma=0.5, delta=0.7,
                 reduction="mean"):
        super().__init__()
        _unsupported("AsymmetricUnifiedFocalLoss", to_onehot_y=to_onehot_y)
        if num_classes != 2:
            raise NotImplementedError("segloss.torch.AsymmetricUnifiedFocalLoss: num_classes=%r "
                                      "(binary only, as MONAI)" % (num_classes,))
        if reduction not in ("mean", "sum", "none"):
            raise ValueError("Unsupported reduction: %r" % (reduction,))
        self.reduction = "mean"
        self.opts = dict(weight=weight, gamma=gamma, delta=delta, activation="none")


class GeneralizedWassersteinDiceLoss(_Module):
    """MONAI GeneralizedWassersteinDiceLoss: logits (N, C, spatial...),
    softmax inside, class-index target (N, 1, spatial...) or (N,
    spatial...), dist_matrix C x C (NumPy array or tensor). Each image's
    own loss (MONAI 1.5.0 mixes the images of a batch, its issue #4650);
    'none' gives the N image losses."""
    kind = "gwdl"

    def __init__(self, dist_matrix, weighting_mode="default", reduction="mean", smooth_nr=1e-5,
                 smooth_dr=1e-5):
        super().__init__()
        m = _numpy(dist_matrix, "dist_matrix").astype(np.float32)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError("dist_matrix must be C x C, got %s" % (m.shape,))
        if weighting_mode not in ("default", "GDL"):
            raise ValueError("weighting_mode must be either 'default' or 'GDL', got %s"
                             % (weighting_mode,))
        self.reduction = reduction
        self.opts = dict(distance_matrix=m, weighting_mode=weighting_mode, smooth_nr=smooth_nr,
                         smooth_dr=smooth_dr)

    def forward(self, input, target):
        if isinstance(target, torch.Tensor) and target.dim() == input.dim():
            target = target[:, 0]
        return super().forward(input, target)


class FocalLoss(_Module):
    """MONAI FocalLoss (sigmoid form; alpha=None: no alpha factor), the
    torchvision sigmoid_focal_loss formula. 'mean' averages all elements;
    'sum' is MONAI's: the mean over the spatial axes, summed over N and C."""
    kind = "focal"

    def __init__(self, include_background=True, to_onehot_y=False, gamma=2.0, alpha=None,
                 weight=None, reduction="mean", use_softmax=False):
        super().__init__()
        _unsupported("FocalLoss", include_background=not include_background,
                     to_onehot_y=to_onehot_y, weight=weight is not None,
                     use_softmax=use_softmax)
        self.reduction = reduction
        self.opts = dict(gamma=gamma, alpha=-1.0 if alpha is None else alpha)

    def forward(self, input, target):
        out = super().forward(input, target)
        if self.reduction == "sum" and input.dim() > 2:
            out = out / float(np.prod(input.shape[2:]))
        return out


class BCEWithLogitsLoss(_Module):
    """torch.nn.BCEWithLogitsLoss (weight and pos_weight tensors broadcast as
    PyTorch broadcasts them)."""
    kind = "bce-logits"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__()
        _unsupported("BCEWithLogitsLoss", size_average=size_average is not None,
                     reduce=reduce is not None)
        self.reduction = reduction
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def _opts(self, input, target):
        o = {}
        if self.weight is not None:
            o["weight"] = _numpy(self.weight, "weight")
        if getattr(self, "pos_weight", None) is not None:
            o["pos_weight"] = _numpy(self.pos_weight, "pos_weight")
        return o


class BCELoss(BCEWithLogitsLoss):
    """torch.nn.BCELoss (probabilities in [0,1])."""
    kind = "bce"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)


class CrossEntropyLoss(_Module):
    """torch.nn.CrossEntropyLoss with class-index targets."""
    kind = "ce"

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__()
        _unsupported("CrossEntropyLoss", size_average=size_average is not None,
                     reduce=reduce is not None)
        self.reduction = reduction
        self.register_buffer("weight", weight)
        self.opts = dict(ignore_index=ignore_index, label_smoothing=label_smoothing)

    def _opts(self, input, target):
        o = dict(self.opts)
        if self.weight is not None:
            o["class_weight"] = _numpy(self.weight, "weight").tolist()
        return o


# ---- issue 13: clDice (MONAI monai/losses/cldice.py) -------------------------
class SoftclDiceLoss(_Module):
    """MONAI SoftclDiceLoss(iter_, smooth): soft clDice of probabilities
    y_pred against y_true, one value over the batch and channels 1..C-1.
    forward(y_true, y_pred): MONAI's argument order (the target first)."""
    kind = "cldice"

    def __init__(self, iter_=3, smooth=1.0):
        super().__init__()
        self.reduction = "mean"
        self.opts = dict(iter=int(iter_), smooth=float(smooth), activation="none")

    def forward(self, y_true, y_pred):
        return super().forward(y_pred, y_true)


class SoftDiceclDiceLoss(SoftclDiceLoss):
    """MONAI SoftDiceclDiceLoss(iter_, alpha, smooth): (1 - alpha) soft Dice
    + alpha clDice; forward(y_true, y_pred) as MONAI."""
    kind = "dice-cldice"

    def __init__(self, iter_=3, alpha=0.5, smooth=1.0):
        super().__init__(iter_, smooth)
        self.opts["alpha"] = float(alpha)


__all__ += ["SoftclDiceLoss", "SoftDiceclDiceLoss"]
