/* Images: decoding, writing, and CLIP's preprocessing.
 *
 * The reference pipeline is Dassl/CLIP on PIL: Image.open(path).convert("RGB"), then torchvision
 * transforms on the PIL image (Resize(S, bicubic) + CenterCrop(S) at test time,
 * RandomResizedCrop(S, bicubic) + RandomHorizontalFlip at training time), ToTensor, Normalize.
 * Every step here reproduces that pipeline bit for bit on the 8-bit image: the decoders give what
 * PIL's convert("RGB") gives (including its quirks, listed at cm_image_decode), the resampler is
 * PIL's fixed-point antialiased bicubic, and the crop geometry follows torchvision's rounding. */
#ifndef CLIPMTL_IMAGE_H
#define CLIPMTL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"
#include "clipmtl/rng.h"

/* An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC). Owns rgb. */
typedef struct {
    int w, h;
    uint8_t *rgb;
} cm_image;

/* Decoders refuse images beyond these sizes before allocating anything. */
#define CM_IMAGE_MAX_SIDE 16384
#define CM_IMAGE_MAX_PIXELS 256000000L

/* Allocates an uninitialised w x h image (sizes within the limits above). */
cm_err cm_image_alloc(cm_image *img, int w, int h);
void cm_image_free(cm_image *img);

/* Reads a JPEG or PNG file (recognised by its first bytes, not its name) into 8-bit RGB.
 * Errors name the file. */
cm_err cm_image_read(const char *path, cm_image *img);

/* Decodes a JPEG or PNG held in memory; `name` is used in error messages.
 * Conversions to RGB are PIL's convert("RGB"):
 *  - gray replicated; 1/2/4-bit gray scaled by 255/85/17;
 *  - palette through PLTE, indices beyond PLTE mapped to (i, i, i) as PIL's palette ramp does;
 *  - alpha and tRNS dropped (no compositing); gamma, ICC profiles and EXIF orientation ignored;
 *  - 16-bit RGB, RGBA and gray+alpha keep the high byte; 16-bit gray WITHOUT alpha is clipped to
 *    0..255 (PIL opens it as mode "I" and convert("RGB") clips, so most such images turn white);
 *  - CMYK/YCCK JPEG read as Adobe-inverted CMYK and converted with PIL's cmyk2rgb.
 * A JPEG that ends before its EOI marker is an error, even when only the marker is missing, as
 * in PIL ("image file is truncated"); libjpeg alone would pad the missing rows with gray. Other
 * libjpeg warnings (e.g. extraneous bytes before a marker) are ignored, as PIL ignores them. */
cm_err cm_image_decode(const uint8_t *bytes, size_t n, const char *name, cm_image *img);

/* Writers for tests and tools: 8-bit RGB PNG; baseline JPEG with 4:2:0 chroma, quality 1..100. */
cm_err cm_image_write_png(const cm_image *img, const char *path);
cm_err cm_image_write_jpeg(const cm_image *img, const char *path, int quality);

/* A rectangle of a source image, in pixels. */
typedef struct {
    int left, top, w, h;
} cm_image_box;

/* PIL's Image.resize(BICUBIC) of the crop `src_box` of src (as img.crop(box).resize(...)) to a
 * full_w x full_h image, of which only the part `out_box` is computed and stored in dst
 * (dst->w, dst->h = out_box.w, out_box.h; dst is allocated here). Computing a sub-rectangle
 * gives exactly the pixels of the full result: that is how resize + center crop costs only the
 * pixels kept. */
cm_err cm_image_resample_bicubic(const cm_image *src, cm_image_box src_box, int full_w, int full_h,
                                 cm_image_box out_box, cm_image *dst);
/* Whole-image Image.resize((w, h), BICUBIC). */
cm_err cm_image_resize_bicubic(const cm_image *src, int w, int h, cm_image *dst);

/* torchvision Resize(size) for an image of w x h: the shorter side becomes size and the longer
 * int(size * long / short). */
void cm_image_resize_shorter_dims(int w, int h, int size, int *out_w, int *out_h);
/* torchvision CenterCrop offsets: top = int(round((h - size) / 2.0)) with round-half-even. */
cm_image_box cm_image_center_crop_box(int w, int h, int size);
/* torchvision RandomResizedCrop.get_params with scale (0.08, 1) and ratio (3/4, 4/3): ten
 * attempts at a random area and log-uniform aspect ratio, then the central fallback. */
cm_image_box cm_image_random_resized_crop_box(int w, int h, cm_rng *rng);

/* ToTensor + Normalize with CLIP's mean and std, computed in float32 as torch does:
 * (u / 255 - mean) / std, written CHW; flip mirrors the columns. */
void cm_image_normalize_clip(const cm_image *img, int flip, float *out);

/* CLIP test transform: resize the shorter side to size (bicubic), center crop size x size,
 * normalise. out holds 3 * size * size floats, CHW. */
cm_err cm_image_preprocess_clip(const cm_image *img, int size, float *out);
/* Training transform: RandomResizedCrop(size, scale (0.08, 1), ratio (3/4, 4/3), bicubic), then a
 * horizontal flip with probability 0.5, then normalise. Draws from rng only. */
cm_err cm_image_random_resized_crop_flip(const cm_image *img, int size, cm_rng *rng, float *out);

#endif
