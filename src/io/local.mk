# Sources of src/io (see Makefile.am).
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
