#!/usr/bin/env bash
# CLI tests of evaluation at scale: `segloss eval --shard K/N` and
# `segloss merge`, and the engine examples (examples/slurm/eval-array.sh,
# examples/k8s/*.yaml, the xargs -P one-liner of docs/scale.md).
#
#   SEGLOSS=build/segloss bash tests/cli/scale.sh
#
# The reference is always one unsharded `segloss eval` run over the same
# cases: the merged JSON and CSV must equal its output byte for byte
# (cmp), for N = 1, 3, 5, and N above the number of cases (empty shards);
# merge --html equals the page of one `eval ARGS --html FILE` run (the
# merged page's command line is the parts' eval command without --shard,
# --json, --quiet, then --html FILE; SOURCE_DATE_EPOCH fixes the date).
# Then the part sets merge must refuse, each with the parts named, exit 2
# and no output written.
set -u
export LC_ALL=C
export SOURCE_DATE_EPOCH=0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cli_init scale
S=$SEGLOSS
cd "$here/eval_data" || exit 2
P=$TMP/parts
W=$TMP/work
mkdir -p "$P" "$W"

same() { # same NAME FILE_A FILE_B: byte-identical files
    check "$1" "$2 and $3 differ: $(cmp "$2" "$3" 2>&1 | head -1)" -- cmp -s "$2" "$3"
}

# shards TAG N EVAL-ARGS...: writes parts $P/TAG-K.json for K = 0..N-1.
shards() {
    local tag=$1 n=$2 k
    shift 2
    rm -f "$P/$tag"-*.json
    for ((k = 0; k < n; k++)); do
        "$S" eval "$@" --shard "$k/$n" --json "$P/$tag-$k.json" --quiet >/dev/null 2>&1
        [ -f "$P/$tag-$k.json" ] || echo "shard $k/$n of $tag wrote no part" >&2
    done
}

# roundtrip TAG N EVAL-ARGS...: shards merged == one run (JSON, CSV, HTML).
# MERGE_RC: merge's expected exit status (2 when parts hold failed cases).
roundtrip() {
    local tag=$1 n=$2
    shift 2
    "$S" eval "$@" --json "$W/one.json" --csv "$W/one.csv" --quiet >/dev/null 2>&1
    rm -f "$W/page.html"
    "$S" eval "$@" --html "$W/page.html" >/dev/null 2>&1
    mv "$W/page.html" "$W/one.html" 2>/dev/null
    shards "$tag" "$n" "$@"
    t "$tag: merge of $n parts" "${MERGE_RC:-0}" '' "$([ "${MERGE_RC:-0}" = 0 ] && echo '' || echo '*')" -- \
        "$S" merge $(ls "$P/$tag"-*.json | sort -t- -k2 -n) --json "$W/m.json" --csv "$W/m.csv" \
        --html "$W/page.html"
    same "$tag: N=$n JSON == one run" "$W/m.json" "$W/one.json"
    same "$tag: N=$n CSV == one run" "$W/m.csv" "$W/one.csv"
    same "$tag: N=$n HTML == one run" "$W/page.html" "$W/one.html"
}

# ---- shards merged == one run ---------------------------------------------
# SCALE_QUICK=1 (make valgrind): fewer N, the same kinds of check.
if [ "${SCALE_QUICK:-0}" = 1 ]; then ns_default="1 5 17" ns_all=3; else ns_default="1 3 5 12 17" ns_all="1 3 5 20"; fi
for n in $ns_default; do
    roundtrip "many-default" "$n" --pred many/pred --ref many/ref
done
for n in $ns_all; do
    roundtrip "many-all" "$n" --pred many/pred --ref many/ref --metrics all --percentile 90 --tolerance 1.5
done
roundtrip "many-labels" 5 --pred many/pred --ref many/ref --metrics dice,hd95,assd --labels 1,2,9 \
    --hd95-variant pooled --empty-score one --empty-distance diag
