#!/usr/bin/env bash
# segloss eval as a Slurm job array, then one merge job (docs/scale.md).
#
#   PRED=/data/pred REF=/data/ref OUT=/scratch/run1 SHARDS=64 \
#       bash examples/slurm/eval-array.sh submit
#
# submits an array of SHARDS tasks (each one `segloss eval --shard K/N`,
# writing OUT/parts/part-K-of-N.json) and a merge job that starts when
# every task has succeeded (afterok) and writes OUT/metrics.json and
# OUT/metrics.csv: byte for byte what one `segloss eval` over all the
# cases would have written. A failed task leaves the merge job pending
# (Slurm marks it DependencyNeverSatisfied): resubmit that index with
#   sbatch --array=K --export=ALL examples/slurm/eval-array.sh task
# and run the merge step yourself (`... eval-array.sh merge`), or simply
# submit again: finished parts are overwritten with the same bytes.
#
# Environment (passed to the jobs: sbatch exports the environment):
#   PRED, REF   prediction and reference directories (the same spelling in
#               every task: the paths are part of the output and of the
#               pair-list hash that merge checks)
#   OUT         output directory (shared file system)
#   SHARDS      number of array tasks (default 16)
#   EVAL_OPTS   eval options (default: --metrics dice,hd95,assd); the same
#               for every task, which merge checks
#   SEGLOSS     the segloss binary (default: segloss on PATH)
#
# The #SBATCH lines apply to the array tasks and the merge job alike;
# SBATCH_* variables or sbatch options override them.
#SBATCH --job-name=segloss-eval
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=02:00:00
set -euo pipefail

SEGLOSS=${SEGLOSS:-segloss}
: "${PRED:?set PRED to the prediction directory}"
: "${REF:?set REF to the reference directory}"
: "${OUT:?set OUT to the output directory}"
EVAL_OPTS=${EVAL_OPTS:---metrics dice,hd95,assd}

case ${1:-task} in
submit)
    shards=${SHARDS:-16}
    mkdir -p "$OUT/parts" "$OUT/logs"
    script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    array=$(sbatch --parsable --array="0-$((shards - 1))" --export=ALL \
        --output="$OUT/logs/eval-%A_%a.log" "$script" task)
    array=${array%%;*} # "jobid;cluster" on a multi-cluster site
    sbatch --parsable --dependency="afterok:$array" --export=ALL \
        --output="$OUT/logs/merge-%j.log" "$script" merge
    ;;
task)
    # Array indices need not start at 0 (--array=1-64): count from the lowest.
    k=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
    n=${SLURM_ARRAY_TASK_COUNT:?not inside a Slurm job array}
    mkdir -p "$OUT/parts"
    # shellcheck disable=SC2086 # EVAL_OPTS is a list of options
    "$SEGLOSS" eval --pred "$PRED" --ref "$REF" $EVAL_OPTS \
        --shard "$k/$n" --threads "${SLURM_CPUS_PER_TASK:-0}" --quiet \
        --json "$OUT/parts/part-$k-of-$n.json" >/dev/null
    ;;
merge)
    "$SEGLOSS" merge "$OUT"/parts/part-*-of-*.json \
        --json "$OUT/metrics.json" --csv "$OUT/metrics.csv"
    ;;
*)
    echo "usage: eval-array.sh submit|task|merge (see the comment at its top)" >&2
    exit 1
    ;;
esac
