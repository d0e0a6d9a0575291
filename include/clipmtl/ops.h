/* The operations both CLIP towers are built from, one forward/backward pair
 * per op (llm.c style): raw pointers and sizes, no allocation (scratch is
 * passed in), no error paths (callers validate shapes once, up front).
 *
 * Conventions shared by every pair:
 *  - Tensors are row-major float32; "[N,C]" means N rows of C floats.
 *  - Linear weights are [out,in] (PyTorch layout): y = x W^T + b.
 *  - Backward functions ADD into their gradient outputs (+=), so gradients
 *    flowing into one tensor from several uses sum up; callers zero them once.
 *  - A gradient output that may be NULL is skipped (frozen weights, inputs
 *    that need no gradient); the comment of each function says which.
 *  - Forward outputs never alias inputs unless the comment allows it. */
#ifndef CLIPMTL_OPS_H
#define CLIPMTL_OPS_H

#include <stdint.h>

/* The ops' own loops run on up to this many threads (OPENBLAS_NUM_THREADS of them);
 * per-thread scratch is sized by it. */
#define CM_OPS_MAX_THREADS 8

/* ---- layernorm (src/ops/layernorm.c) ------------------------------------
 * out[n] = (inp[n] - mean) * rstd * weight + bias over the C channels of each
 * of the N rows, eps 1e-5 (PyTorch's default). mean and rstd [N] are saved for
 * the backward. out may alias inp. */
#define CM_LAYERNORM_EPS 1e-5f
void cm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, int N, int C);
/* dinp += ..., dweight/dbias += ... (each NULL-able); inp must be the forward input. */
void cm_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C);

/* ---- matmul (src/ops/matmul.c) ------------------------------------------
 * Linear layer: out[N,OC] = inp[N,C] weight[OC,C]^T + bias[OC] (bias NULL-able). */
void cm_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C,
                       int OC);
/* dinp[N,C] = dout weight (always, overwritten: every caller's dinp is a fresh buffer, and
 * zeroing it first cost a pass over up to N x 3072 floats per layer); dweight[OC,C] += dout^T inp
 * and dbias[OC] += column sums of dout, each only when its pointer is non-NULL. */
void cm_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int N, int C, int OC);
/* Projection with the weight stored [in,out] (visual.proj, text_projection):
 * out[N,OC] = inp[N,C] proj[C,OC], no bias. */
void cm_project_forward(float *out, const float *inp, const float *proj, int N, int C, int OC);
/* dinp += dout proj^T (always); dproj[C,OC] += inp^T dout (NULL-able). */
void cm_project_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
                         int N, int C, int OC);

/* ---- multi-head attention core (src/ops/attention.c) ---------------------
 * For B sequences of T tokens with packed qkv [B,T,3D] (q | k | v along the
 * channels, head h at channels h*hd..(h+1)*hd-1 of each, hd = D/H):
 *   probs[b,h] = softmax(q_h k_h^T / sqrt(hd) + mask)   [T,T]
 *   out[b,t,h*hd+i] = (probs[b,h] v_h)[t,i]             [B,T,D]
 * With causal != 0 token t attends to tokens 0..t only (masked probs are 0).
 * probs [B,H,T,T] is saved when non-NULL; otherwise each thread's [T,T] block of scratch
 * holds them in turn (the training step does so: at ViT-B/16, B = 32 the saved probs were
 * 61 MB per layer, and the backward recomputes them at the cost of one T x T x hd product).
 * scratch: CM_ATTENTION_SCRATCH(T) floats, used only when probs is NULL. */
void cm_attention_forward(float *out, float *probs, float *scratch, const float *qkv, int B, int T, int D, int H,
                          int causal);
/* dqkv[B,T,3D] += gradient given dout [B,T,D] and the forward's qkv, causal and probs; probs
 * NULL: recomputed from q and k, by the same products as the forward's, so the gradient is
 * bitwise the one from saved probs. scratch: CM_ATTENTION_SCRATCH(T) floats (two T*T blocks
 * per thread). Both directions split the (sequence, head) pairs over OPENBLAS_NUM_THREADS
 * threads (at most 8), each product on one OpenBLAS thread. */
