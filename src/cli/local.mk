# Command line: main.c dispatches; one file per subcommand (commands.def lists them).
# The CLI is linked into the clipmtl binary only, never into libclipmtl.a, so that the library
# cannot call up into it (tests/core/test_layering.sh checks).
clipmtl_SOURCES += \
  src/cli/common.c \
  src/cli/cmd_tokenize.c \
  src/cli/cmd_makemodel.c \
  src/cli/cmd_inspect.c \
  src/cli/cmd_mkdemo.c \
  src/cli/cmd_encode.c \
  src/cli/cmd_zeroshot.c \
  src/cli/cmd_regroup.c
noinst_HEADERS += \
  src/cli/cli.h \
  src/cli/commands.def
clipmtl_SOURCES += \
  src/cli/cmd_config.c

# The pipeline commands; the demo configuration is embedded from experiments/demo.yaml.
clipmtl_SOURCES += \
  src/cli/pipeline.c \
  src/cli/cmd_group.c \
  src/cli/cmd_train.c \
  src/cli/cmd_pretrain.c \
  src/cli/cmd_run.c \
  src/cli/cmd_grad.c \
  src/cli/cmd_params.c
nodist_clipmtl_SOURCES = src/cli/demo_config.c
noinst_HEADERS += src/cli/pipeline.h
BUILT_SOURCES += src/cli/demo_config.c
CLEANFILES += src/cli/demo_config.c
EXTRA_DIST += experiments/demo.yaml
src/cli/demo_config.c: $(top_srcdir)/experiments/demo.yaml
	$(AM_V_GEN)$(MKDIR_P) src/cli && { \
	  echo '/* Generated from experiments/demo.yaml by src/cli/local.mk: the default of clipmtl run. */'; \
	  echo 'const char cm_demo_config_yaml[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $(top_srcdir)/experiments/demo.yaml; \
	  echo ';'; } >$@
clipmtl_SOURCES += \
  src/cli/cmd_pack.c