roundtrip "many-regions" 5 --pred many/pred --ref many/ref --metrics dice,hd95,mcc,boundary_iou \
    --regions "1,2;2;9" --beta 2
roundtrip "many-surfel" 3 --pred many/pred --ref many/ref --metrics dice,hd95,assd,masd,nsd --surface surfel
roundtrip "many-ignore" 3 --pred many/pred --ref many/ref --metrics all --ignore-label 2
roundtrip "nii-one-pair" 3 --pred nii/pred.nii.gz --ref nii/ref.nii --metrics all
MERGE_RC=2 roundtrip "allow-missing" 2 --pred miss/pred --ref miss/ref --allow-missing --keep-going --metrics all
MERGE_RC=2 roundtrip "keep-going" 3 --pred bad/pred --ref bad/ref --keep-going --metrics dice,hd

# The parts given in any order, and the merged JSON on stdout by default.
shards order 3 --pred many/pred --ref many/ref
"$S" eval --pred many/pred --ref many/ref --json "$W/one.json" --quiet >/dev/null
t "merge: parts in any order, JSON to stdout by default" 0 '*' '' -- \
    "$S" merge "$P/order-2.json" "$P/order-0.json" "$P/order-1.json"
same "merge: stdout == one run" "$OUT" "$W/one.json"
t "merge --csv -: CSV on stdout" 0 '~^pred,ref,label,tp,fp,fn,tn,n_pred,n_ref,dice,' '' -- \
    "$S" merge "$P/order-0.json" "$P/order-1.json" "$P/order-2.json" --csv -

t "merge --html -: the page on stdout" 0 '*' '' -- \
    "$S" merge "$P/order-0.json" "$P/order-1.json" "$P/order-2.json" --html -
"$S" eval --pred many/pred --ref many/ref --html - >"$W/one-page.html" 2>/dev/null
same "merge --html -: stdout == one run" "$OUT" "$W/one-page.html"
check "merge --html -: command line" "$(grep -o '<code>.*</code>' "$OUT")" -- \
    grep -qF '<code>segloss eval --pred many/pred --ref many/ref --html -</code>' "$OUT"

# An output that is a FIFO (or a device such as /dev/null) is written into,
# never renamed over (as root that would replace /dev/null with a file).
mkfifo "$W/fifo"
timeout 20 cat "$W/fifo" >"$W/from-fifo" &
t "merge --json FIFO: written into the FIFO" 0 '' '' -- \
    "$S" merge "$P/order-0.json" "$P/order-1.json" "$P/order-2.json" --json "$W/fifo"
wait
check "merge --json FIFO: still a FIFO" "$W/fifo is no longer a FIFO" -- test -p "$W/fifo"
same "merge --json FIFO: the bytes == one run" "$W/from-fifo" "$W/one.json"

# An empty shard (N > cases) is a valid part, and --threads changes no byte.
t "eval --shard 7/9 of 1 pair: an empty part" 0 '*' '' -- \
    "$S" eval --pred nii/pred.nii.gz --ref nii/ref.nii --shard 7/9 --json - --quiet
check "empty part: no cases, a summary" "stdout lacks '\"cases\":[]'" -- grep -q '"cases":\[\],"summary":{"mean":' "$OUT"
"$S" eval --pred many/pred --ref many/ref --metrics all --shard 1/3 --threads 1 --json "$W/t1.json" -q >/dev/null
"$S" eval --pred many/pred --ref many/ref --metrics all --shard 1/3 --threads 2 --json "$W/t2.json" -q >/dev/null
same "part: --threads 1 and 2 give the same bytes" "$W/t1.json" "$W/t2.json"

