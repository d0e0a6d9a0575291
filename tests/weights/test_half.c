/* fp16 / bf16 <-> fp32 conversions, checked against definitions computed
 * independently in double precision: every 16-bit pattern for widening,
 * edge cases and random fp32 values for rounding (nearest, ties to even). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clipmtl/half.h"
#include "clipmtl/rng.h"
#include "test_util.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE binary16 by its definition. */
static double f16_value(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

/* bfloat16 by its definition (8 exponent bits, 7 mantissa bits). */
static double bf16_value(uint16_t b)
{
    int sign = b >> 15, e = (b >> 7) & 255, m = b & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
    return sign ? -v : v;
}

static void test_widening_all_patterns(void)
{
    int f16_bad = 0, bf16_bad = 0, f16_payload_bad = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        uint16_t h = (uint16_t)p;
        double want = f16_value(h);
        float got = cm_f16_to_f32(h);
        if (isnan(want)) {
            /* NaN stays NaN with sign and payload (mantissa shifted up). */
            if (!isnan(got) || (bits_of(got) >> 31) != (h >> 15u) || ((bits_of(got) >> 13) & 1023) != (h & 1023u))
                f16_payload_bad++;
        } else if ((double)got != want || !signbit(got) != !signbit(want)) {
            if (f16_bad++ < 5) printf("f16 %04x: got %.9g want %.9g\n", p, got, want);
        }
        want = bf16_value(h);
        got = cm_bf16_to_f32(h);
        if (isnan(want) ? !isnan(got) || (bits_of(got) >> 16) != p : ((double)got != want || !signbit(got) != !signbit(want)))
            if (bf16_bad++ < 5) printf("bf16 %04x: got %.9g want %.9g\n", p, got, want);
    }
    CM_TEST(f16_bad == 0, "%d F16 patterns widen wrongly", f16_bad);
    CM_TEST(f16_payload_bad == 0, "%d F16 NaNs lost sign or payload", f16_payload_bad);
    CM_TEST(bf16_bad == 0, "%d BF16 patterns widen wrongly", bf16_bad);
    /* The edge cases by name. */
    CM_TEST(cm_f16_to_f32(0x0001) == 0x1p-24f, "smallest F16 subnormal is 2^-24");
    CM_TEST(cm_f16_to_f32(0x03ff) == 1023 * 0x1p-24f, "largest F16 subnormal");
    CM_TEST(cm_f16_to_f32(0x0400) == 0x1p-14f, "smallest F16 normal");
    CM_TEST(cm_f16_to_f32(0x7bff) == 65504.0f, "largest F16 is 65504");
    CM_TEST(isinf(cm_f16_to_f32(0xfc00)) && cm_f16_to_f32(0xfc00) < 0, "F16 -inf");
    CM_TEST(signbit(cm_f16_to_f32(0x8000)) && cm_f16_to_f32(0x8000) == 0, "F16 -0");
    CM_TEST(cm_bf16_to_f32(0x0001) == 0x1p-133f, "smallest BF16 subnormal");
}

/* The representable values nearest to x on either side, by search over all
 * finite positive patterns ordered by value (both formats are monotonic in
 * their bit pattern), then ties to the even pattern. */
static uint16_t nearest(double x, double (*value)(uint16_t), uint16_t max_finite, uint16_t inf_pattern,
                        double overflow_threshold)
{
    double a = fabs(x);
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    if (a >= overflow_threshold) return sign | inf_pattern;
    uint16_t lo = 0, hi = max_finite;
    if (a >= value(max_finite)) return sign | max_finite;
    while (hi - lo > 1) { /* value(lo) <= a < value(hi) */
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (value(mid) <= a) lo = mid;
        else hi = mid;
    }
    double dlo = a - value(lo), dhi = value(hi) - a;
    uint16_t pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
    return sign | pick;
}

