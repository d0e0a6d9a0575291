/* Atomic checkpoint files: write to ckpt-<step>.h5.tmp, close, sync, rename. A complete
 * checkpoint is exactly a file named ckpt-<step>.h5: it only gets that name after every rank's
 * data is closed into it, so the directory listing is the only index (no pointer file that could
 * disagree with it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/fs.h"
#include "clipmtl/h5io.h"
#include "h5io_internal.h"

/* "ckpt-<digits>.h5" (complete) or "ckpt-<digits>.h5.tmp" (unfinished); 0 for anything else. */
static int parse_name(const char *name, int64_t *step, int *unfinished)
{
    if (strncmp(name, "ckpt-", 5) != 0) return 0;
    const char *p = name + 5, *digits = p;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (INT64_MAX - 9) / 10) return 0;
        v = 10 * v + (*p++ - '0');
    }
    if (p == digits) return 0;
    if (strcmp(p, ".h5") == 0) *unfinished = 0;
    else if (strcmp(p, ".h5.tmp") == 0) *unfinished = 1;
    else return 0;
    *step = v;
    return 1;
}

static int compare_descending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Steps of the complete (or, with unfinished = 1, unfinished) checkpoints in dir, newest first.
 * A missing directory holds none. */
static cm_err list_steps(const char *dir, int unfinished, int64_t **steps, int *n)
{
    *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return CM_OK;
        CM_ERROR(CM_ERR_IO, "%s: cannot list the checkpoint directory: %s", dir, strerror(errno));
    }
    int capacity = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t step;
        int tmp;
        if (!parse_name(e->d_name, &step, &tmp) || tmp != unfinished) continue;
        if (*n == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            int64_t *grown = realloc(*steps, (size_t)capacity * sizeof *grown);
            if (!grown) {
                closedir(d);
                free(*steps);
                *steps = NULL;
                CM_ERROR(CM_ERR_MEM, "%s: out of memory listing checkpoints", dir);
            }
            *steps = grown;
        }
        (*steps)[(*n)++] = step;
    }
    closedir(d);
    if (*n > 1) qsort(*steps, (size_t)*n, sizeof **steps, compare_descending);
    return CM_OK;
}

static void checkpoint_path(const char *dir, int64_t step, int unfinished, char *buf, size_t len)
{
    snprintf(buf, len, "%s/ckpt-%" PRId64 ".h5%s", dir, step, unfinished ? ".tmp" : "");
}

/* Flushes a file or directory to stable storage, so that a rename cannot outlive its data. */
static cm_err sync_path(const char *path, int directory)
{
    int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) CM_ERROR(CM_ERR_IO, "%s: cannot open to sync: %s", path, strerror(errno));
    int failed = fsync(fd) != 0 && errno != EINVAL; /* some file systems cannot sync directories */
    int saved = errno;
    close(fd);
    if (failed) CM_ERROR(CM_ERR_IO, "%s: fsync failed: %s", path, strerror(saved));
    return CM_OK;
}

/* Rank 0's status reaches every rank; the others return an error naming it. */
static cm_err share_status(MPI_Comm comm, int rank, cm_err status, const char *what)
{
    int code = (int)status;
    if (MPI_Bcast(&code, 1, MPI_INT, 0, comm) != MPI_SUCCESS) CM_ERROR(CM_ERR_MPI, "%s: MPI_Bcast failed", what);
    if (rank == 0) return status;
    if (code != CM_OK) CM_ERROR((cm_err)code, "%s: rank 0 failed (see its error)", what);
    return CM_OK;
}

cm_err cm_h5_checkpoint_begin(cm_h5_checkpoint *ck, MPI_Comm comm, const char *dir, int64_t step, int keep)
{
    memset(ck, 0, sizeof *ck);
    ck->file.id = H5I_INVALID_HID;
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (step < 0 || keep < 1) CM_ERROR(CM_ERR_ARG, "%s: checkpoint step %" PRId64 " and keep %d (need >= 0 and >= 1)", dir, step, keep);
    CM_CHECK(share_status(comm, rank, rank == 0 ? cm_mkdir_p(dir) : CM_OK, dir));
    ck->dir = strdup(dir);
    if (!ck->dir) CM_ERROR(CM_ERR_MEM, "out of memory copying %s", dir);
    ck->step = step;
    ck->keep = keep;
    char path[4096];
    checkpoint_path(dir, step, 1, path, sizeof path);
    cm_err err = CM_OK;
    CM_CHECK_GOTO(err, cm_h5_create_small(&ck->file, comm, path), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_int64(&ck->file, "/", "step", step), fail);
    return CM_OK;
fail:
    cm_h5_checkpoint_abort(ck);
    return err;
}

