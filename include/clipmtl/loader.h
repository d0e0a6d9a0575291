/* Training batches of one task, prepared by a worker thread while the step runs.
 *
 * Batch k of the run (k = step) of task t, with steps_per_epoch = ceil(n_train / B):
 *  - epoch e = k / steps_per_epoch; the epoch's permutation of the n_train training items is
 *    drawn from (seed, task key, e);
 *  - batch k holds positions [(k % steps_per_epoch) * B, + B) of that permutation, wrapping to
 *    its start (the last batch of an epoch repeats the first items, so every batch has B items);
 *  - this rank takes positions [shard_start, shard_start + shard_count) of the batch;
 *  - the augmentation (RandomResizedCrop + flip) of position p is drawn from (seed, task key, k, p).
 * So batches never depend on the rank count, on the shard split or on timing, and a resumed run
 * (any first step) sees exactly the batches it would have seen. The task key is the hash of the
 * task's name (cm_tasks_key). */
#ifndef CLIPMTL_LOADER_H
#define CLIPMTL_LOADER_H

#include <stdint.h>

#include "clipmtl/error.h"
#include "clipmtl/tasks.h"

typedef struct cm_loader cm_loader;

/* Starts the worker thread. The tasks must outlive the loader. */
cm_err cm_loader_create(cm_loader **l, const cm_tasks *t, int task, int B, int shard_start, int shard_count,
                        uint64_t seed);
/* The shard of batch `step`: pixels [shard_count, 3, S, S], labels [shard_count]. A step other
 * than the one prefetched (first call, resume, jump) is prepared on the spot. Then step + 1 is
 * prefetched. waited_seconds (may be NULL) = time spent in this call. An error of the worker
 * (e.g. an unreadable image under bad_data = stop) is returned here with its trace. */
cm_err cm_loader_next(cm_loader *l, int64_t step, float *pixels, int *labels, double *waited_seconds);
/* Waits for the worker to finish its current batch and stops it. NULL is fine. */
void cm_loader_destroy(cm_loader *l);

/* The training item (0..n_train-1) at `position` of batch `step`, and the stream of its
 * augmentation: what the worker uses, exposed for tests and tools. */
int cm_loader_item(const cm_tasks *t, int task, int B, uint64_t seed, int64_t step, int position);
void cm_loader_augment_rng(const cm_tasks *t, int task, uint64_t seed, int64_t step, int position, cm_rng *rng);

#endif
