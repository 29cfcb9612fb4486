#!/usr/bin/python3
"""Reference values for segloss's element-wise loss family, from PyTorch in
float64: focal, ce, lovasz (hinge), and bce / bce_logits with ignore_index.

Run with Debian's Python, which has torch 1.13, numpy and mpmath:

    /usr/bin/python3 tools/ref/gen_element_ref.py > tests/data/element_ref.txt
    /usr/bin/python3 tools/ref/gen_element_ref.py --cli > tests/data/element_ref_cli.txt

The second file holds the references of tests/cli/run.sh's element-wise
cases (on tests/cli/data's x.npy, y.npy, p.npy, w.npy, y255.npy and the small
uint8 targets run.sh writes itself; see cli_main).

The output is deterministic (fixed seeds; no torch randomness is used).
tests/test_element_ref.c reads it and checks segloss against it.

What is computed
----------------
Every input is rounded to float32 first (what segloss receives); the
reference is then computed in float64 from those values, and gradients are
d(reduced loss)/d(input) by autograd for the case's upstream gradient.

  focal   torchvision.ops.sigmoid_focal_loss, transcribed below from
          pytorch/vision torchvision/ops/focal_loss.py (torchvision is not
          installed), times an optional broadcast weight (segloss extension).
          Cases "focal_mp_*" (logits beyond ~|20|, where float64 torch
          cancels in 1 - p_t) use mpmath at 60 digits instead: the same
          formula with 1 - sigmoid(x) written as sigmoid(-x), and mp.diff for
          the gradient.
  ce      torch.nn.functional.cross_entropy(weight, ignore_index,
          label_smoothing, reduction) itself.
  lovasz  smp LovaszLoss binary mode, transcribed below from
          qubvel/segmentation_models.pytorch
          segmentation_models_pytorch/losses/lovasz.py (_lovasz_hinge,
          _lovasz_hinge_flat, _lovasz_grad, _flatten_binary_scores; smp is not
          installed), in float64 (smp's .float() casts become float64) and
          with torch.sort(..., stable=True): segloss's documented tie rule
          (equal errors: lower flat index first). Images are axis 0 when
          ndim >= 3; ndim <= 2 is one image (segloss's rule).
  bce, bce_logits with ignore_index
          torch BCELoss / BCEWithLogitsLoss (reduction none) on the target
          with ignored elements replaced by 0, multiplied by the not-ignored
          mask (as smp's SoftBCEWithLogitsLoss does), then sum, or divided by
          the number of non-ignored elements for mean (segloss's definition;
          smp divides by all elements).
  The same ignore rule for focal.

File format (line oriented, whitespace separated, '#' starts a comment)
----------------------------------------------------------------------
    case NAME
    op focal|ce|lovasz|bce|bce_logits
    shape NDIM D0 D1 ...          the input's shape (ce: (N, C, ...))
    x ARRAY                       input, float32
    target DTYPE ARRAY            f32 f64 u8 bool i8 i16 i32 i64 u16 u32 u64;
                                  ce: numel/C class indices
    holes SEED P V                optional: target_i = V where U_i(SEED) < P
    weight NDIM D... ARRAY        optional float32 (ce: class weights, (C,))
    pos_weight NDIM D... ARRAY    optional (bce_logits)
    reduction mean|sum|none
    ignore V                      optional: ignore_index V (without it ce
                                  uses -100; the others: no ignore)
    focal ALPHA GAMMA             optional (focal): alpha, gamma; absent =
                                  defaults 0.25, 2
    ce EPS                        ce: label smoothing
    lovasz PER_IMAGE              lovasz: 0/1
    grad_out ARRAY                optional upstream (one value for mean/sum,
                                  the loss's shape for none); absent = 1
    loss VALUE                    reduced loss (none: sum of the array)
    elems ARRAY                   reduction none: the loss array
    grad ARRAY                    d loss / d x, the input's shape
    end

ARRAY is one of
    v N X1 ... XN            the N values
    r N SEED A B             A + (B - A) * U_i (double), rounded to float32
                             (kept in double for f64 targets)
    q N SEED K A B           A + (B - A) * floor(U_i * K) / K, to float32
                             (quantised: many ties)
    m N SEED P               1 if U_i < P else 0
    c N SEED K               floor(U_i * K)  (class indices)
    s N MAXABS K I1 X1 ... IK XK
                             sparse (references only): K of the N values at
                             flat indices I; MAXABS = max |X| over all N
where U_i = (splitmix64_i >> 40) * 2^-24, splitmix64_i the i-th output
(i = 0, 1, ...) of splitmix64 seeded with SEED. References are printed with
10 significant digits (the tests need 2e-5 / 1e-5).
"""
import sys

import mpmath
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
MASK = (1 << 64) - 1
F64 = torch.float64


# --------------------------------------------------------------------------
# Deterministic stream shared with the C test.
# --------------------------------------------------------------------------
def uniform_stream(seed, n):
    s = seed & MASK
    out = np.empty(n)
    for i in range(n):
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i] = (z >> 40) * 2.0 ** -24
    return out


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


class Arr:
    """An array as written to the file, with its values as float64 numpy."""

    def __init__(self, spec, values):
        self.spec = spec
        self.values = np.asarray(values, dtype=np.float64).ravel()


def fmt32(v):
    v = float(np.float32(v))
    if np.isnan(v):
        return 'nan'
    if np.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return '%.9g' % v


def fmt_ref(v):
    v = float(v)
    if np.isnan(v):
        return 'nan'
    if np.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return '%.10g' % v


