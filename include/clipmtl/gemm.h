/* Every matrix product of clipmtl goes through cm_gemm, which dispatches at run time to one of
 * the GEMM paths this build and CPU offer:
 *  - openblas: cblas_sgemm, the portable default (whatever kernels OPENBLAS_CORETYPE selects);
 *  - onednn:   oneDNN (configure --with-onednn), which picks its own kernels by CPU: dnnl_sgemm
 *              in fp32, and in bf16 its matmul on bfloat16 operands with fp32 accumulation.
 *              A product is split into slices of rows of C over the ops' threads (as many as
 *              OPENBLAS_NUM_THREADS; none below about 8 MFLOP), each computed by oneDNN on its
 *              own thread, never on oneDNN's OpenMP pool (whose idle threads spin).
 * The path and precision are process-wide, chosen once from the config (compute.gemm,
 * compute.precision) before any product runs.
 *
 * bf16 changes only the products whose second operand is a frozen weight registered with
 * cm_gemm_freeze: that weight is read from a bfloat16 copy made once at registration, the first
 * operand is rounded to bfloat16 per call, and the product is accumulated and stored in fp32.
 * These are the frozen layers' forward products and their input gradients (dY W). Everything
 * else stays fp32: weight gradients (first operand transposed), attention's products, the
 * prompt methods' own products, and all storage (activations, gradients, optimizer state). */
#ifndef CLIPMTL_GEMM_H
#define CLIPMTL_GEMM_H

#include <stddef.h>

#include "clipmtl/error.h"

typedef enum { CM_PRECISION_FP32, CM_PRECISION_BF16 } cm_precision;
/* In the order of the config's names (auto, openblas, onednn). */
typedef enum { CM_GEMM_AUTO, CM_GEMM_OPENBLAS, CM_GEMM_ONEDNN } cm_gemm_path;

/* 1 when this build and CPU can run the path at that precision (auto: always for fp32). */
int cm_gemm_available(cm_gemm_path path, cm_precision precision);
/* Selects the path of every later product. auto: oneDNN when it is built in and the CPU has
 * AVX-512 (fp32) or AVX512-BF16 (bf16), else OpenBLAS. An unavailable explicit choice, or bf16
 * without a bf16 path, is an error naming why. Threads: OPENBLAS_NUM_THREADS for either path.
 * Rebuilds the bf16 copies of the frozen weights when the precision becomes bf16. */
cm_err cm_gemm_select(cm_gemm_path path, cm_precision precision);
/* The path and precision in use (never auto). */
cm_gemm_path cm_gemm_current_path(void);
cm_precision cm_gemm_current_precision(void);
/* "onednn bf16 (avx512_core_bf16)", "openblas fp32": recorded in logs and output files. */
const char *cm_gemm_describe(void);
const char *cm_gemm_path_name(cm_gemm_path path);
const char *cm_precision_name(cm_precision precision);

/* Row-major C[M,N] = alpha op(A) op(B) + beta C, op(X) = X or X^T (trans_x != 0), as
 * cblas_sgemm(CblasRowMajor, ...). Uses the bf16 copy of B when B lies inside a frozen range,
 * the precision is bf16 and A is not transposed; A is then rounded to bf16 per call (per
 * slice of rows). */
void cm_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc);

/* Declares the n floats at w frozen (they will not change until cm_gemm_unfreeze): in bf16 a
 * bfloat16 copy is made now (or at the next cm_gemm_select to bf16). */
cm_err cm_gemm_freeze(const float *w, size_t n);
/* Forgets the range starting at w and frees its copy (no-op if unknown, NULL included). Must
 * precede freeing w: a later buffer at the same address would otherwise read the stale copy. */
void cm_gemm_unfreeze(const float *w);

/* The calling thread's products run on one thread until cm_gemm_single_thread(0): for the ops
 * that split independent products over their own threads (attention's heads; parallel.h sets
 * it on every slice). */
void cm_gemm_single_thread(int on);

/* Wall time spent in cm_gemm since the process started, over the calls made outside the ops'
 * threads: a split product counts once, from its caller; attention's per-head products run on
 * the ops' threads and count as attention's time. A step's time minus the difference of two
 * readings is its time outside the GEMMs (bench_train_step). */
double cm_gemm_seconds(void);
/* The floating-point operations (2 M N K each) of the same calls: with cm_gemm_seconds, the rate
 * the GEMMs of a step reach (bench_pretrain_step). */
double cm_gemm_flops(void);

#endif
