/* Logging. Messages go to stderr prefixed by the MPI rank when there is more
 * than one; cm_log_info prints on rank 0 only, cm_log_warn on every rank. */
#ifndef CLIPMTL_LOG_H
#define CLIPMTL_LOG_H

#include "clipmtl/error.h"

void cm_log_set_rank(int rank, int nranks);
void cm_log_set_quiet(int quiet);
void cm_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cm_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning every rank would repeat (configuration, data): printed by rank 0 only. */
void cm_log_warn_rank0(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* From here on, everything written to stdout and stderr is also appended to `path` (a run's
 * log.txt; rank 0). cm_log_file_close drains it and restores the descriptors; call it before
 * the process exits or aborts, or the last lines may not reach the terminal or the file. */
cm_err cm_log_file_open(const char *path);
void cm_log_file_close(void);
/* Wall-clock seconds from a monotonic clock. */
double cm_now(void);

#endif
