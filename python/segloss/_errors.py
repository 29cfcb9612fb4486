"""segloss.Error and the one place where a C status becomes an exception."""
from . import _lib


class Error(ValueError):
    """A segloss failure: `str(e)` is the message (the C library's sentence,
    with the offending element where the C API reports one); `status` is the
    segloss_status code, `index` the flat C-order index of the first bad
    element (None when there is none) and `value` that element's value."""

    def __init__(self, message, status=None, index=None, value=None):
        super().__init__(message)
        self.status = status
        self.index = index
        self.value = value


def strerror(status):
    return _lib.fn.strerror(status).decode()


def check(status, what=""):
    """Raises Error for a non-OK status (MemoryError for NOMEM)."""
    if status == _lib.OK:
        return
    if status == _lib.ERR_NOMEM:
        raise MemoryError(strerror(status))
    raise Error((what + ": " if what else "") + strerror(status), status)
