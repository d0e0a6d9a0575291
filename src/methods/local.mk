# Prompt methods: trainable parameters -> per-layer prompts, and back.
libclipmtl_a_SOURCES += \
  src/methods/prompt_method.c \
  src/methods/method_impl.h \
  src/methods/direct_prompts.c \
  src/methods/maple.c \
  src/methods/mmap.c \
  src/methods/prompt_set.c \
  src/methods/weight_methods.c
noinst_HEADERS += \
  include/clipmtl/prompts.h \
  include/clipmtl/prompt_method.h \
  include/clipmtl/method_config.h \
  include/clipmtl/prompt_set.h \
  include/clipmtl/weight_methods.h
