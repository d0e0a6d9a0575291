/* QuickGELU, CLIP's activation: x * sigmoid(1.702 x), 16 lanes at a time with AVX-512, else 4
 * (vec16.h, vec4.h). */
#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec16.h"
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

#ifdef CM_HAVE_V16
/* The same 16 lanes at a time (vec16.h); ranges of any length, the tail zero-filled. */
CM_V16 cm_v16 sigmoid_alpha_wide(cm_v16 x) { return 1.0f / (1.0f + cm_v16_exp(x * -QUICK_GELU_ALPHA)); }

CM_V16 cm_v16 gelu_grad_wide(cm_v16 x, cm_v16 dy)
{
    cm_v16 s = sigmoid_alpha_wide(x);
    return dy * (s + QUICK_GELU_ALPHA * x * s * (1.0f - s));
}

__attribute__((target("avx512f"))) static void forward_wide(float *out, const float *inp, long n)
{
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        cm_v16 x = cm_v16_load(inp + i);
        cm_v16_store(out + i, x * sigmoid_alpha_wide(x));
    }
    if (i < n) {
        cm_v16 x = cm_v16_load_part(inp + i, (int)(n - i), 0.0f);
        cm_v16_store_part(out + i, x * sigmoid_alpha_wide(x), (int)(n - i));
    }
}

/* dinp = (add ? dinp : 0) + gelu'(inp) dout; dout may be dinp itself when !add (in place). */
__attribute__((target("avx512f"))) static void backward_wide(float *dinp, const float *dout, const float *inp,
                                                              long n, int add)
{
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        cm_v16 g = gelu_grad_wide(cm_v16_load(inp + i), cm_v16_load(dout + i));
        cm_v16_store(dinp + i, add ? cm_v16_load(dinp + i) + g : g);
    }
    if (i < n) {
        int r = (int)(n - i);
        cm_v16 g = gelu_grad_wide(cm_v16_load_part(inp + i, r, 0.0f), cm_v16_load_part(dout + i, r, 0.0f));
        cm_v16_store_part(dinp + i, add ? cm_v16_load_part(dinp + i, r, 0.0f) + g : g, r);
    }
}
#endif

static void forward_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *out = j->out + begin;
    const float *inp = j->inp + begin;
    long i = 0, n = end - begin;
    (void)part;
#ifdef CM_HAVE_V16
    if (cm_ops_wide()) {
        forward_wide(out, inp, n);
        return;
    }
#endif
    for (; i + 4 <= n; i += 4) cm_v4_store(out + i, gelu(cm_v4_load(inp + i)));
    if (i < n) cm_v4_store_part(out + i, gelu(cm_v4_load_part(inp + i, (int)(n - i), 0.0f)), (int)(n - i));
}

static void backward_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *dinp = j->out + begin;
    const float *inp = j->inp + begin, *dout = j->dout + begin;
    long i = 0, n = end - begin;
    (void)part;
#ifdef CM_HAVE_V16
    if (cm_ops_wide()) {
        backward_wide(dinp, dout, inp, n, 1);
        return;
    }
#endif
    for (; i + 4 <= n; i += 4)
        cm_v4_store(dinp + i, cm_v4_load(dinp + i) + gelu_grad(cm_v4_load(inp + i), cm_v4_load(dout + i)));
    if (i < n) {
        int r = (int)(n - i);
        cm_v4 g = gelu_grad(cm_v4_load_part(inp + i, r, 0.0f), cm_v4_load_part(dout + i, r, 0.0f));
        cm_v4_store_part(dinp + i, cm_v4_load_part(dinp + i, r, 0.0f) + g, r);
    }
}

static void backward_inplace_range(void *arg, long begin, long end, int part)
{
    const gelu_job *j = arg;
    float *d = j->out + begin;
    const float *inp = j->inp + begin;
    long i = 0, n = end - begin;
    (void)part;
#ifdef CM_HAVE_V16
    if (cm_ops_wide()) {
        backward_wide(d, d, inp, n, 0);
        return;
    }
#endif
    for (; i + 4 <= n; i += 4) cm_v4_store(d + i, gelu_grad(cm_v4_load(inp + i), cm_v4_load(d + i)));
    if (i < n) {
        int r = (int)(n - i);
        cm_v4_store_part(d + i, gelu_grad(cm_v4_load_part(inp + i, r, 0.0f), cm_v4_load_part(d + i, r, 0.0f)), r);
    }
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
