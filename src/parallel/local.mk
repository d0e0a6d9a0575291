# Parallel: similarity of task gradients (ScaLAPACK), grouping of tasks.
libclipmtl_a_SOURCES += \
  src/parallel/blacs_grid.c \
  src/parallel/symmetric_eigen.c \
  src/parallel/similarity.c \
  src/parallel/similarity_snapshots.c \
  src/parallel/grouping.c \
  src/parallel/grouping_threshold.c \
  src/parallel/grouping_spectral.c \
  src/parallel/grouping_partition.c \
  src/parallel/layout.c
noinst_HEADERS += \
  include/clipmtl/scalapack.h \
  include/clipmtl/dist_linalg.h \
  include/clipmtl/similarity.h \
  include/clipmtl/grouping.h \
  include/clipmtl/layout.h
