"""The options structs of the loss kinds, built from the keywords.

GROUPS maps the option groups of the CLI (in snake_case) to the keywords
they bring; each builder turns the keywords of one call (and the arrays
_loss._prepare made of them: weight, pos_weight, class_weight, distance
matrix) into the C options struct of its kind (_lib's mirrors).
"""
import math

import numpy as np

from . import _arrays, _lib
from ._errors import Error

fn = _lib.fn


# Option groups -> the keyword names they bring (the CLI's long options).
GROUPS = {
    "weight": ("weight",),
    "pos_weight": ("pos_weight",),
    "ignore": ("ignore_index",),
    "region": ("activation", "smooth_nr", "smooth_dr", "batch", "no_background"),
    "dice": ("squared", "jaccard"),
    "smp": ("smp", "smp_version", "log_loss"),
    "tversky": ("alpha", "beta", "gamma"),
    "gdice": ("w_type",),
    "dice_bce": ("lambda_dice", "lambda_bce"),
    "focal": ("alpha", "gamma"),
    "ce": ("class_weight", "label_smoothing"),
    "lovasz": ("per_image",),
    "dice_ce": ("lambda_dice", "lambda_ce", "label_smoothing", "nnunet"),
    "dice_focal": ("gamma", "alpha", "lambda_dice", "lambda_focal"),
    "gdice_focal": ("lambda_gdl",),
    "mcc": ("activation", "eps"),
    "topk": ("k",),
    "hd": ("activation", "batch", "include_background", "alpha"),
    "boundary": ("activation", "no_background"),
    # issue 13, clDice
    "cldice": ("activation", "iter", "smooth", "include_background"),
    "dice_cldice": ("alpha",),
    "unified_focal": ("activation", "weight", "delta", "gamma"),
    "gwdl": ("distance_matrix", "weighting_mode", "smooth_nr", "smooth_dr"),
}


def _choice(table, value, name):
    try:
        return table[value]
    except (KeyError, TypeError):
        raise Error("invalid %s %r (expected %s)" % (name, value, ", ".join(table)),
                    _lib.ERR_ARG) from None


def _ignore(kw, default=_lib.IGNORE_NONE):
    v = kw.get("ignore_index")
    if v is None:
        return default
    if not (isinstance(v, (int, np.integer)) or (isinstance(v, float) and v == math.floor(v))):
        raise Error("ignore_index must be an integer, got %r" % (v,), _lib.ERR_ARG)
    return int(v)


# ---- options structs, from the keywords and the prepared arrays --------------
def _bce(kw, arr):
    o = fn.bce_opts_default()
    o.weight, o.pos_weight = arr["weight"], arr["pos_weight"]
    o.ignore_index = _ignore(kw)
    return o


def _focal(kw, arr):
    o = fn.focal_opts_default()
    o.weight = arr["weight"]
    o.alpha = float(kw.get("alpha", o.alpha))
    o.gamma = float(kw.get("gamma", o.gamma))
    o.ignore_index = _ignore(kw)
    return o


def _ce(kw, arr):
    o = fn.ce_opts_default()
    o.class_weight = arr["class_weight"]
    o.ignore_index = _ignore(kw, o.ignore_index)
    o.label_smoothing = float(kw.get("label_smoothing", 0.0))
    return o


def _lovasz(kw, arr):
    o = fn.lovasz_opts_default()
    o.per_image = int(bool(kw.get("per_image", False)))
    o.ignore_index = _ignore(kw)
    return o


def _dice(kw, arr):
    o = fn.dice_opts_default()
    o.activation = _choice(_lib.ACTIVATIONS, kw.get("activation", "sigmoid"), "activation")
    for flag in ("squared", "jaccard", "batch", "no_background", "log_loss"):
        setattr(o, flag, int(bool(kw.get(flag, False))))
    smp = kw.get("smp_version") or kw.get("smp", False)
    if smp is True:
        smp = "current"
    o.smp = _choice(_lib.SMP_VERSIONS, smp, "smp version") if smp else 0
    # A smoothing term not given keeps its default: MONAI's, or smp's 0.
    o.smooth_nr = float(kw.get("smooth_nr", 0.0 if o.smp else o.smooth_nr))
    o.smooth_dr = float(kw.get("smooth_dr", 0.0 if o.smp else o.smooth_dr))
    o.ignore_index = _ignore(kw)
    return o


def _tversky(kw, arr):
    o = fn.tversky_opts_default()
    o.region = _dice(kw, arr)
    for k in ("alpha", "beta", "gamma"):
        setattr(o, k, float(kw.get(k, getattr(o, k))))
    return o


