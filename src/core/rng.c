#include "clipmtl/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cm_rng_stream(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t x = a, h = splitmix64(&x);
    x ^= b; h ^= splitmix64(&x);
    x ^= c; h ^= rotl(splitmix64(&x), 17);
    x ^= d; h ^= rotl(splitmix64(&x), 41);
    return h;
}

void cm_rng_seed(cm_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ rotl(stream, 32) ^ 0x6a09e667f3bcc909ULL;
    x ^= splitmix64(&stream);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t cm_rng_u64(cm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float cm_rng_uniform(cm_rng *r) { return (float)(cm_rng_u64(r) >> 40) * 0x1.0p-24f; }

double cm_rng_uniform_double(cm_rng *r) { return (double)(cm_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t cm_rng_below(cm_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do x = cm_rng_u64(r); while (x >= limit);
    return x % n;
}

float cm_rng_normal(cm_rng *r)
{
    double u1 = 1.0 - cm_rng_uniform_double(r); /* (0, 1]: log is finite */
    double u2 = cm_rng_uniform_double(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void cm_rng_shuffle(cm_rng *r, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cm_rng_below(r, (uint64_t)i + 1);
        int t = v[i]; v[i] = v[j]; v[j] = t;
    }
}
