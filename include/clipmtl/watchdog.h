/* A watchdog for stalled jobs (run.stall_timeout). A rank that is stopped (SIGSTOP, a hung file
 * system, a dead node that MPI does not notice) leaves the others waiting in a collective call
 * forever. Each rank's trainer marks its progress (cm_watchdog_beat: what it is doing, at which
 * step); a thread checks that the last mark is younger than the timeout and otherwise prints what
 * the rank was waiting in and ends the process, which makes mpirun/srun end the job. Checkpoints
 * are atomic, so the last complete one stays intact. */
#ifndef CLIPMTL_WATCHDOG_H
#define CLIPMTL_WATCHDOG_H

#include <stdint.h>

#include "clipmtl/error.h"

typedef struct cm_watchdog cm_watchdog;

/* Starts the thread; *w = NULL (and no thread) when timeout_seconds <= 0. phase names the phase
 * in the message ("phase2"). */
cm_err cm_watchdog_start(cm_watchdog **w, double timeout_seconds, int rank, const char *phase);
/* Progress: `activity` (a string literal) of the given step begins now. No-op on NULL. */
void cm_watchdog_beat(cm_watchdog *w, const char *activity, int64_t step);
/* Stops and frees (NULL is fine). */
void cm_watchdog_stop(cm_watchdog *w);

#endif
