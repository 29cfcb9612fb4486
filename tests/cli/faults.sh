#!/usr/bin/env bash
# CLI golden tests for input faults: every row of the table in
# docs/faults.md is one test here, named by its ID. In the style of
# tests/cli/run.sh: each case runs one command and checks its exit status,
# its stdout and its stderr; a failing command is given output files
# (loss: --grad KEEP --out NEW; eval: --json KEEP --csv NEW) and afterwards
# KEEP must hold its old bytes and nothing else may exist (no new file, no
# temporary).
#
#   SEGLOSS=build/segloss bash tests/cli/faults.sh
#
# Fixtures: tests/cli/fault_data/, written by tools/ref/gen_fault_fixtures.py.
#
# Case syntax:  t NAME RC STDOUT STDERR -- COMMAND ARGS...
#   STDOUT/STDERR:  ''       must be empty
#                   '*'      anything
#                   '=TEXT'  exactly TEXT (plus a final newline)
#                   '~ERE'   some line matches the extended regex ERE
#                   '!ERE'   no line matches ERE
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=$here/fault_data
. "$here/lib.sh"
cli_init faults
# No command may hang (a FIFO without writer, a huge header): each gets
# this many seconds.
CMD_TIMEOUT=${FAULTS_TIMEOUT:-60}

# one_line: the last stderr is exactly one line (one message, no noise).
one_line() {
    name="$name: one line on stderr"
    pass_or_fail "$([ "$(wc -l <"$ERR")" = 1 ] || echo "stderr has $(wc -l <"$ERR") lines")"
}

# is_npy FILE: FILE exists and starts with the .npy magic.
is_npy() {
    [ -f "$1" ] && [ "$(head -c 6 "$1" | od -An -c | tr -d ' ')" = '223NUMPY' ]
}

# ---- the failure protocol: outputs untouched -------------------------------
KEEP=$FAILDIR/keep
NEW=$FAILDIR/new
# tl ID RC STDERR -- LOSS ARGS...: a failing `segloss loss` given
# --grad KEEP --out NEW --reduction none, then the untouched check.
tl() {
    local n=$1 rc=$2 err=$3
    shift 3
    [ "$1" = -- ] && shift
    fresh
    t "$n" "$rc" '' "$err" -- "$SEGLOSS" loss "$@" --grad "$KEEP" --out "$NEW" --reduction none
    untouched
}
# te ID RC STDERR -- EVAL ARGS...: a failing `segloss eval` given
# --json KEEP --csv NEW, then the untouched check.
te() {
    local n=$1 rc=$2 err=$3
    shift 3
    [ "$1" = -- ] && shift
    fresh
    t "$n" "$rc" '' "$err" -- "$SEGLOSS" eval "$@" --json "$KEEP" --csv "$NEW"
    untouched
}
# tx ID RC STDERR -- ARGS...: a failing command with outputs of its own.
tx() {
    local n=$1 rc=$2 err=$3
    shift 3
    [ "$1" = -- ] && shift
    fresh
    t "$n" "$rc" '' "$err" -- "$SEGLOSS" "$@"
    untouched
}

S=$SEGLOSS
cd "$DATA" || exit 2
W=$TMP/w
mkdir -p "$W"
ADIR=$TMP/adir          # a directory where a file is expected
mkdir -p "$ADIR"
FIFO=$TMP/fifo.npy      # a FIFO nobody writes to
mkfifo "$FIFO" || exit 2
NOTOK=Permission        # unreadable files: root ignores permission bits
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# ============================================================================
# loss: files that cannot be read as arrays (exit 2)
# ============================================================================
tl npy-missing 2 '~^segloss: nope\.npy: cannot open: No such file or directory$' \
    -- bce-logits -i nope.npy -t y.npy
tl npy-truncated-data 2 '~^segloss: trunc_data\.npy: truncated: expected 128 bytes of data, got 40$' \
    -- bce-logits -i trunc_data.npy -t y.npy
one_line
tl npy-truncated-header 2 '~^segloss: trunc_header\.npy: truncated header: ' \
    -- bce-logits -i trunc_header.npy -t y.npy
