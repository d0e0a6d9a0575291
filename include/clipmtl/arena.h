/* A bump allocator for activations: sized once up front, nothing is allocated
 * in the step loop. Sizing works by running the same allocation sequence on a
 * measuring arena (cm_arena_measure) and then on a real one of that size. */
#ifndef CLIPMTL_ARENA_H
#define CLIPMTL_ARENA_H

#include <stddef.h>

#include "clipmtl/error.h"

#define CM_ARENA_ALIGN 64

typedef struct {
    char *base;      /* NULL while measuring */
    size_t capacity; /* bytes */
    size_t used;     /* bytes, including alignment padding */
    size_t peak;
} cm_arena;

/* An arena that hands out no memory and only counts bytes. */
void cm_arena_measure(cm_arena *a);
cm_err cm_arena_create(cm_arena *a, size_t bytes);
void cm_arena_destroy(cm_arena *a);
/* Returns 64-byte aligned memory (NULL when measuring); raises when full. */
cm_err cm_arena_alloc(cm_arena *a, size_t bytes, void **out);
/* Float convenience: *out = n floats. */
cm_err cm_arena_floats(cm_arena *a, size_t n, float **out);
/* Release everything allocated after `mark` (a previous value of a->used). */
void cm_arena_rewind(cm_arena *a, size_t mark);

#endif
