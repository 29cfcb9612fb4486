#!/usr/bin/python3
"""Reference values for segloss's core losses, from PyTorch in float64.

Run with Debian's Python, which has torch and numpy:

    /usr/bin/python3 tools/ref/gen_core_ref.py > tests/data/core_ref.txt

The output is deterministic (fixed seeds; no torch randomness is used).
tests/test_ref_core.c reads it and checks segloss against it.

What is computed
----------------
Every input is first rounded to float32 (what segloss receives); the
reference is then computed in float64 PyTorch from those float32 values:

  sigmoid     torch.sigmoid, and its gradient for an upstream array
  bce         torch.nn.BCELoss(weight, reduction)
  bce_logits  torch.nn.BCEWithLogitsLoss(weight, pos_weight, reduction)
  dice        MONAI's DiceLoss forward (sigmoid or no activation, squared_pred,
              jaccard, batch, smooth_nr, smooth_dr, reduction), re-implemented
              below line for line from MONAI's source because MONAI is not
              installed; autograd gives the gradient.

Gradients are d(reduced loss)/d(input) by autograd, for the upstream gradient
given in the case (1 when absent; for reduction none an array).

PyTorch's own float64 BCE-with-logits is not exact everywhere: it evaluates
(1-y)x + max(-x,0) + log(exp(-max(-x,0)) + exp(-x-max(-x,0))), which cancels
for y = 0, x << 0 and rounds log(1 + e^-x) to 0 for x > ~37. Against exact
values it is off by up to ~3e-7 relative near |x| = 20 and by ~1e-16
absolute beyond; the C test's tolerances (2e-5 relative + 1e-12 absolute)
absorb both.

File format (line oriented, whitespace separated, '#' starts a comment line)
--------------------------------------------------------------------------
    case NAME
    op sigmoid|bce|bce_logits|dice
    shape NDIM D0 D1 ...
    x ARRAY                        input (logits or probabilities), float32
    target DTYPE ARRAY             DTYPE: f32 f64 u8 bool i64 (not for sigmoid)
    weight NDIM D... ARRAY         optional, float32, broadcast (right-aligned)
    pos_weight NDIM D... ARRAY     optional (bce_logits), float32, right-aligned
    reduction mean|sum|none        (not for sigmoid)
    dice SQUARED JACCARD BATCH ACT CUSTOM SNR SDR
                                   dice only: 0/1 flags, ACT sigmoid|none,
                                   CUSTOM 0/1 (0: MONAI defaults 1e-5), smooths
    grad_out ARRAY                 optional upstream gradient, float32: one
                                   value for mean/sum, the loss's shape for
                                   none and for sigmoid; absent = 1
    loss VALUE                     reduced loss (none: the sum of the array)
    elems ARRAY                    reduction none: the loss array (dice: N*C or
                                   C items); sigmoid: the output
    grad ARRAY                     d loss / d x, input's shape
    end

ARRAY is one of
    v N X1 ... XN            the N values
    r N SEED A B             X_i = A + (B - A) * U_i, in double arithmetic,
                             then rounded to the array's element type
                             (float32, or kept for f64 targets)
    m N SEED P               X_i = 1 if U_i < P else 0
    s N MAXABS K I1 X1 ... IK XK
                             sparse (references only): K of the N values, at
                             flat indices I; MAXABS = max |X| over all N
where U_i = (splitmix64_i >> 40) * 2^-24, splitmix64_i the i-th output
(i = 0, 1, ...) of splitmix64 seeded with SEED. Float32 values are printed
with 9 significant digits (exact round trip through strtof), float64 ones
with 17.
"""
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
MASK = (1 << 64) - 1
F64 = torch.float64


# --------------------------------------------------------------------------
# Deterministic stream shared with the C test.
# --------------------------------------------------------------------------
def uniform_stream(seed, n):
    s = seed & MASK
    out = []
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out.append((z >> 40) * 2.0 ** -24)
    return out


