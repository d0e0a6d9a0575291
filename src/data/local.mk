# Datasets: readers, splits, packing, the batch loader.
libclipmtl_a_SOURCES += \
  src/data/fashion_mnist.c \
  src/data/captions.c \
  src/data/splits.c
noinst_HEADERS += \
  include/clipmtl/fashion_mnist.h \
  include/clipmtl/captions.h \
  include/clipmtl/splits.h
# Images: decoding (JPEG, PNG), writing, PIL-exact bicubic resampling, CLIP's transforms;
# the folder dataset reader and the generated demo dataset.
libclipmtl_a_SOURCES += \
  src/data/image_decode.c \
  src/data/image_jpeg.c \
  src/data/image_png.c \
  src/data/image_resample.c \
  src/data/image_transform.c \
  src/data/folder_dataset.c \
  src/data/synthetic_images.c
noinst_HEADERS += \
  include/clipmtl/image.h \
  include/clipmtl/dataset.h \
  include/clipmtl/synthetic_images.h \
  src/data/image_codecs.h
# Tasks (one per domain) with their splits, packed HDF5 datasets, and the batch loader thread.
libclipmtl_a_SOURCES += \
  src/data/tasks_internal.h \
  src/data/tasks.c \
  src/data/tasks_load.c \
  src/data/tasks_folder.c \
  src/data/tasks_lists.c \
  src/data/tasks_fmnist.c \
  src/data/tasks_packed.c \
  src/data/tasks_splits.c \
  src/data/split_list.c \
  src/data/pack.c \
  src/data/loader.c
noinst_HEADERS += \
  include/clipmtl/tasks.h \
  include/clipmtl/pack.h \
  include/clipmtl/loader.h
