#include "clipmtl/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int log_rank = 0, log_nranks = 1, log_quiet = 0;

void cm_log_set_rank(int rank, int nranks)
{
    log_rank = rank;
    log_nranks = nranks;
}

void cm_log_set_quiet(int quiet) { log_quiet = quiet; }

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char line[4096];
    vsnprintf(line, sizeof line, fmt, ap);
    if (log_nranks > 1)
        fprintf(stderr, "[%d] %s%s\n", log_rank, level, line);
    else
        fprintf(stderr, "%s%s\n", level, line);
}

void cm_log_info(const char *fmt, ...)
{
    if (log_quiet || log_rank != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void cm_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}

void cm_log_warn_rank0(const char *fmt, ...)
{
    if (log_rank != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}

double cm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
