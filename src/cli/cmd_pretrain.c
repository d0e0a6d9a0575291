/* clipmtl pretrain: CLIP's contrastive pretraining on captioned Fashion-MNIST (pretrain.h). */
#include <stdio.h>

#include "cli.h"
#include "pipeline.h"
#include "clipmtl/pretrain.h"
#include "clipmtl/trainer.h"

int cmd_pretrain(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        printf("usage: clipmtl pretrain CONFIG.yaml [--set key=value]... [--resume]\n\n"
               "Pretrains both towers of the model.preset CLIP with CLIP's symmetric contrastive loss on\n"
               "Fashion-MNIST training images data.pretrain_images (original domain), each captioned from\n"
               "pretrain.templates with attribute augmentations (colour, size and position, darkness) named in\n"
               "the caption. Data-parallel: each rank encodes its share of pretrain.batch_size pairs; the loss\n"
               "is the whole batch's on any number of ranks. Logs every run.log_every steps, evaluates zero-shot\n"
               "top-1 on original-domain test images every pretrain.eval_every steps and at the end, checkpoints\n"
               "every run.checkpoint_every steps and on SIGTERM/SIGUSR1, and writes\n"
               "<run.out_dir>/<run.name>/model.safetensors (use it as model.weights); pretrain.save_model_at\n"
               "also writes model-step<N>.safetensors at step N, and pretrain.stop_after pauses the run after\n"
               "that step for --resume to continue. Run under mpirun/srun.\n");
        return 0;
    }
    cm_pipeline pl = {0};
    cm_pretrainer p = {0};
    cm_trainer_catch_signals(); /* before MPI_Init: a signal may come while the job starts */
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = cm_pipeline_setup(&pl, argc, argv, 0);
    if (err == CM_OK) err = cm_pretrainer_create(&p, MPI_COMM_WORLD, &pl.cfg, pl.config_text);
    int resumed = 0;
    if (err == CM_OK && pl.resume) err = cm_pretrainer_resume(&p, pl.allow_config_change, &resumed);
    if (err == CM_OK) err = cm_pretrainer_run(&p);
    cm_pretrainer_destroy(&p);
    cm_pipeline_free(&pl);
    return cm_cli_mpi_exit(err);
}
