"""Timing for the Python benchmarks (compare_python.py, python_overhead.py),
and the PyTorch training step they both time."""
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


# ---- the PyTorch cases (torch imported by the callers that need it) ----------
def torch_case(shape=(16, 1, 512, 512), seed=0):
    """Logits x (standard normal) and a float32 0/1 target y (30 % ones)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    return x, (torch.rand(*shape, generator=g) < 0.3).float()


def monai_dice(a, b):
    """MONAI 1.3 DiceLoss(sigmoid=True) with its default options, in torch."""
    import torch
    p = torch.sigmoid(a)
    sp = tuple(range(2, a.dim()))
    inter = (p * b).sum(sp)
    den = p.sum(sp) + b.sum(sp)
    return (1.0 - (2.0 * inter + 1e-5) / (den + 1e-5)).mean()


def monai_dice_bce(a, b):
    """MONAI DiceCELoss(sigmoid=True) with one channel: Dice + BCE-with-logits."""
    import torch.nn.functional as F
    return monai_dice(a, b) + F.binary_cross_entropy_with_logits(a, b)


def torch_step(fn, x, y):
    """One training step of the loss fn: a leaf copy of x, the loss,
    loss.backward(); returns the gradient."""
    def run():
        xx = x.detach().requires_grad_(True)
        fn(xx, y).backward()
        return xx.grad
    return run