class Arr:
    """An array as written to the file, with its values as float64 numpy."""

    def __init__(self, spec, values):
        self.spec = spec
        self.values = values


def arr_v(values, kind='f32'):
    a = np.asarray(values, dtype=np.float64).ravel()
    if kind == 'f32':
        a = a.astype(np.float32).astype(np.float64)
        txt = ' '.join(fmt32(v) for v in a)
    elif kind == 'f64':
        txt = ' '.join(fmt64(v) for v in a)
    else:
        txt = ' '.join(str(int(v)) for v in a)
    return Arr('v %d %s' % (a.size, txt), a)


def arr_r(n, seed, a, b, kind='f32'):
    a, b = float(a), float(b)
    vals = np.array([a + (b - a) * u for u in uniform_stream(seed, n)], dtype=np.float64)
    if kind == 'f32':
        vals = vals.astype(np.float32).astype(np.float64)
    return Arr('r %d %d %s %s' % (n, seed, repr(a), repr(b)), vals)


def arr_m(n, seed, p):
    vals = np.array([1.0 if u < p else 0.0 for u in uniform_stream(seed, n)])
    return Arr('m %d %d %s' % (n, seed, repr(float(p))), vals)


def fmt32(v):
    v = float(np.float32(v))
    if np.isnan(v):
        return 'nan'
    if np.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return '%.9g' % v


def fmt64(v):
    v = float(v)
    if np.isnan(v):
        return 'nan'
    if np.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return '%.17g' % v


def ref_array(values, block_edges=True):
    """Full array when small, else a sparse sample (block edges, ends, argmax)."""
    a = np.asarray(values, dtype=np.float64).ravel()
    n = a.size
    if n <= 512:
        return 'v %d %s' % (n, ' '.join('%.9g' % v if np.isfinite(v) else fmt64(v) for v in a))
    idx = set(range(0, 8)) | set(range(n - 8, n))
    for k in range(8192, n, 8192):
        idx |= set(range(k - 3, k + 3))
    rng = np.random.default_rng(n)
    idx |= set(int(i) for i in rng.integers(0, n, 96))
    idx.add(int(np.nanargmax(np.abs(a))))
    idx = sorted(i for i in idx if 0 <= i < n)
    maxabs = float(np.nanmax(np.abs(a)))
    body = ' '.join('%d %.9g' % (i, a[i]) for i in idx)
    return 's %d %.9g %d %s' % (n, maxabs, len(idx), body)


# --------------------------------------------------------------------------
# MONAI DiceLoss forward (monai/losses/dice.py, DiceLoss.forward), restricted
# to sigmoid / no activation, include_background=True, no one-hot, no weight.
# --------------------------------------------------------------------------
def monai_dice_loss(inp, target, sigmoid, squared_pred, jaccard, batch, smooth_nr,
                    smooth_dr, reduction):
    if sigmoid:
        inp = torch.sigmoid(inp)
    reduce_axis = torch.arange(2, len(inp.shape)).tolist()
    if batch:
        reduce_axis = [0] + reduce_axis
    intersection = torch.sum(target * inp, dim=reduce_axis)
    if squared_pred:
        ground_o = torch.sum(target ** 2, dim=reduce_axis)
        pred_o = torch.sum(inp ** 2, dim=reduce_axis)
    else:
        ground_o = torch.sum(target, dim=reduce_axis)
        pred_o = torch.sum(inp, dim=reduce_axis)
    denominator = ground_o + pred_o
    if jaccard:
        denominator = 2.0 * (denominator - intersection)
    f = 1.0 - (2.0 * intersection + smooth_nr) / (denominator + smooth_dr)
    if reduction == 'mean':
        f = torch.mean(f)
    elif reduction == 'sum':
        f = torch.sum(f)
    elif reduction == 'none':
        pass  # MONAI views it as (N, C, 1, ...); the values in C order are the same
    else:
        raise ValueError(reduction)
    return f


# --------------------------------------------------------------------------
# Case writer
# --------------------------------------------------------------------------
out_lines = []
counts = {}


