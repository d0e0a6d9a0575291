/* Helper of test_h5_crash.sh: writes, crashes in the middle of, or verifies a checkpoint of a
 * float vector split over the ranks (value step + i).
 *   h5_checkpoint_tool DIR write STEP    begin, write, end (keep 2)
 *   h5_checkpoint_tool DIR crash STEP    begin, write, then MPI_Abort before end
 *   h5_checkpoint_tool DIR verify STEP   the newest complete checkpoint is STEP, content exact */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/h5io.h"
#include "test_util.h"

#define N 1000

static int rank, nranks;

static void block(int p, int *lo, int *hi)
{
    *lo = (int)((long)N * p / nranks);
    *hi = (int)((long)N * (p + 1) / nranks);
}

static cm_err write_step(const char *dir, int64_t step, int crash)
{
    cm_h5_checkpoint ck;
    CM_CHECK(cm_h5_checkpoint_begin(&ck, MPI_COMM_WORLD, dir, step, 2));
    int lo, hi;
    block(rank, &lo, &hi);
    float v[N];
    for (int i = lo; i < hi; i++) v[i - lo] = (float)(step + i);
    uint64_t n[1] = {N}, s[1] = {(uint64_t)lo}, c[1] = {(uint64_t)(hi - lo)};
    CM_CHECK(cm_h5_write(&ck.file, "params", CM_H5_FLOAT, 1, n, s, c, v));
    CM_CHECK(cm_h5_write_attr_string(&ck.file, "/", "config", "run:\n  name: \"crash\"\n"));
    if (crash) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) fprintf(stderr, "h5_checkpoint_tool: aborting on purpose before the end of step %" PRId64 "\n", step);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    CM_CHECK(cm_h5_checkpoint_end(&ck));
    return CM_OK;
}

static cm_err verify_step(const char *dir, int64_t want)
{
    char path[4096];
    int64_t step;
    int found;
    CM_CHECK(cm_h5_checkpoint_latest(dir, path, sizeof path, &step, &found));
    CM_ASSERT(found && step == want, CM_ERR_FORMAT, "%s: newest complete checkpoint is %" PRId64 " (found %d), expected %" PRId64,
              dir, step, found, want);
    cm_h5_file f;
    CM_CHECK(cm_h5_open(&f, MPI_COMM_WORLD, path, 0));
    int lo, hi;
    block(nranks - 1 - rank, &lo, &hi);
    float v[N];
    uint64_t s[1] = {(uint64_t)lo}, c[1] = {(uint64_t)(hi - lo)};
    CM_CHECK(cm_h5_read(&f, "params", CM_H5_FLOAT, s, c, v));
    int64_t stored;
    CM_CHECK(cm_h5_read_attr_int64(&f, "/", "step", &stored));
    CM_CHECK(cm_h5_close(&f));
    CM_ASSERT(stored == want, CM_ERR_FORMAT, "%s: step attribute %" PRId64, path, stored);
    for (int i = lo; i < hi; i++)
        CM_ASSERT(v[i - lo] == (float)(want + i), CM_ERR_FORMAT, "%s: params[%d] = %g, expected %g", path, i, v[i - lo],
                  (double)(want + i));
    return CM_OK;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (argc != 4) {
        if (rank == 0) fprintf(stderr, "usage: h5_checkpoint_tool DIR write|crash|verify STEP\n");
        MPI_Finalize();
        return 2;
    }
    int64_t step = strtoll(argv[3], NULL, 10);
    cm_err err = strcmp(argv[2], "verify") == 0 ? verify_step(argv[1], step)
                                                 : write_step(argv[1], step, strcmp(argv[2], "crash") == 0);
    if (err != CM_OK) {
        fprintf(stderr, "rank %d: ", rank);
        cm_error_print(stderr);
    }
    int bad = err != CM_OK, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
