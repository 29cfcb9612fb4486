"""Calls from several Python threads at once give the results of one
thread, and the GIL is released during C calls (ctypes CDLL)."""
import ctypes
import threading
import time

import numpy as np

import segloss
from segloss import _lib


def test_library_loaded_as_cdll():
    # CDLL functions release the GIL around the call; PyDLL ones would not.
    assert type(_lib.core) is ctypes.CDLL and type(_lib.io) is ctypes.CDLL
    assert not _lib.fn.dice_forward._flags_ & ctypes._FUNCFLAG_PYTHONAPI


def test_four_threads_same_results(rng):
    x = rng.normal(0, 1, (4, 2, 32, 32)).astype(np.float32)
    y = (rng.random(x.shape) < 0.3).astype(np.uint8)
    pred = rng.integers(0, 4, (24, 24, 24)).astype(np.uint8)
    ref = rng.integers(0, 4, (24, 24, 24)).astype(np.uint8)

    def work():
        out = []
        for kind in ("dice", "bce-logits", "tversky", "dice-bce"):
            v, g = segloss.loss(kind, x, y, grad=True)
            out.append((v, g.tobytes()))
        out.append(repr(segloss.evaluate(pred, ref, metrics="all")))
        return out

    want = work()
    results = [None] * 4

    def run(i):
        results[i] = [work() for _ in range(3)]

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results:
        for w in r:
            assert w == want


def test_gil_released_during_c_call(rng):
    """While one thread is inside a long C call (a median of 16M doubles,
    about 0.3 s), another Python thread keeps running: the longest pause
    it sees is far shorter than the call. If the call held the GIL, the
    pause would be at least the call's duration."""
    values = rng.random(16_000_000)
    started, done = threading.Event(), threading.Event()
    spent = []

    def worker():
        r = ctypes.c_double()
        p = values.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        started.set()
        time.sleep(0.02)                      # let the main loop run first
        t0 = time.perf_counter()
        _lib.fn.percentile_inplace(ctypes.byref(r), p, values.size, 50.0)
        spent.append(time.perf_counter() - t0)
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    last, gap = time.perf_counter(), 0.0
    while not done.is_set():
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    t.join()
    assert gap < 0.5 * spent[0], (gap, spent[0])