def emit(line):
    out_lines.append(line)


def t64(arr, shape):
    return torch.tensor(arr.values, dtype=F64).reshape(shape)


def write_case(name, op, shape, x, target=None, tdtype='f32', weight=None, pos_weight=None,
               reduction='mean', dice=None, grad_out=None):
    """weight / pos_weight: (shape tuple, Arr). dice: dict of options."""
    shape = tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    assert x.values.size == n, name
    xt = t64(x, shape).requires_grad_(True)
    emit('case %s' % name)
    emit('op %s' % op)
    emit('shape %d %s' % (len(shape), ' '.join(str(d) for d in shape)))
    emit('x ' + x.spec)
    if op == 'sigmoid':
        y = torch.sigmoid(xt)
        up = t64(grad_out, shape) if grad_out is not None else torch.ones(shape)
        y.backward(up)
        if grad_out is not None:
            emit('grad_out ' + grad_out.spec)
        emit('elems ' + ref_array(y.detach().numpy()))
        emit('grad ' + ref_array(xt.grad.numpy()))
        emit('end')
        counts[op] = counts.get(op, 0) + 1
        return
    assert target.values.size == n, name
    yt = t64(target, shape)
    emit('target %s %s' % (tdtype, target.spec))
    w = pw = None
    if weight is not None:
        wshape, warr = weight
        w = t64(warr, wshape)
        emit('weight %d %s %s' % (len(wshape), ' '.join(str(d) for d in wshape), warr.spec))
    if pos_weight is not None:
        pshape, parr = pos_weight
        pw = t64(parr, pshape)
        emit('pos_weight %d %s %s' % (len(pshape), ' '.join(str(d) for d in pshape), parr.spec))
    emit('reduction %s' % reduction)
    if op == 'bce':
        lossv = torch.nn.BCELoss(weight=w, reduction=reduction)(xt, yt)
    elif op == 'bce_logits':
        lossv = torch.nn.BCEWithLogitsLoss(weight=w, pos_weight=pw, reduction=reduction)(xt, yt)
    elif op == 'dice':
        d = dict(squared=0, jaccard=0, batch=0, act='sigmoid', custom=0, snr=1e-5, sdr=1e-5)
        d.update(dice or {})
        if not d['custom']:
            d['snr'] = d['sdr'] = 1e-5
        emit('dice %d %d %d %s %d %s %s' % (d['squared'], d['jaccard'], d['batch'], d['act'],
                                           d['custom'], repr(float(d['snr'])),
                                           repr(float(d['sdr']))))
        # segloss reads ndim <= 2 as one image: N = C = 1.
        shp = shape if len(shape) >= 3 else (1, 1) + shape
        lossv = monai_dice_loss(xt.reshape(shp), yt.reshape(shp), d['act'] == 'sigmoid',
                                d['squared'], d['jaccard'], d['batch'], d['snr'], d['sdr'],
                                reduction)
    else:
        raise ValueError(op)
    if reduction == 'none':
        up = (t64(grad_out, lossv.shape) if grad_out is not None
              else torch.ones(lossv.shape))
    else:
        up = torch.tensor(grad_out.values[0] if grad_out is not None else 1.0, dtype=F64)
    lossv.backward(up)
    if grad_out is not None:
        emit('grad_out ' + grad_out.spec)
    lv = lossv.detach()
    emit('loss %s' % fmt64(lv.sum().item()))
    if reduction == 'none':
        emit('elems ' + ref_array(lv.numpy()))
    emit('grad ' + ref_array(xt.grad.numpy()))
    emit('end')
    counts[op] = counts.get(op, 0) + 1


def up_for(reduction, nloss, seed):
    """An upstream gradient: random array for none, 0.5 for the others."""
    if reduction == 'none':
        return arr_r(nloss, seed, -1.5, 1.5)
    return arr_v([0.5])


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------
REDS = ['mean', 'sum', 'none']


