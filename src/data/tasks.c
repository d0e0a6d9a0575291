/* The tasks of a run: choosing the domains, reading them (tasks_folder.c, tasks_lists.c,
 * tasks_fmnist.c, tasks_packed.c), splitting each task, and looking items up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/dataset.h"
#include "clipmtl/log.h"
#include "tasks_internal.h"

cm_err cm_tasks_agree(MPI_Comm comm, cm_err local, const char *what)
{
    int bad = local != CM_OK, any = bad, size = 1;
    MPI_Comm_size(comm, &size);
    if (size > 1 && MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        CM_ERROR(CM_ERR_MPI, "%s: MPI_Allreduce failed", what);
    if (bad) return local;
    if (any) CM_ERROR(CM_ERR_MPI, "%s: another rank failed (see its error)", what);
    return CM_OK;
}

uint64_t cm_tasks_key(const cm_tasks *t, int task)
{
    /* FNV-1a of the name, then mixed: stable across runs, machines and task orders. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)t->task_names[task]; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return cm_rng_stream(0x5441534bull /* "TASK" */, h, 0, 0);
}

cm_err cm_task_add_item(cm_task_data *td, const cm_task_item *item)
{
    if (td->n_items == td->cap) {
        int cap = td->cap ? 2 * td->cap : 64;
        cm_task_item *items = realloc(td->items, sizeof *items * (size_t)cap);
        if (!items) CM_ERROR(CM_ERR_MEM, "out of memory for %d items", cap);
        td->items = items;
        uint8_t *bad = realloc(td->bad, (size_t)cap);
        if (!bad) CM_ERROR(CM_ERR_MEM, "out of memory for %d items", cap);
        td->bad = bad;
        td->cap = cap;
    }
    td->items[td->n_items] = *item;
    td->bad[td->n_items] = 0;
    td->n_items++;
    return CM_OK;
}

cm_err cm_tasks_choose_domains(const cm_config_data *data, const char *dataset, int navailable,
                               const char *const *available, int *n, int **chosen)
{
    *n = 0;
    *chosen = NULL;
    int want = data->domains.n > 0 ? data->domains.n : navailable;
    CM_ASSERT(want > 0, CM_ERR_FORMAT, "%s: no domains", dataset);
    int *idx = calloc((size_t)want, sizeof *idx);
    if (!idx) CM_ERROR(CM_ERR_MEM, "out of memory for %d domains", want);
    for (int k = 0; k < want; k++) {
        if (data->domains.n == 0) {
            idx[k] = k;
            continue;
        }
        const char *name = data->domains.items[k];
        idx[k] = -1;
        for (int d = 0; d < navailable; d++)
            if (strcmp(available[d], name) == 0) idx[k] = d;
        if (idx[k] < 0) {
            char list[2048] = "";
            size_t used = 0;
            for (int d = 0; d < navailable && used + 8 < sizeof list; d++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s'", d ? ", " : "", available[d]);
            free(idx);
            CM_ERROR(CM_ERR_CONFIG, "data.domains: '%s' is not a domain of %s (available: %s)", name, dataset, list);
        }
    }
    *n = want;
    *chosen = idx;
    return CM_OK;
}

cm_err cm_tasks_alloc(cm_tasks *t, int n, const char *const *names)
{
    t->ntasks = n;
    CM_CALLOC(t->task_names, n);
    CM_CALLOC(t->n_train, n);
    CM_CALLOC(t->n_test, n);
    CM_CALLOC(t->impl->task, n);
    for (int k = 0; k < n; k++) {
        t->task_names[k] = strdup(names[k]);
        CM_ASSERT(t->task_names[k], CM_ERR_MEM, "out of memory for task names");
    }
    for (int k = 0; k < n; k++) t->impl->task[k].key = cm_tasks_key(t, k);
    return CM_OK;
}

cm_err cm_tasks_set_classes(cm_tasks *t, int n, const char *const *names)
{
    t->nclasses = n;
    CM_CALLOC(t->class_names, n);
    CM_CALLOC(t->impl->class_dataset_names, n);
    for (int c = 0; c < n; c++) {
        t->impl->class_dataset_names[c] = strdup(names[c]);
        CM_ASSERT(t->impl->class_dataset_names[c], CM_ERR_MEM, "out of memory for class names");
        size_t len = strlen(names[c]) + 1;
        CM_CALLOC(t->class_names[c], len);
        CM_CHECK(cm_class_prompt_name(names[c], t->class_names[c], len));
    }
    return CM_OK;
}

/* k_shot takes every training image of a class that has fewer: say so (rank 0) and keep the
 * list for splits.h5, since the run then trains on fewer images than configured. */
static cm_err note_short_classes(cm_tasks *t, int k, const int *labels, const uint8_t *assign)
{
    struct cm_tasks_impl *im = t->impl;
    cm_task_data *td = &im->task[k];
    int *taken;
    CM_CALLOC(taken, t->nclasses);
    for (int i = 0; i < td->n_items; i++) taken[labels[i]] += assign[i] == CM_SPLIT_TRAIN;
    char *list = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&list, &len);
    int nshort = 0;
    for (int c = 0; f && c < t->nclasses; c++)
        if (taken[c] < im->split.k_shot)
            fprintf(f, "%s%s (%d)", nshort++ ? ", " : "", im->class_dataset_names[c], taken[c]);
    free(taken);
    if (!f || fclose(f) != 0) CM_ERROR(CM_ERR_MEM, "out of memory listing the classes short of k_shot images");
    if (nshort == 0) {
        free(list);
        return CM_OK;
    }
    td->k_shot_short = list;
    cm_log_warn_rank0("data.k_shot = %d: task '%s' has fewer training images in %d class(es), which use all they "
                      "have: %s", im->split.k_shot, t->task_names[k], nshort, list);
    return CM_OK;
}

