/* Loading one item of a task: its 8-bit image (decoded, rendered, or a packed row), then CLIP's
 * test transform or the training augmentation. Thread-safe: loader threads call it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/log.h"
#include "tasks_internal.h"

void cm_tasks_mark_bad(const cm_tasks *t, int task, int item, const char *why)
{
    cm_task_data *td = &t->impl->task[task];
    if (__atomic_exchange_n(&td->bad[item], 1, __ATOMIC_RELAXED)) return; /* reported already */
    __atomic_add_fetch(&t->impl->skipped, 1, __ATOMIC_RELAXED);
    cm_log_warn("skipping %s (task '%s'): %s", td->items[item].name, t->task_names[task], why);
}

cm_err cm_tasks_decode(const cm_tasks *t, int task, int item, cm_image *img)
{
    const struct cm_tasks_impl *im = t->impl;
    const cm_task_item *it = &im->task[task].items[item];
    if (it->path) {
        CM_CHECK(cm_image_read(it->path, img));
        return CM_OK;
    }
    CM_ASSERT(im->kind == CM_DATA_FASHION_MNIST && !im->packed, CM_ERR_INTERNAL, "item %s has no source", it->name);
    const cm_fmnist_set *set = &im->fmnist[it->official == CM_SPLIT_TEST ? 0 : 1];
    CM_ASSERT(it->ref >= 0 && it->ref < set->count, CM_ERR_INTERNAL, "item %s: index %d outside the set", it->name, it->ref);
    CM_CHECK(cm_image_alloc(img, set->cols, set->rows));
    cm_fmnist_render(set, it->ref, im->fmnist_domain[task], img->rgb);
    return CM_OK;
}

/* Row `row` of a packed image table: from the preloaded copy when there is one, else pread. */
static cm_err packed_row(const cm_tasks *t, int task, int item, cm_image *img)
{
    const struct cm_tasks_impl *im = t->impl;
    const cm_task_data *td = &im->task[task];
    const cm_task_item *it = &td->items[item];
    CM_ASSERT(it->stored == 1 || it->stored == 2, CM_ERR_INTERNAL, "%s: item %s is not in the pack", im->source, it->name);
    int k = it->stored - 1, side = k == 0 ? im->train_size : t->image_size;
    size_t bytes = (size_t)side * side * 3;
    CM_CHECK(cm_image_alloc(img, side, side));
    if (td->preloaded[k]) {
        memcpy(img->rgb, td->preloaded[k] + (size_t)(it->ref - td->preload_first[k]) * bytes, bytes);
        return CM_OK;
    }
    off_t at = (off_t)(im->offset[k] + (uint64_t)it->ref * bytes);
    for (size_t done = 0; done < bytes;) {
        ssize_t got = pread(im->fd, img->rgb + done, bytes - done, at + (off_t)done);
        if (got <= 0) {
            cm_image_free(img);
            CM_ERROR(CM_ERR_IO, "%s: reading image %s (row %d of images/%s) failed: %s", im->source, it->name, it->ref,
                     k == 0 ? "train" : "test", got < 0 ? strerror(errno) : "file too short");
        }
        done += (size_t)got;
    }
    return CM_OK;
}

static cm_err transform(const cm_tasks *t, const cm_image *img, cm_rng *rng, float *out)
{
    if (rng && t->impl->augment == CM_AUGMENT_CROP_FLIP) {
        CM_CHECK(cm_image_random_resized_crop_flip(img, t->image_size, rng, out));
    } else if (img->w == t->image_size && img->h == t->image_size) {
        /* S x S already (a packed test row): PIL's resize to the same size is a copy and the
         * center crop keeps everything, so only the normalisation is left */
        cm_image_normalize_clip(img, 0, out);
    } else {
        CM_CHECK(cm_image_preprocess_clip(img, t->image_size, out));
    }
    return CM_OK;
}

