#include "clipmtl/arena.h"

#include <stdlib.h>
#include <string.h>

void cm_arena_measure(cm_arena *a) { *a = (cm_arena){0}; }

cm_err cm_arena_create(cm_arena *a, size_t bytes)
{
    *a = (cm_arena){0};
    size_t rounded = (bytes + CM_ARENA_ALIGN - 1) / CM_ARENA_ALIGN * CM_ARENA_ALIGN;
    if (rounded == 0) rounded = CM_ARENA_ALIGN;
    a->base = aligned_alloc(CM_ARENA_ALIGN, rounded);
    if (!a->base) CM_ERROR(CM_ERR_MEM, "cannot allocate an activation arena of %.1f MiB", rounded / 1048576.0);
    a->capacity = rounded;
    return CM_OK;
}

void cm_arena_destroy(cm_arena *a)
{
    free(a->base);
    *a = (cm_arena){0};
}

cm_err cm_arena_alloc(cm_arena *a, size_t bytes, void **out)
{
    size_t start = (a->used + CM_ARENA_ALIGN - 1) / CM_ARENA_ALIGN * CM_ARENA_ALIGN;
    size_t end = start + bytes;
    if (a->base && end > a->capacity)
        CM_ERROR(CM_ERR_INTERNAL, "activation arena overflow: need %zu bytes, have %zu", end, a->capacity);
    a->used = end;
    if (end > a->peak) a->peak = end;
    *out = a->base ? a->base + start : NULL;
    return CM_OK;
}

cm_err cm_arena_floats(cm_arena *a, size_t n, float **out)
{
    void *p;
    CM_CHECK(cm_arena_alloc(a, n * sizeof(float), &p));
    *out = p;
    return CM_OK;
}

void cm_arena_rewind(cm_arena *a, size_t mark)
{
    if (mark < a->used) a->used = mark;
}
