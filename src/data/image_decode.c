/* Image buffers, reading a file, and choosing the decoder from the file's first bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_codecs.h"

/* Larger files are not images we would train on; refusing them early bounds memory use. */
#define MAX_FILE_BYTES (1L << 30)

cm_err cm_image_check_dims(long w, long h, const char *name)
{
    CM_ASSERT(w > 0 && h > 0, CM_ERR_FORMAT, "%s: image has an empty size %ldx%ld", name, w, h);
    CM_ASSERT(w <= CM_IMAGE_MAX_SIDE && h <= CM_IMAGE_MAX_SIDE, CM_ERR_FORMAT,
              "%s: image size %ldx%ld exceeds %d pixels per side", name, w, h, CM_IMAGE_MAX_SIDE);
    CM_ASSERT(w * h <= CM_IMAGE_MAX_PIXELS, CM_ERR_FORMAT, "%s: image size %ldx%ld exceeds %ld pixels",
              name, w, h, CM_IMAGE_MAX_PIXELS);
    return CM_OK;
}

cm_err cm_image_alloc(cm_image *img, int w, int h)
{
    *img = (cm_image){0};
    CM_CHECK(cm_image_check_dims(w, h, "cm_image_alloc"));
    CM_CALLOC(img->rgb, (size_t)w * h * 3);
    img->w = w;
    img->h = h;
    return CM_OK;
}

void cm_image_free(cm_image *img)
{
    free(img->rgb);
    *img = (cm_image){0};
}

static const uint8_t jpeg_magic[3] = {0xFF, 0xD8, 0xFF};
static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

cm_err cm_image_decode(const uint8_t *bytes, size_t n, const char *name, cm_image *img)
{
    *img = (cm_image){0};
    CM_ASSERT(n > 0, CM_ERR_FORMAT, "%s: empty file", name);
    if (n >= sizeof jpeg_magic && memcmp(bytes, jpeg_magic, sizeof jpeg_magic) == 0) {
        CM_CHECK(cm_image_decode_jpeg(bytes, n, name, img));
        return CM_OK;
    }
    if (n >= sizeof png_magic && memcmp(bytes, png_magic, sizeof png_magic) == 0) {
        CM_CHECK(cm_image_decode_png(bytes, n, name, img));
        return CM_OK;
    }
    CM_ERROR(CM_ERR_FORMAT, "%s: not a JPEG or PNG file (first bytes %02x %02x %02x %02x)", name,
             bytes[0], n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0);
}

/* Reads the whole file: both decoders work from memory, which also lets the format be detected
 * from the first bytes. */
static cm_err read_file(const char *path, uint8_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    cm_err err = CM_OK;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: not a regular file", path);
    if (st.st_size > MAX_FILE_BYTES)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: file of %lld bytes is larger than any image accepted (%ld)",
                      path, (long long)st.st_size, MAX_FILE_BYTES);
    size_t size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    if (!buf) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory reading %zu bytes", path, size);
    if (fread(buf, 1, size, f) != size)
        CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: read failed: %s", path, ferror(f) ? strerror(errno) : "file shrank");
    *out = buf;
    *n = size;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return err;
}

cm_err cm_image_read(const char *path, cm_image *img)
{
    *img = (cm_image){0};
    uint8_t *bytes;
    size_t n;
    CM_CHECK(read_file(path, &bytes, &n));
    cm_err err = cm_image_decode(bytes, n, path, img);
    free(bytes);
    CM_CHECK(err);
    return CM_OK;
}