cm_err cm_tasks_load_item(const cm_tasks *t, int task, int split, int i, cm_rng *rng, float *out, int *loaded)
{
    CM_ASSERT(task >= 0 && task < t->ntasks, CM_ERR_ARG, "task %d outside 0..%d", task, t->ntasks - 1);
    CM_ASSERT(split == CM_SPLIT_TRAIN || split == CM_SPLIT_TEST, CM_ERR_ARG, "split %d is neither train nor test", split);
    const struct cm_tasks_impl *im = t->impl;
    const cm_task_data *td = &im->task[task];
    int n = split == CM_SPLIT_TRAIN ? t->n_train[task] : t->n_test[task];
    const int *index = split == CM_SPLIT_TRAIN ? td->train : td->test;
    const char *split_name = split == CM_SPLIT_TRAIN ? "training" : "test";
    CM_ASSERT(i >= 0 && i < n, CM_ERR_ARG, "task '%s': %s item %d outside 0..%d", t->task_names[task], split_name, i, n - 1);
    for (int tries = 0; tries < n; tries++) {
        int j = (i + tries) % n, item = index[j];
        if (__atomic_load_n(&td->bad[item], __ATOMIC_RELAXED)) continue;
        cm_image img = {0};
        cm_err err = im->packed ? packed_row(t, task, item, &img) : cm_tasks_decode(t, task, item, &img);
        if (err != CM_OK) {
            /* Only the image itself can be skipped: memory and pack read failures stop. */
            if (im->packed || err == CM_ERR_MEM || im->bad_data == CM_BAD_DATA_STOP) return cm_error_trace(__FILE__, __LINE__, __func__, err);
            cm_tasks_mark_bad(t, task, item, cm_error_message());
            cm_error_clear();
            continue;
        }
        err = transform(t, &img, rng, out);
        cm_image_free(&img);
        CM_CHECK(err);
        if (loaded) *loaded = j;
        return CM_OK;
    }
    CM_ERROR(CM_ERR_FORMAT, "%s: every image of the %s split of task '%s' is unreadable", im->source, split_name,
             t->task_names[task]);
}

cm_err cm_tasks_load(const cm_tasks *t, int task, int split, int i, cm_rng *rng, float *out)
{
    CM_CHECK(cm_tasks_load_item(t, task, split, i, rng, out, NULL));
    return CM_OK;
}

/* Rows [first, first + count) of image table k held by a task (contiguous: rows follow items). */
static void task_rows(const cm_task_data *td, int k, int *first, int *count)
{
    int lo = -1, hi = -1;
    for (int i = 0; i < td->n_items; i++)
        if (td->items[i].stored == k + 1) {
            if (lo < 0 || td->items[i].ref < lo) lo = td->items[i].ref;
            if (td->items[i].ref > hi) hi = td->items[i].ref;
        }
    *first = lo < 0 ? 0 : lo;
    *count = lo < 0 ? 0 : hi - lo + 1;
}

cm_err cm_tasks_preload(cm_tasks *t, MPI_Comm comm, int n, const int *tasks)
{
    struct cm_tasks_impl *im = t->impl;
    if (!im->packed) return CM_OK;
    uint8_t *wanted = calloc((size_t)t->ntasks, 1);
    cm_err err = wanted ? CM_OK : CM_RAISE(CM_ERR_MEM, "out of memory");
    for (int j = 0; err == CM_OK && j < n; j++) {
        if (tasks[j] < 0 || tasks[j] >= t->ntasks)
            err = CM_RAISE(CM_ERR_ARG, "preload: task %d outside 0..%d", tasks[j], t->ntasks - 1);
        else
            wanted[tasks[j]] = 1;
    }
    err = cm_tasks_agree(comm, err, "preloading the packed images");
    cm_h5_file f = {0};
    if (err == CM_OK) err = cm_h5_open(&f, comm, im->source, 0);
    /* Every rank takes part in every read (collective), with an empty slab for others' tasks. */
    for (int task = 0; err == CM_OK && task < t->ntasks; task++) {
        cm_task_data *td = &im->task[task];
        for (int k = 0; err == CM_OK && k < 2; k++) {
            int first, count, side = k == 0 ? im->train_size : t->image_size;
            task_rows(td, k, &first, &count);
            if (!wanted[task] || td->preloaded[k]) count = 0;
            size_t bytes = (size_t)count * side * side * 3;
            uint8_t *rows = count ? malloc(bytes) : NULL;
            cm_err local = !count || rows ? CM_OK
                                          : CM_RAISE(CM_ERR_MEM,
                                                     "out of memory preloading %zu bytes of task '%s'", bytes,
                                                     t->task_names[task]);
            err = cm_tasks_agree(comm, local, "preloading the packed images");
            uint64_t start[4] = {(uint64_t)first, 0, 0, 0}, cnt[4] = {(uint64_t)count, (uint64_t)side, (uint64_t)side, 3};
            if (err == CM_OK) err = cm_h5_read(&f, k == 0 ? "images/train" : "images/test", CM_H5_UINT8, start, cnt, rows);
            if (err == CM_OK && count) {
                td->preloaded[k] = rows;
                td->preload_first[k] = first;
            } else {
                free(rows);
            }
        }
    }
    cm_err closed = f.path ? cm_h5_close(&f) : CM_OK;
    free(wanted);
    CM_CHECK(err);
    CM_CHECK(closed);
    return CM_OK;
}
