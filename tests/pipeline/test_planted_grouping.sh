#!/usr/bin/env bash
# A planted structure that phase 1 must recover: six Fashion-MNIST tasks in three pairs, each pair
# one domain on disjoint images (inverted/inverted2, rotated/rotated2, tinted/tinted2). With the
# default snapshot estimate (grouping.snapshot_images: all, the whole 10-shot set of each task)
# and the default partition rule, the groups must be exactly the three pairs, and the
# within-group cosine recorded in similarity.h5 must exceed the across-group one. A tiny random
# CLIP suffices here: the pairs differ from each other in their pixels, not only in their meaning.
# (With grouping.snapshot_images: batch the same run pairs inverted with rotated: one 8-image batch
# is too noisy an estimate.) Also: snapshot_count 0 takes a snapshot at every step.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "skip: dataset-fashion-mnist not installed"; exit 77; }
cat >"$tmp/planted.yaml" <<YAML
run: {name: planted, seed: 0, out_dir: "$tmp/runs", log_every: 10}
model: {preset: tiny, init_seed: 0}
data: {kind: fashion_mnist, domains: [inverted, inverted2, rotated, rotated2, tinted, tinted2], k_shot: 10, image_size: 32}
method: {name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 64}}
multitask: {mode: grouped, phase1_steps: 20, snapshot_count: 2}
optim: {name: sgd, lr: 0.0035, batch_size: 8, warmup_epochs: 0, steps: 1}
YAML
mpi 2 "$bin" group "$tmp/planted.yaml" | tee "$tmp/group.txt" | tail -6
grep -q "average cosine of task pairs within a group" "$tmp/group.txt"
"$PYTHON3" - "$tmp/runs/planted/similarity.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
groups = f["group_of_task"][()].tolist()
within, across = f["within_group_cosine"][0], f["across_group_cosine"][0]
print(f"groups {groups}, within {within:.3f}, across {across:.3f}")
assert groups == [0, 0, 1, 1, 2, 2], groups
assert within > across, (within, across)
PY
echo "ok   the three planted pairs recovered"
# snapshot_count 0: a snapshot at every phase-1 step (here of the step's own batch).
mpi 2 "$bin" group "$tmp/planted.yaml" --set run.name=every --set multitask.snapshot_count=0 \
    --set grouping.snapshot_images=batch >"$tmp/every.txt"
"$PYTHON3" -c 'import sys, h5py; s = h5py.File(sys.argv[1], "r")["steps"][()].tolist(); assert s == list(range(1, 21)), s' \
    "$tmp/runs/every/similarity.h5"
grep -q "phase 1: 20 snapshots averaged" "$tmp/every.txt"
echo "ok   snapshot_count 0: 20 snapshots in 20 steps"
