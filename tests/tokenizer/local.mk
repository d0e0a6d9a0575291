# Tokenizer: OpenAI's public cases and the reference cases (exact ids), malformed vocabularies,
# and the `clipmtl tokenize` command.
check_PROGRAMS += tests/tokenizer/test_tokenizer tests/tokenizer/test_bpe_vocab
tests_tokenizer_test_tokenizer_SOURCES = tests/tokenizer/test_tokenizer.c
tests_tokenizer_test_tokenizer_LDADD = $(TEST_LDADD)
tests_tokenizer_test_bpe_vocab_SOURCES = tests/tokenizer/test_bpe_vocab.c
tests_tokenizer_test_bpe_vocab_LDADD = $(TEST_LDADD)
TESTS += tests/tokenizer/test_tokenizer tests/tokenizer/test_bpe_vocab tests/tokenizer/test_tokenize_cli.sh
EXTRA_DIST += tests/tokenizer/test_tokenize_cli.sh tests/fixtures/tokenizer
FIXTURE_SCRIPTS += tests/reference/tokenizer_reference.py
