/* CLIP's conv1 (kernel = stride = P, no bias) as im2col + one GEMM over the
 * patches of all images. Each patch row is laid out (channel, row, col), the
 * order of the conv weight [D,C,P,P], so the weight is used unchanged. */
#include <string.h>

#include "clipmtl/gemm.h"
#include "clipmtl/ops.h"

void cm_patch_embed_forward(float *out, float *patches, const float *pixels, const float *weight, int B, int C,
                            int H, int W, int P, int D)
{
    int gh = H / P, gw = W / P, K = C * P * P;
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++) {
                float *row = patches + (((long)b * gh + gy) * gw + gx) * K;
                for (int c = 0; c < C; c++)
                    for (int py = 0; py < P; py++)
                        memcpy(row + (c * P + py) * P,
                               pixels + (((long)b * C + c) * H + gy * P + py) * W + gx * P,
                               (size_t)P * sizeof(float));
            }
    cm_matmul_forward(out, patches, weight, NULL, B * gh * gw, K, D);
}

void cm_patch_embed_backward(float *dpixels, float *dweight, float *dpatches, const float *dout,
                             const float *patches, const float *weight, int B, int C, int H, int W, int P, int D)
{
    int gh = H / P, gw = W / P, K = C * P * P, N = B * gh * gw;
    if (dweight)
        cm_gemm(1, 0, D, K, N, 1.0f, dout, D, patches, K, 1.0f, dweight, K);
    if (!dpixels) return;
    cm_gemm(0, 0, N, K, D, 1.0f, dout, D, weight, K, 0.0f, dpatches, K);
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++) {
                const float *row = dpatches + (((long)b * gh + gy) * gw + gx) * K;
                for (int c = 0; c < C; c++)
                    for (int py = 0; py < P; py++) {
                        float *dst = dpixels + (((long)b * C + c) * H + gy * P + py) * W + gx * P;
                        const float *src = row + (c * P + py) * P;
                        for (int px = 0; px < P; px++) dst[px] += src[px];
                    }
            }
}