def arr_v(values, kind='f32'):
    a = np.asarray(values, dtype=np.float64).ravel()
    if kind == 'f32':
        a = f32(a)
        txt = ' '.join(fmt32(v) for v in a)
    elif kind == 'f64':
        txt = ' '.join('%.17g' % v for v in a)
    else:
        txt = ' '.join(str(int(v)) for v in a)
    return Arr('v %d %s' % (a.size, txt), a)


def arr_r(n, seed, a, b, kind='f32'):
    a, b = float(a), float(b)
    vals = a + (b - a) * uniform_stream(seed, n)
    if kind == 'f32':
        vals = f32(vals)
    return Arr('r %d %d %s %s' % (n, seed, repr(a), repr(b)), vals)


def arr_q(n, seed, k, a, b):
    a, b = float(a), float(b)
    vals = f32(a + (b - a) * (np.floor(uniform_stream(seed, n) * k) / k))
    return Arr('q %d %d %d %s %s' % (n, seed, k, repr(a), repr(b)), vals)


def arr_m(n, seed, p):
    vals = (uniform_stream(seed, n) < p).astype(np.float64)
    return Arr('m %d %d %s' % (n, seed, repr(float(p))), vals)


def arr_c(n, seed, k):
    vals = np.floor(uniform_stream(seed, n) * k)
    return Arr('c %d %d %d' % (n, seed, k), vals)


def ref_array(values):
    """Full array when small, else a sparse sample (block edges, ends, argmax)."""
    a = np.asarray(values, dtype=np.float64).ravel()
    n = a.size
    if n <= 96:
        return 'v %d %s' % (n, ' '.join(fmt_ref(v) for v in a))
    idx = set(range(0, 6)) | set(range(n - 6, n))
    for k in range(8192, n, 8192):
        idx |= set(range(k - 2, k + 2))
    rng = np.random.default_rng(n)
    idx |= set(int(i) for i in rng.integers(0, n, 24))
    finite = np.where(np.isfinite(a), np.abs(a), -1.0)
    idx.add(int(np.argmax(finite)))
    idx = sorted(i for i in idx if 0 <= i < n)
    maxabs = float(np.max(finite))
    body = ' '.join('%d %s' % (i, fmt_ref(a[i])) for i in idx)
    return 's %d %s %d %s' % (n, fmt_ref(maxabs), len(idx), body)


# --------------------------------------------------------------------------
# The parity targets, transcribed
# --------------------------------------------------------------------------
def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction='none'):
    # pytorch/vision torchvision/ops/focal_loss.py, sigmoid_focal_loss
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == 'mean':
        loss = loss.mean()
    elif reduction == 'sum':
        loss = loss.sum()
    return loss


def _lovasz_grad(gt_sorted):
    # smp losses/lovasz.py, _lovasz_grad (.float() -> float64)
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.to(F64).cumsum(0)
    union = gts + (1 - gt_sorted).to(F64).cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:  # cover 1-pixel case
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def _lovasz_hinge_flat(logits, labels):
    # smp losses/lovasz.py, _lovasz_hinge_flat (stable sort: segloss's tie rule)
    if len(labels) == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.to(F64) - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True, stable=True)
    gt_sorted = labels[perm]
    grad = _lovasz_grad(gt_sorted)
    return torch.dot(F.relu(errors_sorted), grad)


def _flatten_binary_scores(scores, labels, ignore=None):
    # smp losses/lovasz.py, _flatten_binary_scores
    scores = scores.reshape(-1)
    labels = labels.reshape(-1)
    if ignore is None:
        return scores, labels
    valid = labels != ignore
    return scores[valid], labels[valid]


def lovasz_hinge_items(logits, labels, per_image, ignore):
    """Per-item losses (a list of 0-d tensors): smp's _lovasz_hinge before
    its mean; images along axis 0 when ndim >= 3, else one image."""
    if per_image and logits.dim() >= 3:
        return [_lovasz_hinge_flat(*_flatten_binary_scores(lg, lb, ignore))
                for lg, lb in zip(logits, labels)]
    return [_lovasz_hinge_flat(*_flatten_binary_scores(logits, labels, ignore))]


def reduce_items(vals, reduction):
    if reduction == 'mean':
        return vals.mean()
    if reduction == 'sum':
        return vals.sum()
    return vals


def masked_reduce(l, keep, reduction):
    """Element losses l with ignored ones zeroed; mean over the kept ones."""
    l = l * keep
    if reduction == 'mean':
        return l.sum() / keep.sum()
    if reduction == 'sum':
        return l.sum()
    return l


# focal with mpmath (extreme logits)
mpmath.mp.dps = 60


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_focal(x, y, alpha, gamma):
    p, pm = mp_sigmoid(x), mp_sigmoid(-x)
    # -ln p = ln(1 + e^-x), -ln(1-p) = ln(1 + e^x): log1p keeps tiny values
    ce = y * mpmath.log1p(mpmath.exp(-x)) + (1 - y) * mpmath.log1p(mpmath.exp(x))
    q = p * (1 - y) + pm * y
    l = ce * q ** gamma
    if alpha >= 0:
        l *= alpha * y + (1 - alpha) * (1 - y)
    return l


# --------------------------------------------------------------------------
# Case writer
# --------------------------------------------------------------------------
out_lines = []
counts = {}


def emit(line):
    out_lines.append(line)


def shape_txt(shape):
    return '%d %s' % (len(shape), ' '.join(str(d) for d in shape))


