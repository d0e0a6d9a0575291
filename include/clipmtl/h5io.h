/* Thin, checked wrappers over (parallel) HDF5 1.10, and atomic checkpoint files.
 *
 * A cm_h5_file is opened collectively on a communicator: with MPI-IO (H5Pset_fapl_mpio) and
 * collective transfers when it has several ranks, with the ordinary POSIX driver when it has one
 * (MPI_COMM_SELF: serial tools, rank-0-only files). Every HDF5 call is checked; an error names
 * the file and the dataset or attribute, with HDF5's own innermost reason, e.g.
 *   run/ckpt-20.h5: dataset prompts/P_s: H5Dopen2 failed (HDF5: object 'P_s' doesn't exist)
 * HDF5's automatic error printing is switched off by the first open.
 *
 * Collective calls: every rank of the file's communicator calls them with the same name, type
 * and shape (HDF5 metadata is collective). Per-rank arguments (the slab a rank writes or reads)
 * are checked on each rank first and the ranks agree before any collective HDF5 call, so one
 * rank's bad slab is an error on every rank instead of a hang. They agree again on the outcome
 * before returning (an allreduce of the status): a write that fails on one rank only, e.g. on
 * a full disk, fails on every rank ("another rank failed"), so no rank goes on to the next
 * collective call while another is cleaning up.
 *
 * Shapes are row-major; a slab is [start, start+count) per dimension; a rank with nothing to
 * transfer passes count with a zero. Names are paths ("prompts/layer0/P_s"); the groups on the
 * way are created as needed. */
#ifndef CLIPMTL_H5IO_H
#define CLIPMTL_H5IO_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <mpi.h>

#include "clipmtl/error.h"

#define CM_H5_MAX_DIMS 8

typedef enum { CM_H5_FLOAT, CM_H5_DOUBLE, CM_H5_INT32, CM_H5_INT64, CM_H5_UINT8 } cm_h5_type;

typedef struct {
    hid_t id;
    MPI_Comm comm;   /* not duplicated: the caller keeps it alive until cm_h5_close */
    int rank, nranks;
    char *path;
    int in_memory;   /* cm_h5_create_small: built by rank 0 in memory */
} cm_h5_file;

/* Collective. Creates (truncating) or opens a file. */
cm_err cm_h5_create(cm_h5_file *f, MPI_Comm comm, const char *path);
/* As cm_h5_create, for files that fit in rank 0's memory (run files, checkpoints): rank 0 builds
 * the file in memory (the other ranks send it the slabs they write) and cm_h5_close writes it
 * whole with plain writes, so that a full disk is an ordinary error on every rank. (A failed
 * flush inside HDF5 1.10 cannot be recovered: with one rank the file cannot be closed and
 * MPI_Finalize crashes on it; with MPI-IO a failure on some ranks only hangs H5Fclose.) Such a
 * file is written, not read back, and strings come from rank 0. */
cm_err cm_h5_create_small(cm_h5_file *f, MPI_Comm comm, const char *path);
cm_err cm_h5_open(cm_h5_file *f, MPI_Comm comm, const char *path, int writable);
/* Collective. Flushes and closes; safe on a zeroed or already closed struct. */
cm_err cm_h5_close(cm_h5_file *f);
/* Collective. Closes and removes a file whose writing failed (error paths, after the ranks agreed
 * on the failure): the caller's error stays the current one. */
void cm_h5_discard(cm_h5_file *f);

/* Collective. A group and the groups above it. */
cm_err cm_h5_create_group(cm_h5_file *f, const char *path);
/* Whether every link of path exists (no error for missing ones). */
cm_err cm_h5_exists(cm_h5_file *f, const char *path, int *exists);

/* Collective. Creates dataset `name` of shape dims (or opens it when it exists with exactly that
 * type and shape) and writes this rank's slab: data holds prod(count) values in row-major order. */
cm_err cm_h5_write(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                   const uint64_t *start, const uint64_t *count, const void *data);
/* Collective. As cm_h5_write, but the whole dataset comes from rank `owner` (data is ignored on
 * the other ranks). */
cm_err cm_h5_write_owner(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                         int owner, const void *data);

/* Type and shape of a dataset. */
cm_err cm_h5_shape(cm_h5_file *f, const char *name, cm_h5_type *type, int *ndims, uint64_t *dims);
/* Collective. Reads this rank's slab of a dataset stored with exactly `type`. */
cm_err cm_h5_read(cm_h5_file *f, const char *name, cm_h5_type type, const uint64_t *start, const uint64_t *count,
                  void *data);
