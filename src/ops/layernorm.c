/* LayerNorm over the channels of each row (CLIP's ln_1, ln_2, ln_pre, ln_post,
 * ln_final). Statistics are accumulated in double: the rows are at most a few
 * thousand wide, and exact statistics keep the forward within float rounding
 * of PyTorch's and the backward consistent with it. */
#include <math.h>

#include "clipmtl/ops.h"

void cm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (long)n * C;
        float *y = out + (long)n * C;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += x[c];
        double m = sum / C;
        double var = 0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            var += d * d;
        }
        float s = (float)(1.0 / sqrt(var / C + CM_LAYERNORM_EPS));
        float mf = (float)m;
        for (int c = 0; c < C; c++) y[c] = (x[c] - mf) * s * weight[c] + bias[c];
        mean[n] = mf;
        rstd[n] = s;
    }
}

/* With xhat = (x - mean) rstd and g = dout * weight:
 *   dx = rstd (g - mean_c(g) - xhat mean_c(g xhat)). */
void cm_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
        float *dx = dinp + (long)n * C;
        float m = mean[n], s = rstd[n];
        double g_sum = 0, gx_sum = 0;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            float g = dy[c] * weight[c];
            g_sum += g;
            gx_sum += (double)g * xhat;
        }
        float g_mean = (float)(g_sum / C), gx_mean = (float)(gx_sum / C);
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            float g = dy[c] * weight[c];
            dx[c] += s * (g - g_mean - xhat * gx_mean);
            if (dweight) dweight[c] += dy[c] * xhat;
            if (dbias) dbias[c] += dy[c];
        }
    }
}
