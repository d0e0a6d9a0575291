# Tests. Each part has its own fragment; test_util is shared by the C tests.
noinst_LIBRARIES += tests/libtestutil.a
tests_libtestutil_a_SOURCES = tests/test_util.c tests/test_util.h
TEST_LDADD = tests/libtestutil.a libclipmtl.a $(DEPS_LIBS)
AM_CPPFLAGS += -I$(top_srcdir)/tests

# `make fixtures` reruns the PyTorch/PIL reference scripts (Debian python3-torch, python3-pil),
# which rewrite the committed files under tests/fixtures/. Parts append their scripts here.
FIXTURE_SCRIPTS =
# automake reads *_SCRIPTS as scripts to install into FIXTUREdir; an empty directory
# makes it accept the name and install nothing.
FIXTUREdir =
fixtures:
	@for s in $(FIXTURE_SCRIPTS); do echo "  REF      $$s"; $(PYTHON3) $(top_srcdir)/$$s || exit 1; done
.PHONY: fixtures

# One line per part, so that parts added on different branches merge cleanly.
include tests/core/local.mk
include tests/grouping/local.mk
include tests/methods/local.mk
include tests/train/local.mk
include tests/data/local.mk
include tests/parallel/local.mk
include tests/tokenizer/local.mk
include tests/weights/local.mk
include tests/image/local.mk
include tests/ops/local.mk
include tests/clip/local.mk
include tests/config/local.mk
include tests/h5io/local.mk
include tests/pipeline/local.mk
include tests/jobs/local.mk
include tests/analysis/local.mk
