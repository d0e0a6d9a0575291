/* HDF5 wrappers on P ranks (run with 1, 2 and 3): datasets written by hyperslabs from every rank
 * (row blocks, column blocks, empty slabs, one owner) are read back exactly on the same ranks with
 * other slabs, on one rank alone (MPI_COMM_SELF) and on P-1 ranks; attributes; exact error
 * messages for missing datasets, wrong types, bad slabs on one rank, truncated and corrupted
 * files; checkpoints: begin/end, abort, keep-K, stale and foreign files, newest complete one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "clipmtl/h5io.h"
#include "test_util.h"

static int rank, nranks;
static char dir[512];

#define ROWS 7
#define COLS 5

/* The value every test expects at (i, j): exact in float. */
static double value_at(int i, int j) { return i * 1000.0 + j + 0.25; }

/* Rows [lo, hi) of part p of n. */
static void block(int total, int parts, int p, int *lo, int *hi)
{
    *lo = (int)((long)total * p / parts);
    *hi = (int)((long)total * (p + 1) / parts);
}

static void write_file(const char *path)
{
    cm_h5_file f;
    CM_TEST_OK(cm_h5_create(&f, MPI_COMM_WORLD, path));
    uint64_t dims[2] = {ROWS, COLS};

    /* float32 by row blocks (3 ranks on 7 rows: 2, 2, 3) */
    int lo, hi;
    block(ROWS, nranks, rank, &lo, &hi);
    float rows[ROWS * COLS];
    for (int i = lo; i < hi; i++)
        for (int j = 0; j < COLS; j++) rows[(i - lo) * COLS + j] = (float)value_at(i, j);
    uint64_t start[2] = {(uint64_t)lo, 0}, count[2] = {(uint64_t)(hi - lo), COLS};
    CM_TEST_OK(cm_h5_write(&f, "prompts/layer0/P_s", CM_H5_FLOAT, 2, dims, start, count, rows));

    /* float64 by column blocks: non-contiguous slabs */
    block(COLS, nranks, rank, &lo, &hi);
    double cols[ROWS * COLS];
    for (int i = 0; i < ROWS; i++)
        for (int j = lo; j < hi; j++) cols[i * (hi - lo) + (j - lo)] = value_at(i, j);
    uint64_t cstart[2] = {0, (uint64_t)lo}, ccount[2] = {ROWS, (uint64_t)(hi - lo)};
    CM_TEST_OK(cm_h5_write(&f, "similarity/S", CM_H5_DOUBLE, 2, dims, cstart, ccount, cols));

    /* int64 of 2 rows on P ranks: with 3 ranks, one rank has an empty slab */
    uint64_t small[1] = {2};
    block(2, nranks, rank, &lo, &hi);
    int64_t ints[2];
    for (int i = lo; i < hi; i++) ints[i - lo] = (int64_t)1 << 40 | i;
    uint64_t sstart[1] = {(uint64_t)lo}, scount[1] = {(uint64_t)(hi - lo)};
    CM_TEST_OK(cm_h5_write(&f, "steps", CM_H5_INT64, 1, small, sstart, scount, ints));

    /* int32 written by the last rank only */
    int32_t owned[6] = {-3, -2, -1, 0, 1, 2};
    uint64_t odims[2] = {2, 3};
    CM_TEST_OK(cm_h5_write_owner(&f, "grouping/group_of_task", CM_H5_INT32, 2, odims, nranks - 1,
                                 rank == nranks - 1 ? owned : NULL));

    /* attributes up to the limit, replaced, and an integer; a text of 1 MB as a dataset */
    size_t big = 1000000;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++) text[i] = (char)('a' + i % 26);
    text[CM_H5_MAX_ATTR_BYTES] = '\0';
    CM_TEST_OK(cm_h5_write_attr_string(&f, "/", "config", text));
    CM_TEST_OK(cm_h5_write_attr_string(&f, "/", "config", "run:\n  name: \"t\"\n")); /* replaced */
    CM_TEST_OK(cm_h5_write_attr_string(&f, "prompts/layer0", "big", text));
    CM_TEST_OK(cm_h5_write_attr_int64(&f, "/", "step", -((int64_t)1 << 50)));
    text[CM_H5_MAX_ATTR_BYTES] = 'x';
    text[CM_H5_MAX_ATTR_BYTES + 1] = '\0';
    char want[700];
    snprintf(want, sizeof want, "%s: attribute big of prompts/layer0: %d bytes is more than %d; use cm_h5_write_text", path,
             CM_H5_MAX_ATTR_BYTES + 1, CM_H5_MAX_ATTR_BYTES);
    CM_TEST(cm_h5_write_attr_string(&f, "prompts/layer0", "big", text) == CM_ERR_ARG && strcmp(cm_error_message(), want) == 0,
            "attribute over the limit: %s", cm_error_message());
    cm_error_clear();
    for (size_t i = CM_H5_MAX_ATTR_BYTES; i < CM_H5_MAX_ATTR_BYTES + 2; i++) text[i] = (char)('a' + i % 26);
    text[big] = '\0';
    CM_TEST_OK(cm_h5_write_text(&f, "run/config", text));
    free(text);
    CM_TEST_OK(cm_h5_create_group(&f, "empty/group"));
    CM_TEST_OK(cm_h5_close(&f));
}

