"""segloss: segmentation losses (forward and backward) and metrics from NumPy.

A thin layer over libsegloss (ctypes; the GIL is released during every C
call). See docs/python.md.

    import segloss
    loss, grad = segloss.loss("dice", logits, mask, grad=True)
    case = segloss.evaluate(pred, ref, spacing=(1, 1, 2), metrics="dice,hd95")
    run = segloss.evaluate_files("pred/", "ref/", metrics="all")
"""
from . import _lib
from ._errors import Error
from ._eval import METRICS, evaluate, evaluate_files, read_image
from ._loss import KINDS, loss
from ._stats import backward_from_stats, loss_from_stats, region_stats

__all__ = ["Error", "loss", "region_stats", "loss_from_stats", "backward_from_stats", "evaluate", "evaluate_files", "read_image", "kinds", "metrics",
           "set_num_threads", "get_num_threads", "library_version", "__version__"]

__version__ = "0.2.0"


def library_version():
    """The version string of the libsegloss in use."""
    return _lib.fn.version_string().decode()


def kinds():
    """The loss kinds, as `segloss loss` names them."""
    return list(KINDS)


def metrics():
    """The metric names evaluate() can report, in output order."""
    return list(METRICS)


def set_num_threads(n):
    """Threads the library may use (n <= 0: all cores). Results never depend on it."""
    _lib.fn.set_num_threads(int(n))


def get_num_threads():
    return _lib.fn.get_num_threads()
