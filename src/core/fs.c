#include "clipmtl/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *cm_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 2);
    if (!out) return NULL;
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return out;
}

int cm_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cm_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

cm_err cm_mkdir_p(const char *path)
{
    CM_ASSERT(path[0], CM_ERR_ARG, "cannot create a folder with an empty name");
    char *prefix = strdup(path);
    CM_ASSERT(prefix, CM_ERR_MEM, "out of memory copying %s", path);
    cm_err err = CM_OK;
    /* Each prefix that ends before a '/', then the whole path. EEXIST is fine here: a file in the
     * way is caught by the last check. */
    for (char *p = prefix + 1; err == CM_OK; p++) {
        if (*p != '/' && *p != '\0') continue;
        const char end = *p;
        *p = '\0';
        if (mkdir(prefix, 0777) != 0 && errno != EEXIST)
            err = end ? CM_RAISE(CM_ERR_IO, "%s: cannot create its folder %s: %s", path, prefix, strerror(errno))
                      : CM_RAISE(CM_ERR_IO, "%s: cannot create the folder: %s", path, strerror(errno));
        *p = end;
        if (!end) break;
    }
    free(prefix);
    if (err != CM_OK) return err;
    CM_ASSERT(cm_is_directory(path), CM_ERR_IO, "%s: exists and is not a folder", path);
    return CM_OK;
}