# Several cases at 2 or 3 threads (cases run side by side): a failure in the
# middle gives the same exit status, messages and (with --keep-going)
# outputs as one thread, and no case after the first failed one is reported.
mkdir -p "$W/pipe/p" "$W/pipe/r"
cp many/pred/*.npy "$W/pipe/p/" && cp many/ref/*.npy "$W/pipe/r/"
echo garbage >"$W/pipe/p/case04.npy"
echo garbage >"$W/pipe/r/case07.npy"
for kg in "" --keep-going; do
    for th in 1 2 3; do
        "$S" eval --pred "$W/pipe/p" --ref "$W/pipe/r" --metrics dice,hd95,assd --threads $th $kg \
            --json "$W/pipe/o$th.json" >"$W/pipe/out$th" 2>"$W/pipe/err$th"
        echo $? >"$W/pipe/rc$th"
    done
    for th in 2 3; do
        same "cases in parallel $kg: --threads $th exit status == 1 thread" "$W/pipe/rc1" "$W/pipe/rc$th"
        same "cases in parallel $kg: --threads $th messages == 1 thread" "$W/pipe/err1" "$W/pipe/err$th"
        [ -n "$kg" ] && same "cases in parallel $kg: --threads $th JSON == 1 thread" \
            "$W/pipe/o1.json" "$W/pipe/o$th.json"
    done
    [ -z "$kg" ] && check "cases in parallel: only the first failure, without --keep-going" \
        "messages: $(cat "$W/pipe/err1")" -- sh -c "grep -c . '$W/pipe/err1' | grep -qx 1"
    rm -f "$W/pipe"/o*.json
done
# With --keep-going, merge reports the parts whose runs had failures (exit 2,
# as eval --keep-going), after writing the outputs.
t "merge of --keep-going parts with failures: exit 2, parts named" 2 '' \
    '~^segloss: merge: .*keep-going-[0-9]\.json \(shard [0-9]/3\): 1 case failed' -- \
    "$S" merge "$P"/keep-going-*.json --json "$W/kg.json"

# ---- bad part sets: exit 2, the parts named, nothing written --------------
shards a 3 --pred many/pred --ref many/ref --metrics dice,hd95
shards b 5 --pred many/pred --ref many/ref --metrics dice,hd95
shards c 3 --pred many/pred --ref many/ref --metrics dice
cp -r many "$W/copy"
shards d 3 --pred "$W/copy/pred" --ref "$W/copy/ref" --metrics dice,hd95
"$S" eval --pred many/pred --ref many/ref --metrics dice,hd95 --json "$P/whole.json" -q >/dev/null
KEEP=$FAILDIR/keep.json
NEW=$FAILDIR/new.csv

# tm NAME STDERR-ERE PARTS...: a merge that must fail with exit 2.
tm() {
    local n=$1 err=$2
    shift 2
    fresh
    t "$n" 2 '' "~$err" -- "$S" merge "$@" --json "$KEEP" --csv "$NEW"
    untouched
}
tm "missing part" '^segloss: merge: 1 of 3 parts missing: shard 1/3 \(given: 2 parts' \
    "$P/a-0.json" "$P/a-2.json"
tm "two parts missing" 'parts missing: shards 0/5, 3/5 ' "$P/b-1.json" "$P/b-2.json" "$P/b-4.json"
tm "duplicate part" '^segloss: merge: .*/a-1\.json and .*/a-1\.json are both shard 1/3' \
    "$P/a-0.json" "$P/a-1.json" "$P/a-1.json" "$P/a-2.json"
tm "overlapping parts (other N)" '/a-0\.json is shard 0/3 but .*/b-2\.json is shard 2/5' \
    "$P/a-0.json" "$P/b-2.json" "$P/a-1.json" "$P/a-2.json"
tm "different options" "/a-0\\.json and .*/c-1\\.json come from different runs: options '--metrics=dice,hd95' vs '--metrics=dice'" \
    "$P/a-0.json" "$P/c-1.json" "$P/a-2.json"
tm "different case lists" '/a-0\.json and .*/d-1\.json come from different runs: case lists of 12 and 12 cases \(pair-list hash [0-9a-f]{16} vs [0-9a-f]{16}\)' \
    "$P/a-0.json" "$P/d-1.json" "$P/a-2.json"
