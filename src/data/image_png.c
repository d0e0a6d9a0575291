/* PNG decoding to 8-bit RGB the way PIL's PngImagePlugin + convert("RGB") does it, and an 8-bit
 * RGB PNG writer.
 *
 * libpng reports errors through a callback that must not return: it longjmps back to the
 * setjmp in the caller, which turns the message into a cm_err naming the file. libpng is asked
 * for the raw samples only (no expansion, no gamma, no alpha handling): the conversion to RGB is
 * done here so that each PIL quirk is explicit (see cm_image_decode in image.h). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_codecs.h"

typedef struct {
    const uint8_t *bytes;
    size_t n, pos;
    char message[256];
} png_source;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", msg);
    png_longjmp(png, 1);
}

/* PIL ignores what libpng calls warnings (bad ancillary chunks, out-of-range palette indices). */
static void on_png_warning(png_structp png, png_const_charp msg) {}

static void read_from_memory(png_structp png, png_bytep out, png_size_t len)
{
    png_source *src = png_get_io_ptr(png);
    if (len > src->n - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->bytes + src->pos, len);
    src->pos += len;
}

/* One row of samples as libpng gives them with png_set_packing (sub-byte samples widened to one
 * byte, unscaled; 16-bit samples big-endian) -> 8-bit RGB. */
static void row_to_rgb(const uint8_t *in, uint8_t *out, int w, int color_type, int bit_depth,
                       const uint8_t palette[256][3])
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: {
        /* PIL's "1", "L;2", "L;4" unpackers scale to 0..255; 16-bit gray becomes mode "I" whose
         * conversion to RGB clips the value (it does not take the high byte). */
        int scale = bit_depth == 1 ? 255 : bit_depth == 2 ? 85 : bit_depth == 4 ? 17 : 1;
        for (int x = 0; x < w; x++) {
            int v;
            if (bit_depth == 16) {
                v = (in[2 * x] << 8) | in[2 * x + 1];
                if (v > 255) v = 255;
            } else {
                v = in[x] * scale;
            }
            out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = (uint8_t)v;
        }
        break;
    }
    case PNG_COLOR_TYPE_PALETTE:
        for (int x = 0; x < w; x++) memcpy(out + 3 * x, palette[in[x]], 3);
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: {
        int stride = bit_depth == 16 ? 4 : 2; /* gray sample first; its high byte when 16-bit */
        for (int x = 0; x < w; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[stride * x];
        break;
    }
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {
        int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 4, bytes = bit_depth == 16 ? 2 : 1;
        int stride = channels * bytes;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) out[3 * x + c] = in[stride * x + bytes * c];
        break;
    }
    }
}

cm_err cm_image_decode_png(const uint8_t *bytes, size_t n, const char *name, cm_image *img)
{
    *img = (cm_image){0};
    png_source src = {.bytes = bytes, .n = n};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_png_error, on_png_warning);
    CM_ASSERT(png, CM_ERR_MEM, "%s: cannot create a PNG reader", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        CM_ERROR(CM_ERR_MEM, "%s: cannot create a PNG reader", name);
    }
    /* Assigned after setjmp and used after a longjmp: volatile, as C requires. */
    uint8_t *volatile samples = NULL;
    uint8_t *volatile rgb = NULL;
    png_bytep *volatile rows = NULL;
    cm_err err = CM_OK;

    if (setjmp(png_jmpbuf(png))) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: bad PNG: %s", name, src.message);
        goto done;
    }
    png_set_read_fn(png, &src, read_from_memory);
    png_read_info(png, info);

    png_uint_32 w, h;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
    CM_CHECK_GOTO(err, cm_image_check_dims((long)w, (long)h, name), done);

    uint8_t palette[256][3];
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp plte = NULL;
        int count = 0;
        if (!png_get_PLTE(png, info, &plte, &count))
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: bad PNG: palette image without a PLTE chunk", name);
        /* PIL starts every palette as a gray ramp and overwrites the entries the file gives. */
        for (int i = 0; i < 256; i++) palette[i][0] = palette[i][1] = palette[i][2] = (uint8_t)i;
        for (int i = 0; i < count && i < 256; i++) {
            palette[i][0] = plte[i].red;
            palette[i][1] = plte[i].green;
            palette[i][2] = plte[i].blue;
        }
    }
    if (bit_depth < 8) png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);

    rgb = malloc((size_t)w * h * 3);
    if (!rgb) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for a %ux%u image", name, w, h);
    if (passes == 1) {
        /* Row by row: the raw samples never need more than one row of memory. */
        samples = malloc(row_bytes);
        if (!samples) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for a PNG row", name);
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, samples, NULL);
            row_to_rgb(samples, rgb + (size_t)y * w * 3, (int)w, color_type, bit_depth, palette);
        }
    } else {
        /* Interlaced: every pass touches every row, so the whole sample image is held. */
        samples = malloc(row_bytes * h);
        rows = malloc(sizeof(png_bytep) * h);
        if (!samples || !rows) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for an interlaced PNG", name);
        for (png_uint_32 y = 0; y < h; y++) rows[y] = samples + (size_t)y * row_bytes;
        png_read_image(png, rows);
        for (png_uint_32 y = 0; y < h; y++)
            row_to_rgb(rows[y], rgb + (size_t)y * w * 3, (int)w, color_type, bit_depth, palette);
    }
    /* Chunks after the image data are not read: PIL does not require them either. */
    img->w = (int)w;
    img->h = (int)h;
    img->rgb = rgb;
    rgb = NULL;
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(samples);
    free(rows);
    free(rgb);
    return err;
}

typedef struct {
    const char *path;
    char message[256];
} png_sink;

static void on_png_write_error(png_structp png, png_const_charp msg)
{
    png_sink *sink = png_get_error_ptr(png);
    snprintf(sink->message, sizeof sink->message, "%s", msg);
    png_longjmp(png, 1);
}

cm_err cm_image_write_png(const cm_image *img, const char *path)
{
    CM_ASSERT(img->rgb && img->w > 0 && img->h > 0, CM_ERR_ARG, "%s: no image to write", path);
    FILE *f = fopen(path, "wb");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    png_sink sink = {.path = path};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_png_write_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    cm_err err = CM_OK;
    if (!info) {
        err = CM_RAISE(CM_ERR_MEM, "%s: cannot create a PNG writer", path);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        err = CM_RAISE(CM_ERR_LIB, "%s: writing PNG: %s", path, sink.message);
        goto done;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->h; y++) png_write_row(png, img->rgb + (size_t)y * img->w * 3);
    png_write_end(png, NULL);
done:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (fclose(f) != 0 && err == CM_OK)
        err = CM_RAISE(CM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return err;
}
