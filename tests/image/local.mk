# Images: decoding, PIL-exact resampling, CLIP transforms (fixtures: tests/reference/image_reference.py).
check_PROGRAMS += tests/image/test_image
tests_image_test_image_SOURCES = tests/image/test_image.c
tests_image_test_image_LDADD = $(TEST_LDADD)
TESTS += tests/image/test_image
FIXTURE_SCRIPTS += tests/reference/image_reference.py
EXTRA_DIST += tests/reference/image_reference.py tests/fixtures/image

# The decoder fuzz target is compiled by clang with libFuzzer, ASan and UBSan straight from the
# decoder sources (the library itself is built by mpicc); the .sh test runs it for a few seconds.
FUZZ_IMAGE_FILES = tests/image/fuzz_image_decode.c src/data/image_decode.c src/data/image_jpeg.c \
  src/data/image_png.c src/core/error.c
EXTRA_DIST += $(FUZZ_IMAGE_FILES) tests/image/fuzz_image_decode.sh
TESTS += tests/image/fuzz_image_decode.sh
CLEANFILES += tests/image/fuzz_image_decode
if HAVE_CLANG
tests/image/fuzz_image_decode: $(addprefix $(top_srcdir)/,$(FUZZ_IMAGE_FILES))
	$(AM_V_CC)$(MKDIR_P) tests/image && $(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	  -I$(top_srcdir)/include $(PNG_CFLAGS) $(JPEG_CFLAGS) $^ $(PNG_LIBS) $(JPEG_LIBS) $(ZLIB_LIBS) -lm -o $@
tests/image/fuzz_image_decode.log: tests/image/fuzz_image_decode
endif
