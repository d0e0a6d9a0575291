# CLIP: model layout, weights loading, tokenizer, preprocessing, encoders.
libclipmtl_a_SOURCES += \
  src/clip/clip_model.c
noinst_HEADERS += \
  include/clipmtl/clip_model.h
