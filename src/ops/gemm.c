/* The GEMM layer: path selection, the registry of frozen weights and their bf16 copies, and
 * the dispatch of each product (gemm.h). The oneDNN calls live in gemm_onednn.c. */
#include "clipmtl/gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_onednn.h"
#include "parallel.h"

static cm_gemm_path current_path = CM_GEMM_OPENBLAS;
static cm_precision current_precision = CM_PRECISION_FP32;
static _Thread_local int single_thread;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int selected; /* cm_gemm_select was called */
static atomic_uint_fast64_t gemm_nanoseconds, gemm_flops; /* cm_gemm_seconds, cm_gemm_flops */

/* Frozen ranges: the model's weights (one buffer per model; a few models at most live at once). */
enum { MAX_FROZEN = 8 };
typedef struct {
    const float *w;
    size_t n;
    uint16_t *bf16; /* NULL unless the precision is bf16 */
} frozen_range;
static frozen_range frozen[MAX_FROZEN];

static const char *const path_names[] = {"auto", "openblas", "onednn"};

const char *cm_gemm_path_name(cm_gemm_path path) { return path_names[path]; }
const char *cm_precision_name(cm_precision precision) { return precision == CM_PRECISION_BF16 ? "bf16" : "fp32"; }
static void select_default(void);
cm_gemm_path cm_gemm_current_path(void)
{
    pthread_once(&default_once, select_default);
    return current_path;
}
cm_precision cm_gemm_current_precision(void) { return current_precision; }

int cm_gemm_available(cm_gemm_path path, cm_precision precision)
{
    switch (path) {
    case CM_GEMM_AUTO: return precision == CM_PRECISION_FP32 || cm_onednn_has_bf16();
    case CM_GEMM_OPENBLAS: return precision == CM_PRECISION_FP32;
    case CM_GEMM_ONEDNN: return precision == CM_PRECISION_FP32 ? cm_onednn_built() : cm_onednn_has_bf16();
    }
    return 0;
}

static cm_err make_bf16_copy(frozen_range *r)
{
    if (r->bf16) return CM_OK;
    CM_ASSERT((r->bf16 = malloc(r->n * sizeof *r->bf16 + 1)), CM_ERR_MEM,
              "out of memory for the bf16 copy of %zu frozen weights", r->n);
    cm_onednn_to_bf16(r->bf16, r->w, r->n);
    return CM_OK;
}

cm_err cm_gemm_select(cm_gemm_path path, cm_precision precision)
{
    if (path == CM_GEMM_AUTO)
        path = (precision == CM_PRECISION_BF16 ? cm_onednn_has_bf16() : cm_onednn_has_avx512()) ? CM_GEMM_ONEDNN
                                                                                                : CM_GEMM_OPENBLAS;
    if (!cm_gemm_available(path, precision)) {
        if (path == CM_GEMM_ONEDNN && !cm_onednn_built())
            CM_ERROR(CM_ERR_CONFIG, "compute.gemm onednn: this build has no oneDNN (configure --with-onednn, Debian "
                                    "package libdnnl-dev)");
        CM_ERROR(CM_ERR_CONFIG, "compute.precision bf16 needs the onednn path on a CPU with AVX512-BF16 (%s)",
                 cm_onednn_built() ? "this CPU has none" : "this build has no oneDNN");
    }
    current_path = path, current_precision = precision, selected = 1;
    for (int i = 0; i < MAX_FROZEN; i++) {
        if (!frozen[i].w) continue;
        if (precision == CM_PRECISION_BF16) CM_CHECK(make_bf16_copy(&frozen[i]));
        else free(frozen[i].bf16), frozen[i].bf16 = NULL;
    }
    return CM_OK;
}

/* A program that selects nothing (the unit tests, the benches) runs the path named by
 * CLIPMTL_GEMM (openblas, onednn, auto; default openblas) in fp32: how the test harness runs
 * every op's tests on every path. An unavailable name leaves OpenBLAS, said on stderr. */
static void select_default(void)
{
    const char *name = getenv("CLIPMTL_GEMM");
    if (selected || !name || !name[0]) return;
    for (int p = CM_GEMM_AUTO; p <= CM_GEMM_ONEDNN; p++)
        if (!strcmp(name, path_names[p])) {
            if (cm_gemm_select((cm_gemm_path)p, CM_PRECISION_FP32) == CM_OK) return;
            cm_error_clear();
        }
    fprintf(stderr, "CLIPMTL_GEMM=%s: not a GEMM path of this build and CPU; using openblas\n", name);
}

