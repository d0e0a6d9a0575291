/* The snapshot gradient over a fixed set of images (grouping.snapshot_images, snapshot_gradient.c)
 * on the real Fashion-MNIST files, a tiny random CLIP and MmAP prompts:
 *   - equals the gradient of one step over all those images at once (within 1e-5 of max|g|: the
 *     micro-batches only change the float summation order);
 *   - is bitwise the same on 1, 2 and 3 ranks: run with OUT.f32 to write it (one rank), with
 *     --compare OUT.f32 on more ranks to compare (tests/train/test_snapshot_gradient.sh).
 * 30 images (3 per class) in micro-batches of 8: 8+8+8+6, so 3 ranks take 2+1+1 micro-batches;
 * also the first 20 images (8+8+4). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/fashion_mnist.h"
#include "clipmtl/train_step.h"
#include "clipmtl/trainer.h"
#include "test_util.h"

/* The gradient of one step over the task's first n training images, on this rank alone. */
static cm_err one_batch_gradient(cm_trainer *t, int n, float *grad)
{
    const cm_clip_config *mc = &t->model.cfg;
    const size_t per = (size_t)3 * mc->image_size * mc->image_size, P = t->set.table.total;
    float *pixels = malloc(per * n * sizeof *pixels), *all = calloc(P, sizeof *all);
    int *labels = malloc((size_t)n * sizeof *labels);
    cm_arena arena = {0};
    cm_err err = CM_OK;
    if (!pixels || !all || !labels) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int loaded;
        CM_CHECK_GOTO(err, cm_tasks_load_item(&t->tasks, 0, CM_SPLIT_TRAIN, i, NULL, pixels + per * i, &loaded), done);
        labels[i] = cm_tasks_label(&t->tasks, 0, CM_SPLIT_TRAIN, loaded);
    }
    CM_CHECK_GOTO(err, cm_arena_create(&arena, cm_task_step_arena_bytes(mc, &t->set, n, t->tasks.nclasses, 0, 1)), done);
    CM_CHECK_GOTO(err, cm_task_step(&t->model, &t->set, 0, t->params, pixels, labels, n, n, t->class_ids, t->tasks.nclasses,
                                    &arena, all, NULL, NULL),
                  done);
    memcpy(grad, all + t->set.methods[0].first, t->set.methods[0].count * sizeof *grad);
done:
    cm_arena_destroy(&arena);
    free(pixels), free(all), free(labels);
    return err;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *out = argc == 2 ? argv[1] : NULL, *compare = argc == 3 && strcmp(argv[1], "--compare") == 0 ? argv[2] : NULL;
    if (!out && !compare) {
        fprintf(stderr, "usage: test_snapshot_gradient OUT.f32 | --compare OUT.f32\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    cm_fmnist_set probe;
    if (cm_fmnist_load(&probe, NULL, 0) != CM_OK) {
        if (rank == 0) printf("skip: %s not installed\n", CM_FMNIST_DEFAULT_DIR);
        MPI_Finalize();
        return 77;
    }
    cm_fmnist_free(&probe);
    /* The run directory beside the file: the same on every rank. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", out ? out : compare);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash : dir, sizeof dir - (size_t)(slash ? slash - dir : 0), "%s", slash ? "/runs" : "runs");
    char text[2048];
    snprintf(text, sizeof text,
             "run: {name: snap, seed: 4, out_dir: \"%s\"}\n"
             "model: {preset: tiny, init_seed: 2}\n"
             "data: {kind: fashion_mnist, domains: [tinted], k_shot: 3, image_size: 32}\n"
             "method: {name: mmap, depth: 2, mmap: {b: 2, m: 2, n: 64}}\n"
             "multitask: {mode: grouped, phase1_steps: 1, snapshot_count: 1}\n"
             "optim: {batch_size: 8, warmup_epochs: 0, steps: 1}\n",
             dir);
    cm_config cfg;
    cm_trainer t;
    if (cm_config_defaults(&cfg) != CM_OK || cm_config_load_string(&cfg, text, "test.yaml") != CM_OK ||
        cm_trainer_create(&t, MPI_COMM_WORLD, &cfg, text, "phase1", CM_SET_SHARED, NULL, 0, 1) != CM_OK) {
        cm_error_print(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const size_t count = t.set.methods[0].count;
    CM_TEST(t.tasks.n_train[0] == 30, "30 training images, got %d", t.tasks.n_train[0]);
    /* Nonzero scaling matrices and source everywhere: perturb the initial prompts a little so that
     * every parameter has a gradient worth comparing. */
    for (size_t k = 0; k < t.set.table.total; k++) t.params[k] += 0.01f * (float)((k * 2654435761u) % 1000) / 1000.0f;
    const int sizes[2] = {0, 20};
    float *grad[2], *whole = malloc(count * sizeof *whole);
    for (int s = 0; s < 2; s++) {
        grad[s] = malloc(count * sizeof *grad[s]);
        CM_TEST_OK(cm_trainer_task_gradient(&t, 0, sizes[s], grad[s]));
        double norm = 0;
        for (size_t k = 0; k < count; k++) norm += (double)grad[s][k] * grad[s][k];
        CM_TEST(norm > 0, "the gradient over %d images is zero", sizes[s] ? sizes[s] : 30);
        if (rank == 0) {
            CM_TEST_OK(one_batch_gradient(&t, sizes[s] ? sizes[s] : 30, whole));
            CM_TEST(cm_test_close_rel_max(sizes[s] ? "first 20 images vs one step over them" : "all 30 images vs one step over them",
                                          grad[s], whole, count, 1e-5),
                    "micro-batch sum differs from the one-step gradient");
        }
    }
    if (rank == 0 && out) {
        FILE *f = fopen(out, "wb");
        CM_TEST(f && fwrite(grad[0], sizeof(float), count, f) == count && fwrite(grad[1], sizeof(float), count, f) == count,
                "cannot write %s", out);
        if (f) fclose(f);
    }
    if (compare) {
        /* Every rank holds the task's gradient (broadcast along its ranks): all must match. */
        float *want = cm_test_read_f32(compare, 2 * count);
        CM_TEST(want != NULL, "cannot read %s", compare);
        if (want) {
            CM_TEST(memcmp(want, grad[0], count * sizeof(float)) == 0, "rank %d: gradient over all images differs bitwise from 1 rank", rank);
            CM_TEST(memcmp(want + count, grad[1], count * sizeof(float)) == 0, "rank %d: gradient over 20 images differs bitwise from 1 rank", rank);
        }
        free(want);
    }
    free(grad[0]), free(grad[1]), free(whole);
    cm_trainer_destroy(&t);
    cm_config_free(&cfg);
    int failures = cm_test_summary(), any;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