tl npy-trailing-bytes 2 '~^segloss: trailing\.npy: trailing bytes after the data \(expected a file of 256 bytes\)$' \
    -- bce-logits -i trailing.npy -t y.npy
tl npy-garbage 2 '~^segloss: garbage\.npy: not a \.npy file \(bad magic' \
    -- bce-logits -i garbage.npy -t y.npy
tl npy-zero-bytes 2 '~^segloss: zero_bytes\.npy: empty file: not a \.npy file$' \
    -- bce-logits -i zero_bytes.npy -t y.npy
tl npy-target-truncated 2 '~^segloss: trunc_data\.npy: truncated: ' \
    -- bce-logits -i x.npy -t trunc_data.npy
tl npy-complex64 2 "~^segloss: c64\.npy: unsupported dtype '<c8' \(complex\); supported: " \
    -- bce-logits -i c64.npy -t a23.npy
tl npy-int32-input 2 '~^segloss: x_i32\.npy: input dtype int32 not supported \(predictions must be float32 or float64\)$' \
    -- bce-logits -i x_i32.npy -t y.npy
t npy-big-endian 0 '~^[0-9.]+$' '' -- "$SEGLOSS" loss bce-logits -i bigend.npy -t a23.npy
t npy-fortran-order 0 '~^[0-9.]+$' '' -- "$SEGLOSS" loss bce-logits -i fortran.npy -t a23.npy
tl npy-shape-overflow 2 "~^segloss: overflow\.npy: the shape's element count overflows a 64-bit size$" \
    -- bce-logits -i overflow.npy -t y.npy
tl npy-bytes-overflow 2 "~^segloss: overflow_bytes\.npy: the shape's element count overflows a 64-bit size$" \
    -- bce-logits -i overflow_bytes.npy -t y.npy
tl npy-rank9 2 '~^segloss: rank9\.npy: array rank 9 exceeds the maximum of 8 dimensions$' \
    -- bce-logits -i rank9.npy -t y.npy

# ============================================================================
# loss: the decoded-size cap (--max-bytes)
# ============================================================================
tl loss-max-bytes-default 2 '~^segloss: huge\.npy: data size 68719476736 bytes exceeds the limit of [0-9]+ bytes \(raise the cap with --max-bytes\)$' \
    -- bce-logits -i huge.npy -t y.npy
tl loss-max-bytes-small 2 '~^segloss: x\.npy: data size 128 bytes exceeds the limit of 100 bytes \(raise the cap with --max-bytes\)$' \
    -- bce-logits -i x.npy -t y.npy --max-bytes 100
tl loss-max-bytes-target 2 '~^segloss: huge\.npy: data size 68719476736 bytes exceeds the limit of [0-9]+ bytes' \
    -- bce-logits -i x.npy -t huge.npy
tl loss-max-bytes-off 2 '~^segloss: huge\.npy: truncated: expected 68719476736 bytes of data, got 0$' \
    -- bce-logits -i huge.npy -t y.npy --max-bytes 0
t loss-max-bytes-suffix 0 '~^[0-9.]+$' '' -- "$S" loss bce-logits -i x.npy -t y.npy --max-bytes 1K
tl loss-max-bytes-invalid 1 "~^segloss: invalid value for --max-bytes: '12Q' \(expected a byte count like 4G, 512M or 0\)$" \
    -- bce-logits -i x.npy -t y.npy --max-bytes 12Q

# ============================================================================
# loss: shapes and ranks
# ============================================================================
tl loss-empty 2 '~^segloss: empty\.npy: array is empty \(shape \(0, 3\)\)$' \
    -- bce-logits -i empty.npy -t empty.npy
tl loss-rank-region 2 '~^segloss: rank6\.npy: shape \(1, 1, 2, 2, 2, 2\) not supported by dice \(needs 1 to 5 dimensions' \
    -- dice -i rank6.npy -t rank6_y.npy
tl loss-shape-mismatch 2 '~^segloss: shape mismatch: a23\.npy \(2, 3\) vs b32\.npy \(3, 2\)$' \
    -- bce-logits -i a23.npy -t b32.npy
