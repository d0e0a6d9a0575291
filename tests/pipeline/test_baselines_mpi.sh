#!/usr/bin/env bash
# The parameter-updating baselines under mpirun, 3 generated tasks:
#  - shared mode (one parameter table for all tasks, gradients summed over the world): BitFit
#    trained on 1 and 2 ranks (a rank with two tasks), CLIP-Adapter on 1 and 3 ranks (one task
#    each) end with the same parameters (the sums differ only in order: tolerance 1e-5), and
#    the checkpoints hold the trained tensors only;
#  - single mode on 2 ranks (one table per task, "task<t>."): every task's entries are written;
#  - grouped mode is refused with an error naming method.name.
set -euo pipefail
. "$CLIPMTL_SRCDIR/tests/pipeline/pipeline_common.sh"
make_config "$tmp/run.yaml"
train() { local np=$1 name=$2; shift 2; mpi "$np" "$bin" train "$tmp/run.yaml" --set run.name="$name" "$@"; }
same() { # same CKPT_A CKPT_B TOLERANCE
    "$PYTHON3" - "$@" <<'PY'
import sys, h5py, numpy as np
a, b, tol = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), float(sys.argv[3])
names = []
a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) and n.startswith("params/") else None)
assert names, "no parameters in " + sys.argv[1]
worst = max(float(np.abs(a[n][()] - b[n][()]).max()) for n in names)
print(f"{len(names)} tensors, max |difference| {worst:.3g} (tolerance {tol})")
assert worst <= tol, worst
PY
}
names() { "$PYTHON3" - "$1" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
out = []
f["params"].visit(lambda n: out.append(n) if isinstance(f["params"][n], h5py.Dataset) else None)
print("\n".join(out))
PY
}

for method in bitfit adapter; do
    set_method=(--set method.name=$method --set multitask.mode=shared --set method.adapter.target=both)
    np=2; [ $method = adapter ] && np=3
    train 1 ${method}1 "${set_method[@]}" >"$tmp/${method}1.txt"
    train $np $method$np "${set_method[@]}" >"$tmp/$method$np.txt"
    same "$tmp/runs/${method}1/checkpoints-phase2/ckpt-8.h5" "$tmp/runs/$method$np/checkpoints-phase2/ckpt-8.h5" 1e-5
    names "$tmp/runs/${method}1/checkpoints-phase2/ckpt-8.h5" >"$tmp/$method.names"
    if grep -v '^shared\.' "$tmp/$method.names" || { [ $method = bitfit ] && grep -v 'bias$' "$tmp/$method.names"; }; then
        echo "$method: unexpected checkpoint entries"; exit 1
    fi
    grep average "$tmp/$method$np.txt"
done
grep -q "^shared.visual.transformer.resblocks.0.attn.in_proj_bias$" "$tmp/bitfit.names"
grep -q "^shared.adapter.text.fc2.weight$" "$tmp/adapter.names"

train 2 single --set method.name=bitfit --set multitask.mode=single >"$tmp/single.txt"
names "$tmp/runs/single/checkpoints-phase2/ckpt-8.h5" >"$tmp/single.names"
for task in 0 1 2; do grep -q "^task$task.ln_final.bias$" "$tmp/single.names"; done

if train 1 grouped --set method.name=full --set multitask.mode=grouped >"$tmp/grouped.txt" 2>&1; then
    echo "grouped full fine-tuning was accepted"; exit 1
fi
cat "$tmp/grouped.txt"
grep -q "method full has none" "$tmp/grouped.txt"
