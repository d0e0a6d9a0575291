/* Attribute augmentations of a Fashion-MNIST image and its caption (captions.h). */
#include "clipmtl/captions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const colour_names[CM_CAPTION_COLOURS] = {"red", "green", "blue", "yellow", "purple"};
/* The colour a fully bright garment pixel takes; darker pixels scale toward black. */
static const uint8_t colour_rgb[CM_CAPTION_COLOURS][3] = {
    {230, 40, 40}, {40, 200, 60}, {50, 90, 240}, {240, 220, 40}, {160, 50, 210}};
static const char *const place_phrases[CM_PLACES] = {"", " on the left", " on the right", " at the top", " at the bottom"};

/* Side of a small garment relative to the canvas, and the brightness of a dark image. */
#define SMALL_SCALE 0.6
#define DARK_GAIN 0.4

const char *cm_caption_colour_name(int colour)
{
    return colour >= 0 && colour < CM_CAPTION_COLOURS ? colour_names[colour] : "";
}

void cm_caption_draw(const cm_caption_options *o, cm_rng *rng, cm_caption_attrs *a)
{
    /* Every draw happens whatever the outcome, so that each attribute reads the same numbers. */
    const double u_colour = cm_rng_uniform_double(rng), u_small = cm_rng_uniform_double(rng);
    const double u_dark = cm_rng_uniform_double(rng);
    const int colour = (int)cm_rng_below(rng, CM_CAPTION_COLOURS), place = (int)cm_rng_below(rng, CM_PLACES);
    const uint64_t template_draw = cm_rng_u64(rng);
    a->colour = u_colour < o->colour_prob ? colour : -1;
    a->small = u_small < o->small_prob;
    a->place = a->small ? (cm_place)place : CM_PLACE_CENTRE;
    a->dark = u_dark < o->dark_prob && o->ndark > 0;
    a->template_index = (int)(template_draw % (uint64_t)(a->dark ? o->ndark : o->ntemplates));
}

cm_err cm_caption_text(const cm_caption_options *o, const cm_caption_attrs *a, const char *class_name, char *buf,
                       size_t len)
{
    const char *tpl = a->dark ? o->dark_templates[a->template_index] : o->templates[a->template_index];
    const char *slot = strstr(tpl, "{}");
    CM_ASSERT(slot, CM_ERR_CONFIG, "caption template \"%s\" has no {}", tpl);
    int n = snprintf(buf, len, "%.*s%s%s%s%s%s%s", (int)(slot - tpl), tpl, a->small ? "small " : "",
                     cm_caption_colour_name(a->colour), a->colour >= 0 ? " " : "", class_name, place_phrases[a->place],
                     slot + 2);
    CM_ASSERT(n >= 0 && (size_t)n < len, CM_ERR_ARG, "the caption of template \"%s\" is longer than %zu bytes", tpl, len);
    return CM_OK;
}

/* Bilinear sample of the grey image at (y, x) in pixel centres; black outside. */
static double sample(const uint8_t *g, int rows, int cols, double y, double x)
{
    const int y0 = (int)floor(y), x0 = (int)floor(x);
    const double fy = y - y0, fx = x - x0;
    double v = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            const int r = y0 + dy, c = x0 + dx;
            if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
            v += (dy ? fy : 1 - fy) * (dx ? fx : 1 - fx) * g[r * cols + c];
        }
    return v;
}

void cm_caption_render(const uint8_t *grey, int rows, int cols, const cm_caption_attrs *a, uint8_t *rgb)
{
    /* A small garment: the canvas point (r, c) shows the source at ((r - oy) / s, (c - ox) / s). */
    const double s = a->small ? SMALL_SCALE : 1.0;
    const double free_y = rows * (1 - s), free_x = cols * (1 - s);
    double oy = free_y / 2, ox = free_x / 2;
    if (a->place == CM_PLACE_LEFT) ox = 0;
    if (a->place == CM_PLACE_RIGHT) ox = free_x;
    if (a->place == CM_PLACE_TOP) oy = 0;
    if (a->place == CM_PLACE_BOTTOM) oy = free_y;
    const double gain = a->dark ? DARK_GAIN : 1.0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = a->small ? sample(grey, rows, cols, (r + 0.5 - oy) / s - 0.5, (c + 0.5 - ox) / s - 0.5)
                                : grey[r * cols + c];
            v *= gain;
            uint8_t *px = rgb + ((size_t)r * cols + c) * 3;
            for (int k = 0; k < 3; k++) {
                const double out = a->colour >= 0 ? v * colour_rgb[a->colour][k] / 255.0 : v;
                px[k] = (uint8_t)lrint(out > 255 ? 255 : out);
            }
        }
}