tl loss-weight-broadcast 2 '~^segloss: a23\.npy: weight of shape \(2, 3\) cannot be broadcast to x\.npy \(2, 1, 4, 4\)$' \
    -- bce-logits -i x.npy -t y.npy --weight a23.npy

# ============================================================================
# loss: targets
# ============================================================================
tl loss-target-255 2 '~^segloss: y255\.npy: target values outside \[0,1\] \(first at index 1: 255; masks saved as 0/255\? divide by 255\); if 255 marks void pixels, use --ignore-index 255$' \
    -- bce-logits -i x.npy -t y255.npy
one_line
t loss-target-255-ignored 0 '~^[0-9.]+$' '' -- "$S" loss bce-logits -i x.npy -t y255.npy --ignore-index 255
tl loss-target-nan 2 '~^segloss: y_nan\.npy: target contains NaN \(first at index 7\)$' \
    -- bce-logits -i x.npy -t y_nan.npy

# ============================================================================
# loss: predictions of the wrong kind for bce
# ============================================================================
tl bce-logits-given 2 '~^segloss: x\.npy: values outside \[0,1\] \(first at index 0: -0\.366548\); did you mean bce-logits\?$' \
    -- bce -i x.npy -t y.npy
one_line
BINWARN='segloss: warning: p_binary.npy: predictions are binary (only 0 and 1): BCE will be dominated by the -100 log clamp; feed probabilities or use bce-logits on logits'
rm -f "$W/g.npy"
t bce-binary-warns 0 '=43.75' "=$BINWARN" -- "$S" loss bce -i p_binary.npy -t y.npy --grad "$W/g.npy"
check "bce-binary-warns: --grad written" "g.npy missing or not a .npy file" -- is_npy "$W/g.npy"
t bce-binary-warns-json 0 '={"kind":"bce","loss":43.75,"reduction":"mean","numel":32}' "=$BINWARN" \
    -- "$S" loss bce -i p_binary.npy -t y.npy --json
t bce-probabilities-no-warning 0 '~^[0-9.]+$' '' -- "$S" loss bce -i p.npy -t y.npy

# ============================================================================
# loss: NaN/inf in the predictions
# ============================================================================
tl nonfinite-error 2 '~^segloss: x_nonfinite\.npy: 3 non-finite values \(first at index 17: nan\); pass --allow-nonfinite to propagate them as PyTorch does$' \
    -- bce-logits -i x_nonfinite.npy -t y.npy
one_line
tl nonfinite-inf 2 '~^segloss: x_inf\.npy: 1 non-finite value \(first at index 5: -inf\); pass --allow-nonfinite' \
    -- focal -i x_inf.npy -t y.npy
tl nonfinite-region 2 '~^segloss: x_nonfinite\.npy: 3 non-finite values \(first at index 17: nan\)' \
    -- dice -i x_nonfinite.npy -t y.npy
rm -f "$W/g.npy"
t nonfinite-allow 0 '=nan' '' -- "$S" loss bce-logits -i x_nonfinite.npy -t y.npy --allow-nonfinite --grad "$W/g.npy"
check "nonfinite-allow: --grad written" "g.npy missing or not a .npy file" -- is_npy "$W/g.npy"
t nonfinite-allow-json 0 '={"kind":"bce-logits","loss":null,"reduction":"mean","numel":32}' '' \
    -- "$S" loss bce-logits -i x_nonfinite.npy -t y.npy --allow-nonfinite --json
t nonfinite-allow-region 0 '=nan' '' -- "$S" loss dice -i x_nonfinite.npy -t y.npy --allow-nonfinite
t nonfinite-ignored 2 '' '~^segloss: x_nonfinite\.npy: 3 non-finite values \(first at index 17: nan\); pass --allow-nonfinite' -- "$S" loss bce-logits -i x_nonfinite.npy -t y_ign.npy --ignore-index 255
t nonfinite-ignored-allowed 0 '~^[0-9.]+$' '' -- "$S" loss bce-logits -i x_nonfinite.npy -t y_ign.npy --ignore-index 255 --allow-nonfinite
tl nonfinite-bce 2 "~^segloss: p_nan\.npy: 1 non-finite value \(first at index 3: nan\); bce needs probabilities in \[0,1\] \(as PyTorch's BCELoss\)$" \
    -- bce -i p_nan.npy -t y.npy --allow-nonfinite
