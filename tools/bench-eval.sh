#!/usr/bin/env bash
# Median wall time of whole `segloss eval` runs (docs/benchmarks-eval.md).
#
#   bash tools/bench-eval.sh RUNS SEGLOSS EVAL-ARGS...
#
# Runs the command RUNS times (output discarded) and prints the median,
# min and max wall time in seconds (bash's EPOCHREALTIME around each run:
# microseconds, where /usr/bin/time's %e has 10 ms steps; it includes
# starting /usr/bin/time, about 1 ms), the median CPU time (user + system)
# and the median peak RSS in MiB (/usr/bin/time's %U %S %M). On a shared
# machine the wall time depends on the other load: take medians, look at
# the CPU time too, and compare only figures taken in the same session.
set -eu
runs=$1
shift
ts=() rs=() cs=()
for ((i = 0; i < runs; i++)); do
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o /tmp/bench-eval.$$ "$@" >/dev/null
    t1=$EPOCHREALTIME
    read -r u s r </tmp/bench-eval.$$
    ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')")
    cs+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
    rs+=("$r")
done
rm -f /tmp/bench-eval.$$
printf '%s\n' "${ts[@]}" | sort -g | awk '{v[NR] = $1} END {printf "median %.4f s  min %.4f  max %.4f", v[int((NR + 1) / 2)], v[1], v[NR]}'
printf '%s\n' "${cs[@]}" | sort -g | awk '{v[NR] = $1} END {printf "  cpu %.2f s", v[int((NR + 1) / 2)]}'
printf '%s\n' "${rs[@]}" | sort -g | awk '{v[NR] = $1} END {printf "  peak RSS %.0f MiB\n", v[int((NR + 1) / 2)] / 1024}'