static void check_narrowing(float x, int *f16_bad, int *bf16_bad)
{
    /* Overflow: beyond max + half an ulp (ties to even go to infinity). */
    uint16_t want16 = nearest(x, f16_value, 0x7bff, 0x7c00, 65520.0);
    uint16_t got16 = cm_f32_to_f16(x);
    if (got16 != want16 && (*f16_bad)++ < 5) printf("F16(%a): got %04x want %04x\n", x, got16, want16);
    double bf_max = bf16_value(0x7f7f), bf_overflow = bf_max + ldexp(1, 127 - 8);
    uint16_t want_bf = nearest(x, bf16_value, 0x7f7f, 0x7f80, bf_overflow);
    uint16_t got_bf = cm_f32_to_bf16(x);
    if (got_bf != want_bf && (*bf16_bad)++ < 5) printf("BF16(%a): got %04x want %04x\n", x, got_bf, want_bf);
}

static void test_narrowing(void)
{
    int f16_bad = 0, bf16_bad = 0;
    const float edges[] = {0.0f, -0.0f, 1.0f, -1.5f, 65504.0f, 65519.99f, 65520.0f, 65536.0f, 1e30f, INFINITY,
                           -INFINITY, 0x1p-24f, 0x1p-25f, 0x1.000002p-25f, 0x1.8p-24f, 0x1.4p-24f, 0x1p-26f,
                           0x1.ff8p-15f, 0x1.ffcp-15f, 1.0009765625f /* 1 + 2^-10 */, 1.00048828125f /* tie */,
                           1.00146484375f /* tie, rounds up to even */, 0x1p-14f, 0x1.ff8p-14f, 3.4028235e38f,
                           0x1p-133f, 0x1p-134f, 0x1.8p-133f, 1e-45f, 0x1.fffffep-127f};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check_narrowing(edges[i], &f16_bad, &bf16_bad);
    /* Random bit patterns cover every exponent; values near the F16 range
     * (|e| <= 20) are where the rounding is delicate. */
    cm_rng r;
    cm_rng_seed(&r, 1, 2);
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)cm_rng_u64(&r);
        if (i % 2) u = (u & 0x807fffffu) | ((uint32_t)(127 - 30 + cm_rng_below(&r, 50)) << 23);
        float x = float_of(u);
        if (isnan(x)) continue;
        check_narrowing(x, &f16_bad, &bf16_bad);
    }
    CM_TEST(f16_bad == 0, "%d values round to F16 wrongly", f16_bad);
    CM_TEST(bf16_bad == 0, "%d values round to BF16 wrongly", bf16_bad);
    /* NaN stays NaN (quiet), keeping the sign. */
    float qnan = float_of(0x7fc00001u), snan = float_of(0xff800001u);
    uint16_t h = cm_f32_to_f16(qnan), hs = cm_f32_to_f16(snan), b = cm_f32_to_bf16(snan);
    CM_TEST((h & 0x7c00) == 0x7c00 && (h & 0x3ff) && !(h & 0x8000), "F16(qNaN) = %04x", h);
    CM_TEST((hs & 0x7c00) == 0x7c00 && (hs & 0x200) && (hs & 0x8000), "F16(-sNaN) = %04x must be a quiet NaN", hs);
    CM_TEST((b & 0x7f80) == 0x7f80 && (b & 0x7f) && (b & 0x8000), "BF16(-sNaN) = %04x must stay NaN", b);
    /* Every finite F16 / BF16 survives a round trip through fp32. */
    int trip = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        if (!isnan(f16_value((uint16_t)p)) && cm_f32_to_f16(cm_f16_to_f32((uint16_t)p)) != p) trip++;
        if (!isnan(bf16_value((uint16_t)p)) && cm_f32_to_bf16(cm_bf16_to_f32((uint16_t)p)) != p) trip++;
    }
    CM_TEST(trip == 0, "%d patterns do not survive 16 -> 32 -> 16 bits", trip);
}

int main(void)
{
    test_widening_all_patterns();
    test_narrowing();
    return cm_test_summary();
}
