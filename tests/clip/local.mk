# CLIP encoders against a tiny fp32 PyTorch CLIP (with and without deep prompts).
check_PROGRAMS += tests/clip/test_encoders
tests_clip_test_encoders_SOURCES = tests/clip/test_encoders.c
tests_clip_test_encoders_LDADD = $(TEST_LDADD)
TESTS += tests/clip/test_encoders
FIXTURE_SCRIPTS += tests/reference/clip_reference.py
