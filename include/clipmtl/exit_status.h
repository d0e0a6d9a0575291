/* Exit statuses of the clipmtl commands that job scripts act on (README, `clipmtl run --help`). */
#ifndef CLIPMTL_EXIT_STATUS_H
#define CLIPMTL_EXIT_STATUS_H

/* Any error. */
#define CM_EXIT_FAILURE 1
/* Stopped cleanly on SIGTERM or SIGUSR1 after writing a checkpoint: not a failure, rerun with
 * --resume (a batch script requeues the job). 75 is EX_TEMPFAIL of sysexits.h. */
#define CM_EXIT_STOPPED 75

#endif
