/* Logging. Messages go to stderr prefixed by the MPI rank when there is more
 * than one; cm_log_info prints on rank 0 only, cm_log_warn on every rank. */
#ifndef CLIPMTL_LOG_H
#define CLIPMTL_LOG_H

void cm_log_set_rank(int rank, int nranks);
void cm_log_set_quiet(int quiet);
void cm_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cm_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning every rank would repeat (configuration, data): printed by rank 0 only. */
void cm_log_warn_rank0(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wall-clock seconds from a monotonic clock. */
double cm_now(void);

#endif
