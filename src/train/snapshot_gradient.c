/* The task gradient of a similarity snapshot taken over a fixed set of training images instead of
 * the step's batch: one 16-image batch is too noisy an estimate to tell tasks apart (see the
 * grouping.snapshot_images doc), the task's whole few-shot set is not.
 *
 * The images are cut into micro-batches of optim.batch_size (the arena holds one), so the cut does
 * not depend on the rank count. The task's ranks take contiguous runs of micro-batches, and the
 * per-micro-batch gradients are summed in micro-batch order along the ranks (each adds its own to
 * the prefix of the previous rank and passes it on): the same float additions in the same order on
 * any number of ranks, so the result is bitwise the same on 1, 2 or 3 ranks. */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/train_step.h"
#include "clipmtl/trainer.h"

enum { TAG_PREFIX = 7301 };

cm_err cm_trainer_task_gradient(cm_trainer *t, int local, int images, float *grad)
{
    const int task = t->layout.local_tasks[local], C = t->tasks.nclasses, ctx = t->model.cfg.context_length;
    const cm_prompt_method *shared = &t->set.methods[0];
    const size_t count = shared->count, P = t->set.table.total;
    const size_t per = (size_t)3 * t->model.cfg.image_size * t->model.cfg.image_size;
    const int available = t->tasks.n_train[task];
    const int n = images > 0 && images < available ? images : available, micro = t->cfg->optim.batch_size;
    const int nmicro = (n + micro - 1) / micro;
    CM_ASSERT(t->set.mode == CM_SET_SHARED, CM_ERR_INTERNAL, "snapshot gradients are taken of phase 1's shared prompts");
    CM_ASSERT(n > 0, CM_ERR_CONFIG, "task %s has no training image to take a snapshot gradient over",
              t->tasks.task_names[task]);
    int shard = 0, nshards = 1, first = 0, mine = nmicro;
    if (t->nranks >= t->tasks.ntasks) {
        shard = t->layout.shard, nshards = t->layout.nshards;
        cm_layout_shard(nmicro, shard, nshards, &first, &mine);
    }
    float *parts = calloc((size_t)(mine > 0 ? mine : 1) * count, sizeof *parts);
    if (!parts) CM_ERROR(CM_ERR_MEM, "out of memory for %d micro-batch gradients of %zu floats", mine, count);
    cm_err err = CM_OK;
    for (int j = 0; j < mine; j++) {
        const int start = (first + j) * micro, nb = n - start < micro ? n - start : micro;
        for (int k = 0; k < nb; k++) {
            int loaded;
            CM_CHECK_GOTO(err, cm_tasks_load_item(&t->tasks, task, CM_SPLIT_TRAIN, start + k, NULL, t->pixels + per * k, &loaded),
                          done);
            t->labels[k] = cm_tasks_label(&t->tasks, task, CM_SPLIT_TRAIN, loaded);
        }
        memset(t->task_grad, 0, P * sizeof *t->task_grad);
        /* Normalised by n: the micro-batch gradients sum to the gradient of the mean loss over n. */
        CM_CHECK_GOTO(err, cm_task_step(&t->model, &t->set, task, t->params, t->pixels, t->labels, nb, n,
                                        t->class_ids + (size_t)task * C * ctx, C, &t->arena, t->task_grad, NULL, NULL),
                      done);
        memcpy(parts + (size_t)j * count, t->task_grad + shared->first, count * sizeof *parts);
    }
    memset(grad, 0, count * sizeof *grad);
    if (shard > 0 && MPI_Recv(grad, (int)count, MPI_FLOAT, shard - 1, TAG_PREFIX, t->comms.task, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "receiving the snapshot gradient prefix of task %d failed", task);
    for (int j = 0; j < mine; j++)
        for (size_t k = 0; k < count; k++) grad[k] += parts[(size_t)j * count + k];
    if (shard + 1 < nshards && MPI_Send(grad, (int)count, MPI_FLOAT, shard + 1, TAG_PREFIX, t->comms.task) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "sending the snapshot gradient prefix of task %d failed", task);
    if (nshards > 1 && MPI_Bcast(grad, (int)count, MPI_FLOAT, nshards - 1, t->comms.task) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "broadcasting the snapshot gradient of task %d failed", task);
done:
    free(parts);
    return err;
}