/* Reads everything back on comm (any size) with row blocks of comm's size, reversed. */
static void read_file(const char *path, MPI_Comm comm, const char *label)
{
    int r, p;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &p);
    cm_h5_file f;
    CM_TEST_OK(cm_h5_open(&f, comm, path, 0));
    cm_h5_type type;
    int ndims;
    uint64_t dims[CM_H5_MAX_DIMS];
    CM_TEST_OK(cm_h5_shape(&f, "prompts/layer0/P_s", &type, &ndims, dims));
    CM_TEST(type == CM_H5_FLOAT && ndims == 2 && dims[0] == ROWS && dims[1] == COLS, "%s: shape of P_s", label);

    int lo, hi, bad = 0;
    block(ROWS, p, p - 1 - r, &lo, &hi);
    float rows[ROWS * COLS];
    uint64_t start[2] = {(uint64_t)lo, 0}, count[2] = {(uint64_t)(hi - lo), COLS};
    CM_TEST_OK(cm_h5_read(&f, "prompts/layer0/P_s", CM_H5_FLOAT, start, count, rows));
    for (int i = lo; i < hi; i++)
        for (int j = 0; j < COLS; j++) bad += rows[(i - lo) * COLS + j] != (float)value_at(i, j);
    CM_TEST(bad == 0, "%s: %d wrong floats in rows %d..%d", label, bad, lo, hi);

    double all[ROWS * COLS];
    CM_TEST_OK(cm_h5_read_all(&f, "similarity/S", CM_H5_DOUBLE, all, ROWS * COLS));
    bad = 0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) bad += all[i * COLS + j] != value_at(i, j);
    CM_TEST(bad == 0, "%s: %d wrong doubles", label, bad);

    int64_t ints[2];
    CM_TEST_OK(cm_h5_read_all(&f, "steps", CM_H5_INT64, ints, 2));
    CM_TEST(ints[0] == ((int64_t)1 << 40) && ints[1] == ((int64_t)1 << 40 | 1), "%s: int64 values", label);
    int32_t owned[6];
    CM_TEST_OK(cm_h5_read_all(&f, "grouping/group_of_task", CM_H5_INT32, owned, 6));
    CM_TEST(owned[0] == -3 && owned[5] == 2, "%s: owner-written int32", label);

    char *text = NULL;
    CM_TEST_OK(cm_h5_read_attr_string(&f, "/", "config", &text));
    CM_TEST(text && strcmp(text, "run:\n  name: \"t\"\n") == 0, "%s: config attribute", label);
    free(text);
    CM_TEST_OK(cm_h5_read_attr_string(&f, "prompts/layer0", "big", &text));
    CM_TEST(text && strlen(text) == CM_H5_MAX_ATTR_BYTES && text[CM_H5_MAX_ATTR_BYTES - 1] == (char)('a' + (CM_H5_MAX_ATTR_BYTES - 1) % 26),
            "%s: attribute of the largest size", label);
    free(text);
    CM_TEST_OK(cm_h5_read_text(&f, "run/config", &text));
    int wrong = !text || strlen(text) != 1000000;
    for (size_t i = 0; !wrong && i < 1000000; i++) wrong = text[i] != (char)('a' + i % 26);
    CM_TEST(!wrong, "%s: 1 MB text", label);
    free(text);
    int64_t step = 0;
    CM_TEST_OK(cm_h5_read_attr_int64(&f, "/", "step", &step));
    CM_TEST(step == -((int64_t)1 << 50), "%s: int64 attribute %" PRId64, label, step);
    int exists = -1;
    CM_TEST_OK(cm_h5_exists(&f, "empty/group", &exists));
    CM_TEST(exists == 1, "%s: group exists", label);
    CM_TEST_OK(cm_h5_exists(&f, "empty/none/deeper", &exists));
    CM_TEST(exists == 0, "%s: missing path", label);
    CM_TEST_OK(cm_h5_close(&f));
}

