/* Reproducible random numbers. A generator is xoshiro256** seeded from
 * (seed, stream) through splitmix64, so any component can derive its own
 * independent stream from the run seed and a few integers (task, step, image)
 * instead of carrying shared state: results do not depend on how work is
 * spread over ranks, and a resumed run draws the same numbers. */
#ifndef CLIPMTL_RNG_H
#define CLIPMTL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} cm_rng;

/* Mix several integers into one stream id. */
uint64_t cm_rng_stream(uint64_t a, uint64_t b, uint64_t c, uint64_t d);
void cm_rng_seed(cm_rng *r, uint64_t seed, uint64_t stream);
uint64_t cm_rng_u64(cm_rng *r);
/* Uniform in [0, 1) with 24 random bits (float) / 53 (double). */
float cm_rng_uniform(cm_rng *r);
double cm_rng_uniform_double(cm_rng *r);
/* Uniform integer in [0, n), without modulo bias. */
uint64_t cm_rng_below(cm_rng *r, uint64_t n);
/* Standard normal (Box-Muller, double precision internally). */
float cm_rng_normal(cm_rng *r);
/* Fisher-Yates shuffle of n ints. */
void cm_rng_shuffle(cm_rng *r, int *v, int n);

#endif
