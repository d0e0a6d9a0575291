#include "parallel.h"

#include <cblas.h>
#include <pthread.h>

#include "clipmtl/gemm.h"

typedef struct {
    cm_range_fn fn;
    void *ctx;
    long begin, end;
    int part;
} slice;

/* A slice is one of several running at once: its products stay on its own thread. */
static void *run_slice(void *arg)
{
    slice *s = arg;
    cm_gemm_single_thread(1);
    s->fn(s->ctx, s->begin, s->end, s->part);
    cm_gemm_single_thread(0);
    return NULL;
}

void cm_parallel_ranges(long n, int parts, cm_range_fn fn, void *ctx)
{
    if (parts > CM_OPS_MAX_THREADS) parts = CM_OPS_MAX_THREADS;
    if (parts > n) parts = (int)n;
    if (parts <= 1) {
        if (n > 0) fn(ctx, 0, n, 0);
        return;
    }
    slice slices[CM_OPS_MAX_THREADS];
    pthread_t threads[CM_OPS_MAX_THREADS];
    int started[CM_OPS_MAX_THREADS] = {0};
    for (int p = 0; p < parts; p++)
        slices[p] = (slice){fn, ctx, n * p / parts, n * (p + 1) / parts, p};
    for (int p = 1; p < parts; p++) started[p] = pthread_create(&threads[p], NULL, run_slice, &slices[p]) == 0;
    run_slice(&slices[0]);
    for (int p = 1; p < parts; p++) {
        if (started[p]) pthread_join(threads[p], NULL);
        else run_slice(&slices[p]);
    }
}

int cm_ops_threads(void)
{
    int t = openblas_get_num_threads();
    return t < 1 ? 1 : t > CM_OPS_MAX_THREADS ? CM_OPS_MAX_THREADS : t;
}

int cm_ops_parts(long work) { return work < (1L << 18) ? 1 : cm_ops_threads(); }
