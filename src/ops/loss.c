#include "clipmtl/loss.h"

#include <cblas.h>
#include <math.h>

static float inverse_norm(const float *x, int E)
{
    double s = 0;
    for (int e = 0; e < E; e++) s += (double)x[e] * x[e];
    return (float)(1.0 / sqrt(s));
}

void cm_clip_head_forward(float *logits, float *inv_norm_img, float *inv_norm_txt, const float *img, const float *txt,
                       int B, int C, int E, float logit_scale)
{
    for (int b = 0; b < B; b++) inv_norm_img[b] = inverse_norm(img + (size_t)b * E, E);
    for (int c = 0; c < C; c++) inv_norm_txt[c] = inverse_norm(txt + (size_t)c * E, E);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, C, E, 1.0f, img, E, txt, E, 0.0f, logits, C);
    const float scale = expf(logit_scale);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) logits[(size_t)b * C + c] *= scale * inv_norm_img[b] * inv_norm_txt[c];
}

/* With u = x / |x| and g = dL/du: dL/dx = (g - u (u . g)) / |x|. */
static void normalize_backward(float *dx, const float *x, float inv_norm, int E)
{
    double ug = 0;
    for (int e = 0; e < E; e++) ug += (double)x[e] * inv_norm * dx[e];
    for (int e = 0; e < E; e++) dx[e] = (float)((dx[e] - x[e] * inv_norm * ug) * inv_norm);
}

void cm_clip_head_backward(float *d_img, float *d_txt, float *g, const float *d_logits, const float *img,
                        const float *txt, const float *inv_norm_img, const float *inv_norm_txt, int B, int C, int E,
                        float logit_scale)
{
    const float scale = expf(logit_scale);
    /* d(logits)/d(u_b . v_c) = scale: dU = scale * dlogits V, dV = scale * dlogits^T U, with
     * U, V the normalised rows; the row scalings are applied to dlogits instead. */
    if (d_img) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) g[(size_t)b * C + c] = scale * d_logits[(size_t)b * C + c] * inv_norm_txt[c];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, E, C, 1.0f, g, C, txt, E, 0.0f, d_img, E);
        for (int b = 0; b < B; b++) normalize_backward(d_img + (size_t)b * E, img + (size_t)b * E, inv_norm_img[b], E);
    }
    if (d_txt) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) g[(size_t)b * C + c] = scale * d_logits[(size_t)b * C + c] * inv_norm_img[b];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, E, B, 1.0f, g, C, img, E, 0.0f, d_txt, E);
        for (int c = 0; c < C; c++) normalize_backward(d_txt + (size_t)c * E, txt + (size_t)c * E, inv_norm_txt[c], E);
    }
}

double cm_cross_entropy_forward_backward(float *d_logits, int *correct, const float *logits, const int *labels, int B,
                                      int C)
{
    double total = 0;
    int right = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        right += best == labels[b];
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - z[best]);
        total += log(sum) - ((double)z[labels[b]] - z[best]);
        if (d_logits)
            for (int c = 0; c < C; c++)
                d_logits[(size_t)b * C + c] = (float)((exp((double)z[c] - z[best]) / sum - (c == labels[b])) / B);
    }
    if (correct) *correct = right;
    return total / B;
}

double cm_contrastive_loss_forward_backward(float *d_logits, int *correct, const float *logits, int G)
{
    double total = 0;
    int right = 0;
    /* Pass 0 reads the rows (image -> text), pass 1 the columns (text -> image). */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < G; i++) {
            const size_t step = pass ? (size_t)G : 1, first = pass ? (size_t)i : (size_t)i * G;
            int best = 0;
            for (int j = 1; j < G; j++)
                if (logits[first + j * step] > logits[first + best * step]) best = j;
            if (pass == 0) right += best == i;
            const double top = logits[first + best * step];
            double sum = 0;
            for (int j = 0; j < G; j++) sum += exp((double)logits[first + j * step] - top);
            total += log(sum) - ((double)logits[first + i * step] - top);
            if (!d_logits) continue;
            for (int j = 0; j < G; j++) {
                const double d = 0.5 * (exp((double)logits[first + j * step] - top) / sum - (i == j)) / G;
                float *slot = d_logits + first + j * step;
                *slot = pass ? (float)(*slot + d) : (float)d;
            }
        }
    if (correct) *correct = right;
    return 0.5 * total / G;
}
