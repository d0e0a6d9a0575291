# The run configuration (src/io/config_*.c, yaml_*.c) and `clipmtl config`.
check_PROGRAMS += tests/config/test_config
tests_config_test_config_SOURCES = tests/config/test_config.c
tests_config_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/io
tests_config_test_config_LDADD = $(TEST_LDADD)
TESTS += tests/config/test_config tests/config/test_config_cli.sh tests/config/test_config_doc.sh
EXTRA_DIST += tests/config/test_config_cli.sh tests/config/test_config_doc.sh experiments

# experiments/README.md is the output of `clipmtl config --doc` (checked by test_config_doc.sh).
experiments-readme: clipmtl$(EXEEXT)
	$(AM_V_GEN)./clipmtl$(EXEEXT) config --doc > $(top_srcdir)/experiments/README.md
.PHONY: experiments-readme