def apply_holes(values, holes):
    if holes is None:
        return values, np.zeros(values.size, dtype=bool)
    seed, p, v = holes
    hit = uniform_stream(seed, values.size) < p
    out = values.copy()
    out[hit] = v
    return out, hit


def write_case(name, op, shape, x, target, tdtype='f32', holes=None, weight=None,
               pos_weight=None, reduction='mean', ignore=None, focal=None, ce_eps=0.0,
               per_image=0, grad_out=None):
    """weight / pos_weight: (shape tuple, Arr). focal: (alpha, gamma) or None.
    holes: (seed, p, value) applied to the target. ignore: value or None."""
    shape = tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    assert x.values.size == n, name
    xt = torch.tensor(x.values, dtype=F64).reshape(shape).requires_grad_(True)
    tvals, _ = apply_holes(target.values, holes)
    emit('case %s' % name)
    emit('op %s' % op)
    emit('shape %s' % shape_txt(shape))
    emit('x ' + x.spec)
    emit('target %s %s' % (tdtype, target.spec))
    if holes is not None:
        emit('holes %d %s %s' % (holes[0], repr(float(holes[1])), repr(holes[2])))
    w = pw = None
    if weight is not None:
        wshape, warr = weight
        w = torch.tensor(warr.values, dtype=F64).reshape(wshape)
        emit('weight %s %s' % (shape_txt(wshape), warr.spec))
    if pos_weight is not None:
        pshape, parr = pos_weight
        pw = torch.tensor(parr.values, dtype=F64).reshape(pshape)
        emit('pos_weight %s %s' % (shape_txt(pshape), parr.spec))
    emit('reduction %s' % reduction)
    if ignore is not None:
        emit('ignore %s' % repr(ignore))

    if op == 'ce':
        c = shape[0] if len(shape) == 1 else shape[1]
        tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
        assert tvals.size == n // c, name
        emit('ce %s' % repr(float(ce_eps)))
        tt = torch.tensor(tvals.astype(np.int64)).reshape(tshape)
        lossv = F.cross_entropy(xt, tt, weight=w,
                                ignore_index=-100 if ignore is None else int(ignore),
                                reduction=reduction, label_smoothing=ce_eps)
    else:
        assert tvals.size == n, name
        keep_np = np.ones(n) if ignore is None else (tvals != ignore).astype(np.float64)
        keep = torch.tensor(keep_np).reshape(shape)
        yt = torch.tensor(np.where(keep_np > 0, tvals, 0.0)).reshape(shape)
        if op == 'focal':
            if focal is not None:
                emit('focal %s %s' % (repr(float(focal[0])), repr(float(focal[1]))))
                alpha, gamma = focal
            else:
                alpha, gamma = 0.25, 2.0
            l = sigmoid_focal_loss(xt, yt, alpha, gamma, 'none')
            if w is not None:
                l = l * w
            lossv = masked_reduce(l, keep, reduction)
        elif op == 'bce':
            l = F.binary_cross_entropy(xt, yt, weight=w, reduction='none')
            lossv = masked_reduce(l, keep, reduction)
        elif op == 'bce_logits':
            l = F.binary_cross_entropy_with_logits(xt, yt, weight=w, pos_weight=pw,
                                                   reduction='none')
            lossv = masked_reduce(l, keep, reduction)
        elif op == 'lovasz':
            emit('lovasz %d' % per_image)
            labels = torch.tensor(tvals).reshape(shape)
            items = lovasz_hinge_items(xt, labels, per_image, ignore)
            lossv = reduce_items(torch.stack(items), reduction)
        else:
            raise ValueError(op)

    if reduction == 'none':
        up = (torch.tensor(grad_out.values, dtype=F64).reshape(lossv.shape)
              if grad_out is not None else torch.ones(lossv.shape))
    else:
        up = torch.tensor(grad_out.values[0] if grad_out is not None else 1.0, dtype=F64)
    lossv.backward(up)
    g = xt.grad.numpy()
    if grad_out is not None:
        emit('grad_out ' + grad_out.spec)
    lv = lossv.detach()
    emit('loss %s' % fmt_ref(lv.sum().item()))
    if reduction == 'none':
        emit('elems ' + ref_array(lv.numpy()))
    emit('grad ' + ref_array(g))
    emit('end')
    counts[op] = counts.get(op, 0) + 1


def write_focal_mp(name, xs, ys, alpha, gamma, reduction):
    """Focal at extreme logits, reference by mpmath (see the docstring)."""
    n = len(xs)
    x = arr_v(xs)
    y = arr_v(ys)
    emit('case %s' % name)
    emit('op focal')
    emit('shape 1 %d' % n)
    emit('x ' + x.spec)
    emit('target f32 ' + y.spec)
    emit('reduction %s' % reduction)
    emit('focal %s %s' % (repr(float(alpha)), repr(float(gamma))))
    ls, gs = [], []
    for xi, yi in zip(x.values, y.values):
        xm, ym = mpmath.mpf(float(xi)), mpmath.mpf(float(yi))
        ls.append(mp_focal(xm, ym, alpha, gamma))
        gs.append(mpmath.diff(lambda t: mp_focal(t, ym, alpha, gamma), xm))
    total = sum(ls)
    scale = 1.0 / n if reduction == 'mean' else 1.0
    emit('loss %s' % fmt_ref(float(total * scale)))
    if reduction == 'none':
        emit('elems ' + ref_array([float(v) for v in ls]))
    emit('grad ' + ref_array([float(v * scale) for v in gs]))
    emit('end')
    counts['focal'] = counts.get('focal', 0) + 1


