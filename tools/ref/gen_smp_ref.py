#!/usr/bin/python3
"""Reference values for segloss's smp modes, from segmentation_models_pytorch's
own DiceLoss and JaccardLoss code, run here with torch (float64, autograd).

    /usr/bin/python3 tools/ref/gen_smp_ref.py MAIN_LOSSES V034_LOSSES \\
        > tests/data/smp_ref.txt

MAIN_LOSSES and V034_LOSSES are the `segmentation_models_pytorch/losses`
folders of qubvel-org/segmentation_models.pytorch at main (commit
5006616357631a48c7c8e11977cf5abb00803590, version 0.5.1.dev0; dice.py,
jaccard.py and _functional.py compute the same losses as in 0.4.0 and
0.5.0) and at the tag v0.3.4, e.g. from a clone:

    git -C smp archive HEAD segmentation_models_pytorch/losses | tar -x -C /tmp/main
    git -C smp archive v0.3.4 segmentation_models_pytorch/losses | tar -x -C /tmp/v034

Each folder is imported as a package (it needs only torch and numpy); no
smp code is committed. segloss's `smp` option is SEGLOSS_SMP_CURRENT (1)
for main and SEGLOSS_SMP_0_3 (2) for v0.3.4; smp's one `smooth` S is
snr = sdr = S. Mapping of smp's modes to segloss:
  binary      x (N, 1, H, W) logits, target (N, 1, H, W), act=sigmoid
  multilabel  x (N, C, H, W) logits, target (N, C, H, W), act=sigmoid
  multiclass  x (N, C, H, W) logits, target (N, H, W) class indices,
              act=softmax (class-index target)
  from_logits=False: act=none (x are probabilities)
smp returns the mean of its per-class losses; for segloss's sum and none the
per-class vector is taken by overriding DiceLoss.aggregate_loss, and for
JaccardLoss (no such hook) as the loss with classes=[k] for each class k.
Inputs are rounded to float32 first (what segloss receives), then computed
in float64; gradients are d(reduced loss)/d(x) by autograd.

The output uses tests/data/region_ref.txt's format (see gen_region_ref.py)
with explicit `v` arrays; tests/test_region_ref.c reads both.
"""
import importlib.util
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def load_losses(path, name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(path, '__init__.py'), submodule_search_locations=[path])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def fmt32(v):
    return '%.9g' % float(np.float32(v))


def fmt_ref(v):
    return '%.10g' % float(v)


def varr(values, kind):
    a = np.asarray(values, dtype=np.float64).ravel()
    if kind == 'f32':
        txt = ' '.join(fmt32(v) for v in a)
    else:
        txt = ' '.join(str(int(v)) for v in a)
    return 'v %d %s' % (a.size, txt)


def rng_for(seed):
    return np.random.RandomState(seed)