#define CM_ATTENTION_SCRATCH(T) (2 * CM_OPS_MAX_THREADS * (size_t)(T) * (size_t)(T))
void cm_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *probs,
                           int B, int T, int D, int H, int causal);
/* Attention of one query per sequence, for the last block, whose only output that matters
 * is the pooled row (CLS, EOT): q [B,D] is that row's query, kv [B,T,2D] the keys and values
 * of all T tokens (k | v along the channels), keys[b] how many of them sequence b's query
 * sees (causal text tower: its position + 1; NULL: all T). probs [B,H,T] (0 past keys[b])
 * is saved for the backward; out [B,D]. */
void cm_attention_pooled_forward(float *out, float *probs, const float *q, const float *kv, const int32_t *keys,
                                 int B, int T, int D, int H);
/* dq [B,D] += ..., dkv [B,T,2D] += ... given dout [B,D]; scratch: CM_ATTENTION_SCRATCH(T). */
void cm_attention_pooled_backward(float *dq, float *dkv, float *scratch, const float *dout, const float *q,
                                  const float *kv, const float *probs, const int32_t *keys, int B, int T, int D, int H);

/* ---- quick_gelu (src/ops/activation.c) -----------------------------------
 * out = x * sigmoid(1.702 x), elementwise over n values; out may alias inp. */
void cm_quick_gelu_forward(float *out, const float *inp, long n);
/* dinp += dout * d/dx[x sigmoid(1.702 x)]; inp is the forward input. */
void cm_quick_gelu_backward(float *dinp, const float *dout, const float *inp, long n);
/* d = d * d/dx[x sigmoid(1.702 x)] in place: for a gradient nothing else adds to, which then
 * needs neither a second buffer nor its zeroing (the blocks' MLP: [N,M] each). */
void cm_quick_gelu_backward_inplace(float *d, const float *inp, long n);

/* ---- residual add (src/ops/residual.c) -----------------------------------
 * out = a + b over n values; out may alias a or b. */
void cm_residual_forward(float *out, const float *a, const float *b, long n);
/* da += dout, db += dout (each NULL-able); da may alias db's source stream. */
void cm_residual_backward(float *da, float *db, const float *dout, long n);

/* ---- bfloat16 storage (src/ops/bf16.c) -----------------------------------
 * Activations a backward reads, kept at half the memory (compute.precision bf16): dst [n] =
 * src rounded to nearest even bfloat16 (the upper half of its fp32 bits), and back, exactly. */
void cm_bf16_store(uint16_t *dst, const float *src, long n);
void cm_bf16_load(float *dst, const uint16_t *src, long n);

/* ---- patch embedding (src/ops/patch_embed.c) -----------------------------
 * The stride-P, bias-free P x P convolution of CLIP's conv1 as one GEMM:
 * pixels [B,C,H,W] are cut into the G = (H/P)*(W/P) patches of each image in
 * row-major grid order, each flattened in (channel,row,col) order, so that
 * out[B*G,D] = patches[B*G, C*P*P] weight[D, C*P*P]^T with the conv weight
 * [D,C,P,P] used as is. patches is scratch of B*G*C*P*P floats, kept for the
 * weight gradient. H and W must be multiples of P. */
void cm_patch_embed_forward(float *out, float *patches, const float *pixels, const float *weight, int B, int C,
                            int H, int W, int P, int D);
/* dweight[D,C*P*P] += dout^T patches (NULL-able) and dpixels [B,C,H,W] +=
 * the gradient scattered back to the pixels (NULL-able; needs dpatches,
 * scratch of B*G*C*P*P floats, otherwise unused). */
void cm_patch_embed_backward(float *dpixels, float *dweight, float *dpatches, const float *dout,
                             const float *patches, const float *weight, int B, int C, int H, int W, int P, int D);

/* ---- token embedding (src/ops/embedding.c) -------------------------------
 * out[n] = table[ids[n]] for N ids (callers check 0 <= id < vocab). */
void cm_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D);
/* Scatter-add: dtable[ids[n]] += dout[n]. */
void cm_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int D);

#endif
