/* The trainer runs on the communicator it is given: 3 ranks split into a pair and a single rank
 * that train the same tiny configuration (2 tasks of generated shapes, MmAP, shared mode) at the
 * same time into two run folders. Each trainer must see only its own ranks, and the two runs
 * must end with the same parameters and accuracies: the pair splits the tasks between its ranks
 * and sums their gradients, the single rank runs both tasks (a trainer that still used
 * MPI_COMM_WORLD would see 3 ranks and mix its collectives with the other group's). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/synthetic_images.h"
#include "clipmtl/trainer.h"
#include "test_util.h"

enum { NTASKS = 2, STEPS = 4 };

/* A failed collective call on one rank would leave the others waiting: stop the whole job. */
static void must(cm_err err, const char *what)
{
    if (err == CM_OK) return;
    fprintf(stderr, "%s failed: ", what);
    cm_error_print(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); /* inherited by the split */
    int world_rank, world_size;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (world_size != 3) {
        if (world_rank == 0) fprintf(stderr, "run on 3 ranks (tests/run-mpi 3 ...)\n");
        MPI_Finalize();
        return 1;
    }
    char dir[256] = "";
    if (world_rank == 0) {
        snprintf(dir, sizeof dir, "%s", cm_test_tmpdir());
        char data[300];
        snprintf(data, sizeof data, "%s/data", dir);
        must(cm_demo_write_dataset(data, NTASKS, 4, 8, 40, 5), "cm_demo_write_dataset");
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);

    const int group = world_rank < 2 ? 0 : 1; /* ranks 0, 1: the pair; rank 2: alone */
    MPI_Comm comm;
    MPI_Comm_split(MPI_COMM_WORLD, group, world_rank, &comm);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "run: {name: %s, seed: 3, out_dir: \"%s/runs\", log_every: 2, checkpoint_every: 0}\n"
             "model: {preset: tiny, init_seed: 1}\n"
             "data: {kind: folder, root: \"%s/data\", test_fraction: 0.25, image_size: 32}\n"
             "method: {name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 32}}\n"
             "multitask: {mode: shared}\n"
             "optim: {name: sgd, lr: 0.05, batch_size: 6, warmup_epochs: 0, steps: %d}\n"
             "train: {eval_batch_size: 16}\n",
             group == 0 ? "pair" : "single", dir, dir, STEPS);
    cm_config cfg;
    must(cm_config_defaults(&cfg), "cm_config_defaults");
    must(cm_config_read_string(&cfg, yaml, "test.yaml"), "cm_config_read_string");
    must(cm_config_validate(&cfg), "cm_config_validate");

    cm_trainer t;
    double accuracy[NTASKS];
    must(cm_trainer_create(&t, comm, &cfg, "", "phase2", CM_SET_SHARED, NULL, 0, cfg.optim.steps), "cm_trainer_create");
    CM_TEST(t.nranks == (group == 0 ? 2 : 1), "group %d: the trainer sees %d ranks", group, t.nranks);
    CM_TEST(t.tasks.ntasks == NTASKS && t.layout.nlocal == (group == 0 ? 1 : NTASKS),
            "group %d: %d tasks, %d on this rank", group, t.tasks.ntasks, t.layout.nlocal);
    must(cm_trainer_run(&t, NULL, 0, NULL), "cm_trainer_run");
    must(cm_trainer_evaluate(&t, accuracy, NULL), "cm_trainer_evaluate");
    CM_TEST(t.step == STEPS, "group %d: %lld steps", group, (long long)t.step);

    /* Each run wrote its own checkpoint; rank 2's parameters and accuracies meet rank 0's. */
    char path[512];
    snprintf(path, sizeof path, "%s/runs/%s/checkpoints-phase2/ckpt-%d.h5", dir, group == 0 ? "pair" : "single", STEPS);
    int rank_in_group;
    MPI_Comm_rank(comm, &rank_in_group);
    if (rank_in_group == 0) CM_TEST(access(path, R_OK) == 0, "no checkpoint %s", path);
    const size_t P = t.set.table.total;
    if (world_rank == 2) {
        MPI_Send(t.params, (int)P, MPI_FLOAT, 0, 1, MPI_COMM_WORLD);
        MPI_Send(accuracy, NTASKS, MPI_DOUBLE, 0, 2, MPI_COMM_WORLD);
    } else if (world_rank == 0) {
        float *single = malloc(P * sizeof *single);
        double single_accuracy[NTASKS];
        MPI_Recv(single, (int)P, MPI_FLOAT, 2, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Recv(single_accuracy, NTASKS, MPI_DOUBLE, 2, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        /* The same sums of two task gradients in another order at most: float rounding only. */
        cm_test_close("parameters, pair vs single rank", t.params, single, P, 1e-5, 1e-6);
        for (int task = 0; task < NTASKS; task++)
            CM_TEST(accuracy[task] == single_accuracy[task], "task %d: accuracy %.2f (pair) vs %.2f (single)", task,
                    accuracy[task], single_accuracy[task]);
        printf("pair and single rank: %zu parameters agree, accuracies %.1f%% %.1f%%\n", P, accuracy[0], accuracy[1]);
        free(single);
    }
    cm_trainer_destroy(&t);
    cm_config_free(&cfg);
    MPI_Comm_free(&comm);
    int failures = cm_test_summary(), any;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (world_rank == 0) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    MPI_Finalize();
    return any;
}
