#!/usr/bin/env bash
# Tests of `segloss eval --html FILE`, in the style of tests/cli/eval.sh.
#
#   SEGLOSS=build/segloss HTML_TOOL=build/html_tool bash tests/cli/html.sh
#
# The page: tags balanced, every case and label present, the per-case cells
# equal to the table output of the same run, NaN cases counted, hostile file
# names escaped, written atomically, a 1,000-case x 10-label page < 5 MB.
# Then a real browser: Debian's chromium (headless) loads the page for
# examples/png and the 1,000-case page without console messages; the
# screenshots are not one colour and show the plot's coloured dots; the
# 1,000-case page's render time (navigation start to the load event plus a
# forced layout, which the page records on <html>) is printed: 0.35-0.75 s
# on a quiet machine (docs/eval.md). Timings on a shared machine are noise,
# so the check is only a guard against a gross regression (< 10 s). These
# browser tests are skipped (one SKIP line) only when chromium is not
# installed (tools/setup-debian.sh installs it); a chromium that fails
# fails them.
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cli_init html
TOOL=${HTML_TOOL:?set HTML_TOOL to build/html_tool}
case $TOOL in /*) ;; *) TOOL=$PWD/$TOOL ;; esac
S=$SEGLOSS
cd "$ROOT" || exit 2
EX="--pred examples/png/pred --ref examples/png/ref"
export SOURCE_DATE_EPOCH=0

# has FILE TEXT: FILE contains the fixed string TEXT.
has() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }
tags_ok() { "$TOOL" tags "$1" >"$TMP/tags.txt" || { cat "$TMP/tags.txt"; return 1; }; }

# ============================================================================
# The page for examples/png
# ============================================================================
# Run as the README shows it (examples/ reached through a link, so that
# the page names report.html as the README does); HTML_SCREENSHOT=PATH
# keeps the 1280-px screenshot of this page (docs/eval-report.png is made
# so: HTML_SCREENSHOT=docs/eval-report.png make test).
mkdir -p "$TMP/ex" && ln -s "$ROOT/examples" "$TMP/ex/examples" && cd "$TMP/ex" || exit 2
P=$TMP/ex/report.html
t "examples/png: table on stdout as without --html" 0 \
    "=$("$S" eval $EX --metrics dice,hd95)" '' -- "$S" eval $EX --metrics dice,hd95 --html report.html
check "examples/png: page written" "no $P" -- test -s "$P"
check "examples/png: tags balanced, entities valid" "$(cat "$TMP/tags.txt" 2>/dev/null)" -- tags_ok "$P"
check "examples/png: head" "no doctype/title" -- has "$P" '<title>segloss eval report</title>'
check "examples/png: command line shown" "command missing" -- \
    has "$P" "segloss eval --pred examples/png/pred --ref examples/png/ref --metrics dice,hd95 --html report.html</code>"
check "examples/png: version shown" "version missing" -- has "$P" "<dt>segloss</dt><dd>$("$S" --version | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)</dd>"
check "examples/png: SOURCE_DATE_EPOCH date" "date missing" -- has "$P" '1970-01-01 00:00:00 UTC'
check "examples/png: self-contained (no src=, href= only to #anchors, no url()" "external reference" -- \
    sh -c "! grep -Eq 'src=|href=\"[^#]|url\\(|@import|https?:' '$P'"

# Every (case, label) row of the table output is a row of the per-case table.
rows_match() {
    local want=$1 page=$2 miss=0 c l rest line
    while read -r c l rest; do
        line="<tr><td class=\"c\">$c</td><td>$l</td>"
        for v in $rest; do line="$line<td>$v</td>"; done
        has "$page" "$line</tr>" || { echo "missing row: $line"; miss=1; }
    done < <(awk 'NR > 1 && NF && $1 !~ /^mean/' "$want")
    [ "$miss" = 0 ]
}
"$S" eval $EX --metrics dice,hd95 >"$TMP/ex.txt"
check "examples/png: every case and label, cells as in the table" "$(rows_match "$TMP/ex.txt" "$P")" -- \
    rows_match "$TMP/ex.txt" "$P"
check "examples/png: one plot per metric" "expected 2 figures" -- \
    test "$(grep -c '<figure><svg' "$P")" = 2
check "examples/png: a dot per case and label in the plots" "dots" -- \
    test "$(grep '^<path class="p"' "$P" | grep -o 'h0' | wc -l)" = 16
# NaN: hd95 of label 2 is undefined in 2 of the 4 cases (empty prediction).
check "NaN: summary counts them" "hd95 label 2 row" -- \
    has "$P" '<tr><td class="c">hd95</td><td class="c">2</td><td>4</td><td>1.6180</td><td>0.6180</td><td>1.6180</td><td>2</td><td>2</td></tr>'
check "NaN: the plot shows them" "n=2, nan=2" -- has "$P" 'n=2, nan=2</text>'
check "NaN: per-case cell nan" "nan cell" -- has "$P" '<td class="c">case03.png</td><td>2</td><td>0.0000</td><td>nan</td>'
check "worst cases by dice and by hd95" "worst tables" -- \
    sh -c "grep -qF 'by dice (lowest first)' '$P' && grep -qF 'by hd95 (highest first)' '$P'"
check "worst dice of label 2 is case03.png (0.0000, first in name order)" "worst row" -- \
    has "$P" '<tr><td class="c">2</td><td>1</td><td class="c">case03.png</td><td>0.0000</td></tr>'

P3=$TMP/l3.html
t "a label absent everywhere: all NaN" 0 '*' '' -- "$S" eval $EX --labels 1,2,3 --html "$P3" -q
check "all-NaN label: summary n 0, nan 4" "dice label 3 row" -- \
    has "$P3" '<tr><td class="c">dice</td><td class="c">3</td><td>4</td><td>nan</td><td>nan</td><td>nan</td><td>0</td><td>4</td></tr>'
check "all-NaN label: plot n=0, nan=4" "n=0, nan=4" -- has "$P3" 'n=0, nan=4</text>'
check "all-NaN label: tags balanced" "$(cat "$TMP/tags.txt")" -- tags_ok "$P3"
cd "$ROOT" || exit 2

t "--html - writes the page on stdout" 0 '~^<!DOCTYPE html>$' '' -- "$S" eval $EX --html -
t "--html - and --json -" 1 '' '~^segloss: eval: --json - and --html - both want standard output' \
    -- "$S" eval $EX --json - --html -
t "--html and --csv the same file" 1 '' "~^segloss: eval: --csv and --html name the same file '$TMP/x'" \
    -- "$S" eval $EX --csv "$TMP/x" --html "$TMP/x"
check "help names --html" "no --html in help" -- sh -c "'$S' eval --help | grep -q -- '--html FILE|-'"

# ============================================================================
# Hostile file names
# ============================================================================
H="$TMP/hostile $(printf '\303\251')'q"
mkdir -p "$H/pred" "$H/ref"
names=('a<b&"c'"'"'d.png' "$(printf 'caf\303\251.png')" "$(printf 'bad\377.png')" 'x>y.png' "$(printf 'tab\tnl.png')")
for k in "${!names[@]}"; do
    cp "examples/png/pred/case0$((k % 4 + 1)).png" "$H/pred/${names[k]}"
    cp "examples/png/ref/case0$((k % 4 + 1)).png" "$H/ref/${names[k]}"
done
PH=$TMP/hostile.html
t "hostile names: evaluated" 0 '*' '' -- "$S" eval --pred "$H/pred" --ref "$H/ref" --metrics dice --html "$PH" -q
check "hostile names: tags balanced, entities valid" "$(cat "$TMP/tags.txt")" -- tags_ok "$PH"
check "hostile names: < & \" ' escaped" "escaped name missing" -- has "$PH" 'a&lt;b&amp;&quot;c&#39;d.png'
check "hostile names: > escaped" "x&gt;y.png missing" -- has "$PH" 'x&gt;y.png'
check "hostile names: UTF-8 as a character reference" "caf&#xE9;.png missing" -- has "$PH" 'caf&#xE9;.png'
check "hostile names: invalid UTF-8 as U+FFFD" "bad&#xFFFD;.png missing" -- has "$PH" 'bad&#xFFFD;.png'
check "hostile names: control character visible" "tab&#x2409;nl.png missing" -- has "$PH" 'tab&#x2409;nl.png'
check "hostile names: no raw bytes >= 0x80" "raw non-ASCII byte" -- sh -c "! LC_ALL=C grep -q '[^ -~	]' '$PH'"
check "hostile names: no raw <b" "raw <b" -- lacks "$PH" 'a<b'
check "hostile names: arguments shell-quoted and escaped" "quoted argument" -- \
    has "$PH" "/hostile &#xE9;&#39;\\&#39;&#39;q/pred' --ref '"

# ============================================================================
# Failures: nothing written; --keep-going lists the failed cases
# ============================================================================
KEEP=$FAILDIR/keep.html
fresh
t "missing counterpart: exit 2" 2 '' '*' -- "$S" eval --pred "$H/pred" --ref examples/png/ref --html "$FAILDIR/new.html"
untouched
fresh
t "unwritable directory: exit 2" 2 '' '~cannot' -- "$S" eval $EX --html "$FAILDIR/no/such/dir.html"
untouched
K=$TMP/kg
mkdir -p "$K/pred" "$K/ref"
cp examples/png/pred/case01.png "$K/pred/"
cp examples/png/ref/case01.png "$K/ref/"
echo 'not a png' >"$K/pred/broken.png"
cp examples/png/ref/case02.png "$K/ref/broken.png"
t "--keep-going: exit 2, page written" 2 '*' '*' -- "$S" eval --pred "$K/pred" --ref "$K/ref" --keep-going --html "$TMP/kg.html" -q
check "--keep-going: failed case listed" "failed section" -- \
    sh -c "grep -qF 'Failed cases (1)' '$TMP/kg.html' && grep -qF '<li>broken.png<pre>segloss: ' '$TMP/kg.html'"
check "--keep-going: tags balanced" "$(cat "$TMP/tags.txt")" -- tags_ok "$TMP/kg.html"

# ============================================================================
# Scale: 1,000 cases x 10 labels
# ============================================================================
B=$TMP/big
mkdir -p "$B/pred" "$B/ref"
"$TOOL" gen "$B" 1000
PB=$TMP/big.html
t "1000 cases x 10 labels: evaluated" 0 '*' '' -- \
    "$S" eval --pred "$B/pred" --ref "$B/ref" --labels 1,2,3,4,5,6,7,8,9,10 --metrics dice,hd95 --html "$PB" -q
size=$(wc -c <"$PB")
echo "1000-case page: $size bytes"
check "1000 cases: page < 5 MB ($size bytes)" "too big" -- test "$size" -lt 5000000
check "1000 cases: tags balanced" "$(cat "$TMP/tags.txt")" -- tags_ok "$PB"
check "1000 cases: 10,000 per-case rows" "row count" -- test "$(grep -c '^<tr><td class="c">case' "$PB")" = 10000
check "1000 cases: first and last case present" "case0000/case0999" -- \
    sh -c "grep -qF '<td class=\"c\">case0000.npy</td><td>1</td>' '$PB' && grep -qF '<td class=\"c\">case0999.npy</td><td>10</td>' '$PB'"
# Label L is absent from both files of case i when (i + L) % 7 == 0: dice NaN.
nan1=$(awk 'BEGIN { for (i = 0; i < 1000; i++) n += (i + 1) % 7 == 0; print n }')
check "1000 cases: NaN count of label 1 ($nan1)" "n_nan" -- grep -Eq \
    "^<tr><td class=\"c\">dice</td><td class=\"c\">1</td><td>1000</td>(<td>[0-9.]+</td>){3}<td>$((1000 - nan1))</td><td>$nan1</td></tr>" "$PB"
check "1000 cases: plot NaN count of label 1" "nan=$nan1" -- has "$PB" "n=$((1000 - nan1)), nan=$nan1</text>"
PA=$TMP/bigall.html
V1=dice,iou,precision,recall,specificity,accuracy,vs,hd,hd95,assd,nsd
t "1000 cases x 10 labels, v0.1's eleven metrics" 0 '*' '' -- \
    "$S" eval --pred "$B/pred" --ref "$B/ref" --labels 1,2,3,4,5,6,7,8,9,10 --metrics $V1 --html "$PA" -q
sizea=$(wc -c <"$PA")
echo "1000-case page, v0.1's eleven metrics: $sizea bytes"
check "1000 cases, v0.1's eleven metrics: page < 5 MB ($sizea bytes)" "too big" -- test "$sizea" -lt 5000000
# Every metric (41 in this version): each adds a plot of 10,000 dots and a table
# column, so the bound is the same per metric: 5 MB / 11 each.
t "1000 cases x 10 labels, every metric" 0 '*' '' -- \
    "$S" eval --pred "$B/pred" --ref "$B/ref" --labels 1,2,3,4,5,6,7,8,9,10 --metrics all --html "$PA" -q
sizea=$(wc -c <"$PA")
nm=$("$S" eval --pred "$B/pred/case0000.npy" --ref "$B/ref/case0000.npy" --metrics all --csv - | head -1 | tr , '\n' | tail -n +10 | wc -l)
echo "1000-case page, every metric ($nm): $sizea bytes"
check "1000 cases, every metric: page < $nm x 5 MB / 11 ($sizea bytes)" "too big" -- \
    test "$sizea" -lt $((nm * 5000000 / 11))

# ============================================================================
# A real browser
# ============================================================================
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
    echo "SKIP: chromium not installed (tools/setup-debian.sh installs it): 11 browser tests not run"
else
    # shot PAGE PNG WIDTH: a screenshot; chromium's log (console messages
    # included) in PNG.log.
    shot() {
        rm -f "$2"
        timeout 120 "$CHROME" --headless --disable-gpu --no-sandbox --no-first-run \
            --user-data-dir="$TMP/chrome" --enable-logging=stderr --v=0 --hide-scrollbars \
            --screenshot="$2" --window-size="$3,2000" "file://$1" >"$2.log" 2>&1
    }
    no_console() { ! grep -E 'CONSOLE' "$1.log"; }
    # marks PNG MIN: the screenshot has several colours and >= MIN coloured pixels.
    marks() {
        local w h c m
        read -r _ w h _ c _ m < <("$TOOL" png "$1") || return 1
        [ "$c" -gt 1 ] && [ "$m" -ge "$2" ] || { echo "colours $c, coloured pixels $m (want >= $2)"; return 1; }
    }
    # The console check must be able to fail: a page with an error.
    printf '<!DOCTYPE html><html><body><script>no_such_function()</script></body></html>\n' >"$TMP/err.html"
    shot "$TMP/err.html" "$TMP/err.png" 800
    check "browser: a script error is detected (control)" "no CONSOLE line for a broken page" -- \
        grep -q 'CONSOLE.*no_such_function' "$TMP/err.png.log"
    for spec in "ex $P 1280 150" "phone $P 390 20" "big $PB 1280 2000"; do
        set -- $spec
        shot "$2" "$TMP/$1.png" "$3"
        check "browser: $1 page loads (exit 0, screenshot)" "chromium failed: $(tail -n 3 "$TMP/$1.png.log")" -- \
            test -s "$TMP/$1.png"
        check "browser: $1 page without console messages" "$(grep CONSOLE "$TMP/$1.png.log" | head -n 3)" -- \
            no_console "$TMP/$1.png"
        check "browser: $1 screenshot not blank, plot dots drawn" "$(marks "$TMP/$1.png" "$4")" -- \
            marks "$TMP/$1.png" "$4"
    done
    if [ -n "${HTML_SCREENSHOT:-}" ]; then cp "$TMP/ex.png" "$HTML_SCREENSHOT" || exit 2; fi
    ms=$(timeout 120 "$CHROME" --headless --disable-gpu --no-sandbox --no-first-run \
        --user-data-dir="$TMP/chrome" --dump-dom "file://$PB" 2>/dev/null |
        grep -Eo 'data-render-ms="[0-9]+"' | grep -Eo '[0-9]+')
    echo "1000-case page rendered in ${ms:-?} ms"
    check "browser: 1000-case page renders (${ms:-?} ms; guard < 10 s)" "render time ${ms:-missing}" -- \
        test -n "$ms" -a "${ms:-99999}" -lt 10000
fi

echo "html cli tests: $n_run run, $n_fail failed"
[ "$n_fail" = 0 ]
