#!/bin/sh
# Every op's reference tests on every GEMM path besides OpenBLAS (which the plain run of each
# test uses): the unit tests below run again with CLIPMTL_GEMM=<path> (gemm.h). Skips (77) when
# this build and CPU offer no other path.
set -u
B=${CLIPMTL_BUILDDIR:-.}
paths=$("$B/tests/ops/test_gemm" --paths | grep -v '^openblas$')
[ -n "$paths" ] || { echo "only the openblas GEMM path here: nothing more to run"; exit 77; }
status=0
for path in $paths; do
  for t in tests/ops/test_ops tests/train/test_loss tests/clip/test_encoders tests/clip/test_encoder_backward \
           tests/methods/test_prompt_methods tests/train/test_train_step tests/train/test_baselines; do
    if CLIPMTL_GEMM=$path "$B/$t" >"$B/$t.$path.out" 2>&1; then
      echo "PASS $t ($path)"
    else
      rc=$?
      [ $rc -eq 77 ] && { echo "SKIP $t ($path)"; continue; }
      echo "FAIL $t ($path), exit $rc:"; tail -20 "$B/$t.$path.out"; status=1
    fi
  done
done
exit $status