def seed_example():
    # SPEC section 1: 2x2 logits, identity target.
    x = arr_v([0.6455, 0.3470, 0.4777, 0.7547])
    y = arr_v([1, 0, 0, 1])
    write_case('seed_bce_logits', 'bce_logits', (2, 2), x, y)
    write_case('seed_sigmoid', 'sigmoid', (2, 2), x)
    p = torch.sigmoid(torch.tensor(x.values)).numpy()
    write_case('seed_bce_on_sigmoid', 'bce', (2, 2), arr_v(p), y)
    write_case('seed_dice', 'dice', (2, 2), x, y)
    for tdt in ('u8', 'bool', 'i64', 'f64'):
        write_case('seed_bce_logits_target_' + tdt, 'bce_logits', (2, 2), x,
                   arr_v([1, 0, 0, 1], 'int' if tdt != 'f64' else 'f64'), tdtype=tdt)


def sigmoid_cases():
    ext = [0.0, -0.0, 1e-8, -1e-8, 0.5, -2.0, 20, -20, 88, -88, 100, -100, 1e4, -1e4,
           3e38, -3e38, float('inf'), float('-inf'), 16.6, -16.6, 17.0, -103.0, -87.3, 9.0]
    write_case('sigmoid_extreme', 'sigmoid', (len(ext),), arr_v(ext),
               grad_out=arr_r(len(ext), 11, -2, 2))
    write_case('sigmoid_random_3x5', 'sigmoid', (3, 5), arr_r(15, 12, -12, 12),
               grad_out=arr_r(15, 13, -1, 1))
    write_case('sigmoid_random_20001', 'sigmoid', (20001,), arr_r(20001, 14, -30, 30),
               grad_out=arr_r(20001, 15, -1, 1))


