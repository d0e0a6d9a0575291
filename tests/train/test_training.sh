#!/usr/bin/env bash
# Single-task training through `clipmtl train` with every prompt method and the three
# parameter-updating baselines (BitFit, CLIP-Adapter on both features, full fine-tuning) on a generated task
# (4 colour classes with pixel noise, 40 images each, 25% held out) and a tiny random-weight
# CLIP: the logged training loss must fall and the test accuracy must reach 50% (chance: 25%).
# MaPLe and MmAP once more with compute.precision bf16 where the machine has a bf16 GEMM path;
# every run's results and checkpoint name the GEMM path they ran on (attribute `compute`).
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON3" - "$tmp/colors" <<'PY'
import os, sys, numpy as np
from PIL import Image
rng = np.random.default_rng(0)
colours = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200), "yellow": (220, 210, 40)}
for name, rgb in colours.items():
    folder = os.path.join(sys.argv[1], "plain", name)
    os.makedirs(folder)
    for i in range(40):
        img = np.array(rgb)[None, None, :] + rng.normal(0, 40, (40, 40, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"{i}.png"))
PY
bf16=""
"$CLIPMTL_BUILDDIR/tests/ops/test_gemm" --paths | grep -qx onednn && bf16="maple-bf16 mmap-bf16"
for run in coop vpt ivlp maple mmap bitfit adapter full $bf16; do
    method=${run%-bf16} precision=fp32
    [ "$run" != "$method" ] && precision=bf16
    depth=2; [ "$method" = coop ] && depth=1
    lr=0.01; [ "$method" = adapter ] && lr=0.1 # 2 x 32 x 8 weights on frozen random features
    cat >"$tmp/$method.yaml" <<YAML
run: {name: $run, seed: 1, out_dir: "$tmp/runs", log_every: 10, checkpoint_every: 0}
model: {preset: tiny, init_seed: 1}
data: {kind: folder, root: "$tmp/colors", test_fraction: 0.25, image_size: 32}
method: {name: $method, depth: $depth, n_ctx_text: 4, n_ctx_visual: 4, mmap: {b: 4, m: 2, n: 32}, adapter: {target: both}}
multitask: {mode: single}
optim: {name: sgd, lr: $lr, batch_size: 16, warmup_epochs: 0, steps: 200}
train: {eval_batch_size: 32}
compute: {precision: $precision}
YAML
    if ! "$bin" train "$tmp/$method.yaml" >"$tmp/$run.txt" 2>&1; then
        if [ $precision = bf16 ] && grep -q "compute.precision bf16 needs" "$tmp/$run.txt"; then
            echo "$run: no bf16 path on this CPU"; continue
        fi
        cat "$tmp/$run.txt"; exit 1
    fi
    first=$(sed -n 's/^phase2 step 10\/200 .* loss \([0-9.]*\) .*/\1/p' "$tmp/$run.txt")
    last=$(sed -n 's/^phase2 step 200\/200 .* loss \([0-9.]*\) .*/\1/p' "$tmp/$run.txt")
    accuracy=$(sed -n 's/^average *\([0-9.]*\)$/\1/p' "$tmp/$run.txt")
    echo "$run: loss $first (steps 1-10) -> $last (steps 191-200), test accuracy $accuracy%"
    awk -v a="$first" -v b="$last" -v acc="$accuracy" 'BEGIN { exit !(b < a && acc >= 50) }' || {
        cat "$tmp/$run.txt"; echo "$run did not learn"; exit 1; }
    [ -f "$tmp/runs/$run/checkpoints-phase2/ckpt-200.h5" ] && [ -f "$tmp/runs/$run/results.h5" ]
    "$PYTHON3" - "$tmp/runs/$run" "$precision" "$(sed -n 's/.*; gemm \(.*\)$/\1/p' "$tmp/$run.txt")" <<'PY'
import sys, h5py
run, precision, logged = sys.argv[1:]
for name in ("results.h5", "checkpoints-phase2/ckpt-200.h5"):
    compute = h5py.File(f"{run}/{name}", "r").attrs["compute"].decode()
    assert compute == logged and f" {precision}" in compute, f"{run}/{name}: compute {compute!r}, log {logged!r}"
PY
done
# train.test_images and train.test_skip: zero-shot over windows of the 40 test images. The correct
# counts of [0, 20) and [20, 40) add up to those of all 40; [35, 42) holds the 5 images left, and
# a skip alone ([30, end)) the last 10.
zeroshot_window() { # NAME SKIP IMAGES
    sed -e "s/eval_batch_size: 32}/eval_batch_size: 32, test_skip: $2, test_images: $3}/" -e 's/steps: 200}/steps: 1}/' \
        -e "s/^run: {name: coop,/run: {name: $1,/" -e 's/^method: {name: coop,/method: {name: zeroshot,/' \
        "$tmp/coop.yaml" >"$tmp/$1.yaml"
    "$bin" train "$tmp/$1.yaml" >"$tmp/$1.txt"
}
zeroshot_window all 0 0
zeroshot_window first 0 20
zeroshot_window second 20 20
zeroshot_window tail 35 7
zeroshot_window rest 30 0
grep -q "test images \[20, 40) of each task" "$tmp/second.txt"
grep -q "test images \[30, end) of each task" "$tmp/rest.txt"
"$PYTHON3" - "$tmp/runs" <<'PY'
import sys, h5py
def window(name):
    f = h5py.File(f"{sys.argv[1]}/{name}/results.h5", "r")
    n = int(f["test_images"][0])
    return n, round(float(f["accuracy"][0]) * n / 100)
(n_all, c_all), (n1, c1), (n2, c2), (n_tail, _), (n_rest, _) = map(window, ("all", "first", "second", "tail", "rest"))
print(f"test windows: all {c_all}/{n_all}, [0, 20) {c1}/{n1}, [20, 40) {c2}/{n2}, [35, 42) {n_tail} images, "
      f"[30, end) {n_rest}")
assert (n_all, n1, n2, n_tail, n_rest) == (40, 20, 20, 5, 10), (n_all, n1, n2, n_tail, n_rest)
assert c1 + c2 == c_all, (c1, c2, c_all)
PY
