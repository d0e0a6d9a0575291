/* QuickGELU, CLIP's activation: x * sigmoid(1.702 x). */
#include <math.h>

#include "clipmtl/ops.h"

#define QUICK_GELU_ALPHA 1.702f

void cm_quick_gelu_forward(float *out, const float *inp, long n)
{
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-QUICK_GELU_ALPHA * x));
    }
}

/* d/dx [x s(a x)] = s + a x s (1 - s). */
void cm_quick_gelu_backward(float *dinp, const float *dout, const float *inp, long n)
{
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float s = 1.0f / (1.0f + expf(-QUICK_GELU_ALPHA * x));
        dinp[i] += dout[i] * (s + QUICK_GELU_ALPHA * x * s * (1.0f - s));
    }
}