def bce_logits_cases():
    vals = [1e-8, -1e-8, 20, -20, 88, -88, 100, -100, 1e4, -1e4, 3e38, -3e38, 0.0, 2.5, -2.5]
    xs, ys = [], []
    for t in (0.0, 1.0, 0.5, 0.25):
        xs += vals
        ys += [t] * len(vals)
    n = len(xs)
    for red in REDS:
        write_case('bcel_extreme_' + red, 'bce_logits', (4, len(vals)), arr_v(xs), arr_v(ys),
                   reduction=red, grad_out=up_for(red, n, 20))
    # moderately extreme with weight and pos_weight (no +-3e38: a weighted
    # loss element above FLT_MAX would overflow the float32 loss array)
    mvals = [1e-8, -1e-8, 20, -20, 88, -88, 100, -100, 1e4, -1e4, 0.0, 3.0]
    xs, ys = [], []
    for t in (0.0, 1.0, 0.7):
        xs += mvals
        ys += [t] * len(mvals)
    for red in REDS:
        write_case('bcel_extreme_weighted_' + red, 'bce_logits', (3, len(mvals)), arr_v(xs),
                   arr_v(ys), weight=((len(mvals),), arr_r(len(mvals), 21, 0.25, 2.0)),
                   pos_weight=((3, 1), arr_v([0.5, 3.0, 1.75])), reduction=red,
                   grad_out=up_for(red, len(xs), 22))
    # ranks 0-5, odd lengths, soft / hard targets, every reduction
    shapes = [(), (7,), (3, 5), (2, 3, 5), (2, 3, 5, 7), (2, 1, 3, 3, 5), (1,), (1, 1, 1)]
    seed = 100
    for shp in shapes:
        n = int(np.prod(shp)) if shp else 1
        for red in REDS:
            seed += 3
            soft = seed % 2 == 0
            y = arr_r(n, seed + 1, 0, 1) if soft else arr_m(n, seed + 1, 0.4)
            name = 'bcel_r%d_%s_%s_%s' % (len(shp), 'x'.join(map(str, shp)) or 'scalar',
                                         'soft' if soft else 'hard', red)
            write_case(name, 'bce_logits', shp, arr_r(n, seed, -8, 8), y, reduction=red,
                       grad_out=up_for(red, n, seed + 2) if seed % 3 else None)
    # weight broadcasts on (2,3,5)
    shp = (2, 3, 5)
    n = 30
    wshapes = [(), (1,), (1, 1, 1), (5,), (3, 1), (2, 1, 1), (3, 5), (2, 3, 5), (1, 3, 1)]
    for i, ws in enumerate(wshapes):
        wn = int(np.prod(ws)) if ws else 1
        for red in ('mean', 'none'):
            write_case('bcel_weight_%s_%s' % ('x'.join(map(str, ws)) or 'scalar', red),
                       'bce_logits', shp, arr_r(n, 200 + i, -6, 6), arr_r(n, 220 + i, 0, 1),
                       weight=(ws, arr_r(wn, 240 + i, 0, 3)), reduction=red,
                       grad_out=up_for(red, n, 260 + i))
    # pos_weight: per channel (C,1,...,1) of rank ndim-1, and right-aligned 1-D
    for shp, pws in [((2, 3, 4, 5), (3, 1, 1)), ((2, 3, 4, 5), (5,)), ((2, 3, 7), (3, 1)),
                     ((2, 3, 7), (7,)), ((2, 3, 7), (2, 3, 7)), ((3, 5), (5,)), ((3, 5), (3, 1)),
                     ((2, 4, 3, 3, 2), (4, 1, 1, 1)), ((6,), ())]:
        n = int(np.prod(shp))
        pn = int(np.prod(pws)) if pws else 1
        for red in REDS:
            seed += 5
            wlast = (((shp[-1],), arr_r(shp[-1], seed + 3, 0.5, 1.5)) if seed % 2 else None)
            write_case('bcel_posw_%s_pw%s_%s' % ('x'.join(map(str, shp)),
                                                 'x'.join(map(str, pws)) or 'scalar', red),
                       'bce_logits', shp, arr_r(n, seed, -5, 5), arr_m(n, seed + 1, 0.5),
                       tdtype=['u8', 'bool', 'i64', 'f32', 'f64'][seed % 5],
                       pos_weight=(pws, arr_r(pn, seed + 2, 0.2, 4)),
                       weight=wlast,
                       reduction=red, grad_out=up_for(red, n, seed + 4))
    # more than one reduction block (8192): 20001 elements
    for red in REDS:
        write_case('bcel_big_20001_' + red, 'bce_logits', (20001,), arr_r(20001, 300, -10, 10),
                   arr_m(20001, 301, 0.3), tdtype='u8', reduction=red,
                   grad_out=up_for(red, 20001, 302))
    write_case('bcel_big_3x6667_w_pw', 'bce_logits', (3, 6667), arr_r(20001, 310, -10, 10),
               arr_r(20001, 311, 0, 1), weight=((6667,), arr_r(6667, 312, 0, 2)),
               pos_weight=((3, 1), arr_v([0.3, 1.0, 5.0])), reduction='mean')
    write_case('bcel_big_2x3x59x59_pw_channel', 'bce_logits', (2, 3, 59, 59),
               arr_r(20886, 320, -15, 15), arr_m(20886, 321, 0.5), tdtype='bool',
               pos_weight=((3, 1, 1), arr_v([2.0, 0.5, 8.0])), reduction='sum',
               grad_out=arr_v([0.5]))


