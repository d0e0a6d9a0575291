/* Internal to src/ops: the ops' own loops (attention's per-head products, elementwise passes,
 * the row slices of a oneDNN product: gemm.c) split over threads, as many as OpenBLAS is told
 * to use (OPENBLAS_NUM_THREADS), so that one setting decides a process's parallelism. Threads
 * are started per call: a call does milliseconds of work, a thread start microseconds. */
#ifndef CLIPMTL_OPS_PARALLEL_H
#define CLIPMTL_OPS_PARALLEL_H

#include "clipmtl/ops.h" /* CM_OPS_MAX_THREADS */

/* fn(ctx, begin, end, part) on `parts` contiguous slices of [0, n), part 0 on the calling
 * thread; parts is clamped to [1, CM_OPS_MAX_THREADS] and to n. Runs the slices one after the
 * other when a thread cannot be started, so the result never depends on it. */
typedef void (*cm_range_fn)(void *ctx, long begin, long end, int part);
void cm_parallel_ranges(long n, int parts, cm_range_fn fn, void *ctx);

/* OpenBLAS's thread count, clamped to [1, CM_OPS_MAX_THREADS]. */
int cm_ops_threads(void);
/* The threads for an elementwise pass over `work` floats: 1 below about a quarter million,
 * where starting a thread costs as much as it saves. */
int cm_ops_parts(long work);

#endif
