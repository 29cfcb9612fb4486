#!/usr/bin/python3
"""Reference values for segloss's second-edition losses, from the peers'
real code run with Debian's torch (float64).

    /usr/bin/python3 tools/ref/gen_loss2_ref.py MONAI_DIR NNUNET_DIR SMP_DIR BL_DIR \\
        > tests/data/loss2_ref.txt
    /usr/bin/python3 tools/ref/gen_loss2_ref.py MONAI_DIR NNUNET_DIR SMP_DIR BL_DIR --cli \\
        > tests/data/loss2_ref_cli.txt

(the second, run from the repository root, reads tests/cli/data/x.npy and
y.npy and the class-index target tests/cli/run.sh writes, rcls: (2, 4, 4),
value (7i + i//4) % 3 at flat index i; "KEY LOSS" and "g.KEY N GRAD..." lines).

MONAI_DIR holds the `monai` package of Project-MONAI/MONAI (checked: 1.5.0,
commit d388d1c6f; `git archive HEAD monai | tar -x -C MONAI_DIR`),
NNUNET_DIR the `nnunetv2` package of MIC-DKFZ/nnUNet (checked: 2.8.1,
commit 0e495086; nnunetv2/training/loss and nnunetv2/utilities/
{ddp_allgather,helpers}.py are enough, with empty __init__.py files),
SMP_DIR a package `smp_losses`: the folder segmentation_models_pytorch/losses
of qubvel-org/segmentation_models.pytorch (checked: main at 5006616,
0.5.1.dev0) under that name (its imports are relative), BL_DIR utils.py and
losses.py of LIVIAETS/boundary-loss (checked: 171c32d; their unrelated
imports tqdm, skimage.io, PIL and medpy are stubbed by tools/ref/bl_stubs.py, and np.bool,
gone from NumPy 1.24, is aliased to bool).
Nothing of their code is copied here: it is imported from those folders.

Output format: tools/ref/refcase.py (tests/test_loss2_ref.c reads it).
Every input is rounded to float32 first (what segloss receives); the
peers' code then runs in float64, except smp's Lovasz-softmax, whose
_lovasz_grad casts to float32 (it runs in float32) and the MONAI focal part,
which casts its input to float32 (input.float()).
"""
import contextlib
import io
import os
import sys

import numpy as np
import torch
from refcase import case_lines, f32  # tools/ref/refcase.py

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
import monai  # noqa: E402
from monai.losses import (DiceCELoss, DiceFocalLoss, GeneralizedDiceFocalLoss,  # noqa: E402
                          HausdorffDTLoss, LogHausdorffDTLoss)
from nnunetv2.training.loss.compound_losses import DC_and_CE_loss  # noqa: E402
from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss  # noqa: E402
from nnunetv2.training.loss.robust_ce_loss import TopKLoss  # noqa: E402
from smp_losses import LovaszLoss, MCCLoss  # noqa: E402

OUT = []


def emit(name, kind, x, target, tdtype, opts, loss, grad):
    OUT.extend(case_lines(name, kind, x, target, tdtype, opts, loss, grad))


def logits(rng, shape, scale=3.0):
    return f32(rng.standard_normal(shape) * scale)


def run(fn, x, *args, dtype=torch.float64):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    loss = fn(xt, *args)
    loss.backward()
    return float(loss), xt.grad.numpy().copy()


