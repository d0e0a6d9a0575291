/* CLIP's image transforms, as torchvision applies them to a PIL image: the crop geometry with
 * torchvision's rounding, the bicubic resize (image_resample.c), ToTensor and Normalize. */
#include <math.h>
#include <string.h>

#include "clipmtl/image.h"

/* CLIP's constants, rounded to float32 from the Python (double) values as torch does. */
static const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073};
static const double clip_std[3] = {0.26862954, 0.26130258, 0.27577711};

void cm_image_resize_shorter_dims(int w, int h, int size, int *out_w, int *out_h)
{
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    /* Python: int(size * long / short), a true division of exact integers, then truncation. */
    int new_long = (int)((double)size * longer / shorter);
    *out_w = w <= h ? size : new_long;
    *out_h = w <= h ? new_long : size;
}

cm_image_box cm_image_center_crop_box(int w, int h, int size)
{
    /* Python's round() is half-to-even, as rint() in the default rounding mode. */
    return (cm_image_box){.left = (int)rint((w - size) / 2.0), .top = (int)rint((h - size) / 2.0), .w = size, .h = size};
}

cm_image_box cm_image_random_resized_crop_box(int w, int h, cm_rng *rng)
{
    const double scale_lo = 0.08, scale_hi = 1.0, ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;
    const double log_lo = log(ratio_lo), log_hi = log(ratio_hi);
    double area = (double)w * h;
    for (int attempt = 0; attempt < 10; attempt++) {
        double target_area = area * (scale_lo + (scale_hi - scale_lo) * cm_rng_uniform_double(rng));
        double aspect = exp(log_lo + (log_hi - log_lo) * cm_rng_uniform_double(rng));
        int cw = (int)rint(sqrt(target_area * aspect));
        int ch = (int)rint(sqrt(target_area / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            int top = (int)cm_rng_below(rng, (uint64_t)(h - ch + 1));
            int left = (int)cm_rng_below(rng, (uint64_t)(w - cw + 1));
            return (cm_image_box){left, top, cw, ch};
        }
    }
    /* Fallback: the largest central crop whose aspect ratio lies within the range. */
    double in_ratio = (double)w / h;
    int cw = w, ch = h;
    if (in_ratio < ratio_lo)
        ch = (int)rint(w / ratio_lo);
    else if (in_ratio > ratio_hi)
        cw = (int)rint(h * ratio_hi);
    return (cm_image_box){(w - cw) / 2, (h - ch) / 2, cw, ch};
}

void cm_image_normalize_clip(const cm_image *img, int flip, float *out)
{
    /* torch: uint8 -> float32, div(255), sub(mean), div(std), each rounded to float32. */
    float table[3][256];
    for (int c = 0; c < 3; c++) {
        float mean = (float)clip_mean[c], std = (float)clip_std[c];
        for (int u = 0; u < 256; u++) table[c][u] = ((float)u / 255.0f - mean) / std;
    }
    size_t plane = (size_t)img->w * img->h;
    for (int y = 0; y < img->h; y++) {
        const uint8_t *row = img->rgb + (size_t)y * img->w * 3;
        for (int x = 0; x < img->w; x++) {
            const uint8_t *p = row + (size_t)(flip ? img->w - 1 - x : x) * 3;
            size_t o = (size_t)y * img->w + x;
            out[o] = table[0][p[0]];
            out[plane + o] = table[1][p[1]];
            out[2 * plane + o] = table[2][p[2]];
        }
    }
}

cm_err cm_image_preprocess_clip(const cm_image *img, int size, float *out)
{
    CM_ASSERT(size > 0, CM_ERR_ARG, "preprocess: crop size %d must be positive", size);
    int rw, rh;
    cm_image_resize_shorter_dims(img->w, img->h, size, &rw, &rh);
    cm_image crop;
    CM_CHECK(cm_image_resample_bicubic(img, (cm_image_box){0, 0, img->w, img->h}, rw, rh,
                                       cm_image_center_crop_box(rw, rh, size), &crop));
    cm_image_normalize_clip(&crop, 0, out);
    cm_image_free(&crop);
    return CM_OK;
}

cm_err cm_image_random_resized_crop_flip(const cm_image *img, int size, cm_rng *rng, float *out)
{
    CM_ASSERT(size > 0, CM_ERR_ARG, "random resized crop: size %d must be positive", size);
    cm_image_box box = cm_image_random_resized_crop_box(img->w, img->h, rng);
    int flip = cm_rng_uniform_double(rng) < 0.5;
    cm_image crop;
    CM_CHECK(cm_image_resample_bicubic(img, box, size, size, (cm_image_box){0, 0, size, size}, &crop));
    cm_image_normalize_clip(&crop, flip, out);
    cm_image_free(&crop);
    return CM_OK;
}
