# clipmtl makemodel / inspect end to end: presets, namings, dtypes,
# --config-from, and a damaged file rejected with the tensor named.
set -u
bin="$CLIPMTL_BUILDDIR/clipmtl"
work=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-cli-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
fail=0
check() { # description, then a command that must succeed
  what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

"$bin" makemodel --preset tiny --seed 5 --naming hf --dtype f16 --out "$work/tiny_hf.safetensors" >"$work/make.out" 2>&1
check "makemodel tiny hf f16" test $? -eq 0
"$bin" inspect "$work/tiny_hf.safetensors" >"$work/inspect.out" 2>&1
check "inspect succeeds" test $? -eq 0
check "inspect names the naming" grep -q '^naming: *hf$' "$work/inspect.out"
check "inspect prints the config" grep -q 'vision 64x2 (1 heads) patch 8 @32, text 64x2 (1 heads) ctx 77 vocab 49408, embed 32' "$work/inspect.out"
check "inspect counts tensors and dtypes" grep -q '^tensors: *78 (F16 78)$' "$work/inspect.out"
check "inspect counts parameters per tower" grep -q '^parameters: .*(vision .*, text .*, other 1)$' "$work/inspect.out"

# The same seed gives the same weights whatever the naming: re-save through
# --config-from and compare the F32 files byte for byte.
"$bin" makemodel --preset tiny --seed 5 --out "$work/a.safetensors" >/dev/null 2>&1 &&
"$bin" makemodel --config-from "$work/tiny_hf.safetensors" --seed 5 --out "$work/b.safetensors" >/dev/null 2>&1
check "--config-from reproduces the preset's file" cmp -s "$work/a.safetensors" "$work/b.safetensors"
"$bin" makemodel --preset tiny --seed 6 --out "$work/c.safetensors" >/dev/null 2>&1
check "another seed gives another file" test "$(cmp -s "$work/a.safetensors" "$work/c.safetensors"; echo $?)" -eq 1
shared="${CLIPMTL_SHARED:-}/data/oracle_tiny/model_openai.safetensors"
if [ -f "$shared" ]; then
  "$bin" inspect "$shared" >"$work/oracle.out" 2>&1
  check "inspect the oracle" grep -q 'vision 128x2 (2 heads) patch 8 @32, text 128x2 (2 heads) ctx 77 vocab 49408, embed 32' "$work/oracle.out"
fi

# A damaged file: cut in the middle of the data.
head -c 100000 "$work/a.safetensors" >"$work/cut.safetensors"
"$bin" inspect "$work/cut.safetensors" >"$work/cut.out" 2>&1
check "a truncated file fails" test $? -eq 1
check "and the error names the file and a tensor" grep -q 'cut.safetensors: tensor ".*": data_offsets .* run past the data section' "$work/cut.out"

"$bin" makemodel --preset vit-x --out "$work/x.safetensors" >"$work/bad.out" 2>&1
check "unknown preset fails" test $? -eq 1
check "and lists the presets" grep -q "unknown model preset 'vit-x' (known: tiny, fmnist-small, vit-b32, vit-b16, vit-l14)" "$work/bad.out"
"$bin" makemodel --preset tiny --naming tf --out "$work/x.safetensors" >/dev/null 2>&1
check "unknown naming fails" test $? -eq 1
"$bin" makemodel --preset tiny --bogus >"$work/bad.out" 2>&1
check "unknown option fails" grep -q "unknown option --bogus" "$work/bad.out"
"$bin" makemodel --preset tiny >/dev/null 2>&1
check "--out is required" test $? -eq 1
check "no file was left behind by failures" test ! -e "$work/x.safetensors"
"$bin" makemodel --help | grep -q -- '--config-from'
check "makemodel --help" test $? -eq 0
"$bin" inspect --help | grep -q 'inspect W.safetensors'
check "inspect --help" test $? -eq 0
exit $fail
