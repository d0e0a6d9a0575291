check_PROGRAMS += tests/train/test_optimizer
tests_train_test_optimizer_SOURCES = tests/train/test_optimizer.c
tests_train_test_optimizer_LDADD = $(TEST_LDADD)
TESTS += tests/train/test_optimizer
FIXTURE_SCRIPTS += tests/reference/optimizer_reference.py
