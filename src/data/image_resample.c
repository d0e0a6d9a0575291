/* PIL's antialiased bicubic resampling (Image.resize with Resampling.BICUBIC on an 8-bit image),
 * reproduced bit for bit. The facts, from Pillow's libImaging/Resample.c:
 *  - separable, horizontal pass first; each pass rounds and clips to uint8;
 *  - along an axis of in -> out pixels, scale = in / out and the kernel is widened by
 *    max(scale, 1) (antialiasing when shrinking); the Keys cubic with a = -0.5, support 2;
 *  - output pixel i is centred at (i + 0.5) * scale; it reads inputs
 *    [int(center - support + 0.5), int(center + support + 0.5)) clipped to the image, with weights
 *    cubic((j - center + 0.5) / max(scale, 1)) normalised to sum 1, all in double;
 *  - weights become fixed point with 22 fractional bits, rounded half away from zero; a pixel is
 *    (2^21 + sum(weight * input)) >> 22 (arithmetic shift) clipped to 0..255.
 * Computing only a sub-rectangle of the output is exact, since each output pixel's weights
 * depend on its own index only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/image.h"

/* The weights must be computed without fused multiply-adds to equal PIL's (built without). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define PRECISION_BITS 22 /* PIL: 32 bits - 8 for the pixel - 2 for overshoot */
#define MAX_FULL_SIDE (1 << 24) /* PIL keeps box coordinates in float: exact up to 2^24 */

