#include "clipmtl/watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clipmtl/exit_status.h"

struct cm_watchdog {
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake; /* signalled by cm_watchdog_stop */
    double timeout, last;
    const char *activity, *phase;
    int64_t step;
    int rank, stop;
};

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void *watch(void *arg)
{
    cm_watchdog *w = arg;
    /* Checked a few times per timeout, at least once a second. */
    double period = w->timeout / 4 < 1 ? w->timeout / 4 : 1;
    pthread_mutex_lock(&w->mutex);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double t = until.tv_sec + 1e-9 * until.tv_nsec + period;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
        pthread_cond_timedwait(&w->wake, &w->mutex, &until);
        double idle = monotonic_now() - w->last;
        if (!w->stop && idle > w->timeout) {
            /* The main thread may sit in any MPI call: no MPI here. Leaving the process makes
             * the launcher end the job. */
            fprintf(stderr,
                    "[rank %d] error: no progress for %.0f s (run.stall_timeout %g s) in %s, step %lld, while %s: "
                    "a rank is stalled or the file system hangs; aborting the job (the last complete "
                    "checkpoint is intact, rerun with --resume)\n",
                    w->rank, idle, w->timeout, w->phase, (long long)w->step, w->activity);
            fflush(stderr);
            _exit(CM_EXIT_FAILURE);
        }
    }
    pthread_mutex_unlock(&w->mutex);
    return NULL;
}

cm_err cm_watchdog_start(cm_watchdog **w, double timeout_seconds, int rank, const char *phase)
{
    *w = NULL;
    if (timeout_seconds <= 0) return CM_OK;
    cm_watchdog *d = calloc(1, sizeof *d);
    if (!d) CM_ERROR(CM_ERR_MEM, "out of memory for the watchdog");
    d->timeout = timeout_seconds, d->rank = rank, d->phase = phase;
    d->activity = "starting", d->last = monotonic_now();
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&d->mutex, NULL);
    pthread_cond_init(&d->wake, &attr);
    pthread_condattr_destroy(&attr);
    int e = pthread_create(&d->thread, NULL, watch, d);
    if (e != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->mutex);
        free(d);
        CM_ERROR(CM_ERR_INTERNAL, "cannot start the watchdog thread: error %d", e);
    }
    *w = d;
    return CM_OK;
}

void cm_watchdog_beat(cm_watchdog *w, const char *activity, int64_t step)
{
    if (!w) return;
    pthread_mutex_lock(&w->mutex);
    w->activity = activity, w->step = step, w->last = monotonic_now();
    pthread_mutex_unlock(&w->mutex);
}

void cm_watchdog_stop(cm_watchdog *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mutex);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mutex);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mutex);
    free(w);
}