def run_case(out, mods, name, loss, mode, version, x, t, tkind, smooth=0.0, log_loss=False,
             ignore=None, red='mean', from_logits=True, grad_out=None):
    smp = mods[version]
    cls = smp.DiceLoss if loss == 'dice' else smp.JaccardLoss
    kw = dict(mode=mode, log_loss=log_loss, from_logits=from_logits, smooth=smooth)
    if ignore is not None:
        kw['ignore_index'] = ignore

    class PerClass(cls):
        def aggregate_loss(self, v):
            return v

    xt = torch.tensor(f32(x), dtype=torch.float64, requires_grad=True)
    if tkind == 'i64':
        tt = torch.tensor(np.asarray(t), dtype=torch.long)
    else:
        tt = torch.tensor(np.asarray(t, dtype=np.float64))
    C = xt.shape[1]
    if loss == 'jaccard' and mode != 'binary':
        # JaccardLoss returns loss.mean() without aggregate_loss: class k's
        # loss is the mean over classes=[k]
        per = torch.stack([cls(classes=[k], **kw)(xt, tt) for k in range(C)])
    else:
        per = PerClass(**kw)(xt, tt).reshape(-1)
    # the module's own mean, for the record: must equal per.mean()
    native = cls(**kw)(xt, tt)
    assert abs(float(native) - float(per.mean())) <= 1e-15 * max(1.0, abs(float(native)))
    if red == 'mean':
        total = per.mean()
    else:
        total = per.sum()
    if red == 'none':
        go = torch.tensor(f32(grad_out))
        (per * go).sum().backward()
    else:
        total.backward()
    act = 'none' if not from_logits else ('softmax' if mode == 'multiclass' else 'sigmoid')
    opts = 'red=%s act=%s smp=%d' % (red, act, 1 if version == 'main' else 2)
    if smooth != 0.0:
        opts += ' snr=%r sdr=%r' % (smooth, smooth)
    if log_loss:
        opts += ' log=1'
    if ignore is not None:
        opts += ' ign=%d' % ignore
    xs = np.asarray(x).shape
    ts = np.asarray(t).shape
    out.append('case %s' % name)
    out.append('loss %s' % loss)
    out.append('shape %d %s' % (len(xs), ' '.join(map(str, xs))))
    out.append('x %s' % varr(x, 'f32'))
    out.append('target %s %d %s %s' % (tkind, len(ts), ' '.join(map(str, ts)),
                                       varr(t, 'f32' if tkind == 'f32' else 'int')))
    out.append('opts %s' % opts)
    if red == 'none':
        out.append('grad_out %s' % varr(grad_out, 'f32'))
    out.append('loss %s' % fmt_ref(total.item()))
    if red == 'none':
        out.append('elems v %d %s' % (per.numel(), ' '.join(fmt_ref(v) for v in per.tolist())))
    out.append('grad v %d %s' % (xt.grad.numel(),
                                 ' '.join(fmt_ref(v) for v in xt.grad.reshape(-1).tolist())))
    out.append('end')


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: gen_smp_ref.py MAIN_LOSSES_DIR V034_LOSSES_DIR')
    mods = {'main': load_losses(sys.argv[1], 'smp_losses_main'),
            'v034': load_losses(sys.argv[2], 'smp_losses_v034')}
    out = []
    # The reproducer of issue 9: smp main DiceLoss('binary', smooth=1).
    for ver in ('main', 'v034'):
        run_case(out, mods, 'smp_repro_binary_smooth1_%s' % ver, 'dice', 'binary', ver,
                 [[[[0.0, 1.0]]]], [[[[1, 0]]]], 'u8', smooth=1.0)
    n = 0
    for loss in ('dice', 'jaccard'):
        for ver in ('main', 'v034'):
            for mode in ('binary', 'multilabel', 'multiclass'):
                for soft in ((0, 1) if mode != 'multiclass' else (0,)):
                    for smooth in (0.0, 1.0):
                        for log_loss in (False, True):
                            for ign in (None, 255):
                                if ign is not None and (loss == 'jaccard' and ver == 'v034'):
                                    continue  # 0.3.4's JaccardLoss has no ignore_index
                                if ign is not None and soft:
                                    continue  # a soft target has no ignore value
                                n += 1
                                r = rng_for(1000 + n)
                                N, C, H, W = 2, (1 if mode == 'binary' else 3), 3, 4
                                x = r.uniform(-3, 3, size=(N, C, H, W))
                                if mode == 'multiclass':
                                    t = r.randint(0, C, size=(N, H, W))
                                    tkind = 'i64'
                                elif soft:
                                    t = f32(r.uniform(0, 1, size=(N, C, H, W)))
                                    # a few hard values, as in real soft labels
                                    t[0, 0, 0, :2] = [0.0, 1.0]
                                    tkind = 'f32'
                                else:
                                    t = (r.uniform(0, 1, size=(N, C, H, W)) < 0.4).astype(int)
                                    tkind = 'u8'
                                if mode == 'multilabel':
                                    t[..., 1, :, :] = 0 if tkind != 'i64' else t[..., 1, :, :]
                                if ign is not None:
                                    flat = t.reshape(-1)
                                    flat[r.uniform(0, 1, size=flat.size) < 0.2] = ign
                                red = ('mean', 'sum', 'none')[n % 3]
                                go = None
                                if red == 'none':
                                    go = r.uniform(0.5, 1.5, size=C)
                                name = '%s_%s_%s_soft%d_s%g_log%d_ign%d_%s' % (
                                    loss, ver, mode, soft, smooth, int(log_loss),
                                    ign is not None, red)
                                run_case(out, mods, name, loss, mode, ver, x, t, tkind,
                                         smooth=smooth, log_loss=log_loss, ignore=ign, red=red,
                                         grad_out=go)
    # from_logits=False (probabilities), soft multilabel target, both versions
    r = rng_for(7)
    x = r.uniform(0.02, 0.98, size=(2, 2, 2, 3))
    t = f32(r.uniform(0, 1, size=(2, 2, 2, 3)))
    for loss in ('dice', 'jaccard'):
        for ver in ('main', 'v034'):
            run_case(out, mods, '%s_%s_probs_soft_s0.5' % (loss, ver), loss, 'multilabel', ver,
                     x, t, 'f32', smooth=0.5, from_logits=False)
    print('# segloss smp reference values: generated by tools/ref/gen_smp_ref.py from')
    print('# segmentation_models_pytorch losses at main (5006616) and v0.3.4,')
    print('# torch %s (float64). Do not edit; regenerate.' % torch.__version__)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
