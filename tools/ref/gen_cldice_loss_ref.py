#!/usr/bin/python3
"""Reference values for segloss's cldice and dice-cldice, from MONAI's real
SoftclDiceLoss and SoftDiceclDiceLoss (monai/losses/cldice.py) run with
Debian's torch (float64, autograd gradients).

    /usr/bin/python3 tools/ref/gen_cldice_loss_ref.py MONAI_DIR > tests/data/cldice_ref.txt
    /usr/bin/python3 tools/ref/gen_cldice_loss_ref.py MONAI_DIR --cli > tests/data/cldice_ref_cli.txt

MONAI_DIR holds the `monai` package of Project-MONAI/MONAI (checked: 1.5.0,
commit d388d1c6f; `git archive HEAD monai | tar -x -C MONAI_DIR`). Nothing
of its code is copied here. The --cli form, run from the repository root,
reads tests/cli/data/p.npy and y.npy (see tests/cli/run.sh) and prints
"KEY LOSS" and "g.KEY N GRAD..." lines.

MONAI's forward takes (y_true, y_pred) and probabilities (no activation);
the sigmoid and softmax cases apply torch.sigmoid / torch.softmax(x, 1)
(and one_hot of the class-index target) before it. MONAI always drops
channel 0 ([:, 1:]); the include-background cases (nobg=0) run MONAI on the
input with a channel of zeros put in front (its gradient left out).

The tie cases (0/1 masks and a few grey levels as predictions) pin torch
1.13's autograd rules: max_pool routes to the first extremum of the window,
torch.min splits a tie in halves, relu passes nothing at 0. Printed first:
those rules checked on small tensors (the script stops if they differ).

Output format: tools/ref/refcase.py (case, kind, shape, x, target, opts,
loss, grad, end), read by tests/test_cldice.c. Every input
is rounded to float32 first (what segloss receives).
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from refcase import case_lines, f32  # tools/ref/refcase.py

sys.path.insert(0, sys.argv[1])
import monai  # noqa: E402
from monai.losses.cldice import SoftclDiceLoss, SoftDiceclDiceLoss  # noqa: E402

OUT = []


def emit(name, kind, x, target, tdtype, opts, loss, grad):
    OUT.extend(case_lines(name, kind, x, target, tdtype, opts, loss, grad))


def check_tie_rules():
    """torch's CPU autograd rules the C backward reproduces."""
    d = torch.float64
    a = torch.tensor([1., 2., 3.], dtype=d, requires_grad=True)
    b = torch.tensor([1., 1., 4.], dtype=d, requires_grad=True)
    torch.min(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0, 1] and b.grad.tolist() == [0.5, 1, 0]
    x = torch.zeros(1, 1, 3, 3, dtype=d, requires_grad=True)
    F.max_pool2d(x, (3, 3), (1, 1), (1, 1)).sum().backward()
    assert x.grad.flatten().tolist() == [4, 2, 0, 2, 1, 0, 0, 0, 0]
    x = torch.zeros(1, 1, 3, 3, dtype=d, requires_grad=True)
    (-F.max_pool2d(-x, (1, 3), (1, 1), (0, 1))).sum().backward()
    assert x.grad.flatten().tolist() == [2, 1, 0] * 3
    x = torch.zeros(1, 1, 3, 3, 3, dtype=d, requires_grad=True)
    F.max_pool3d(x, (3, 3, 3), (1, 1, 1), (1, 1, 1)).sum().backward()
    assert x.grad.flatten()[:5].tolist() == [8, 4, 0, 4, 2]
    r = torch.tensor([0.0, 2.0], dtype=d, requires_grad=True)
    F.relu(r).sum().backward()
    assert r.grad.tolist() == [0, 1]


def probs(rng, shape, scale=2.0):
    return f32(1.0 / (1.0 + np.exp(-rng.standard_normal(shape) * scale)))


def tubes(rng, shape, p=0.35):
    """Binary targets with thin structures: random blobs thinned by rows."""
    y = (rng.random(shape) < p).astype(np.float64)
    return y


def run_case(name, kind, x, y, opts, act='none', index=None, nobg=1):
    """x: the segloss input (float32 values); y: the dense target (or the
    class indices `index`, one-hot for MONAI)."""
    it = opts.get('iter', 3)
    sm = opts.get('smooth', 1.0)
    if kind == 'cldice':
        loss_fn = SoftclDiceLoss(iter_=it, smooth=sm)
    else:
        loss_fn = SoftDiceclDiceLoss(iter_=it, alpha=opts.get('alpha', 0.5), smooth=sm)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if act == 'sigmoid':
        p = torch.sigmoid(xt)
    elif act == 'softmax':
        p = torch.softmax(xt, 1)
    else:
        p = xt
    if index is not None:
        yt = F.one_hot(torch.tensor(index), x.shape[1]).movedim(-1, 1).double()
    else:
        yt = torch.tensor(y, dtype=torch.float64)
    if not nobg:  # MONAI drops channel 0: put a zero channel in front
        p = torch.cat([torch.zeros_like(p[:, :1]), p], 1)
        yt = torch.cat([torch.zeros_like(yt[:, :1]), yt], 1)
    loss = loss_fn(yt, p)
    loss.backward()
    o = dict(opts)
    o['act'] = act
    o['nobg'] = nobg
    if index is not None:
        emit(name, kind, x, index, 'i64', o, float(loss), xt.grad.numpy())
    else:
        emit(name, kind, x, y, 'f32', o, float(loss), xt.grad.numpy())


