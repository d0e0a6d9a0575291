# Training: optimisers and schedules, losses, the training step.
libclipmtl_a_SOURCES += \
  src/train/optimizer.c \
  src/train/snapshot_gradient.c \
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

# What the trainer keeps between steps: the gradient reduction over the prompt set's
# communicators, and the run files (checkpoints with optimizer moments, results).
libclipmtl_a_SOURCES += \
  src/train/grad_reduce.c \
  src/train/run_files.c
noinst_HEADERS += \
  include/clipmtl/grad_reduce.h \
  include/clipmtl/run_files.h
# CLIP's contrastive pretraining of both towers (clipmtl pretrain).
libclipmtl_a_SOURCES += src/train/pretrain.c
noinst_HEADERS += include/clipmtl/pretrain.h
