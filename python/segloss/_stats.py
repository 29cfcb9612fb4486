"""segloss.region_stats / loss_from_stats / backward_from_stats: the region
losses (dice, jaccard, tversky, generalized-dice) over a batch split across
ranks (processes or devices).

Each is a function of per-group sums I = sum p*y, P = sum p, G = sum y
(group: image n and kept channel c, or c alone with batch or smp). Rank r,
holding images [n_offset, n_offset + N) of a batch of n_total:

    s = segloss.region_stats(kind, x, y, n_total=T, n_offset=o, **opts)
    all-reduce (sum) s across the ranks
    loss = segloss.loss_from_stats(kind, s, x.shape, n_total=T, n_offset=o, **opts)
    grad = segloss.backward_from_stats(kind, s, x, y, n_total=T, n_offset=o, **opts)

gives every rank the batch loss and its slice of the batch gradient, equal
to one process holding the whole batch up to the order of the double
additions across ranks. Options and reductions are those of segloss.loss.
"""
import ctypes

import numpy as np

from . import _arrays, _lib, _loss, _loss_opts
from ._errors import Error, check

fn = _lib.fn
P = _lib.P

# kind -> its C family; the statistics take the region options (dice_opts).
LIBS = {"dice": "dice", "jaccard": "jaccard", "tversky": "tversky",
        "generalized-dice": "generalized_dice"}
_FROM = {}
for _kind, _name in LIBS.items():
    _opts = _loss.KINDS[_kind].struct
    _FROM[_kind] = (
        _lib.bind(_name + "_loss_from_stats", ctypes.c_int,
                  [P(ctypes.c_double), _lib.F32P, P(ctypes.c_double), P(_lib.shape), P(_opts),
                   P(_lib.batch_part)]),
        _lib.bind(_name + "_backward_from_stats", ctypes.c_int,
                  [_lib.F32P, _lib.F32P, P(_lib.target), P(_lib.shape), P(_opts),
                   P(_lib.batch_part), P(ctypes.c_double), _lib.F32P]))
_lib.bind("region_stats_count", ctypes.c_int,
          [P(ctypes.c_int64), P(_lib.shape), P(_lib.dice_opts), P(_lib.batch_part)])
_lib.bind("region_stats", ctypes.c_int,
          [P(ctypes.c_double), _lib.F32P, P(_lib.target), P(_lib.shape), P(_lib.dice_opts),
           P(_lib.batch_part)])


def _kind(kind):
    if kind not in LIBS:
        raise Error("statistics: kind %r has none (one of: %s)" % (kind, ", ".join(LIBS)),
                    _lib.ERR_ARG)


def _part(xs, n_total, n_offset):
    n = xs[0] if len(xs) >= 3 else 1
    return _lib.batch_part(int(n if n_total is None else n_total), int(n_offset))


def _region(o):
    return o.region if hasattr(o, "region") else o


def _count(xs, o, part, kind):
    c = ctypes.c_int64()
    shp = _arrays.shape_of(np.empty(xs, np.uint8))
    check(fn.region_stats_count(ctypes.byref(c), ctypes.byref(shp), ctypes.byref(_region(o)),
                                ctypes.byref(part)), "region_stats " + kind)
    return c.value


def region_stats(kind, input, target, *, n_total=None, n_offset=0, **opts):
    """This rank's part of the batch statistics: a float64 array of 3
    values (I, P, G) per global group, zero outside this rank's groups (with
    batch or smp: its sums). n_total: the batch's image count (default this
    input's N: one rank); n_offset: this rank's first image."""
    _kind(kind)
    k, o, x, t, tcode, index, opts, red, keep = _loss.setup(kind, input, target, "mean", opts)
    part = _part(x.shape, n_total, n_offset)
    out = np.zeros(max(_count(x.shape, o, part, kind), 1), np.float64)
    tgt = _lib.target(t.ctypes.data, tcode)
    shp = _arrays.shape_of(x)
    check(fn.region_stats(out.ctypes.data_as(P(ctypes.c_double)), _arrays.f32p(x),
                          ctypes.byref(tgt), ctypes.byref(shp), ctypes.byref(_region(o)),
                          ctypes.byref(part)), "region_stats " + kind)
    return out


def _stats_array(stats, xs, o, part, kind):
    s = _arrays.contiguous(np.asarray(stats), np.float64)
    want = _count(xs, o, part, kind)
    if s.size != want:
        raise Error("stats has %d values; %s of an input %s with n_total %d takes %d"
                    % (s.size, kind, xs, part.n_total, want), _lib.ERR_SHAPE)
    return s


def _batch_shape(xs, part):
    return ((part.n_total,) + tuple(xs[1:])) if len(xs) >= 3 else tuple(xs)


def loss_from_stats(kind, stats, shape, *, n_total=None, n_offset=0, reduction="mean", **opts):
    """The batch loss from the all-reduced statistics: a float (mean, sum)
    or the batch's item losses (none). shape: this rank's input shape."""
    _kind(kind)
    xs = tuple(int(v) for v in shape)
    k, opts = _loss.check_kind(kind, opts, reduction, xs)
    o = k.opts(opts, {})
    red = _loss_opts._choice(_lib.REDUCTIONS, reduction, "reduction")
    _loss_opts._set_reduction(o, red)
    part = _part(xs, n_total, n_offset)
    s = _stats_array(stats, xs, o, part, kind)
    elems = np.empty(k.out_shape(k, _batch_shape(xs, part), o), np.float32) if red == 2 \
        else None
    value = ctypes.c_double()
    shp = _arrays.shape_of(np.empty(xs, np.uint8))
    check(_FROM[kind][0](ctypes.byref(value), _arrays.f32p(elems) if elems is not None else None,
                         s.ctypes.data_as(P(ctypes.c_double)), ctypes.byref(shp),
                         ctypes.byref(o), ctypes.byref(part)), "loss_from_stats " + kind)
    return elems if red == 2 else value.value


def backward_from_stats(kind, stats, input, target, *, n_total=None, n_offset=0,
                        reduction="mean", grad_out=None, **opts):
    """This rank's gradient of the batch loss (float32, the input's shape)
    from the all-reduced statistics; grad_out: the upstream gradient (a
    scalar, or with 'none' the batch's whole item array; default ones)."""
    _kind(kind)
    k, o, x, t, tcode, index, opts, red, keep = _loss.setup(kind, input, target, reduction,
                                                            opts)
    part = _part(x.shape, n_total, n_offset)
    s = _stats_array(stats, x.shape, o, part, kind)
    items = k.out_shape(k, _batch_shape(x.shape, part), o) if red == 2 else ()
    go = None
    if grad_out is not None or red == 2:
        go = _arrays.contiguous(np.broadcast_to(np.asarray(1.0 if grad_out is None
                                                           else grad_out, np.float32),
                                                items))
    g = np.empty(x.shape, np.float32)
    tgt = _lib.target(t.ctypes.data, tcode)
    shp = _arrays.shape_of(x)
    check(_FROM[kind][1](_arrays.f32p(g), _arrays.f32p(x), ctypes.byref(tgt), ctypes.byref(shp),
                         ctypes.byref(o), ctypes.byref(part),
                         s.ctypes.data_as(P(ctypes.c_double)),
                         _arrays.f32p(go) if go is not None else None),
          "backward_from_stats " + kind)
    return g
