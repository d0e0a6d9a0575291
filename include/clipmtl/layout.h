/* Which rank works on which task (issue 4, item 1), and the communicators that follow.
 *
 * P >= N: task t gets a contiguous block of ranks; the P % N spare ranks go one each to the
 *         first tasks, so block sizes differ by at most one. The ranks of a task split its batch
 *         (data parallel): shard i of k gets the i-th contiguous slice, the first B % k shards
 *         one image more.
 * P <  N: every rank runs the tasks t with t % P == rank, one after another within a step
 *         (round-robin keeps the load within one task of even); each task has one rank.
 * The layout is a pure function of (P, N, rank): every rank computes it without communication. */
#ifndef CLIPMTL_LAYOUT_H
#define CLIPMTL_LAYOUT_H

#include <stdio.h>

#include <mpi.h>

#include "clipmtl/error.h"

typedef struct {
    int nranks, ntasks, rank;
    int *task_first_rank, *task_nranks; /* [ntasks]: the ranks of task t are first..first+n-1 */
    int nlocal, *local_tasks;           /* the tasks this rank runs, ascending */
    int shard, nshards;                 /* this rank's slice of its task's batch (P >= N), else 0 of 1 */
} cm_layout;

cm_err cm_layout_compute(cm_layout *l, int nranks, int ntasks, int rank);
void cm_layout_free(cm_layout *l);
/* Slice [*start, *start + *count) of a batch of `batch` items for shard `shard` of `nshards`. */
void cm_layout_shard(int batch, int shard, int nshards, int *start, int *count);
/* One line per task: "task 2 (sketch): ranks 4-5, batch shards 16+16". */
void cm_layout_print(const cm_layout *l, const char *const *task_names, int batch, FILE *f);

/* World, task and group communicators (MPI_Comm_split). task is this rank's task
 * communicator when P >= N and MPI_COMM_SELF when P < N (each task then has one rank).
 * group[g] holds the ranks that run any task of group g, MPI_COMM_NULL on the others:
 * with P < N a rank may belong to several groups. */
typedef struct {
    MPI_Comm world, task;
    int ngroups;
    MPI_Comm *group;
} cm_comms;

/* Collective over world. group_of_task may be NULL (no grouping yet: ngroups = 0). On error *c holds
 * nothing to free. */
cm_err cm_comms_create(cm_comms *c, MPI_Comm world, const cm_layout *l, const int *group_of_task, int ngroups);
void cm_comms_free(cm_comms *c);

#endif
