# Training: optimisers and schedules, losses, the training step.
libclipmtl_a_SOURCES += \
  src/train/optimizer.c \
  src/train/trainer.c
noinst_HEADERS += \
  include/clipmtl/optimizer.h \
  include/clipmtl/trainer.h
