/* Scaled dot-product attention over the heads of packed qkv rows. Each
 * (sequence, head) pair is two GEMMs that read q, k and v in place through
 * the row stride 3D, so the packed layout is never transposed or copied.
 *
 * These GEMMs are small (ViT-B/16: 197x197x64): OpenBLAS splitting each one
 * over its threads costs more than it gains (measured on 2 cores: 59 GFLOP/s
 * threaded vs 86 on one thread), so each runs on one OpenBLAS thread and the
 * (sequence, head) pairs are split over the threads instead (parallel.h). */
#include <cblas.h>
#include <math.h>

#include "clipmtl/gemm.h"
#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec16.h"
#include "vec4.h"

#ifdef CM_HAVE_V16
/* softmax_row 16 lanes at a time (vec16.h). */
__attribute__((target("avx512f"))) static void softmax_row_wide(float *row, int keep, int T)
{
    int j, tail = keep % 16, body = keep - tail;
    cm_v16 vmax = cm_v16_splat(-INFINITY);
    for (j = 0; j < body; j += 16) vmax = cm_v16_max(vmax, cm_v16_load(row + j));
    if (tail) vmax = cm_v16_max(vmax, cm_v16_load_part(row + body, tail, -INFINITY));
    cm_v16 max = cm_v16_splat(cm_v16_hmax(vmax)), vsum = cm_v16_splat(0.0f);
    for (j = 0; j < body; j += 16) {
        cm_v16 e = cm_v16_exp(cm_v16_load(row + j) - max);
        cm_v16_store(row + j, e);
        vsum += e;
    }
    if (tail) {
        cm_v16_store_part(row + body, cm_v16_exp(cm_v16_load_part(row + body, tail, 0.0f) - max), tail);
        vsum += cm_v16_load_part(row + body, tail, 0.0f); /* the stored lanes only */
    }
    cm_v16 inv = cm_v16_splat(1.0f / cm_v16_sum(vsum));
    for (j = 0; j < body; j += 16) cm_v16_store(row + j, cm_v16_load(row + j) * inv);
    if (tail) cm_v16_store_part(row + body, cm_v16_load_part(row + body, tail, 0.0f) * inv, tail);
    for (j = keep; j < T; j++) row[j] = 0.0f;
}
#endif

/* Softmax of the first `keep` entries of a row of T in place; the rest become exact zeros
 * (the -inf of the causal mask). */
static void softmax_row(float *row, int keep, int T)
{
#ifdef CM_HAVE_V16
    if (cm_ops_wide()) {
        softmax_row_wide(row, keep, T);
        return;
    }
#endif
    int j;
    cm_v4 vmax = cm_v4_splat(-INFINITY);
    for (j = 0; j + 4 <= keep; j += 4) vmax = cm_v4_max(vmax, cm_v4_load(row + j));
    if (j < keep) vmax = cm_v4_max(vmax, cm_v4_load_part(row + j, keep - j, -INFINITY));
    cm_v4 max = cm_v4_splat(cm_v4_hmax(vmax)), vsum = cm_v4_splat(0.0f);
    for (j = 0; j + 4 <= keep; j += 4) {
        cm_v4 e = cm_v4_exp(cm_v4_load(row + j) - max);
        cm_v4_store(row + j, e);
        vsum += e;
    }
    float sum = cm_v4_sum(vsum);
    if (j < keep) {
        cm_v4_store_part(row + j, cm_v4_exp(cm_v4_load_part(row + j, keep - j, 0.0f) - max), keep - j);
        for (int i = j; i < keep; i++) sum += row[i];
    }
    cm_v4 inv = cm_v4_splat(1.0f / sum);
    for (j = 0; j + 4 <= keep; j += 4) cm_v4_store(row + j, cm_v4_load(row + j) * inv);
    for (; j < keep; j++) row[j] *= inv[0];
    for (; j < T; j++) row[j] = 0.0f;
}

/* The softmax's backward on one row in place: d = p o (d - p.d), 4 lanes at a time. */
static void softmax_grad_row(const float *p, float *d, int T)
{
    int i, tail = T % 4, body = T - tail;
    cm_v4 acc = cm_v4_splat(0.0f);
    for (i = 0; i < body; i += 4) acc += cm_v4_load(p + i) * cm_v4_load(d + i);
    if (tail) acc += cm_v4_load_part(p + body, tail, 0.0f) * cm_v4_load_part(d + body, tail, 0.0f);
    cm_v4 dot = cm_v4_splat(cm_v4_sum(acc));
    for (i = 0; i < body; i += 4) cm_v4_store(d + i, cm_v4_load(p + i) * (cm_v4_load(d + i) - dot));
    for (; i < T; i++) d[i] = p[i] * (d[i] - dot[0]);
}

