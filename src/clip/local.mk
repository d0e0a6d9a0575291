# CLIP: model layout, weights loading, tokenizer, preprocessing, encoders.
libclipmtl_a_SOURCES += \
  src/clip/clip_model.c \
  src/clip/prompts.c \
  src/clip/transformer.c \
  src/clip/vision_encoder.c \
  src/clip/text_encoder.c \
  src/clip/logits.c
noinst_HEADERS += \
  include/clipmtl/clip_model.h \
  include/clipmtl/prompts.h \
  include/clipmtl/encoder.h
