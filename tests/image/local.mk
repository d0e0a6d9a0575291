# Images: decoding, PIL-exact resampling, CLIP transforms (fixtures: tests/reference/image_reference.py).
check_PROGRAMS += tests/image/test_image
tests_image_test_image_SOURCES = tests/image/test_image.c
tests_image_test_image_LDADD = $(TEST_LDADD)
TESTS += tests/image/test_image
FIXTURE_SCRIPTS += tests/reference/image_reference.py
EXTRA_DIST += tests/reference/image_reference.py tests/fixtures/image