/* Row-wise softmax of a [T,T] score block; with causal, row t keeps columns 0..t. */
static void softmax_rows(float *s, int T, int causal)
{
    for (int t = 0; t < T; t++) softmax_row(s + (long)t * T, causal ? t + 1 : T, T);
}

typedef struct {
    float *out, *probs, *dqkv, *scratch, *dq, *dkv;
    const float *qkv, *dout, *q, *kv;
    const float *probs_in;
    const int32_t *keys;
    int T, D, H, causal;
} attention_job;

/* The probabilities of pair (sequence b, head h) into p [T,T]: the forward's and the backward's
 * recomputation are the same calls on the same operands, hence bitwise the same values. */
static void pair_probs(const attention_job *j, long b, long h, float *p)
{
    int T = j->T, D = j->D, hd = D / j->H, ld = 3 * D;
    const float *q = j->qkv + b * T * ld + h * hd, *k = q + D;
    cm_gemm(0, 1, T, T, hd, 1.0f / sqrtf((float)hd), q, ld, k, ld, 0.0f, p, T);
    softmax_rows(p, T, j->causal);
}

/* Pairs (sequence b, head h) p = b H + h in [begin, end). */
static void forward_pairs(void *arg, long begin, long end, int part)
{
    const attention_job *j = arg;
    int T = j->T, D = j->D, H = j->H, hd = D / H, ld = 3 * D;
    for (long pair = begin; pair < end; pair++) {
        long b = pair / H, h = pair % H;
        float *p = j->probs ? j->probs + pair * T * T : j->scratch + (long)part * T * T;
        pair_probs(j, b, h, p);
        cm_gemm(0, 0, T, hd, T, 1.0f, p, T, j->qkv + b * T * ld + 2 * D + h * hd, ld, 0.0f,
                j->out + b * T * D + h * hd, D);
    }
}

/* The per-head GEMMs run on one thread each, the (sequence, head) pairs split over the threads
 * OpenBLAS was given: OpenBLAS's thread count is process-wide, so it is set to 1 for the call
 * and restored afterwards; a product on the oneDNN path always runs on its caller's thread alone
 * (and is not split further inside a slice of cm_parallel_ranges). */
static void run_pairs(cm_range_fn fn, attention_job *job, int B)
{
    int threads = openblas_get_num_threads(), parts = cm_ops_threads();
    if (threads > 1) openblas_set_num_threads(1);
    cm_parallel_ranges((long)B * job->H, parts, fn, job);
    if (threads > 1) openblas_set_num_threads(threads);
}

void cm_attention_forward(float *out, float *probs, float *scratch, const float *qkv, int B, int T, int D, int H,
                          int causal)
{
    attention_job job = {.out = out, .probs = probs, .scratch = scratch, .qkv = qkv, .T = T, .D = D, .H = H,
                         .causal = causal};
    run_pairs(forward_pairs, &job, B);
}

/* Per (sequence, head), with P the probs, dY the output gradient of the head:
 *   dV += P^T dY;  dP = dY V^T;  dS = P o (dP - rowsum(P o dP));
 *   dQ += scale dS K;  dK += scale dS^T Q.
 * Masked entries have P = 0, hence dS = 0: the mask needs no special case. Without saved
 * probs, P is recomputed into the thread's second scratch block. */
