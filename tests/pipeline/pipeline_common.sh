# Shared by the pipeline tests: a small generated multi-task run and helpers.
# Sourced; expects CLIPMTL_BUILDDIR, CLIPMTL_SRCDIR, PYTHON3.
bin=$CLIPMTL_BUILDDIR/clipmtl
mpi() { local np=$1; shift; "$CLIPMTL_SRCDIR/tests/run-mpi" "$np" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Three domains of generated shapes (4 classes, 12 images each), a tiny random CLIP, MmAP prompts.
make_config() {
    local out=$1
    [ -d "$tmp/data" ] || "$bin" mkdemo --out "$tmp/data" --domains 3 --classes 4 --per-class 12 --size 40 --seed 5 >/dev/null
    cat >"$out" <<YAML
run: {name: t, seed: 3, out_dir: "$tmp/runs", log_every: 2, checkpoint_every: 2, keep_checkpoints: 10}
model: {preset: tiny, init_seed: 1}
data: {kind: folder, root: "$tmp/data", test_fraction: 0.25, train_fraction: 1.0, image_size: 32}
method: {name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 32}}
multitask: {mode: grouped, phase1_steps: 6, snapshot_count: 3}
grouping: {rule: threshold, tau: 0.0}
optim: {name: sgd, lr: 0.01, batch_size: 6, warmup_epochs: 0, steps: 8}
train: {eval_batch_size: 16}
YAML
}
