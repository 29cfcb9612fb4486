#!/usr/bin/python3
"""Reference values for `unified-focal` and `gwdl`, from MONAI's real code
run with Debian's torch (float64).

    /usr/bin/python3 tools/ref/gen_loss3_ref.py MONAI_DIR > tests/data/loss3_ref.txt
    /usr/bin/python3 tools/ref/gen_loss3_ref.py MONAI_DIR --cli > tests/data/loss3_ref_cli.txt

(the second, run from the repository root, reads tests/cli/data/x.npy, p.npy
and y.npy and the class-index target tests/cli/run.sh writes, rcls: (2, 4, 4),
value (7i + i//4) % 3 at flat index i; "KEY LOSS" and "g.KEY N GRAD..." lines,
as gen_loss2_ref.py --cli).

MONAI_DIR holds the `monai` package of Project-MONAI/MONAI (checked: 1.5.0,
commit d388d1c6f; `git archive HEAD monai | tar -x -C MONAI_DIR`). Nothing
of its code is copied here: AsymmetricUnifiedFocalLoss and
GeneralizedWassersteinDiceLoss are imported from that folder.

Output format: that of tools/ref/gen_loss2_ref.py (tests/test_loss2_ref.c
reads both), plus, for gwdl, a line `dm v C*C values...` (the distance
matrix as given, float32 values).

unified-focal with one channel: MONAI one-hots the *prediction* too
(one_hot(y_pred) truncates it to an integer class, so its loss has no
gradient); segloss reads one channel p as the two channels (1 - p, p), and
the reference is MONAI's loss of torch.cat([1 - p, p]) against
torch.cat([1 - y, y]) (what one_hot gives for a 0/1 target), differentiated
through the cat.

gwdl: MONAI 1.5.0's GeneralizedWassersteinDiceLoss mixes the images of a
batch (the true positives of image n sum alpha of image n times 1 - w of
every image: MONAI issue #4650, fixed by PR #8744 after 1.5.0). segloss
computes each image's own loss (Fidon's definition, and MONAI after that
fix); the reference is MONAI 1.5.0 run on each image alone (batch 1, where
it is right), the per-image losses then averaged (mean) or summed (sum). Activations (sigmoid, softmax) are applied in torch before
MONAI's code, which takes probabilities.
"""
import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[1])
from monai.losses import AsymmetricUnifiedFocalLoss, GeneralizedWassersteinDiceLoss  # noqa: E402

OUT = []


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def varr(values, as_int=False):
    vals = np.asarray(values).ravel()
    if as_int:
        return 'v %d %s' % (vals.size, ' '.join('%d' % int(v) for v in vals))
    return 'v %d %s' % (vals.size, ' '.join('%.9g' % v for v in vals))


def emit(name, kind, x, target, tdtype, opts, loss, grad, dm=None):
    OUT.append('case %s' % name)
    OUT.append('kind %s' % kind)
    OUT.append('shape %d %s' % (x.ndim, ' '.join(str(d) for d in x.shape)))
    OUT.append('x ' + varr(x))
    OUT.append('target %s %s' % (tdtype, varr(target, tdtype != 'f32')))
    if dm is not None:
        OUT.append('dm ' + varr(dm))
    OUT.append('opts ' + ' '.join('%s=%s' % kv for kv in opts.items()))
    OUT.append('loss %.10g' % loss)
    OUT.append('grad ' + varr(grad))
    OUT.append('end')


def run(fn, x):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    loss = fn(xt)
    loss.backward()
    return float(loss), xt.grad.numpy().copy()


