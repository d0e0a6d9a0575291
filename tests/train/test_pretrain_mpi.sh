#!/usr/bin/env bash
# clipmtl pretrain under mpirun on the tiny preset (seconds):
#  - data parallelism does not change the optimisation: 20 steps of a 12-pair batch on 1, 2 and 3
#    ranks give the same loss curve within 1e-4 relative (fp32 sums in another order);
#  - the token embedding's sparse update ends bitwise where the dense one does (1 and 2 ranks);
#  - resume: a run that fails after step 7 (checkpoint at 5) and is resumed ends with the same
#    curve and the same model.safetensors as an uninterrupted run; so does a run paused by
#    pretrain.stop_after, whose pretrain.save_model_at model is the uninterrupted run's;
#  - the output is an ordinary CLIP checkpoint that model.weights loads (zeroshot through
#    clipmtl train would need tasks; inspect reads it);
#  - the gradient of a step (both towers' weights, embeddings, logit_scale) against finite
#    differences of its loss, on 1 and 2 ranks (tests/train/test_pretrain_grad.c);
#  - bad input: a task pool overlapping the pretraining pool is refused naming the key.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "skip: dataset-fashion-mnist not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/p.yaml" <<YAML
run: {name: p, seed: 4, out_dir: "$tmp/runs", log_every: 1, checkpoint_every: 5, keep_checkpoints: 5}
model: {preset: tiny, init_seed: 2}
data: {kind: fashion_mnist, image_size: 32, pretrain_images: [0, 600]}
method: {name: zeroshot}
multitask: {mode: single}
train: {eval_batch_size: 50}
pretrain: {steps: 20, batch_size: 12, lr: 0.002, warmup_steps: 3, eval_every: 10, eval_images: 100}
YAML
run() { local np=$1 name=$2; shift 2; "$CLIPMTL_SRCDIR/tests/run-mpi" "$np" "$bin" pretrain "$tmp/p.yaml" --set run.name="$name" "$@"; }
for np in 1 2 3; do run $np r$np >"$tmp/r$np.txt"; done
"$PYTHON3" - "$tmp/runs" <<'PY'
import sys
def curve(name):
    rows = [l.split("\t") for l in open(f"{sys.argv[1]}/{name}/pretrain_curve.tsv").read().split("\n")[1:] if l]
    return [float(r[1]) for r in rows]
one = curve("r1")
assert len(one) == 20, len(one)
assert one[-1] < 0.9 * one[0], f"the loss does not fall: {one[0]} -> {one[-1]}"
for np in (2, 3):
    other = curve(f"r{np}")
    worst = max(abs(a - b) / abs(a) for a, b in zip(one, other))
    print(f"{np} ranks vs 1: worst relative loss difference over 20 steps {worst:.2e} (tolerance 1e-4)")
    assert len(other) == 20 and worst <= 1e-4, worst
PY
grep -q "zero-shot top-1 .* on 10000 original-domain test images" "$tmp/r2.txt"

# pretrain.sparse_embedding (the default) against the dense update of all 49408 token-embedding
# rows: the same model, bitwise, on 1 and 2 ranks (rows used in one step and not the next keep
# moving on their moments in both).
for np in 1 2; do
    run $np dense$np --set pretrain.sparse_embedding=false >/dev/null
    cmp "$tmp/runs/r$np/model.safetensors" "$tmp/runs/dense$np/model.safetensors"
done

# The whole step's gradient against finite differences, 6 pairs on 1 and 2 ranks.
sed -e 's/batch_size: 12/batch_size: 6/' "$tmp/p.yaml" >"$tmp/grad.yaml"
for np in 1 2; do "$CLIPMTL_SRCDIR/tests/run-mpi" $np "$CLIPMTL_BUILDDIR/tests/train/test_pretrain_grad" "$tmp/grad.yaml" | grep -v "^pretrain:"; done

