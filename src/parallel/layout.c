#include "clipmtl/layout.h"

#include <stdlib.h>

cm_err cm_layout_compute(cm_layout *l, int P, int N, int rank)
{
    *l = (cm_layout){.nranks = P, .ntasks = N, .rank = rank, .nshards = 1};
    CM_ASSERT(P > 0 && N > 0 && rank >= 0 && rank < P, CM_ERR_ARG, "layout: %d ranks, %d tasks, rank %d", P, N, rank);
    CM_CALLOC(l->task_first_rank, N);
    CM_CALLOC(l->task_nranks, N);
    CM_CALLOC(l->local_tasks, N);
    if (P >= N) {
        const int base = P / N, spare = P % N;
        for (int t = 0, first = 0; t < N; t++) {
            l->task_first_rank[t] = first;
            l->task_nranks[t] = base + (t < spare);
            if (rank >= first && rank < first + l->task_nranks[t]) {
                l->local_tasks[l->nlocal++] = t;
                l->shard = rank - first;
                l->nshards = l->task_nranks[t];
            }
            first += l->task_nranks[t];
        }
    } else {
        for (int t = 0; t < N; t++) {
            l->task_first_rank[t] = t % P;
            l->task_nranks[t] = 1;
            if (t % P == rank) l->local_tasks[l->nlocal++] = t;
        }
    }
    return CM_OK;
}

void cm_layout_free(cm_layout *l)
{
    free(l->task_first_rank);
    free(l->task_nranks);
    free(l->local_tasks);
    *l = (cm_layout){0};
}

void cm_layout_shard(int batch, int shard, int nshards, int *start, int *count)
{
    const int base = batch / nshards, extra = batch % nshards;
    *count = base + (shard < extra);
    *start = shard * base + (shard < extra ? shard : extra);
}

void cm_layout_print(const cm_layout *l, const char *const *names, int batch, FILE *f)
{
    fprintf(f, "layout: %d ranks, %d tasks (%s)\n", l->nranks, l->ntasks,
            l->nranks >= l->ntasks ? "data parallel within tasks" : "several tasks per rank");
    for (int t = 0; t < l->ntasks; t++) {
        const int first = l->task_first_rank[t], n = l->task_nranks[t];
        fprintf(f, "  task %d (%s): rank%s %d", t, names ? names[t] : "", n > 1 ? "s" : "", first);
        if (n > 1) fprintf(f, "-%d", first + n - 1);
        fprintf(f, ", batch %d", batch);
        if (n > 1) {
            fprintf(f, " in shards");
            for (int s = 0; s < n; s++) {
                int start, count;
                cm_layout_shard(batch, s, n, &start, &count);
                fprintf(f, "%s%d", s ? "+" : " ", count);
            }
        }
        fprintf(f, "\n");
    }
}

cm_err cm_comms_create(cm_comms *c, MPI_Comm world, const cm_layout *l, const int *group_of_task, int ngroups)
{
    *c = (cm_comms){.world = world, .task = MPI_COMM_NULL};
    cm_err err = CM_OK;
    if (l->nranks >= l->ntasks)
        CM_MPI_CHECK_GOTO(err, MPI_Comm_split(world, l->local_tasks[0], l->rank, &c->task), fail);
    else
        CM_MPI_CHECK_GOTO(err, MPI_Comm_dup(MPI_COMM_SELF, &c->task), fail);
    if (!group_of_task) return CM_OK;
    c->group = malloc((size_t)ngroups * sizeof *c->group);
    if (!c->group) CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "out of memory for %d group communicators", ngroups);
    /* MPI_COMM_NULL is not all-zero bytes in every MPI: cm_comms_free must see it in unmade slots. */
    for (int g = 0; g < ngroups; g++) c->group[g] = MPI_COMM_NULL;
    c->ngroups = ngroups;
    /* One split per group: a rank with tasks of several groups (P < N) joins each of them. */
    for (int g = 0; g < ngroups; g++) {
        int member = 0;
        for (int i = 0; i < l->nlocal; i++) member |= group_of_task[l->local_tasks[i]] == g;
        CM_MPI_CHECK_GOTO(err, MPI_Comm_split(world, member ? 0 : MPI_UNDEFINED, l->rank, &c->group[g]), fail);
    }
    return CM_OK;
fail:
    cm_comms_free(c);
    return err;
}

void cm_comms_free(cm_comms *c)
{
    if (c->task != MPI_COMM_NULL) MPI_Comm_free(&c->task);
    for (int g = 0; g < c->ngroups; g++)
        if (c->group[g] != MPI_COMM_NULL) MPI_Comm_free(&c->group[g]);
    free(c->group);
    *c = (cm_comms){.world = MPI_COMM_NULL, .task = MPI_COMM_NULL};
}
