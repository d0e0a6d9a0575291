#!/usr/bin/env bash
# The snapshot gradient over fixed images is bitwise the same on 1, 2 and 3 ranks and equals one
# step over all the images (tests/train/test_snapshot_gradient.c).
set -eu
prog=$CLIPMTL_BUILDDIR/tests/train/test_snapshot_gradient
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set +e
"$CLIPMTL_SRCDIR/tests/run-mpi" 1 "$prog" "$tmp/one.f32"
rc=$?
set -e
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || exit 1
for np in 2 3; do
    "$CLIPMTL_SRCDIR/tests/run-mpi" $np "$prog" --compare "$tmp/one.f32"
    echo "ok   $np ranks: bitwise equal to 1 rank"
done
