/* The record of similarity snapshots and their average (spec 4.2 step 3). */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/similarity.h"

cm_err cm_similarity_snapshots_init(cm_similarity_snapshots *s, int ntasks)
{
    CM_ASSERT(ntasks >= 1, CM_ERR_ARG, "similarity snapshots need at least one task, got %d", ntasks);
    *s = (cm_similarity_snapshots){.ntasks = ntasks};
    return CM_OK;
}

static cm_err grow(cm_similarity_snapshots *s)
{
    const size_t n = (size_t)s->ntasks;
    int capacity = s->capacity ? 2 * s->capacity : 8;
    int64_t *steps = realloc(s->steps, (size_t)capacity * sizeof *steps);
    if (steps) s->steps = steps;
    double *cosine = realloc(s->cosine, (size_t)capacity * n * n * sizeof *cosine);
    if (cosine) s->cosine = cosine;
    double *norms = realloc(s->norms, (size_t)capacity * n * sizeof *norms);
    if (norms) s->norms = norms;
    CM_ASSERT(steps && cosine && norms, CM_ERR_MEM, "out of memory for %d similarity snapshots of %d tasks",
              capacity, s->ntasks);
    s->capacity = capacity;
    return CM_OK;
}

cm_err cm_similarity_snapshots_add(cm_similarity_snapshots *s, int64_t step, const double *cosine,
                                   const double *norms)
{
    CM_ASSERT(s->count == 0 || step > s->steps[s->count - 1], CM_ERR_ARG,
              "similarity snapshot at step %lld does not follow the previous one (step %lld)",
              (long long)step, (long long)s->steps[s->count - 1]);
    if (s->count == s->capacity) CM_CHECK(grow(s));
    const size_t n = (size_t)s->ntasks;
    s->steps[s->count] = step;
    memcpy(s->cosine + (size_t)s->count * n * n, cosine, n * n * sizeof *cosine);
    memcpy(s->norms + (size_t)s->count * n, norms, n * sizeof *norms);
    s->count++;
    return CM_OK;
}

cm_err cm_similarity_snapshots_mean(const cm_similarity_snapshots *s, double *mean)
{
    CM_ASSERT(s->count > 0, CM_ERR_ARG, "no similarity snapshot recorded: nothing to average");
    const size_t nn = (size_t)s->ntasks * s->ntasks;
    memset(mean, 0, nn * sizeof *mean);
    for (int k = 0; k < s->count; k++)
        for (size_t e = 0; e < nn; e++) mean[e] += s->cosine[(size_t)k * nn + e];
    for (size_t e = 0; e < nn; e++) mean[e] /= s->count;
    return CM_OK;
}

void cm_similarity_snapshots_destroy(cm_similarity_snapshots *s)
{
    free(s->steps);
    free(s->cosine);
    free(s->norms);
    *s = (cm_similarity_snapshots){0};
}