# --------------------------------------------------------------------------
# unified-focal: MONAI AsymmetricUnifiedFocalLoss
# --------------------------------------------------------------------------
def unified_focal_cases(rng):
    def case(name, shape, act='none', index=False, ctor=None, empty=False, extreme=False,
             binary_probs=False):
        ctor = ctor or {}
        n, c = shape[0], shape[1]
        sp = shape[2:]
        scale = 40.0 if extreme else 3.0
        z = rng.standard_normal(shape) * scale
        if act == 'none':
            zt = torch.tensor(z)
            p = torch.softmax(zt, 1) if c == 2 else torch.sigmoid(zt)
            x = f32(p.numpy())
            if binary_probs:
                x = f32(rng.random(shape) < 0.5)
        else:
            x = f32(z)
        lab = (rng.random((n,) + sp) < 0.4).astype(np.int64)
        if empty:
            lab[:] = 0
        if index:
            target, dt = lab, 'i64'
            yt = torch.nn.functional.one_hot(torch.tensor(lab), 2).movedim(-1, 1).double()
        elif c == 2:
            y = np.stack([1 - lab, lab], 1).astype(np.float64)
            target, dt = y, 'f32'
            yt = torch.tensor(y)
        else:
            target, dt = lab[:, None].astype(np.float64), 'f32'
            yt = torch.tensor(np.concatenate([1 - target, target], 1))
        loss_fn = AsymmetricUnifiedFocalLoss(**ctor)

        def f(v):
            if act == 'softmax':
                p = torch.softmax(v, 1)
            elif act == 'sigmoid':
                p = torch.sigmoid(v)
            else:
                p = v
            if c == 1:
                p = torch.cat([1 - p, p], 1)
            return loss_fn(p, yt)

        loss, grad = run(f, x)
        opts = {'act': act}
        opts['tkind'] = 'index' if index else 'dense'
        for k, key in (('weight', 'w'), ('delta', 'delta'), ('gamma', 'gamma')):
            if k in ctor:
                opts[key] = ctor[k]
        emit(name, 'unified-focal', x, target, dt, opts, loss, grad)

    case('uf_probs_2d_c2', (2, 2, 5, 4))
    case('uf_softmax_3d_index', (2, 2, 3, 4, 3), act='softmax', index=True)
    case('uf_c1_probs_2d', (3, 1, 5, 5))
    case('uf_c1_sigmoid_3d_empty', (2, 1, 4, 3, 3), act='sigmoid', empty=True)
    case('uf_opts_w03_d06_g075', (2, 2, 4, 4), ctor=dict(weight=0.3, delta=0.6, gamma=0.75))
    case('uf_c2_empty_foreground', (2, 2, 4, 4), empty=True)
    case('uf_extreme_softmax', (2, 2, 5, 5), act='softmax', extreme=True)
    case('uf_c1_binary_probs', (2, 1, 4, 6), binary_probs=True)
    case('uf_c1_sigmoid_extreme', (3, 1, 3, 3), act='sigmoid', extreme=True)


# --------------------------------------------------------------------------
# gwdl: MONAI GeneralizedWassersteinDiceLoss
# --------------------------------------------------------------------------
def gwdl_cases(rng):
    def case(name, shape, m, mode='default', red='mean', snr=None, sdr=None, absent=None,
             extreme=False, all_zero=False):
        n, c = shape[0], shape[1]
        sp = shape[2:]
        x = f32(rng.standard_normal(shape) * (40.0 if extreme else 3.0))
        lab = rng.integers(0, c, size=(n,) + sp)
        if absent is not None:
            lab[lab == absent] = (absent + 1) % c
        if all_zero:
            lab[:] = 0
        m = np.asarray(m, dtype=np.float32)
        ctor = dict(weighting_mode=mode)
        opts = {'mode': mode, 'red': red}
        if snr is not None:
            ctor['smooth_nr'] = snr
            opts['snr'] = snr
        if sdr is not None:
            ctor['smooth_dr'] = sdr
            opts['sdr'] = sdr
        loss_fn = GeneralizedWassersteinDiceLoss(dist_matrix=m.copy(), **ctor)
        tt = torch.tensor(lab[:, None])
        # MONAI 1.5.0 mixes the images of a batch (issue #4650, fixed by PR
        # #8744 after 1.5.0): its loss of each image alone is the per-image
        # loss, reduced over the batch here.
        items = lambda v: torch.stack([loss_fn(v[k:k + 1], tt[k:k + 1]) for k in range(n)])
        red_fn = torch.mean if red == 'mean' else torch.sum
        loss, grad = run(lambda v: red_fn(items(v)), x)
        emit(name, 'gwdl', x, lab, 'i64', opts, loss, grad, dm=m)

    m3 = [[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]]
    a = rng.random((4, 4)) * 2.0
    m4 = (a + a.T) / 2
    np.fill_diagonal(m4, 0.0)
    m4[0, 1] = m4[1, 0] = 2.0  # max 2: MONAI divides by it
    case('gwdl_default_2d', (2, 3, 5, 4), m3)
    case('gwdl_gdl_3d_scaled', (2, 4, 3, 3, 2), m4, mode='GDL')
    case('gwdl_default_3d_scaled', (2, 4, 3, 2, 3), m4)
    case('gwdl_sum_absent_class', (3, 3, 4, 4), m3, red='sum', absent=2)
    case('gwdl_gdl_smooth_binary', (2, 2, 6, 5), [[0.0, 1.0], [1.0, 0.0]], mode='GDL',
         snr=1e-3, sdr=2e-3)
    case('gwdl_extreme', (2, 3, 4, 4), m3, extreme=True)
    case('gwdl_all_background', (2, 3, 4, 4), m3, all_zero=True)
    case('gwdl_gdl_1d_asymmetric', (2, 3, 7), [[0.0, 0.3, 1.0], [0.6, 0.0, 0.2], [0.9, 0.4, 0.1]],
         mode='GDL')


