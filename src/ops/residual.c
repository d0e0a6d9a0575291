/* The residual stream's additions: x + attn(...), x + mlp(...). Elementwise, 4 lanes at a time
 * and split over threads like the other elementwise ops (parallel.h): at ViT-B/16, B = 32 each
 * is 4.9 M values, twice a block. */
#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec4.h"

typedef struct {
    float *out;
    const float *a, *b;
} add_job;

/* out = a + b on [begin, end) (out may alias a or b only exactly). */
static void add_range(void *arg, long begin, long end, int part)
{
    const add_job *j = arg;
    float *out = j->out;
    const float *a = j->a, *b = j->b;
    long i = begin;
    for (; i + 4 <= end; i += 4) cm_v4_store(out + i, cm_v4_load(a + i) + cm_v4_load(b + i));
    for (; i < end; i++) out[i] = a[i] + b[i];
    (void)part;
}

static void add_into(float *out, const float *a, const float *b, long n)
{
    add_job j = {out, a, b};
    cm_parallel_ranges(n, cm_ops_parts(n), add_range, &j);
}

void cm_residual_forward(float *out, const float *a, const float *b, long n) { add_into(out, a, b, n); }

void cm_residual_backward(float *da, float *db, const float *dout, long n)
{
    if (da) add_into(da, da, dout, n);
    if (db) add_into(db, db, dout, n);
}