tl nonfinite-lovasz 2 '~^segloss: x_nonfinite\.npy: 3 non-finite values \(first at index 17: nan\); lovasz-hinge sorts the logits and needs them finite$' \
    -- lovasz-hinge -i x_nonfinite.npy -t y.npy --allow-nonfinite

# ============================================================================
# loss: weights
# ============================================================================
tl weight-nonfinite 2 '~^segloss: w_nonfinite\.npy: 2 non-finite weight values \(first at index 2: nan\); weights must be finite and >= 0$' \
    -- bce-logits -i x.npy -t y.npy --weight w_nonfinite.npy
tl weight-negative 2 '~^segloss: w_negative\.npy: negative weight -0\.5 at index 6; weights must be finite and >= 0$' \
    -- bce -i p.npy -t y.npy --weight w_negative.npy
tl pos-weight-file-nonfinite 2 '~^segloss: pw_nan\.npy: 1 non-finite pos-weight value \(first at index 1: nan\); weights must be finite and >= 0$' \
    -- bce-logits -i x.npy -t y.npy --pos-weight pw_nan.npy
tl pos-weight-file-negative 2 '~^segloss: pw_negative\.npy: negative pos-weight -1 at index 2; weights must be finite and >= 0$' \
    -- bce-logits -i x.npy -t y.npy --pos-weight pw_negative.npy
tl pos-weight-list-negative 1 "~^segloss: invalid value for --pos-weight: '-1' \(weights must be >= 0\)$" \
    -- bce-logits -i x.npy -t y.npy --pos-weight -1
tl pos-weight-list-nonfinite 1 "~^segloss: invalid number for --pos-weight: 'nan'$" \
    -- bce-logits -i x.npy -t y.npy --pos-weight nan
tl class-weight-negative 1 "~^segloss: invalid value for --class-weight: '-0\.5' \(weights must be >= 0\)$" \
    -- ce -i x3.npy -t cls.npy --class-weight 1,-0.5,2

# ============================================================================
# loss: paths that are not regular files, outputs that cannot be written
# ============================================================================
tl input-directory 2 '~^segloss: png: is a directory \(expected a \.npy file\)$' \
    -- bce-logits -i png -t y.npy
tl weight-directory 2 '~^segloss: png: is a directory \(expected a \.npy file\)$' \
    -- bce-logits -i x.npy -t y.npy --weight png
tl input-fifo 2 "~^segloss: $FIFO: is not a regular file \(a FIFO\) \(expected a \.npy file\)\$" \
    -- bce-logits -i "$FIFO" -t y.npy
tl input-device 2 '~^segloss: /dev/null: is not a regular file \(a character device\)' \
    -- bce-logits -i x.npy -t /dev/null
cp x.npy "$TMP/unreadable.npy" && chmod 000 "$TMP/unreadable.npy"
if [ "$IS_ROOT" = 1 ]; then
    echo "SKIP: input-unreadable, eval-unreadable (running as root: permission bits do not apply)"
else
    tl input-unreadable 2 "~^segloss: $TMP/unreadable\.npy: cannot open: $NOTOK denied\$" \
        -- bce-logits -i "$TMP/unreadable.npy" -t y.npy
fi
tx output-grad-nodir 2 "~^segloss: $FAILDIR/nodir/g\.npy: cannot create: No such file or directory\$" \
    -- loss bce-logits -i x.npy -t y.npy --reduction none --grad "$FAILDIR/nodir/g.npy" --out "$NEW"
one_line
tx output-grad-directory 2 "~^segloss: $ADIR: is a directory \(expected an output file name\)\$" \
    -- loss bce-logits -i x.npy -t y.npy --reduction none --grad "$ADIR" --out "$NEW"
