/* Helpers shared by the similarity and grouping tests: constructed similarity matrices and
 * checks across MPI ranks. */
#ifndef CLIPMTL_TESTS_GROUPING_TEST_H
#define CLIPMTL_TESTS_GROUPING_TEST_H

#include <stdint.h>

/* Symmetric, unit diagonal, off-diagonal entries uniform in [-1, 1). */
void gt_random_similarity(int n, uint64_t seed, double *S);
/* Unit diagonal; `inside` between tasks of the same block (block_of[t]), `outside` across, plus
 * symmetric uniform noise of amplitude `noise`. */
void gt_block_similarity(int n, const int *block_of, double inside, double outside, double noise, uint64_t seed,
                         double *S);
/* 1 when every rank of MPI_COMM_WORLD holds the same n values (collective). */
int gt_same_doubles_on_all_ranks(const double *v, int n);
int gt_same_ints_on_all_ranks(const int *v, int n);
/* Sums the failures of all ranks, prints the summary on rank 0, finalises MPI; the exit status. */
int gt_finish(double start_seconds);

#endif