/* The assignment of every item of every task, and the index lists of both splits. */
static cm_err split_tasks(cm_tasks *t)
{
    struct cm_tasks_impl *im = t->impl;
    for (int k = 0; k < t->ntasks; k++) {
        cm_task_data *td = &im->task[k];
        int n = td->n_items;
        int *labels = malloc(sizeof *labels * (size_t)(n ? n : 1));
        uint8_t *official = malloc((size_t)(n ? n : 1)), *assign = malloc((size_t)(n ? n : 1));
        cm_err err = CM_OK;
        if (!labels || !official || !assign) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory splitting %d items", n);
        for (int i = 0; i < n; i++) labels[i] = td->items[i].label, official[i] = td->items[i].official;
        CM_CHECK_GOTO(err, cm_split_assign(labels, n, t->nclasses, td->has_official ? official : NULL, &im->split,
                                           (int)(td->key & 0x7fffffff), assign), done);
        int ntrain = 0, ntest = 0;
        for (int i = 0; i < n; i++) {
            td->items[i].split = assign[i];
            ntrain += assign[i] == CM_SPLIT_TRAIN;
            ntest += assign[i] == CM_SPLIT_TEST;
        }
        td->train = malloc(sizeof *td->train * (size_t)(ntrain ? ntrain : 1));
        td->test = malloc(sizeof *td->test * (size_t)(ntest ? ntest : 1));
        if (!td->train || !td->test) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the split of %d items", n);
        t->n_train[k] = t->n_test[k] = 0;
        for (int i = 0; i < n; i++) {
            if (assign[i] == CM_SPLIT_TRAIN) td->train[t->n_train[k]++] = i;
            if (assign[i] == CM_SPLIT_TEST) td->test[t->n_test[k]++] = i;
        }
        if (ntrain == 0)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: task '%s' has no training images after the split", im->source,
                          t->task_names[k]);
        if (im->split.k_shot > 0) CM_CHECK_GOTO(err, note_short_classes(t, k, labels, assign), done);
    done:
        free(labels);
        free(official);
        free(assign);
        CM_CHECK(err);
    }
    return CM_OK;
}

