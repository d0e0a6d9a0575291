#!/usr/bin/env bash
# A stopped rank (SIGSTOP) with run.stall_timeout 3: the other rank's watchdog ends the job within
# seconds (instead of a hang until the test's timeout), saying what it was waiting in, at which
# step; the newest complete checkpoint is intact. Without the key (0) there is no watchdog.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
fail() { echo "FAIL: $*"; exit 1; }
export CLIPMTL_MPI_TEST_TIMEOUT=90
stopped_pid=
trap 'kill -KILL $stopped_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

start=$(date +%s)
mpi 2 "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set run.name=stall --set optim.steps=100000 \
    --set run.checkpoint_every=2 --set run.stall_timeout=3 >"$tmp/stall.txt" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "step 6/" "$tmp/stall.txt" 2>/dev/null && break; sleep 0.1; done
grep -q "step 6/" "$tmp/stall.txt" || { cat "$tmp/stall.txt"; fail "the run did not start"; }
stopped_pid=$(pgrep -f "^$bin train $tmp/run.yaml .*run.name=stall" | sort -n | tail -1)
kill -STOP "$stopped_pid"
stopped_at=$(date +%s)
status=0
wait "$job" || status=$?
took=$(($(date +%s) - stopped_at))
[ "$status" -ne 0 ] || fail "the stalled run exited 0"
[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || { cat "$tmp/stall.txt"; fail "the stalled run hung until the test's timeout"; }
grep -q "error: no progress for [0-9]* s (run.stall_timeout 3 s) in phase2, step [0-9]*, while " "$tmp/stall.txt" \
    || { cat "$tmp/stall.txt"; fail "no watchdog message"; }
[ "$took" -le 30 ] || fail "the job took $took s to end after the stop"
ckdir=$tmp/runs/stall/checkpoints-phase2
newest=$(ls "$ckdir" | sed -n 's/^ckpt-\([0-9]*\)\.h5$/\1/p' | sort -n | tail -1)
"$PYTHON3" -c "
import h5py; f = h5py.File('$ckdir/ckpt-$newest.h5', 'r')
assert int(f.attrs['step']) == $newest and len(f['params']) > 0"
echo "stalled rank: job ended $took s after SIGSTOP (status $status): $(grep -o 'error: no progress.*while [^:]*' "$tmp/stall.txt" | head -1)"
echo "checkpoint $newest intact"
