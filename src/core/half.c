#include "clipmtl/half.h"

#include <string.h>

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float cm_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mantissa << 13)); /* inf, NaN + payload */
    if (exponent == 0) {
        /* Zero or subnormal: mantissa * 2^-24, exact in fp32 (a normal number there). */
        float magnitude = (float)mantissa * 0x1p-24f;
        return f32_from_bits(sign | f32_bits(magnitude));
    }
    return f32_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* Drops the low `shift` bits of v, rounding to nearest with ties to even. */
static uint32_t shift_round_even(uint32_t v, int shift)
{
    uint32_t kept = v >> shift, rest = v & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1u))) kept++;
    return kept;
}

uint16_t cm_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) /* NaN: keep it a quiet NaN with the top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    if (magnitude >= 0x477ff000u) /* >= 65520 rounds past the largest half, 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (magnitude < 0x38800000u) { /* below 2^-14: a half subnormal or zero */
        int shift = 126 - (int)(magnitude >> 23); /* value / 2^-24 = significand >> shift */
        if (shift > 24) return sign;
        uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
        /* Rounding up to 0x400 gives exactly the smallest normal half. */
        return (uint16_t)(sign | shift_round_even(significand, shift));
    }
    /* Normal: rebias the exponent (127 -> 15); a carry out of the mantissa
     * correctly bumps the exponent. */
    return (uint16_t)(sign | shift_round_even(magnitude - (112u << 23), 13));
}

float cm_bf16_to_f32(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }

uint16_t cm_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    return (uint16_t)(shift_round_even(x, 16));
}
