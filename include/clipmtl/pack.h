/* Packed datasets: every image decoded and preprocessed once, into one HDF5 file that training
 * and evaluation read instead of the image files (`clipmtl pack`, data.packed).
 *
 * File layout (all tables in task order, then item order within a task):
 *   attributes of "/": format "clipmtl-pack", version 1, kind, source, image_size, train_size,
 *                      split_seed, test_fraction (text, %.17g), train_pool (1 = whole pool), skipped
 *   tasks/name [T] strings, tasks/first [T+1] int32 (items of task t: first[t]..first[t+1]-1),
 *   tasks/official [T] int32 (1 when the task's split comes from official lists)
 *   classes/name [C] strings (dataset class names, before '_' -> ' ')
 *   items/name [N] strings, items/label, items/official (CM_SPLIT_*), items/stored (0 none,
 *   1 train size, 2 test size), items/row (row in the matching image table, -1 none),
 *   items/bad (1 = unreadable when packed under bad_data = skip)   [N] int32 each
 *   images/test  [Ntest, S, S, 3] uint8: CLIP's resize (shorter side to S, PIL bicubic) +
 *                center crop, so the test transform from the pack is bit-identical to decoding;
 *   images/train [Ntrain, P, P, 3] uint8: the shorter side resized to P (= train_size, default
 *                S * 8 / 7, 256 for 224) and center-cropped to P x P; RandomResizedCrop then
 *                crops from this square (it cannot reach the parts of a long side beyond P).
 * The test split is fixed by the split (official lists, or split_seed + test_fraction); a pack
 * can be read with any train_fraction / k_shot when it holds the whole training pool. */
#ifndef CLIPMTL_PACK_H
#define CLIPMTL_PACK_H

#include <mpi.h>

#include "clipmtl/config.h"
#include "clipmtl/error.h"

#define CM_PACK_FORMAT "clipmtl-pack"
#define CM_PACK_VERSION 1

typedef struct {
    int train_size;  /* 0 = image_size * 8 / 7 */
    int train_pool;  /* 1 = every image of the training pool; 0 = only the training images of
                        the configured split (smaller, tied to train_fraction / k_shot) */
    long batch_bytes; /* memory per rank for one collective write round; 0 = 64 MiB */
} cm_pack_options;

typedef struct {
    long images, test_images, train_images, skipped;
    double bytes;          /* image bytes written */
    double seconds;        /* whole pack, open to close */
    double decode_seconds; /* this rank's decode + resize time (max over ranks) */
} cm_pack_stats;

/* Collective over comm: each rank decodes a contiguous share of the images; the file is written
 * with collective parallel HDF5 (data->packed is ignored: the images are decoded). */
cm_err cm_pack_write(const cm_config_data *data, const cm_pack_options *options, const char *path, MPI_Comm comm,
                     cm_pack_stats *stats);

#endif
