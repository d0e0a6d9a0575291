#!/bin/sh
# A run killed (MPI_Abort) after writing part of checkpoint 20 leaves checkpoint 10
# intact; 10 reads back on another number of ranks; the next complete checkpoint replaces the
# unfinished file and the oldest beyond keep = 2 is removed.
set -eu
tool="$CLIPMTL_BUILDDIR/tests/h5io/h5_checkpoint_tool"
mpi="$CLIPMTL_SRCDIR/tests/run-mpi"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; ls -l "$dir" >&2; exit 1; }

"$mpi" 2 "$tool" "$dir" write 10 || fail "writing checkpoint 10"
if "$mpi" 2 "$tool" "$dir" crash 20 > "$dir/crash.log" 2>&1; then fail "the crash run exited 0"; fi
[ ! -e "$dir/ckpt-20.h5" ] || fail "an unfinished checkpoint got its final name"
rm -f "$dir/crash.log"
# (checkpoints are built in memory: a crash leaves no file; a stale .tmp is made here)
echo partial >"$dir/ckpt-20.h5.tmp"
"$mpi" 3 "$tool" "$dir" verify 10 || fail "checkpoint 10 after the crash, on 3 ranks"

"$mpi" 3 "$tool" "$dir" write 20 || fail "writing checkpoint 20 after the crash"
[ ! -e "$dir/ckpt-20.h5.tmp" ] || fail "the unfinished file is still there"
"$mpi" 1 "$tool" "$dir" verify 20 || fail "checkpoint 20 on 1 rank"
"$mpi" 2 "$tool" "$dir" write 30 || fail "writing checkpoint 30"
[ ! -e "$dir/ckpt-10.h5" ] && [ -f "$dir/ckpt-20.h5" ] && [ -f "$dir/ckpt-30.h5" ] || fail "keep 2"
[ -z "$(ls "$dir" | grep -v -e '^ckpt-20.h5$' -e '^ckpt-30.h5$')" ] || fail "unexpected files"
echo "checkpoint survives a crash: 10 intact, 20 replaced the unfinished file, keep 2"