def up_for(reduction, nloss, seed):
    """An upstream gradient: random array for none, 0.5 for the others."""
    if reduction == 'none':
        return arr_r(nloss, seed, -1.5, 1.5)
    return arr_v([0.5])


def sname(shape):
    return 'x'.join(map(str, shape)) or 'scalar'


REDS = ['mean', 'sum', 'none']


# --------------------------------------------------------------------------
# focal
# --------------------------------------------------------------------------
def focal_cases():
    shp = (2, 3, 4, 5)
    n = 120
    seed = 1000
    # every alpha x gamma, hard float targets, mean (default alpha/gamma too)
    for alpha in (0.25, 0.5, 0.9, 0.0, -1.0):
        for gamma in (0.0, 0.5, 1.0, 2.0, 3.0):
            seed += 3
            write_case('focal_a%g_g%g' % (alpha, gamma), 'focal', shp,
                       arr_r(n, seed, -9, 9), arr_m(n, seed + 1, 0.35),
                       focal=(alpha, gamma), reduction=['mean', 'sum'][seed % 2],
                       grad_out=arr_v([0.75]) if seed % 5 == 0 else None)
    write_case('focal_defaults', 'focal', shp, arr_r(n, 1100, -6, 6), arr_m(n, 1101, 0.4))
    write_case('focal_defaults_none', 'focal', (3, 7), arr_r(21, 1102, -6, 6),
               arr_m(21, 1103, 0.4), reduction='none', grad_out=arr_r(21, 1104, -1, 1))
    # reductions with upstream, target dtypes
    for i, (red, tdt) in enumerate([('none', 'u8'), ('sum', 'bool'), ('mean', 'i64'),
                                    ('none', 'f64'), ('mean', 'i8'), ('sum', 'u16')]):
        write_case('focal_%s_%s' % (red, tdt), 'focal', (2, 3, 7), arr_r(42, 1110 + i, -7, 7),
                   arr_m(42, 1120 + i, 0.5), tdtype=tdt, focal=(0.4, 1.5), reduction=red,
                   grad_out=up_for(red, 42, 1130 + i))
    # soft labels (float64 and float32 targets)
    for gamma in (0.5, 2.0):
        for red in REDS:
            seed += 3
            write_case('focal_soft_g%g_%s' % (gamma, red), 'focal', (4, 9),
                       arr_r(36, seed, -8, 8), arr_r(36, seed + 1, 0, 1,
                                                     'f64' if red != 'sum' else 'f32'),
                       tdtype='f64' if red != 'sum' else 'f32', focal=(0.3, gamma),
                       reduction=red, grad_out=up_for(red, 36, seed + 2))
    # weights (segloss extension), broadcast
    for ws in [(3, 1, 1), (5,), (2, 3, 4, 5)]:
        wn = int(np.prod(ws))
        seed += 3
        write_case('focal_weight_%s' % sname(ws), 'focal', shp, arr_r(n, seed, -6, 6),
                   arr_m(n, seed + 1, 0.5), weight=(ws, arr_r(wn, seed + 2, 0, 2)),
                   focal=(0.25, 2.0), reduction='mean')
    # ranks 0..5
    for shape in [(), (1,), (9,), (3, 5), (2, 3, 5), (2, 3, 2, 3), (2, 1, 2, 3, 4)]:
        nn_ = int(np.prod(shape)) if shape else 1
        for red in REDS:
            seed += 3
            write_case('focal_r%d_%s_%s' % (len(shape), sname(shape), red), 'focal', shape,
                       arr_r(nn_, seed, -5, 5), arr_m(nn_, seed + 1, 0.5),
                       focal=(0.25, [0.5, 2.0, 3.0][seed % 3]), reduction=red,
                       grad_out=up_for(red, nn_, seed + 2) if seed % 2 else None)
    # ignore_index: 255 in uint8, -1 in int64, 2.0 in float32
    for i, (tdt, v) in enumerate([('u8', 255), ('i64', -1), ('f32', 2.0), ('i16', 7)]):
        for red in REDS:
            seed += 3
            write_case('focal_ignore_%s_%s' % (tdt, red), 'focal', (2, 3, 6),
                       arr_r(36, seed, -6, 6), arr_m(36, seed + 1, 0.4), tdtype=tdt,
                       holes=(seed + 2, 0.3, v), ignore=v, focal=(0.25, [0.5, 2.0][i % 2]),
                       reduction=red, grad_out=up_for(red, 36, seed + 3))
    # ignore with weight
    write_case('focal_ignore_weight', 'focal', (2, 3, 6), arr_r(36, 1300, -6, 6),
               arr_m(36, 1301, 0.4), tdtype='u8', holes=(1302, 0.25, 255), ignore=255,
               weight=((3, 1), arr_r(3, 1303, 0.5, 2)), focal=(0.6, 1.0))
    # more than one block
    for red in REDS:
        write_case('focal_big_20001_' + red, 'focal', (20001,), arr_r(20001, 1400, -10, 10),
                   arr_m(20001, 1401, 0.3), tdtype='u8', focal=(0.25, 2.0), reduction=red,
                   grad_out=up_for(red, 20001, 1402))
    write_case('focal_big_ignore_2x3x59x59', 'focal', (2, 3, 59, 59),
               arr_r(20886, 1410, -12, 12), arr_m(20886, 1411, 0.5), tdtype='u8',
               holes=(1412, 0.2, 255), ignore=255, focal=(0.25, 0.5), reduction='mean')
    # edge cases: empty target, single pixel, all ignored
    write_case('focal_empty_target', 'focal', (1, 1, 4, 4), arr_r(16, 1420, -4, 4),
               arr_v([0] * 16, 'int'), tdtype='u8')
    write_case('focal_single_pixel', 'focal', (1, 1, 1, 1), arr_v([0.7]), arr_v([1], 'int'),
               tdtype='u8', focal=(0.25, 0.5))
    write_case('focal_all_ignored_sum', 'focal', (2, 3), arr_r(6, 1421, -3, 3),
               arr_v([255] * 6, 'int'), tdtype='u8', ignore=255, reduction='sum')
    # moderately large logits (float64 torch still accurate: |x| <= 16)
    xs = [16, -16, 12, -12, 8, -8, 0.01, -0.01]
    write_case('focal_large_logits', 'focal', (2, 8), arr_v(xs + xs),
               arr_v([1] * 8 + [0] * 8), focal=(0.25, 0.5), reduction='none')
    # extreme logits: mpmath references
    ext = [20, -20, 40, -40, 100, -100, 700, -700, 800, -800, 1e4, -1e4]
    for gamma in (0.5, 2.0):
        xs = ext + ext
        ys = [1] * len(ext) + [0] * len(ext)
        write_focal_mp('focal_mp_extreme_g%g_none' % gamma, xs, ys, 0.25, gamma, 'none')
        write_focal_mp('focal_mp_extreme_g%g_sum' % gamma, xs, ys, -1.0, gamma, 'sum')
    write_focal_mp('focal_mp_soft_g0.5', [3, -3, 30, -30, 0.5], [0.3, 0.7, 0.9, 0.1, 0.5],
                   0.25, 0.5, 'mean')