# --------------------------------------------------------------------------
# dice-ce: MONAI DiceCELoss and nnU-Net DC_and_CE_loss
# --------------------------------------------------------------------------
def dice_ce_cases(rng):
    def monai_case(name, shape, opts, ctor, extreme=False, empty_class=None, red='mean'):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 40.0 if extreme else 3.0)
        if c > 1:
            idx = rng.integers(0, c, size=(n,) + shape[2:])
            if empty_class is not None:
                idx[idx == empty_class] = (empty_class + 1) % c
            tt = torch.tensor(idx[:, None], dtype=torch.int64)
            target, dt = idx, 'i64'
        else:
            y = (rng.random(shape) < 0.4).astype(np.float64)
            if empty_class is not None:
                y[:] = 0
            tt = torch.tensor(y)
            target, dt = y, 'f32'
        loss_fn = DiceCELoss(reduction=red, **ctor)
        loss, grad = run(loss_fn, x, tt)
        o = dict(opts)
        o['red'] = red
        emit(name, 'dice-ce', x, target, dt, o, loss, grad)

    sm = dict(softmax=True, to_onehot_y=True)
    monai_case('dice_ce_monai_2d', (2, 3, 5, 4), {'act': 'softmax'}, sm)
    monai_case('dice_ce_monai_3d', (2, 4, 3, 3, 2), {'act': 'softmax'}, sm)
    monai_case('dice_ce_monai_batch_nobg', (3, 3, 4, 4), {'act': 'softmax', 'batch': 1, 'nobg': 1},
               dict(sm, batch=True, include_background=False))
    monai_case('dice_ce_monai_lambdas_ls_sum', (2, 3, 4, 5),
               {'act': 'softmax', 'ld': 0.7, 'lc': 1.3, 'ls': 0.1},
               dict(sm, lambda_dice=0.7, lambda_ce=1.3, label_smoothing=0.1), red='sum')
    monai_case('dice_ce_monai_empty_class', (2, 3, 4, 4), {'act': 'softmax'}, sm, empty_class=2)
    monai_case('dice_ce_monai_extreme', (2, 3, 4, 4), {'act': 'softmax'}, sm, extreme=True)
    monai_case('dice_ce_monai_sigmoid_dice_c3', (2, 3, 4, 3),
               {'act': 'sigmoid', 'tkind': 'index', 'snr': 0.5, 'sdr': 0.25},
               dict(sigmoid=True, to_onehot_y=True, smooth_nr=0.5, smooth_dr=0.25))
    monai_case('dice_ce_monai_c1', (2, 1, 4, 4), {'act': 'sigmoid'}, dict(sigmoid=True))
    monai_case('dice_ce_monai_c1_3d_empty', (2, 1, 3, 3, 2), {'act': 'sigmoid'}, dict(sigmoid=True),
               empty_class=0)

    def nnunet_case(name, shape, batch_dice, extreme=False, empty_class=None):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 40.0 if extreme else 3.0)
        idx = rng.integers(0, c, size=(n,) + shape[2:])
        if empty_class is not None:
            idx[idx == empty_class] = (empty_class + 1) % c
        loss_fn = DC_and_CE_loss({'batch_dice': batch_dice, 'smooth': 1e-5, 'do_bg': False,
                                  'ddp': False}, {}, weight_ce=1, weight_dice=1,
                                 ignore_label=None, dice_class=MemoryEfficientSoftDiceLoss)
        tt = torch.tensor(idx[:, None], dtype=torch.float64)  # nnU-Net's float labels
        loss, grad = run(loss_fn, x, tt)
        emit(name, 'dice-ce', x, idx, 'i64', {'nnunet': 1, 'batch': int(batch_dice)}, loss, grad)

    nnunet_case('dice_ce_nnunet_2d', (2, 3, 5, 4), False)
    nnunet_case('dice_ce_nnunet_3d_batch', (2, 3, 3, 4, 2), True)
    nnunet_case('dice_ce_nnunet_empty_extreme', (2, 4, 4, 4), False, extreme=True, empty_class=3)


