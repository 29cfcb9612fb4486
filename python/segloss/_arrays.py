"""NumPy arrays <-> the C structs: zero-copy for C-contiguous aligned arrays
of a supported dtype, one copy otherwise. Every pointer handed to C stays
alive as long as the Python object that owns it (the caller keeps the array)."""
import ctypes

import numpy as np

from . import _lib
from ._errors import Error


def shape_of(a):
    if a.ndim > _lib.MAX_DIMS:
        raise Error("arrays of rank %d are not supported (at most %d)" % (a.ndim, _lib.MAX_DIMS),
                    _lib.ERR_SHAPE)
    s = _lib.shape()
    s.ndim = a.ndim
    for k, d in enumerate(a.shape):
        s.dim[k] = d
    return s


def shape_tuple(s):
    return tuple(int(s.dim[k]) for k in range(s.ndim))


def contiguous(a, dtype=None):
    """C-contiguous, aligned, native-order view of a (a copy only if needed)."""
    a = np.asarray(a)
    if dtype is not None and a.dtype != dtype:
        a = a.astype(dtype)
    if a.dtype.byteorder not in ("=", "|"):
        a = a.astype(a.dtype.newbyteorder("="))
    if not (a.flags.c_contiguous and a.flags.aligned):
        a = np.ascontiguousarray(a)
        if not a.flags.aligned:
            a = a.copy()
    return a


def input_f32(x, name="input"):
    """Predictions: float32 as they are, float64/float16 converted."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64, np.float16):
        raise Error("%s dtype %s not supported (predictions must be float32 or float64)"
                    % (name, x.dtype), _lib.ERR_DTYPE)
    return contiguous(x, np.float32)


def dtype_code(a, name):
    code = _lib.DTYPES.get(a.dtype.name)
    if code is None:
        raise Error("%s dtype %s not supported (float32/float64, bool, or an integer type)"
                    % (name, a.dtype), _lib.ERR_DTYPE)
    return code


def typed(a, name):
    """Any array the library reads in its own dtype (targets, label maps);
    float16 becomes float32, as the .npy reader gives it."""
    a = np.asarray(a)
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    a = contiguous(a)
    return a, dtype_code(a, name)


def f32p(a):
    return a.ctypes.data_as(_lib.F32P)


def farray(a):
    """segloss_farray over a float32 C-contiguous array (None: absent)."""
    fa = _lib.farray()
    if a is not None:
        fa.data = f32p(a)
        fa.shape = shape_of(a)
    return fa


def from_c(data, dtype_code, shp, numel):
    """A NumPy copy of a C-owned buffer."""
    dt = np.dtype(_lib.DTYPE_NAMES[dtype_code])
    out = np.empty(shape_tuple(shp), dtype=dt)
    if numel:
        ctypes.memmove(out.ctypes.data, data, int(numel) * dt.itemsize)
    return out
