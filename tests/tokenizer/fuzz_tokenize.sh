#!/bin/sh
# Runs the tokenizer's libFuzzer target for 15 seconds (skipped without clang).
bin="${CLIPMTL_BUILDDIR:-.}/tests/tokenizer/fuzz_tokenize"
[ -x "$bin" ] || { echo "no $bin (clang with libFuzzer not found at configure time)"; exit 77; }
corpus=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-fuzz-XXXXXX") || exit 1
trap 'rm -rf "$corpus"' EXIT
exec "$bin" -error_exitcode=1 -max_total_time=15 -max_len=512 -seed=1 -print_final_stats=1 \
  -dict="${CLIPMTL_SRCDIR:-.}/tests/tokenizer/fuzz_tokenize.dict" "$corpus"
