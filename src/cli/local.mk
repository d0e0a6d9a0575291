# Command line: main.c dispatches; one file per subcommand (commands.def lists them).
libclipmtl_a_SOURCES += \
  src/cli/common.c \
  src/cli/cmd_tokenize.c \
  src/cli/cmd_makemodel.c \
  src/cli/cmd_inspect.c \
  src/cli/cmd_mkdemo.c \
  src/cli/cmd_encode.c \
  src/cli/cmd_zeroshot.c
noinst_HEADERS += \
  include/clipmtl/cli.h \
  src/cli/commands.def
libclipmtl_a_SOURCES += \
  src/cli/cmd_config.c
libclipmtl_a_SOURCES += \
  src/cli/cmd_pack.c
