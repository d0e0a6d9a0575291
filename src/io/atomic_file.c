#include "clipmtl/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(cm_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fd = -1;
}

cm_err cm_atomic_open(cm_atomic_file *f, const char *path)
{
    f->fd = -1;
    f->path = strdup(path);
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        release(f);
        CM_ERROR(CM_ERR_MEM, "out of memory opening %s", path);
    }
    snprintf(f->tmp_path, n, "%s.tmp.XXXXXX", path);
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        int e = errno;
        release(f);
        CM_ERROR(CM_ERR_IO, "cannot create a temporary file beside %s: %s", path, strerror(e));
    }
    /* mkstemp creates 0600; a saved model is an ordinary shareable file. */
    fchmod(f->fd, 0644);
    return CM_OK;
}

cm_err cm_atomic_write(cm_atomic_file *f, const void *bytes, size_t n)
{
    const char *p = bytes;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) CM_ERROR(CM_ERR_IO, "writing %s: %s", f->tmp_path, w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return CM_OK;
}

/* Makes the rename durable; failure here is not fatal to the data written. */
static void sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

cm_err cm_atomic_commit(cm_atomic_file *f)
{
    char target[4096];
    snprintf(target, sizeof target, "%s", f->path);
    const char *step = "fsync";
    if (fsync(f->fd) != 0) goto fail;
    step = "close";
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) goto fail;
    step = "rename";
    if (rename(f->tmp_path, f->path) != 0) goto fail;
    sync_directory(f->path);
    release(f);
    return CM_OK;
fail:;
    int e = errno;
    cm_atomic_abort(f);
    CM_ERROR(CM_ERR_IO, "writing %s: %s of the temporary file failed: %s", target, step, strerror(e));
}

void cm_atomic_abort(cm_atomic_file *f)
{
    if (f->fd >= 0) close(f->fd);
    if (f->tmp_path) unlink(f->tmp_path);
    release(f);
}
