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
