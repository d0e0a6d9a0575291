/* The MmAP pipeline as the commands run it (clipmtl group / train / run):
 *   phase 1  shared prompts on all tasks, similarity snapshots, grouping -> <run>/similarity.h5
 *   phase 2  the configured multi-task mode, evaluation -> <run>/results.h5 and a table
 * <run> = run.out_dir/run.name. Collective over p->comm (MPI_COMM_WORLD). */
#ifndef CLIPMTL_PIPELINE_H
#define CLIPMTL_PIPELINE_H

#include <mpi.h>

#include "clipmtl/config.h"
#include "clipmtl/exit_status.h"

typedef struct {
    MPI_Comm comm; /* where the trainers and the grouping run */
    cm_config cfg;
    char *config_text; /* YAML of cfg (cm_config_dump), stored in every output */
    int resume;
    int allow_config_change; /* resume from files written under other settings */
} cm_pipeline;

/* Flags of cm_pipeline_setup. */
enum {
    CM_PIPELINE_DEFAULT_CONFIG = 1, /* without a file, the embedded demo configuration */
    CM_PIPELINE_RUN_LOG = 2,        /* rank 0 copies stdout and stderr to <run>/log.txt (appended) */
};
/* argv: [CONFIG.yaml] [--set key=value]... [--resume [--allow-config-change]]. Without a file the embedded demo
 * configuration (experiments/demo.yaml) is used with CM_PIPELINE_DEFAULT_CONFIG, else it is an
 * error. The log, when asked for, is closed by cm_cli_mpi_exit. */
cm_err cm_pipeline_setup(cm_pipeline *p, int argc, char **argv, int flags);
void cm_pipeline_free(cm_pipeline *p);

/* Phase 1; fills group_of_task[ntasks] (allocated) and ngroups, writes the similarity file. */
cm_err cm_pipeline_group(cm_pipeline *p, int **group_of_task, int *ngroups, int *ntasks);
/* Phase 2 with an optional grouping (NULL: from the configuration: explicit groups or
 * grouping.similarity_file). */
cm_err cm_pipeline_train(cm_pipeline *p, const int *group_of_task, int ngroups);

/* The end of the help of run, group and train: resuming, exit statuses, the watchdog. */
#define CM_PIPELINE_STRINGIFY_(x) #x
#define CM_PIPELINE_STRINGIFY(x) CM_PIPELINE_STRINGIFY_(x)
#define CM_PIPELINE_RESUME_HELP                                                                             \
    "\n--resume continues from the newest intact checkpoint (from an older one, with a warning, when the\n" \
    "newest is damaged) and refuses files written under other training settings, naming the keys, unless\n" \
    "--allow-config-change is given too. SIGTERM or SIGUSR1 writes a checkpoint and stops with exit status\n"  \
    CM_PIPELINE_STRINGIFY(CM_EXIT_STOPPED) " (rerun with --resume); any error exits "                         \
    CM_PIPELINE_STRINGIFY(CM_EXIT_FAILURE) ". With run.stall_timeout > 0 a job whose ranks make no\n"        \
    "progress for that many seconds is aborted (its checkpoints stay intact).\n"

/* The embedded default (generated from experiments/demo.yaml at build time). */
extern const char cm_demo_config_yaml[];

#endif
