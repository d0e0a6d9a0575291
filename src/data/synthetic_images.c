/* Generated shapes in several drawing styles, written as a folder dataset (`clipmtl mkdemo`).
 * Each image draws from its own RNG stream (seed, domain, class, index), so any one image can be
 * regenerated alone and the files do not depend on the order they are written in. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/fs.h"
#include "clipmtl/synthetic_images.h"

static const char *const domain_names[CM_DEMO_MAX_DOMAINS] = {"Plain", "Noisy Background", "Inverted", "Sketch"};
static const char *const class_names[CM_DEMO_MAX_CLASSES] = {
    "circle", "square", "triangle", "cross", "ring", "striped_square", "diamond", "checker_board"};

const char *cm_demo_domain_name(int domain)
{
    return domain >= 0 && domain < CM_DEMO_MAX_DOMAINS ? domain_names[domain] : NULL;
}

const char *cm_demo_class_name(int label)
{
    return label >= 0 && label < CM_DEMO_MAX_CLASSES ? class_names[label] : NULL;
}

/* Whether the point (x, y), in the shape's own frame scaled to radius 1, lies inside it. */
static int inside_shape(int label, double x, double y)
{
    double ax = fabs(x), ay = fabs(y), box = ax > ay ? ax : ay;
    switch (label) {
    case 0: return x * x + y * y <= 1.0;
    case 1: return box <= 0.8;
    case 2: return y <= 0.7 && ax <= (y + 0.9) * 0.5625; /* apex up, base at y = 0.7 */
    case 3: return (ax <= 0.25 && ay <= 0.9) || (ay <= 0.25 && ax <= 0.9);
    case 4: return x * x + y * y <= 1.0 && x * x + y * y >= 0.3;
    case 5: return box <= 0.85 && ((int)floor((y + 1.0) * 2.5) & 1) == 0;
    case 6: return ax + ay <= 1.0;
    default: return box <= 0.85 && (((int)floor((x + 1.0) * 2.0) + (int)floor((y + 1.0) * 2.0)) & 1) == 0;
    }
}

/* The outline used by the sketch style: inside, but outside once pushed 20% outwards. */
static int on_outline(int label, double x, double y)
{
    return inside_shape(label, x, y) && !inside_shape(label, x * 1.25, y * 1.25);
}

static void hsv_to_rgb(double h, double s, double v, double rgb[3])
{
    double f = h * 6.0 - floor(h * 6.0), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    int sector = (int)floor(h * 6.0) % 6;
    const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    for (int c = 0; c < 3; c++) rgb[c] = table[sector][c];
}

