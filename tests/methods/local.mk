check_PROGRAMS += tests/methods/test_prompt_methods
tests_methods_test_prompt_methods_SOURCES = tests/methods/test_prompt_methods.c
tests_methods_test_prompt_methods_LDADD = $(TEST_LDADD)
TESTS += tests/methods/test_prompt_methods
check_PROGRAMS += tests/methods/test_prompt_set
tests_methods_test_prompt_set_SOURCES = tests/methods/test_prompt_set.c
tests_methods_test_prompt_set_LDADD = $(TEST_LDADD)
TESTS += tests/methods/test_prompt_set