# --grad is staged first; --out then fails: --grad's old bytes stay.
tx output-out-directory 2 "~^segloss: $ADIR: is a directory \(expected an output file name\)\$" \
    -- loss bce-logits -i x.npy -t y.npy --reduction none --grad "$KEEP" --out "$ADIR"

# ============================================================================
# eval: damaged images (exit 2)
# ============================================================================
REF=png/ref.png
te eval-png-truncated 2 '~^segloss: png/trunc\.png: invalid PNG: file is truncated$' -- --pred png/trunc.png --ref $REF
one_line
te eval-png-crc-idat 2 '~^segloss: png/crc_idat\.png: invalid PNG: IDAT: CRC error$' -- --pred png/crc_idat.png --ref $REF
te eval-png-crc-ancillary 2 '~^segloss: png/crc_text\.png: invalid PNG: tEXt: CRC error$' -- --pred png/crc_text.png --ref $REF
te eval-png-garbage 2 '~^segloss: png/garbage\.png: invalid PNG: Not a PNG file$' -- --pred png/garbage.png --ref $REF
te eval-png-colour 2 '~^segloss: png/colour\.png: colour image: R, G, B differ at pixel \(2, 3\); segloss expects a label or grey mask$' \
    -- --pred png/colour.png --ref $REF
te eval-png-huge 2 '~^segloss: png/huge\.png: PNG image of 100000 x 100000 pixels decodes to 10000000000 bytes, above the limit of [0-9]+ bytes \(raise the cap with --max-bytes\)$' \
    -- --pred png/huge.png --ref $REF
NREF=nii/ref.nii
te eval-nii-truncated 2 '~^segloss: nii/trunc\.nii: file is truncated: the voxel data needs 60 bytes after vox_offset 352, found 30$' \
    -- --pred nii/trunc.nii --ref $NREF
te eval-nii-truncated-header 2 '~^segloss: nii/trunc_header\.nii: file is truncated: the NIfTI-1 header needs 348 bytes, found 200$' \
    -- --pred nii/trunc_header.nii --ref $NREF
te eval-nii-garbage 2 '~^segloss: nii/garbage\.nii: not a NIfTI file: sizeof_hdr is -?[0-9]+, expected 348 \(NIfTI-1\) or 540 \(NIfTI-2\)$' \
    -- --pred nii/garbage.nii --ref $NREF
te eval-niigz-truncated 2 '~^segloss: nii/trunc\.nii\.gz: gzip stream is truncated' -- --pred nii/trunc.nii.gz --ref $NREF
te eval-niigz-corrupt 2 '~^segloss: nii/corrupt\.nii\.gz: corrupt gzip stream: ' -- --pred nii/corrupt.nii.gz --ref $NREF
te eval-niigz-bad-crc 2 '~^segloss: nii/badcrc\.nii\.gz: corrupt gzip stream: .*incorrect data check$' \
    -- --pred nii/badcrc.nii.gz --ref $NREF
te eval-nii-negative-dim 2 '~^segloss: nii/negdim\.nii: dim\[2\] = -4: dimensions must be >= 1$' -- --pred nii/negdim.nii --ref $NREF
te eval-nii2-overflow 2 '~^segloss: nii/overflow2\.nii: image dimensions overflow \(dim\[2\] = 1099511627776\)$' \
    -- --pred nii/overflow2.nii --ref $NREF
te eval-nii-huge 2 '~^segloss: nii/huge\.nii: image data is 281449207693304 bytes, above the limit of [0-9]+ bytes \(raise the cap with --max-bytes\)$' \
    -- --pred nii/huge.nii --ref $NREF
te eval-max-bytes 2 '~^segloss: nii/pred\.nii\.gz: image data is 60 bytes, above the limit of 50 bytes \(raise the cap with --max-bytes\)$' \
    -- --pred nii/pred.nii.gz --ref $NREF --max-bytes 50
te eval-npy-truncated 2 '~^segloss: trunc_data\.npy: truncated: expected 128 bytes of data, got 40$' \
    -- --pred trunc_data.npy --ref trunc_data.npy
