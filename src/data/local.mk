# Sources of src/data (see Makefile.am).
# Images: decoding (JPEG, PNG), writing, PIL-exact bicubic resampling, CLIP's transforms.
libclipmtl_a_SOURCES += \
  src/data/image_decode.c \
  src/data/image_jpeg.c \
  src/data/image_png.c \
  src/data/image_resample.c \
  src/data/image_transform.c
noinst_HEADERS += \
  include/clipmtl/image.h \
  src/data/image_codecs.h
