#include "grouping_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/log.h"
#include "clipmtl/rng.h"
#include "test_util.h"

void gt_random_similarity(int n, uint64_t seed, double *S)
{
    cm_rng r;
    cm_rng_seed(&r, seed, 11);
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) S[i * n + j] = S[j * n + i] = i == j ? 1 : 2 * cm_rng_uniform_double(&r) - 1;
}

void gt_block_similarity(int n, const int *block_of, double inside, double outside, double noise, uint64_t seed,
                         double *S)
{
    cm_rng r;
    cm_rng_seed(&r, seed, 12);
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++)
            S[i * n + j] = S[j * n + i] = i == j ? 1
                                                 : (block_of[i] == block_of[j] ? inside : outside) +
                                                       noise * (2 * cm_rng_uniform_double(&r) - 1);
}

static int same_on_all_ranks(const void *v, int n, MPI_Datatype type, size_t size)
{
    char *lo = malloc(n * size + 1), *hi = malloc(n * size + 1);
    MPI_Allreduce(v, lo, n, type, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(v, hi, n, type, MPI_MAX, MPI_COMM_WORLD);
    int same = !memcmp(lo, v, n * size) && !memcmp(hi, v, n * size);
    free(lo);
    free(hi);
    return same;
}

int gt_same_doubles_on_all_ranks(const double *v, int n) { return same_on_all_ranks(v, n, MPI_DOUBLE, sizeof *v); }

int gt_same_ints_on_all_ranks(const int *v, int n) { return same_on_all_ranks(v, n, MPI_INT, sizeof *v); }

int gt_finish(double start_seconds)
{
    int rank, nranks, failures = cm_test_failures;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("P=%d: %d checks per rank, %d failed over all ranks, %.2f s\n", nranks, cm_test_checks, failures,
               cm_now() - start_seconds);
    MPI_Finalize();
    return failures ? 1 : 0;
}
