# Core: errors, logging (the run's log file, progress lines), the activation arena, RNG streams, tensor
# tables, path and folder helpers.
libclipmtl_a_SOURCES += \
  src/core/error.c \
  src/core/log.c \
  src/core/log_file.c \
  src/core/progress.c \
  src/core/arena.c \
  src/core/rng.c \
  src/core/tensor_table.c \
  src/core/half.c \
  src/core/fs.c
noinst_HEADERS += \
  include/clipmtl/error.h \
  include/clipmtl/exit_status.h \
  include/clipmtl/log.h \
  include/clipmtl/progress.h \
  include/clipmtl/arena.h \
  include/clipmtl/rng.h \
  include/clipmtl/tensor_table.h \
  include/clipmtl/half.h \
  include/clipmtl/fs.h
