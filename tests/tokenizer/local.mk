# Tokenizer: OpenAI's public cases and the reference cases (exact ids, ftfy's repairs included),
# malformed vocabularies, and the `clipmtl tokenize` command.
check_PROGRAMS += tests/tokenizer/test_tokenizer tests/tokenizer/test_bpe_vocab
tests_tokenizer_test_tokenizer_SOURCES = tests/tokenizer/test_tokenizer.c
tests_tokenizer_test_tokenizer_LDADD = $(TEST_LDADD)
tests_tokenizer_test_bpe_vocab_SOURCES = tests/tokenizer/test_bpe_vocab.c
tests_tokenizer_test_bpe_vocab_LDADD = $(TEST_LDADD)
TESTS += tests/tokenizer/test_tokenizer tests/tokenizer/test_bpe_vocab tests/tokenizer/test_tokenize_cli.sh
EXTRA_DIST += tests/tokenizer/test_tokenize_cli.sh tests/fixtures/tokenizer tests/reference/tokenizer_reference.py \
  tests/reference/ftfy_cases.py
# Both need the real ftfy in the git-ignored tests/reference/.ftfy-scratch (see ftfy_cases.py).
FIXTURE_SCRIPTS += tests/reference/tokenizer_reference.py tests/reference/ftfy_cases.py

# libFuzzer run of the tokenizer (15 s) when clang is available: the tokenizer's sources are
# compiled into the target with clang so that the fuzzer sees their coverage.
TESTS += tests/tokenizer/fuzz_tokenize.sh
EXTRA_DIST += tests/tokenizer/fuzz_tokenize.sh tests/tokenizer/fuzz_tokenize.c tests/tokenizer/fuzz_tokenize.dict
if HAVE_CLANG
# The fuzzer is built before its test runs (an extra prerequisite of the test's log).
tests/tokenizer/fuzz_tokenize.log: tests/tokenizer/fuzz_tokenize
CLEANFILES += tests/tokenizer/fuzz_tokenize
TOKENIZER_FUZZ_FILES = tests/tokenizer/fuzz_tokenize.c $(TOKENIZER_FILES) src/core/error.c
tests/tokenizer/fuzz_tokenize: $(TOKENIZER_FUZZ_FILES)
	@mkdir -p tests/tokenizer
	$(AM_V_CCLD)$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(top_srcdir)/include -DCM_SRCDIR='"$(abs_top_srcdir)"' \
	  $(addprefix $(top_srcdir)/,$(TOKENIZER_FUZZ_FILES)) $(ZLIB_LIBS) -o $@
endif
