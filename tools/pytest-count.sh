#!/usr/bin/env bash
# Runs pytest on the given paths with $PYTHON (default python3) and ends with
# the line tools/count.sh reads: "python tests: N run, M failed", where N
# counts passed, failed and erroring tests (skipped ones are not run) and M
# the failed and erroring ones. Exits with pytest's status.
set -u
py=${PYTHON:-python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$py" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|errors|skipped|deselected)|no tests ran' "$log" | tail -n 1)
count() { echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed) failed=$(count failed) errors=$(count 'errors?')
run=$((passed + failed + errors)) bad=$((failed + errors))
if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then bad=1; run=$((run + 1)); fi
echo "python tests: $run run, $bad failed"
exit "$rc"
