/* clipmtl train: phase 2 (or single-task / shared-prompt baselines), then evaluation. */
#include <stdio.h>

#include "cli.h"
#include "pipeline.h"
#include "clipmtl/trainer.h"

int cmd_train(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        printf("usage: clipmtl train CONFIG.yaml [--set key=value]... [--resume [--allow-config-change]]\n\n"
               "Trains the configured prompt method in multitask.mode: single (one prompt set per task), shared\n"
               "(one set for all tasks: CoOp-MT, VPT-MT, MaPLe-MT, MmAP-MT) or grouped (group-shared + task-specific;\n"
               "groups from grouping.rule explicit or from grouping.similarity_file). Logs every run.log_every\n"
               "steps, checkpoints every run.checkpoint_every steps and on SIGTERM/SIGUSR1, evaluates every task\n"
               "on its test split and writes <run.out_dir>/<run.name>/results.h5. Run under mpirun/srun.\n"
               CM_PIPELINE_RESUME_HELP);
        return 0;
    }
    cm_pipeline p = {0};
    cm_trainer_catch_signals(); /* before MPI_Init: a signal may come while the job starts */
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = cm_pipeline_setup(&p, argc, argv, CM_PIPELINE_RUN_LOG);
    if (err == CM_OK) err = cm_pipeline_train(&p, NULL, 0);
    cm_pipeline_free(&p);
    return cm_cli_mpi_exit(err);
}