/* Rank 0, after every rank closed the file: rename, clean-up. */
static cm_err publish(const char *dir, int64_t step, int keep)
{
    char tmp[4096], final[4096];
    checkpoint_path(dir, step, 1, tmp, sizeof tmp);
    checkpoint_path(dir, step, 0, final, sizeof final);
    CM_CHECK(sync_path(tmp, 0));
    if (rename(tmp, final) != 0) CM_ERROR(CM_ERR_IO, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
    CM_CHECK(sync_path(dir, 1));

    /* Unfinished files are left by crashed attempts (one writer per directory). Complete ones
     * of later steps belong to an abandoned run that was resumed from an earlier step: they
     * would otherwise be taken for the newest. Of the rest, the newest `keep` stay. */
    int64_t *steps;
    int n;
    CM_CHECK(list_steps(dir, 1, &steps, &n));
    for (int i = 0; i < n; i++) {
        checkpoint_path(dir, steps[i], 1, tmp, sizeof tmp);
        if (unlink(tmp) != 0 && errno != ENOENT) {
            free(steps);
            CM_ERROR(CM_ERR_IO, "%s: cannot remove: %s", tmp, strerror(errno));
        }
    }
    free(steps);
    CM_CHECK(list_steps(dir, 0, &steps, &n));
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (steps[i] <= step && kept < keep) {
            kept += 1;
            continue;
        }
        checkpoint_path(dir, steps[i], 0, final, sizeof final);
        if (unlink(final) != 0 && errno != ENOENT) {
            free(steps);
            CM_ERROR(CM_ERR_IO, "%s: cannot remove: %s", final, strerror(errno));
        }
    }
    free(steps);
    return CM_OK;
}

cm_err cm_h5_checkpoint_end(cm_h5_checkpoint *ck)
{
    MPI_Comm comm = ck->file.comm;
    int rank = ck->file.rank;
    char what[4200];
    snprintf(what, sizeof what, "%s: checkpoint %" PRId64, ck->dir ? ck->dir : "?", ck->step);
    /* Every rank's data is in the file before rank 0 renames it (the close agrees across ranks). */
    cm_err err = cm_h5_close(&ck->file);
    if (err == CM_OK) {
        err = share_status(comm, rank, rank == 0 ? publish(ck->dir, ck->step, ck->keep) : CM_OK, what);
    } else if (rank == 0) { /* the space it holds may be what is missing */
        char tmp[4096];
        checkpoint_path(ck->dir, ck->step, 1, tmp, sizeof tmp);
        unlink(tmp);
    }
    free(ck->dir);
    ck->dir = NULL;
    CM_CHECK(err);
    return CM_OK;
}

void cm_h5_checkpoint_abort(cm_h5_checkpoint *ck)
{
    cm_h5_discard(&ck->file);
    free(ck->dir);
    ck->dir = NULL;
}

cm_err cm_h5_checkpoint_steps(const char *dir, int64_t **steps, int *n)
{
    CM_CHECK(list_steps(dir, 0, steps, n));
    return CM_OK;
}

cm_err cm_h5_checkpoint_latest(const char *dir, char *path, size_t len, int64_t *step, int *found)
{
    cm_h5_quiet();
    *found = 0;
    int64_t *steps;
    int n;
    CM_CHECK(list_steps(dir, 0, &steps, &n));
    for (int i = 0; i < n && !*found; i++) {
        char candidate[4096];
        checkpoint_path(dir, steps[i], 0, candidate, sizeof candidate);
        if (H5Fis_hdf5(candidate) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            continue; /* not an HDF5 file: not one of ours */
        }
        if ((size_t)snprintf(path, len, "%s", candidate) >= len) {
            free(steps);
            CM_ERROR(CM_ERR_ARG, "%s: path buffer of %zu bytes is too small", candidate, len);
        }
        *step = steps[i];
        *found = 1;
    }
    free(steps);
    return CM_OK;
}
