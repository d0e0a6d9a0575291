/* The oneDNN path of the GEMM layer (gemm_onednn.h). oneDNN chooses its kernels from the CPU at
 * run time (on AVX-512 machines its brgemm and avx512 sgemm kernels), independently of
 * OPENBLAS_CORETYPE. fp32 products go through dnnl_sgemm; bf16 products through a matmul
 * primitive per shape, created once and kept (creating one costs about a millisecond, running
 * one of the model's products tens of milliseconds). oneDNN runs on OpenMP threads: the count
 * is set per call, since OpenMP's thread count belongs to the calling thread. */
#include "config.h"

#include "gemm_onednn.h"

#include "clipmtl/half.h"
#include "parallel.h"

#if HAVE_ONEDNN
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int selected_threads = 1;

int cm_onednn_built(void) { return 1; }

static int has_isa(dnnl_cpu_isa_t isa) { return ((unsigned)dnnl_get_effective_cpu_isa() & (unsigned)isa) == (unsigned)isa; }
int cm_onednn_has_avx512(void) { return has_isa(dnnl_cpu_isa_avx512_core); }
int cm_onednn_has_bf16(void) { return has_isa(dnnl_cpu_isa_avx512_core_bf16); }

const char *cm_onednn_isa_name(void)
{
    if (has_isa(dnnl_cpu_isa_avx512_core_amx)) return "avx512_core_amx";
    if (has_isa(dnnl_cpu_isa_avx512_core_bf16)) return "avx512_core_bf16";
    if (has_isa(dnnl_cpu_isa_avx512_core)) return "avx512_core";
    if (has_isa(dnnl_cpu_isa_avx2)) return "avx2";
    return "sse41";
}

void cm_onednn_set_threads(int threads) { selected_threads = threads < 1 ? 1 : threads; }

static void use_threads(int threads) { omp_set_num_threads(threads > 0 ? threads : selected_threads); }

__attribute__((target("avx512f,avx512bf16"))) static void to_bf16_avx512(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512((void *)(dst + i), (__m512i)both);
    }
    for (; i < n; i++) dst[i] = cm_f32_to_bf16(src[i]);
}

void cm_onednn_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    if (cm_onednn_has_bf16()) {
        to_bf16_avx512(dst, src, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = cm_f32_to_bf16(src[i]);
}

int cm_onednn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc, int threads)
{
    use_threads(threads);
    return dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) ==
           dnnl_success;
}

/* ---- bf16: one matmul primitive per product shape ---- */
typedef struct {
    int M, N, K, trans_b, ldb, ldc;
    float alpha, beta;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src, weights, dst;
} bf16_entry;

enum { MAX_BF16_SHAPES = 256 };
static bf16_entry bf16_shapes[MAX_BF16_SHAPES];
static int bf16_count;
static pthread_mutex_t bf16_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t stream;

static int make_entry(bf16_entry *e)
{
    if (!engine && (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
                    dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success))
        return 0;
    dnnl_dims_t src_dims = {e->M, e->K}, src_strides = {e->K, 1}, w_dims = {e->K, e->N}, dst_dims = {e->M, e->N},
                dst_strides = {e->ldc, 1};
    dnnl_dims_t w_strides = {e->trans_b ? 1 : e->ldb, e->trans_b ? e->ldb : 1};
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_strides(&e->src, 2, src_dims, dnnl_bf16, src_strides) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&e->weights, 2, w_dims, dnnl_bf16, w_strides) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&e->dst, 2, dst_dims, dnnl_f32, dst_strides) == dnnl_success &&
             dnnl_matmul_desc_init(&desc, &e->src, &e->weights, NULL, &e->dst) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && e->alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha) == dnnl_success;
    if (ok && e->beta != 0.0f)
        ok = dnnl_post_ops_create(&post) == dnnl_success && dnnl_post_ops_append_sum(post, e->beta) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, post) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success &&
         dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post) dnnl_post_ops_destroy(post);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ok;
}

/* The primitive of this product, created on first use; NULL when oneDNN has none. */
static bf16_entry *bf16_primitive(int trans_b, int M, int N, int K, float alpha, int ldb, float beta, int ldc)
{
    bf16_entry key = {M, N, K, trans_b, ldb, ldc, alpha, beta, NULL, {0}, {0}, {0}}, *found = NULL;
    pthread_mutex_lock(&bf16_lock);
    for (int i = 0; i < bf16_count && !found; i++) {
        bf16_entry *e = &bf16_shapes[i];
        if (e->M == M && e->N == N && e->K == K && e->trans_b == trans_b && e->ldb == ldb && e->ldc == ldc &&
            e->alpha == alpha && e->beta == beta)
            found = e;
    }
    if (!found && bf16_count < MAX_BF16_SHAPES && make_entry(&key)) {
        bf16_shapes[bf16_count] = key;
        found = &bf16_shapes[bf16_count++];
    }
    pthread_mutex_unlock(&bf16_lock);
    return found;
}

typedef struct {
    uint16_t *dst;
    const float *src;
    int K, lda;
} rows_job;

static void rows_to_bf16(void *arg, long begin, long end, int part)
{
    const rows_job *j = arg;
    for (long m = begin; m < end; m++) cm_onednn_to_bf16(j->dst + m * j->K, j->src + m * j->lda, (size_t)j->K);
    (void)part;
}

/* The first operand in bf16, per thread; grows to the largest product's and stays. */
static _Thread_local uint16_t *a16;
static _Thread_local size_t a16_size;

int cm_onednn_gemm_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B16,
                        int ldb, float beta, float *C, int ldc, int threads)
{
    bf16_entry *e = bf16_primitive(trans_b, M, N, K, alpha, ldb, beta, ldc);
    if (!e) return 0;
    size_t need = (size_t)M * K;
    if (need > a16_size) {
        uint16_t *grown = realloc(a16, need * sizeof *a16);
        if (!grown) return 0;
        a16 = grown, a16_size = need;
    }
    rows_job job = {a16, A, K, lda};
    cm_parallel_ranges(M, threads == 1 ? 1 : cm_ops_parts((long)M * K), rows_to_bf16, &job);
    use_threads(threads);
    dnnl_memory_t src = NULL, weights = NULL, dst = NULL;
    int ok = dnnl_memory_create(&src, &e->src, engine, a16) == dnnl_success &&
             dnnl_memory_create(&weights, &e->weights, engine, (void *)B16) == dnnl_success &&
             dnnl_memory_create(&dst, &e->dst, engine, C) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
        ok = dnnl_primitive_execute(e->prim, stream, 3, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
    }
    if (src) dnnl_memory_destroy(src);
    if (weights) dnnl_memory_destroy(weights);
    if (dst) dnnl_memory_destroy(dst);
    return ok;
}

#else /* no oneDNN in this build: gemm.c uses OpenBLAS */

int cm_onednn_built(void) { return 0; }
int cm_onednn_has_avx512(void) { return 0; }
int cm_onednn_has_bf16(void) { return 0; }
const char *cm_onednn_isa_name(void) { return "none"; }
void cm_onednn_set_threads(int threads) { (void)threads; }
void cm_onednn_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = cm_f32_to_bf16(src[i]);
}
int cm_onednn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc, int threads)
{
    return 0;
}
int cm_onednn_gemm_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B16,
                        int ldb, float beta, float *C, int ldc, int threads)
{
    return 0;
}

#endif
