/* clipmtl group: phase 1 of MmAP, the gradient-driven task grouping. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "pipeline.h"
#include "clipmtl/trainer.h"

int cmd_group(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        printf("usage: clipmtl group CONFIG.yaml [--set key=value]... [--resume [--allow-config-change]]\n\n"
               "Phase 1: trains one prompt set shared by all tasks for multitask.phase1_steps steps; at the\n"
               "snapshot steps every task's gradient on it is reduced over the task's ranks and the cosine\n"
               "similarities (ScaLAPACK Gram matrix) are recorded. Their average is grouped by grouping.rule and\n"
               "written with every snapshot to <run.out_dir>/<run.name>/similarity.h5. --resume continues from\n"
               "the newest phase-1 checkpoint. Run under mpirun/srun.\n"
               CM_PIPELINE_RESUME_HELP);
        return 0;
    }
    cm_pipeline p = {0};
    int *group = NULL, ngroups = 0, ntasks = 0;
    cm_trainer_catch_signals(); /* before MPI_Init: a signal may come while the job starts */
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = cm_pipeline_setup(&p, argc, argv, CM_PIPELINE_RUN_LOG);
    if (err == CM_OK) err = cm_pipeline_group(&p, &group, &ngroups, &ntasks);
    free(group);
    cm_pipeline_free(&p);
    return cm_cli_mpi_exit(err);
}
