/* Internal to src/ops: 16-wide float vectors for the exp-heavy loops (softmax, QuickGELU) on
 * CPUs with AVX-512, beside the 4-wide SSE2 ones of vec4.h that every x86-64 runs. The build
 * has no -march, so these functions carry the target attribute themselves and the callers
 * choose at run time (cm_ops_wide). Same algorithms as vec4.h, including the Cephes exp;
 * the compiler may fuse its multiply-adds (FMA), which changes results by about an ulp.
 *
 * CLIPMTL_OPS_VECTOR=4 in the environment keeps the 4-wide loops (read once per process):
 * how the tests run both (tests/ops/test_ops_narrow.sh). */
#ifndef CLIPMTL_OPS_VEC16_H
#define CLIPMTL_OPS_VEC16_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define CM_HAVE_V16 1
#define CM_V16 __attribute__((target("avx512f"))) static inline

typedef float cm_v16 __attribute__((vector_size(64)));
typedef int32_t cm_v16i __attribute__((vector_size(64)));

CM_V16 cm_v16 cm_v16_load(const float *p)
{
    cm_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

CM_V16 void cm_v16_store(float *p, cm_v16 v) { memcpy(p, &v, sizeof v); }

CM_V16 cm_v16 cm_v16_splat(float x) { return (cm_v16){0} + x; }

/* n < 16 floats, the other lanes `fill`. */
CM_V16 cm_v16 cm_v16_load_part(const float *p, int n, float fill)
{
    float t[16];
    for (int i = 0; i < 16; i++) t[i] = fill;
    memcpy(t, p, (size_t)n * sizeof(float));
    return cm_v16_load(t);
}

CM_V16 void cm_v16_store_part(float *p, cm_v16 v, int n)
{
    float t[16];
    cm_v16_store(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
}

/* Lane-wise a < b ? a : b and a > b ? a : b through the comparison masks. */
CM_V16 cm_v16 cm_v16_min(cm_v16 a, cm_v16 b)
{
    cm_v16i m = a < b;
    return (cm_v16)(((cm_v16i)a & m) | ((cm_v16i)b & ~m));
}

CM_V16 cm_v16 cm_v16_max(cm_v16 a, cm_v16 b)
{
    cm_v16i m = a > b;
    return (cm_v16)(((cm_v16i)a & m) | ((cm_v16i)b & ~m));
}

CM_V16 float cm_v16_sum(cm_v16 v)
{
    float s = 0.0f;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

CM_V16 float cm_v16_hmax(cm_v16 v)
{
    float m = v[0];
    for (int i = 1; i < 16; i++) m = v[i] > m ? v[i] : m;
    return m;
}

CM_V16 cm_v16 cm_v16_exp(cm_v16 x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = cm_v16_min(cm_v16_max(x, cm_v16_splat(-87.33654f)), cm_v16_splat(88.37626f));
    cm_v16 n = (x * log2e + round_magic) - round_magic;
    cm_v16 r = x - n * ln2_hi - n * ln2_lo;
    cm_v16 p = cm_v16_splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    cm_v16i e = (__builtin_convertvector(n, cm_v16i) + 127) << 23; /* 2^n, n in [-126, 127] */
    return p * (cm_v16)e;
}

/* 1 when the 16-wide loops run: the CPU has AVX-512F and CLIPMTL_OPS_VECTOR is not 4. */
static inline int cm_ops_wide(void)
{
    static int wide = -1; /* threads racing here all store the same value */
    int w = __atomic_load_n(&wide, __ATOMIC_RELAXED);
    if (w < 0) {
        const char *v = getenv("CLIPMTL_OPS_VECTOR");
        __builtin_cpu_init();
        w = __builtin_cpu_supports("avx512f") && !(v && !strcmp(v, "4"));
        __atomic_store_n(&wide, w, __ATOMIC_RELAXED);
    }
    return w;
}
#else
static inline int cm_ops_wide(void) { return 0; }
#endif

#endif