/* Collective. Reads a whole dataset of exactly `type` and `nvalues` values on every rank. */
cm_err cm_h5_read_all(cm_h5_file *f, const char *name, cm_h5_type type, void *data, size_t nvalues);

/* Collective. Attributes of the object at `object` ("/" for the file). Strings are stored as
 * fixed-length, NUL-terminated UTF-8 (h5py reads bytes) of at most CM_H5_MAX_ATTR_BYTES: larger
 * attributes need HDF5's dense storage, which was seen to hang H5Fclose in parallel (the ranks
 * ended with different file sizes); longer texts go to cm_h5_write_text. Every rank passes the
 * same value. */
#define CM_H5_MAX_ATTR_BYTES 60000
cm_err cm_h5_write_attr_string(cm_h5_file *f, const char *object, const char *name, const char *text);
cm_err cm_h5_write_attr_int64(cm_h5_file *f, const char *object, const char *name, int64_t value);
/* The caller frees *text. */
cm_err cm_h5_read_attr_string(cm_h5_file *f, const char *object, const char *name, char **text);
cm_err cm_h5_read_attr_int64(cm_h5_file *f, const char *object, const char *name, int64_t *value);

/* Collective. A text of any length (e.g. the run's configuration) as a scalar fixed-length string
 * dataset, written by rank 0 (every rank passes the same text); read back on every rank (the
 * caller frees *text). */
cm_err cm_h5_write_text(cm_h5_file *f, const char *name, const char *text);
cm_err cm_h5_read_text(cm_h5_file *f, const char *name, char **text);

const char *cm_h5_type_name(cm_h5_type type);

/* Collective. A 1-D dataset of n fixed-length UTF-8 strings (the longest sets the length; h5py
 * reads bytes), written by rank `owner` (strings is ignored on the other ranks; n must agree). */
cm_err cm_h5_write_strings(cm_h5_file *f, const char *name, int n, const char *const *strings, int owner);
/* Collective. Reads such a dataset on every rank: *strings is an array of *n strings, freed by
 * the caller (each string and the array). */
cm_err cm_h5_read_strings(cm_h5_file *f, const char *name, int *n, char ***strings);

/* Where the data of a dataset begins in the file, for reads that bypass the HDF5 library (pread
 * from threads: the library is not thread-safe). The dataset must be stored contiguously and
 * unfiltered (the default layout of cm_h5_write); *offset = UINT64_MAX when it has no storage
 * (no values). */
cm_err cm_h5_raw_offset(cm_h5_file *f, const char *name, uint64_t *offset);

/* ---- atomic checkpoints ----
 * begin creates <dir>/ckpt-<step>.h5.tmp (and dir if needed) with a root attribute "step"; the
 * caller writes datasets into ck->file; end closes it (flushing every rank's data), and once
 * every rank closed it rank 0 syncs and renames it to ckpt-<step>.h5, removes stale .tmp files
 * and complete files of later steps, and keeps the newest `keep` checkpoints. A crash at any
 * point leaves the previous checkpoints as they were. */
typedef struct {
    cm_h5_file file;
    char *dir;
    int64_t step;
    int keep;
} cm_h5_checkpoint;

cm_err cm_h5_checkpoint_begin(cm_h5_checkpoint *ck, MPI_Comm comm, const char *dir, int64_t step, int keep);
cm_err cm_h5_checkpoint_end(cm_h5_checkpoint *ck);
/* Collective. Discards the unfinished file (on an error path, after the ranks agreed on the
 * failure); the caller's error stays the current one. */
void cm_h5_checkpoint_abort(cm_h5_checkpoint *ck);

/* Not collective. Steps of the complete checkpoint files of dir, newest first (*steps is freed by
 * the caller; none when dir does not exist). */
cm_err cm_h5_checkpoint_steps(const char *dir, int64_t **steps, int *n);

/* Not collective. The newest complete checkpoint in dir: the largest step of a file named exactly
 * ckpt-<step>.h5 that carries the HDF5 signature (.tmp files are never considered). *found = 0
 * and no error when there is none (or dir does not exist). */
cm_err cm_h5_checkpoint_latest(const char *dir, char *path, size_t len, int64_t *step, int *found);

#endif
