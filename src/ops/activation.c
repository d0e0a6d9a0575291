/* QuickGELU, CLIP's activation: x * sigmoid(1.702 x), 4 lanes at a time. */
#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec4.h"

#define QUICK_GELU_ALPHA 1.702f

static inline cm_v4 sigmoid_alpha(cm_v4 x) { return 1.0f / (1.0f + cm_v4_exp(x * -QUICK_GELU_ALPHA)); }

static inline cm_v4 gelu(cm_v4 x) { return x * sigmoid_alpha(x); }

/* d/dx [x s(a x)] = s + a x s (1 - s). */
static inline cm_v4 gelu_grad(cm_v4 x, cm_v4 dy)
{
    cm_v4 s = sigmoid_alpha(x);
    return dy * (s + QUICK_GELU_ALPHA * x * s * (1.0f - s));
}

typedef struct {
    float *out;
    const float *inp, *dout;
} gelu_job;

static void forward_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *out = j->out + begin;
    const float *inp = j->inp + begin;
    long i = 0, n = end - begin;
    for (; i + 4 <= n; i += 4) cm_v4_store(out + i, gelu(cm_v4_load(inp + i)));
    if (i < n) cm_v4_store_part(out + i, gelu(cm_v4_load_part(inp + i, (int)(n - i), 0.0f)), (int)(n - i));
    (void)part;
}

static void backward_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *dinp = j->out + begin;
    const float *inp = j->inp + begin, *dout = j->dout + begin;
    long i = 0, n = end - begin;
    for (; i + 4 <= n; i += 4)
        cm_v4_store(dinp + i, cm_v4_load(dinp + i) + gelu_grad(cm_v4_load(inp + i), cm_v4_load(dout + i)));
    if (i < n) {
        int r = (int)(n - i);
        cm_v4 g = gelu_grad(cm_v4_load_part(inp + i, r, 0.0f), cm_v4_load_part(dout + i, r, 0.0f));
        cm_v4_store_part(dinp + i, cm_v4_load_part(dinp + i, r, 0.0f) + g, r);
    }
    (void)part;
}

static void backward_inplace_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *d = j->out + begin;
    const float *inp = j->inp + begin;
    long i = 0, n = end - begin;
    for (; i + 4 <= n; i += 4) cm_v4_store(d + i, gelu_grad(cm_v4_load(inp + i), cm_v4_load(d + i)));
    if (i < n) {
        int r = (int)(n - i);
        cm_v4_store_part(d + i, gelu_grad(cm_v4_load_part(inp + i, r, 0.0f), cm_v4_load_part(d + i, r, 0.0f)), r);
    }
    (void)part;
}

/* Elementwise, so split over threads with the same result (parallel.h). */
void cm_quick_gelu_forward(float *out, const float *inp, long n)
{
    gelu_job j = {out, inp, NULL};
    cm_parallel_ranges(n, cm_ops_parts(n), forward_range, &j);
}

void cm_quick_gelu_backward(float *dinp, const float *dout, const float *inp, long n)
{
    gelu_job j = {dinp, inp, dout};
    cm_parallel_ranges(n, cm_ops_parts(n), backward_range, &j);
}

void cm_quick_gelu_backward_inplace(float *d, const float *inp, long n)
{
    gelu_job j = {d, inp, NULL};
    cm_parallel_ranges(n, cm_ops_parts(n), backward_inplace_range, &j);
}
