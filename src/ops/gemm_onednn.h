/* Internal to src/ops/gemm.c: the oneDNN path. In a build without oneDNN every query says
 * "not available" and the products return 0, so gemm.c falls back to OpenBLAS. */
#ifndef CLIPMTL_GEMM_ONEDNN_H
#define CLIPMTL_GEMM_ONEDNN_H

#include <stddef.h>
#include <stdint.h>

int cm_onednn_built(void);
/* oneDNN's effective ISA includes AVX-512 (avx512_core) / AVX512-BF16 (avx512_core_bf16). */
int cm_onednn_has_avx512(void);
int cm_onednn_has_bf16(void);
const char *cm_onednn_isa_name(void);
/* Round to nearest even, as cm_f32_to_bf16, n values (with AVX512-BF16 instructions when the
 * CPU has them). */
void cm_onednn_to_bf16(uint16_t *dst, const float *src, size_t n);
/* Row-major products as cm_gemm, on the calling thread alone (gemm.c splits products over
 * threads); safe to call from several threads at once. 1 on success, 0 when oneDNN refused
 * (the caller then computes the product itself). */
int cm_onednn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
/* C = alpha bf16(A) B16 + beta C with B16 bfloat16 [K,N] (or [N,K] when trans_b), fp32
 * accumulation; A is rounded to bf16 here, into scratch of this call's own. */
int cm_onednn_gemm_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B16,
                        int ldb, float beta, float *C, int ldc);

#endif
