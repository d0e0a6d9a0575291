/* Token embedding lookup and its scatter-add gradient. */
#include <string.h>

#include "clipmtl/ops.h"

void cm_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D)
{
    for (int n = 0; n < N; n++) memcpy(out + (long)n * D, table + (long)ids[n] * D, (size_t)D * sizeof(float));
}

void cm_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int D)
{
    for (int n = 0; n < N; n++) {
        float *dst = dtable + (long)ids[n] * D;
        const float *src = dout + (long)n * D;
        for (int d = 0; d < D; d++) dst[d] += src[d];
    }
}