static void backward_pairs(void *arg, long begin, long end, int part)
{
    const attention_job *j = arg;
    int T = j->T, D = j->D, H = j->H, hd = D / H, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    float *ds = j->scratch + 2L * part * T * T, *recomputed = ds + (long)T * T;
    for (long pair = begin; pair < end; pair++) {
        long b = pair / H, h = pair % H;
        const float *q = j->qkv + b * T * ld + h * hd, *k = q + D, *v = q + 2 * D;
        float *dq = j->dqkv + b * T * ld + h * hd, *dk = dq + D, *dv = dq + 2 * D;
        const float *dy = j->dout + b * T * D + h * hd;
        const float *p = j->probs_in ? j->probs_in + pair * T * T : recomputed;
        if (!j->probs_in) pair_probs(j, b, h, recomputed);
        cm_gemm(1, 0, T, hd, T, 1.0f, p, T, dy, D, 1.0f, dv, ld);
        cm_gemm(0, 1, T, T, hd, 1.0f, dy, D, v, ld, 0.0f, ds, T);
        for (int t = 0; t < T; t++) softmax_grad_row(p + (long)t * T, ds + (long)t * T, T);
        cm_gemm(0, 0, T, hd, T, scale, ds, T, k, ld, 1.0f, dq, ld);
        cm_gemm(1, 0, T, hd, T, scale, ds, T, q, ld, 1.0f, dk, ld);
    }
}

void cm_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *probs,
                           int B, int T, int D, int H, int causal)
{
    attention_job job = {.dqkv = dqkv, .scratch = scratch, .dout = dout, .qkv = qkv, .probs_in = probs, .T = T,
                         .D = D, .H = H, .causal = causal};
    run_pairs(backward_pairs, &job, B);
}

/* ---- one query per sequence ------------------------------------------------ */

static void pooled_forward_pairs(void *arg, long begin, long end, int part)
{
    const attention_job *j = arg;
    int T = j->T, D = j->D, H = j->H, hd = D / H, ld = 2 * D;
    float scale = 1.0f / sqrtf((float)hd);
    (void)part;
    for (long pair = begin; pair < end; pair++) {
        long b = pair / H, h = pair % H;
        int n = j->keys ? j->keys[b] : T;
        const float *k = j->kv + b * T * ld + h * hd, *v = k + D, *q = j->q + b * D + h * hd;
        float *p = j->probs + pair * T;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, hd, scale, k, ld, q, 1, 0.0f, p, 1);
        softmax_row(p, n, T);
        cblas_sgemv(CblasRowMajor, CblasTrans, n, hd, 1.0f, v, ld, p, 1, 0.0f, j->out + b * D + h * hd, 1);
    }
}

void cm_attention_pooled_forward(float *out, float *probs, const float *q, const float *kv, const int32_t *keys,
                                 int B, int T, int D, int H)
{
    attention_job job = {.out = out, .probs = probs, .q = q, .kv = kv, .keys = keys, .T = T, .D = D, .H = H};
    run_pairs(pooled_forward_pairs, &job, B);
}

/* With p the probs of the query, dy its output gradient: dV += p dy^T, dp = V dy,
 * ds = p o (dp - p.dp), dq += scale K^T ds, dK += scale ds q^T. */
static void pooled_backward_pairs(void *arg, long begin, long end, int part)
{
    const attention_job *j = arg;
    int T = j->T, D = j->D, H = j->H, hd = D / H, ld = 2 * D;
    float scale = 1.0f / sqrtf((float)hd);
    float *ds = j->scratch + (long)part * T;
    for (long pair = begin; pair < end; pair++) {
        long b = pair / H, h = pair % H;
        int n = j->keys ? j->keys[b] : T;
        const float *k = j->kv + b * T * ld + h * hd, *v = k + D, *q = j->q + b * D + h * hd;
        const float *p = j->probs_in + pair * T, *dy = j->dout + b * D + h * hd;
        float *dk = j->dkv + b * T * ld + h * hd, *dv = dk + D;
        cblas_sger(CblasRowMajor, n, hd, 1.0f, p, 1, dy, 1, dv, ld);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, hd, 1.0f, v, ld, dy, 1, 0.0f, ds, 1);
        softmax_grad_row(p, ds, n);
        cblas_sgemv(CblasRowMajor, CblasTrans, n, hd, scale, k, ld, ds, 1, 1.0f, j->dq + b * D + h * hd, 1);
        cblas_sger(CblasRowMajor, n, hd, scale, ds, 1, q, 1, dk, ld);
    }
}

void cm_attention_pooled_backward(float *dq, float *dkv, float *scratch, const float *dout, const float *q,
                                  const float *kv, const float *probs, const int32_t *keys, int B, int T, int D, int H)
{
    attention_job job = {.dq = dq, .dkv = dkv, .scratch = scratch, .dout = dout, .q = q, .kv = kv, .probs_in = probs,
                         .keys = keys, .T = T, .D = D, .H = H};
    run_pairs(pooled_backward_pairs, &job, B);
}
