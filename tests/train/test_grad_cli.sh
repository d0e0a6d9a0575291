#!/usr/bin/env bash
# `clipmtl grad` end to end: parameters from a real checkpoint, a batch file, and the printed
# gradient checked against central finite differences of the loss computed by the same command
# on perturbed parameter files (the 4 largest gradient entries; |fd - g| <= 2% of |g| + 1e-4).
# Also: a missing tensor and a bad label are errors naming the file.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" mkdemo --out "$tmp/data" --domains 1 --classes 3 --per-class 8 --size 40 >/dev/null
cat >"$tmp/run.yaml" <<YAML
run: {name: g, seed: 2, out_dir: "$tmp/runs", log_every: 1, checkpoint_every: 0}
model: {preset: tiny, init_seed: 4}
data: {kind: folder, root: "$tmp/data", test_fraction: 0.25, image_size: 32}
method: {name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 32, scaling_init: normal}}
multitask: {mode: shared}
optim: {name: sgd, lr: 0.05, batch_size: 6, warmup_epochs: 0, steps: 2}
YAML
"$bin" train "$tmp/run.yaml" >/dev/null
params=$tmp/runs/g/checkpoints-phase2/ckpt-2.h5
"$PYTHON3" - "$tmp/batch.h5" <<'PY'
import sys, h5py, numpy as np
rng = np.random.default_rng(1)
with h5py.File(sys.argv[1], "w") as f:
    f["pixels"] = rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32)
    f["labels"] = np.array([0, 1, 2, 1], dtype=np.int32)
    f.attrs["classes"] = np.bytes_("circle\nsquare\ntriangle")
PY
"$bin" grad "$tmp/run.yaml" --params "$params" --batch "$tmp/batch.h5" --out "$tmp/g.h5"
"$PYTHON3" - "$bin" "$tmp" "$params" <<'PY'
import shutil, subprocess, sys, h5py, numpy as np
binary, tmp, params = sys.argv[1:]
g = h5py.File(f"{tmp}/g.h5", "r")
names = sorted(g["grads"].keys())
flat = [(abs(float(v)), n, i, float(v)) for n in names for i, v in enumerate(np.ravel(g["grads"][n][()]))]
worst = 0.0
for _, name, i, grad in sorted(flat, reverse=True)[:4]:
    losses = []
    for sign in (1, -1):
        shutil.copy(params, f"{tmp}/p.h5")
        with h5py.File(f"{tmp}/p.h5", "r+") as f:
            x = f["params/" + name][()]
            h = 1e-2 * max(1.0, abs(float(np.ravel(x)[i])))
            flat_x = np.ravel(x).copy()
            flat_x[i] += sign * h
            f["params/" + name][...] = flat_x.reshape(x.shape)
        subprocess.run([binary, "grad", f"{tmp}/run.yaml", "--params", f"{tmp}/p.h5", "--batch", f"{tmp}/batch.h5",
                        "--out", f"{tmp}/gp.h5"], check=True, stdout=subprocess.DEVNULL)
        losses.append(float(h5py.File(f"{tmp}/gp.h5", "r")["loss"][0]))
    fd = (losses[0] - losses[1]) / (2 * h)
    print(f"{name}[{i}]: gradient {grad:.6g}, finite difference {fd:.6g}")
    assert abs(fd - grad) <= 0.02 * abs(grad) + 1e-4, (name, i, grad, fd)
print("grad agrees with finite differences")
PY
# Bad input: a parameter file without the method's tensors; a label outside the classes.
"$PYTHON3" -c "import h5py; h5py.File('$tmp/empty.h5', 'w')['x'] = [1.0]"
if "$bin" grad "$tmp/run.yaml" --params "$tmp/empty.h5" --batch "$tmp/batch.h5" --out "$tmp/x.h5" 2>"$tmp/err"; then exit 1; fi
grep -q "empty.h5" "$tmp/err" && grep -q "params/shared.mmap" "$tmp/err"
"$PYTHON3" -c "import h5py; f = h5py.File('$tmp/batch.h5', 'r+'); f['labels'][0] = 7"
if "$bin" grad "$tmp/run.yaml" --params "$params" --batch "$tmp/batch.h5" --out "$tmp/x.h5" 2>"$tmp/err"; then exit 1; fi
grep -q "batch.h5: label 7 of image 0" "$tmp/err"
echo "bad input: ok"
