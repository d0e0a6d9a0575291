/* The run's log file: everything the process writes to stdout and stderr (its own lines, HDF5's
 * and MPI's messages alike) is also appended to one file. Both descriptors are replaced by pipes;
 * a thread copies what arrives to the original descriptor and to the file, so the terminal sees
 * the same output, in the same order per stream, as without the log. */
#include "clipmtl/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    int open;
    int file;         /* the log */
    int original[2];  /* the process's stdout and stderr before the log */
    int pipe_read[2]; /* what the process writes to fd 1 and 2 arrives here */
    pthread_t copier;
} log_file = {.file = -1};

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* a closed terminal or a full disk must not stop the run */
        buf += w, n -= (size_t)w;
    }
}

static void *copy_output(void *unused)
{
    struct pollfd fds[2] = {{.fd = log_file.pipe_read[0], .events = POLLIN},
                            {.fd = log_file.pipe_read[1], .events = POLLIN}};
    int live = 2;
    char buf[8192];
    while (live > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { /* every writer is gone: cm_log_file_close restored the descriptor */
                fds[i].fd = -1;
                live--;
                continue;
            }
            write_all(log_file.original[i], buf, (size_t)n);
            write_all(log_file.file, buf, (size_t)n);
        }
    }
    return unused;
}

cm_err cm_log_file_open(const char *path)
{
    CM_ASSERT(!log_file.open, CM_ERR_INTERNAL, "%s: a log file is already open", path);
    int file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (file < 0) CM_ERROR(CM_ERR_IO, "%s: cannot open the log: %s", path, strerror(errno));
    /* A resumed run appends to the same log: mark where each start begins. */
    char stamp[64], header[160];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    int len = snprintf(header, sizeof header, "---- %s ----\n", stamp);
    write_all(file, header, (size_t)len);
    fflush(stdout);
    fflush(stderr);
    int p[2][2] = {{-1, -1}, {-1, -1}}, original[2] = {-1, -1};
    for (int i = 0; i < 2; i++)
        if (pipe(p[i]) != 0 || (original[i] = dup(1 + i)) < 0) goto fail;
    for (int i = 0; i < 2; i++)
        if (dup2(p[i][1], 1 + i) < 0) goto restore;
    for (int i = 0; i < 2; i++) {
        close(p[i][1]);
        log_file.pipe_read[i] = p[i][0];
        log_file.original[i] = original[i];
    }
    log_file.file = file;
    if (pthread_create(&log_file.copier, NULL, copy_output, NULL) != 0) {
        for (int i = 0; i < 2; i++) {
            dup2(original[i], 1 + i);
            close(original[i]);
            close(p[i][0]);
        }
        close(file);
        CM_ERROR(CM_ERR_LIB, "%s: cannot start the thread that writes the log", path);
    }
    /* Lines reach the terminal and the file as they are written, not when a buffer fills. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    log_file.open = 1;
    return CM_OK;
restore:
    for (int i = 0; i < 2; i++)
        if (original[i] >= 0) dup2(original[i], 1 + i);
fail:;
    int saved = errno;
    for (int i = 0; i < 2; i++) {
        if (p[i][0] >= 0) close(p[i][0]), close(p[i][1]);
        if (original[i] >= 0) close(original[i]);
    }
    close(file);
    CM_ERROR(CM_ERR_IO, "%s: cannot redirect the output to the log: %s", path, strerror(saved));
}

void cm_log_file_close(void)
{
    if (!log_file.open) return;
    fflush(stdout);
    fflush(stderr);
    /* Restoring 1 and 2 closes the pipes' last write ends: the copier drains them and stops. */
    for (int i = 0; i < 2; i++) dup2(log_file.original[i], 1 + i);
    pthread_join(log_file.copier, NULL);
    for (int i = 0; i < 2; i++) {
        close(log_file.original[i]);
        close(log_file.pipe_read[i]);
    }
    close(log_file.file);
    log_file.open = 0;
    log_file.file = -1;
}
