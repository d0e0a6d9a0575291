/* The residual stream's additions: x + attn(...), x + mlp(...). */
#include "clipmtl/ops.h"

void cm_residual_forward(float *out, const float *a, const float *b, long n)
{
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void cm_residual_backward(float *da, float *db, const float *dout, long n)
{
    if (da)
        for (long i = 0; i < n; i++) da[i] += dout[i];
    if (db)
        for (long i = 0; i < n; i++) db[i] += dout[i];
}