# --------------------------------------------------------------------------
# dice-focal, generalized-dice-focal: MONAI DiceFocalLoss,
# GeneralizedDiceFocalLoss
# --------------------------------------------------------------------------
def focal_cases(rng):
    def case(name, kind, cls, shape, opts, ctor, index=False, soft=False, extreme=False,
             empty=False, red='mean'):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 30.0 if extreme else 2.5)
        if index:
            idx = rng.integers(0, c, size=(n,) + shape[2:])
            tt = torch.tensor(idx[:, None], dtype=torch.int64)
            target, dt = idx, 'i64'
        else:
            y = f32(rng.random(shape)) if soft else (rng.random(shape) < 0.4).astype(np.float64)
            if empty:
                y[0] = 0
            tt = torch.tensor(y)
            target, dt = y, 'f32'
        loss, grad = run(cls(reduction=red, **ctor), x, tt)
        o = dict(opts)
        o['red'] = red
        emit(name, kind, x, target, dt, o, loss, grad)

    df, gf = DiceFocalLoss, GeneralizedDiceFocalLoss
    case('dice_focal_sigmoid_2d', 'dice-focal', df, (2, 3, 5, 4), {}, dict(sigmoid=True))
    case('dice_focal_sigmoid_soft_3d', 'dice-focal', df, (2, 2, 3, 4, 2), {},
         dict(sigmoid=True), soft=True)
    case('dice_focal_softmax_onehot_nobg', 'dice-focal', df, (2, 4, 4, 4),
         {'act': 'softmax', 'nobg': 1, 'gamma': 1.5, 'alpha': 0.25, 'ld': 0.6, 'lf': 2.0},
         dict(softmax=True, to_onehot_y=True, include_background=False, gamma=1.5, alpha=0.25,
              lambda_dice=0.6, lambda_focal=2.0), index=True)
    case('dice_focal_sum_batch_empty', 'dice-focal', df, (3, 2, 4, 4), {'batch': 1},
         dict(sigmoid=True, batch=True), empty=True, red='sum')
    case('dice_focal_extreme_c1', 'dice-focal', df, (2, 1, 6, 5), {'gamma': 0.0},
         dict(sigmoid=True, gamma=0.0), extreme=True)
    case('gdice_focal_sigmoid_2d', 'generalized-dice-focal', gf, (2, 3, 5, 4), {},
         dict(sigmoid=True))
    case('gdice_focal_softmax_onehot_batch_simple', 'generalized-dice-focal', gf, (2, 3, 3, 3, 3),
         {'act': 'softmax', 'batch': 1, 'wtype': 'simple', 'gamma': 3.0, 'lgdl': 0.5},
         dict(softmax=True, to_onehot_y=True, batch=True, w_type='simple', gamma=3.0,
              lambda_gdl=0.5), index=True)
    case('gdice_focal_sum_empty_extreme', 'generalized-dice-focal', gf, (2, 2, 4, 4), {},
         dict(sigmoid=True), empty=True, extreme=True, red='sum')


# --------------------------------------------------------------------------
# mcc: smp MCCLoss; topk-ce: nnU-Net TopKLoss
# --------------------------------------------------------------------------
def mcc_topk_cases(rng):
    def mcc(name, shape, act='none', empty=False, full=False, extreme=False, eps=None):
        x = logits(rng, shape, 30.0 if extreme else 2.0)
        y = (rng.random(shape) < 0.35).astype(np.float64)
        if empty:
            y[:] = 0
        if full:
            y[:] = 1
        if act == 'none':
            x = f32(1.0 / (1.0 + np.exp(-x)))   # probabilities (smp's input)
            if extreme:
                x[..., 0] = 0.0
                x[..., 1] = 1.0
        fn = MCCLoss() if eps is None else MCCLoss(eps=eps)
        if act == 'sigmoid':
            loss, grad = run(lambda v, t: fn(torch.sigmoid(v), t), x, torch.tensor(y))
        else:
            loss, grad = run(fn, x, torch.tensor(y))
        o = {'act': act}
        if eps is not None:
            o['eps'] = eps
        emit(name, 'mcc', x, y, 'f32', o, loss, grad)

    mcc('mcc_probs_2d', (2, 1, 5, 4))
    mcc('mcc_probs_3d', (2, 1, 3, 4, 3))
    mcc('mcc_sigmoid_c3', (2, 3, 4, 4), act='sigmoid')
    mcc('mcc_empty_target', (2, 1, 4, 4), empty=True)
    mcc('mcc_full_target_eps', (2, 1, 4, 4), full=True, eps=1e-3)
    mcc('mcc_extreme_probs', (2, 1, 4, 5), extreme=True)
    mcc('mcc_extreme_logits', (3, 1, 4, 4), act='sigmoid', extreme=True)

    def topk(name, shape, k=None, ls=0.0, ignore=None, extreme=False):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 30.0 if extreme else 2.5)
        idx = rng.integers(0, c, size=(n,) + shape[2:])
        kw = {}
        if k is not None:
            kw['k'] = k
        if ls:
            kw['label_smoothing'] = ls
        if ignore is not None:
            idx.ravel()[::7] = ignore
            kw['ignore_index'] = ignore
        fn = TopKLoss(**kw)
        loss, grad = run(fn, x, torch.tensor(idx[:, None], dtype=torch.float64))
        o = {}
        if k is not None:
            o['k'] = k
        if ls:
            o['ls'] = ls
        if ignore is not None:
            o['ign'] = ignore
        emit(name, 'topk-ce', x, idx, 'i64', o, loss, grad)

    topk('topk_default_2d', (2, 3, 8, 8))
    topk('topk_k25_3d', (2, 4, 4, 4, 3), k=25)
    topk('topk_ls_ignore', (2, 3, 6, 6), k=30, ls=0.1, ignore=255)
    topk('topk_extreme', (2, 2, 8, 5), k=50, extreme=True)
    topk('topk_k100', (1, 3, 5, 5), k=100)


