/* Progress of a long loop, printed by rank 0 (cm_log_info) at most every few seconds:
 *   evaluation: 32/64 test images (50%), 7.5 s, about 7.5 s left
 *   evaluation: 64 test images in 15.0 s
 * CLIPMTL_PROGRESS_SECONDS sets the interval (default 5; 0 prints every update).
 *   cm_progress p;
 *   cm_progress_start(&p, "evaluation", "test images", total);
 *   for (...) { ...; cm_progress_add(&p, batch); }
 *   cm_progress_end(&p); */
#ifndef CLIPMTL_PROGRESS_H
#define CLIPMTL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char what[64], unit[32];
    int64_t total, done;
    double start, last, interval; /* cm_now() seconds */
} cm_progress;

void cm_progress_start(cm_progress *p, const char *what, const char *unit, int64_t total);
/* n more units done; prints a line when the interval has passed since the last one. */
void cm_progress_add(cm_progress *p, int64_t n);
/* Prints the closing line (total and time taken). */
void cm_progress_end(cm_progress *p);
/* The line as it would be printed at time `now` (for tests). */
void cm_progress_format(const cm_progress *p, double now, char *buf, size_t len);

#endif
