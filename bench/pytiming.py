"""Timing for the Python benchmarks (compare_python.py, python_overhead.py)."""
import time


def fastest(fs, reps):
    """Fastest time of each function in fs (after one warm-up call each), run
    interleaved (f0, f1, ... per round) so that the load of a shared machine
    falls on all of them alike."""
    for f in fs:
        f()
    ts = [[] for _ in fs]
    for _ in range(reps):
        for f, t in zip(fs, ts):
            t0 = time.perf_counter()
            f()
            t.append(time.perf_counter() - t0)
    return [min(t) for t in ts]
