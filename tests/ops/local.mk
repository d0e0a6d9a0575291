# Ops: forward against PyTorch, backward against autograd and finite differences.
check_PROGRAMS += tests/ops/test_ops
tests_ops_test_ops_SOURCES = tests/ops/test_ops.c
tests_ops_test_ops_LDADD = $(TEST_LDADD)
TESTS += tests/ops/test_ops tests/ops/test_ops_narrow.sh
EXTRA_DIST += tests/ops/test_ops_narrow.sh
FIXTURE_SCRIPTS += tests/reference/ops_reference.py
# The GEMM layer on each path, and every op's tests again on each path besides OpenBLAS.
check_PROGRAMS += tests/ops/test_gemm
tests_ops_test_gemm_SOURCES = tests/ops/test_gemm.c
tests_ops_test_gemm_LDADD = $(TEST_LDADD)
TESTS += tests/ops/test_gemm tests/ops/test_gemm_paths.sh
EXTRA_DIST += tests/ops/test_gemm_paths.sh
CLEANFILES += tests/*/*.onednn.out