# --------------------------------------------------------------------------
# lovasz-softmax: smp LovaszLoss('multiclass')
# --------------------------------------------------------------------------
def lovasz_cases(rng):
    def case(name, shape, per_image=False, ignore=None, absent=None, extreme=False):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 20.0 if extreme else 2.0)
        idx = rng.integers(0, c, size=(n,) + shape[2:])
        if absent is not None:
            idx[idx == absent] = (absent + 1) % c
        o = {}
        if ignore is not None:
            idx.ravel()[::5] = ignore
            o['ign'] = ignore
        if per_image:
            o['per_image'] = 1
        fn = LovaszLoss('multiclass', per_image=per_image, ignore_index=ignore)
        # smp's _lovasz_grad casts to float32 (torch.dot then needs float32
        # errors): this peer runs in float32
        loss, grad = run(fn, x, torch.tensor(idx), dtype=torch.float32)
        emit(name, 'lovasz-softmax', x, idx, 'i64', o, loss, grad)

    case('lovasz_softmax_2d', (2, 3, 5, 4))
    case('lovasz_softmax_3d_per_image', (2, 4, 3, 3, 2), per_image=True)
    case('lovasz_softmax_ignore_absent', (3, 3, 4, 4), ignore=255, absent=1)
    case('lovasz_softmax_per_image_ignore', (2, 2, 6, 6), per_image=True, ignore=7)
    case('lovasz_softmax_extreme', (2, 3, 4, 4), extreme=True)


# --------------------------------------------------------------------------
# hausdorff-dt, log-hausdorff-dt: MONAI HausdorffDTLoss, LogHausdorffDTLoss
# (distance maps by scipy.ndimage.distance_transform_edt through MONAI)
# --------------------------------------------------------------------------
def hausdorff_cases(rng):
    def case(name, shape, ctor, opts, act='none', index=False, empty=False, log=False,
             red='mean', extreme=False):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 20.0 if extreme else 2.0)
        if act == 'none':
            x = f32(1.0 / (1.0 + np.exp(-x)))
        if index:
            idx = rng.integers(0, c, size=(n,) + shape[2:])
            tt = torch.tensor(idx[:, None])
            target, dt = idx, 'i64'
        else:
            y = (rng.random(shape) < 0.4).astype(np.float64)
            if empty:
                y[0, -1] = 0
                y[1, 0] = 1
            tt = torch.tensor(y)
            target, dt = y, 'f32'
        cls = LogHausdorffDTLoss if log else HausdorffDTLoss
        loss, grad = run(cls(reduction=red, **ctor), x, tt)
        o = dict(opts)
        o['red'] = red
        o['act'] = act
        if log:
            o['log'] = 1
        emit(name, 'hausdorff-dt', x, target, dt, o, loss, grad)

    case('hd_probs_2d', (2, 3, 8, 8), {}, {})
    case('hd_sigmoid_3d_c1_alpha', (2, 1, 6, 5, 4), dict(sigmoid=True, alpha=1.5),
         {'alpha': 1.5}, act='sigmoid')
    case('hd_softmax_onehot_batch_bg', (2, 3, 7, 6),
         dict(softmax=True, to_onehot_y=True, batch=True, include_background=True),
         {'batch': 1, 'nobg': 0}, act='softmax', index=True)
    case('hd_empty_full_sum', (2, 2, 6, 6), dict(include_background=True), {'nobg': 0},
         empty=True, red='sum')
    case('hd_log_sigmoid_extreme', (2, 2, 8, 7), dict(sigmoid=True), {}, act='sigmoid',
         log=True, extreme=True)
    case('hd_log_probs_3d', (1, 3, 5, 5, 5), {}, {}, log=True)


