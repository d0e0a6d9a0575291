/* Writing a file so that readers see either the old file or the complete new
 * one, never a partial write: the bytes go to a temporary file in the same
 * directory, which is fsynced and then renamed over the target (and the
 * directory fsynced, so the rename itself survives a crash). */
#ifndef CLIPMTL_ATOMIC_FILE_H
#define CLIPMTL_ATOMIC_FILE_H

#include <stddef.h>

#include "clipmtl/error.h"

typedef struct {
    int fd;
    char *path;     /* the final name */
    char *tmp_path; /* <path>.tmp.XXXXXX */
} cm_atomic_file;

cm_err cm_atomic_open(cm_atomic_file *f, const char *path);
cm_err cm_atomic_write(cm_atomic_file *f, const void *bytes, size_t n);
/* fsync, close, rename over the target. The object is released either way. */
cm_err cm_atomic_commit(cm_atomic_file *f);
/* Drops the temporary file (safe after a failed write or commit, or twice). */
void cm_atomic_abort(cm_atomic_file *f);

#endif