/* Expects err with exactly `want` as the message (and clears it). */
static void expect_message(cm_err err, const char *want, const char *what)
{
    CM_TEST(err != CM_OK && strcmp(cm_error_message(), want) == 0, "%s\n  got:  %s\n  want: %s", what, cm_error_message(),
            want);
    cm_error_clear();
}

/* Expects err whose message starts with `prefix` and contains `part`. */
static void expect_prefix(cm_err err, const char *prefix, const char *part, const char *what)
{
    const char *m = cm_error_message();
    if (getenv("H5IO_SHOW")) fprintf(stderr, "message: %s\n", m);
    CM_TEST(err != CM_OK && strncmp(m, prefix, strlen(prefix)) == 0 && strstr(m, part), "%s\n  got:  %s\n  want: %s...%s",
            what, m, prefix, part);
    cm_error_clear();
}

static void test_errors(const char *path)
{
    char want[1024];
    cm_h5_file f;
    CM_TEST_OK(cm_h5_open(&f, MPI_COMM_WORLD, path, 0));
    float x[ROWS * COLS];
    snprintf(want, sizeof want, "%s: dataset nothere: not found", path);
    expect_message(cm_h5_read_all(&f, "nothere", CM_H5_FLOAT, x, 1), want, "missing dataset");
    snprintf(want, sizeof want, "%s: dataset prompts/layer9/P_s: not found", path);
    expect_message(cm_h5_read_all(&f, "prompts/layer9/P_s", CM_H5_FLOAT, x, 1), want, "missing group on the way");
    snprintf(want, sizeof want, "%s: dataset similarity/S: holds float64, expected float32", path);
    expect_message(cm_h5_read_all(&f, "similarity/S", CM_H5_FLOAT, x, ROWS * COLS), want, "wrong type");
    snprintf(want, sizeof want, "%s: dataset prompts/layer0/P_s: holds 35 values, expected 34", path);
    expect_message(cm_h5_read_all(&f, "prompts/layer0/P_s", CM_H5_FLOAT, x, 34), want, "wrong size");
    snprintf(want, sizeof want, "%s: attribute nothing of /: not found", path);
    char *text;
    expect_message(cm_h5_read_attr_string(&f, "/", "nothing", &text), want, "missing attribute");

    /* A slab outside the dataset on the last rank only: every rank returns an error, none hangs. */
    uint64_t start[2] = {rank == nranks - 1 ? 6 : 0, 0}, count[2] = {2, COLS};
    cm_err err = cm_h5_read(&f, "prompts/layer0/P_s", CM_H5_FLOAT, start, count, x);
    if (rank == nranks - 1)
        snprintf(want, sizeof want, "%s: dataset prompts/layer0/P_s: rank %d's slab [6, 8) in dimension 0 is outside 0..7", path, rank);
    else
        snprintf(want, sizeof want, "%s: prompts/layer0/P_s: another rank failed (see its error)", path);
    expect_message(err, want, "bad slab on one rank");
    CM_TEST_OK(cm_h5_close(&f));

    /* A dataset of another shape cannot be overwritten. */
    CM_TEST_OK(cm_h5_open(&f, MPI_COMM_WORLD, path, 1));
    uint64_t dims[1] = {3}, s0[1] = {0}, c0[1] = {rank == 0 ? 3 : 0};
    snprintf(want, sizeof want, "%s: dataset steps: exists with another type or shape than the int64[1 dims] written", path);
    int64_t v[3] = {1, 2, 3};
    expect_message(cm_h5_write(&f, "steps", CM_H5_INT64, 1, dims, s0, c0, v), want, "rewrite with another shape");
    CM_TEST_OK(cm_h5_close(&f));

    /* Damaged files, made and read on rank 0 alone. */
    if (rank == 0) {
        char damaged[600];
        snprintf(damaged, sizeof damaged, "%s/damaged.h5", dir);
        cm_h5_file g;
        uint64_t big[1] = {100000}, zero[1] = {0};
        float *data = calloc(100000, sizeof *data);
        CM_TEST_OK(cm_h5_create(&g, MPI_COMM_SELF, damaged));
        CM_TEST_OK(cm_h5_write(&g, "weights/w", CM_H5_FLOAT, 1, big, zero, big, data));
        CM_TEST_OK(cm_h5_close(&g));
        /* corrupt the dataset's object header: the file opens, the dataset does not */
        hid_t raw = H5Fopen(damaged, H5F_ACC_RDONLY, H5P_DEFAULT);
        H5O_info_t info;
        CM_TEST(raw >= 0 && H5Oget_info_by_name(raw, "weights/w", &info, H5P_DEFAULT) >= 0, "object info");
        H5Fclose(raw);
        FILE *fp = fopen(damaged, "r+b");
        fseek(fp, (long)info.addr, SEEK_SET);
        for (int i = 0; i < 64; i++) fputc(0xA5, fp);
        fclose(fp);
        CM_TEST_OK(cm_h5_open(&g, MPI_COMM_SELF, damaged, 0));
        snprintf(want, sizeof want, "%s: dataset weights/w: H5Dopen2 failed (HDF5: ", damaged);
        expect_prefix(cm_h5_read_all(&g, "weights/w", CM_H5_FLOAT, data, 100000), want, ")", "corrupt object header");
        CM_TEST_OK(cm_h5_close(&g));

        /* truncate a good file to half: HDF5 refuses to open it */
        CM_TEST_OK(cm_h5_create(&g, MPI_COMM_SELF, damaged));
        CM_TEST_OK(cm_h5_write(&g, "weights/w", CM_H5_FLOAT, 1, big, zero, big, data));
        CM_TEST_OK(cm_h5_close(&g));
        struct stat st;
        stat(damaged, &st);
        CM_TEST(truncate(damaged, st.st_size / 2) == 0, "truncate");
        snprintf(want, sizeof want, "%s: H5Fopen failed (HDF5: ", damaged);
        expect_prefix(cm_h5_open(&g, MPI_COMM_SELF, damaged, 0), want, "truncated file", "truncated file");

        /* not HDF5 at all */
        fp = fopen(damaged, "wb");
        fputs("not an HDF5 file\n", fp);
        fclose(fp);
        expect_prefix(cm_h5_open(&g, MPI_COMM_SELF, damaged, 0), want, "signature", "not an HDF5 file");
        snprintf(want, sizeof want, "%s/none.h5: H5Fopen failed (HDF5: ", dir);
        char none[600];
        snprintf(none, sizeof none, "%s/none.h5", dir);
        expect_prefix(cm_h5_open(&g, MPI_COMM_SELF, none, 0), want, "No such file", "missing file");
        free(data);
        remove(damaged);
    }
}

