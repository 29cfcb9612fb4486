#!/usr/bin/env bash
# Test counts for `make test`, `make valgrind`, `make install-check` and
# `make check`: every runner's result is kept in a file DIR/NAME.res
# ("PASSED FAILED STATUS"), and one line sums them.
#
#   count.sh run DIR NAME -- COMMAND...
#       runs a test runner; its stdout is shown and kept in DIR/NAME.log.
#       Its count is its last line of either form
#         "... tests: N run, M failed[; ...]"       (tests/tf.c, tests/cli/lib.sh)
#         "fuzz replay T: N inputs, M failures"     (fuzz/replay_main.c)
#       giving N-M passed, M failed. A runner that exits nonzero with no
#       failure counted adds one failure; one that prints no count line is
#       one failure too (a changed format must not drop its tests silently).
#   count.sh one DIR NAME -- COMMAND...
#       a command that is one test: exit 0 passes.
#   count.sh status DIR PREFIX
#       exits 1 when a result under DIR/PREFIX* failed (prints which).
#   count.sh total LABEL DIR PREFIX [STATUS]
#       the same, then prints "LABEL: N passed, M failed" summed over
#       DIR/PREFIX*; a nonzero STATUS (a stage that failed outside any
#       runner, e.g. a compile error) with no failure counted is one failure.
#
# run and one always exit 0, so that the other runners still run; status
# or total fails afterwards.
set -u

record() {  # DIR NAME PASSED FAILED STATUS
    printf '%s %s %s\n' "$3" "$4" "$5" > "$1/$2.res"
}

mode=${1:-}
case $mode in
run|one)
    dir=$2 name=$3
    [ "$4" = -- ] || { echo "count.sh: usage: count.sh $mode DIR NAME -- COMMAND..." >&2; exit 2; }
    shift 4
    mkdir -p "$dir"
    "$@" | tee "$dir/$name.log"
    rc=${PIPESTATUS[0]}
    if [ "$mode" = one ]; then
        if [ "$rc" = 0 ]; then record "$dir" "$name" 1 0 0
        else
            echo "FAIL: $name (exit status $rc)"
            record "$dir" "$name" 0 1 "$rc"
        fi
        exit 0
    fi
    line=$(grep -E '^.* tests: [0-9]+ run, [0-9]+ failed|^fuzz replay .*: [0-9]+ inputs, [0-9]+ failures$' \
           "$dir/$name.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL: $name printed no count line (exit status $rc)"
        record "$dir" "$name" 0 1 "$rc"
        exit 0
    fi
    if [[ $line =~ ([0-9]+)\ run,\ ([0-9]+)\ failed ]] ||
       [[ $line =~ ([0-9]+)\ inputs,\ ([0-9]+)\ failures ]]; then
        n=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]}
    fi
    p=$((n > m ? n - m : 0))
    if [ "$rc" != 0 ] && [ "$m" = 0 ]; then
        echo "FAIL: $name exited with status $rc after reporting no failure"
        m=1
    fi
    record "$dir" "$name" "$p" "$m" "$rc"
    exit 0
    ;;
status|total)
    if [ "$mode" = total ]; then label=$2; shift; fi
    dir=$2 prefix=${3:-} stage_rc=${4:-0}
    passed=0 failed=0 bad=
    for f in "$dir/$prefix"*.res; do
        [ -e "$f" ] || continue
        read -r p m rc < "$f"
        passed=$((passed + p)) failed=$((failed + m))
        if [ "$m" != 0 ]; then
            r=${f##*/}
            bad="$bad ${r%.res}"
        fi
    done
    [ -n "$bad" ] && echo "failed:$bad"
    if [ "$stage_rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
    [ "$mode" = total ] && echo "$label: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    ;;
*)
    echo "usage: count.sh run|one DIR NAME -- COMMAND... | status DIR PREFIX | total LABEL DIR PREFIX [STATUS]" >&2
    exit 2
    ;;
esac
