/* The multi-task data layer: each domain of a dataset is one task, all tasks share the classes
 * (spec 4.1), and every task has its own train/test split (spec 5.3).
 *
 * Readers (cm_config_data.kind):
 *  folder         root/<domain>/<class>/<image>; per-class seeded hold-out of test_fraction.
 *  office_home    the same layout under root or root/OfficeHomeDataset_10072016. When the LibMTL
 *                 lists data_txt/office-home/<Domain>_{train,test}.txt exist in root (or beside
 *                 the dataset folder when root is that folder; Domain with '_' for ' ', lines
 *                 "Real_World/Class/x.jpg label"), they are the split: train list = training pool,
 *                 test list = test; the val list is left unused, as LibMTL trains on train only
 *                 (it keeps val for model selection, which clipmtl does not do). Labels stay the
 *                 sorted folder order; LibMTL's label ids are only checked for consistency.
 *  domainnet      root (or root/domainnet) with splits/<domain>_{train,test}.txt,
 *  minidomainnet  resp. splits_mini/..., lines "domain/class/file.jpg label" (Dassl, spec 5.2);
 *                 the class is path component 1, classes ordered by the lists' labels.
 *  fashion_mnist  Debian's IDX files (root or /usr/share/datasets/fashion-mnist); domains are
 *                 cm_fmnist_domain transforms. The N tasks get DISJOINT images: train image i and
 *                 test image i go to task i % N, so no two tasks show the same picture.
 * Folder kinds label classes by their sorted folder names (as Dassl). Then each task's training
 * pool is sub-sampled per class (train_fraction or k_shot) with split_seed (cm_split_assign).
 * Seeded draws are keyed by the task's NAME, not its position: a task gets the same split and the
 * same batches whichever other tasks run with it.
 *
 * Structural problems are errors naming the file or folder: classes differing between domains,
 * empty class folders, malformed list lines, a list line naming another domain. Images that are
 * missing (list lines naming no file) or do not decode follow data->bad_data: `stop` = an error
 * naming the file; `skip` = the image is counted (cm_tasks_skipped), reported once, and replaced
 * by the next readable item of the same split (cm_tasks_load_item says which).
 *
 * When data->packed names a file written by `clipmtl pack` (pack.h), the images come from it:
 * the test split exactly as decoding gives them (bit for bit), the training split from the
 * stored pack-size crops. */
#ifndef CLIPMTL_TASKS_H
#define CLIPMTL_TASKS_H

#include <stdint.h>

#include <mpi.h>

#include "clipmtl/config.h"
#include "clipmtl/error.h"
#include "clipmtl/h5io.h"
#include "clipmtl/rng.h"
#include "clipmtl/splits.h" /* CM_SPLIT_TRAIN, CM_SPLIT_TEST */

typedef struct cm_tasks {
    int ntasks, nclasses, image_size;
    char **task_names;  /* domain names, in data->domains order (all domains when empty) */
    char **class_names; /* prompt text: folder name with '_' -> ' ' ("Alarm Clock") */
    int *n_train, *n_test; /* per task, after the split */
    struct cm_tasks_impl *impl;
} cm_tasks;

/* Collective over comm (the ranks agree on success; comm is not kept). Every rank builds the same
 * tasks. run_seed is recorded with the splits; the splits themselves depend on data->split_seed
 * only, so runs with different seeds share one split. */
cm_err cm_tasks_open(cm_tasks *t, const cm_config_data *data, uint64_t run_seed, MPI_Comm comm);
void cm_tasks_close(cm_tasks *t);

/* Label of item i (0 <= i < n_train / n_test) of a task's split. */
int cm_tasks_label(const cm_tasks *t, int task, int split, int i);

/* Normalised pixels [3,S,S] (S = image_size) of item i: the CLIP test transform when rng is
 * NULL, else RandomResizedCrop + horizontal flip drawn from rng. Thread-safe (loader threads).
 * Under bad_data = skip an unreadable item is replaced by the next readable one of the split
 * (wrapping); *loaded (may be NULL) receives the index actually loaded, whose label is
 * cm_tasks_label(.., *loaded): an evaluation leaves the item out when *loaded != i. */
cm_err cm_tasks_load_item(const cm_tasks *t, int task, int split, int i, cm_rng *rng, float *out, int *loaded);
cm_err cm_tasks_load(const cm_tasks *t, int task, int split, int i, cm_rng *rng, float *out);

/* Distinct unreadable or missing images met so far (all tasks; this rank). */
long cm_tasks_skipped(const cm_tasks *t);

/* Packed data only (a no-op otherwise). Collective over comm (the ranks that opened the tasks):
 * each rank reads the images of its `n` tasks (both splits) into memory with collective parallel
 * HDF5 reads; later loads of those tasks do no I/O. Without it, loads read single images from
 * the file (pread). Call it before creating loaders, not while loads run. */
cm_err cm_tasks_preload(cm_tasks *t, MPI_Comm comm, int n, const int *tasks);

/* Collective over f's communicator. The splits, so that a result can be traced to the images:
 * for every task, group "splits/<task name>" holds `name` (the image's path relative to the
 * dataset root, or "train/<i>" / "t10k/<i>" for Fashion-MNIST), `label`, `assign` (0 unused,
 * 1 train, 2 test) and `skipped` (1 = missing or unreadable, as met by any rank) per image of the
 * domain, and `train` / `test` (int32, indices into those tables of the items that
 * cm_tasks_load numbers 0..n-1). Attributes of "splits": the dataset kind and source,
 * split_seed, train_fraction, test_fraction, k_shot, run_seed; the class names are the table
 * "splits/classes". Layout also in docs/formats.md. */
cm_err cm_tasks_write_splits(const cm_tasks *t, cm_h5_file *f);

/* ceil(n_train / B): the batches of one epoch of the task. */
int64_t cm_tasks_steps_per_epoch(const cm_tasks *t, int task, int B);

/* A stable 64-bit key of a task (hash of its name): the task component of every seeded stream. */
uint64_t cm_tasks_key(const cm_tasks *t, int task);

#endif
