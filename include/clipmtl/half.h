/* Conversions between fp32 and the two 16-bit float formats found in
 * checkpoints: IEEE binary16 ("F16") and bfloat16 ("BF16").
 *
 * Widening to fp32 is exact for every input (subnormals, infinities and NaN
 * payloads included), so a model stored in 16 bits loads to the same numbers
 * whatever the file's dtype. Narrowing rounds to nearest, ties to even, as
 * PyTorch's .half() and .bfloat16() do; values beyond the range become
 * infinities and NaNs stay (quiet) NaNs. */
#ifndef CLIPMTL_HALF_H
#define CLIPMTL_HALF_H

#include <stdint.h>

float cm_f16_to_f32(uint16_t h);
uint16_t cm_f32_to_f16(float f);
float cm_bf16_to_f32(uint16_t b);
uint16_t cm_f32_to_bf16(float f);

#endif
