/* The data path of training, on a generated folder dataset (clipmtl mkdemo's images, JPEG/PNG of
 * SIZE pixels): images per second of the loader thread decoding the files, of the pack (decode +
 * resize once, under mpirun on every rank), of the loader reading the pack (pread) and after a
 * preload, and the share of a simulated training step spent waiting for the next batch.
 * usage: [mpirun -np P] bench_loader [DIR] [--per-class N] [--size PX] [--batch B] [--steps K]
 * Everything is written to DIR (default a fresh folder under $TMPDIR, removed at the end). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mpi.h>

#include "clipmtl/loader.h"
#include "clipmtl/log.h"
#include "clipmtl/pack.h"
#include "clipmtl/synthetic_images.h"

typedef struct {
    int per_class, size, batch, steps;
    char dir[512];
} bench_args;

static double spin(double seconds)
{
    /* a busy step: the loader thread competes for the cores as it would with real compute */
    double start = cm_now(), x = 1;
    while (cm_now() - start < seconds) x = x * 1.0000001 + 1e-9;
    return x;
}

/* images/s of a loader over `steps` batches, and the share of time waited when every step
 * also computes for step_seconds. */
static cm_err measure_loader(const cm_tasks *t, const bench_args *a, double step_seconds, double *rate, double *waited_share)
{
    cm_loader *l;
    CM_CHECK(cm_loader_create(&l, t, 0, a->batch, 0, a->batch, 1));
    size_t floats = (size_t)3 * t->image_size * t->image_size * a->batch;
    float *px = malloc(sizeof *px * floats);
    int *labels = malloc(sizeof *labels * a->batch);
    cm_err err = px && labels ? CM_OK : CM_RAISE(CM_ERR_MEM, "out of memory");
    double waited = 0, sink = 0;
    /* step 0 fills the pipeline; the measurement starts when batch 1 is being prefetched */
    if (err == CM_OK) err = cm_loader_next(l, 0, px, labels, NULL);
    double start = cm_now();
    for (int k = 1; err == CM_OK && k <= a->steps; k++) {
        double w;
        err = cm_loader_next(l, k, px, labels, &w);
        waited += w;
        if (step_seconds > 0) sink += spin(step_seconds);
    }
    double total = cm_now() - start;
    *rate = (double)a->batch * a->steps / total;
    *waited_share = waited / total;
    cm_loader_destroy(l);
    free(px), free(labels);
    if (sink < 0) printf("%g", sink); /* keeps the spin */
    CM_CHECK(err);
    return CM_OK;
}

static cm_err open_tasks(cm_tasks *t, const bench_args *a, const char *packed)
{
    cm_config c;
    CM_CHECK(cm_config_defaults(&c));
    char root[700], pack[700];
    snprintf(root, sizeof root, "data.root=\"%s/demo\"", a->dir);
    snprintf(pack, sizeof pack, "data.packed=\"%s\"", packed ? packed : "");
    cm_err err = cm_config_set(&c, "data.kind=folder");
    if (err == CM_OK) err = cm_config_set(&c, root);
    if (err == CM_OK) err = cm_config_set(&c, pack);
    if (err == CM_OK) err = cm_config_set(&c, "data.test_fraction=0.2");
    if (err == CM_OK) err = cm_tasks_open(t, &c.data, 1, MPI_COMM_WORLD);
    cm_config_free(&c);
    return err;
}

