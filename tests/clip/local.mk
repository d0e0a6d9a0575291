# CLIP encoders against a tiny fp32 PyTorch CLIP (with and without deep prompts).
check_PROGRAMS += tests/clip/test_encoders
tests_clip_test_encoders_SOURCES = tests/clip/test_encoders.c
tests_clip_test_encoders_LDADD = $(TEST_LDADD)
TESTS += tests/clip/test_encoders
FIXTURE_SCRIPTS += tests/reference/clip_reference.py

# OpenAI's oracle in ../shared/data/oracle_tiny, through the library and through `clipmtl encode`.
check_PROGRAMS += tests/clip/test_oracle
tests_clip_test_oracle_SOURCES = tests/clip/test_oracle.c
tests_clip_test_oracle_LDADD = $(TEST_LDADD)
TESTS += tests/clip/test_oracle tests/clip/test_encode_cli.sh tests/clip/test_zeroshot_cli.sh
EXTRA_DIST += tests/clip/test_encode_cli.sh tests/clip/test_zeroshot_cli.sh

# The encoders' backward (blocks, both towers, prompts and weights) against finite differences.
check_PROGRAMS += tests/clip/test_encoder_backward
tests_clip_test_encoder_backward_SOURCES = tests/clip/test_encoder_backward.c
tests_clip_test_encoder_backward_LDADD = $(TEST_LDADD)
TESTS += tests/clip/test_encoder_backward
