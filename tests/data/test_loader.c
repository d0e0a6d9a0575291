/* The batch loader: batches follow the documented recipe (epoch permutation, wrapping, shard,
 * per-position augmentation), do not depend on the shard split, the seed decides them, a resume
 * at any step sees the same batch, and errors of the worker thread reach the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/layout.h"
#include "clipmtl/loader.h"
#include "data_test_util.h"
#include "test_util.h"

enum { S = 16, B = 8, STEPS = 8 };
static const size_t IMG = (size_t)3 * S * S;

static const char *build_tree(const char *root, int per_class, int corrupt)
{
    for (int c = 0; c < 3; c++) {
        tree_mkdir(tree_path("%s/D/class%d", root, c));
        for (int i = 0; i < per_class; i++)
            tree_image(tree_path("%s/D/class%d/%02d.%s", root, c, i, i % 2 ? "png" : "jpg"), 17 + 3 * i, 25 - i,
                       (uint32_t)(c * 50 + i), i % 2 == 0);
    }
    if (corrupt) tree_truncated_jpeg(tree_path("%s/D/class1/00b.jpg", root), 30, 30);
    return root;
}

static cm_err open_tree(cm_tasks *t, const char *root, const char *policy)
{
    char set_root[600], set_policy[64];
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", root);
    snprintf(set_policy, sizeof set_policy, "data.bad_data=%s", policy);
    const char *sets[] = {"data.kind=folder", set_root, "data.image_size=16", "data.test_fraction=0", set_policy, NULL};
    return tasks_open_with(t, MPI_COMM_WORLD, sets);
}

/* STEPS batches of shard [start, start + count) from steps first..first+STEPS-1. */
static void run_loader(const cm_tasks *t, int start, int count, uint64_t seed, int64_t first, float *px, int *labels)
{
    cm_loader *l = NULL;
    CM_TEST_OK(cm_loader_create(&l, t, 0, B, start, count, seed));
    if (!l) return;
    for (int64_t k = 0; k < STEPS; k++) {
        double waited = -1;
        CM_TEST_OK(cm_loader_next(l, first + k, px + IMG * count * k, labels + count * k, &waited));
        CM_TEST(waited >= 0, "waited time not reported");
    }
    cm_loader_destroy(l);
}

static void check_batches(const cm_tasks *t)
{
    float *full = malloc(sizeof *full * IMG * B * STEPS), *again = malloc(sizeof *again * IMG * B * STEPS);
    float *shard = malloc(sizeof *shard * IMG * B * STEPS), *joined = malloc(sizeof *joined * IMG * B * STEPS);
    int labels[B * STEPS], labels2[B * STEPS], shard_labels[B * STEPS], joined_labels[B * STEPS];
    run_loader(t, 0, B, 5, 0, full, labels);
    run_loader(t, 0, B, 5, 0, again, labels2);
    CM_TEST(memcmp(full, again, sizeof *full * IMG * B * STEPS) == 0 && memcmp(labels, labels2, sizeof labels) == 0,
            "the same seed gave different batches");
    /* Shards 0..2 of 3 concatenated = the whole batch. */
    for (int s = 0; s < 3; s++) {
        int start, count;
        cm_layout_shard(B, s, 3, &start, &count);
        run_loader(t, start, count, 5, 0, shard, shard_labels);
        for (int k = 0; k < STEPS; k++) {
            memcpy(joined + IMG * (B * k + start), shard + IMG * count * k, sizeof *shard * IMG * count);
            memcpy(joined_labels + B * k + start, shard_labels + count * k, sizeof *shard_labels * count);
        }
    }
    CM_TEST(memcmp(full, joined, sizeof *full * IMG * B * STEPS) == 0 && memcmp(labels, joined_labels, sizeof labels) == 0,
            "shards 0..2 of 3 differ from the whole batch");
    /* Resume at step 3: the batches of steps 3.. are those of the uninterrupted run. */
    run_loader(t, 0, B, 5, 3, again, labels2);
    CM_TEST(memcmp(full + IMG * B * 3, again, sizeof *full * IMG * B * (STEPS - 3)) == 0 &&
                memcmp(labels + B * 3, labels2, sizeof *labels * B * (STEPS - 3)) == 0,
            "a resume at step 3 saw other batches");
    run_loader(t, 0, B, 6, 0, again, labels2);
    CM_TEST(memcmp(full, again, sizeof *full * IMG * B * STEPS) != 0, "another seed gave the same batches");
    /* The recipe: item and augmentation stream of every position, loaded directly. */
    float *px = malloc(sizeof *px * IMG);
    int wrong = 0;
    for (int k = 0; k < STEPS; k++)
        for (int p = 0; p < B; p++) {
            int item = cm_loader_item(t, 0, B, 5, k, p);
            cm_rng rng;
            cm_loader_augment_rng(t, 0, 5, k, p, &rng);
            CM_TEST_OK(cm_tasks_load(t, 0, CM_SPLIT_TRAIN, item, &rng, px));
            wrong += memcmp(px, full + IMG * (B * k + p), sizeof *px * IMG) != 0 ||
                     labels[B * k + p] != cm_tasks_label(t, 0, CM_SPLIT_TRAIN, item);
        }
    CM_TEST(wrong == 0, "%d images of the batches do not follow the documented recipe", wrong);
    free(px), free(full), free(again), free(shard), free(joined);
}

