# Command line: main.c dispatches; one file per subcommand (commands.def lists them).
libclipmtl_a_SOURCES += \
  src/cli/common.c
noinst_HEADERS += \
  include/clipmtl/cli.h \
  src/cli/commands.def
libclipmtl_a_SOURCES += \
  src/cli/cmd_config.c
