#!/usr/bin/env bash
# `clipmtl params` for ViT-B/16 against the parameter formulas of spec.md 2.3-2.6 and 3.3, and
# its error on the embedded demo configuration when the demo's CLIP is not pretrained yet.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
count() { # METHOD SETTINGS...: the trainable count printed for METHOD
    local method=$1; shift
    "$bin" params --set 'model.weights=""' --set model.preset=vit-b16 "$@" | awk -v m="$method" '$1 == m { print $2 }'
}
check() { # WANT METHOD SETTINGS...
    local want=$1; shift
    local got
    got=$(count "$@")
    echo "$1 ${*:2}: $got (spec $want)"
    [ "$got" = "$want" ]
}
"$bin" params --set 'model.weights=""' --set model.preset=vit-b16 | head -1 | grep -q "149620737 parameters"
deep12="--set method.depth=12"
check 8192 coop --set method.n_ctx_text=16
check 73728 vpt $deep12 --set method.n_ctx_visual=8
check 36864 vpt $deep12 --set method.n_ctx_visual=4
check 30720 ivlp $deep12 --set method.n_ctx_text=2 --set method.n_ctx_visual=2
check 23040 ivlp --set method.depth=9 --set method.n_ctx_text=2 --set method.n_ctx_visual=2
check 3555072 maple --set method.depth=9 --set method.n_ctx_text=2
check 4740096 maple $deep12 --set method.n_ctx_text=2
check 9261 mmap --set method.depth=9 --set method.mmap.b=4 --set method.mmap.m=4 --set method.mmap.n=256
check 1296 mmap --set method.depth=9 --set method.mmap.b=4 --set method.mmap.m=2 --set method.mmap.n=32
check 24636 mmap $deep12 --set method.mmap.b=8 --set method.mmap.m=8 --set method.mmap.n=256
check 3552 mmap $deep12 --set method.mmap.b=8 --set method.mmap.m=4 --set method.mmap.n=64
check 4653 mmap --set method.depth=9 --set method.mmap.b=2 --set method.mmap.m=2 --set method.mmap.n=256
# An impossible MmAP shape is an error naming the setting.
if "$bin" params --set 'model.weights=""' --set model.preset=vit-b16 --set method.mmap.n=48 2>"${TMPDIR:-/tmp}/params.err"; then
    echo "n = 48 accepted"; exit 1
fi
cat "${TMPDIR:-/tmp}/params.err"
grep -q "n = 48\|mmap.n" "${TMPDIR:-/tmp}/params.err"
# The parameter-updating baselines (spec.md 1.4, 2.9), counted from the tables the trainer builds:
# full = every CLIP tensor; BitFit = per block ln_1, ln_2, out_proj, c_proj (D each), in_proj (3D)
# and c_fc (4D) biases, i.e. 11 D per block, plus ln_pre/ln_post (vision) and ln_final (text):
# 12 * 11 * 768 + 2 * 768 + 12 * 11 * 512 + 512 = 171008; CLIP-Adapter = 2 E (E / r) per feature.
check 149620737 full
check 171008 bitfit
check 131072 adapter --set method.adapter.reduction=4
check 262144 adapter --set method.adapter.reduction=4 --set method.adapter.target=both
check 65536 adapter --set method.adapter.reduction=8 --set method.adapter.target=text
# The embedded demo configuration without its pretrained CLIP: the error says how to make it.
empty=$(mktemp -d)
if (cd "$empty" && "$bin" params 2>"$empty/demo.err"); then echo "the demo ran without its CLIP"; exit 1; fi
cat "$empty/demo.err"
grep -q "cannot read runs/pretrain-fmnist-small/model-step1000.safetensors (model.weights, embedded demo.yaml:.*quickstart demo.*pretrain.stop_after=1000" "$empty/demo.err"
rm -rf "$empty"
