# I/O: JSON, safetensors (read and write), atomic file replacement.
libclipmtl_a_SOURCES += \
  src/io/json.c \
  src/io/atomic_file.c \
  src/io/safetensors.c
noinst_HEADERS += \
  include/clipmtl/json.h \
  include/clipmtl/atomic_file.h \
  include/clipmtl/safetensors.h
# Configuration: schema tables, YAML tree, reading, cross-field rules, writing.
libclipmtl_a_SOURCES += \
  src/io/config_schema.c \
  src/io/config_schema.h \
  src/io/config_values.c \
  src/io/yaml_tree.c \
  src/io/yaml_tree.h \
  src/io/yaml_config.c \
  src/io/config_validate.c \
  src/io/config_dump.c
noinst_HEADERS += \
  include/clipmtl/config.h
# HDF5: checked wrappers (serial or MPI-IO) and atomic checkpoints.
libclipmtl_a_SOURCES += \
  src/io/h5io.c \
  src/io/h5io_internal.h \
  src/io/h5_checkpoint.c \
  src/io/h5_tables.c
noinst_HEADERS += \
  include/clipmtl/h5io.h
