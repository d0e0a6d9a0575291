/* The splits of a run written into its HDF5 output, so that every result can be traced back to
 * the images it was trained and tested on (spec 5.3: "write the chosen image lists"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_internal.h"

static cm_err write_ints(cm_h5_file *f, const char *group, const char *name, int n, const int32_t *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", group, name);
    uint64_t dims[1] = {(uint64_t)n};
    CM_CHECK(cm_h5_write_owner(f, path, CM_H5_INT32, 1, dims, 0, v));
    return CM_OK;
}

static cm_err write_task(const cm_tasks *t, int k, cm_h5_file *f)
{
    const cm_task_data *td = &t->impl->task[k];
    int n = td->n_items;
    char group[1024], path[1100];
    snprintf(group, sizeof group, "splits/%s", t->task_names[k]);
    const char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
    int32_t *label = malloc(sizeof *label * (size_t)(n ? n : 1)), *assign = malloc(sizeof *assign * (size_t)(n ? n : 1));
    int32_t *bad = malloc(sizeof *bad * (size_t)(n ? n : 1));
    int32_t *train = malloc(sizeof *train * (size_t)(t->n_train[k] ? t->n_train[k] : 1));
    int32_t *test = malloc(sizeof *test * (size_t)(t->n_test[k] ? t->n_test[k] : 1));
    cm_err err = names && label && assign && bad && train && test
                     ? CM_OK
                     : CM_RAISE(CM_ERR_MEM, "out of memory for the splits of %s", group);
    if (err == CM_OK) {
        for (int i = 0; i < n; i++) {
            names[i] = td->items[i].name;
            label[i] = td->items[i].label;
            assign[i] = td->items[i].split;
            bad[i] = __atomic_load_n(&td->bad[i], __ATOMIC_RELAXED);
        }
        for (int i = 0; i < t->n_train[k]; i++) train[i] = td->train[i];
        for (int i = 0; i < t->n_test[k]; i++) test[i] = td->test[i];
        /* Each rank knows the unreadable images it met: the file gets all of them. */
        if (f->nranks > 1 && n > 0 && MPI_Allreduce(MPI_IN_PLACE, bad, n, MPI_INT32_T, MPI_MAX, f->comm) != MPI_SUCCESS)
            err = CM_RAISE(CM_ERR_MPI, "%s: sharing the skipped images failed", group);
    }
    snprintf(path, sizeof path, "%s/name", group);
    if (err == CM_OK) err = cm_h5_write_strings(f, path, n, names, 0);
    if (err == CM_OK) err = write_ints(f, group, "label", n, label);
    if (err == CM_OK) err = write_ints(f, group, "assign", n, assign);
    if (err == CM_OK) err = write_ints(f, group, "skipped", n, bad);
    if (err == CM_OK) err = write_ints(f, group, "train", t->n_train[k], train);
    if (err == CM_OK) err = write_ints(f, group, "test", t->n_test[k], test);
    /* Classes that had fewer than k_shot training images, with the number they had; "" if none. */
    if (err == CM_OK) err = cm_h5_write_attr_string(f, group, "k_shot_short", td->k_shot_short ? td->k_shot_short : "");
    free(names), free(label), free(assign), free(bad), free(train), free(test);
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_tasks_write_splits(const cm_tasks *t, cm_h5_file *f)
{
    const struct cm_tasks_impl *im = t->impl;
    char number[64];
    CM_CHECK(cm_h5_create_group(f, "splits"));
    CM_CHECK(cm_h5_write_attr_string(f, "splits", "kind", cm_config_data_kind_name(im->kind)));
    CM_CHECK(cm_h5_write_attr_string(f, "splits", "source", im->source));
    CM_CHECK(cm_h5_write_attr_int64(f, "splits", "split_seed", (int64_t)im->split.seed));
    snprintf(number, sizeof number, "%.17g", im->split.train_fraction);
    CM_CHECK(cm_h5_write_attr_string(f, "splits", "train_fraction", number));
    snprintf(number, sizeof number, "%.17g", im->split.test_fraction);
    CM_CHECK(cm_h5_write_attr_string(f, "splits", "test_fraction", number));
    CM_CHECK(cm_h5_write_attr_int64(f, "splits", "k_shot", im->split.k_shot));
    CM_CHECK(cm_h5_write_attr_int64(f, "splits", "run_seed", (int64_t)im->run_seed));
    CM_CHECK(cm_h5_write_strings(f, "splits/classes", t->nclasses, (const char *const *)im->class_dataset_names, 0));
    for (int k = 0; k < t->ntasks; k++) CM_CHECK(write_task(t, k, f));
    return CM_OK;
}
