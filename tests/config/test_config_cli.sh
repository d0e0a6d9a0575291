#!/bin/sh
# clipmtl config: the example experiments are valid, the output of a file reads back to the same
# output, --set applies, and bad input exits non-zero with FILE:LINE:COLUMN and the key.
set -eu
clipmtl="$CLIPMTL_BUILDDIR/clipmtl"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for f in "$CLIPMTL_SRCDIR"/experiments/*.yaml; do
    "$clipmtl" config "$f" > "$dir/once.yaml" || fail "$f does not validate"
    "$clipmtl" config "$dir/once.yaml" > "$dir/twice.yaml" || fail "the dump of $f does not validate"
    cmp -s "$dir/once.yaml" "$dir/twice.yaml" || fail "the dump of $f does not read back to itself"
done

"$clipmtl" config "$CLIPMTL_SRCDIR/experiments/demo.yaml" --set optim.lr=0.01 --set=run.name=other > "$dir/set.yaml"
grep -qx '  lr: 0.01' "$dir/set.yaml" || fail "--set optim.lr=0.01 not applied"
grep -qx '  name: "other"' "$dir/set.yaml" || fail "--set=run.name=other not applied"

printf 'run:\n  name: t\noptim:\n  lr: fast\n' > "$dir/bad.yaml"
if "$clipmtl" config "$dir/bad.yaml" 2> "$dir/err"; then fail "a bad file was accepted"; fi
grep -q "^error: $dir/bad.yaml:4:7: optim.lr: expected a number, got \"fast\"$" "$dir/err" || { cat "$dir/err"; fail "message"; }

if "$clipmtl" config --set method.mmap.b=6 2> "$dir/err"; then fail "b = 6, m = 4 was accepted"; fi
grep -q '^error: --set method.mmap.b=6: method.mmap.b: b = 6 is not a multiple of m = 4' "$dir/err" || { cat "$dir/err"; fail "message"; }

if "$clipmtl" config a.yaml b.yaml 2> "$dir/err"; then fail "two files were accepted"; fi
"$clipmtl" config --help | grep -q '^usage: clipmtl config' || fail "--help"
echo "clipmtl config: examples valid, dumps stable, --set and errors as expected"
