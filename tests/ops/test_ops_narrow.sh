#!/bin/sh
# The ops' 4-wide loops on a CPU whose 16-wide (AVX-512) loops the plain run of test_ops takes
# (src/ops/vec16.h): the same tests again with CLIPMTL_OPS_VECTOR=4. Skips (77) on CPUs
# without AVX-512F, where the plain run already takes the 4-wide loops.
set -u
B=${CLIPMTL_BUILDDIR:-.}
grep -qw avx512f /proc/cpuinfo 2>/dev/null || { echo "no AVX-512F: the plain run covers the 4-wide loops"; exit 77; }
CLIPMTL_OPS_VECTOR=4 exec "$B/tests/ops/test_ops"