/* With n = 21 training images and B = 7, each epoch's 3 batches show every image once, and the
 * next epoch another order. */
static void check_epochs(const cm_tasks *t)
{
    const int b = 7, n = t->n_train[0];
    CM_TEST(n == 21 && cm_tasks_steps_per_epoch(t, 0, b) == 3, "n_train %d, want 21", n);
    int seen[21] = {0}, same_order = 1;
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < b; p++) {
            int item = cm_loader_item(t, 0, b, 5, k, p);
            if (item >= 0 && item < 21) seen[item]++;
            same_order &= item == cm_loader_item(t, 0, b, 5, k + 3, p);
        }
    int once = 1;
    for (int i = 0; i < 21; i++) once &= seen[i] == 1;
    CM_TEST(once, "an epoch did not show every training image exactly once");
    CM_TEST(!same_order, "two epochs in the same order");
    /* B = 8: the third batch wraps to the start of the permutation. */
    CM_TEST(cm_loader_item(t, 0, 8, 5, 2, 5) == cm_loader_item(t, 0, 8, 5, 0, 0), "the last batch must wrap");
}

static void check_errors(const char *root)
{
    cm_tasks t;
    CM_TEST_OK(open_tree(&t, root, "stop"));
    if (!t.impl) return;
    const int n = t.n_train[0]; /* every batch holds every image: the corrupt one too */
    float *px = malloc(sizeof *px * IMG * n);
    int *labels = malloc(sizeof *labels * n);
    cm_loader *l = NULL;
    CM_TEST_OK(cm_loader_create(&l, &t, 0, n, 0, n, 1));
    cm_err err = cm_loader_next(l, 0, px, labels, NULL);
    CM_TEST(err != CM_OK && strstr(cm_error_message(), "class1/00b.jpg"), "worker error not returned: %s",
            cm_error_message());
    cm_error_clear();
    err = cm_loader_next(l, 4, px, labels, NULL);
    CM_TEST(err != CM_OK, "the loader went on after an error under stop");
    cm_error_clear();
    cm_loader_destroy(l);
    cm_tasks_close(&t);

    CM_TEST_OK(open_tree(&t, root, "skip"));
    if (!t.impl) return;
    CM_TEST_OK(cm_loader_create(&l, &t, 0, n, 0, n, 1));
    CM_TEST_OK(cm_loader_next(l, 0, px, labels, NULL));
    CM_TEST_OK(cm_loader_next(l, 1, px, labels, NULL));
    CM_TEST(cm_tasks_skipped(&t) == 1, "skip: %ld skipped, want 1", cm_tasks_skipped(&t));
    int class1 = 0;
    for (int i = 0; i < n; i++) class1 += labels[i] == 1;
    /* the corrupt class-1 image is replaced by the next item, also of class 1 (00b.jpg < 01.png) */
    CM_TEST(class1 == 6, "skip: %d class-1 labels, want 6 (the replacement's label)", class1);
    cm_loader_destroy(l);
    cm_tasks_close(&t);
    free(px), free(labels);
    cm_error_clear();
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *tmp = cm_test_tmpdir();
    char root[1024], corrupt[1024];
    snprintf(root, sizeof root, "%s/seven", tmp);
    snprintf(corrupt, sizeof corrupt, "%s/corrupt", tmp);
    build_tree(root, 7, 0);
    cm_tasks t;
    CM_TEST_OK(open_tree(&t, root, "stop"));
    if (t.impl) {
        check_batches(&t);
        check_epochs(&t);
        cm_tasks_close(&t);
        printf("ok   loader: recipe, seed, shards 0..2 of 3 = whole batch, resume, epochs\n");
    }
    check_errors(build_tree(corrupt, 5, 1));
    printf("ok   loader: worker errors returned with the file named; skip replaces the image\n");
    tree_remove(tmp);
    MPI_Finalize();
    return cm_test_summary();
}
