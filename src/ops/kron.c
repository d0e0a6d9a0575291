#include "clipmtl/kron.h"

#include <stddef.h>

void cm_kron_forward(float *out, const float *A, int a, int b, const float *B, int c, int d)
{
    const size_t cols = (size_t)b * d;
    for (int i = 0; i < a; i++)
        for (int r = 0; r < c; r++) {
            float *row = out + ((size_t)i * c + r) * cols;
            for (int k = 0; k < b; k++) {
                const float aik = A[(size_t)i * b + k];
                for (int s = 0; s < d; s++) row[(size_t)k * d + s] = aik * B[(size_t)r * d + s];
            }
        }
}

void cm_kron_backward(float *dA, float *dB, const float *G, const float *A, int a, int b, const float *B, int c,
                   int d)
{
    const size_t cols = (size_t)b * d;
    if (dA)
        for (int i = 0; i < a; i++)
            for (int k = 0; k < b; k++) {
                double acc = 0;
                for (int r = 0; r < c; r++) {
                    const float *g = G + ((size_t)i * c + r) * cols + (size_t)k * d;
                    for (int s = 0; s < d; s++) acc += (double)g[s] * B[(size_t)r * d + s];
                }
                dA[(size_t)i * b + k] += (float)acc;
            }
    if (dB)
        for (int r = 0; r < c; r++)
            for (int s = 0; s < d; s++) {
                double acc = 0;
                for (int i = 0; i < a; i++)
                    for (int k = 0; k < b; k++)
                        acc += (double)G[((size_t)i * c + r) * cols + (size_t)k * d + s] * A[(size_t)i * b + k];
                dB[(size_t)r * d + s] += (float)acc;
            }
}