def bce_cases():
    # exact 0/1 and near-0/1 probabilities; clamp at -100 and 1e-12 floor
    ps = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-30, 1e-44, 1 - 2 ** -24, 2 ** -24, 0.5, 1e-7,
          1 - 1e-7, 0.999, 0.001, 1e-12, 0.3]
    ys = [1, 0, 0, 1, 0.3, 0.6, 1, 1, 0, 1, 1, 0, 1, 0.5, 0.5, 1, 0]
    for red in REDS:
        write_case('bce_extreme_' + red, 'bce', (len(ps),), arr_v(ps), arr_v(ys),
                   reduction=red, grad_out=up_for(red, len(ps), 30))
    write_case('bce_extreme_weighted', 'bce', (len(ps),), arr_v(ps), arr_v(ys),
               weight=((len(ps),), arr_r(len(ps), 31, 0, 3)), reduction='sum')
    # near the edges but inside the 1e-12 floor: the gradient is visible
    ps = [1e-6, 1 - 2 ** -20, 2 ** -20, 1e-5, 0.9999, 0.5, 0.25, 1e-3]
    ys = [1, 0, 1, 0.2, 1, 0, 1, 0.9]
    for red in REDS:
        write_case('bce_edges_' + red, 'bce', (2, 4), arr_v(ps), arr_v(ys), reduction=red,
                   grad_out=up_for(red, 8, 32))
    shapes = [(), (7,), (3, 5), (2, 3, 5), (2, 3, 5, 7), (2, 1, 3, 3, 5)]
    seed = 400
    for shp in shapes:
        n = int(np.prod(shp)) if shp else 1
        for red in REDS:
            seed += 3
            soft = seed % 2 == 1
            y = arr_r(n, seed + 1, 0, 1) if soft else arr_m(n, seed + 1, 0.5)
            tdt = 'f32' if soft else ['u8', 'i64', 'bool'][seed % 3]
            name = 'bce_r%d_%s_%s_%s' % (len(shp), 'x'.join(map(str, shp)) or 'scalar',
                                        'soft' if soft else 'hard', red)
            write_case(name, 'bce', shp, arr_r(n, seed, 0.002, 0.998), y, tdtype=tdt,
                       reduction=red, grad_out=up_for(red, n, seed + 2) if seed % 2 else None)
    shp = (2, 3, 5)
    for i, ws in enumerate([(), (1, 1), (5,), (3, 1), (2, 1, 1), (2, 3, 5)]):
        wn = int(np.prod(ws)) if ws else 1
        for red in ('mean', 'none'):
            write_case('bce_weight_%s_%s' % ('x'.join(map(str, ws)) or 'scalar', red), 'bce',
                       shp, arr_r(30, 500 + i, 0.01, 0.99), arr_r(30, 510 + i, 0, 1),
                       weight=(ws, arr_r(wn, 520 + i, 0, 2)), reduction=red,
                       grad_out=up_for(red, 30, 530 + i))
    for red in REDS:
        write_case('bce_big_20001_' + red, 'bce', (20001,), arr_r(20001, 540, 0.0001, 0.9999),
                   arr_r(20001, 541, 0, 1), weight=((), arr_v([0.75])), reduction=red,
                   grad_out=up_for(red, 20001, 542))


