#!/usr/bin/env bash
# CLI golden tests for `segloss eval --instances` (lesion-wise evaluation):
# exit status, stdout, stderr, and the numbers of the JSON and CSV outputs
# against tests/cli/instances_data/expected.txt, written by
# tools/ref/gen_instances_ref.py (a brute-force numpy matcher, MONAI's
# compute_panoptic_quality, the official BraTS 2023 metrics.py).
#
#   SEGLOSS=build/segloss bash tests/cli/instances.sh
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=$here/instances_data
. "$here/lib.sh"
cli_init instances
RTOL=1e-12

expected_value() {
    awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' "$DATA/expected.txt"
}
# close GOT REF [ATOL]: |got - ref| <= atol + rtol*|ref|
close() {
    awk -v g="$1" -v r="$2" -v rt="$RTOL" -v at="${3:-0}" 'BEGIN {
        d = g - r; if (d < 0) d = -d; a = r < 0 ? -r : r
        exit !(g != "" && d <= at + rt * a) }'
}
# json_at PATH: the value at a dotted key path ("cases.0.instances.1.pq",
# only case 0) of the JSON in $OUT: each key found in turn after the last.
json_at() {
    awk -v path="$1" 'BEGIN { RS = "\001" } {
        s = $0; n = split(path, key, ".")
        for (i = 1; i <= n; i++) {
            if (i > 1 && key[i - 1] == "cases") continue
            p = index(s, "\"" key[i] "\":"); if (!p) exit 1
            s = substr(s, p + length(key[i]) + 3)
        }
        if (match(s, /^[-0-9.eE+]+|^null/)) print substr(s, RSTART, RLENGTH) }' "$OUT"
}
# want NAME PATH KEY [ATOL]: the JSON value at PATH equals expected KEY.
want() {
    local got ref
    got=$(json_at "$2")
    ref=$(expected_value "$3")
    check "$1" "$2 = '$got', expected $3 = $ref" -- close "$got" "$ref" "${4:-0}"
}

P=$DATA/pred.npy
R=$DATA/ref.npy

# ---- defaults: iou > 0.5, greedy ------------------------------------------
t default 0 '~^instances$' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances
t default_rows 0 '~^.*pred\.npy +1 +3 +3 +2 +1 +1 ' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances
t json 0 '~"instances":\{"1":\{"n_ref":3,"n_pred":3,"tp":2,"fp":1,"fn":1' '' -- \
    "$SEGLOSS" eval --pred "$P" --ref "$R" --instances --json -
for lab in 1 2; do
    want "json pq $lab" "cases.0.instances.$lab.pq" "default_${lab}_pq"
    want "json f1 $lab" "cases.0.instances.$lab.f1" "default_${lab}_f1"
    want "json tp $lab" "cases.0.instances.$lab.tp" "default_${lab}_tp"
done
# MONAI's pq (smooth_numerator 1e-6, float32 IoU): within 1e-6
RTOL=1e-6
want "json pq vs MONAI 1" "cases.0.instances.1.pq" monai_1_pq 1e-6
RTOL=1e-12
# dataset-level summary (one case: the same counts)
want "summary tp" "summary.instances.1.tp" default_1_tp
check "summary has cases" "no cases count in the summary" -- grep -q '"instances":{"1":{"cases":1,' "$OUT"

# ---- greedy vs hungarian at iou > 0.1 (label 2 is ambiguous) --------------
t greedy01 0 '*' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --match iou:0.1 --json -
want "greedy 0.1 tp" "cases.0.instances.2.tp" g01_2_tp
want "greedy 0.1 pq" "cases.0.instances.2.pq" g01_2_pq
t hungarian01 0 '*' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --match iou:0.1 \
    --assignment hungarian --json -
want "hungarian 0.1 tp" "cases.0.instances.2.tp" h01_2_tp
want "hungarian 0.1 pq" "cases.0.instances.2.pq" h01_2_pq
want "hungarian 0.1 f1 label 1" "cases.0.instances.1.f1" h01_1_f1

# MONAI's rule below 0.5 (its Munkres step over every pair, then > T): the
# ambiguous label loses both pairs at 0.3 (MONAI: tp 0, fp 2, fn 2), where
# the candidate-only Hungarian keeps one
t monai03 0 '~"2":\{"n_ref":2,"n_pred":2,"tp":0,"fp":2,"fn":2' '' -- "$SEGLOSS" eval --pred "$P" \
    --ref "$R" --match iou:0.3 --assignment monai --json -