# --------------------------------------------------------------------------
# ce
# --------------------------------------------------------------------------
def ce_cases():
    seed = 2000
    shapes = [(5,), (4, 5), (2, 4, 7), (2, 3, 4, 5), (2, 3, 2, 3, 4), (1, 3, 1, 1)]
    for shape in shapes:
        n = int(np.prod(shape))
        c = shape[0] if len(shape) == 1 else shape[1]
        nt = n // c
        for ri, red in enumerate(REDS):
            # every (eps, weighted) for (N, C) inputs; two of them elsewhere
            combos = ((0.0, 0), (0.1, 1), (0.1, 0), (0.0, 1))
            if len(shape) != 2:
                combos = combos[:2] if (ri + len(shape)) % 2 == 0 else combos[2:]
            for eps, weighted in combos:
                seed += 3
                tdt = ['i64', 'u8', 'i32', 'i16', 'u64', 'i8'][seed % 6]
                write_case('ce_%s_%s_eps%g_w%d' % (sname(shape), red, eps, weighted), 'ce',
                           shape, arr_r(n, seed, -6, 6), arr_c(nt, seed + 1, c),
                           tdtype=tdt,
                           weight=((c,), arr_r(c, seed + 2, 0.2, 3)) if weighted else None,
                           reduction=red, ce_eps=eps,
                           grad_out=up_for(red, nt, seed + 3) if seed % 2 else None)
    # ignore_index: default -100 in signed targets, custom 255 / 0 / 3
    for i, (tdt, v) in enumerate([('i64', None), ('i32', None), ('i8', None), ('u8', 255),
                                  ('i64', 0), ('i16', 3)]):
        for ri, red in enumerate(REDS):
            combos = ((0.0, 0), (0.2, 1)) if (i + ri) % 2 == 0 else ((0.0, 1), (0.3, 0))
            for eps, weighted in combos:
                seed += 3
                hv = -100 if v is None else v
                write_case('ce_ignore_%s_%s_%s_eps%g_w%d' % (tdt, 'default' if v is None else v,
                                                           red, eps, weighted), 'ce',
                           (2, 4, 3, 3), arr_r(72, seed, -5, 5), arr_c(18, seed + 1, 4),
                           tdtype=tdt, holes=(seed + 2, 0.3, hv), ignore=v,
                           weight=((4,), arr_r(4, seed + 3, 0.2, 3)) if weighted else None,
                           reduction=red, ce_eps=eps, grad_out=up_for(red, 18, seed + 4))
    # label smoothing 1 and 0.5
    for eps in (0.5, 1.0):
        for weighted in (0, 1):
            seed += 3
            write_case('ce_eps%g_w%d' % (eps, weighted), 'ce', (3, 5, 4),
                       arr_r(60, seed, -4, 4), arr_c(12, seed + 1, 5), tdtype='i64',
                       holes=(seed + 2, 0.2, -100),
                       weight=((5,), arr_r(5, seed + 3, 0.1, 2)) if weighted else None,
                       ce_eps=eps)
    # classes absent from the batch (only 0 and 1 of 6 present)
    write_case('ce_classes_absent', 'ce', (2, 6, 3, 3), arr_r(108, 2300, -3, 3),
               arr_c(18, 2301, 2), tdtype='i64', weight=((6,), arr_r(6, 2302, 0.5, 2)),
               ce_eps=0.1)
    # one class (loss 0, gradient 0 without smoothing)
    write_case('ce_one_class', 'ce', (2, 1, 3), arr_r(6, 2310, -3, 3), arr_v([0] * 6, 'int'),
               tdtype='i64')
    write_case('ce_one_class_eps', 'ce', (2, 1, 3), arr_r(6, 2311, -3, 3), arr_v([0] * 6, 'int'),
               tdtype='i64', ce_eps=0.2, reduction='none')
    # single pixel, single sample
    write_case('ce_single_pixel', 'ce', (1, 3, 1, 1), arr_v([0.5, -1.0, 2.0]),
               arr_v([1], 'int'), tdtype='i64')
    # large logits (max subtraction)
    write_case('ce_large_logits', 'ce', (3, 4), arr_v([80, -80, 0, 1, 1e4, 1e4, -1e4, 0,
                                                       -50, -60, -70, -55]),
               arr_v([1, 2, 3], 'int'), tdtype='i64', reduction='none', ce_eps=0.1,
               grad_out=arr_v([1, -0.5, 2]))
    # all ignored: sum 0 (mean is NaN: a unit test)
    write_case('ce_all_ignored_sum', 'ce', (2, 3, 2), arr_r(12, 2320, -3, 3),
               arr_v([-100] * 4, 'int'), tdtype='i64', reduction='sum', ce_eps=0.1)
    # more than one block of positions: 2 x 4 x 70 x 70 (9800 positions)
    for red, eps, weighted in (('mean', 0.1, 1), ('none', 0.0, 0), ('sum', 0.05, 0)):
        seed += 5
        write_case('ce_big_2x4x70x70_%s' % red, 'ce', (2, 4, 70, 70),
                   arr_r(39200, seed, -8, 8), arr_c(9800, seed + 1, 4), tdtype='u8',
                   holes=(seed + 2, 0.1, 255), ignore=255,
                   weight=((4,), arr_r(4, seed + 3, 0.3, 2)) if weighted else None,
                   reduction=red, ce_eps=eps, grad_out=up_for(red, 9800, seed + 4))
    write_case('ce_big_9000x3', 'ce', (9000, 3), arr_r(27000, 2400, -5, 5),
               arr_c(9000, 2401, 3), tdtype='i64', reduction='mean')