const char *cm_gemm_describe(void)
{
    pthread_once(&default_once, select_default);
    static char text[96];
    if (current_path == CM_GEMM_ONEDNN)
        snprintf(text, sizeof text, "onednn %s (%s)", cm_precision_name(current_precision), cm_onednn_isa_name());
    else
        snprintf(text, sizeof text, "openblas fp32");
    return text;
}

cm_err cm_gemm_freeze(const float *w, size_t n)
{
    cm_gemm_unfreeze(w);
    for (int i = 0; i < MAX_FROZEN; i++)
        if (!frozen[i].w) {
            frozen[i] = (frozen_range){w, n, NULL};
            if (current_precision == CM_PRECISION_BF16) {
                cm_err err = make_bf16_copy(&frozen[i]);
                if (err) frozen[i].w = NULL;
                CM_CHECK(err);
            }
            return CM_OK;
        }
    CM_ERROR(CM_ERR_ARG, "more than %d frozen weight buffers registered with the GEMM layer", MAX_FROZEN);
}

void cm_gemm_unfreeze(const float *w)
{
    for (int i = 0; i < MAX_FROZEN; i++)
        if (w && frozen[i].w == w) {
            free(frozen[i].bf16);
            frozen[i] = (frozen_range){0};
        }
}

void cm_gemm_single_thread(int on) { single_thread = on; }

/* The bf16 copy of B, or NULL when B is not inside a frozen range. */
static const uint16_t *bf16_copy(const float *B)
{
    for (int i = 0; i < MAX_FROZEN; i++) {
        const frozen_range *r = &frozen[i];
        if (r->bf16 && B >= r->w && B < r->w + r->n) return r->bf16 + (B - r->w);
    }
    return NULL;
}

static void openblas_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                          const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

/* A oneDNN product, split into slices of rows of C (parallel.h), each computed by oneDNN on
 * its own thread (gemm_onednn.c: one OpenMP thread per call, so its spinning pool never runs). */
typedef struct {
    int trans_a, trans_b, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    const uint16_t *b16; /* the bf16 copy of B, NULL for an fp32 product */
    float *C;
} onednn_product;

static void onednn_rows(void *ctx, long begin, long end, int part)
{
    const onednn_product *p = ctx;
    int M = (int)(end - begin);
    const float *A = p->A + (p->trans_a ? begin : begin * p->lda);
    float *C = p->C + begin * p->ldc;
    (void)part;
    if (p->b16 && cm_onednn_gemm_bf16(p->trans_b, M, p->N, p->K, p->alpha, A, p->lda, p->b16, p->ldb, p->beta, C,
                                      p->ldc))
        return;
    if (cm_onednn_sgemm(p->trans_a, p->trans_b, M, p->N, p->K, p->alpha, A, p->lda, p->B, p->ldb, p->beta, C, p->ldc))
        return;
    openblas_gemm(p->trans_a, p->trans_b, M, p->N, p->K, p->alpha, A, p->lda, p->B, p->ldb, p->beta, C, p->ldc);
}

/* Products below MIN_SPLIT_FLOPS stay on the calling thread: starting a thread (tens of
 * microseconds) costs about what half of such a product saves (one core: ~190 GFLOP/s fp32).
 * A slice keeps at least MIN_SLICE_ROWS rows, so that oneDNN's kernels fill their row blocks. */
#define MIN_SPLIT_FLOPS 8e6
enum { MIN_SLICE_ROWS = 16 };

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double cm_gemm_seconds(void) { return 1e-9 * (double)atomic_load_explicit(&gemm_nanoseconds, memory_order_relaxed); }

double cm_gemm_flops(void) { return (double)atomic_load_explicit(&gemm_flops, memory_order_relaxed); }

void cm_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
             int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    pthread_once(&default_once, select_default);
    int outer = !single_thread;
    double t0 = outer ? now_seconds() : 0;
    if (current_path == CM_GEMM_ONEDNN) {
        onednn_product p = {trans_a, trans_b, N, K, lda, ldb, ldc, alpha, beta, A, B, NULL, C};
        if (current_precision == CM_PRECISION_BF16 && !trans_a) p.b16 = bf16_copy(B);
        int parts = outer && 2.0 * M * N * K >= MIN_SPLIT_FLOPS ? cm_ops_threads() : 1;
        if (parts > M / MIN_SLICE_ROWS) parts = M / MIN_SLICE_ROWS;
        cm_parallel_ranges(M, parts, onednn_rows, &p);
    } else {
        openblas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    if (outer) {
        atomic_fetch_add_explicit(&gemm_nanoseconds, (uint_fast64_t)((now_seconds() - t0) * 1e9),
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&gemm_flops, (uint_fast64_t)2 * M * N * K, memory_order_relaxed);
    }
}