tm "a whole run is not a part" '/whole\.json: not a part of a sharded run \(no "shard" member' \
    "$P/a-0.json" "$P/whole.json"
printf '{"shard":{"index":0,\n  "count":}' >"$W/broken.json"
tm "invalid JSON: file, line, column" '/broken\.json: not valid JSON \(line 2, column 11: unexpected character\)' \
    "$W/broken.json"
sed 's/"failed":0/"failed":1/' "$P/a-1.json" >"$W/edited.json"
tm "inconsistent part" '/edited\.json: inconsistent part: shard 1/3 of 12 cases holds 4 cases and 1 failed ones' \
    "$P/a-0.json" "$W/edited.json" "$P/a-2.json"
# A part without what the page needs (an older segloss): merge --html refuses.
sed 's/,"names":\[[^]]*\]//' "$P/a-1.json" >"$W/old.json"
fresh
t "merge --html: a part without case names" 2 '' '~/old\.json: no "shard"\."names" and "failures" arrays \(a part written by an earlier segloss' -- \
    "$S" merge "$P/a-0.json" "$W/old.json" "$P/a-2.json" --json "$KEEP" --html "$NEW"
untouched
tm "unreadable part" '/nope\.json: cannot open: No such file' "$P/a-0.json" "$W/nope.json"
tm "a directory as a part" "$P: is a directory" "$P"

# ---- usage ------------------------------------------------------------------
for bad in 3/3 -1/3 1/0 a/3 1/b 1/2/3 1 /3 " 1/3" 1/1000001; do
    t "eval --shard '$bad': usage error" 1 '' "~invalid value for --shard: '$bad' \\(expected K/N" -- \
        "$S" eval --pred many/pred --ref many/ref --shard "$bad" --json "$W/x.json"
done
t "eval --shard without --json: usage error" 1 '' "~--shard 0/2 writes a part for 'segloss merge'; give --json FILE" -- \
    "$S" eval --pred many/pred --ref many/ref --shard 0/2 --csv -
t "merge without parts" 1 '' '~^segloss: merge: no parts given' -- "$S" merge --json -
t "merge --json - --csv -" 1 '' '~both want standard output' -- "$S" merge "$P/a-0.json" --json - --csv -
t "merge --json F --html F" 1 '' '~--json and --html name the same file' -- \
    "$S" merge "$P/a-0.json" --json "$W/same" --html "$W/same"
t "merge: unknown option" 1 '' "~unknown option '--bogus'" -- "$S" merge "$P/a-0.json" --bogus
t "merge --help" 0 '~^Usage: segloss merge PART\.json' '' -- "$S" merge --help
t "segloss --help lists merge" 0 '~^  merge ' '' -- "$S" --help

# ---- engines ----------------------------------------------------------------
# Slurm: the task step for every array index (as Slurm would set the
# variables, indices starting at 1 to check the offset), then the merge step.
"$S" eval --pred many/pred --ref many/ref --metrics dice,hd95,assd --json "$W/one.json" \
    --csv "$W/one.csv" -q >/dev/null
SLURM_ENV=(env PRED=many/pred REF=many/ref OUT="$W/slurm" SEGLOSS="$S")
for ((k = 1; k <= 5; k++)); do
    "${SLURM_ENV[@]}" SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=5 SLURM_CPUS_PER_TASK=2 \
        bash "$ROOT/examples/slurm/eval-array.sh" task || echo "slurm task $k failed"
