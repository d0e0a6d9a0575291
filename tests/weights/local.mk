# Weights I/O: JSON, fp16/bf16, safetensors, CLIP checkpoints (load/save/init), the
# makemodel/inspect commands, and a libFuzzer run over the safetensors reader.
WEIGHTS_TEST_HELPERS = tests/weights/st_files.c tests/weights/st_files.h
check_PROGRAMS += tests/weights/test_half tests/weights/test_json
tests_weights_test_half_SOURCES = tests/weights/test_half.c
tests_weights_test_half_LDADD = $(TEST_LDADD)
tests_weights_test_json_SOURCES = tests/weights/test_json.c
tests_weights_test_json_LDADD = $(TEST_LDADD)
TESTS += tests/weights/test_half tests/weights/test_json
check_PROGRAMS += tests/weights/test_safetensors
tests_weights_test_safetensors_SOURCES = tests/weights/test_safetensors.c $(WEIGHTS_TEST_HELPERS)
tests_weights_test_safetensors_LDADD = $(TEST_LDADD)
TESTS += tests/weights/test_safetensors
check_PROGRAMS += tests/weights/test_clip_weights
tests_weights_test_clip_weights_SOURCES = tests/weights/test_clip_weights.c $(WEIGHTS_TEST_HELPERS)
tests_weights_test_clip_weights_LDADD = $(TEST_LDADD)
TESTS += tests/weights/test_clip_weights

# Command line: makemodel and inspect end to end.
TESTS += tests/weights/test_cli.sh
EXTRA_DIST += tests/weights/test_cli.sh tests/weights/test_fuzz_safetensors.sh

# Fuzzing: the target is compiled by clang with libFuzzer, ASan and UBSan from
# the sources it needs (the rest of the library is built with mpicc and is not
# instrumented). The run itself is a test script that skips without it.
check_PROGRAMS += tests/weights/make_fuzz_seeds
tests_weights_make_fuzz_seeds_SOURCES = tests/weights/make_fuzz_seeds.c
tests_weights_make_fuzz_seeds_LDADD = $(TEST_LDADD)
TESTS += tests/weights/test_fuzz_safetensors.sh
FUZZ_TARGET_SRC = tests/weights/fuzz_safetensors.c \
  src/io/json.c src/io/safetensors.c src/io/atomic_file.c \
  src/core/half.c src/core/error.c src/core/log.c src/core/tensor_table.c src/core/rng.c \
  src/clip/clip_model.c src/clip/clip_naming.c src/clip/clip_weights.c src/clip/clip_init.c src/clip/clip_presets.c
EXTRA_DIST += tests/weights/fuzz_safetensors.c
if HAVE_LIBFUZZER
check_SCRIPTS += tests/weights/fuzz_safetensors
CLEANFILES += tests/weights/fuzz_safetensors
FUZZ_TARGET_INCLUDES = include/clipmtl/json.h include/clipmtl/safetensors.h include/clipmtl/clip_weights.h \
  include/clipmtl/clip_model.h include/clipmtl/half.h include/clipmtl/tensor_table.h include/clipmtl/error.h
tests/weights/fuzz_safetensors: $(FUZZ_TARGET_SRC:%=$(top_srcdir)/%) $(FUZZ_TARGET_INCLUDES:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests/weights
	$(AM_V_CCLD)$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(top_srcdir)/include -o $@ $(FUZZ_TARGET_SRC:%=$(top_srcdir)/%) -lm
endif

# tools/clip_to_safetensors.py on PyTorch checkpoints made by the test (OpenAI .pt, HF .bin).
TESTS += tests/weights/test_convert.py
EXTRA_DIST += tests/weights/test_convert.py tools/clip_to_safetensors.py
