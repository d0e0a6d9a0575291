/* A training session on a communicator (MPI_COMM_WORLD for the commands): the model, the tasks
 * and their loaders, the rank/task layout and communicators, one prompt set with its
 * parameters, gradients and optimizer.
 *
 *   phase 1 (clipmtl group): CM_SET_SHARED prompts of the configured method trained on all tasks;
 *            at the snapshot steps every task's gradient (of the step's batch, reduced over its task
 *            communicator, or over a fixed set of its images: grouping.snapshot_images) is taken
 *            and the cosine similarities are recorded;
 *   phase 2 (clipmtl train): CM_SET_GROUPED (group + task prompts), CM_SET_SHARED (X-MT) or
 *            CM_SET_SINGLE (independent tasks), then the test accuracy of every task.
 * Each step every rank runs its tasks' shards (cm_task_step), the gradients meet in
 * cm_reduce_prompt_gradients, each prompt method's gradient is clipped on its own (every rank
 * that holds a method sees the same reduced values, so replicas stay identical), and the rank
 * updates the methods it uses. Checkpoints every run.checkpoint_every steps, at the end, and
 * when SIGTERM or SIGUSR1 arrives (then the step loop stops with CM_ERR_INTERRUPTED). With
 * run.stall_timeout > 0 a watchdog ends the process when a step, checkpoint or evaluation batch
 * does not begin within that time (watchdog.h). */
#ifndef CLIPMTL_TRAINER_H
#define CLIPMTL_TRAINER_H

#include <mpi.h>

#include "clipmtl/arena.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/config.h"
#include "clipmtl/layout.h"
#include "clipmtl/loader.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/prompt_set.h"
#include "clipmtl/similarity.h"
#include "clipmtl/tasks.h"
#include "clipmtl/watchdog.h"

typedef struct {
    MPI_Comm comm;           /* every collective of the session; ranks below are in it */
    const cm_config *cfg;
    const char *config_text; /* the effective YAML, stored in every output file */
    const char *phase;       /* "phase1" or "phase2": names the checkpoint folder */
    char dir[4096];          /* out_dir/name */
    int rank, nranks;
    cm_clip_model model;
    cm_tasks tasks;
    cm_layout layout;
    cm_comms comms;
    cm_prompt_set set;
    float *params, *grads, *task_grad; /* table.total floats each; task_grad: one local task's share */
    cm_optimizer opt;
    cm_schedule schedule;
    int32_t *class_ids; /* [ntasks][C][context]: class sentences carry each task's prompt count */
    cm_loader **loaders; /* [layout.nlocal] */
    cm_arena arena;
    float *pixels;       /* one shard of images */
    int *labels;
    int shard_start, shard_count;
    int *entry_owner;    /* per table entry: the rank that writes it into checkpoints */
    int64_t total_steps, steps_per_epoch, step;
    const int *group_of_task;           /* grouped mode, for checkpoints */
    cm_similarity_snapshots *snapshots; /* phase 1 while cm_trainer_run records them */
    char resumed_from[4400];            /* checkpoint read by cm_trainer_resume, "" if none */
    cm_watchdog *watchdog;              /* run.stall_timeout > 0: from the end of create to destroy */
} cm_trainer;

/* Collective over comm, which must outlive the trainer. mode and grouping as cm_prompt_set_create;
 * grouping NULL unless grouped. total_steps <= 0: optim.epochs epochs of the largest task. */
cm_err cm_trainer_create(cm_trainer *t, MPI_Comm comm, const cm_config *cfg, const char *config_text, const char *phase,
                         cm_set_mode mode, const int *group_of_task, int ngroups, int64_t total_steps);
void cm_trainer_destroy(cm_trainer *t);

/* Collective. Continues from the newest intact checkpoint of this phase when there is one
 * (*resumed = 1); one written under another configuration is refused unless allow_config_change
 * (cm_config_check_resume). */
cm_err cm_trainer_resume(cm_trainer *t, int allow_config_change, int *resumed);

/* Collective. Trains until total_steps. When snapshots is not NULL, the task-gradient cosine
 * similarities are recorded at the steps listed in snapshot_steps[nsnapshots] (1-based: after
 * that many updates, on the gradient of the next batch). */
cm_err cm_trainer_run(cm_trainer *t, const int64_t *snapshot_steps, int nsnapshots, cm_similarity_snapshots *snapshots);

/* Collective over the task communicator (phase 1, shared prompts). grad [set.methods[0].count]
 * = the gradient of the mean loss over the first `images` training images of local task
 * `local` (0 = all of them), without augmentation, at the current parameters; bitwise the same
 * on any number of ranks (snapshot_gradient.c says how). */
cm_err cm_trainer_task_gradient(cm_trainer *t, int local, int images, float *grad);

/* Collective. Top-1 test accuracy (percent) of every task, identical on all ranks; tested (NULL-able)
 * receives the number of test images each accuracy is over (train.test_skip and train.test_images
 * choose them). */
cm_err cm_trainer_evaluate(cm_trainer *t, double *accuracy, int64_t *tested);

/* Makes SIGTERM/SIGUSR1 stop cm_trainer_run after a checkpoint: the calling thread and every
 * thread started after it block both, and a thread of their own takes them (sigwait). Call it
 * first, before MPI_Init: a signal that arrives while the job starts (Slurm's USR1 to a job that
 * has just begun) then stops the run at its first step boundary instead of killing the rank. */
void cm_trainer_catch_signals(void);
/* Collective: rank 0 creates the run directory (and its parents) and takes its run lock; every
 * rank learns the outcome. */
cm_err cm_trainer_make_run_dir(MPI_Comm comm, const char *dir);
/* 1 once SIGTERM or SIGUSR1 has arrived (other step loops, e.g. pretraining, stop on it too). */
int cm_trainer_stop_requested(void);
/* Fault injection for the tests: CLIPMTL_FAULT="kill:RANK:STEP" makes that rank SIGKILL itself
 * after that many steps (a crash), "fail:RANK:STEP" makes it fail with an error there. */
cm_err cm_trainer_inject_fault(int rank, int64_t steps_done);

#endif