t hungarian03 0 '~"2":\{"n_ref":2,"n_pred":2,"tp":1,"fp":1,"fn":1' '' -- "$SEGLOSS" eval --pred "$P" \
    --ref "$R" --match iou:0.3 --assignment hungarian --json -

# ---- --instances-csv: one row per pair, missed reference, false positive --
t csv_stdout 0 '~^pred,ref,label,ref_instance,pred_instance,n_ref,n_pred,intersection,dice,iou,hd95$' '' -- \
    "$SEGLOSS" eval --pred "$P" --ref "$R" --instances-csv -
check "csv rows" "expected 4 + 4 rows (label 1: 2 tp, 1 fn, 1 fp; label 2: 2 fn, 2 fp)" -- \
    test "$(grep -c 'pred.npy' "$OUT")" = 8
check "csv missed ref" "no row of a missed reference (pred_instance 0, empty scores)" -- \
    grep -Eq '^[^,]*,[^,]*,1,[0-9]+,0,[0-9]+,0,0,,,$' "$OUT"
check "csv fp" "no row of a false positive (ref_instance 0)" -- \
    grep -Eq '^[^,]*,[^,]*,1,0,[0-9]+,0,[0-9]+,0,,,$' "$OUT"
t csv_file 0 '~^instances$' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances-csv "$TMP/i.csv"
check "csv file" "--instances-csv FILE not written" -- test -s "$TMP/i.csv"

# ---- instance maps: IDs as given (scrambled IDs, same lesions as label 1) --
t ids 0 '~"instances":\{"all":\{"n_ref":3,"n_pred":3,"tp":2,"fp":1,"fn":1' '' -- \
    "$SEGLOSS" eval --pred "$DATA/ids_pred.npy" --ref "$DATA/ids_ref.npy" --instance-maps --json -
want "ids pq" "cases.0.instances.all.pq" default_1_pq

# ---- connectivity and min size ---------------------------------------------
t min_size 0 '~"instances":\{"1":\{"n_ref":2,"n_pred":2' '' -- \
    "$SEGLOSS" eval --pred "$P" --ref "$R" --min-size 20 --json -
t conn1 0 '*' '' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --connectivity 1 --json -

# ---- BraTS 2023 lesion-wise (official metrics.py values) -------------------
t brats 0 '~"brats2023":\{"lesions":[0-9]+,"tp":[0-9]+,"fp":1,' '' -- \
    "$SEGLOSS" eval --pred "$DATA/brats_pred.npy" --ref "$DATA/brats_ref.npy" \
    --lesionwise brats2023 --json -
want "brats dice" "cases.0.instances.1.brats2023.dice" brats_dice
# HD95: segloss's voxel-surface HD95, not DeepMind's surfel one (docs/instances.md)
RTOL=0
want "brats hd95 (within 2)" "cases.0.instances.1.brats2023.hd95" brats_hd95 2
RTOL=1e-12

# ---- usage errors -----------------------------------------------------------
t bad_match 1 '' '~invalid value for --match' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --match iou
t bad_match_thr 1 '' '~--match' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --match iou:1
t bad_assign 1 '' '~--assignment' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --assignment best
t bad_conn 1 '' '~--connectivity' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --connectivity 4
t bad_lw 1 '' '~expected brats2023' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --lesionwise brats2021
t bad_minsize 1 '' '~whole number' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --min-size 2.5
t two_stdout 1 '' '~pick one' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances-csv - --json -
t with_regions 1 '' '~cannot be combined with --regions' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances --regions "1,2;2"
t with_ignore 1 '' '~cannot be combined with --ignore-label' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --match overlap --ignore-label 2
t with_shard 1 '' '~cannot be combined with --shard' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --instances --shard 0/2 --json "$TMP/part.json"
t conn_rank 2 '' '~--connectivity 3 needs a 3-D image' -- "$SEGLOSS" eval --pred "$P" --ref "$R" --connectivity 3

echo "instances tests: $n_run run, $n_fail failed"
[ "$n_fail" = 0 ]
