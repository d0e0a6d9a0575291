# Runs the libFuzzer target over the safetensors reader and CLIP loader for a
# bounded time (15 s) from a generated seed corpus. Skipped (77) when
# configure found no clang with a working libFuzzer. A crashing input is kept
# as tests/weights/fuzz-crash-* in the build directory. The target's own stderr
# (long mismatch reports) is closed; libFuzzer and sanitizer reports still print.
fuzz="$CLIPMTL_BUILDDIR/tests/weights/fuzz_safetensors"
if [ ! -x "$fuzz" ]; then
  echo "fuzz_safetensors was not built (no clang with -fsanitize=fuzzer): skipped"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-fuzz-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
"$CLIPMTL_BUILDDIR/tests/weights/make_fuzz_seeds" "$work/seeds" || exit 1
mkdir "$work/corpus"
"$fuzz" -error_exitcode=1 -max_total_time=15 -timeout=10 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 -close_fd_mask=2 \
  -artifact_prefix="$CLIPMTL_BUILDDIR/tests/weights/fuzz-crash-" "$work/corpus" "$work/seeds" >"$work/log" 2>&1
status=$?
# The progress lines ("#1234 NEW ...") are many; keep the summary and any report.
grep -v '^#[0-9]' "$work/log"
echo "fuzz exit status $status"
exit "$status"