static cm_err run(const bench_args *a, int rank, int nranks)
{
    char demo[600], pack[600];
    snprintf(demo, sizeof demo, "%s/demo", a->dir);
    snprintf(pack, sizeof pack, "%s/demo.h5", a->dir);
    if (rank == 0) {
        double t0 = cm_now();
        CM_CHECK(cm_demo_write_dataset(demo, 2, 8, a->per_class, a->size, 1));
        printf("dataset: 2 domains x 8 classes x %d images of %d px wide (JPEG/PNG), written in %.1f s\n", a->per_class,
               a->size, cm_now() - t0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    cm_tasks t;
    CM_CHECK(open_tasks(&t, a, NULL));
    double rate, share;
    if (rank == 0) {
        CM_CHECK(measure_loader(&t, a, 0, &rate, &share));
        printf("loader, decoding files:   %7.1f images/s (batch %d, %d steps, 1 worker thread, 224 px)\n", rate, a->batch,
               a->steps);
        double batch_time = a->batch / rate;
        for (double f = 0.5; f <= 2.0; f *= 2) {
            CM_CHECK(measure_loader(&t, a, f * batch_time, &rate, &share));
            printf("  step of %.2f s (%.1fx the batch time): %4.1f%% of the time waiting\n", f * batch_time, f,
                   100 * share);
        }
    }
    cm_tasks_close(&t);
    MPI_Barrier(MPI_COMM_WORLD);

    cm_pack_options o = {.train_pool = 1};
    cm_pack_stats st;
    CM_CHECK(cm_pack_write(&(cm_config_data){.kind = CM_DATA_FOLDER, .root = demo, .train_fraction = 1,
                                            .test_fraction = 0.2, .split_seed = 1, .image_size = 224,
                                            .bad_data = CM_BAD_DATA_STOP, .packed = ""},
                           &o, pack, MPI_COMM_WORLD, &st));
    struct stat fs;
    stat(pack, &fs);
    if (rank == 0)
        printf("pack on %d rank(s): %ld images in %.2f s = %.1f images/s (decode+resize %.2f s on the slowest rank), "
               "%.1f MB file\n",
               nranks, st.images, st.seconds, st.images / st.seconds, st.decode_seconds, fs.st_size / 1e6);

    CM_CHECK(open_tasks(&t, a, pack));
    if (rank == 0) {
        CM_CHECK(measure_loader(&t, a, 0, &rate, &share));
        printf("loader, packed (pread):   %7.1f images/s (RandomResizedCrop 256 -> 224 + normalise)\n", rate);
    }
    int all[CM_DEMO_MAX_DOMAINS];
    for (int k = 0; k < t.ntasks; k++) all[k] = k;
    double t0 = cm_now();
    CM_CHECK(cm_tasks_preload(&t, MPI_COMM_WORLD, t.ntasks, all));
    double preload = cm_now() - t0;
    double bytes = 0;
    for (int k = 0; k < t.ntasks; k++)
        bytes += (double)t.n_test[k] * 224 * 224 * 3 + (double)(t.n_train[k]) * 256 * 256 * 3;
    if (rank == 0) {
        printf("preload (collective HDF5 reads of every task, %d rank(s)): %.3f s, %.0f MB/s per rank (train split "
               "only counts the used pool)\n",
               nranks, preload, bytes / preload / 1e6);
        CM_CHECK(measure_loader(&t, a, 0, &rate, &share));
        printf("loader, preloaded:        %7.1f images/s\n", rate);
        size_t floats = (size_t)3 * 224 * 224;
        float *px = malloc(sizeof *px * floats);
        int n = 0;
        t0 = cm_now();
        for (int k = 0; k < t.ntasks; k++)
            for (int i = 0; i < t.n_test[k]; i++, n++) CM_CHECK(cm_tasks_load(&t, k, CM_SPLIT_TEST, i, NULL, px));
        printf("test split from the preloaded pack: %.1f images/s (normalise only)\n", n / (cm_now() - t0));
        free(px);
    }
    cm_tasks_close(&t);
    return CM_OK;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    bench_args a = {.per_class = 12, .size = 400, .batch = 32, .steps = 12};
    int own_dir = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--per-class") == 0 && i + 1 < argc) a.per_class = atoi(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) a.size = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) a.batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) a.steps = atoi(argv[++i]);
        else if (argv[i][0] != '-') snprintf(a.dir, sizeof a.dir, "%s", argv[i]), own_dir = 0;
        else {
            fprintf(stderr, "usage: bench_loader [DIR] [--per-class N] [--size PX] [--batch B] [--steps K]\n");
            MPI_Finalize();
            return 2;
        }
    }
    if (own_dir && rank == 0) {
        const char *base = getenv("TMPDIR");
        snprintf(a.dir, sizeof a.dir, "%s/clipmtl-bench-loader-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(a.dir)) a.dir[0] = '\0';
    }
    MPI_Bcast(a.dir, sizeof a.dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    cm_err err = a.dir[0] ? run(&a, rank, nranks) : CM_RAISE(CM_ERR_IO, "no folder");
    if (err != CM_OK) {
        cm_error_print(stderr);
        if (nranks > 1) MPI_Abort(MPI_COMM_WORLD, 1); /* the other ranks may wait in a collective */
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (own_dir && rank == 0) nftw(a.dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    MPI_Finalize();
    return err == CM_OK ? 0 : 1;
}
