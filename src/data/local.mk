# Datasets: readers, splits, packing, the batch loader.
libclipmtl_a_SOURCES += \
  src/data/fashion_mnist.c
noinst_HEADERS += \
  include/clipmtl/fashion_mnist.h
