#!/bin/sh
# Errors read as one message: no source trace unless asked for (-v, --verbose, CLIPMTL_VERBOSE=1),
# and one message per job, not one per rank, when every rank fails alike. (One failing rank among
# healthy ones reports itself as "[rank N] error: ..."; tests/pipeline/test_resume.sh covers it.)
set -eu
clipmtl="$CLIPMTL_BUILDDIR/clipmtl"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$dir/err" >&2; exit 1; }

want='error: --set model.preset=vit_b16: model.preset: unknown name "vit_b16" (known: tiny, fmnist-small, vit-b32, vit-b16, vit-l14); did you mean "vit-b16"?'
if "$clipmtl" config --set model.preset=vit_b16 > /dev/null 2> "$dir/err"; then fail "bad preset accepted"; fi
[ "$(cat "$dir/err")" = "$want" ] || fail "not exactly one clean line"
for verbose in "-v config" "config --verbose"; do
    # shellcheck disable=SC2086
    if "$clipmtl" $verbose --set model.preset=vit_b16 > /dev/null 2> "$dir/err"; then fail "bad preset accepted"; fi
    grep -qx "$want" "$dir/err" || fail "$verbose: message"
    grep -q '^  raised at .*yaml_config.c:[0-9]* check_choice()$' "$dir/err" || fail "$verbose: no trace"
done
if CLIPMTL_VERBOSE=1 "$clipmtl" config --set model.preset=vit_b16 > /dev/null 2> "$dir/err"; then fail "accepted"; fi
grep -q '^  called from .*cmd_config.c' "$dir/err" || fail "CLIPMTL_VERBOSE=1: no trace"

# Three ranks, the same bad configuration on each: one message, from rank 0, without a rank prefix.
if "$CLIPMTL_SRCDIR/tests/run-mpi" 3 "$clipmtl" train "$CLIPMTL_SRCDIR/experiments/demo.yaml" --set model.preset=vit_b16 > /dev/null 2> "$dir/err"; then
    fail "the job succeeded"
fi
[ "$(grep -c 'error:' "$dir/err")" -eq 1 ] || fail "3 ranks: want one error line"
grep -qx "$want" "$dir/err" || fail "3 ranks: message"
if grep -q 'raised at\|MPI_ABORT' "$dir/err"; then fail "3 ranks: trace or abort"; fi
echo "errors: one clean line (trace with -v, --verbose, CLIPMTL_VERBOSE=1), once for 3 failing ranks"

# A rank bound to one core but asked for two threads (mpirun binds 1-2 ranks to cores unless told
# otherwise, and OpenBLAS then quietly runs one thread): a warning that names the fix; none when
# the rank may use both CPUs (needs 2 of them).
if [ "$(nproc)" -ge 2 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    for bind in core none; do
        timeout 120 mpirun -np 1 --bind-to $bind -x OPENBLAS_NUM_THREADS=2 "$clipmtl" train "$dir/missing.yaml" \
            > /dev/null 2> "$dir/err" && fail "a missing configuration was accepted"
        grep -q "missing.yaml" "$dir/err" || fail "--bind-to $bind: not the missing file's error"
        if [ $bind = core ]; then
            grep -q "asks for 2 threads.*--bind-to none" "$dir/err" || fail "bound rank: no warning"
        else
            ! grep -q "asks for" "$dir/err" || fail "unbound rank warned"
        fi
    done
fi
echo "cli errors: ok"
