# Training: optimisers and schedules, losses, the training step.
libclipmtl_a_SOURCES += \
  src/train/optimizer.c \
  src/train/trainer.c
noinst_HEADERS += \
  include/clipmtl/optimizer.h \
  include/clipmtl/trainer.h

# The stall watchdog (run.stall_timeout).
libclipmtl_a_SOURCES += src/train/watchdog.c
noinst_HEADERS += include/clipmtl/watchdog.h

# One task's training step (prompts, towers, head, loss and back): every trainer's code path.
libclipmtl_a_SOURCES += src/train/train_step.c
noinst_HEADERS += include/clipmtl/train_step.h