def cases(rng):
    for kind, pre in (('cldice', 'cl'), ('dice-cldice', 'dcl')):
        sh = (2, 2, 9, 8)
        run_case(pre + '_2d_c2', kind, probs(rng, sh), tubes(rng, sh), {})
        sh = (2, 3, 10, 7)
        o = {'iter': 5, 'smooth': 0.5}
        if kind == 'dice-cldice':
            o['alpha'] = 0.3
        run_case(pre + '_2d_c3_iter5', kind, probs(rng, sh), tubes(rng, sh), o)
        sh = (2, 2, 5, 6, 7)
        run_case(pre + '_3d_c2', kind, probs(rng, sh), tubes(rng, sh), {})
        # exact ties: 0/1 masks and a few grey levels as predictions
        sh = (2, 2, 8, 8)
        run_case(pre + '_ties_masks', kind, tubes(rng, sh, 0.5), tubes(rng, sh), {})
        sh = (2, 2, 9, 9)
        run_case(pre + '_ties_levels', kind, f32(rng.integers(0, 5, sh) / 4.0),
                 tubes(rng, sh), {'iter': 4})
        sh = (1, 2, 5, 6, 5)
        run_case(pre + '_3d_ties_levels', kind, f32(rng.integers(0, 3, sh) / 2.0),
                 tubes(rng, sh), {'iter': 2})
        sh = (1, 3, 4, 5, 4)
        run_case(pre + '_3d_ties_masks', kind, tubes(rng, sh, 0.6), tubes(rng, sh), {})
        # empty and full targets, C = 1 (MONAI: nothing kept, loss 0)
        sh = (2, 2, 7, 7)
        y = tubes(rng, sh)
        y[:, 1] = 0
        run_case(pre + '_empty_target', kind, probs(rng, sh), y, {})
        y = tubes(rng, sh)
        y[0, 1] = 1
        run_case(pre + '_full_target', kind, probs(rng, sh), y, {})
        sh = (2, 1, 6, 6)
        run_case(pre + '_c1', kind, probs(rng, sh), tubes(rng, sh), {})
        run_case(pre + '_c1_bg', kind, probs(rng, sh), tubes(rng, sh), {}, nobg=0)
        # extreme probabilities (exact 0 and 1, tiny ones) and iter = 0
        sh = (2, 2, 8, 9)
        run_case(pre + '_extreme', kind, probs(rng, sh, 40.0), tubes(rng, sh), {})
        run_case(pre + '_iter0', kind, probs(rng, sh), tubes(rng, sh), {'iter': 0})
        # activations: sigmoid logits, softmax with class indices
        sh = (2, 2, 8, 7)
        run_case(pre + '_sigmoid', kind, f32(rng.standard_normal(sh) * 3), tubes(rng, sh), {},
                 act='sigmoid')
        sh = (2, 3, 6, 5, 4)
        run_case(pre + '_softmax_3d', kind, f32(rng.standard_normal(sh) * 3), None,
                 {'smooth': 1e-3}, act='softmax', index=rng.integers(0, 3, (2,) + sh[2:]))
        sh = (3, 3, 7, 8)
        o = {'iter': 2}
        if kind == 'dice-cldice':
            o['alpha'] = 0.8
        run_case(pre + '_softmax_bg', kind, f32(rng.standard_normal(sh) * 3), None, o,
                 act='softmax', index=rng.integers(0, 3, (3,) + sh[2:]), nobg=0)


def cli_refs():
    p = np.load('tests/cli/data/p.npy').astype(np.float64)
    y = np.load('tests/cli/data/y.npy').astype(np.float64)
    lines = []

    def add(key, fn, v):
        xt = torch.tensor(v, requires_grad=True)
        loss = fn(xt)
        loss.backward()
        lines.append('%s %.17g' % (key, float(loss)))
        g = xt.grad.numpy().ravel()
        lines.append('g.%s %d %s' % (key, g.size, ' '.join('%.10g' % e for e in g)))

    yt = torch.tensor(y)
    add('cldice', lambda v: SoftclDiceLoss()(yt, v), p)
    add('cldice.iter1.smooth0.5', lambda v: SoftclDiceLoss(iter_=1, smooth=0.5)(yt, v), p)
    add('dicecldice', lambda v: SoftDiceclDiceLoss()(yt, v), p)
    add('dicecldice.alpha0.2', lambda v: SoftDiceclDiceLoss(alpha=0.2)(yt, v), p)
    print('# segloss cldice CLI references: tools/ref/gen_cldice_loss_ref.py --cli')
    print('# (MONAI %s, torch %s, float64) on tests/cli/data/p.npy and y.npy'
          % (monai.__version__, torch.__version__))
    print('# (2, 3, 4, 4): "KEY LOSS", "g.KEY N GRAD...".')
    print('\n'.join(lines))


def main():
    check_tie_rules()
    if '--cli' in sys.argv:
        cli_refs()
        return
    cases(np.random.default_rng(20261206))
    print('# segloss cldice / dice-cldice references: generated by'
          ' tools/ref/gen_cldice_loss_ref.py')
    print('# from MONAI %s (monai/losses/cldice.py), torch %s, float64. Do not edit;'
          ' regenerate.' % (monai.__version__, torch.__version__))
    print('\n'.join(OUT))


if __name__ == '__main__':
    main()
