#include "clipmtl/grad_reduce.h"

#include <limits.h>

static cm_err allreduce_range(MPI_Comm comm, float *grads, const cm_prompt_method *m)
{
    if (m->count == 0 || comm == MPI_COMM_NULL) return CM_OK;
    CM_ASSERT(m->count <= (size_t)INT_MAX, CM_ERR_INTERNAL, "%zu gradient floats exceed one MPI message", m->count);
    CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, grads + m->first, (int)m->count, MPI_FLOAT, MPI_SUM, comm));
    return CM_OK;
}

cm_err cm_reduce_prompt_gradients(const cm_prompt_set *s, const cm_layout *l, const cm_comms *c, float *grads)
{
    if (s->mode == CM_SET_SHARED) return allreduce_range(c->world, grads, &s->methods[0]);
    int first_task_method = 0;
    if (s->mode == CM_SET_GROUPED) {
        CM_ASSERT(c->ngroups == s->ngroups, CM_ERR_INTERNAL, "%d group communicators for %d groups", c->ngroups,
                  s->ngroups);
        for (int g = 0; g < s->ngroups; g++) CM_CHECK(allreduce_range(c->group[g], grads, &s->methods[g]));
        first_task_method = s->ngroups;
    }
    /* With P >= N the rank has one task and its task communicator; with P < N every task has one
     * rank and nothing needs summing. */
    if (l->nranks >= l->ntasks)
        CM_CHECK(allreduce_range(c->task, grads, &s->methods[first_task_method + l->local_tasks[0]]));
    return CM_OK;
}
