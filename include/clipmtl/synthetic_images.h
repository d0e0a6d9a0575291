/* A small generated folder dataset for demos and tests (`clipmtl mkdemo`): the class is a shape,
 * the domain a drawing style, so a model must see past the style to name the class, as in
 * Office-Home. Everything follows from the seed. */
#ifndef CLIPMTL_SYNTHETIC_IMAGES_H
#define CLIPMTL_SYNTHETIC_IMAGES_H

#include <stdint.h>

#include "clipmtl/image.h"

#define CM_DEMO_MAX_DOMAINS 4
#define CM_DEMO_MAX_CLASSES 8
#define CM_DEMO_JPEG_QUALITY 92

/* Folder names; "Noisy Background" contains a space like Office-Home's "Real World", and class
 * names with '_' exercise the prompt names. */
const char *cm_demo_domain_name(int domain);
const char *cm_demo_class_name(int label);

/* Renders image `index` of a class in a domain: size pixels wide, size, 7/8 or 3/4 of it high. */
cm_err cm_demo_render(int domain, int label, int index, int size, uint64_t seed, cm_image *out);

/* Writes out_dir/<domain>/<class>/<class>_<index>.{png,jpg} (even indices PNG, odd JPEG) for the
 * first `domains` styles and `classes` shapes. out_dir must not exist or be empty. */
cm_err cm_demo_write_dataset(const char *out_dir, int domains, int classes, int per_class, int size, uint64_t seed);

#endif
