# CLIP: model layout, weights loading, tokenizer, preprocessing, encoders.
libclipmtl_a_SOURCES += \
  src/clip/clip_model.c \
  src/clip/clip_naming.c \
  src/clip/clip_weights.c \
  src/clip/clip_init.c \
  src/clip/clip_presets.c
noinst_HEADERS += \
  include/clipmtl/clip_model.h \
  include/clipmtl/clip_weights.h
