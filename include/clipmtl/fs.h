/* Paths and folders: the few file-system helpers that the data, io and train parts share. */
#ifndef CLIPMTL_FS_H
#define CLIPMTL_FS_H

#include "clipmtl/error.h"

/* a + '/' + b (malloc); NULL when out of memory. */
char *cm_path_join(const char *a, const char *b);
/* 1 when path names an existing directory / regular file (links followed), else 0. */
int cm_is_directory(const char *path);
int cm_is_file(const char *path);
/* mkdir -p: creates path and its missing parents. Errors name the folder that could not be made,
 * or path when it exists but is not a directory. */
cm_err cm_mkdir_p(const char *path);

#endif