def cli_refs():
    x = np.load('tests/cli/data/x.npy').astype(np.float64)
    p = np.load('tests/cli/data/p.npy').astype(np.float64)
    y = np.load('tests/cli/data/y.npy').astype(np.float64)
    rcls = np.array([(7 * i + i // 4) % 3 for i in range(32)]).reshape(2, 4, 4)
    idx = torch.tensor(rcls[:, None])
    lines = []

    def add(key, fn, xs):
        loss, grad = run(fn, xs)
        lines.append('%s %.17g' % (key, loss))
        lines.append('g.%s %d %s' % (key, grad.size, ' '.join('%.10g' % v for v in grad.ravel())))

    y1 = torch.tensor(y[:, :1])
    y2 = torch.cat([1 - y1, y1], 1)
    uf = AsymmetricUnifiedFocalLoss()
    add('uf.sigmoid.c1', lambda v: uf(torch.cat([1 - torch.sigmoid(v), torch.sigmoid(v)], 1), y2),
        x[:, :1])
    ufo = AsymmetricUnifiedFocalLoss(weight=0.3, delta=0.6, gamma=0.75)
    add('uf.probs.c1.w0.3.d0.6.g0.75', lambda v: ufo(torch.cat([1 - v, v], 1), y2), p[:, :1])
    # the uint8 matrix run.sh writes, [[0,2,2],[2,0,1],[2,1,0]]: MONAI divides it by 2
    m = np.array([[0, 2, 2], [2, 0, 1], [2, 1, 0]], dtype=np.float32)
    gd = GeneralizedWassersteinDiceLoss(dist_matrix=m.copy())
    add('gwdl.default', lambda v: torch.mean(torch.stack(
        [gd(v[k:k + 1], idx[k:k + 1]) for k in range(2)])), x)
    gg = GeneralizedWassersteinDiceLoss(dist_matrix=m.copy(), weighting_mode='GDL', smooth_nr=1e-3)
    add('gwdl.gdl.snr.none', lambda v: torch.sum(torch.stack(
        [gg(v[k:k + 1], idx[k:k + 1]) for k in range(2)])), x)
    print('# segloss unified-focal and gwdl CLI references: tools/ref/gen_loss3_ref.py --cli')
    print('# (MONAI 1.5.0, torch %s, float64; gwdl per image, see the docstring).'
          % torch.__version__)
    print('\n'.join(lines))


def main():
    if '--cli' in sys.argv:
        cli_refs()
        return
    rng = np.random.default_rng(20261206)
    unified_focal_cases(rng)
    gwdl_cases(rng)
    print('# segloss unified-focal and gwdl references: generated by tools/ref/gen_loss3_ref.py')
    print('# from MONAI 1.5.0 (d388d1c6f) code, torch %s, float64. Do not edit; regenerate.'
          % torch.__version__)
    print('\n'.join(OUT))


if __name__ == '__main__':
    main()
