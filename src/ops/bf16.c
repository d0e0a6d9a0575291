/* bfloat16 storage of activations kept for a backward (ops.h): round to nearest even on the
 * way in, exact on the way out. 4 lanes at a time (vec4.h: the build has no -march and -O2
 * leaves these loops scalar) and split over threads like the elementwise ops: at ViT-B/16,
 * B = 32 a block stores 22 M values. */
#include "clipmtl/ops.h"
#include "parallel.h"
#include "vec4.h"

typedef uint32_t v4u32 __attribute__((vector_size(16)));
typedef uint16_t v4u16 __attribute__((vector_size(8)));

/* Round to nearest even: adding 0x7fff plus the lowest kept bit carries into the kept half
 * exactly when the dropped half is above one half, or equal to it with the kept bit odd.
 * Infinities stay infinite; a NaN may turn into another NaN or an infinity (training values
 * are finite: the step checks the loss). */
static inline v4u16 round_bf16(cm_v4 x)
{
    v4u32 u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return __builtin_convertvector(u >> 16, v4u16);
}

static inline cm_v4 widen_bf16(v4u16 h)
{
    v4u32 u = __builtin_convertvector(h, v4u32) << 16;
    cm_v4 x;
    memcpy(&x, &u, sizeof x);
    return x;
}

typedef struct {
    uint16_t *half_out;
    float *full_out;
    const uint16_t *half_in;
    const float *full_in;
} bf16_job;

static void store_range(void *arg, long begin, long end, int part)
{
    const bf16_job *j = arg;
    const float *src = j->full_in + begin;
    uint16_t *dst = j->half_out + begin;
    long i = 0, n = end - begin;
    for (; i + 4 <= n; i += 4) {
        v4u16 h = round_bf16(cm_v4_load(src + i));
        memcpy(dst + i, &h, sizeof h);
    }
    if (i < n) {
        v4u16 h = round_bf16(cm_v4_load_part(src + i, (int)(n - i), 0.0f));
        memcpy(dst + i, &h, (size_t)(n - i) * sizeof *dst);
    }
    (void)part;
}

static void load_range(void *arg, long begin, long end, int part)
{
    const bf16_job *j = arg;
    const uint16_t *src = j->half_in + begin;
    float *dst = j->full_out + begin;
    long i = 0, n = end - begin;
    for (; i + 4 <= n; i += 4) {
        v4u16 h;
        memcpy(&h, src + i, sizeof h);
        cm_v4_store(dst + i, widen_bf16(h));
    }
    if (i < n) {
        v4u16 h = {0, 0, 0, 0};
        memcpy(&h, src + i, (size_t)(n - i) * sizeof *src);
        cm_v4_store_part(dst + i, widen_bf16(h), (int)(n - i));
    }
    (void)part;
}

void cm_bf16_store(uint16_t *dst, const float *src, long n)
{
    bf16_job j = {.half_out = dst, .full_in = src};
    cm_parallel_ranges(n, cm_ops_parts(n), store_range, &j);
}

void cm_bf16_load(float *dst, const uint16_t *src, long n)
{
    bf16_job j = {.full_out = dst, .half_in = src};
    cm_parallel_ranges(n, cm_ops_parts(n), load_range, &j);
}