static uint8_t to_byte(double v)
{
    v = v * 255.0 + 0.5;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

cm_err cm_demo_render(int domain, int label, int index, int size, uint64_t seed, cm_image *out)
{
    *out = (cm_image){0};
    CM_ASSERT(domain >= 0 && domain < CM_DEMO_MAX_DOMAINS, CM_ERR_ARG, "demo domain %d outside 0..%d", domain,
              CM_DEMO_MAX_DOMAINS - 1);
    CM_ASSERT(label >= 0 && label < CM_DEMO_MAX_CLASSES, CM_ERR_ARG, "demo class %d outside 0..%d", label,
              CM_DEMO_MAX_CLASSES - 1);
    CM_ASSERT(size >= 16 && size <= 4096, CM_ERR_ARG, "demo image size %d outside 16..4096", size);
    cm_rng rng;
    cm_rng_seed(&rng, seed, cm_rng_stream(0x64656d6fULL /* "demo" */, (uint64_t)domain, (uint64_t)label, (uint64_t)index));
    int w = size, h = size - (index % 3) * size / 8;
    CM_CHECK(cm_image_alloc(out, w, h));

    double fg[3], bg[3], bg2[3];
    hsv_to_rgb(cm_rng_uniform_double(&rng), 0.55 + 0.4 * cm_rng_uniform_double(&rng), 0.55 + 0.4 * cm_rng_uniform_double(&rng), fg);
    hsv_to_rgb(cm_rng_uniform_double(&rng), 0.1 + 0.15 * cm_rng_uniform_double(&rng), 0.85 + 0.1 * cm_rng_uniform_double(&rng), bg);
    hsv_to_rgb(cm_rng_uniform_double(&rng), 0.3 + 0.5 * cm_rng_uniform_double(&rng), 0.3 + 0.6 * cm_rng_uniform_double(&rng), bg2);
    double short_side = w < h ? w : h;
    double cx = w * (0.5 + 0.16 * (cm_rng_uniform_double(&rng) - 0.5) * 2);
    double cy = h * (0.5 + 0.16 * (cm_rng_uniform_double(&rng) - 0.5) * 2);
    double radius = short_side * (0.26 + 0.12 * cm_rng_uniform_double(&rng));
    double angle = (cm_rng_uniform_double(&rng) - 0.5) * 0.6;
    double ca = cos(angle), sa = sin(angle);
    double wave = 2 + 4 * cm_rng_uniform_double(&rng), phase = 6.283 * cm_rng_uniform_double(&rng);

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double back[3], noise = cm_rng_uniform_double(&rng) - 0.5;
            for (int c = 0; c < 3; c++) {
                switch (domain) {
                case 1: { /* textured: two colours mixed by a wave, plus strong pixel noise */
                    double m = 0.5 + 0.5 * sin(wave * 6.283 * (x + 0.6 * y) / w + phase);
                    back[c] = m * bg[c] + (1 - m) * bg2[c] + 0.35 * noise;
                    break;
                }
                case 3: back[c] = 0.96 + 0.06 * noise; break; /* paper */
                default: back[c] = bg[c] * (1.0 - 0.08 * y / h); /* plain, gently shaded */
                }
            }
            /* 2x2 samples per pixel soften the edges. */
            double cover = 0;
            for (int s = 0; s < 4; s++) {
                double px = x + 0.25 + 0.5 * (s & 1) - cx, py = y + 0.25 + 0.5 * (s >> 1) - cy;
                double u = (ca * px + sa * py) / radius, v = (-sa * px + ca * py) / radius;
                cover += 0.25 * (domain == 3 ? on_outline(label, u, v) : inside_shape(label, u, v));
            }
            uint8_t *p = out->rgb + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++) {
                double ink = domain == 3 ? 0.15 : fg[c];
                double v = cover * ink + (1 - cover) * back[c];
                p[c] = to_byte(domain == 2 ? 1.0 - v : v);
            }
        }
    }
    return CM_OK;
}

/* Refuses an existing non-empty folder: files left from an earlier run with other options would
 * silently join the dataset. */
static cm_err check_empty_or_missing(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        CM_ASSERT(errno == ENOENT, CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return CM_OK;
    }
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    CM_ASSERT(empty, CM_ERR_ARG, "%s: folder exists and is not empty; give a new or empty one", path);
    return CM_OK;
}

cm_err cm_demo_write_dataset(const char *out_dir, int domains, int classes, int per_class, int size, uint64_t seed)
{
    CM_ASSERT(domains >= 1 && domains <= CM_DEMO_MAX_DOMAINS, CM_ERR_ARG, "--domains %d outside 1..%d", domains,
              CM_DEMO_MAX_DOMAINS);
    CM_ASSERT(classes >= 1 && classes <= CM_DEMO_MAX_CLASSES, CM_ERR_ARG, "--classes %d outside 1..%d", classes,
              CM_DEMO_MAX_CLASSES);
    CM_ASSERT(per_class >= 1 && per_class <= 100000, CM_ERR_ARG, "--per-class %d outside 1..100000", per_class);
    CM_CHECK(check_empty_or_missing(out_dir));
    CM_CHECK(cm_mkdir_p(out_dir));
    size_t cap = strlen(out_dir) + 128;
    char *path = malloc(cap);
    CM_ASSERT(path, CM_ERR_MEM, "out of memory");
    cm_err err = CM_OK;
    for (int d = 0; d < domains; d++) {
        snprintf(path, cap, "%s/%s", out_dir, domain_names[d]);
        CM_CHECK_GOTO(err, cm_mkdir_p(path), done);
        for (int c = 0; c < classes; c++) {
            snprintf(path, cap, "%s/%s/%s", out_dir, domain_names[d], class_names[c]);
            CM_CHECK_GOTO(err, cm_mkdir_p(path), done);
            for (int i = 0; i < per_class; i++) {
                cm_image img;
                CM_CHECK_GOTO(err, cm_demo_render(d, c, i, size, seed, &img), done);
                snprintf(path, cap, "%s/%s/%s/%s_%04d.%s", out_dir, domain_names[d], class_names[c], class_names[c], i,
                         i % 2 ? "jpg" : "png");
                cm_err written = i % 2 ? cm_image_write_jpeg(&img, path, CM_DEMO_JPEG_QUALITY) : cm_image_write_png(&img, path);
                cm_image_free(&img);
                CM_CHECK_GOTO(err, written, done);
            }
        }
    }
done:
    free(path);
    return err;
}
