#!/bin/sh
# The public functions of include/segloss.h and the symbols the shared
# libraries export, held to one rule. A public function declaration is a
# line that starts at column 0 with a return type followed by a name
# segloss_xxx( (struct members and comment lines are indented; typedefs are
# not declarations of functions).
#
#   sh tools/api-symbols.sh mark  [HEADER]   prefix every such declaration
#        with SEGLOSS_API (idempotent) and indent its continuation lines by
#        the same 12 columns, so that the parameters stay aligned
#   sh tools/api-symbols.sh list  [HEADER]   the declared names, one a line
#   sh tools/api-symbols.sh check HEADER LIB.so...
#        fails (exit 1, one line per problem) unless every declaration is
#        marked SEGLOSS_API, every symbol the libraries export is a declared
#        name, and every declared name is exported by one of them
# HEADER defaults to include/segloss.h.
set -eu

mode=${1:?usage: api-symbols.sh mark|list|check [HEADER [LIB.so...]]}
[ $# -gt 0 ] && shift
header=${1:-include/segloss.h}
[ $# -gt 0 ] && shift

# awk program: $decl is the declaration rule; `what` selects the action.
scan() {
    awk -v what="$1" '
    BEGIN { decl = "^([A-Za-z_][A-Za-z0-9_]*[ *]+)+segloss_[a-z0-9_]+[(]"; pad = "            " }
    cont {
        if ($0 ~ /^[ \t]/) $0 = pad $0
        if (index($0, ";")) cont = 0
        if (what == "mark") print
        next
    }
    $0 ~ decl && $0 !~ /^typedef[ \t]/ {
        match($0, decl)
        name = substr($0, 1, RLENGTH - 1)
        sub(/.*[ *]/, "", name)
        marked = ($0 ~ /^SEGLOSS_API /)
        if (what == "list") print name
        if (what == "unmarked" && !marked) printf "%s:%d: %s is not marked SEGLOSS_API\n", FILENAME, FNR, name
        if (what == "mark" && !marked) {
            $0 = "SEGLOSS_API " $0
            if (!index($0, ";")) cont = 1
        }
    }
    what == "mark" { print }
    ' "$header"
}

case $mode in
mark)
    tmp=$(mktemp "$header.XXXXXX")
    scan mark > "$tmp" && cat "$tmp" > "$header"
    rm -f "$tmp"
    ;;
list)
    scan list
    ;;
check)
    [ $# -gt 0 ] || { echo "api-symbols.sh check: no library given" >&2; exit 2; }
    declared=$(scan list | sort -u)
    problems=$(scan unmarked)
    exported=
    for lib in "$@"; do
        syms=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u) ||
            { echo "api-symbols.sh: cannot read the symbols of $lib" >&2; exit 2; }
        for s in $(printf '%s\n' "$syms" | grep -vxF "$declared" || true); do
            problems="$problems${problems:+
}$lib exports $s, which is not a public function of $header"
        done
        exported="$exported
$syms"
    done
    for s in $(printf '%s\n' "$declared" | grep -vxF "$(printf '%s\n' "$exported" | sed '/^$/d')" || true); do
        problems="$problems${problems:+
}$header declares $s but no library exports it"
    done
    if [ -n "$problems" ]; then
        printf '%s\n' "$problems"
        exit 1
    fi
    echo "exports: $(printf '%s\n' "$declared" | wc -l) public functions of $header, all exported, nothing else"
    ;;
*)
    echo "usage: api-symbols.sh mark|list|check [HEADER [LIB.so...]]" >&2
    exit 2
    ;;
esac
