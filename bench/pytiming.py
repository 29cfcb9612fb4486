"""Timing for the Python benchmarks (compare_python.py, python_overhead.py)."""
import resource
import statistics
import time


def fastest(fs, reps):
    """Fastest time of each function in fs (after one warm-up call each), run
    interleaved (f0, f1, ... per round) so that the load of a shared machine
    falls on all of them alike."""
    return [min(t) for t in rounds(fs, reps)["wall"]]


def rounds(fs, reps):
    """Each function in fs timed `reps` times after one warm-up call,
    interleaved (f0, f1, ... per round): per function the lists of wall
    seconds ("wall"), CPU seconds of the whole process, every thread
    ("cpu"), and minor page faults ("faults")."""
    for f in fs:
        f()
    out = {k: [[] for _ in fs] for k in ("wall", "cpu", "faults")}
    for _ in range(reps):
        for i, f in enumerate(fs):
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            t1, c1 = time.perf_counter(), time.process_time()
            out["wall"][i].append(t1 - t0)
            out["cpu"][i].append(c1 - c0)
            out["faults"][i].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return out


def median(xs):
    return statistics.median(xs)