static int file_exists(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/ckpt/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* One checkpoint of a float vector split over the ranks: value step + i. */
static cm_err write_checkpoint(const char *ckdir, int64_t step, int keep, int finish)
{
    cm_h5_checkpoint ck;
    CM_CHECK(cm_h5_checkpoint_begin(&ck, MPI_COMM_WORLD, ckdir, step, keep));
    uint64_t n[1] = {11};
    int lo, hi;
    block(11, nranks, rank, &lo, &hi);
    float v[11];
    for (int i = lo; i < hi; i++) v[i - lo] = (float)(step + i);
    uint64_t s[1] = {(uint64_t)lo}, c[1] = {(uint64_t)(hi - lo)};
    CM_CHECK(cm_h5_write(&ck.file, "params", CM_H5_FLOAT, 1, n, s, c, v));
    if (finish) CM_CHECK(cm_h5_checkpoint_end(&ck));
    else cm_h5_checkpoint_abort(&ck);
    return CM_OK;
}

static void test_checkpoints(void)
{
    char ckdir[600], path[700];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", dir);
    int64_t step = -1;
    int found = -1;
    CM_TEST_OK(cm_h5_checkpoint_latest(ckdir, path, sizeof path, &step, &found));
    CM_TEST(found == 0, "a missing directory holds no checkpoint");

    CM_TEST_OK(write_checkpoint(ckdir, 10, 2, 1));
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST(file_exists("ckpt-10.h5") && !file_exists("ckpt-10.h5.tmp") && !file_exists("latest"),
            "after step 10: the complete file only");

    /* abandoned: no file left, the previous checkpoint untouched */
    CM_TEST_OK(write_checkpoint(ckdir, 20, 2, 0));
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST(!file_exists("ckpt-20.h5.tmp") && !file_exists("ckpt-20.h5") && file_exists("ckpt-10.h5"),
            "after the abort of step 20: nothing of it left");

    CM_TEST_OK(write_checkpoint(ckdir, 30, 2, 1));
    CM_TEST_OK(write_checkpoint(ckdir, 40, 2, 1));
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST(!file_exists("ckpt-10.h5") && file_exists("ckpt-30.h5") && file_exists("ckpt-40.h5"), "keep 2 of 10, 30, 40");

    /* leftovers of a crashed attempt and of an abandoned later run */
    if (rank == 0) {
        snprintf(path, sizeof path, "%s/ckpt-35.h5.tmp", ckdir);
        FILE *f = fopen(path, "w");
        fputs("partial", f);
        fclose(f);
        char later[700];
        snprintf(later, sizeof later, "%s/ckpt-90.h5", ckdir);
        snprintf(path, sizeof path, "%s/ckpt-40.h5", ckdir);
        char cmd[1600];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, later);
        CM_TEST(system(cmd) == 0, "copy");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST_OK(cm_h5_checkpoint_latest(ckdir, path, sizeof path, &step, &found));
    CM_TEST(found && step == 90, "the newest complete file is found (%" PRId64 ")", step);
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST_OK(write_checkpoint(ckdir, 50, 2, 1));
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST(!file_exists("ckpt-35.h5.tmp") && !file_exists("ckpt-90.h5") && !file_exists("ckpt-30.h5") &&
                file_exists("ckpt-40.h5") && file_exists("ckpt-50.h5"),
            "stale .tmp and the later step removed, 40 and 50 kept");

    /* foreign and unfinished files are never the newest */
    if (rank == 0) {
        snprintf(path, sizeof path, "%s/ckpt-60.h5", ckdir);
        FILE *f = fopen(path, "w");
        fputs("not hdf5", f);
        fclose(f);
        char tmp[700], cmd[1600];
        snprintf(tmp, sizeof tmp, "%s/ckpt-70.h5.tmp", ckdir);
        snprintf(path, sizeof path, "%s/ckpt-50.h5", ckdir);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, tmp);
        CM_TEST(system(cmd) == 0, "copy");
        snprintf(path, sizeof path, "%s/ckpt-x.h5", ckdir);
        f = fopen(path, "w");
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CM_TEST_OK(cm_h5_checkpoint_latest(ckdir, path, sizeof path, &step, &found));
    char want[700];
    snprintf(want, sizeof want, "%s/ckpt-50.h5", ckdir);
    CM_TEST(found && step == 50 && strcmp(path, want) == 0, "latest is %s (step %" PRId64 ")", path, step);

    /* its content, read on one rank */
    if (rank == 0) {
        cm_h5_file f;
        float v[11];
        int64_t stored = -1;
        CM_TEST_OK(cm_h5_open(&f, MPI_COMM_SELF, path, 0));
        CM_TEST_OK(cm_h5_read_all(&f, "params", CM_H5_FLOAT, v, 11));
        CM_TEST_OK(cm_h5_read_attr_int64(&f, "/", "step", &stored));
        CM_TEST_OK(cm_h5_close(&f));
        int bad = stored != 50;
        for (int i = 0; i < 11; i++) bad += v[i] != (float)(50 + i);
        CM_TEST(bad == 0, "checkpoint 50 content (%d wrong)", bad);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (rank == 0) snprintf(dir, sizeof dir, "%s", cm_test_tmpdir());
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);

    char path[600];
    snprintf(path, sizeof path, "%s/slabs.h5", dir);
    write_file(path);
    read_file(path, MPI_COMM_WORLD, "same ranks, other slabs");
    read_file(path, MPI_COMM_SELF, "one rank alone");
    if (nranks > 1) {
        MPI_Comm fewer;
        MPI_Comm_split(MPI_COMM_WORLD, rank < nranks - 1 ? 0 : MPI_UNDEFINED, rank, &fewer);
        if (fewer != MPI_COMM_NULL) {
            read_file(path, fewer, "P-1 ranks");
            MPI_Comm_free(&fewer);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    test_errors(path);
    MPI_Barrier(MPI_COMM_WORLD);
    test_checkpoints();

    int failures = cm_test_failures, total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
        printf("h5io on %d ranks: %d failed checks over all ranks\n", nranks, total);
    }
    int status = cm_test_summary();
    MPI_Finalize();
    return total ? 1 : status;
}
