#!/usr/bin/env bash
# `clipmtl encode` on the OpenAI oracle, both namings, raw pixels and texts: the HDF5 output
# must hold the oracle's features and logits to a relative error of 1e-4 (max-abs / max-ref).
# Also: images given as files go through preprocessing, and bad input fails with a message.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
oracle=$CLIPMTL_SHARED/data/oracle_tiny
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

texts=("a photo of a dog." "a photo of a backpack." "a sketch of a hot air balloon." "X X X X ankle boot.")
for naming in openai hf; do
    "$bin" encode --weights "$oracle/model_$naming.safetensors" --pixels "$oracle/pixels.f32" --shape 3,3,32,32 \
        --text "${texts[0]}" --text "${texts[1]}" --text "${texts[2]}" --text "${texts[3]}" --out "$tmp/$naming.h5"
    "$PYTHON3" - "$tmp/$naming.h5" "$oracle" <<'PY'
import sys, h5py, numpy as np
out, oracle = sys.argv[1], sys.argv[2]
with h5py.File(out, "r") as f:
    for name, shape in [("image_features", (3, 32)), ("text_features", (4, 32)), ("logits_per_image", (3, 4))]:
        got = f[name][()]
        want = np.fromfile(f"{oracle}/{name}.f32", dtype="<f4").reshape(shape)
        assert got.dtype == np.float32 and got.shape == shape, (name, got.dtype, got.shape)
        rel = np.abs(got - want).max() / np.abs(want).max()
        print(f"{out}: {name} rel error {rel:.2e}")
        assert rel <= 1e-4, f"{name}: {rel}"
PY
done

# Image files: a PNG written by mkdemo goes through decoding and preprocessing.
"$bin" mkdemo --out "$tmp/data" --domains 1 --classes 2 --per-class 2 --size 48 >/dev/null
img=$(find "$tmp/data" -name '*.png' | sort | head -1)
"$bin" encode --weights "$oracle/model_openai.safetensors" --images "$img" "$img" --out "$tmp/img.h5"
"$PYTHON3" -c "
import h5py, numpy as np
f = h5py.File('$tmp/img.h5', 'r'); x = f['image_features'][()]
# The same image in two batch rows: equal up to the GEMM's row-dependent rounding.
assert x.shape == (2, 32) and np.isfinite(x).all(), x.shape
assert np.abs(x[0] - x[1]).max() <= 1e-5 * np.abs(x).max(), np.abs(x[0] - x[1]).max()
print('image files: ok')"

# Bad input: wrong pixel count, unknown option, missing weights.
head -c 100 "$oracle/pixels.f32" >"$tmp/short.f32"
if "$bin" encode --weights "$oracle/model_openai.safetensors" --pixels "$tmp/short.f32" --shape 3,3,32,32 \
    --out "$tmp/x.h5" 2>"$tmp/err"; then echo "short pixel file accepted"; exit 1; fi
grep -q "short.f32: 100 bytes" "$tmp/err"
if "$bin" encode --weights "$tmp/none.safetensors" --text hi --out "$tmp/x.h5" 2>"$tmp/err"; then exit 1; fi
grep -q "none.safetensors" "$tmp/err"
if "$bin" encode --bogus 1 2>"$tmp/err"; then exit 1; fi
grep -q "unknown option --bogus" "$tmp/err"
echo "bad input: ok"
