#!/usr/bin/env bash
# What --resume reads is checked (phase 2 shared prompts, checkpoints at 2, 4, 6, 8):
#  - flipped bytes in a tensor, a `step` attribute of 1000, a truncated file: the damaged newest
#    checkpoint is skipped with a warning naming it, the run resumes from ckpt-6 and ends with the
#    prompts of the undamaged run (bitwise); when every checkpoint is damaged it is an error;
#  - a zeroed `average` in similarity.h5: `regroup` refuses it, `group --resume` redoes it from
#    the phase-1 checkpoint, identical;
#  - another seed, lr, similarity file or prompt depth: the resume is refused naming the keys, unless
#    --allow-config-change; another log_every is no change.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
train() { local np=$1 name=$2; shift 2; mpi "$np" "$bin" train "$tmp/run.yaml" --set multitask.mode=shared --set run.name="$name" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
h5() { "$PYTHON3" -c "import sys, h5py, numpy as np; $1" "${@:2}"; }

train 2 good >/dev/null
ck=$tmp/runs/good/checkpoints-phase2
cp "$ck/ckpt-8.h5" "$tmp/reference-8.h5"
same_as_reference() {
    h5 "
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
names = []
a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) and n.split('/')[0] in ('params', 'optim') else None)
assert names and all(np.array_equal(a[n][()], b[n][()]) for n in names), 'prompts differ'" "$tmp/reference-8.h5" "$1"
}
# damage KIND: spoils ckpt-8.h5 of a fresh copy of the good run in runs/KIND
damage() {
    rm -rf "$tmp/runs/$1"
    cp -r "$tmp/runs/good" "$tmp/runs/$1"
    local file=$tmp/runs/$1/checkpoints-phase2/ckpt-8.h5
    case $1 in
    flipped) h5 "
f = h5py.File(sys.argv[1], 'r'); d = f['params'][sorted(f['params'])[0]]; off = d.id.get_offset(); f.close()
with open(sys.argv[1], 'r+b') as raw:
    raw.seek(off + 2); b = raw.read(1); raw.seek(off + 2); raw.write(bytes([b[0] ^ 0x10]))" "$file" ;;
    step) h5 "f = h5py.File(sys.argv[1], 'r+'); f.attrs['step'] = np.int64(1000)" "$file" ;;
    truncated) truncate -s $(($(stat -c %s "$file") / 2)) "$file" ;;
    esac
}
for kind in flipped step truncated; do
    damage $kind
    train 2 $kind --resume >"$tmp/$kind.txt" 2>&1 || { cat "$tmp/$kind.txt"; fail "$kind: the resume failed"; }
    grep -q "warning: .*ckpt-8.h5 is not usable, falling back" "$tmp/$kind.txt" || { cat "$tmp/$kind.txt"; fail "$kind: no warning"; }
    grep -q "resumed from .*ckpt-6.h5 at step 6" "$tmp/$kind.txt" || fail "$kind: did not resume from ckpt-6"
    same_as_reference "$tmp/runs/$kind/checkpoints-phase2/ckpt-8.h5"
    echo "$kind: $(grep -o 'warning: .*is not usable.*' "$tmp/$kind.txt" | head -1 | cut -c1-200)"
done
grep -q "checksum .* differs from the stored" "$tmp/flipped.txt" || fail "the flipped byte is not named a checksum error"
grep -q "attributes step 1000" "$tmp/step.txt" || fail "the step attribute is not named"

# Every checkpoint damaged: an error, not a fresh start.
damage flipped
for f in "$tmp"/runs/flipped/checkpoints-phase2/ckpt-[246].h5; do truncate -s 100 "$f"; done
if train 1 flipped --resume >"$tmp/all.txt" 2>&1; then fail "resumed with every checkpoint damaged"; fi
grep -q "none of its 4 checkpoints is intact" "$tmp/all.txt" || { cat "$tmp/all.txt"; fail "no clear error"; }

# A damaged similarity file.
mpi 2 "$bin" group "$tmp/run.yaml" --set run.name=g >/dev/null
sim=$tmp/runs/g/similarity.h5
cp "$sim" "$tmp/similarity-reference.h5"
h5 "f = h5py.File(sys.argv[1], 'r+'); f['average'][...] = 0" "$sim"
if "$bin" regroup "$sim" --threshold 0.2 >"$tmp/regroup.txt" 2>&1; then fail "regroup read a zeroed similarity file"; fi
grep -q "similarity.h5: average: checksum" "$tmp/regroup.txt" || { cat "$tmp/regroup.txt"; fail "regroup: no checksum error"; }
mpi 2 "$bin" group "$tmp/run.yaml" --set run.name=g --resume >"$tmp/regroup-resume.txt" 2>&1
grep -q "similarity.h5 is not usable, phase 1 is redone" "$tmp/regroup-resume.txt" || fail "group --resume: no warning"
h5 "
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert all(np.array_equal(a[n][()], b[n][()]) for n in ('average', 'cosine', 'group_of_task'))" "$sim" "$tmp/similarity-reference.h5"
echo "zeroed similarity.h5: refused by regroup, redone by group --resume"

# Another configuration.
for change in "run.seed=4" "optim.lr=0.02" "grouping.similarity_file=$sim" "method.depth=1"; do
    key=${change%%=*}
    if train 1 good --resume --set "$change" >"$tmp/changed.txt" 2>&1; then fail "resumed with $change"; fi
    grep -q "ckpt-8.h5 was written with other values of $key: " "$tmp/changed.txt" || { cat "$tmp/changed.txt"; fail "$key not named"; }
done
if train 1 good --resume --set run.seed=4 --set optim.lr=0.02 >"$tmp/changed.txt" 2>&1; then fail "resumed with two changes"; fi
grep -q "other values of run.seed, optim.lr:" "$tmp/changed.txt" || { cat "$tmp/changed.txt"; fail "both keys not named"; }
train 1 good --resume --set optim.lr=0.02 --allow-config-change >"$tmp/forced.txt" 2>&1
grep -q "warning: resuming from .*ckpt-8.h5, written with other values of optim.lr (--allow-config-change)" "$tmp/forced.txt" \
    || { cat "$tmp/forced.txt"; fail "no warning with --allow-config-change"; }
train 1 good --resume --set run.log_every=1 >"$tmp/log.txt" 2>&1 || { cat "$tmp/log.txt"; fail "log_every refused"; }
! grep -q "written with other values" "$tmp/log.txt" || fail "log_every counted as a change"
echo "resume checks: ok"
