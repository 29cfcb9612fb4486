#!/usr/bin/env bash
# Median wall time of whole `segloss eval` runs (docs/benchmarks-eval.md).
#
#   bash tools/bench-eval.sh RUNS SEGLOSS EVAL-ARGS...
#
# Runs the command RUNS times (output discarded) and prints the median,
# min and max wall time in seconds, the median CPU time (user + system),
# and the median peak RSS in MiB (/usr/bin/time's %e %U %S %M). On a shared
# machine the wall time depends on the other load: take medians, look at
# the CPU time too, and compare only figures taken in the same session.
set -eu
runs=$1
shift
ts=() rs=() cs=()
for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o /tmp/bench-eval.$$ "$@" >/dev/null
    read -r t u s r </tmp/bench-eval.$$
    ts+=("$t")
    cs+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
    rs+=("$r")
done
rm -f /tmp/bench-eval.$$
printf '%s\n' "${ts[@]}" | sort -g | awk '{v[NR] = $1} END {printf "median %.3f s  min %.3f  max %.3f", v[int((NR + 1) / 2)], v[1], v[NR]}'
printf '%s\n' "${cs[@]}" | sort -g | awk '{v[NR] = $1} END {printf "  cpu %.2f s", v[int((NR + 1) / 2)]}'
printf '%s\n' "${rs[@]}" | sort -g | awk '{v[NR] = $1} END {printf "  peak RSS %.0f MiB\n", v[int((NR + 1) / 2)] / 1024}'
