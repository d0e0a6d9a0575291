/* Internal to src/ops: 4-wide float vectors (GCC/Clang vector extensions, one
 * SSE2 register, which every x86-64 has) for the elementwise loops. The build
 * has no -march and -O2 does not vectorise loops of unknown length, so without
 * these the softmax, QuickGELU and layernorm loops run one float at a time
 * and, unlike the GEMMs, on one thread: at ViT-B/16 sizes that was a tenth of
 * the forward.
 *
 * cm_v4_exp is the Cephes single-precision exp: Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, a degree-7 polynomial for e^r, and 2^n built in
 * the exponent bits; about 1 ulp over the clamped range [-87.34, 88.38] (so
 * that n stays in [-126, 127]): results below e^-87.34 (< FLT_MIN) become
 * ~1e-38 instead of a denormal, above e^88.38 they saturate at 2.4e38. */
#ifndef CLIPMTL_OPS_VEC4_H
#define CLIPMTL_OPS_VEC4_H

#include <stdint.h>
#include <string.h>

typedef float cm_v4 __attribute__((vector_size(16)));
typedef int32_t cm_v4i __attribute__((vector_size(16)));

static inline cm_v4 cm_v4_load(const float *p)
{
    cm_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void cm_v4_store(float *p, cm_v4 v) { memcpy(p, &v, sizeof v); }

static inline cm_v4 cm_v4_splat(float x) { return (cm_v4){x, x, x, x}; }

/* Loads n < 4 floats, the other lanes set to `fill`. */
static inline cm_v4 cm_v4_load_part(const float *p, int n, float fill)
{
    float t[4] = {fill, fill, fill, fill};
    memcpy(t, p, (size_t)n * sizeof(float));
    return cm_v4_load(t);
}

static inline void cm_v4_store_part(float *p, cm_v4 v, int n)
{
    float t[4];
    cm_v4_store(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
}

/* Lane-wise a < b ? a : b and a > b ? a : b through the comparison masks. */
static inline cm_v4 cm_v4_min(cm_v4 a, cm_v4 b)
{
    cm_v4i m = a < b;
    return (cm_v4)(((cm_v4i)a & m) | ((cm_v4i)b & ~m));
}

static inline cm_v4 cm_v4_max(cm_v4 a, cm_v4 b)
{
    cm_v4i m = a > b;
    return (cm_v4)(((cm_v4i)a & m) | ((cm_v4i)b & ~m));
}

static inline float cm_v4_sum(cm_v4 v)
{
    return (v[0] + v[2]) + (v[1] + v[3]);
}

static inline float cm_v4_hmax(cm_v4 v)
{
    float m = v[0];
    for (int i = 1; i < 4; i++) m = v[i] > m ? v[i] : m;
    return m;
}

static inline cm_v4 cm_v4_exp(cm_v4 x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = cm_v4_min(cm_v4_max(x, cm_v4_splat(-87.33654f)), cm_v4_splat(88.37626f));
    cm_v4 n = (x * log2e + round_magic) - round_magic;
    cm_v4 r = x - n * ln2_hi - n * ln2_lo;
    cm_v4 p = cm_v4_splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    cm_v4i e = (__builtin_convertvector(n, cm_v4i) + 127) << 23; /* 2^n, n in [-126, 127] */
    return p * (cm_v4)e;
}

#endif
