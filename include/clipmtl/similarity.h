/* Gradient similarity between tasks (spec 4.2): the Gram matrix G = A^T A of the N task
 * gradients (the columns of the D x N matrix A), computed with ScaLAPACK in double precision,
 * and the cosines S_ij = G_ij / sqrt(G_ii G_jj); plus the record of the snapshots whose average
 * feeds the grouping. */
#ifndef CLIPMTL_SIMILARITY_H
#define CLIPMTL_SIMILARITY_H

#include <stdint.h>

#include <mpi.h>

#include "clipmtl/error.h"

/* Collective over comm. Every task's full gradient (dim floats) must be held by at least one rank:
 * grads[t] is that vector on the ranks that hold task t (all of them hold the same values, as after
 * the task-level allreduce) and NULL on the others. One rank may hold several tasks.
 *
 * block_rows: ScaLAPACK row block size of A; 0 picks ceil(dim / size of comm), i.e. one
 * contiguous block per rank (see similarity.c for why).
 *
 * Outputs, identical on every rank, row-major N x N (symmetric):
 *   gram[i*N+j]   = <g_i, g_j> (may be NULL when not wanted),
 *   cosine[i*N+j] = G_ij / (|g_i| |g_j|), clamped to [-1, 1]; cosine[i*N+i] = 1,
 *   norms[i]      = |g_i|.
 * A zero gradient has no direction: its cosines with every other task are defined as 0 (its
 * diagonal stays 1) and rank 0 prints a warning naming the task. A NaN or Inf in a gradient is
 * an error (CM_ERR_NUMERIC) on every rank. */
cm_err cm_similarity_compute(MPI_Comm comm, int ntasks, int64_t dim, const float *const *grads,
                             int block_rows, double *gram, double *cosine, double *norms);

/* Every snapshot's cosine matrix, norms and training step, kept for the similarity file, and
 * their average S-bar = (1/K) sum_k S^(k). */
typedef struct {
    int ntasks;
    int count;      /* K, snapshots recorded */
    int capacity;
    int64_t *steps; /* [count], strictly increasing */
    double *cosine; /* [count][ntasks][ntasks] */
    double *norms;  /* [count][ntasks] */
} cm_similarity_snapshots;

cm_err cm_similarity_snapshots_init(cm_similarity_snapshots *s, int ntasks);
/* Copies one snapshot. step must exceed the previous one. */
cm_err cm_similarity_snapshots_add(cm_similarity_snapshots *s, int64_t step, const double *cosine,
                                   const double *norms);
/* mean[i*N+j] = average over the recorded snapshots, summed in recording order. */
cm_err cm_similarity_snapshots_mean(const cm_similarity_snapshots *s, double *mean);
void cm_similarity_snapshots_destroy(cm_similarity_snapshots *s);

#endif