static double keys_cubic(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Fixed-point weights of output pixels [first, first + count) along one axis. */
typedef struct {
    int count, ksize;
    int *start, *taps; /* first input index and number of inputs, per output pixel */
    int32_t *weight;   /* count x ksize */
} axis_filter;

static void axis_filter_free(axis_filter *f)
{
    free(f->start);
    free(f->taps);
    free(f->weight);
    *f = (axis_filter){0};
}

static cm_err axis_filter_build(int in_size, int out_size, int first, int count, axis_filter *f)
{
    *f = (axis_filter){.count = count};
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    double inv_filterscale = 1.0 / filterscale;
    f->ksize = (int)ceil(support) * 2 + 1;
    double *w = malloc(sizeof(double) * f->ksize);
    f->start = malloc(sizeof(int) * count);
    f->taps = malloc(sizeof(int) * count);
    f->weight = malloc(sizeof(int32_t) * (size_t)count * f->ksize);
    if (!w || !f->start || !f->taps || !f->weight) {
        free(w);
        axis_filter_free(f);
        CM_ERROR(CM_ERR_MEM, "out of memory for resampling weights (%d x %d)", count, (int)ceil(support) * 2 + 1);
    }
    for (int i = 0; i < count; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        int taps = xmax - xmin;
        double sum = 0.0;
        for (int x = 0; x < taps; x++) {
            w[x] = keys_cubic((x + xmin - center + 0.5) * inv_filterscale);
            sum += w[x];
        }
        int32_t *k = f->weight + (size_t)i * f->ksize;
        for (int x = 0; x < taps; x++) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        f->start[i] = xmin;
        f->taps[i] = taps;
    }
    free(w);
    return CM_OK;
}

static inline uint8_t clip_fixed(int32_t acc)
{
    int32_t v = acc >> PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* dst[r] (width f->count) from source rows row0 + r, columns col0 + start ... of src. */
static void resample_rows(const uint8_t *restrict src, size_t src_stride, int col0, int row0, int rows,
                          const axis_filter *f, uint8_t *restrict dst)
{
    for (int r = 0; r < rows; r++) {
        const uint8_t *in = src + (size_t)(row0 + r) * src_stride + (size_t)col0 * 3;
        uint8_t *out = dst + (size_t)r * f->count * 3;
        for (int i = 0; i < f->count; i++) {
            const int32_t *k = f->weight + (size_t)i * f->ksize;
            const uint8_t *p = in + (size_t)f->start[i] * 3;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < f->taps[i]; x++) {
                s0 += p[3 * x] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            out[3 * i] = clip_fixed(s0);
            out[3 * i + 1] = clip_fixed(s1);
            out[3 * i + 2] = clip_fixed(s2);
        }
    }
}

/* dst row i (width `width`) from rows start[i] ... of src (stride `width` pixels). Whole rows are
 * accumulated at once (acc holds one row) so that the inner loop runs along memory; integer sums
 * do not depend on the order of their terms, so this equals PIL's per-pixel loop. */
static void resample_columns(const uint8_t *restrict src, int width, const axis_filter *f, int32_t *restrict acc,
                             uint8_t *restrict dst)
{
    size_t stride = (size_t)width * 3;
    for (int i = 0; i < f->count; i++) {
        const int32_t *k = f->weight + (size_t)i * f->ksize;
        const uint8_t *restrict in = src + (size_t)f->start[i] * stride;
        for (size_t c = 0; c < stride; c++) acc[c] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < f->taps[i]; y++) {
            const uint8_t *restrict row = in + (size_t)y * stride;
            int32_t ky = k[y];
            size_t c = 0;
            /* Blocks of a fixed length let the compiler vectorise at -O2. */
            for (; c + 32 <= stride; c += 32)
                for (int j = 0; j < 32; j++) acc[c + j] += row[c + j] * ky;
            for (; c < stride; c++) acc[c] += row[c] * ky;
        }
        uint8_t *out = dst + (size_t)i * stride;
        for (size_t c = 0; c < stride; c++) out[c] = clip_fixed(acc[c]);
    }
}

cm_err cm_image_resample_bicubic(const cm_image *src, cm_image_box src_box, int full_w, int full_h,
                                 cm_image_box out_box, cm_image *dst)
{
    *dst = (cm_image){0};
    CM_ASSERT(src->rgb, CM_ERR_ARG, "resample: no source image");
    CM_ASSERT(src_box.left >= 0 && src_box.top >= 0 && src_box.w > 0 && src_box.h > 0 &&
                  src_box.w <= src->w - src_box.left && src_box.h <= src->h - src_box.top,
              CM_ERR_ARG, "resample: source box %dx%d at (%d, %d) outside the %dx%d image", src_box.w, src_box.h,
              src_box.left, src_box.top, src->w, src->h);
    CM_ASSERT(full_w > 0 && full_h > 0 && full_w <= MAX_FULL_SIDE && full_h <= MAX_FULL_SIDE, CM_ERR_ARG,
              "resample: output size %dx%d outside 1..%d", full_w, full_h, MAX_FULL_SIDE);
    CM_ASSERT(out_box.left >= 0 && out_box.top >= 0 && out_box.w > 0 && out_box.h > 0 &&
                  out_box.w <= full_w - out_box.left && out_box.h <= full_h - out_box.top,
              CM_ERR_ARG, "resample: output box %dx%d at (%d, %d) outside the %dx%d result", out_box.w, out_box.h,
              out_box.left, out_box.top, full_w, full_h);

    axis_filter horizontal = {0}, vertical = {0};
    uint8_t *rows = NULL;
    int32_t *acc = NULL;
    cm_err err = CM_OK;
    CM_CHECK_GOTO(err, axis_filter_build(src_box.w, full_w, out_box.left, out_box.w, &horizontal), done);
    CM_CHECK_GOTO(err, axis_filter_build(src_box.h, full_h, out_box.top, out_box.h, &vertical), done);
    CM_CHECK_GOTO(err, cm_image_alloc(dst, out_box.w, out_box.h), done);

    /* Horizontal pass over only the source rows the vertical pass will read. */
    int row_first = vertical.start[0], row_end = vertical.start[0] + vertical.taps[0];
    for (int i = 1; i < vertical.count; i++) {
        if (vertical.start[i] < row_first) row_first = vertical.start[i];
        if (vertical.start[i] + vertical.taps[i] > row_end) row_end = vertical.start[i] + vertical.taps[i];
    }
    int nrows = row_end - row_first;
    rows = malloc((size_t)nrows * out_box.w * 3);
    acc = malloc(sizeof(int32_t) * out_box.w * 3);
    if (!rows || !acc) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "resample: out of memory for %d intermediate rows", nrows);
    resample_rows(src->rgb, (size_t)src->w * 3, src_box.left, src_box.top + row_first, nrows, &horizontal, rows);
    for (int i = 0; i < vertical.count; i++) vertical.start[i] -= row_first;
    resample_columns(rows, out_box.w, &vertical, acc, dst->rgb);
done:
    if (err != CM_OK) cm_image_free(dst);
    free(rows);
    free(acc);
    axis_filter_free(&horizontal);
    axis_filter_free(&vertical);
    return err;
}

cm_err cm_image_resize_bicubic(const cm_image *src, int w, int h, cm_image *dst)
{
    cm_image_box all = {0, 0, src->w, src->h}, out = {0, 0, w, h};
    CM_CHECK(cm_image_resample_bicubic(src, all, w, h, out, dst));
    return CM_OK;
}