# --------------------------------------------------------------------------
# lovasz
# --------------------------------------------------------------------------
def lovasz_cases():
    seed = 3000
    shapes = [(9,), (6, 7), (3, 4, 4), (2, 1, 5, 6), (2, 1, 2, 3, 4), (1,)]
    for shape in shapes:
        n = int(np.prod(shape))
        items = shape[0] if len(shape) >= 3 else 1
        for per in (0, 1):
            for red in REDS:
                seed += 3
                write_case('lovasz_%s_p%d_%s' % (sname(shape), per, red), 'lovasz', shape,
                           arr_r(n, seed, -3, 3), arr_m(n, seed + 1, 0.4),
                           tdtype=['f32', 'u8', 'bool', 'i64'][seed % 4], per_image=per,
                           reduction=red,
                           grad_out=(up_for(red, items if per else 1, seed + 2)
                                     if seed % 2 else None))
    # ties: quantised logits (equal errors of equal and of opposite labels)
    for per, k in ((0, 4), (1, 4), (0, 2), (1, 3)):
        seed += 3
        write_case('lovasz_ties_k%d_p%d' % (k, per), 'lovasz', (3, 1, 4, 5),
                   arr_q(60, seed, k, -2, 2), arr_m(60, seed + 1, 0.5), per_image=per)
    write_case('lovasz_ties_all_equal', 'lovasz', (2, 6), arr_v([0.5] * 12),
               arr_v([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0]))
    write_case('lovasz_ties_opposite', 'lovasz', (8,),
               arr_v([0.25, -0.25, 0.25, -0.25, 1.0, -1.0, 0.0, 0.0]),
               arr_v([1, 0, 0, 1, 1, 0, 1, 0]))
    # ignore_index
    for per in (0, 1):
        for red in REDS:
            seed += 3
            write_case('lovasz_ignore_p%d_%s' % (per, red), 'lovasz', (3, 1, 4, 5),
                       arr_r(60, seed, -3, 3), arr_m(60, seed + 1, 0.5), tdtype='u8',
                       holes=(seed + 2, 0.3, 255), ignore=255, per_image=per, reduction=red,
                       grad_out=up_for(red, 3 if per else 1, seed + 3))
    # an all-ignored image inside a per-image batch (counts as 0 in the mean)
    x = arr_r(24, 3200, -2, 2)
    y = [1, 0, 1, 1, 0, 0, 1, 0] + [255] * 8 + [0, 1, 1, 0, 0, 0, 1, 1]
    write_case('lovasz_ignored_image', 'lovasz', (3, 2, 4), x, arr_v(y, 'int'), tdtype='u8',
               ignore=255, per_image=1)
    write_case('lovasz_ignored_image_none', 'lovasz', (3, 2, 4), x, arr_v(y, 'int'),
               tdtype='u8', ignore=255, per_image=1, reduction='none')
    write_case('lovasz_all_ignored', 'lovasz', (2, 4), arr_r(8, 3201, -2, 2),
               arr_v([7] * 8, 'int'), tdtype='i64', ignore=7)
    # empty targets, full targets, single pixel, soft labels
    write_case('lovasz_empty_target', 'lovasz', (2, 1, 3, 3), arr_r(18, 3210, -2, 2),
               arr_v([0] * 18, 'int'), tdtype='u8', per_image=1)
    write_case('lovasz_empty_target_batch', 'lovasz', (2, 1, 3, 3), arr_r(18, 3211, -2, 2),
               arr_v([0] * 18, 'int'), tdtype='u8')
    write_case('lovasz_full_target', 'lovasz', (2, 1, 3, 3), arr_r(18, 3212, -2, 2),
               arr_v([1] * 18, 'int'), tdtype='u8', per_image=1)
    write_case('lovasz_empty_image_in_batch', 'lovasz', (2, 1, 2, 3), arr_r(12, 3213, -2, 2),
               arr_v([0] * 6 + [1, 0, 1, 0, 0, 1], 'int'), tdtype='u8', per_image=1,
               reduction='none')
    write_case('lovasz_single_pixel_pos', 'lovasz', (1,), arr_v([0.3]), arr_v([1], 'int'),
               tdtype='u8')
    write_case('lovasz_single_pixel_neg', 'lovasz', (1, 1, 1), arr_v([0.3]),
               arr_v([0], 'int'), tdtype='u8', per_image=1)
    write_case('lovasz_all_correct', 'lovasz', (6,), arr_v([5, -5, 3, -2, 4, -7]),
               arr_v([1, 0, 1, 0, 1, 0], 'int'), tdtype='u8')
    write_case('lovasz_soft', 'lovasz', (2, 1, 3, 4), arr_r(24, 3220, -2, 2),
               arr_r(24, 3221, 0, 1, 'f64'), tdtype='f64', per_image=1)
    # more than one block
    for per, red in ((0, 'mean'), (1, 'none'), (1, 'mean')):
        seed += 3
        write_case('lovasz_big_4x1x80x80_p%d_%s' % (per, red), 'lovasz', (4, 1, 80, 80),
                   arr_r(25600, seed, -4, 4), arr_m(25600, seed + 1, 0.3), tdtype='u8',
                   holes=(seed + 2, 0.05, 255) if per else None,
                   ignore=255 if per else None, per_image=per, reduction=red,
                   grad_out=up_for(red, 4, seed + 3) if red == 'none' else None)


