# Runs the image decoder fuzz target for a few seconds from the fixture images (skips without
# clang's libFuzzer). Set CLIPMTL_FUZZ_SECONDS for a longer run.
set -u
bin="$CLIPMTL_BUILDDIR/tests/image/fuzz_image_decode"
test -x "$bin" || { echo "skip: $bin not built (needs clang with libFuzzer)"; exit 77; }
corpus=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-fuzz-XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cp "$CLIPMTL_SRCDIR"/tests/fixtures/image/*.jpg "$CLIPMTL_SRCDIR"/tests/fixtures/image/*.png "$corpus"/
# Images up to the decoders' limits may be allocated from tiny inputs: allow 4 GB, and a minute for
# one such input on a loaded machine.
exec "$bin" -error_exitcode=1 -max_total_time="${CLIPMTL_FUZZ_SECONDS:-10}" -timeout=60 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
  -artifact_prefix="$corpus/" -print_final_stats=1 "$corpus"