def dice_cases():
    shapes = [(2, 3, 7), (3, 2, 4, 5), (7,), (3, 5), (2, 1, 3, 2, 3)]
    k = 0
    for sq in (0, 1):
        for jac in (0, 1):
            for bat in (0, 1):
                for act in ('sigmoid', 'none'):
                    for red in REDS:
                        shp = shapes[k % len(shapes)]
                        k += 1
                        n = int(np.prod(shp))
                        nitems = (1 if len(shp) < 3 else (shp[1] if bat else shp[0] * shp[1]))
                        seed = 600 + 7 * k
                        x = (arr_r(n, seed, -4, 4) if act == 'sigmoid'
                             else arr_r(n, seed, 0, 1))
                        soft = k % 3 == 0
                        y = arr_r(n, seed + 1, 0, 1) if soft else arr_m(n, seed + 1, 0.35)
                        tdt = 'f32' if soft else ['u8', 'bool', 'i64', 'f64'][k % 4]
                        opts = dict(squared=sq, jaccard=jac, batch=bat, act=act)
                        if k % 4 == 1:
                            opts.update(custom=1, snr=0.5, sdr=1.25)
                        go = (up_for(red, nitems, seed + 2) if red == 'none' or k % 2
                              else None)
                        name = 'dice_sq%d_jac%d_b%d_%s_%s_%s' % (
                            sq, jac, bat, act, 'x'.join(map(str, shp)), red)
                        write_case(name, 'dice', shp, x, y, tdtype=tdt, reduction=red,
                                   dice=opts, grad_out=go)
    # smooth 0 with non-empty masks; custom smooth; empty targets
    shp = (2, 2, 3, 4)
    n = 48
    x = arr_r(n, 700, -3, 3)
    y = arr_m(n, 701, 0.5)
    for sq in (0, 1):
        for jac in (0, 1):
            write_case('dice_smooth0_sq%d_jac%d' % (sq, jac), 'dice', shp, x, y,
                       dice=dict(squared=sq, jaccard=jac, custom=1, snr=0, sdr=0))
    write_case('dice_smooth_1_1', 'dice', shp, x, y, reduction='none',
               dice=dict(custom=1, snr=1, sdr=1), grad_out=arr_r(4, 702, -1, 1))
    write_case('dice_smooth_nr0_dr1e-3', 'dice', shp, x, y, dice=dict(custom=1, snr=0, sdr=1e-3))
    zeros = arr_v([0] * n, 'int')
    for act in ('sigmoid', 'none'):
        xx = x if act == 'sigmoid' else arr_r(n, 703, 0, 1)
        for bat in (0, 1):
            for red in REDS:
                write_case('dice_empty_target_%s_b%d_%s' % (act, bat, red), 'dice', shp, xx,
                           zeros, tdtype='u8', reduction=red, dice=dict(act=act, batch=bat),
                           grad_out=up_for(red, 2 if bat else 4, 704))
    # empty target and empty prediction, activation none: f = 0 (default smooth)
    write_case('dice_empty_both_none', 'dice', (2, 1, 5), arr_v([0] * 10), arr_v([0] * 10),
               dice=dict(act='none'), reduction='none')
    # some items empty, some not; exact 0/1 probabilities
    yv = [0] * 12 + [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1]
    pv = [0, 1, 0.5, 0, 0, 1, 0.25, 0, 0, 0, 1, 0] + [1, 0, 1, 0.5, 0, 1, 1, 0, 0.125, 0, 1, 1]
    for jac in (0, 1):
        write_case('dice_mixed_empty_exact01_jac%d' % jac, 'dice', (2, 1, 12), arr_v(pv),
                   arr_v(yv, 'int'), tdtype='i64', reduction='none',
                   dice=dict(act='none', jaccard=jac, squared=jac))
    # all-empty item with zero smoothing: 0/0 = NaN, as MONAI
    write_case('dice_nan_zero_smooth', 'dice', (1, 2, 3), arr_v([0, 0, 0, 0.5, 0, 1]),
               arr_v([0, 0, 0, 1, 0, 1]), reduction='none',
               dice=dict(act='none', custom=1, snr=0, sdr=0))
    # more than one block: 20001 one image (ndim 1), and items of 9999 > 8192
    write_case('dice_big_20001', 'dice', (20001,), arr_r(20001, 710, -6, 6),
               arr_m(20001, 711, 0.2), tdtype='u8')
    for bat in (0, 1):
        for sq in (0, 1):
            nit = 2 if bat else 4
            write_case('dice_big_2x2x101x99_b%d_sq%d' % (bat, sq), 'dice', (2, 2, 101, 99),
                       arr_r(39996, 720 + bat, -6, 6), arr_m(39996, 722, 0.3), tdtype='bool',
                       reduction='none', dice=dict(batch=bat, squared=sq, jaccard=sq),
                       grad_out=arr_r(nit, 724, -1, 1))


def main():
    seed_example()
    sigmoid_cases()
    bce_logits_cases()
    bce_cases()
    dice_cases()
    sys.stdout.write('# segloss core reference values: generated by tools/ref/gen_core_ref.py\n'
                     '# with torch %s, numpy %s (float64). Do not edit; regenerate.\n'
                     '# cases: %s\n' % (torch.__version__, np.__version__,
                                        ', '.join('%s %d' % kv for kv in sorted(counts.items()))))
    sys.stdout.write('\n'.join(out_lines) + '\n')


if __name__ == '__main__':
    main()
