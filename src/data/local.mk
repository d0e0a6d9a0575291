# Datasets: readers, splits, packing, the batch loader.
libclipmtl_a_SOURCES += \
  src/data/fashion_mnist.c \
  src/data/splits.c
noinst_HEADERS += \
  include/clipmtl/fashion_mnist.h \
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
