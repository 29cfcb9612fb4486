#!/usr/bin/env bash
# Median wall time of whole `segloss eval` runs (docs/benchmarks-eval.md).
#
#   bash tools/bench-eval.sh RUNS SEGLOSS EVAL-ARGS...
#
# Runs the command RUNS times (output discarded) and prints
# "median min max" in seconds, and the median peak RSS in MiB
# (/usr/bin/time's %M). On a shared machine take the median, and compare
# only figures taken in the same session.
set -eu
runs=$1
shift
ts=() rs=()
for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %M' -o /tmp/bench-eval.$$ "$@" >/dev/null
    read -r t r </tmp/bench-eval.$$
    ts+=("$t")
    rs+=("$r")
done
rm -f /tmp/bench-eval.$$
printf '%s\n' "${ts[@]}" | sort -g | awk '{v[NR] = $1} END {printf "median %.3f s  min %.3f  max %.3f", v[int((NR + 1) / 2)], v[1], v[NR]}'
printf '%s\n' "${rs[@]}" | sort -g | awk '{v[NR] = $1} END {printf "  peak RSS %.0f MiB\n", v[int((NR + 1) / 2)] / 1024}'
