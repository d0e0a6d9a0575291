/* The residual stream's additions: x + attn(...), x + mlp(...). */
#include "clipmtl/ops.h"
#include "vec4.h"

/* out += in (out may alias in only exactly). */
static void add_into(float *out, const float *a, const float *b, long n)
{
    long i = 0;
    for (; i + 4 <= n; i += 4) cm_v4_store(out + i, cm_v4_load(a + i) + cm_v4_load(b + i));
    for (; i < n; i++) out[i] = a[i] + b[i];
}

void cm_residual_forward(float *out, const float *a, const float *b, long n) { add_into(out, a, b, n); }

void cm_residual_backward(float *da, float *db, const float *dout, long n)
{
    if (da) add_into(da, da, dout, n);
    if (db) add_into(db, db, dout, n);
}