# --------------------------------------------------------------------------
# bce / bce_logits with ignore_index
# --------------------------------------------------------------------------
def bce_ignore_cases():
    seed = 4000
    for tdt, v in (('u8', 255), ('i64', -1), ('f32', 2.0), ('bool', 1)):
        for red in REDS:
            seed += 5
            n = 36
            write_case('bcel_ignore_%s_%s' % (tdt, red), 'bce_logits', (2, 3, 6),
                       arr_r(n, seed, -6, 6), arr_m(n, seed + 1, 0.4), tdtype=tdt,
                       holes=(seed + 2, 0.3, v) if tdt != 'bool' else None, ignore=v,
                       weight=((6,), arr_r(6, seed + 3, 0.5, 2)) if seed % 2 else None,
                       pos_weight=((3, 1), arr_v([0.5, 2.0, 3.0])) if seed % 3 else None,
                       reduction=red, grad_out=up_for(red, n, seed + 4))
            seed += 5
            p = arr_r(n, seed, 0.01, 0.99)
            write_case('bce_ignore_%s_%s' % (tdt, red), 'bce', (2, 3, 6), p,
                       arr_m(n, seed + 1, 0.4), tdtype=tdt,
                       holes=(seed + 2, 0.3, v) if tdt != 'bool' else None, ignore=v,
                       weight=((3, 1), arr_r(3, seed + 3, 0.5, 2)) if seed % 2 else None,
                       reduction=red, grad_out=up_for(red, n, seed + 4))
    write_case('bcel_ignore_soft_f64', 'bce_logits', (4, 5), arr_r(20, 4100, -4, 4),
               arr_r(20, 4101, 0, 1, 'f64'), tdtype='f64', holes=(4102, 0.3, -1.0),
               ignore=-1.0)
    write_case('bcel_ignore_all_sum', 'bce_logits', (2, 2), arr_r(4, 4110, -4, 4),
               arr_v([255] * 4, 'int'), tdtype='u8', ignore=255, reduction='sum')
    write_case('bcel_ignore_none_present', 'bce_logits', (2, 3), arr_r(6, 4111, -4, 4),
               arr_m(6, 4112, 0.5), tdtype='u8', ignore=255, reduction='mean')
    for red in REDS:
        write_case('bcel_ignore_big_20001_' + red, 'bce_logits', (20001,),
                   arr_r(20001, 4120, -10, 10), arr_m(20001, 4121, 0.3), tdtype='u8',
                   holes=(4122, 0.25, 255), ignore=255, reduction=red,
                   grad_out=up_for(red, 20001, 4123))
    write_case('bce_ignore_big_3x6667', 'bce', (3, 6667), arr_r(20001, 4130, 0.001, 0.999),
               arr_m(20001, 4131, 0.5), tdtype='i64', holes=(4132, 0.4, -1), ignore=-1,
               weight=((6667,), arr_r(6667, 4133, 0, 2)), reduction='mean')


