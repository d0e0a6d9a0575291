# I/O: JSON, safetensors (read and write), atomic file replacement.
libclipmtl_a_SOURCES += \
  src/io/json.c \
  src/io/atomic_file.c \
  src/io/safetensors.c
noinst_HEADERS += \
  include/clipmtl/json.h \
  include/clipmtl/atomic_file.h \
  include/clipmtl/safetensors.h