done
t "slurm dry run: merge step" 0 '' '' -- "${SLURM_ENV[@]}" bash "$ROOT/examples/slurm/eval-array.sh" merge
same "slurm dry run: metrics.json == one run" "$W/slurm/metrics.json" "$W/one.json"
same "slurm dry run: metrics.csv == one run" "$W/slurm/metrics.csv" "$W/one.csv"
# The submit step with a stand-in sbatch that records its arguments.
mkdir -p "$W/bin"
cat >"$W/bin/sbatch" <<'SB'
#!/bin/sh
echo "$*" >>"$OUT/sbatch.log"  # OUT: the example's output directory
echo 4242
SB
chmod +x "$W/bin/sbatch"
t "slurm submit: an array and a dependent merge job" 0 '=4242' '' -- \
    "${SLURM_ENV[@]}" PATH="$W/bin:$PATH" SHARDS=7 bash "$ROOT/examples/slurm/eval-array.sh" submit
check "slurm submit: sbatch arguments" "sbatch.log: $(tr '\n' '|' <"$W/slurm/sbatch.log" 2>/dev/null)" -- \
    sh -c "grep -q -- '--array=0-6 .*eval-array.sh task\$' '$W/slurm/sbatch.log' &&
           grep -q -- '--dependency=afterok:4242 .*eval-array.sh merge\$' '$W/slurm/sbatch.log'"

# Kubernetes: the Indexed Job's container command, run for every index with
# the data and output volumes mapped to directories here.
# folded NAME.yaml: the folded block after "- >-", as one line.
folded() {
    awk '/^ *- >-$/ {on = index($0, "-"); next}
         on && match($0, /[^ ]/) <= on {exit}
         on {sub(/^ +/, ""); printf "%s ", $0}' "$ROOT/examples/k8s/$1"
}
k8s_cmd=$(folded eval-indexed-job.yaml)
k8s_cmd=${k8s_cmd//\/data\//$PWD/many/}
k8s_cmd=${k8s_cmd//\/out\//$W/k8s/}
shards_k8s=$(awk '/name: SHARDS/ {getline; gsub(/[^0-9]/, ""); print; exit}' "$ROOT/examples/k8s/eval-indexed-job.yaml")
# "segloss" on PATH, as in the image (a wrapper: SEGLOSS may be a script).
mkdir -p "$W/k8s" "$W/image-bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$S" >"$W/image-bin/segloss"
chmod +x "$W/image-bin/segloss"
for ((k = 0; k < shards_k8s; k++)); do
    PATH="$W/image-bin:$PATH" JOB_COMPLETION_INDEX=$k SHARDS=$shards_k8s sh -c "$k8s_cmd" ||
        echo "k8s index $k failed"
done
merge_cmd=$(folded merge-job.yaml)
merge_cmd=${merge_cmd//\/out\//$W/k8s/}
"$S" eval --pred "$PWD/many/pred" --ref "$PWD/many/ref" --metrics dice,hd95,assd \
    --json "$W/one-abs.json" --csv "$W/one-abs.csv" -q >/dev/null
t "k8s: $shards_k8s indexed pods, then the merge job" 0 '' '' -- \
    env PATH="$W/image-bin:$PATH" sh -c "$merge_cmd"
same "k8s: metrics.json == one run" "$W/k8s/metrics.json" "$W/one-abs.json"
same "k8s: metrics.csv == one run" "$W/k8s/metrics.csv" "$W/one-abs.csv"

# One machine: three processes at a time with xargs -P 3 (docs/scale.md).
mkdir -p "$W/x"
t "xargs -P 3: 6 shards" 0 '' '' -- sh -c "seq 0 5 | xargs -P 3 -I{} '$S' eval --pred many/pred \
    --ref many/ref --metrics dice,hd95,assd --shard {}/6 --threads 1 --quiet --json '$W/x/part-{}.json' >/dev/null"
t "xargs -P 3: merge" 0 '' '' -- sh -c "'$S' merge '$W'/x/part-*.json --json '$W/x/m.json' --csv '$W/x/m.csv'"
same "xargs -P 3: JSON == one run" "$W/x/m.json" "$W/one.json"
same "xargs -P 3: CSV == one run" "$W/x/m.csv" "$W/one.csv"

echo "scale tests: $n_run run, $n_fail failed"
[ "$n_fail" -eq 0 ]
