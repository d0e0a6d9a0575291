#!/usr/bin/env bash
# The run's log and progress (2 ranks, phase 2 only):
#  - <run>/log.txt holds every line rank 0 printed to stdout and stderr, in order per stream;
#  - evaluation prints progress lines with the time left, and a closing line;
#  - --resume appends to the same log (one "---- <time> ----" header per start);
#  - k_shot above a class's training images: a warning naming task, class and count, in the log
#    and in splits.h5 (attribute k_shot_short of each task).
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
# 12 images per class, 3 held out: 9 for training, so k_shot = 10 is short in every class.
train() { CLIPMTL_PROGRESS_SECONDS=0 mpi 2 "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set data.k_shot=10 "$@"; }
train >"$tmp/out.txt" 2>"$tmp/err.txt"
log=$tmp/runs/t/log.txt
[ -s "$log" ] || { echo "no $log"; exit 1; }
while IFS= read -r line; do
    grep -Fxq -- "$line" "$log" || { echo "stdout line missing from the log: $line"; exit 1; }
done <"$tmp/out.txt"
grep '^\[0\]' "$tmp/err.txt" >"$tmp/err0.txt"
[ -s "$tmp/err0.txt" ] || { echo "rank 0 printed nothing on stderr"; exit 1; }
while IFS= read -r line; do
    grep -Fxq -- "$line" "$log" || { echo "stderr line missing from the log: $line"; exit 1; }
done <"$tmp/err0.txt"
if grep -q '^\[1\]' "$log"; then echo "rank 1's lines are in rank 0's log"; exit 1; fi
grep -Eq '^\[0\] evaluation: [0-9]+/[0-9]+ test images on rank 0 \([0-9]+%\), [0-9.]+ s, about [0-9.]+ s left$' "$log" ||
    { echo "no progress line"; exit 1; }
grep -Eq '^\[0\] evaluation: [0-9]+ test images on rank 0 in [0-9.]+ s$' "$log" || { echo "no closing progress line"; exit 1; }
grep -q "^\[0\] warning: data.k_shot = 10: task 'Plain' has fewer training images in 4 class(es), which use all they have: circle (9), cross (9), square (9), triangle (9)$" "$log" ||
    { grep warning "$log"; echo "no k_shot warning"; exit 1; }
"$PYTHON3" - "$tmp/runs/t/splits.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
short = {t: f["splits"][t].attrs["k_shot_short"] for t in f["splits"] if isinstance(f["splits"][t], h5py.Group)}
short = {t: s.decode() if isinstance(s, bytes) else s for t, s in short.items()}
assert short and all(s == "circle (9), cross (9), square (9), triangle (9)" for s in short.values()), short
print("splits.h5 k_shot_short:", short)
PY
[ "$(grep -c '^---- .* UTC ----$' "$log")" -eq 1 ] || { echo "want one header"; exit 1; }
train --set optim.steps=10 --resume --allow-config-change >"$tmp/out2.txt" 2>&1
[ "$(grep -c '^---- .* UTC ----$' "$log")" -eq 2 ] || { echo "--resume did not append"; exit 1; }
grep -q "resumed from" "$log" || { echo "the resumed run's lines are not in the log"; exit 1; }
echo "log.txt: stdout and stderr of rank 0, progress with time left, appended on --resume; k_shot shortfall recorded"
