/* clipmtl run: the whole pipeline, phase 1 (grouping) -> phase 2 (training) -> evaluation. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "pipeline.h"
#include "clipmtl/trainer.h"

int cmd_run(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        printf("usage: clipmtl run [CONFIG.yaml] [--set key=value]... [--resume [--allow-config-change]]\n\n"
               "The MmAP pipeline: in multitask.mode grouped, phase 1 (clipmtl group) unless the groups are\n"
               "given (grouping.rule explicit or grouping.similarity_file), then phase 2 (clipmtl train) with\n"
               "group-shared + task-specific prompts, then the results table. Other modes train directly.\n"
               "Without CONFIG the embedded demo (experiments/demo.yaml) runs. --resume continues each phase\n"
               "from its newest checkpoint (a finished phase 1 is reused). Run under mpirun/srun.\n"
               CM_PIPELINE_RESUME_HELP);
        return 0;
    }
    cm_pipeline p = {0};
    int *group = NULL, ngroups = 0, ntasks = 0;
    cm_trainer_catch_signals(); /* before MPI_Init: a signal may come while the job starts */
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = cm_pipeline_setup(&p, argc, argv, CM_PIPELINE_DEFAULT_CONFIG | CM_PIPELINE_RUN_LOG);
    const cm_config *c = &p.cfg;
    if (err == CM_OK && c->multitask.mode == CM_MULTITASK_GROUPED && c->grouping.options.rule != CM_GROUPING_EXPLICIT &&
        !(c->grouping.similarity_file && c->grouping.similarity_file[0]))
        err = cm_pipeline_group(&p, &group, &ngroups, &ntasks);
    if (err == CM_OK) err = cm_pipeline_train(&p, group, ngroups);
    free(group);
    cm_pipeline_free(&p);
    return cm_cli_mpi_exit(err);
}
