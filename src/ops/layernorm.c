/* LayerNorm over the channels of each row (CLIP's ln_1, ln_2, ln_pre, ln_post,
 * ln_final). The forward runs 4 lanes at a time; mean and variance are two
 * passes (the variance of centred values), which keeps them as accurate as
 * PyTorch's at CLIP's widths. The backward, 4 lanes at a time too, accumulates its row sums
 * in double. */
#include <math.h>

#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec4.h"

typedef struct {
    float *out, *mean, *rstd, *dinp, *dweight, *dbias;
    const float *inp, *weight, *bias, *dout, *mean_in, *rstd_in;
    int C;
} layernorm_job;

static void forward_rows(void *arg, long begin, long end, int part)
{
    const layernorm_job *j = arg;
    float *out = j->out, *mean = j->mean, *rstd = j->rstd;
    const float *inp = j->inp, *weight = j->weight, *bias = j->bias;
    int C = j->C;
    (void)part;
    for (long n = begin; n < end; n++) {
        const float *x = inp + (long)n * C;
        float *y = out + (long)n * C;
        int c, tail = C % 4, body = C - tail;
        cm_v4 acc = cm_v4_splat(0.0f);
        for (c = 0; c < body; c += 4) acc += cm_v4_load(x + c);
        if (tail) acc += cm_v4_load_part(x + body, tail, 0.0f);
        float m = cm_v4_sum(acc) / C;
        cm_v4 vm = cm_v4_splat(m);
        acc = cm_v4_splat(0.0f);
        for (c = 0; c < body; c += 4) {
            cm_v4 d = cm_v4_load(x + c) - vm;
            acc += d * d;
        }
        if (tail) {
            cm_v4 d = cm_v4_load_part(x + body, tail, m) - vm;
            acc += d * d;
        }
        float s = (float)(1.0 / sqrt((double)cm_v4_sum(acc) / C + CM_LAYERNORM_EPS));
        cm_v4 vs = cm_v4_splat(s);
        for (c = 0; c < body; c += 4)
            cm_v4_store(y + c, (cm_v4_load(x + c) - vm) * vs * cm_v4_load(weight + c) + cm_v4_load(bias + c));
        for (; c < C; c++) y[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* Rows are independent, so they are split over threads (parallel.h) with the same result. */
void cm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, int N, int C)
{
    layernorm_job j = {.out = out, .mean = mean, .rstd = rstd, .inp = inp, .weight = weight, .bias = bias, .C = C};
    cm_parallel_ranges(N, cm_ops_parts((long)N * C), forward_rows, &j);
}

/* Adds the 4 lanes of v to the two double lanes of acc (lanes 0+2 and 1+3). */
typedef double cm_v2d __attribute__((vector_size(16)));
static inline cm_v2d add_lanes(cm_v2d acc, cm_v4 v)
{
    typedef float v2f __attribute__((vector_size(8)));
    v2f lo = {v[0], v[1]}, hi = {v[2], v[3]};
    return acc + __builtin_convertvector(lo, cm_v2d) + __builtin_convertvector(hi, cm_v2d);
}

/* With xhat = (x - mean) rstd and g = dout * weight:
 *   dx = rstd (g - mean_c(g) - xhat mean_c(g xhat)).
 * 4 channels at a time, the row sums in double lanes (a tail of C % 4 channels is zero-filled,
 * which adds nothing to them). */
static void backward_rows(void *arg, long begin, long end, int part)
{
    const layernorm_job *j = arg;
    float *dinp = j->dinp, *dweight = j->dweight, *dbias = j->dbias;
    const float *dout = j->dout, *inp = j->inp, *weight = j->weight, *mean = j->mean_in, *rstd = j->rstd_in;
    int C = j->C, tail = C % 4, body = C - tail;
    (void)part;
    for (long n = begin; n < end; n++) {
        const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
        float *dx = dinp + (long)n * C;
        float m = mean[n], s = rstd[n];
        cm_v4 vm = cm_v4_splat(m), vs = cm_v4_splat(s);
        cm_v2d g_acc = {0, 0}, gx_acc = {0, 0};
        int c;
        for (c = 0; c < body; c += 4) {
            cm_v4 xhat = (cm_v4_load(x + c) - vm) * vs, g = cm_v4_load(dy + c) * cm_v4_load(weight + c);
            g_acc = add_lanes(g_acc, g);
            gx_acc = add_lanes(gx_acc, g * xhat);
        }
        if (tail) {
            cm_v4 xhat = (cm_v4_load_part(x + body, tail, m) - vm) * vs;
            cm_v4 g = cm_v4_load_part(dy + body, tail, 0.0f) * cm_v4_load_part(weight + body, tail, 0.0f);
            g_acc = add_lanes(g_acc, g);
            gx_acc = add_lanes(gx_acc, g * xhat);
        }
        cm_v4 g_mean = cm_v4_splat((float)((g_acc[0] + g_acc[1]) / C));
        cm_v4 gx_mean = cm_v4_splat((float)((gx_acc[0] + gx_acc[1]) / C));
        for (c = 0; c < body; c += 4) {
            cm_v4 xhat = (cm_v4_load(x + c) - vm) * vs, d = cm_v4_load(dy + c);
            cm_v4 g = d * cm_v4_load(weight + c);
            cm_v4_store(dx + c, cm_v4_load(dx + c) + vs * (g - g_mean - xhat * gx_mean));
            if (dweight) cm_v4_store(dweight + c, cm_v4_load(dweight + c) + d * xhat);
            if (dbias) cm_v4_store(dbias + c, cm_v4_load(dbias + c) + d);
        }
        for (; c < C; c++) {
            float xhat = (x[c] - m) * s, g = dy[c] * weight[c];
            dx[c] += s * (g - g_mean[0] - xhat * gx_mean[0]);
            if (dweight) dweight[c] += dy[c] * xhat;
            if (dbias) dbias[c] += dy[c];
        }
    }
}

/* Rows are split over threads unless they accumulate into dweight/dbias, which the threads
 * would share. */
void cm_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C)
{
    layernorm_job j = {.dinp = dinp, .dweight = dweight, .dbias = dbias, .dout = dout, .inp = inp, .weight = weight,
                       .mean_in = mean, .rstd_in = rstd, .C = C};
    int parts = dweight || dbias ? 1 : cm_ops_parts((long)N * C);
    cm_parallel_ranges(N, parts, backward_rows, &j);
}
