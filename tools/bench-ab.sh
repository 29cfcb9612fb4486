#!/usr/bin/env bash
# Two or more commands run alternately (docs/benchmarks-eval.md):
#
#   bash tools/bench-ab.sh RUNS "CMD_A" "CMD_B"... -- COMMON-ARGS...
#
# Each CMD is split into words and run with COMMON-ARGS after it, one after
# the other, RUNS rounds (output discarded); printed per command: the
# median and min wall time in
# ms (bash's EPOCHREALTIME around each run), the median CPU time (user +
# system) and the median peak RSS (/usr/bin/time's %U %S %M). On a shared
# machine the load changes from minute to minute: running the commands
# alternately makes their figures comparable, where separate sets of runs
# are not. OMP_WAIT_POLICY is passive unless set. For example:
#
#   bash tools/bench-ab.sh 21 "old/segloss eval" "build/segloss eval" -- \
#       --pred P --ref R --metrics dice,hd95,assd --threads 2 -q
#   bash tools/bench-ab.sh 21 "build/segloss eval --threads 1" \
#       "build/segloss eval --threads 2" -- --pred P --ref R -q
set -eu
runs=$1
shift
bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    bins+=("$1")
    shift
done
[ $# -gt 0 ] && shift
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
declare -A wall cpu rss
for ((i = 0; i < runs; i++)); do
    for b in "${bins[@]}"; do
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086 # CMD is split into words on purpose
        /usr/bin/time -f '%U %S %M' -o "$tmp" $b "$@" >/dev/null
        t1=$EPOCHREALTIME
        read -r u s r <"$tmp"
        wall[$b]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}') "
        cpu[$b]+="$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}') "
        rss[$b]+="$r "
    done
done
median() { printf '%s\n' $1 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)], v[1]}'; }
for b in "${bins[@]}"; do
    read -r wm wmin <<<"$(median "${wall[$b]}")"
    read -r cm _ <<<"$(median "${cpu[$b]}")"
    read -r rm _ <<<"$(median "${rss[$b]}")"
    printf '%s: median %.1f ms  min %.1f  cpu %.2f s  peak RSS %.0f MiB  (%d runs)\n' \
        "$b" "$wm" "$wmin" "$cm" "$(awk -v r="$rm" 'BEGIN {print r / 1024}')" "$runs"
done
