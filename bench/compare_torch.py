#!/usr/bin/python3
"""Side-by-side timing of segloss and PyTorch on the same shapes and threads.

For each kind (bce-logits, dice, dice-bce), target dtype (uint8, float32)
and thread count, this script times in PyTorch (torch.set_num_threads(N)):

  bce-logits  F.binary_cross_entropy_with_logits(x, y)            (mean)
  dice        MONAI DiceLoss(sigmoid=True) written out: p = sigmoid(x),
              I, P, G summed over the spatial axes per (n, c),
              f = 1 - (2I + 1e-5) / (P + G + 1e-5), mean over (n, c)
  dice-bce    dice + bce-logits (MONAI DiceCELoss with one channel)

forward only (no autograd graph) and forward + backward (x.requires_grad,
loss.backward(), x.grad reset to None before each round), median of
--repeat rounds after two warm-up rounds. A uint8 target is converted with
y.float() inside the timed region (what a training loop holding a uint8
mask does; PyTorch's losses need a float target). Then it runs
`segloss bench ... --json` with the same settings (segloss_<kind>_forward
and segloss_<kind>_forward_backward, its own median of --repeat rounds, and
the streaming pass over the same bytes: the memory floor) and prints one
table: ns per element, PyTorch / segloss, and segloss / memory floor.

Pairs (--pairs P, default 3): each row alternates P times between the two
(PyTorch then segloss, segloss then PyTorch, ...), each time --repeat
rounds, so that both sample the same minutes of a machine whose speed
drifts (other tenants, frequency): the figures are the medians of the P
medians, the ratios the medians of the P per-pair ratios. With P = 1 a
slow minute that falls on one side only moves the ratio by as much as the
machine's drift (1.4-1.6x was seen at 1 thread between two quiet runs).

Same CPUs (--pin, on by default): with fewer threads than CPUs, both sides
of a pair run on the same CPUs (this process and the segloss child are
bound to them), and the pairs rotate over the CPUs (pair p at 1 thread on
CPU p mod ncpu). On a VM whose virtual CPUs differ in speed (another
tenant on the sibling hardware thread: one CPU here was 1.2x slower in
arithmetic and 1.6x in memory streaming than the other for minutes), a
pair whose sides ran on different CPUs measured the CPUs, not the code.

PyTorch's memory (--torch-memory): PyTorch 1.13's CPU allocator takes
each tensor from glibc malloc, which maps a large block afresh and unmaps
it on free, so every 16 MiB tensor can cost 4096 page faults per use
(glibc's dynamic threshold sometimes stops that after a few calls). What a
fault costs depends on the (virtual) machine: 11-14 us on the one of
BENCHMARKS.md on 2026-12-06 (PyTorch dice forward+backward then up to 50
instead of 2 ns/element).
"keep" (the default) re-runs this script with glibc's tunables
MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_ set, so
that freed tensors stay in the heap and PyTorch runs without faults after
the warm-up rounds: its best case, against which the ratios are the
conservative ones. "default" leaves glibc as it is (what a plain PyTorch
process gets). The segloss side allocates once per run either way.

PyTorch's kernels: PyTorch picks its own CPU kernels (AVX-512, AVX2 or
the baseline "default" capability); the header prints the one it uses.
To compare segloss's portable path with what PyTorch runs on a CPU
without AVX2, run both at their baseline:
SEGLOSS_ISA=portable ATEN_CPU_CAPABILITY=default.

Usage (Debian: /usr/bin/python3 has python3-torch; another python3 on PATH
may not):

  /usr/bin/python3 bench/compare_torch.py [--segloss build/segloss]
      [--shape 16,1,512,512] [--threads 1,2] [--targets uint8,float32]
      [--kinds bce-logits,dice,dice-bce] [--repeat 11] [--pairs 3] [--runs 1]
      [--pin on|off] [--torch-memory keep|default] [--markdown] [--json FILE]

Timings on a shared machine are noisy: use medians, repeat the whole run,
and compare ratios measured in the same run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


# glibc tunables that keep freed tensors in the heap (--torch-memory keep)
KEEP_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
               "MALLOC_TOP_PAD_": str(1 << 27)}


def pair_cpus(cpus, threads, p):
    """The CPUs of pair p: all of them, or `threads` of them rotating."""
    if threads >= len(cpus):
        return set(cpus)
    return {cpus[(p * threads + k) % len(cpus)] for k in range(threads)}


def torch_capability():
    """The CPU kernels PyTorch uses (its build's "CPU capability usage")."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def make_data(shape, target, seed=1):
    g = torch.Generator().manual_seed(seed)
    n = 1
    for d in shape:
        n *= d
    u0 = torch.rand(n, generator=g)
    u1 = torch.rand(n, generator=g)
    u2 = torch.rand(n, generator=g)
    fg = u0 < 0.35
    m = torch.where(fg, 3.0, -3.0) * torch.where(u1 < 0.9, 1.0, -1.0)
    x = (m + 5.0 * (u2 - 0.5)).reshape(shape).contiguous()
    y = fg.reshape(shape).to(torch.uint8 if target == "uint8" else torch.float32)
    return x, y


def spatial_dims(ndim):
    return tuple(range(2, ndim)) if ndim >= 3 else tuple(range(ndim))


def loss_fn(kind, ndim):
    dims = spatial_dims(ndim)

    def dice(x, yf):
        p = torch.sigmoid(x)
        if ndim >= 3:
            i = (p * yf).sum(dims)
            ps = p.sum(dims)
            gs = yf.sum(dims)
        else:
            i, ps, gs = (p * yf).sum(), p.sum(), yf.sum()
        return (1.0 - (2.0 * i + 1e-5) / (ps + gs + 1e-5)).mean()

    def f(x, y):
        yf = y.float() if y.dtype != torch.float32 else y
        if kind == "bce-logits":
            return F.binary_cross_entropy_with_logits(x, yf)
        if kind == "dice":
            return dice(x, yf)
        return dice(x, yf) + F.binary_cross_entropy_with_logits(x, yf)

    return f


def time_torch(kind, x, y, repeat):
    f = loss_fn(kind, x.dim())
    numel = x.numel()
    fwd, fb = [], []
    xg = x.clone().requires_grad_(True)
    for r in range(repeat + 2):
        with torch.no_grad():
            t0 = time.perf_counter()
            loss = f(x, y)
            float(loss)
            t1 = time.perf_counter()
        xg.grad = None
        t2 = time.perf_counter()
        loss = f(xg, y)
        loss.backward()
        float(loss)
        t3 = time.perf_counter()
        if r >= 2:
            fwd.append((t1 - t0) * 1e9 / numel)
            fb.append((t3 - t2) * 1e9 / numel)
    return statistics.median(fwd), statistics.median(fb), min(fwd), min(fb)


def run_segloss(exe, kind, shape, target, threads, repeat):
    cmd = [exe, "bench", "--kind", kind, "--shape", ",".join(map(str, shape)),
           "--target", target, "--threads", str(threads), "--repeat", str(repeat), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out), " ".join(cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segloss", default="build/segloss")
    ap.add_argument("--shape", default="16,1,512,512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--targets", default="uint8,float32")
    ap.add_argument("--kinds", default="bce-logits,dice,dice-bce")
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--pairs", type=int, default=3,
                    help="alternations of PyTorch and segloss per row (see above)")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the whole sweep; report the median of the runs' medians")
    ap.add_argument("--pin", choices=("on", "off"), default="on",
                    help="run both sides of a pair on the same CPUs (see above)")
    ap.add_argument("--torch-memory", choices=("keep", "default"), default="keep",
                    help="glibc malloc tunables for PyTorch's tensors (see above)")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args()
    if a.torch_memory == "keep" and os.environ.get("MALLOC_MMAP_THRESHOLD_") is None:
        # glibc reads its tunables at start-up: run again with them set
        env = dict(os.environ, **KEEP_MALLOC)
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    all_cpus = sorted(os.sched_getaffinity(0))
    shape = [int(s) for s in a.shape.split(",")]
    configs = [(int(t), target, kind) for t in a.threads.split(",")
               for target in a.targets.split(",") for kind in a.kinds.split(",")]
    keys = ("torch_fwd_ns", "torch_fwd_bwd_ns", "segloss_fwd_ns", "segloss_fwd_bwd_ns",
            "copy_ns", "torch_fwd_ns_min", "torch_fwd_bwd_ns_min", "segloss_fwd_ns_min",
            "segloss_fwd_bwd_ns_min", "copy_ns_min")
    samples = {c: {k: [] for k in keys + ("ratio_fwd", "ratio_fwd_bwd", "cpus")}
               for c in configs}
    info = {}
    for run in range(a.runs):
        for threads, target, kind in configs:
            torch.set_num_threads(threads)
            x, y = make_data(shape, target)
            for p in range(max(a.pairs, 1)):
                cpus = pair_cpus(all_cpus, threads, p) if a.pin == "on" else all_cpus
                os.sched_setaffinity(0, cpus)  # the segloss child inherits it
                # alternate which side goes first: ABBA over the pairs
                if p % 2 == 0:
                    t = time_torch(kind, x, y, a.repeat)
                    s, cmd = run_segloss(a.segloss, kind, shape, target, threads, a.repeat)
                else:
                    s, cmd = run_segloss(a.segloss, kind, shape, target, threads, a.repeat)
                    t = time_torch(kind, x, y, a.repeat)
                tf, tfb, tfm, tfbm = t
                got = (tf, tfb, s["fwd_ns_per_elem"], s["fwd_bwd_ns_per_elem"],
                       s["copy_ns_per_elem"], tfm, tfbm, s["fwd_ns_per_elem_min"],
                       s["fwd_bwd_ns_per_elem_min"], s["copy_ns_per_elem_min"],
                       tf / s["fwd_ns_per_elem"], tfb / s["fwd_bwd_ns_per_elem"])
                for k, v in zip(keys + ("ratio_fwd", "ratio_fwd_bwd"), got):
                    samples[(threads, target, kind)][k].append(v)
                samples[(threads, target, kind)]["cpus"].append(sorted(cpus))
            info[(threads, target, kind)] = (s["isa"], s["threads"], cmd)
        print(f"run {run + 1} of {a.runs} done", file=sys.stderr, flush=True)
    os.sched_setaffinity(0, all_cpus)
    rows = []
    cap = torch_capability()
    memory = "kept (glibc tunables)" if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "glibc default"
    print(f"torch {torch.__version__} (kernels: {cap}; memory: {memory}), shape {tuple(shape)}, "
          + f"median of {a.repeat} rounds, median of {max(a.pairs, 1) * a.runs} alternated pairs"
          + (", both sides of a pair on the same CPUs" if a.pin == "on" else "")
          + "; ns per element (fb = forward+backward)")
    hdr = (f"{'kind':<10} {'target':<7} {'thr':>3} | {'torch fwd':>9} {'torch fb':>9} | "
           f"{'segl fwd':>8} {'segl fb':>8} {'floor':>6} | {'x fwd':>6} {'x fb':>6} "
           f"{'min fb':>6} | {'fb/floor':>8} isa")
    print(hdr)
    print("-" * len(hdr))
    for c in configs:
        threads, target, kind = c
        row = {"kind": kind, "target": target, "threads": threads}
        for k in keys:
            agg = min if k.endswith("_min") else statistics.median
            row[k] = agg(samples[c][k])
            row[k + "_runs"] = samples[c][k]
        row["isa"], row["segloss_threads"], row["command"] = info[c]
        row["cpus_per_pair"] = samples[c]["cpus"]
        # the median of the per-pair ratios (both sides timed in the same minutes)
        row["speedup_fwd"] = statistics.median(samples[c]["ratio_fwd"])
        row["speedup_fwd_bwd"] = statistics.median(samples[c]["ratio_fwd_bwd"])
        row["speedup_fwd_bwd_runs"] = samples[c]["ratio_fwd_bwd"]
        # fastest round against fastest round: what a loaded machine leaves usable
        row["speedup_fwd_bwd_min"] = row["torch_fwd_bwd_ns_min"] / row["segloss_fwd_bwd_ns_min"]
        row["fwd_bwd_over_floor"] = row["segloss_fwd_bwd_ns"] / row["copy_ns"]
        rows.append(row)
        print(f"{kind:<10} {target:<7} {threads:>3} | {row['torch_fwd_ns']:9.3f} "
              f"{row['torch_fwd_bwd_ns']:9.3f} | {row['segloss_fwd_ns']:8.3f} "
              f"{row['segloss_fwd_bwd_ns']:8.3f} {row['copy_ns']:6.3f} | "
              f"{row['speedup_fwd']:6.1f} {row['speedup_fwd_bwd']:6.1f} "
              f"{row['speedup_fwd_bwd_min']:6.1f} | "
              f"{row['fwd_bwd_over_floor']:8.1f} {row['isa']}")
    print("x fwd, x fb: PyTorch time / segloss time (median of the pairs' ratios); min fb: the"
          " same for the fastest rounds; fb/floor: segloss forward+backward / streaming pass"
          " over the same bytes")
    if a.markdown:
        # medians, with the fastest round in parentheses
        def mm(r, k, fmt):
            return f"{r[k]:{fmt}} ({r[k + '_min']:{fmt}})"
        print()
        print("| loss | target | threads | PyTorch fwd | PyTorch fwd+bwd | segloss fwd | "
              "segloss fwd+bwd | memory floor | PyTorch / segloss, fwd | "
              "PyTorch / segloss, fwd+bwd | segloss fwd+bwd / floor |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['kind']} | {r['target']} | {r['threads']} | "
                  f"{mm(r, 'torch_fwd_ns', '.2f')} | {mm(r, 'torch_fwd_bwd_ns', '.2f')} | "
                  f"{mm(r, 'segloss_fwd_ns', '.2f')} | {mm(r, 'segloss_fwd_bwd_ns', '.2f')} | "
                  f"{mm(r, 'copy_ns', '.2f')} | {r['speedup_fwd']:.1f}× | "
                  f"{r['speedup_fwd_bwd']:.1f}× | {r['fwd_bwd_over_floor']:.1f}× |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"torch": torch.__version__, "torch_capability": cap, "torch_memory": memory,
                       "pin": a.pin, "shape": shape, "repeat": a.repeat, "pairs": a.pairs,
                       "runs": a.runs, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
