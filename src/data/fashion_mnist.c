#include "clipmtl/fashion_mnist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const domain_names[CM_FMNIST_DOMAINS] = {"original", "inverted", "rotated", "sketch", "tinted"};
static const char *const class_names[CM_FMNIST_CLASSES] = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                                           "sandal", "shirt", "sneaker", "bag", "ankle boot"};

const char *cm_fmnist_domain_name(cm_fmnist_domain d) { return d >= 0 && d < CM_FMNIST_DOMAINS ? domain_names[d] : "?"; }
const char *cm_fmnist_class_name(int label) { return label >= 0 && label < CM_FMNIST_CLASSES ? class_names[label] : "?"; }

cm_err cm_fmnist_domain_parse(const char *name, cm_fmnist_domain *d)
{
    for (int i = 0; i < CM_FMNIST_DOMAINS; i++)
        if (strcmp(name, domain_names[i]) == 0) {
            *d = (cm_fmnist_domain)i;
            return CM_OK;
        }
    CM_ERROR(CM_ERR_CONFIG, "unknown Fashion-MNIST domain '%s' (original, inverted, rotated, sketch, tinted)", name);
}

static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* Reads exactly n bytes or fails naming the file. */
static cm_err read_exact(gzFile f, const char *path, void *dst, size_t n, const char *what)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = (unsigned)(n - done > (1u << 30) ? (1u << 30) : n - done);
        int got = gzread(f, (char *)dst + done, chunk);
        if (got <= 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            CM_ERROR(CM_ERR_FORMAT, "%s: truncated or corrupt while reading %s (%zu of %zu bytes%s%s)", path, what,
                     done, n, zerr ? ": " : "", zerr ? msg : "");
        }
        done += (size_t)got;
    }
    return CM_OK;
}

/* An IDX file: magic 0x00000800 | ndim, then ndim big-endian uint32 sizes, then uint8 data. */
static cm_err read_idx(const char *path, int want_dims, uint32_t dims[3], uint8_t **data)
{
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) CM_ERROR(CM_ERR_IO, "%s: cannot open (install Debian's dataset-fashion-mnist)", path);
    cm_err err = CM_OK;
    uint8_t head[16];
    CM_CHECK_GOTO(err, read_exact(f, path, head, 4 + 4 * (size_t)want_dims, "the IDX header"), out);
    uint32_t magic = be32(head);
    if (magic != (0x800u | (uint32_t)want_dims))
        CM_ERROR_GOTO(err, out, CM_ERR_FORMAT, "%s: IDX magic 0x%08x, expected 0x%08x (uint8, %d dimensions)", path,
                      magic, 0x800u | (uint32_t)want_dims, want_dims);
    size_t total = 1;
    for (int i = 0; i < want_dims; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > 10000000u)
            CM_ERROR_GOTO(err, out, CM_ERR_FORMAT, "%s: dimension %d is %u", path, i, dims[i]);
        total *= dims[i];
    }
    if (total > ((size_t)1 << 31)) CM_ERROR_GOTO(err, out, CM_ERR_FORMAT, "%s: %zu bytes of data is absurd", path, total);
    *data = malloc(total);
    if (!*data) CM_ERROR_GOTO(err, out, CM_ERR_MEM, "%s: out of memory for %zu bytes", path, total);
    CM_CHECK_GOTO(err, read_exact(f, path, *data, total, "the IDX data"), out);
    uint8_t extra;
    if (gzread(f, &extra, 1) > 0) CM_ERROR_GOTO(err, out, CM_ERR_FORMAT, "%s: trailing bytes after %zu data bytes", path, total);
out:
    gzclose(f);
    if (err != CM_OK) {
        free(*data);
        *data = NULL;
    }
    return err;
}

cm_err cm_fmnist_load(cm_fmnist_set *set, const char *dir, int train)
{
    *set = (cm_fmnist_set){0};
    if (!dir) dir = CM_FMNIST_DEFAULT_DIR;
    const char *prefix = train ? "train" : "t10k";
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    uint32_t idims[3], ldims[3];
    cm_err err = CM_OK;
    CM_CHECK_GOTO(err, read_idx(images, 3, idims, &set->pixels), fail);
    CM_CHECK_GOTO(err, read_idx(labels, 1, ldims, &set->labels), fail);
    if (idims[0] != ldims[0])
        CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s has %u images but %s has %u labels", images, idims[0], labels, ldims[0]);
    for (uint32_t i = 0; i < ldims[0]; i++)
        if (set->labels[i] >= CM_FMNIST_CLASSES)
            CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: label %u of item %u is not a class (0..9)", labels,
                          set->labels[i], i);
    set->count = (int)idims[0], set->rows = (int)idims[1], set->cols = (int)idims[2];
    return CM_OK;
fail:
    cm_fmnist_free(set);
    return err;
}

void cm_fmnist_free(cm_fmnist_set *set)
{
    free(set->pixels);
    free(set->labels);
    *set = (cm_fmnist_set){0};
}

static uint8_t at(const uint8_t *g, int rows, int cols, int r, int c)
{
    r = r < 0 ? 0 : r >= rows ? rows - 1 : r;
    c = c < 0 ? 0 : c >= cols ? cols - 1 : c;
    return g[r * cols + c];
}

void cm_fmnist_render(const cm_fmnist_set *set, int index, cm_fmnist_domain domain, uint8_t *rgb)
{
    const int R = set->rows, C = set->cols;
    const uint8_t *g = set->pixels + (size_t)index * R * C;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            uint8_t *px = rgb + ((size_t)r * C + c) * 3;
            int v = g[r * C + c];
            switch (domain) {
            case CM_FMNIST_INVERTED: v = 255 - v; break;
            case CM_FMNIST_ROTATED: v = at(g, R, C, R - 1 - c, r); break; /* clockwise: (r,c) <- (R-1-c, r) */
            case CM_FMNIST_SKETCH: {
                int gx = at(g, R, C, r - 1, c + 1) + 2 * at(g, R, C, r, c + 1) + at(g, R, C, r + 1, c + 1) -
                         at(g, R, C, r - 1, c - 1) - 2 * at(g, R, C, r, c - 1) - at(g, R, C, r + 1, c - 1);
                int gy = at(g, R, C, r + 1, c - 1) + 2 * at(g, R, C, r + 1, c) + at(g, R, C, r + 1, c + 1) -
                         at(g, R, C, r - 1, c - 1) - 2 * at(g, R, C, r - 1, c) - at(g, R, C, r - 1, c + 1);
                int mag = (int)lrint(sqrt((double)gx * gx + (double)gy * gy) / 4);
                v = 255 - (mag > 255 ? 255 : mag);
                break;
            }
            default: break;
            }
            if (domain == CM_FMNIST_TINTED) {
                /* Background teal, garment orange: a colour shift no other domain has. */
                px[0] = (uint8_t)((v * 240 + (255 - v) * 20) / 255);
                px[1] = (uint8_t)((v * 140 + (255 - v) * 110) / 255);
                px[2] = (uint8_t)((v * 30 + (255 - v) * 120) / 255);
            } else {
                px[0] = px[1] = px[2] = (uint8_t)v;
            }
        }
}
