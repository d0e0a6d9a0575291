# Datasets: readers, splits, packing, the batch loader.
libclipmtl_a_SOURCES += \
  src/data/fashion_mnist.c \
  src/data/splits.c
noinst_HEADERS += \
  include/clipmtl/fashion_mnist.h \
  include/clipmtl/splits.h
