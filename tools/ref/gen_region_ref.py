#!/usr/bin/python3
"""Reference values for segloss's region losses, from PyTorch in float64.

Run with Debian's Python, which has torch and numpy:

    /usr/bin/python3 tools/ref/gen_region_ref.py > tests/data/region_ref.txt
    /usr/bin/python3 tools/ref/gen_region_ref.py --cli > tests/data/region_ref_cli.txt

(the second, run from the repository root, reads tests/cli/data/*.npy and
gives the references of the region block of tests/cli/run.sh).

The output is deterministic (fixed seeds; no torch randomness is used).
tests/test_region_ref.c reads it and checks segloss against it.

Parity targets (MONAI and smp are not installed here: each is transcribed
below into float64 torch from its source, read in these repositories):

  dice      MONAI DiceLoss. Preprocessing (sigmoid/softmax, to_onehot_y,
            include_background, ignore_index masking) as in
            Project-MONAI/MONAI monai/losses/dice.py (DiceLoss.forward, the
            version with ignore_index, read in the fork garciadias/MONAI at
            885c3d304a81e449fedf58d323234cfa318eb8ee); the sums as in
            Project-MONAI/MONAI monai/losses/dice.py at
            e4dd079c78060ae6993bcf710895bf1d434337d5 (intersection, ground_o,
            pred_o, squared_pred, jaccard, batch, smooth_nr, smooth_dr).
  dice/jaccard with smp
            segmentation_models_pytorch DiceLoss and JaccardLoss:
            qubvel-org/segmentation_models.pytorch
            segmentation_models_pytorch/losses/dice.py, jaccard.py and
            _functional.py (soft_dice_score, soft_jaccard_score; smp=1:
            main at 5006616 / 0.5.0, soft_tversky_score with the intersection
            (sum p + sum y - sum |p - y|)/2; smp=2: v0.3.4, sum p*y; the
            real code is run by gen_smp_ref.py): log-softmax
            exp / logsigmoid exp, dims (0, 2), one-hot for multiclass,
            ignore_index masking (DiceLoss's; applied to JaccardLoss the same
            way), clamp_min(eps) of the denominator, log_loss, the mask
            y_true.sum(dims) > 0, `classes` (segloss's no_background is
            classes = [1..C-1]), loss.mean(). segloss's SUM and NONE are the
            sum and the vector of the per-class losses smp averages.
  jaccard   soft IoU, 1 - (I + s_nr)/(P + G - I + s_dr), with MONAI's
            preprocessing (above).
  tversky   MONAI TverskyLoss: garciadias/MONAI monai/losses/tversky.py at the
            commit above (compute_tp_fp_fn with decoupled=False:
            fp = sum p(1-y), fn = sum (1-p)y), then ** gamma (focal Tversky;
            gamma = 1 is MONAI).
  gdice     MONAI GeneralizedDiceLoss: garciadias/MONAI monai/losses/dice.py
            (w_func; infs = isinf(w); w[infs] = 0; w = w + infs * max(w) over
            all channels with batch, per image otherwise; numer/denom; none
            keeps one value per image). The weights are computed in float64
            here (MONAI: ground_o.float()). ignore_index masking as DiceLoss
            (a segloss extension).
  dice_bce  MONAI DiceCELoss with one channel (garciadias/MONAI dice.py:
            lambda_dice * DiceLoss + lambda_ce * BCEWithLogitsLoss(pos_weight,
            reduction)); for C > 1 segloss keeps BCE per channel. Ignored
            elements are left out of the BCE and its mean divides by the
            number kept (0 when none is kept).

Every input is rounded to float32 first (what segloss receives); gradients
are d(reduced loss)/d(input) by autograd, for the upstream gradient given in
the case (1 when absent; an array for reduction none).

File format (line oriented, whitespace separated, '#' starts a comment line)
--------------------------------------------------------------------------
    case NAME
    loss dice|jaccard|tversky|gdice|dice_bce
    shape NDIM D0 D1 ...           the input's shape
    x ARRAY                        float32 input (logits or probabilities)
    target DTYPE NDIM D... ARRAY   DTYPE f32 f64 u8 bool i32 i64; its shape
    opts KEY=VALUE ...             red=mean|sum|none act=sigmoid|none|softmax
                                   kind=auto|dense|index snr= sdr= (custom
                                   smoothing) batch= sq= jac= nobg= smp= log=
                                   (0/1) ign=V alpha= beta= gamma=
                                   w=square|simple|uniform ld= lb=
    pos_weight NDIM D... ARRAY     optional (dice_bce), float32, right-aligned
    grad_out ARRAY                 optional upstream gradient (float32)
    loss VALUE                     reduced loss (none: the sum of the array)
    elems ARRAY                    reduction none: the loss array
    grad ARRAY                     d loss / d x, the input's shape
    end

ARRAY is `v N X1 ... XN`, `r N SEED A B` (X_i = A + (B - A) U_i in double,
rounded to the element type) or `m N SEED P` (X_i = 1 if U_i < P else 0),
with U_i = (splitmix64_i >> 40) * 2^-24, splitmix64_i the i-th output
(i = 0, 1, ...) of splitmix64 seeded with SEED.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
MASK = (1 << 64) - 1
F64 = torch.float64
EPS_SMP = 1e-7


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


class Arr:
    """An array as written to the file, with its values as float64 numpy."""

    def __init__(self, spec, values):
        self.spec = spec
        self.values = np.asarray(values, dtype=np.float64)


def arr_v(values, kind):
    a = np.asarray(values, dtype=np.float64).ravel()
    if kind == 'f32':
        a = a.astype(np.float32).astype(np.float64)
        txt = ' '.join(fmt32(v) for v in a)
    elif kind == 'f64':
        txt = ' '.join('%.17g' % v for v in a)
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


def ref_array(values):
    a = np.asarray(values, dtype=np.float64).ravel()
    return 'v %d %s' % (a.size, ' '.join(fmt_ref(v) for v in a))


# --------------------------------------------------------------------------
# Options of a case
# --------------------------------------------------------------------------
class Opts:
    def __init__(self, d, C, ndim):
        self.d = d
        self.red = d.get('red', 'mean')
        self.act = d.get('act', 'sigmoid')
        kind = d.get('kind', 'auto')
        self.index = kind == 'index' or (kind == 'auto' and self.act == 'softmax')
        self.smp = int(d.get('smp', 0))
        self.log = int(d.get('log', 0))
        dflt = 0.0 if self.smp else 1e-5
        self.snr = float(d['snr']) if 'snr' in d else dflt
        self.sdr = float(d['sdr']) if 'sdr' in d else dflt
        self.batch = int(d.get('batch', 0))
        self.sq = int(d.get('sq', 0))
        self.jac = int(d.get('jac', 0))
        self.nobg = int(d.get('nobg', 0)) and C > 1
        self.ign = float(d['ign']) if 'ign' in d else None
        self.alpha = float(d.get('alpha', 0.5))
        self.beta = float(d.get('beta', 0.5))
        self.gamma = float(d.get('gamma', 1.0))
        self.w = d.get('w', 'square')
        self.ld = float(d.get('ld', 1.0))
        self.lb = float(d.get('lb', 1.0))

    def line(self):
        return ' '.join('%s=%s' % (k, v) for k, v in self.d.items())


def reduce_f(f, red):
    if red == 'mean':
        return torch.mean(f)
    if red == 'sum':
        return torch.sum(f)
    return f


# --------------------------------------------------------------------------
# MONAI preprocessing: DiceLoss.forward / TverskyLoss.forward up to the sums.
# `inp` is (N, C, S); `target` is (N, C, S) dense or (N, 1, S) indices.
# --------------------------------------------------------------------------
def monai_one_hot(labels, num_classes):
    # monai/networks/utils.py one_hot: zeros(...).scatter_(dim=1, labels.long(), 1)
    sh = list(labels.shape)
    sh[1] = num_classes
    o = torch.zeros(size=sh, dtype=F64)
    return o.scatter_(dim=1, index=labels.long(), value=1)


def monai_prepare(inp, target, o):
    n_pred_ch = inp.shape[1]
    if o.act == 'sigmoid':
        inp = torch.sigmoid(inp)
    elif o.act == 'softmax':
        inp = torch.softmax(inp, 1)  # MONAI skips it for one channel; segloss refuses C == 1
    original_target = target
    if o.index:
        t = target
        if o.ign is not None and (o.ign < 0 or o.ign >= n_pred_ch):
            t = torch.where(t == o.ign, torch.zeros_like(t), t)
        target = monai_one_hot(t, n_pred_ch)
    if o.nobg:
        target = target[:, 1:]
        inp = inp[:, 1:]
    if o.ign is not None:
        # create_ignore_mask + mask_loss_inputs: input and target times the mask
        mask = (original_target != o.ign).to(F64)
        if mask.shape[1] > inp.shape[1]:
            mask = mask[:, 1:]
        inp = inp * mask
        target = target * mask
    return inp, target


def monai_dice(inp, target, o):
    inp, target = monai_prepare(inp, target, o)
    reduce_axis = [2]
    if o.batch:
        reduce_axis = [0] + reduce_axis
    intersection = torch.sum(target * inp, dim=reduce_axis)
    if o.sq:
        target = torch.pow(target, 2)
        inp = torch.pow(inp, 2)
    ground_o = torch.sum(target, dim=reduce_axis)
    pred_o = torch.sum(inp, dim=reduce_axis)
    denominator = ground_o + pred_o
    if o.jac:
        denominator = 2.0 * (denominator - intersection)
    score = (2.0 * intersection + o.snr) / (denominator + o.sdr)
    if o.log:
        f = -torch.log(score.clamp_min(EPS_SMP))
    else:
        f = 1.0 - score
    return f.reshape(-1)


def soft_jaccard(inp, target, o):
    inp, target = monai_prepare(inp, target, o)
    reduce_axis = [2]
    if o.batch:
        reduce_axis = [0] + reduce_axis
    intersection = torch.sum(target * inp, dim=reduce_axis)
    union = torch.sum(inp, dim=reduce_axis) + torch.sum(target, dim=reduce_axis) - intersection
    score = (intersection + o.snr) / (union + o.sdr)
    if o.log:
        f = -torch.log(score.clamp_min(EPS_SMP))
    else:
        f = 1.0 - score
    return f.reshape(-1)


def monai_tversky(inp, target, o):
    inp, target = monai_prepare(inp, target, o)
    reduce_axis = [2]
    if o.batch:
        reduce_axis = [0] + reduce_axis
    tp = torch.sum(inp * target, dim=reduce_axis)
    fp = torch.sum(inp * (1 - target), dim=reduce_axis)
    fn = torch.sum((1 - inp) * target, dim=reduce_axis)
    fp = fp * o.alpha
    fn = fn * o.beta
    numerator = tp + o.snr
    denominator = tp + fp + fn + o.sdr
    score = 1.0 - numerator / denominator
    if o.gamma != 1.0:
        score = torch.pow(score, o.gamma)
    return score.reshape(-1)


def monai_gdice(inp, target, o):
    inp, target = monai_prepare(inp, target, o)
    reduce_axis = [2]
    if o.batch:
        reduce_axis = [0] + reduce_axis
    intersection = torch.sum(target * inp, reduce_axis)
    ground_o = torch.sum(target, reduce_axis)
    pred_o = torch.sum(inp, reduce_axis)
    denominator = ground_o + pred_o
    g = ground_o.detach().clone()
    if o.w == 'simple':
        w = torch.reciprocal(g)
    elif o.w == 'square':
        w = torch.reciprocal(g * g)
    else:
        w = torch.ones_like(g)
    infs = torch.isinf(w)
    if o.batch:
        w[infs] = 0.0
        w = w + infs * torch.max(w)
    else:
        w[infs] = 0.0
        max_values = torch.max(w, dim=1)[0].unsqueeze(dim=1)
        w = w + infs * max_values
    final_reduce_dim = 0 if o.batch else 1
    numer = 2.0 * (intersection * w).sum(final_reduce_dim, keepdim=True) + o.snr
    denom = (denominator * w).sum(final_reduce_dim, keepdim=True) + o.sdr
    f = 1.0 - (numer / denom)
    return f.reshape(-1)


def smp_region(kind, y_pred, y_true, o):
    """smp DiceLoss / JaccardLoss forward, returning the per-class losses
    (smp returns their mean)."""
    C = y_pred.size(1)
    multiclass = o.act == 'softmax' or o.index
    if o.act != 'none':  # from_logits
        if multiclass:
            y_pred = y_pred.log_softmax(dim=1).exp()
        else:
            y_pred = F.logsigmoid(y_pred).exp()
    bs = y_true.size(0)
    dims = (0, 2)
    if multiclass:
        y_true = y_true.view(bs, -1)
        y_pred = y_pred.view(bs, C, -1)
        if o.ign is not None:
            mask = y_true != o.ign
            y_pred = y_pred * mask.unsqueeze(1)
            y_true = F.one_hot((y_true * mask).to(torch.long), C)
            y_true = y_true.permute(0, 2, 1) * mask.unsqueeze(1)
        else:
            y_true = F.one_hot(y_true.to(torch.long), C)
            y_true = y_true.permute(0, 2, 1)
    else:
        y_true = y_true.view(bs, C, -1)
        y_pred = y_pred.view(bs, C, -1)
        if o.ign is not None:
            mask = y_true != o.ign
            y_pred = y_pred * mask
            y_true = y_true * mask
    y_true = y_true.type_as(y_pred)
    smooth = o.snr  # smp has one `smooth`; cases keep snr == sdr
    if o.smp == 1:
        # smp >= 0.4: soft_tversky_score, alpha = beta = 1/2 (dice), 1 (jaccard)
        output_sum = torch.sum(y_pred, dim=dims)
        target_sum = torch.sum(y_true, dim=dims)
        difference = torch.linalg.vector_norm(y_pred - y_true, ord=1, dim=dims)
        intersection = (output_sum + target_sum - difference) / 2
        fp = output_sum - intersection
        fn = target_sum - intersection
        a = 0.5 if kind == 'dice' else 1.0
        scores = (intersection + smooth) / (
            intersection + a * fp + a * fn + smooth).clamp_min(EPS_SMP)
    elif kind == 'dice':  # smp 0.3.x
        intersection = torch.sum(y_pred * y_true, dim=dims)
        cardinality = torch.sum(y_pred + y_true, dim=dims)
        scores = (2.0 * intersection + smooth) / (cardinality + smooth).clamp_min(EPS_SMP)
    else:
        intersection = torch.sum(y_pred * y_true, dim=dims)
        cardinality = torch.sum(y_pred + y_true, dim=dims)
        union = cardinality - intersection
        scores = (intersection + smooth) / (union + smooth).clamp_min(EPS_SMP)
    if o.log:
        loss = -torch.log(scores.clamp_min(EPS_SMP))
    else:
        loss = 1.0 - scores
    mask = y_true.sum(dims) > 0
    loss = loss * mask.to(loss.dtype)
    if o.nobg:
        loss = loss[torch.arange(1, C)]
    return loss


def dice_bce(inp, target, o, pos_weight):
    d = reduce_f(monai_dice(inp, target, o), o.red)
    if o.ign is not None:
        m = (target != o.ign).to(F64)
    else:
        m = torch.ones_like(target)
    y = target * m
    pw = None if pos_weight is None else torch.tensor(pos_weight)
    # BCEWithLogitsLoss(pos_weight=..., reduction='none'), ignored ones dropped
    l = F.binary_cross_entropy_with_logits(inp, y, pos_weight=pw, reduction='none') * m
    if o.red == 'mean':
        cnt = m.sum()
        b = l.sum() / cnt if cnt > 0 else l.sum() * 0.0
    else:
        b = l.sum()
    return o.ld * d + o.lb * b


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
CASES = []
COUNTS = {}


def canon(shape):
    """(N, C, S) of an input shape (ndim <= 2: one image)."""
    if len(shape) <= 2:
        return 1, 1, int(np.prod(shape))
    return shape[0], shape[1], int(np.prod(shape[2:]))


def emit(name, loss, shape, x, tdtype, tshape, t, opts, pos_weight=None, pw_shape=None,
         grad_out=None):
    N, C, S = canon(shape)
    o = Opts(opts, C, len(shape))
    xt = torch.tensor(x.values.reshape(N, C, S), requires_grad=True)
    if o.index:
        yt = torch.tensor(t.values.reshape(N, 1, S))
    else:
        yt = torch.tensor(t.values.reshape(N, C, S))
    if loss == 'dice' and o.smp:
        f = reduce_f(smp_region('dice', xt, yt.reshape(N, S) if o.index else yt, o), o.red)
    elif loss == 'jaccard' and o.smp:
        f = reduce_f(smp_region('jaccard', xt, yt.reshape(N, S) if o.index else yt, o), o.red)
    elif loss == 'dice':
        f = reduce_f(monai_dice(xt, yt, o), o.red)
    elif loss == 'jaccard':
        f = reduce_f(soft_jaccard(xt, yt, o), o.red)
    elif loss == 'tversky':
        f = reduce_f(monai_tversky(xt, yt, o), o.red)
    elif loss == 'gdice':
        f = reduce_f(monai_gdice(xt, yt, o), o.red)
    elif loss == 'dice_bce':
        pw = None
        if pos_weight is not None:
            # right-aligned against the real shape, as PyTorch, then (N, C, S)
            pw = np.asarray(pos_weight.values).reshape(pw_shape)
            pw = np.broadcast_to(pw, shape).reshape(N, C, S).copy()
        f = dice_bce(xt, yt, o, pw)
    else:
        raise ValueError(loss)
    if o.red == 'none':
        go = torch.ones_like(f) if grad_out is None else torch.tensor(
            grad_out.values.reshape(f.shape))
        f.backward(go)
        total = float(f.sum())
    else:
        go = torch.tensor(1.0) if grad_out is None else torch.tensor(float(grad_out.values[0]))
        f.backward(go)
        total = float(f)
    lines = ['case %s' % name, 'loss %s' % loss,
             'shape %d %s' % (len(shape), ' '.join(str(d) for d in shape)),
             'x %s' % x.spec,
             'target %s %d %s %s' % (tdtype, len(tshape), ' '.join(str(d) for d in tshape),
                                     t.spec),
             'opts %s' % o.line()]
    if pos_weight is not None:
        lines.append('pos_weight %d %s %s' % (len(pw_shape), ' '.join(str(d) for d in pw_shape),
                                              pos_weight.spec))
    if grad_out is not None:
        lines.append('grad_out %s' % grad_out.spec)
    lines.append('loss %s' % ('%.17g' % total if np.isfinite(total) else fmt_ref(total)))
    if o.red == 'none':
        lines.append('elems %s' % ref_array(f.detach().numpy()))
    lines.append('grad %s' % ref_array(xt.grad.numpy()))
    lines.append('end')
    CASES.append('\n'.join(lines))
    COUNTS[loss] = COUNTS.get(loss, 0) + 1


SEED = [1000]


def next_seed():
    SEED[0] += 1
    return SEED[0]


def rand_x(shape, act, lo=-3.0, hi=3.0):
    n = int(np.prod(shape))
    if act == 'none':
        return arr_r(n, next_seed(), 0.02, 0.98)
    return arr_r(n, next_seed(), lo, hi)


def index_target(N, S, C, ign=None, absent=None, all_absent=None, frac_ign=0.2):
    """Class indices (N, S): image n never uses class absent[n] (if given),
    no image uses all_absent; about frac_ign of the pixels are `ign`."""
    u = uniform_stream(next_seed(), 2 * N * S)
    vals = []
    for n in range(N):
        allowed = [c for c in range(C)
                   if not (absent is not None and absent[n] == c) and c != all_absent]
        for s in range(S):
            k = n * S + s
            if ign is not None and u[2 * k] < frac_ign:
                vals.append(ign)
            else:
                vals.append(allowed[int(u[2 * k + 1] * len(allowed))])
    return vals


def dense_target(n, kind, ign=None, frac_ign=0.2, p=0.45):
    """Masks (kind 'mask', 0/1) or soft labels ('soft') with about frac_ign
    of the elements equal to `ign`."""
    u = uniform_stream(next_seed(), 2 * n)
    vals = []
    for i in range(n):
        if ign is not None and u[2 * i] < frac_ign:
            vals.append(ign)
        elif kind == 'mask':
            vals.append(1.0 if u[2 * i + 1] < p else 0.0)
        else:
            vals.append(float(np.float32(u[2 * i + 1])))
    return vals


REDS = ['mean', 'sum', 'none']


def target_for(shape, o_act, kind, ign, tdtype, absent=None, all_absent=None, soft=False):
    N, C, S = canon(shape)
    index = kind == 'index' or (kind == 'auto' and o_act == 'softmax')
    if index:
        vals = index_target(N, S, C, ign, absent, all_absent)
        tshape = [shape[0]] + list(shape[2:])
        return tdtype, tshape, arr_v(vals, 'int')
    vals = dense_target(N * C * S, 'soft' if soft else 'mask', ign)
    if tdtype in ('f32', 'f64'):
        return tdtype, list(shape), arr_v(vals, tdtype)
    return tdtype, list(shape), arr_v(vals, 'int')


def region_grid(loss, extra_opts_list):
    """Activation x no_background x ignore x batch, reductions in turn."""
    k = 0
    for act in ['sigmoid', 'none', 'softmax']:
        for nobg in [0, 1]:
            for ign in [None, 255]:
                for batch in [0, 1]:
                    shape = [2, 3, 3, 4]
                    red = REDS[k % 3]
                    extra = extra_opts_list[k % len(extra_opts_list)]
                    k += 1
                    opts = {'red': red, 'act': act}
                    if nobg:
                        opts['nobg'] = 1
                    if batch:
                        opts['batch'] = 1
                    if ign is not None:
                        opts['ign'] = ign
                    opts.update(extra)
                    soft = act != 'softmax' and (k % 2 == 0)
                    tdtype = ('i64' if k % 2 else 'u8') if act == 'softmax' else (
                        'f32' if soft else ('u8' if k % 3 else 'i64'))
                    # an image without class 2 (index) exercises empty items
                    tt = target_for(shape, act, 'auto', ign, tdtype, absent=[2, None])
                    grad_out = None
                    if k % 4 == 0:
                        if red == 'none':
                            n_items = 3 - nobg if batch else 2 * (3 - nobg)
                            grad_out = arr_r(n_items, next_seed(), -1.5, 1.5)
                        else:
                            grad_out = arr_v([0.75], 'f32')
                    name = '%s_%s_nobg%d_ign%d_b%d_%s%s' % (
                        loss, act, nobg, ign is not None, batch, red,
                        ''.join('_%s%s' % (a, b) for a, b in extra.items()))
                    emit(name, loss, shape, rand_x(shape, act), tt[0], tt[1], tt[2], opts,
                         grad_out=grad_out)


def smp_grid(loss):
    k = 0
    for act in ['sigmoid', 'none', 'softmax']:
        for log in [0, 1]:
            for variant in [0, 1]:
                shape = [2, 3, 3, 4]
                red = REDS[k % 3]
                k += 1
                opts = {'red': red, 'act': act, 'smp': 1}
                if log:
                    opts['log'] = 1
                ign = None
                if variant:
                    opts['nobg'] = 1
                    ign = 255 if act != 'softmax' else 7
                    opts['ign'] = ign
                tdtype = 'i64' if act == 'softmax' else ('u8' if variant else 'f32')
                # class 2 absent from the whole batch: masked out by smp
                tt = target_for(shape, act, 'auto', ign, tdtype,
                                all_absent=2 if act == 'softmax' else None)
                if act != 'softmax' and not variant:
                    # channel 1 empty everywhere (dense): smp's mask again
                    v = tt[2].values.reshape(2, 3, 12).copy()
                    v[:, 1, :] = 0.0
                    tt = (tt[0], tt[1], arr_v(v, 'f32'))
                name = '%s_smp_%s_log%d_v%d_%s' % (loss, act, log, variant, red)
                emit(name, loss, shape, rand_x(shape, act), tt[0], tt[1], tt[2], opts)


def main():
    # ---- dice: the new options on MONAI's DiceLoss ----
    region_grid('dice', [{}, {'sq': 1}, {'jac': 1}, {'snr': 0.5, 'sdr': 0.25}])
    # target kinds crossed with activations (MONAI to_onehot_y with sigmoid;
    # softmax with soft dense targets)
    for act, kind in [('sigmoid', 'index'), ('none', 'index'), ('softmax', 'dense')]:
        shape = [2, 4, 5]
        opts = {'red': 'mean', 'act': act, 'kind': kind}
        tt = target_for(shape, act, kind, None, 'i32' if kind == 'index' else 'f32', soft=True)
        emit('dice_kind_%s_%s' % (act, kind), 'dice', shape, rand_x(shape, act), tt[0], tt[1],
             tt[2], opts)
    for loss in ['dice', 'jaccard']:
        # log_loss on MONAI's score
        shape = [2, 2, 6]
        tt = target_for(shape, 'sigmoid', 'auto', None, 'f32')
        emit('%s_log_monai' % loss, loss, shape, rand_x(shape, 'sigmoid'), tt[0], tt[1], tt[2],
             {'red': 'mean', 'act': 'sigmoid', 'log': 1})
        smp_grid(loss)
        # smp, binary mode (one channel, N x H x W with a channel axis; and
        # one 2-D image), custom smooth (snr == sdr: smp's one `smooth`)
        for shape, opts in [([3, 1, 4, 4], {'red': 'mean', 'act': 'sigmoid', 'smp': 1}),
                            ([5, 6], {'red': 'mean', 'act': 'sigmoid', 'smp': 1,
                                      'snr': 1.0, 'sdr': 1.0}),
                            ([2, 3, 8], {'red': 'none', 'act': 'softmax', 'smp': 1,
                                         'snr': 0.5, 'sdr': 0.5, 'log': 1})]:
            tt = target_for(shape, opts['act'], 'auto', None,
                            'i64' if opts['act'] == 'softmax' else 'u8')
            emit('%s_smp_shape%s%s' % (loss, 'x'.join(map(str, shape)),
                                        '_smooth' if 'snr' in opts else ''),
                 loss, shape, rand_x(shape, opts['act']), tt[0], tt[1], tt[2], opts)

    # ---- jaccard ----
    region_grid('jaccard', [{}, {'snr': 0.5, 'sdr': 0.25}])

    # ---- tversky ----
    region_grid('tversky', [{}, {'alpha': 0.3, 'beta': 0.7},
                            {'alpha': 0.7, 'beta': 0.3, 'gamma': 1.5},
                            {'alpha': 0.2, 'beta': 0.8, 'gamma': 0.75, 'snr': 0.1, 'sdr': 0.1}])

    # ---- generalized dice ----
    k = 0
    for w in ['square', 'simple', 'uniform']:
        for batch in [0, 1]:
            for act in ['sigmoid', 'none', 'softmax']:
                shape = [3, 3, 2, 5]
                red = REDS[k % 3]
                k += 1
                opts = {'red': red, 'act': act, 'w': w}
                if batch:
                    opts['batch'] = 1
                ign = None
                if k % 3 == 0:
                    opts['nobg'] = 1
                if k % 2 == 0:
                    ign = 255 if act != 'softmax' else -1
                    opts['ign'] = ign
                tdtype = 'i64' if act == 'softmax' else ('f32' if k % 2 else 'u8')
                # absent classes: image 0 lacks class 1, image 1 lacks class 2
                tt = target_for(shape, act, 'auto', ign, tdtype, absent=[1, 2, None],
                                soft=(act != 'softmax' and k % 4 == 1))
                if act != 'softmax':
                    # dense: empty channel 1 of image 0 (an infinite weight)
                    v = tt[2].values.reshape(3, 3, 10).copy()
                    v[0, 1, :] = 0.0
                    tt = (tt[0], tt[1], arr_v(v, 'f32' if tdtype == 'f32' else 'int'))
                name = 'gdice_%s_b%d_%s_%s%s%s' % (w, batch, act, red,
                                                  '_nobg' if 'nobg' in opts else '',
                                                  '_ign' if ign is not None else '')
                emit(name, 'gdice', shape, rand_x(shape, act), tt[0], tt[1], tt[2], opts)
    # every weight infinite in one image (image 0 entirely empty): all 0 there
    for w, batch in [('square', 0), ('simple', 1)]:
        shape = [2, 2, 6]
        v = np.array(dense_target(24, 'mask')).reshape(2, 2, 6)
        v[0] = 0.0
        if batch:
            v[:] = 0.0
        emit('gdice_all_empty_%s_b%d' % (w, batch), 'gdice', shape, rand_x(shape, 'sigmoid'),
             'f32', shape, arr_v(v, 'f32'), {'red': 'none', 'act': 'sigmoid', 'w': w,
                                             'batch': batch})

    # ---- dice + bce ----
    k = 0
    for lam in [{}, {'ld': 0.3, 'lb': 1.7}, {'ld': 0.0, 'lb': 1.0}, {'ld': 2.0, 'lb': 0.0}]:
        for variant in range(3):
            shape = [2, 3, 4, 3] if variant != 2 else [2, 1, 5, 4]
            N, C, S = canon(shape)
            red = 'mean' if k % 2 == 0 else 'sum'
            k += 1
            opts = {'red': red, 'act': 'sigmoid'}
            opts.update(lam)
            ign = None
            pw, pw_shape = None, None
            if variant == 0:
                pw = arr_r(C, next_seed(), 0.5, 3.0)
                pw_shape = [C, 1, 1]
                opts['batch'] = 1
            elif variant == 1:
                ign = 255
                opts['ign'] = ign
                opts['sq'] = 1
                pw = arr_r(3, next_seed(), 0.5, 3.0)
                pw_shape = [3]  # PyTorch's right-aligned rule: the last axis
            else:
                opts['snr'] = 0.2
                opts['sdr'] = 0.1
                opts['nobg'] = 1  # one channel: no effect, as MONAI
            tt = target_for(shape, 'sigmoid', 'dense', ign, 'u8' if ign else 'f32',
                            soft=(variant == 2))
            grad_out = arr_v([1.25], 'f32') if k % 3 == 0 else None
            name = 'dice_bce_v%d_%s_%s' % (variant, red,
                                           '_'.join('%s%s' % kv for kv in lam.items()) or 'l11')
            emit(name, 'dice_bce', shape, rand_x(shape, 'sigmoid'), tt[0], tt[1], tt[2], opts,
                 pos_weight=pw, pw_shape=pw_shape, grad_out=grad_out)

    # ---- edge cases, every loss ----
    for loss in ['dice', 'jaccard', 'tversky', 'gdice', 'dice_bce']:
        base = {'red': 'mean', 'act': 'sigmoid'}
        # empty targets
        shape = [2, 2, 3, 3]
        emit('%s_edge_empty' % loss, loss, shape, rand_x(shape, 'sigmoid'), 'u8', shape,
             arr_v(np.zeros(36), 'int'), dict(base))
        # one image entirely ignored (the other normal)
        v = np.array(dense_target(36, 'mask')).reshape(2, 2, 9)
        v[1] = 255
        o = dict(base)
        o['ign'] = 255
        o['red'] = 'none' if loss != 'dice_bce' else 'mean'
        emit('%s_edge_image_ignored' % loss, loss, shape, rand_x(shape, 'sigmoid'), 'u8', shape,
             arr_v(v, 'int'), o)
        # all ignored
        o = dict(base)
        o['ign'] = 255
        emit('%s_edge_all_ignored' % loss, loss, shape, rand_x(shape, 'sigmoid'), 'u8', shape,
             arr_v(np.full(36, 255), 'int'), o)
        # a single pixel, 1-D and (1,1,1)
        emit('%s_edge_pixel_1d' % loss, loss, [1], rand_x([1], 'sigmoid'), 'f32', [1],
             arr_v([1.0], 'f32'), dict(base))
        act = 'sigmoid' if loss == 'dice_bce' else 'none'
        emit('%s_edge_pixel_111' % loss, loss, [1, 1, 1], rand_x([1, 1, 1], act), 'f32',
             [1, 1, 1], arr_v([0.0], 'f32'), {'red': 'sum', 'act': act})
        # soft labels on a 3-D volume (N, C, D, H, W)
        shape = [1, 2, 2, 3, 4]
        tt = target_for(shape, 'sigmoid', 'auto', None, 'f64', soft=True)
        emit('%s_edge_soft_3d' % loss, loss, shape, rand_x(shape, 'sigmoid'), tt[0], tt[1],
             tt[2], dict(base))
        if loss != 'dice_bce':
            # softmax, a class absent from the whole batch, one pixel ignored
            shape = [2, 3, 5]
            vals = index_target(2, 5, 3, None, all_absent=1)
            vals[3] = 9
            emit('%s_edge_softmax_absent' % loss, loss, shape, rand_x(shape, 'softmax'), 'u8',
                 [2, 5], arr_v(vals, 'int'), {'red': 'none', 'act': 'softmax', 'ign': 9})
    out = sys.stdout
    out.write('# segloss region-loss reference values: generated by '
              'tools/ref/gen_region_ref.py\n')
    out.write('# with torch %s, numpy %s (float64). Do not edit; regenerate.\n'
              % (torch.__version__, np.__version__))
    out.write('# cases: %s\n' % ', '.join('%s %d' % kv for kv in sorted(COUNTS.items())))
    out.write('\n'.join(CASES))
    out.write('\n')


# --------------------------------------------------------------------------
# --cli: references for tests/cli/run.sh (region block), on the CLI fixtures
# --------------------------------------------------------------------------
CLI_DATA = 'tests/cli/data'


def cli_targets():
    """The uint8 targets tests/cli/run.sh writes with mk_u8 (same formulas):
    rcls (2, 4, 4) class indices (7i + i//4) % 3; rcls_ign: 255 where
    i % 6 == 1; ryi: y_u8.npy with 255 where i % 5 == 4."""
    rcls = np.array([(7 * i + i // 4) % 3 for i in range(32)], dtype=np.float64)
    rcls_ign = rcls.copy()
    rcls_ign[[i for i in range(32) if i % 6 == 1]] = 255
    y = np.load('%s/y_u8.npy' % CLI_DATA).astype(np.float64).ravel()
    ryi = y.copy()
    ryi[[i for i in range(96) if i % 5 == 4]] = 255
    return {'rcls': rcls.reshape(2, 4, 4), 'rcls_ign': rcls_ign.reshape(2, 4, 4),
            'ryi': ryi.reshape(2, 3, 4, 4)}


def cli_value(loss, xv, tv, opts, pw=None):
    shape = list(xv.shape)
    N, C, S = canon(shape)
    o = Opts(opts, C, len(shape))
    xt = torch.tensor(xv.astype(np.float64).reshape(N, C, S), requires_grad=True)
    if o.index:
        yt = torch.tensor(tv.astype(np.float64).reshape(N, 1, S))
    else:
        yt = torch.tensor(tv.astype(np.float64).reshape(N, C, S))
    if loss in ('dice', 'jaccard') and o.smp:
        f = smp_region(loss, xt, yt.reshape(N, S) if o.index else yt, o)
    elif loss == 'dice':
        f = monai_dice(xt, yt, o)
    elif loss == 'jaccard':
        f = soft_jaccard(xt, yt, o)
    elif loss == 'tversky':
        f = monai_tversky(xt, yt, o)
    elif loss == 'gdice':
        f = monai_gdice(xt, yt, o)
    else:
        pwf = None
        if pw is not None:
            pwf = np.broadcast_to(pw, shape).reshape(N, C, S).copy()
        f = dice_bce(xt, yt, o, pwf)
    if loss != 'dice_bce':
        f = reduce_f(f, o.red)
    if o.red == 'none':
        f.backward(torch.ones_like(f))
        return float(f.sum()), f.detach().numpy().ravel(), xt.grad.numpy().ravel()
    f.backward()
    return float(f), None, xt.grad.numpy().ravel()


def cli_main():
    x = np.load('%s/x.npy' % CLI_DATA)
    p = np.load('%s/p.npy' % CLI_DATA)
    y = np.load('%s/y.npy' % CLI_DATA)
    pwf = np.load('%s/pw.npy' % CLI_DATA)
    T = cli_targets()
    cases = []
    for r in ['mean', 'sum', 'none']:
        cases += [('jaccard.%s' % r, 'jaccard', x, y, {'red': r}, None),
                  ('tversky.%s' % r, 'tversky', x, y, {'red': r}, None),
                  ('gdice.%s' % r, 'gdice', x, y, {'red': r}, None)]
    cases += [
        # dice: the options of the region family
        ('dice.softmax', 'dice', x, T['rcls'], {'act': 'softmax'}, None),
        ('dice.softmax.nobg.ign.none', 'dice', x, T['rcls_ign'],
         {'act': 'softmax', 'nobg': 1, 'ign': 255, 'red': 'none'}, None),
        ('dice.ign.sum', 'dice', x, T['ryi'], {'ign': 255, 'red': 'sum'}, None),
        ('dice.nobg.batch.none', 'dice', x, y, {'nobg': 1, 'batch': 1, 'red': 'none'}, None),
        ('dice.smp', 'dice', x, y, {'smp': 1}, None),
        ('dice.smp.log.softmax', 'dice', x, T['rcls'], {'smp': 1, 'log': 1, 'act': 'softmax'},
         None),
        ('dice.smp.smooth.ign', 'dice', x, T['ryi'], {'smp': 1, 'snr': 1.0, 'sdr': 1.0,
                                                     'ign': 255}, None),
        # jaccard
        ('jaccard.batch.smooth', 'jaccard', x, y, {'batch': 1, 'snr': 0.5, 'sdr': 0.25}, None),
        ('jaccard.actnone', 'jaccard', p, y, {'act': 'none'}, None),
        ('jaccard.softmax.nobg.ign', 'jaccard', x, T['rcls_ign'],
         {'act': 'softmax', 'nobg': 1, 'ign': 255}, None),
        ('jaccard.smp.log', 'jaccard', x, y, {'smp': 1, 'log': 1}, None),
        # tversky
        ('tversky.a0.3.b0.7.g1.5', 'tversky', x, y, {'alpha': 0.3, 'beta': 0.7, 'gamma': 1.5},
         None),
        ('tversky.beta0.8', 'tversky', x, y, {'beta': 0.8}, None),
        ('tversky.softmax.ign.none', 'tversky', x, T['rcls_ign'],
         {'act': 'softmax', 'ign': 255, 'red': 'none'}, None),
        ('tversky.batch.ign', 'tversky', x, T['ryi'], {'batch': 1, 'ign': 255}, None),
        # generalized dice
        ('gdice.simple.batch', 'gdice', x, y, {'w': 'simple', 'batch': 1}, None),
        ('gdice.uniform.softmax.nobg', 'gdice', x, T['rcls'],
         {'w': 'uniform', 'act': 'softmax', 'nobg': 1}, None),
        ('gdice.softmax.ign', 'gdice', x, T['rcls_ign'], {'act': 'softmax', 'ign': 255}, None),
        # dice + bce
        ('dicebce.mean', 'dice_bce', x, y, {'red': 'mean'}, None),
        ('dicebce.sum', 'dice_bce', x, y, {'red': 'sum'}, None),
        ('dicebce.lambda.pw', 'dice_bce', x, y, {'ld': 0.3, 'lb': 1.7},
         np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)),
        ('dicebce.ign.batch', 'dice_bce', x, T['ryi'], {'ign': 255, 'batch': 1}, None),
        ('dicebce.pwfile.squared', 'dice_bce', x, y, {'sq': 1},
         pwf.astype(np.float64)),
    ]
    out = sys.stdout
    out.write('# segloss region-loss CLI references: tools/ref/gen_region_ref.py --cli\n')
    out.write('# (torch %s, float64) on tests/cli/data and the targets tests/cli/run.sh\n'
              % torch.__version__)
    out.write('# writes: "KEY LOSS", "g.KEY N GRAD...", "o.KEY N LOSS-ARRAY...".\n')
    for key, loss, xv, tv, opts, pw in cases:
        opts = dict(opts)
        opts.setdefault('red', 'mean')
        opts.setdefault('act', 'sigmoid')
        total, elems, grad = cli_value(loss, xv, tv, opts, pw)
        out.write('%s %.17g\n' % (key, total))
        out.write('g.%s %d %s\n' % (key, grad.size, ' '.join('%.10g' % v for v in grad)))
        if elems is not None:
            out.write('o.%s %d %s\n' % (key, elems.size, ' '.join('%.10g' % v for v in elems)))


if __name__ == '__main__':
    if sys.argv[1:] == ['--cli']:
        cli_main()
    else:
        main()
