/* Kronecker product, the op that builds MmAP's prompts (spec.md 3.2):
 * (A (x) B)[i*c + r, k*d + s] = A[i,k] * B[r,s], A [a,b], B [c,d], out [a*c, b*d]. */
#ifndef CLIPMTL_KRON_H
#define CLIPMTL_KRON_H

void cm_kron_forward(float *out, const float *A, int a, int b, const float *B, int c, int d);
/* Accumulates dA += sum_{r,s} G[i*c+r, k*d+s] B[r,s] and dB += sum_{i,k} G[..] A[i,k];
 * either output may be NULL. Sums run in double. */
void cm_kron_backward(float *dA, float *dB, const float *G, const float *A, int a, int b, const float *B, int c,
                   int d);

#endif