def _gdice(kw, arr):
    o = fn.generalized_dice_opts_default()
    o.region = _dice(kw, arr)
    o.w_type = _choice(_lib.W_TYPES, kw.get("w_type", "square"), "w_type")
    return o


def _dice_bce(kw, arr):
    o = fn.dice_bce_opts_default()
    o.dice = _dice(kw, arr)
    o.pos_weight = arr["pos_weight"]
    o.lambda_dice = float(kw.get("lambda_dice", o.lambda_dice))
    o.lambda_bce = float(kw.get("lambda_bce", o.lambda_bce))
    return o


def _dice_ce(kw, arr):
    o = fn.dice_ce_opts_default()
    o.dice = _dice(kw, arr)
    o.nnunet = int(bool(kw.get("nnunet", False)))
    if o.nnunet:
        o.dice.no_background = 1      # nnU-Net's do_bg=False
    for k in ("lambda_dice", "lambda_ce", "label_smoothing"):
        setattr(o, k, float(kw.get(k, getattr(o, k))))
    return o


def _focal_part(o, kw, lambdas):
    for k in ("gamma", "alpha") + lambdas:
        setattr(o, k, float(kw.get(k, getattr(o, k))))
    return o


def _dice_focal(kw, arr):
    o = fn.dice_focal_opts_default()
    o.dice = _dice(kw, arr)
    return _focal_part(o, kw, ("lambda_dice", "lambda_focal"))


def _gdice_focal(kw, arr):
    o = fn.generalized_dice_focal_opts_default()
    o.gdice = _gdice(kw, arr)
    return _focal_part(o, kw, ("lambda_gdl", "lambda_focal"))


def _mcc(kw, arr):
    o = fn.mcc_opts_default()
    o.activation = _choice({"none": 1, "sigmoid": 0}, kw.get("activation", "none"),
                           "activation")
    o.eps = float(kw.get("eps", o.eps))
    return o


def _topk(kw, arr):
    o = fn.topk_ce_opts_default()
    o.ce = _ce(kw, arr)
    o.k = float(kw.get("k", o.k))
    return o


def _hd(log):
    def build(kw, arr):
        o = fn.hausdorff_dt_opts_default()
        o.activation = _choice(_lib.ACTIVATIONS, kw["activation"], "activation")
        o.batch = int(bool(kw.get("batch", False)))
        o.no_background = int(not kw.get("include_background", False))
        o.alpha = float(kw.get("alpha", o.alpha))
        o.log = log
        return o
    return build


def _boundary(kw, arr):
    o = fn.boundary_opts_default()
    o.activation = _choice(_lib.ACTIVATIONS, kw["activation"], "activation")
    o.no_background = int(bool(kw.get("no_background", False)))
    return o


def _cldice(kw, arr):
    o = fn.dice_cldice_opts_default()
    c = o.cldice
    c.activation = _choice(_lib.ACTIVATIONS, kw["activation"], "activation")
    c.iter = int(kw.get("iter", c.iter))
    c.smooth = float(kw.get("smooth", c.smooth))
    c.no_background = int(not kw.get("include_background", False))
    o.alpha = float(kw.get("alpha", o.alpha))
    return o


def _cldice_only(kw, arr):
    return _cldice(kw, arr).cldice


def _unified_focal(kw, arr):
    o = fn.unified_focal_opts_default()
    o.activation = _choice(_lib.ACTIVATIONS, kw["activation"], "activation")
    for f in ("weight", "delta", "gamma"):
        setattr(o, f, float(kw.get(f, getattr(o, f))))
    return o


def _gwdl(kw, arr):
    o = fn.gwdl_opts_default()
    m = arr.get("distance_matrix")
    if m is None:
        raise Error("loss gwdl: missing distance_matrix (C x C)", _lib.ERR_ARG)
    o.dist_matrix = _arrays.f32p(m)
    o.num_classes = m.shape[0]
    o.weighting_mode = _choice({"default": 0, "GDL": 1}, kw.get("weighting_mode", "default"),
                               "weighting_mode")
    o.smooth_nr = float(kw.get("smooth_nr", o.smooth_nr))
    o.smooth_dr = float(kw.get("smooth_dr", o.smooth_dr))
    return o


def _set_reduction(o, red):
    """The reduction field of an options struct, wherever it nests (none:
    a loss that is one value, mean only)."""
    while not hasattr(o, "reduction"):
        if not any(hasattr(o, f) for f in ("dice", "gdice", "region", "ce")):
            return
        o = next(getattr(o, f) for f in ("dice", "gdice", "region", "ce") if hasattr(o, f))
    o.reduction = red
