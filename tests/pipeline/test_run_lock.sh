#!/usr/bin/env bash
# Two runs on the same run directory: while one trains, a second one (another rank count, another
# command) stops at once with an error naming the holder (its pid and host) and leaves the first
# undisturbed; once the first ended (SIGUSR1: checkpoint and stop), --resume takes the directory.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
fail() { echo "FAIL: $*"; exit 1; }
long=(--set multitask.mode=shared --set run.name=locked --set optim.steps=100000 --set run.checkpoint_every=100000)

mpi 2 "$bin" train "$tmp/run.yaml" "${long[@]}" >"$tmp/first.txt" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "step 4/" "$tmp/first.txt" 2>/dev/null && break; sleep 0.1; done
grep -q "step 4/" "$tmp/first.txt" || { cat "$tmp/first.txt"; fail "the first run did not start"; }
holder=$(sed -n 's/^pid \([0-9]*\) on .*/\1/p' "$tmp/runs/locked/lock")
ps -p "$holder" -o args= | grep -q "clipmtl train" || fail "the lock file names pid '$holder', not a rank of the first run"

status=0
mpi 1 "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set run.name=locked --set optim.steps=2 \
    >"$tmp/second.txt" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "a second run on the same directory succeeded"
grep -q "error: $tmp/runs/locked is in use by another run (pid $holder on $(hostname) since " "$tmp/second.txt" \
    || { cat "$tmp/second.txt"; fail "the error does not name the holder"; }
status=0
mpi 2 "$bin" group "$tmp/run.yaml" --set run.name=locked >"$tmp/third.txt" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "is in use by another run (pid $holder" "$tmp/third.txt" || fail "group was let in"
kill -0 "$job" || fail "the first run died"
echo "second run refused: $(grep -o 'error: .*' "$tmp/second.txt" | head -1)"

pkill -USR1 -f "^mpirun .*$tmp/run.yaml.*run.name=locked"
status=0
wait "$job" || status=$?
[ "$status" -eq 75 ] || { cat "$tmp/first.txt"; fail "the first run ended with $status"; }
stopped=$(sed -n 's/.*stopped by a signal at step \([0-9]*\).*/\1/p' "$tmp/first.txt" | head -1)
# Into a file, not a pipe: grep -q leaving early would break the run's output pipe (pipefail).
mpi 1 "$bin" train "$tmp/run.yaml" "${long[@]}" --set optim.steps=$((stopped + 2)) --resume --allow-config-change \
    >"$tmp/resumed.txt" 2>&1 || { cat "$tmp/resumed.txt"; fail "the directory stayed locked after the run"; }
grep -q "resumed from .*ckpt-$stopped.h5" "$tmp/resumed.txt" || { cat "$tmp/resumed.txt"; fail "not resumed from step $stopped"; }
echo "run lock: ok"
