/* The files a run leaves behind (docs/formats.md): the phase-1 similarity file, checkpoints of
 * the trainable parameters and optimizer, and the results file. Task names are stored as one
 * string attribute `tasks`, names separated by newlines. Every dataset of a similarity file or a
 * checkpoint carries its CRC-32 (attribute crc32), checked when it is read back. */
#ifndef CLIPMTL_RUN_FILES_H
#define CLIPMTL_RUN_FILES_H

#include <stdint.h>

#include <mpi.h>

#include "clipmtl/config.h"
#include "clipmtl/error.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/similarity.h"
#include "clipmtl/tensor_table.h"

/* ---- similarity file: written by one process ---- */
cm_err cm_similarity_file_write(const char *path, int ntasks, const char *const *task_names,
                                const cm_similarity_snapshots *snapshots, const double *average,
                                const int *group_of_task /* NULL: not grouped yet */, const char *rule,
                                const char *config_text);

typedef struct {
    int ntasks, count;
    char **task_names;
    int64_t *steps;                  /* [count] */
    double *cosine, *norms, *average; /* [count][N][N], [count][N], [N][N] */
    char *config_text;                /* the configuration of the run that wrote it */
} cm_similarity_record;

/* Reads and checks a similarity file (checksums, shapes, symmetric finite average); errors name
 * the file. */
cm_err cm_similarity_file_read(const char *path, cm_similarity_record *r);
void cm_similarity_record_free(cm_similarity_record *r);

/* ---- checkpoints: collective over comm ---- */
/* What a checkpoint holds besides the parameters and the optimizer: the grouping of a phase-2
 * run and the similarity snapshots of phase 1 so far (either may be absent). The random
 * numbers need no state: every draw comes from a stream of (seed, purpose, task, step, index). */
typedef struct {
    int ntasks;
    const int *group_of_task;                  /* NULL: not grouped */
    const cm_similarity_snapshots *snapshots;  /* NULL or empty: none */
} cm_checkpoint_extras;

/* One dataset per table entry: params/<name>, and the optimizer moments optim/m/<name>
 * (and optim/v/<name> for AdamW); entry i is written by rank owner[i], which holds its current
 * values. Also grouping/group_of_task and similarity/{steps,cosine,norms} from extras, the
 * attributes step and optimizer_steps, and the configuration text. Atomic (h5io checkpoints). */
cm_err cm_checkpoint_write(MPI_Comm comm, const char *dir, int64_t step, int keep, const cm_tensor_table *table,
                           const float *params, const cm_optimizer *opt, const int *owner, const char *config_text,
                           const cm_checkpoint_extras *extras);
/* Reads every entry of table (by name and shape) on every rank, so a run can resume on any
 * number of ranks, checking every checksum and that the attributes step and optimizer_steps are
 * `step` (the step of the file's name). A checkpoint written under other training settings than
 * cfg is refused with CM_ERR_CONFIG (cm_config_check_resume). */
cm_err cm_checkpoint_read(MPI_Comm comm, const char *path, int64_t step, const cm_config *cfg, int allow_config_change,
                          const cm_tensor_table *table, float *params, cm_optimizer *opt);
/* The newest checkpoint of dir that reads back intact (cm_checkpoint_read): a damaged or
 * truncated newer one is skipped with a warning. *found = 0 when dir holds none; an error when
 * it holds some but none is intact, or when the newest intact one is refused for its settings.
 * path[len] receives the file read. */
cm_err cm_checkpoint_read_newest(MPI_Comm comm, const char *dir, const cm_config *cfg, int allow_config_change,
                                 const cm_tensor_table *table, float *params, cm_optimizer *opt, int64_t *step,
                                 char *path, size_t len, int *found);
/* The similarity snapshots a phase-1 checkpoint holds, appended to snaps (none: nothing). */
cm_err cm_checkpoint_read_snapshots(MPI_Comm comm, const char *path, cm_similarity_snapshots *snaps);

/* ---- results: written by one process ---- */
typedef struct {
    int ntasks;
    const char *const *task_names;
    const double *accuracy;   /* [ntasks], percent */
    const int64_t *test_images; /* [ntasks] images each accuracy is over; NULL: not written */
    const double *zeroshot_accuracy; /* [ntasks] the frozen CLIP's on the same images; NULL: not measured */
    int64_t trainable_params, clip_params;
    const int *group_of_task; /* NULL unless grouped */
    double wall_time;
    const char *method, *mode, *config_text;
    int64_t seed;
} cm_results;
cm_err cm_results_write(const char *path, const cm_results *r);

#endif
