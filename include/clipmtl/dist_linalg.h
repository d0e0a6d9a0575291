/* Dense linear algebra over an MPI communicator with ScaLAPACK: BLACS process grids and the
 * symmetric eigensolver used by spectral grouping. Matrices handed in and out are small (N x N,
 * N = number of tasks) and replicated on every rank; the distribution is internal. */
#ifndef CLIPMTL_DIST_LINALG_H
#define CLIPMTL_DIST_LINALG_H

#include <mpi.h>

#include "clipmtl/error.h"

/* A BLACS process grid over the ranks of a communicator, laid out row-major in rank order:
 * rank r sits at (r / npcol, r % npcol). */
typedef struct {
    int context; /* BLACS context; -1 on ranks outside the grid */
    int nprow, npcol;
    int myrow, mycol; /* -1 on ranks outside the grid */
} cm_blacs_grid;

/* Collective over comm. nprow * npcol must not exceed the size of comm; the ranks beyond the
 * grid get context -1. */
cm_err cm_blacs_grid_create(MPI_Comm comm, int nprow, int npcol, cm_blacs_grid *grid);
void cm_blacs_grid_destroy(cm_blacs_grid *grid);

/* The number of rows (or columns) of a dimension of length n, cut in blocks of nb and dealt
 * cyclically over nprocs processes starting at process 0, that land on process iproc. */
int cm_blacs_local_count(int n, int nb, int iproc, int nprocs);

/* All eigenvalues and eigenvectors of the symmetric n x n matrix a (row-major; only its
 * symmetry is assumed, the lower triangle is read). Collective over comm: with one rank, LAPACK
 * dsyevd; with several, ScaLAPACK pdsyevd on a near-square grid of all ranks. a must be the same
 * on every rank; every rank gets bit-identical results:
 *   eigenvalues[j], ascending;
 *   eigenvectors[j * n + i] = component i of the unit eigenvector j (one eigenvector per row).
 * Signs are fixed: the first component whose magnitude is within a factor (1 - 1e-6) of the
 * largest is positive. Where eigenvalues are (nearly) repeated only the spanned subspace is
 * determined; compare subspaces, not individual vectors, there. */
cm_err cm_symmetric_eigen(MPI_Comm comm, int n, const double *a, double *eigenvalues,
                          double *eigenvectors);

#endif
