check_PROGRAMS += tests/core/test_core
tests_core_test_core_SOURCES = tests/core/test_core.c
tests_core_test_core_LDADD = $(TEST_LDADD)
TESTS += tests/core/test_core
TESTS += tests/core/test_cli_help.sh
EXTRA_DIST += tests/core/test_cli_help.sh
TESTS += tests/core/test_layering.sh
EXTRA_DIST += tests/core/test_layering.sh
