"""The case format of tests/data/loss2_ref.txt and cldice_ref.txt (read by
tests/test_loss2_ref.c and tests/test_cldice.c), shared by
gen_loss2_ref.py and gen_cldice_loss_ref.py:

    case NAME
    kind KIND
    shape NDIM D...
    x v N values...            (float32, 9 digits)
    target DTYPE v M values...
    opts key=value ...
    loss VALUE
    grad v N values...         (d loss / d x by autograd, for upstream 1)
    end
"""
import numpy as np


def f32(a):
    """Rounded to float32 (what segloss receives), as float64."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def varr(values, as_int=False):
    vals = np.asarray(values).ravel()
    if as_int:
        return 'v %d %s' % (vals.size, ' '.join('%d' % int(v) for v in vals))
    return 'v %d %s' % (vals.size, ' '.join('%.9g' % v for v in vals))


def case_lines(name, kind, x, target, tdtype, opts, loss, grad):
    return ['case %s' % name,
            'kind %s' % kind,
            'shape %d %s' % (x.ndim, ' '.join(str(d) for d in x.shape)),
            'x ' + varr(x),
            'target %s %s' % (tdtype, varr(target, tdtype != 'f32')),
            'opts ' + ' '.join('%s=%s' % kv for kv in opts.items()),
            'loss %.10g' % loss,
            'grad ' + varr(grad),
            'end']