te eval-npy-complex64 2 "~^segloss: scores/c64\.npy: unsupported dtype '<c8' \(complex\)" -- --pred scores/c64.npy --ref scores/ref.npy

# ============================================================================
# eval: shapes, pairs, score maps
# ============================================================================
te eval-shape-mismatch 2 '~^segloss: shape mismatch: png/pred\.png \(6, 7\) vs png/ref_7x6\.png \(7, 6\)$' \
    -- --pred png/pred.png --ref png/ref_7x6.png
te eval-empty 2 '~^segloss: scores/empty\.npy: empty image \(shape \(0, 7\)\)$' -- --pred scores/empty.npy --ref scores/empty.npy
te eval-rank 2 '~^segloss: rank6\.npy: shape \(1, 1, 2, 2, 2, 2\): eval compares 1-D, 2-D or 3-D images$' \
    -- --pred rank6.npy --ref rank6_y.npy
te eval-unpaired 2 '~^segloss: eval: 2 files without a counterpart; nothing evaluated$' -- --pred pairs/pred --ref pairs/ref
check "eval-unpaired: prediction side named" "no line for pairs/pred/b.npy" -- \
    grep -Eq '^segloss: pairs/pred/b\.npy: prediction without reference \(no pairs/ref/b\.npy\)$' "$ERR"
check "eval-unpaired: reference side named" "no line for pairs/ref/c.npy" -- \
    grep -Eq '^segloss: pairs/ref/c\.npy: reference without prediction \(no pairs/pred/c\.npy; --allow-missing ' "$ERR"
te eval-nan-scores 2 '~^segloss: scores/nonfinite\.npy: the score map contains NaN \(2 values, first at index 9\)$' \
    -- --pred scores/nonfinite.npy --ref scores/ref.npy
te eval-nan-scores-logits 2 '~^segloss: scores/nonfinite\.npy: the score map contains NaN' \
    -- --pred scores/nonfinite.npy --ref scores/ref.npy --scores logits
te eval-inf-probabilities 2 '~^segloss: scores/inf\.npy: value inf outside \[0,1\] in a probability map \(--scores logits for logits' \
    -- --pred scores/inf.npy --ref scores/ref.npy
t eval-inf-logits 0 '~^scores/logits_inf\.npy,scores/ref\.npy,1,' '' \
    -- "$S" eval --pred scores/logits_inf.npy --ref scores/ref.npy --scores logits --csv -

# ============================================================================
# eval: paths that are not regular files, outputs that cannot be written
# ============================================================================
te eval-missing 2 '~^segloss: nope\.png: No such file or directory$' -- --pred nope.png --ref $REF
te eval-file-vs-directory 1 '~^segloss: eval: --pred png/pred\.png is a file but --ref png is a directory' -- --pred png/pred.png --ref png
te eval-fifo 2 "~^segloss: $FIFO: is not a regular file \(a FIFO\) \(expected a \.png, \.nii, \.nii\.gz or \.npy file\)\$" \
    -- --pred "$FIFO" --ref "$FIFO"
if [ "$IS_ROOT" = 0 ]; then
    te eval-unreadable 2 "~^segloss: $TMP/unreadable\.npy: cannot open: $NOTOK denied\$" \
        -- --pred "$TMP/unreadable.npy" --ref "$TMP/unreadable.npy"
fi
tx eval-json-nodir 2 "~^segloss: $FAILDIR/nodir/r\.json: cannot create: No such file or directory\$" \
    -- eval --pred png/pred.png --ref $REF --json "$FAILDIR/nodir/r.json" --csv "$NEW"
tx eval-json-directory 2 "~^segloss: $ADIR: is a directory \(expected an output file name\)\$" \
    -- eval --pred png/pred.png --ref $REF --json "$ADIR" --csv "$NEW"
tx eval-csv-directory 2 "~^segloss: $ADIR: is a directory \(expected an output file name\)\$" \
    -- eval --pred png/pred.png --ref $REF --json "$KEEP" --csv "$ADIR"

echo "fault tests: $n_run run, $n_fail failed"
[ "$n_fail" = 0 ]
