/* Private to src/data: the per-format decoders behind cm_image_decode, and the size check they
 * share. Each decoder reports errors naming `name` and leaves *img empty on failure. */
#ifndef CLIPMTL_IMAGE_CODECS_H
#define CLIPMTL_IMAGE_CODECS_H

#include "clipmtl/image.h"

cm_err cm_image_decode_jpeg(const uint8_t *bytes, size_t n, const char *name, cm_image *img);
cm_err cm_image_decode_png(const uint8_t *bytes, size_t n, const char *name, cm_image *img);

/* Raises CM_ERR_FORMAT naming the file when w x h (from a header) is empty or beyond the limits. */
cm_err cm_image_check_dims(long w, long h, const char *name);

#endif