static cm_err open_local(cm_tasks *t, const cm_config_data *data, MPI_Comm comm)
{
    if (data->packed && data->packed[0]) {
        CM_CHECK(cm_tasks_read_packed(t, data, comm));
    } else {
        cm_err err = CM_OK;
        switch (data->kind) {
        case CM_DATA_FOLDER:
        case CM_DATA_OFFICE_HOME: err = cm_tasks_read_folder(t, data); break;
        case CM_DATA_DOMAINNET:
        case CM_DATA_MINIDOMAINNET: err = cm_tasks_read_lists(t, data, comm); break;
        case CM_DATA_FASHION_MNIST: err = cm_tasks_read_fmnist(t, data); break;
        }
        CM_CHECK(err);
    }
    CM_CHECK(split_tasks(t));
    if (t->impl->packed) CM_CHECK(cm_tasks_check_packed(t, data));
    return CM_OK;
}

cm_err cm_tasks_open(cm_tasks *t, const cm_config_data *data, uint64_t run_seed, MPI_Comm comm)
{
    *t = (cm_tasks){0};
    CM_CALLOC(t->impl, 1);
    struct cm_tasks_impl *im = t->impl;
    im->fd = -1;
    im->kind = data->kind;
    im->bad_data = data->bad_data;
    im->augment = data->augment;
    im->run_seed = run_seed;
    im->split = (cm_split_options){.test_fraction = data->test_fraction, .train_fraction = data->train_fraction,
                                   .k_shot = data->k_shot, .seed = (uint64_t)data->split_seed};
    t->image_size = data->image_size;
    cm_err err = data->image_size > 0 ? open_local(t, data, comm)
                                      : CM_RAISE(CM_ERR_CONFIG, "data.image_size %d is not positive", data->image_size);
    err = cm_tasks_agree(comm, err, "opening the dataset");
    if (err != CM_OK) {
        cm_error_state saved;
        cm_error_save(&saved);
        cm_tasks_close(t);
        return cm_error_restore(&saved);
    }
    if (im->skipped > 0)
        cm_log_warn("%s: %ld image(s) missing or unreadable, skipped (data.bad_data = skip)", im->source, im->skipped);
    return CM_OK;
}

void cm_tasks_close(cm_tasks *t)
{
    struct cm_tasks_impl *im = t->impl;
    if (im) {
        for (int k = 0; im->task && k < t->ntasks; k++) {
            cm_task_data *td = &im->task[k];
            for (int i = 0; i < td->n_items; i++) {
                free(td->items[i].path);
                free(td->items[i].name);
            }
            free(td->items);
            free(td->bad);
            free(td->train);
            free(td->test);
            free(td->preloaded[0]);
            free(td->preloaded[1]);
            free(td->k_shot_short);
        }
        free(im->task);
        for (int c = 0; im->class_dataset_names && c < t->nclasses; c++) free(im->class_dataset_names[c]);
        free(im->class_dataset_names);
        cm_fmnist_free(&im->fmnist[0]);
        cm_fmnist_free(&im->fmnist[1]);
        free(im->fmnist_domain);
        if (im->fd >= 0) close(im->fd);
        free(im->source);
        free(im);
    }
    for (int k = 0; t->task_names && k < t->ntasks; k++) free(t->task_names[k]);
    for (int c = 0; t->class_names && c < t->nclasses; c++) free(t->class_names[c]);
    free(t->task_names);
    free(t->class_names);
    free(t->n_train);
    free(t->n_test);
    *t = (cm_tasks){0};
}

/* The item index of element i of a split, or -1. */
int cm_tasks_item_of(const cm_tasks *t, int task, int split, int i)
{
    if (task < 0 || task >= t->ntasks) return -1;
    const cm_task_data *td = &t->impl->task[task];
    if (split == CM_SPLIT_TRAIN && i >= 0 && i < t->n_train[task]) return td->train[i];
    if (split == CM_SPLIT_TEST && i >= 0 && i < t->n_test[task]) return td->test[i];
    return -1;
}

int cm_tasks_label(const cm_tasks *t, int task, int split, int i)
{
    int item = cm_tasks_item_of(t, task, split, i);
    return item < 0 ? -1 : t->impl->task[task].items[item].label;
}

long cm_tasks_skipped(const cm_tasks *t) { return __atomic_load_n(&t->impl->skipped, __ATOMIC_RELAXED); }

int64_t cm_tasks_steps_per_epoch(const cm_tasks *t, int task, int B)
{
    if (task < 0 || task >= t->ntasks || B <= 0) return 0;
    return ((int64_t)t->n_train[task] + B - 1) / B;
}