# --------------------------------------------------------------------------
# boundary: LIVIAETS/boundary-loss SurfaceLoss with utils.one_hot2dist
# --------------------------------------------------------------------------
BL = {}


def load_boundary(bl_dir):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bl_stubs import load_boundary as load
    BL.update(load(bl_dir))


def boundary_cases(rng):
    bl_utils, bl_losses = BL['utils'], BL['losses']

    def case(name, shape, idc, absent=None):
        n, c = shape[0], shape[1]
        x = logits(rng, shape, 2.5)
        idx = rng.integers(0, c, size=(n,) + shape[2:])
        # blobs for some structure: the class of a coarse grid cell
        coarse = rng.integers(0, c, size=(n,) + tuple((d + 2) // 3 for d in shape[2:]))
        for ax in range(1, coarse.ndim):
            coarse = np.repeat(coarse, 3, axis=ax)
        idx = coarse[(slice(None),) + tuple(slice(0, d) for d in shape[2:])]
        if absent is not None:
            idx[idx == absent] = (absent + 1) % c
        onehot = np.stack([(idx == k) for k in range(c)], axis=1).astype(np.int64)
        dist = np.stack([bl_utils.one_hot2dist(onehot[b], dtype=np.float64) for b in range(n)])
        with contextlib.redirect_stdout(io.StringIO()):   # SurfaceLoss prints its kwargs
            fn = bl_losses.SurfaceLoss(idc=idc)

        def f(v, dm):
            # SurfaceLoss casts to float32; its einsum is written for 2-D
            # ("bkwh"): 3-D volumes are flattened to (b, k, w, h*d) first
            pr = torch.softmax(v, 1)
            return fn(pr.reshape(pr.shape[0], pr.shape[1], pr.shape[2], -1),
                      dm.reshape(dm.shape[0], dm.shape[1], dm.shape[2], -1))
        loss, grad = run(f, x, torch.tensor(dist))
        o = {'nobg': 1} if idc[0] == 1 else {}
        emit(name, 'boundary', x, idx, 'i64', o, loss, grad)

    case('boundary_2d_all', (2, 3, 12, 10), [0, 1, 2])
    case('boundary_2d_binary_idc1', (3, 2, 9, 11), [1])
    case('boundary_3d_nobg', (2, 3, 6, 7, 5), [1, 2])
    case('boundary_absent_class', (2, 3, 9, 9), [1, 2], absent=2)


def cli_refs():
    x = np.load('tests/cli/data/x.npy').astype(np.float64)
    y = np.load('tests/cli/data/y.npy').astype(np.float64)
    rcls = np.array([(7 * i + i // 4) % 3 for i in range(32)]).reshape(2, 4, 4)
    idx = torch.tensor(rcls[:, None])
    lines = []

    def add(key, fn, xs, *args):
        loss, grad = run(fn, xs, *args)
        lines.append('%s %.17g' % (key, loss))
        lines.append('g.%s %d %s' % (key, grad.size, ' '.join('%.10g' % v for v in grad.ravel())))

    sm = dict(softmax=True, to_onehot_y=True)
    add('dicece.mean', DiceCELoss(**sm), x, idx)
    add('dicece.sum.lambdas', DiceCELoss(reduction='sum', lambda_dice=0.3, lambda_ce=1.7,
                                         label_smoothing=0.2, **sm), x, idx)
    add('dicece.nobg.batch', DiceCELoss(include_background=False, batch=True, **sm), x, idx)
    add('dicece.c1', DiceCELoss(sigmoid=True), x[:, :1], torch.tensor(y[:, :1]))
    for bd in (False, True):
        fn = DC_and_CE_loss({'batch_dice': bd, 'smooth': 1e-5, 'do_bg': False, 'ddp': False}, {},
                            weight_ce=1, weight_dice=1, ignore_label=None,
                            dice_class=MemoryEfficientSoftDiceLoss)
        add('dicece.nnunet' + ('.batch' if bd else ''), fn, x, idx.double())
    yt = torch.tensor(y)
    add('dicefocal.g1.5.a0.3.lf2', DiceFocalLoss(sigmoid=True, gamma=1.5, alpha=0.3,
                                                 lambda_focal=2.0), x, yt)
    add('dicefocal.softmax.nobg', DiceFocalLoss(softmax=True, to_onehot_y=True,
                                                include_background=False), x, idx)
    p = np.load('tests/cli/data/p.npy').astype(np.float64)
    add('mcc.probs', MCCLoss(), p, yt)
    add('mcc.sigmoid.eps', lambda v, t: MCCLoss(eps=1e-3)(torch.sigmoid(v), t), x, yt)
    rign = rcls.copy().ravel()
    rign[1::6] = 255
    rign = rign.reshape(2, 4, 4)
    add('topk.default', TopKLoss(), x, idx.double())
    add('topk.k25.ls.ign', TopKLoss(k=25, label_smoothing=0.1, ignore_index=255), x,
        torch.tensor(rign[:, None]).double())
    xf = torch.tensor(x, dtype=torch.float32)
    for key, kw in (('lovasz.softmax', {}), ('lovasz.softmax.per_image.ign',
                                              {'per_image': True, 'ignore_index': 255})):
        lab = torch.tensor(rign if kw else rcls)
        loss, grad = run(LovaszLoss('multiclass', **kw), xf.numpy(), lab, dtype=torch.float32)
        lines.append('%s %.9g' % (key, loss))
        lines.append('g.%s %d %s' % (key, grad.size, ' '.join('%.9g' % v for v in grad.ravel())))
    add('hd.probs', HausdorffDTLoss(), p, yt)
    add('hd.sigmoid.bg.batch.none', lambda v, t: HausdorffDTLoss(
        sigmoid=True, include_background=True, batch=True, reduction='none')(v, t).sum(), x, yt)
    add('loghd.softmax.alpha1', LogHausdorffDTLoss(softmax=True, to_onehot_y=True, alpha=1.0),
        x, idx)
    # boundary: the same one_hot2dist and SurfaceLoss as boundary_cases
    onehot = np.stack([(rcls == k) for k in range(3)], axis=1).astype(np.int64)
    dist = torch.tensor(np.stack([BL['utils'].one_hot2dist(onehot[b], dtype=np.float64)
                                  for b in range(2)]))
    with contextlib.redirect_stdout(io.StringIO()):
        sl = BL['losses'].SurfaceLoss(idc=[1, 2])
    add('boundary.nobg', lambda v, dm: sl(torch.softmax(v, 1), dm), x, dist)
    add('gdicefocal.simple.sum', GeneralizedDiceFocalLoss(sigmoid=True, w_type='simple',
                                                          lambda_gdl=0.5, reduction='sum'), x, yt)
    print('# segloss second-edition CLI references: tools/ref/gen_loss2_ref.py --cli')
    print('# (MONAI %s, nnU-Net 2.8.1, torch %s, float64) on tests/cli/data and the'
          % (monai.__version__, torch.__version__))
    print('# targets tests/cli/run.sh writes: "KEY LOSS", "g.KEY N GRAD...".')
    print('\n'.join(lines))


def main():
    load_boundary(sys.argv[4])
    if '--cli' in sys.argv:
        cli_refs()
        return
    rng = np.random.default_rng(20261206)
    dice_ce_cases(rng)
    focal_cases(rng)
    mcc_topk_cases(rng)
    lovasz_cases(rng)
    hausdorff_cases(rng)
    boundary_cases(rng)
    print('# segloss second-edition loss references: generated by tools/ref/gen_loss2_ref.py')
    print('# from MONAI %s, nnU-Net 2.8.1 (nnunetv2), smp 0.5.1.dev0 (5006616) and'
          ' LIVIAETS/boundary-loss (171c32d) code, torch %s, float64.'
          % (monai.__version__, torch.__version__))
    print('# Do not edit; regenerate.')
    print('\n'.join(OUT))


if __name__ == '__main__':
    main()
