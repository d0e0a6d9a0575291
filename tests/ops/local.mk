# Ops: forward against PyTorch, backward against autograd and finite differences.
check_PROGRAMS += tests/ops/test_ops
tests_ops_test_ops_SOURCES = tests/ops/test_ops.c
tests_ops_test_ops_LDADD = $(TEST_LDADD)
TESTS += tests/ops/test_ops
FIXTURE_SCRIPTS += tests/reference/ops_reference.py
