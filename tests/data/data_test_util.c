#define _XOPEN_SOURCE 700 /* nftw */
#include "data_test_util.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipmtl/config.h"
#include "clipmtl/fs.h"
#include "clipmtl/h5io.h"
#include "clipmtl/image.h"
#include "test_util.h"

void tree_mkdir(const char *path)
{
    if (cm_mkdir_p(path) != CM_OK) {
        cm_error_print(stderr);
        cm_error_clear();
        cm_test_failures++;
    }
}

void tree_image(const char *path, int w, int h, uint32_t seed, int jpeg)
{
    cm_image img;
    if (cm_image_alloc(&img, w, h) != CM_OK) {
        cm_test_failures++;
        return;
    }
    /* smooth gradients plus a little seeded texture: a resize has real work to do */
    uint32_t s = seed * 2654435761u + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                int v = (x * (c + 1) * 255 / w + y * (3 - c) * 255 / h + (int)(seed * 37 * (c + 1))) / 2 + (int)(s >> 29);
                img.rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(v & 255);
            }
    cm_err err = jpeg ? cm_image_write_jpeg(&img, path, 90) : cm_image_write_png(&img, path);
    if (err != CM_OK) {
        cm_error_print(stderr);
        cm_test_failures++;
    }
    cm_image_free(&img);
}

void tree_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        cm_test_failures++;
    }
}

void tree_truncated_jpeg(const char *path, int w, int h)
{
    tree_image(path, w, h, 99, 1);
    struct stat st;
    if (stat(path, &st) != 0 || truncate(path, st.st_size / 2) != 0) {
        perror(path);
        cm_test_failures++;
    }
}

const char *tree_path(const char *fmt, ...)
{
    static char buf[8][4096];
    static int slot;
    char *out = buf[slot++ & 7];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, 4096, fmt, ap);
    va_end(ap);
    return out;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tree_remove(const char *path) { nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

cm_err tasks_open_with(cm_tasks *t, MPI_Comm comm, const char *const *sets)
{
    cm_config c;
    CM_CHECK(cm_config_defaults(&c));
    cm_err err = CM_OK;
    for (int i = 0; sets[i] && err == CM_OK; i++) err = cm_config_set(&c, sets[i]);
    if (err == CM_OK) err = cm_config_validate(&c);
    if (err == CM_OK) err = cm_tasks_open(t, &c.data, 7, comm);
    cm_config_free(&c);
    return err;
}

void names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

char **split_names(const cm_tasks *t, int task, int split, int *n)
{
    static int serial;
    const char *path = tree_path("%s/splits-%d.h5", cm_test_tmpdir(), serial++);
    cm_h5_file f;
    char **all = NULL, **out = NULL;
    int nall = 0;
    *n = split == CM_SPLIT_TRAIN ? t->n_train[task] : t->n_test[task];
    int32_t *index = malloc(sizeof *index * (size_t)(*n ? *n : 1));
    cm_err err = cm_h5_create(&f, MPI_COMM_SELF, path);
    if (err == CM_OK) {
        err = cm_tasks_write_splits(t, &f);
        if (err == CM_OK)
            err = cm_h5_read_strings(&f, tree_path("splits/%s/name", t->task_names[task]), &nall, &all);
        if (err == CM_OK)
            err = cm_h5_read_all(&f, tree_path("splits/%s/%s", t->task_names[task], split == CM_SPLIT_TRAIN ? "train" : "test"),
                                 CM_H5_INT32, index, (size_t)*n);
        cm_err closed = cm_h5_close(&f);
        if (err == CM_OK) err = closed;
    }
    if (err == CM_OK && (out = calloc((size_t)(*n ? *n : 1), sizeof *out)))
        for (int i = 0; i < *n; i++) out[i] = index[i] >= 0 && index[i] < nall ? strdup(all[index[i]]) : strdup("?");
    if (err != CM_OK) {
        cm_error_print(stderr);
        cm_error_clear();
        cm_test_failures++;
    }
    names_free(all, nall);
    free(index);
    remove(path);
    return out;
}