# Resume after a failure at step 7: the run goes on from the checkpoint of step 5.
if CLIPMTL_FAULT=fail:1:7 run 2 res >"$tmp/res1.txt" 2>&1; then echo "the injected failure did not stop the run"; exit 1; fi
run 2 res --resume >"$tmp/res2.txt"
grep -q "resumed from .*ckpt-5.h5 at step 5" "$tmp/res2.txt"
cmp "$tmp/runs/r2/model.safetensors" "$tmp/runs/res/model.safetensors"
tail -n 15 "$tmp/runs/r2/pretrain_curve.tsv" | cut -f1,2 >"$tmp/a.tsv"
tail -n 15 "$tmp/runs/res/pretrain_curve.tsv" | cut -f1,2 >"$tmp/b.tsv"
diff "$tmp/a.tsv" "$tmp/b.tsv"

# A pause (pretrain.stop_after) and its model (pretrain.save_model_at): the paused and resumed run
# ends with the uninterrupted run's model; the step-12 model is the one an uninterrupted run
# writes as it passes step 12 (the whole-test-set evaluation there does not perturb training).
run 2 pause --set pretrain.stop_after=12 --set pretrain.save_model_at=12 >"$tmp/pause1.txt"
grep -q "paused after step 12 of 20" "$tmp/pause1.txt"
grep -q "step 12: zero-shot top-1 .* on 10000 original-domain test images" "$tmp/pause1.txt"
[ ! -e "$tmp/runs/pause/model.safetensors" ] || { echo "a paused run wrote its final model"; exit 1; }
run 2 pause --resume --set pretrain.save_model_at=12 >"$tmp/pause2.txt"
grep -q "resumed from .*ckpt-12.h5 at step 12" "$tmp/pause2.txt"
cmp "$tmp/runs/r2/model.safetensors" "$tmp/runs/pause/model.safetensors"
run 2 passing --set pretrain.save_model_at=12 >/dev/null
cmp "$tmp/runs/pause/model-step12.safetensors" "$tmp/runs/passing/model-step12.safetensors"
cmp "$tmp/runs/r2/model.safetensors" "$tmp/runs/passing/model.safetensors"
if cmp -s "$tmp/runs/passing/model-step12.safetensors" "$tmp/runs/passing/model.safetensors"; then
    echo "the step-12 model is the final one"; exit 1
fi
# A pause at or before the resumed step has nothing to do; a pause past the schedule is refused.
if run 1 pause --resume --set pretrain.stop_after=12 >"$tmp/bad.txt" 2>&1; then echo "pause before the checkpoint accepted"; exit 1; fi
grep -q "pretrain.stop_after is step 12, but the run resumed at step 20" "$tmp/bad.txt"
if "$bin" pretrain "$tmp/p.yaml" --set pretrain.stop_after=21 >"$tmp/bad.txt" 2>&1; then echo "stop_after past steps accepted"; exit 1; fi
grep -q "pretrain.stop_after: step 21 is past the 20 steps of pretrain.steps" "$tmp/bad.txt"
# A model to save past a shorter schedule is only a warning (STUDY_PRETRAIN_SET="pretrain.steps=500"
# on experiments/pretrain_fmnist.yaml, which saves step 1000).
run 1 short --set pretrain.steps=4 --set pretrain.save_model_at=12 >"$tmp/short.txt" 2>&1
grep -q "pretrain.save_model_at is step 12, past the 4 steps of pretrain.steps: no model-step12.safetensors" "$tmp/short.txt"
[ -f "$tmp/runs/short/model.safetensors" ] && [ ! -e "$tmp/runs/short/model-step12.safetensors" ]

# An ordinary CLIP checkpoint: the tiny configuration inferred back from its shapes.
"$bin" inspect "$tmp/runs/r1/model.safetensors" | grep -q "vision 64x2"
grep -q "pretrain_images: \[0, 600\]" "$tmp/runs/r1/pretrain.yaml"

# Overlapping pools are refused, naming the key.
if "$bin" pretrain "$tmp/p.yaml" --set data.task_images="[500, 700]" >"$tmp/bad.txt" 2>&1; then echo "overlap accepted"; exit 1; fi
grep -q "data.task_images: the task pool \[500, 700) overlaps the pretraining pool \[0, 600)" "$tmp/bad.txt"
echo "ok   pretrain: same curve on 1, 2, 3 ranks; resume; CLIP checkpoint out; pools checked"
