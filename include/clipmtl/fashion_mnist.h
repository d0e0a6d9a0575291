/* Fashion-MNIST (Debian's dataset-fashion-mnist, IDX files under /usr/share/datasets/fashion-mnist)
 * turned into a cross-domain benchmark: every domain is a deterministic transform of the same
 * grey images, so a real dataset that installs anywhere can drive the multi-task pipeline. */
#ifndef CLIPMTL_FASHION_MNIST_H
#define CLIPMTL_FASHION_MNIST_H

#include <stdint.h>

#include "clipmtl/error.h"

#define CM_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define CM_FMNIST_CLASSES 10

typedef enum {
    CM_FMNIST_ORIGINAL, /* grey replicated to RGB */
    CM_FMNIST_INVERTED, /* 255 - x */
    CM_FMNIST_ROTATED,  /* rotated 90 degrees clockwise */
    CM_FMNIST_SKETCH,   /* dark edges (Sobel magnitude) on white */
    CM_FMNIST_TINTED,   /* grey mapped onto a colour ramp: teal background, orange garment */
    CM_FMNIST_DOMAINS
} cm_fmnist_domain;

typedef struct {
    int count, rows, cols;
    uint8_t *pixels; /* [count][rows][cols] */
    uint8_t *labels; /* [count], < CM_FMNIST_CLASSES */
} cm_fmnist_set;

/* Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; dir NULL = the Debian path.
 * Headers and sizes are checked; errors name the file. */
cm_err cm_fmnist_load(cm_fmnist_set *set, const char *dir, int train);
void cm_fmnist_free(cm_fmnist_set *set);

/* Image `index` as seen in `domain`: rgb[rows][cols][3]. */
void cm_fmnist_render(const cm_fmnist_set *set, int index, cm_fmnist_domain domain, uint8_t *rgb);

const char *cm_fmnist_domain_name(cm_fmnist_domain domain);
cm_err cm_fmnist_domain_parse(const char *name, cm_fmnist_domain *domain);
/* Class names as prompt text ("t-shirt", "trouser", ..., "ankle boot"). */
const char *cm_fmnist_class_name(int label);

#endif
