/* Progress lines for long loops (evaluation, pretraining): done/total, elapsed time and the
 * time left at the average rate so far, at most one line per interval, from rank 0. */
#include "clipmtl/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/log.h"

/* Seconds between two lines; CLIPMTL_PROGRESS_SECONDS overrides (0: a line per update). */
static double progress_interval(void)
{
    const char *env = getenv("CLIPMTL_PROGRESS_SECONDS");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        if (*end == '\0' && v >= 0) return v;
    }
    return 5.0;
}

void cm_progress_start(cm_progress *p, const char *what, const char *unit, int64_t total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->start = p->last = cm_now();
    p->interval = progress_interval();
}

/* "%.1f s" below two minutes, then minutes, then hours. */
static void format_seconds(double s, char *buf, size_t len)
{
    if (s < 120) snprintf(buf, len, "%.1f s", s);
    else if (s < 7200) snprintf(buf, len, "%.1f min", s / 60);
    else snprintf(buf, len, "%.1f h", s / 3600);
}

void cm_progress_format(const cm_progress *p, double now, char *buf, size_t len)
{
    char elapsed[32], left[32];
    const double t = now - p->start;
    format_seconds(t, elapsed, sizeof elapsed);
    if (p->done >= p->total) {
        snprintf(buf, len, "%s: %lld %s in %s", p->what, (long long)p->total, p->unit, elapsed);
        return;
    }
    const double pct = p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 0;
    if (p->done > 0) {
        format_seconds(t * (double)(p->total - p->done) / (double)p->done, left, sizeof left);
        snprintf(buf, len, "%s: %lld/%lld %s (%.0f%%), %s, about %s left", p->what, (long long)p->done,
                 (long long)p->total, p->unit, pct, elapsed, left);
    } else {
        snprintf(buf, len, "%s: 0/%lld %s, %s", p->what, (long long)p->total, p->unit, elapsed);
    }
}

void cm_progress_add(cm_progress *p, int64_t n)
{
    p->done += n;
    const double now = cm_now();
    if (p->done >= p->total || now - p->last < p->interval) return;
    p->last = now;
    char line[256];
    cm_progress_format(p, now, line, sizeof line);
    cm_log_info("%s", line);
}

void cm_progress_end(cm_progress *p)
{
    p->done = p->total;
    char line[256];
    cm_progress_format(p, cm_now(), line, sizeof line);
    cm_log_info("%s", line);
}
