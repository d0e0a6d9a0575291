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

# A key set without effect is named with where it was set; the shipped examples set none, nor
# do their full dumps (every key written, those without effect at their defaults).
for f in "$CLIPMTL_SRCDIR"/experiments/*.yaml; do
    "$clipmtl" config "$f" 2> "$dir/err" > "$dir/dump.yaml"
    if [ -s "$dir/err" ]; then cat "$dir/err"; fail "$f prints warnings"; fi
    "$clipmtl" config "$dir/dump.yaml" 2> "$dir/err" > /dev/null
    if [ -s "$dir/err" ]; then cat "$dir/err"; fail "the dump of $f prints warnings"; fi
done
"$clipmtl" config "$CLIPMTL_SRCDIR/experiments/office_home.yaml" --set grouping.tau=0.3 --set optim.beta1=0.8 \
    --set grouping.rule=threshold --set grouping.max_groups=2 2> "$dir/err" > /dev/null
grep -qx 'warning: --set optim.beta1=0.8: optim.beta1 is set but has no effect: it only matters when optim.name is adamw' \
    "$dir/err" || { cat "$dir/err"; fail "no warning for optim.beta1 under sgd"; }
grep -q '^warning: --set grouping.max_groups=2: grouping.max_groups is set but has no effect: .*rule is partition$' \
    "$dir/err" || { cat "$dir/err"; fail "no warning for grouping.max_groups under threshold"; }
if grep -q 'grouping.tau' "$dir/err"; then cat "$dir/err"; fail "grouping.tau warned under the threshold rule"; fi
printf 'run:\n  name: t\ndata:\n  kind: fashion_mnist\n  domains: [a, b]\nmethod:\n  name: mmap\ngrouping:\n  tau: 0.5\n' > "$dir/tau.yaml"
"$clipmtl" config "$dir/tau.yaml" 2> "$dir/err" > /dev/null
grep -qx "warning: $dir/tau.yaml:9:8: grouping.tau is set but has no effect: it only matters when grouping.rule is threshold (or partition with more than 12 tasks)" \
    "$dir/err" || { cat "$dir/err"; fail "no warning for grouping.tau under partition"; }

if "$clipmtl" config a.yaml b.yaml 2> "$dir/err"; then fail "two files were accepted"; fi
"$clipmtl" config --help | grep -q '^usage: clipmtl config' || fail "--help"
echo "clipmtl config: examples valid, dumps stable, --set and errors as expected"
