/* One run per run directory. Two runs writing the same out_dir/name would corrupt each other's
 * checkpoints and results silently: the first holds an fcntl write lock on <run>/lock, which
 * says who holds it ("pid 123 on node7 since 2026-12-04 15:30:00 UTC"), and a second one stops
 * with an error quoting that. The kernel releases the lock however the process ends, so a crash
 * leaves no stale lock. */
#ifndef CLIPMTL_RUN_LOCK_H
#define CLIPMTL_RUN_LOCK_H

#include "clipmtl/error.h"

/* Not collective (rank 0 calls it). Locks dir/lock for the rest of the process; calling it
 * again for the same dir does nothing, for another dir moves the lock there. */
cm_err cm_run_lock(const char *dir);

#endif
