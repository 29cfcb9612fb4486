# Shared harness of the CLI golden tests (run.sh, eval.sh, faults.sh),
# sourced by each of them after setting `here`:
#
#   cli_init TAG     SEGLOSS made absolute and checked; TMP (segloss-TAG.*,
#                    removed at exit), OUT, ERR; the counters n_run, n_fail
#   t NAME RC STDOUT STDERR -- COMMAND ARGS...
#                    one case: exit status, stdout and stderr against specs
#   STDOUT/STDERR:  ''       must be empty
#                   '*'      anything
#                   '=TEXT'  exactly TEXT (plus a final newline)
#                   '~ERE'   some line matches the extended regex ERE
#                   '!ERE'   no line matches ERE
#                   '#KEY'   one number, close to KEY (the script defines
#                            expected_value and close)
#   check NAME MESSAGE-IF-FALSE -- COMMAND...   one extra assertion
#   fresh / untouched   the failure protocol: FAILDIR holds only KEEP
#                    before a failing command, and only KEEP, unchanged,
#                    afterwards (the script sets KEEP inside FAILDIR)
#
# CMD_TIMEOUT, when set, limits every command of t to that many seconds.
# Each script prints its own "... tests: N run, M failed" line.

cli_init() {
    SEGLOSS=${SEGLOSS:?set SEGLOSS to the segloss binary}
    case $SEGLOSS in /*) ;; *) SEGLOSS=$PWD/$SEGLOSS ;; esac
    [ -x "$SEGLOSS" ] || { echo "${0##*/}: $SEGLOSS is not an executable" >&2; exit 2; }

    TMP=$(mktemp -d "${TMPDIR:-/tmp}/segloss-$1.XXXXXX") || exit 2
    trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
    OUT=$TMP/stdout
    ERR=$TMP/stderr
    FAILDIR=$TMP/fail

    n_run=0
    n_fail=0
    name=
}

fail() {
    n_fail=$((n_fail + 1))
    printf 'FAIL: %s\n  %s\n' "$name" "$*"
}

pass_or_fail() {  # $1 = message on failure (empty = pass)
    n_run=$((n_run + 1))
    if [ -n "$1" ]; then fail "$1"; return 1; fi
    return 0
}

# match SPEC FILE WHAT: prints a reason when FILE does not satisfy SPEC.
match() {
    local spec=$1 file=$2 what=$3 ref got
    case $spec in
    '') [ -s "$file" ] && echo "$what should be empty" ;;
    '*') ;;
    =*) printf '%s\n' "${spec#=}" | cmp -s - "$file" || echo "$what differs from the expected text" ;;
    '~'*) grep -Eq -- "${spec#\~}" "$file" || echo "$what does not match /${spec#\~}/" ;;
    '!'*) grep -Eq -- "${spec#!}" "$file" && echo "$what matches /${spec#!}/ but should not" ;;
    '#'*)
        ref=$(expected_value "${spec#\#}") || { echo "no key ${spec#\#} in expected.txt"; return; }
        got=$(cat "$file")
        close "$got" "$ref" || echo "$what '$got' is not within rtol $RTOL of ${spec#\#} = $ref"
        ;;
    *) echo "bad spec '$spec' in ${0##*/}" ;;
    esac
}

t() {
    name=$1
    local rc_want=$2 out_spec=$3 err_spec=$4 rc msg
    shift 4
    [ "$1" = -- ] && shift
    if [ -n "${CMD_TIMEOUT:-}" ]; then
        timeout "$CMD_TIMEOUT" "$@" >"$OUT" 2>"$ERR"
    else
        "$@" >"$OUT" 2>"$ERR"
    fi
    rc=$?
    msg=
    [ -n "${CMD_TIMEOUT:-}" ] && [ "$rc" = 124 ] && msg="timed out after ${CMD_TIMEOUT}s"
    [ -z "$msg" ] && [ "$rc" != "$rc_want" ] && msg="exit status $rc, expected $rc_want"
    [ -z "$msg" ] && msg=$(match "$out_spec" "$OUT" stdout)
    [ -z "$msg" ] && msg=$(match "$err_spec" "$ERR" stderr)
    if ! pass_or_fail "$msg"; then
        printf '  command: %s\n' "$*"
        sed -n '1,12s/^/  stdout| /p' "$OUT"
        sed -n '1,12s/^/  stderr| /p' "$ERR"
    fi
}

# check NAME MESSAGE-IF-FALSE -- COMMAND...: one extra assertion.
check() {
    name=$1
    local msg=$2
    shift 2
    [ "$1" = -- ] && shift
    if "$@"; then pass_or_fail ""; else pass_or_fail "$msg"; fi
}

# ---- the failure protocol: outputs untouched -------------------------------
fresh() {
    rm -rf "$FAILDIR"
    mkdir -p "$FAILDIR"
    printf 'precious bytes\n' >"$KEEP"
}
untouched() {
    name="$name: outputs untouched"
    local msg= listing keep=${KEEP##*/}
    listing=$(cd "$FAILDIR" && ls -A | tr '\n' ' ')
    if [ "$listing" != "$keep " ]; then
        msg="output directory holds: $listing(expected only $keep)"
    elif [ "$(cat "$KEEP")" != "precious bytes" ]; then
        msg="pre-existing $keep was changed"
    fi
    pass_or_fail "$msg"
}
