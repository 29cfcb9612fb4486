"""LIVIAETS/boundary-loss's utils.py and losses.py, imported from a
checkout folder: their unrelated imports (tqdm, skimage.io, PIL, medpy)
stubbed, and np.bool (gone from NumPy 1.24) aliased to bool. Used by
tools/ref/gen_loss2_ref.py and bench/compare_loss2.py."""
import sys
import types

import numpy as np


def load_boundary(bl_dir):
    """{'utils': utils, 'losses': losses} of the checkout in bl_dir."""
    for name, attrs in (('tqdm', {'tqdm': lambda *a, **k: None}),
                        ('skimage', {}), ('skimage.io', {'imsave': None}),
                        ('PIL', {'Image': None, 'ImageOps': None}),
                        ('medpy', {}), ('medpy.metric', {}), ('medpy.metric.binary', {'hd': None})):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys.modules[name] = mod
    np.bool = bool
    sys.path.insert(0, bl_dir)
    import losses as bl_losses
    import utils as bl_utils
    return {'utils': bl_utils, 'losses': bl_losses}
