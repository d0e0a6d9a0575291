/* Shared by the data tests: builders of small dataset trees (folders, images of chosen sizes,
 * split lists, corrupt files), opening tasks from --set style assignments, and the names of a
 * split's images. Failures print and count as test failures. */
#ifndef CLIPMTL_DATA_TEST_UTIL_H
#define CLIPMTL_DATA_TEST_UTIL_H

#include <stdint.h>

#include <mpi.h>

#include "clipmtl/tasks.h"

/* mkdir -p. */
void tree_mkdir(const char *path);
/* A deterministic image of w x h pixels (pattern from seed), as JPEG (quality 90) or PNG. */
void tree_image(const char *path, int w, int h, uint32_t seed, int jpeg);
/* A file with exactly this text / these bytes. */
void tree_text(const char *path, const char *text);
/* A JPEG cut after half of its bytes (libjpeg decodes the header, then fails: "truncated"). */
void tree_truncated_jpeg(const char *path, int w, int h);
/* printf into a static rotating buffer (8 slots). */
const char *tree_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* rm -rf. */
void tree_remove(const char *path);

/* cm_tasks_open with the defaults overlaid by the NULL-terminated assignments ("data.kind=folder"). */
cm_err tasks_open_with(cm_tasks *t, MPI_Comm comm, const char *const *sets);
/* The names (paths relative to the root) of the n images of a task's split, in the order
 * cm_tasks_load numbers them, read back from cm_tasks_write_splits. NULL on failure; free with
 * names_free. */
char **split_names(const cm_tasks *t, int task, int split, int *n);
void names_free(char **names, int n);

#endif
