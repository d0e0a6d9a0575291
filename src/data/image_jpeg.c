/* JPEG decoding to 8-bit RGB the way PIL's JpegImagePlugin + convert("RGB") does it (PIL links the
 * same libjpeg-turbo with default settings: islow IDCT, fancy upsampling), and a JPEG writer.
 *
 * libjpeg's error_exit must not return: ours longjmps back to the setjmp in the decoder, which
 * turns the message into a cm_err naming the file. Warnings are ignored as PIL ignores them
 * ("extraneous bytes before marker" is common in real data), except running out of input: PIL
 * then fails with "image file is truncated", and so do we, instead of returning the gray rows
 * libjpeg would invent. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses size_t and FILE without including them */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_codecs.h"

/* A progressive JPEG may hold any number of scans, each a full pass over the coefficients;
 * crafted files use this to make decoding take minutes. Real encoders use about 10. */
#define MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us a pointer to it */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    int input_ended;
} jpeg_error_state;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    cinfo->err->format_message(cinfo, state->message);
    longjmp(state->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) state->input_ended = 1;
}

static void check_scan_count(j_common_ptr cinfo)
{
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > MAX_SCANS) {
        jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
        snprintf(state->message, sizeof state->message, "more than %d scans", MAX_SCANS);
        longjmp(state->jump, 1);
    }
}

/* PIL reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I") and converts with cmyk2rgb:
 * channel = clip(nk - nk * c / 255) with nk = 255 - k, using its rounded integer division by 255. */
static uint8_t pil_cmyk_channel(int c, int nk)
{
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void row_to_rgb(const uint8_t *in, uint8_t *out, int w, int components)
{
    if (components == 1) {
        for (int x = 0; x < w; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
    } else { /* 4: libjpeg's CMYK, which PIL inverts before converting */
        for (int x = 0; x < w; x++) {
            const uint8_t *p = in + 4 * x;
            int pil_k = 255 - p[3], nk = 255 - pil_k;
            for (int c = 0; c < 3; c++) out[3 * x + c] = pil_cmyk_channel(255 - p[c], nk);
        }
    }
}

cm_err cm_image_decode_jpeg(const uint8_t *bytes, size_t n, const char *name, cm_image *img)
{
    *img = (cm_image){0};
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state jerr = {0};
    struct jpeg_progress_mgr progress = {.progress_monitor = check_scan_count};
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_jpeg_error;
    jerr.pub.emit_message = on_jpeg_message;
    /* Assigned after setjmp and used after a longjmp: volatile, as C requires. */
    uint8_t *volatile rgb = NULL;
    uint8_t *volatile row = NULL;
    volatile int created = 0;
    cm_err err = CM_OK;

    if (setjmp(jerr.jump)) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: bad JPEG: %s%s", name,
                       jerr.input_ended ? "file is truncated, then: " : "", jerr.message);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    CM_CHECK_GOTO(err, cm_image_check_dims((long)cinfo.image_width, (long)cinfo.image_height, name), done);

    int components = cinfo.num_components;
    switch (components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: bad JPEG: %d colour components (PIL reads 1, 3 or 4)", name,
                      components);
    }
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    rgb = malloc((size_t)w * h * 3);
    if (!rgb) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for a %dx%d image", name, w, h);
    if (components != 3) {
        row = malloc((size_t)w * components);
        if (!row) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for a JPEG row", name);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW target = components == 3 ? rgb + (size_t)y * w * 3 : row;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: bad JPEG: no data for row %d", name, y);
        if (components != 3) row_to_rgb(row, rgb + (size_t)y * w * 3, w, components);
        if (jerr.input_ended) break;
    }
    /* libjpeg pads missing data and warns; PIL refuses such files, even when only EOI is missing. */
    if (jerr.input_ended)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: bad JPEG: file is truncated (data ends before row %d of %d)",
                      name, (int)cinfo.output_scanline, h);
    img->w = w;
    img->h = h;
    img->rgb = rgb;
    rgb = NULL;
done:
    if (created) jpeg_destroy_decompress(&cinfo);
    free(rgb);
    free(row);
    return err;
}

cm_err cm_image_write_jpeg(const cm_image *img, const char *path, int quality)
{
    CM_ASSERT(img->rgb && img->w > 0 && img->h > 0, CM_ERR_ARG, "%s: no image to write", path);
    CM_ASSERT(quality >= 1 && quality <= 100, CM_ERR_ARG, "%s: JPEG quality %d outside 1..100", path, quality);
    FILE *f = fopen(path, "wb");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    jpeg_error_state jerr = {0};
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_jpeg_error;
    volatile int created = 0;
    cm_err err = CM_OK;
    if (setjmp(jerr.jump)) {
        err = CM_RAISE(CM_ERR_LIB, "%s: writing JPEG: %s", path, jerr.message);
        goto done;
    }
    jpeg_create_compress(&cinfo);
    created = 1;
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)img->w;
    cinfo.image_height = (JDIMENSION)img->h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW r = img->rgb + (size_t)cinfo.next_scanline * img->w * 3;
        jpeg_write_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_compress(&cinfo);
done:
    if (created) jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0 && err == CM_OK)
        err = CM_RAISE(CM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return err;
}
