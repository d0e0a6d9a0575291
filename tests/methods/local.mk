check_PROGRAMS += tests/methods/test_prompt_methods
tests_methods_test_prompt_methods_SOURCES = tests/methods/test_prompt_methods.c
tests_methods_test_prompt_methods_LDADD = $(TEST_LDADD)
TESTS += tests/methods/test_prompt_methods
