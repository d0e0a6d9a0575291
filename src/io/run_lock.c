#include "clipmtl/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* fcntl locks belong to the process and fall with any descriptor of the file it closes: the
 * locked file is opened once and kept open. */
static int held_fd = -1;
static char held_dir[4096];

cm_err cm_run_lock(const char *dir)
{
    if (held_fd >= 0 && strcmp(held_dir, dir) == 0) return CM_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) CM_ERROR(CM_ERR_IO, "%s: cannot open the run's lock file: %s", path, strerror(errno));
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &lock) != 0) {
        int e = errno;
        char holder[512] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        close(fd); /* this process holds no lock on it: nothing is released */
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (e == EACCES || e == EAGAIN)
            CM_ERROR(CM_ERR_IO, "%s is in use by another run (%s, see %s): wait for it to end, or give this run "
                     "another run.name or run.out_dir", dir, holder[0] ? holder : "holder not recorded", path);
        CM_ERROR(CM_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
    }
    char host[256] = "?", since[64] = "?", text[512];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc)) strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", &utc);
    int len = snprintf(text, sizeof text, "pid %ld on %s since %s\n", (long)getpid(), host, since);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        int e = errno;
        close(fd);
        CM_ERROR(CM_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    if (held_fd >= 0) close(held_fd);
    held_fd = fd;
    snprintf(held_dir, sizeof held_dir, "%s", dir);
    return CM_OK;
}
