/* Shared by the task readers (tasks_*.c), the packer and the loader: the items of each task
 * before and after the split, and the sources images are read from. */
#ifndef CLIPMTL_TASKS_INTERNAL_H
#define CLIPMTL_TASKS_INTERNAL_H

#include <stdint.h>

#include "clipmtl/fashion_mnist.h"
#include "clipmtl/fs.h"
#include "clipmtl/image.h"
#include "clipmtl/tasks.h"

typedef struct {
    char *path;       /* file to decode (folder and list kinds), NULL otherwise */
    char *name;       /* how the splits and messages name it: path relative to the root */
    int32_t label;
    int32_t ref;      /* Fashion-MNIST: index in its set; packed: row in its image table */
    int32_t line;     /* list kinds: line of the list that named it (messages) */
    uint8_t official; /* the task's official split (when it has one): CM_SPLIT_* */
    uint8_t split;    /* the assignment: CM_SPLIT_* */
    uint8_t stored;   /* packed: 0 not stored, 1 train-size row, 2 test-size row */
} cm_task_item;

typedef struct {
    int n_items, cap;
    cm_task_item *items;
    int has_official;
    uint64_t key;          /* cm_tasks_key */
    int *train, *test;     /* item indices of each split, in item order */
    uint8_t *bad;          /* per item, set (atomically) once found unreadable */
    uint8_t *preloaded[2]; /* packed + cm_tasks_preload: [0] train rows, [1] test rows of the task */
    int preload_first[2];  /* first row held in preloaded[k] */
    char *k_shot_short;    /* classes with fewer than k_shot training images: "class (n), ...", or NULL */
} cm_task_data;

struct cm_tasks_impl {
    cm_data_kind kind;
    cm_bad_data_policy bad_data;
    cm_augment augment;
    char *source;          /* dataset root, or the packed file */
    cm_split_options split;
    uint64_t run_seed;
    cm_task_data *task;
    long skipped;          /* atomic */
    /* Fashion-MNIST: [0] t10k, [1] train; domain transform of each task */
    cm_fmnist_set fmnist[2];
    cm_fmnist_domain *fmnist_domain;
    char **class_dataset_names; /* as the dataset spells them (t->class_names are prompt text) */
    /* packed */
    int packed, fd, train_size;
    uint64_t offset[2];    /* raw file offsets of images/train, images/test */
    int64_t pack_split_seed, pack_k_shot, pack_train_pool;
    double pack_test_fraction, pack_train_fraction;
};

/* Collective: CM_OK when every rank's `local` is; a rank that did not fail itself raises
 * "another rank failed", so that no rank enters a later collective alone. */
cm_err cm_tasks_agree(MPI_Comm comm, cm_err local, const char *what);
/* The item index of element i of a task's split, or -1 when out of range. */
int cm_tasks_item_of(const cm_tasks *t, int task, int split, int i);
/* Growing a task's item list; the item's strings are taken over (freed with the tasks). */
cm_err cm_task_add_item(cm_task_data *td, const cm_task_item *item);
/* The available domains -> the chosen ones in data->domains order (all, in the given order, when
 * empty). An unknown name is an error listing the available ones. *chosen holds *n indices. */
cm_err cm_tasks_choose_domains(const cm_config_data *data, const char *dataset, int navailable,
                               const char *const *available, int *n, int **chosen);
/* Allocates t->task_names (copies), t->n_train, t->n_test and impl->task for n tasks. */
cm_err cm_tasks_alloc(cm_tasks *t, int n, const char *const *names);
/* Sets t->class_names from dataset class names ('_' -> ' '). */
cm_err cm_tasks_set_classes(cm_tasks *t, int n, const char *const *names);
/* Marks an item unreadable; counts and reports it the first time (thread-safe). */
void cm_tasks_mark_bad(const cm_tasks *t, int task, int item, const char *why);

/* Readers: fill t (names, classes, items with labels and official splits) for the chosen domains. */
cm_err cm_tasks_read_folder(cm_tasks *t, const cm_config_data *data);
cm_err cm_tasks_read_lists(cm_tasks *t, const cm_config_data *data, MPI_Comm comm);
cm_err cm_tasks_read_fmnist(cm_tasks *t, const cm_config_data *data);
cm_err cm_tasks_read_packed(cm_tasks *t, const cm_config_data *data, MPI_Comm comm);
/* After the split: packed tasks check that every item of a split was stored for it. */
cm_err cm_tasks_check_packed(const cm_tasks *t, const cm_config_data *data);

/* The 8-bit image of an item as decoding gives it (not packed). Errors name the file. */
cm_err cm_tasks_decode(const cm_tasks *t, int task, int item, cm_image *img);

/* Lines "path label" of a split list; errors name file:line. Calls `line` for each entry. */
typedef cm_err (*cm_split_list_fn)(void *ctx, const char *list, int line, const char *path, long label);
cm_err cm_split_list_read(const char *list, cm_split_list_fn fn, void *ctx);


#endif