# --------------------------------------------------------------------------
# CLI references (--cli): tests/cli/run.sh's element-wise cases
# --------------------------------------------------------------------------
def cli_class_targets():
    """The uint8 class-index targets that tests/cli/run.sh writes itself:
    cls_i = (i*i + i/2) % 3 (integer division) for the 32 positions of
    (2, 4, 4); cls_ign: the same with 255 where i % 5 == 2."""
    cls = np.array([(i * i + i // 2) % 3 for i in range(32)], dtype=np.int64)
    ign = cls.copy()
    ign[np.arange(32) % 5 == 2] = 255
    return cls.reshape(2, 4, 4), ign.reshape(2, 4, 4)


def cli_mask_ign(y):
    """run.sh's y_ign.npy: y as uint8 with 255 where i % 7 == 3."""
    m = y.ravel().astype(np.int64).copy()
    m[np.arange(m.size) % 7 == 3] = 255
    return m.reshape(y.shape)


def cli_main(datadir):
    x = np.load(datadir + '/x.npy').astype(np.float64)
    y = np.load(datadir + '/y.npy').astype(np.float64)
    p = np.load(datadir + '/p.npy').astype(np.float64)
    w = np.load(datadir + '/w.npy').astype(np.float64)
    y255 = np.load(datadir + '/y255.npy').astype(np.float64)
    yign = cli_mask_ign(y)
    cls, cls_ign = cli_class_targets()
    lines = []

    def record(key, fn, inp, reduction):
        xt = torch.tensor(inp, requires_grad=True)
        lv = fn(xt)
        up = torch.ones(lv.shape)
        lv.backward(up)
        lines.append('%s %s' % (key, fmt_ref(lv.detach().sum().item())))
        g = xt.grad.numpy().ravel()
        lines.append('g.%s %d %s' % (key, g.size, ' '.join(fmt_ref(v) for v in g)))
        if reduction == 'none':
            o = lv.detach().numpy().ravel()
            lines.append('o.%s %d %s' % (key, o.size, ' '.join(fmt_ref(v) for v in o)))

    def t(a):
        return torch.tensor(a)

    def focal(target, alpha=0.25, gamma=2.0, red='mean', weight=None, ignore=None):
        def fn(xt):
            keep = t(np.ones(target.shape) if ignore is None else (target != ignore) * 1.0)
            yy = t(np.where(keep.numpy() > 0, target, 0.0))
            l = sigmoid_focal_loss(xt, yy, alpha, gamma, 'none')
            if weight is not None:
                l = l * t(weight)
            return masked_reduce(l, keep, red)
        return fn

    def bcel(target, red='mean', ignore=None):
        def fn(xt):
            keep = t((target != ignore) * 1.0)
            yy = t(np.where(keep.numpy() > 0, target, 0.0))
            l = F.binary_cross_entropy_with_logits(xt, yy, reduction='none')
            return masked_reduce(l, keep, red)
        return fn

    def bce(target, red='mean', ignore=None):
        def fn(pt):
            keep = t((target != ignore) * 1.0)
            yy = t(np.where(keep.numpy() > 0, target, 0.0))
            l = F.binary_cross_entropy(pt, yy, reduction='none')
            return masked_reduce(l, keep, red)
        return fn

    def ce(target, red='mean', weight=None, ignore=-100, eps=0.0):
        def fn(xt):
            return F.cross_entropy(xt, torch.tensor(target), weight=weight,
                                   ignore_index=ignore, reduction=red, label_smoothing=eps)
        return fn

    def lovasz(target, per_image=0, red='mean', ignore=None):
        def fn(xt):
            items = lovasz_hinge_items(xt, t(target), per_image, ignore)
            return reduce_items(torch.stack(items), red)
        return fn

    for red in REDS:
        record('focal.' + red, focal(y, red=red), x, red)
    record('focal.a0.5.g0.5', focal(y, 0.5, 0.5), x, 'mean')
    record('focal.a-1.g3.sum', focal(y, -1.0, 3.0, 'sum'), x, 'sum')
    record('focal.weight', focal(y, weight=w), x, 'mean')
    record('focal.ign', focal(yign, ignore=255), x, 'mean')
    record('focal.y255.ign', focal(y255, ignore=255), x, 'mean')
    record('bce-logits.ign.mean', bcel(yign, ignore=255), x, 'mean')
    record('bce-logits.ign.none', bcel(yign, 'none', ignore=255), x, 'none')
    record('bce-logits.ign0.sum', bcel(y, 'sum', ignore=0.0), x, 'sum')
    record('bce.ign.mean', bce(yign, ignore=255), p, 'mean')
    for red in REDS:
        record('ce.' + red, ce(cls, red), x, red)
    cw = torch.tensor(f32([0.5, 2.0, 1.25]))
    record('ce.weight', ce(cls, weight=cw), x, 'mean')
    record('ce.smooth', ce(cls, eps=0.1), x, 'mean')
    record('ce.ign.weight.smooth', ce(cls_ign, weight=cw, ignore=255, eps=0.2), x, 'mean')
    record('ce.ign.none', ce(cls_ign, 'none', ignore=255), x, 'none')
    for red in REDS:
        record('lovasz.' + red, lovasz(y, 0, red), x, red)
    record('lovasz.per.mean', lovasz(y, 1, 'mean'), x, 'mean')
    record('lovasz.per.none', lovasz(y, 1, 'none'), x, 'none')
    record('lovasz.per.ign', lovasz(yign, 1, 'mean', ignore=255), x, 'mean')
    sys.stdout.write('# Generated by tools/ref/gen_element_ref.py --cli; do not edit.\n')
    sys.stdout.write('# KEY LOSS / g.KEY N GRAD... / o.KEY N LOSS_ARRAY... (reduction none)\n')
    sys.stdout.write('\n'.join(lines) + '\n')


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--cli':
        datadir = sys.argv[2] if len(sys.argv) > 2 else 'tests/cli/data'
        cli_main(datadir)
        return
    focal_cases()
    ce_cases()
    lovasz_cases()
    bce_ignore_cases()
    sys.stdout.write('# Generated by tools/ref/gen_element_ref.py; do not edit.\n')
    sys.stdout.write('# cases: %s\n' % ', '.join('%s %d' % kv for kv in sorted(counts.items())))
    sys.stdout.write('\n'.join(out_lines) + '\n')


if __name__ == '__main__':
    main()
