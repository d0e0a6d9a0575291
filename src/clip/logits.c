/* CLIP's head (spec.md 1.3): scaled cosine similarity of the two features.
 * Norms and dot products are accumulated in double. */
#include <math.h>

#include "clipmtl/encoder.h"

static double norm(const float *v, int E)
{
    double s = 0;
    for (int e = 0; e < E; e++) s += (double)v[e] * v[e];
    return sqrt(s);
}

void cm_clip_logits(const float *img, int B, const float *txt, int C, int E, float logit_scale_log, float *logits)
{
    double scale = exp((double)logit_scale_log);
    for (int b = 0; b < B; b++) {
        const float *i = img + (long)b * E;
        double ni = norm(i, E);
        for (int c = 0; c < C; c++) {
            const float *t = txt + (long)c * E;
            double dot = 0;
            for (int e = 0; e < E; e++) dot += (double)i[e] * t[e];
            logits[(long)b * C + c] = (float)(scale * dot / (ni * norm(t, E)));
        }
    }
}
