/* Captioned training pairs for CLIP's contrastive pretraining on Fashion-MNIST.
 *
 * Each image gets attributes drawn from its own random stream, applied to the picture AND named
 * in its caption, so that the text tower learns words the image tower can see:
 *   colour    the garment tinted red, green, blue, yellow or purple    "a photo of a red coat."
 *   size      the garment shrunk to 60% of the canvas ...              "a photo of a small coat."
 *   position  ... and placed left, right, top, bottom or centred       "... small coat on the left."
 *   darkness  brightness cut to 40%, with a dark template             "a dark photo of a coat."
 * Template `{}` becomes the garment phrase "[small] [colour] class [position]". A prototype found
 * that class templates alone taught nothing that transfers to shifted domains, while these
 * attribute captions did (issue 12). */
#ifndef CLIPMTL_CAPTIONS_H
#define CLIPMTL_CAPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"
#include "clipmtl/rng.h"

#define CM_CAPTION_COLOURS 5
typedef enum { CM_PLACE_CENTRE, CM_PLACE_LEFT, CM_PLACE_RIGHT, CM_PLACE_TOP, CM_PLACE_BOTTOM, CM_PLACES } cm_place;

typedef struct {
    const char *const *templates;      /* each with one "{}" */
    int ntemplates;
    const char *const *dark_templates;
    int ndark;
    double colour_prob, small_prob, dark_prob;
} cm_caption_options;

typedef struct {
    int colour;    /* -1: none, else 0..CM_CAPTION_COLOURS-1 */
    int small;     /* shrunk to 60%, placed at `place` */
    cm_place place;
    int dark;
    int template_index; /* into templates, or dark_templates when dark */
} cm_caption_attrs;

/* Draws the attributes of one image. */
void cm_caption_draw(const cm_caption_options *o, cm_rng *rng, cm_caption_attrs *a);
/* The caption of an image of class `class_name` with attributes a. */
cm_err cm_caption_text(const cm_caption_options *o, const cm_caption_attrs *a, const char *class_name, char *buf,
                       size_t len);
/* The grey image grey[rows][cols] (garment bright on black) with the attributes applied:
 * rgb[rows][cols][3]. No attribute: grey replicated, the original domain's rendering. */
void cm_caption_render(const uint8_t *grey, int rows, int cols, const cm_caption_attrs *a, uint8_t *rgb);
const char *cm_caption_colour_name(int colour);

#endif
