/* The MmAP pipeline as the commands run it (clipmtl group / train / run):
 *   phase 1  shared prompts on all tasks, similarity snapshots, grouping -> <run>/similarity.h5
 *   phase 2  the configured multi-task mode, evaluation -> <run>/results.h5 and a table
 * <run> = run.out_dir/run.name. Collective over p->comm (MPI_COMM_WORLD). */
#ifndef CLIPMTL_PIPELINE_H
#define CLIPMTL_PIPELINE_H

#include <mpi.h>

#include "clipmtl/config.h"

typedef struct {
    MPI_Comm comm; /* where the trainers and the grouping run */
    cm_config cfg;
    char *config_text; /* YAML of cfg (cm_config_dump), stored in every output */
    int resume;
} cm_pipeline;

/* argv: [CONFIG.yaml] [--set key=value]... [--resume]. Without a file the embedded demo
 * configuration (experiments/demo.yaml) is used when allow_default, else it is an error. */
cm_err cm_pipeline_setup(cm_pipeline *p, int argc, char **argv, int allow_default);
void cm_pipeline_free(cm_pipeline *p);

/* Phase 1; fills group_of_task[ntasks] (allocated) and ngroups, writes the similarity file. */
cm_err cm_pipeline_group(cm_pipeline *p, int **group_of_task, int *ngroups, int *ntasks);
/* Phase 2 with an optional grouping (NULL: from the configuration: explicit groups or
 * grouping.similarity_file). */
cm_err cm_pipeline_train(cm_pipeline *p, const int *group_of_task, int ngroups);

/* The embedded default (generated from experiments/demo.yaml at build time). */
extern const char cm_demo_config_yaml[];

#endif
