/* Shared by the benches that compare the GEMM paths: the (path, precision) pairs this build
 * and CPU offer, one child process per pair (so that each reports its own peak memory and
 * starts its thread pools afresh), and the GEMM ceiling of a path measured through cm_gemm. */
#ifndef CLIPMTL_BENCH_PATHS_H
#define CLIPMTL_BENCH_PATHS_H

#include <stddef.h>

#include "clipmtl/gemm.h"

typedef struct {
    cm_gemm_path path;
    cm_precision precision;
    char name[32]; /* "onednn/bf16" */
} bench_config;

typedef struct {
    int ok;
    double seconds;  /* best step */
    double gflops;   /* of the best step */
    double ceiling;  /* best GFLOP/s of the 6304x3072x768 probe on the same path */
    double rss_mib;  /* peak resident memory of the child */
    double load;     /* 1-minute load average when the child ended */
    double gemm_seconds; /* of the best step, inside cm_gemm (cm_gemm_seconds) */
    double cpu_seconds;  /* least CPU time (all threads) of a step */
} bench_result;

/* The available pairs, at most max; `only` (comma-separated names, NULL = all) filters them. */
int bench_configs(bench_config *out, int max, const char *only);
/* fn runs in a child with cfg selected; it fills r (seconds, gflops, ceiling) and extra[nextra]
 * (e.g. gradients), which come back to the caller; rss_mib and load are filled here. Returns 0
 * when the child failed. Must be called before this process runs any product. */
typedef int (*bench_fn)(void *ctx, const bench_config *cfg, bench_result *r, float *extra, size_t nextra);
int bench_run_isolated(const bench_config *cfg, bench_fn fn, void *ctx, bench_result *r, float *extra,
                       size_t nextra);
/* Best GFLOP/s of `reps` products C[m,n] = A[m,k] B[n,k]^T through cm_gemm, B frozen (so that
 * bf16 runs its bf16 kernel): the call shape of the linear layers' forward. */
double bench_ceiling(int m, int n, int k, int reps);
double bench_load_average(void);
double bench_now(void);
/* PyTorch's least step time from `/usr/bin/python3 CM_SRCDIR/bench/<args> --threads T`, or 0 when
 * it could not run: with best_env every OPENBLAS_* variable is unset for that process alone (the
 * "at its best" of the benches), otherwise it inherits the environment as it is. Its step lines
 * (`step_seconds S`, `maxrss_mib M`) are echoed with the load average. */
double bench_torch_seconds(const char *args, int threads, int best_env);

#endif
