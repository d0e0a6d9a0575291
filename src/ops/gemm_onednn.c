/* The oneDNN path of the GEMM layer (gemm_onednn.h). oneDNN chooses its kernels from the CPU at
 * run time (on AVX-512 machines its brgemm and avx512 sgemm kernels), independently of
 * OPENBLAS_CORETYPE. fp32 products go through dnnl_sgemm; bf16 products through a matmul
 * primitive per shape, created once and kept (creating one costs about a millisecond, running
 * one of the model's products tens of milliseconds).
 *
 * Every call runs on the calling thread alone: gemm.c splits a product into row slices over
 * the ops' own threads (parallel.h). oneDNN runs on OpenMP, whose idle pool threads spin after
 * each parallel region and took a fifth of a training step's CPU from the ops' threads (perf,
 * 2 cores); with one OpenMP thread per call no pool is ever started. Calls may run
 * concurrently (the slices of one product, attention's heads): each takes its own scratch
 * (bf16 copy of its A rows, the primitive's scratchpad, a stream) from a pool. */
#include "config.h"

#include "gemm_onednn.h"

#include "clipmtl/half.h"

#if HAVE_ONEDNN
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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

/* OpenMP's thread count belongs to the calling thread (a new thread starts at the default, the
 * core count), so it is set on every call; oneDNN runs a region of one thread inline. */
static void one_thread(void)
{
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
}

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
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    one_thread();
    return dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) ==
           dnnl_success;
}

/* ---- bf16: one matmul primitive per product shape ---- */
typedef struct {
    int M, N, K, trans_b, ldb, ldc;
    float alpha, beta;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src, weights, dst, scratchpad;
} bf16_entry;

enum { MAX_BF16_SHAPES = 256 };
static bf16_entry bf16_shapes[MAX_BF16_SHAPES];
static int bf16_count;
static pthread_mutex_t bf16_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;

/* Runs under bf16_lock, on one OpenMP thread: the primitive is built for the thread count it
 * will run with. The scratchpad is the caller's (user mode), so that concurrent executions of
 * one primitive never share it. */
static int make_entry(bf16_entry *e)
{
    if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return 0;
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
             dnnl_primitive_attr_create(&attr) == dnnl_success &&
             dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && e->alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha) == dnnl_success;
    if (ok && e->beta != 0.0f)
        ok = dnnl_post_ops_create(&post) == dnnl_success && dnnl_post_ops_append_sum(post, e->beta) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, post) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success &&
         dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    if (ok) e->scratchpad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post) dnnl_post_ops_destroy(post);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ok;
}

/* The primitive of this product, created on first use; NULL when oneDNN has none. */
static bf16_entry *bf16_primitive(int trans_b, int M, int N, int K, float alpha, int ldb, float beta, int ldc)
{
    bf16_entry key = {.M = M, .N = N, .K = K, .trans_b = trans_b, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta},
               *found = NULL;
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

/* The scratch of one running bf16 product. Slots grow to the largest product's and stay; a
 * call finding every slot busy (more concurrent calls than slots) uses a temporary one. */
typedef struct {
    int busy;
    uint16_t *a16; /* the first operand in bf16 */
    size_t a16_size;
    void *pad; /* the primitive's scratchpad */
    size_t pad_size;
    dnnl_stream_t stream;
} scratch_slot;

enum { SCRATCH_SLOTS = 16 };
static scratch_slot slots[SCRATCH_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static scratch_slot *take_slot(scratch_slot *spare)
{
    scratch_slot *s = spare;
    pthread_mutex_lock(&slots_lock);
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (!slots[i].busy) {
            s = &slots[i];
            break;
        }
    s->busy = 1;
    pthread_mutex_unlock(&slots_lock);
    return s;
}

static void give_slot(scratch_slot *s, const scratch_slot *spare)
{
    if (s == spare) {
        free(s->a16), free(s->pad);
        if (s->stream) dnnl_stream_destroy(s->stream);
        return;
    }
    pthread_mutex_lock(&slots_lock);
    s->busy = 0;
    pthread_mutex_unlock(&slots_lock);
}

static int grow(void **buf, size_t *size, size_t need)
{
    if (need <= *size) return 1;
    void *grown = realloc(*buf, need);
    if (!grown) return 0;
    *buf = grown, *size = need;
    return 1;
}

static int run_bf16(const bf16_entry *e, scratch_slot *s, const float *A, int lda, const uint16_t *B16, float *C)
{
    if (!grow((void **)&s->a16, &s->a16_size, (size_t)e->M * e->K * sizeof *s->a16 + 1) ||
        !grow(&s->pad, &s->pad_size, dnnl_memory_desc_get_size(&e->scratchpad) + 1) ||
        (!s->stream && dnnl_stream_create(&s->stream, engine, dnnl_stream_default_flags) != dnnl_success))
        return 0;
    for (int m = 0; m < e->M; m++) cm_onednn_to_bf16(s->a16 + (size_t)m * e->K, A + (size_t)m * lda, (size_t)e->K);
    dnnl_memory_t src = NULL, weights = NULL, dst = NULL, pad = NULL;
    int ok = dnnl_memory_create(&src, &e->src, engine, s->a16) == dnnl_success &&
             dnnl_memory_create(&weights, &e->weights, engine, (void *)B16) == dnnl_success &&
             dnnl_memory_create(&dst, &e->dst, engine, C) == dnnl_success &&
             dnnl_memory_create(&pad, &e->scratchpad, engine, s->pad) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}};
        ok = dnnl_primitive_execute(e->prim, s->stream, 4, args) == dnnl_success &&
             dnnl_stream_wait(s->stream) == dnnl_success;
    }
    if (src) dnnl_memory_destroy(src);
    if (weights) dnnl_memory_destroy(weights);
    if (dst) dnnl_memory_destroy(dst);
    if (pad) dnnl_memory_destroy(pad);
    return ok;
}

int cm_onednn_gemm_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B16,
                        int ldb, float beta, float *C, int ldc)
{
    one_thread();
    bf16_entry *e = bf16_primitive(trans_b, M, N, K, alpha, ldb, beta, ldc);
    if (!e) return 0;
    scratch_slot spare = {0}, *s = take_slot(&spare);
    int ok = run_bf16(e, s, A, lda, B16, C);
    give_slot(s, &spare);
    return ok;
}

#else /* no oneDNN in this build: gemm.c uses OpenBLAS */

int cm_onednn_built(void) { return 0; }
int cm_onednn_has_avx512(void) { return 0; }
int cm_onednn_has_bf16(void) { return 0; }
const char *cm_onednn_isa_name(void) { return "none"; }
void cm_onednn_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = cm_f32_to_bf16(src[i]);
}
int cm_onednn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    return 0;
}
int cm_onednn_gemm_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B16,
                        int ldb, float beta, float *C, int ldc)
{
    return 0;
}

#endif
