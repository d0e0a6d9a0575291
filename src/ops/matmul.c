/* Linear layers and the two bias-free projections, all through cm_gemm. */
#include <string.h>

#include "clipmtl/gemm.h"
#include "clipmtl/ops.h"

void cm_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC)
{
    /* Start from the bias so that the GEMM adds onto it (beta = 1): one pass
     * over out instead of a GEMM pass plus a separate bias pass. */
    float beta = 0.0f;
    if (bias) {
        for (long n = 0; n < N; n++) memcpy(out + n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    cm_gemm(0, 1, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

void cm_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int N, int C, int OC)
{
    cm_gemm(0, 0, N, C, OC, 1.0f, dout, OC, weight, C, 0.0f, dinp, C);
    if (dweight)
        cm_gemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias)
        for (long n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) dbias[o] += dout[n * OC + o];
}

void cm_project_forward(float *out, const float *inp, const float *proj, int N, int C, int OC)
{
    cm_gemm(0, 0, N, OC, C, 1.0f, inp, C, proj, OC, 0.0f, out, OC);
}

void cm_project_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
                         int N, int C, int OC)
{
    cm_gemm(0, 1, N, C, OC, 1.0f, dout, OC, proj, OC, 1.0f, dinp, C);
    if (dproj)
        cm_gemm(1, 0, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f, dproj, OC);
}
