/* The symmetric eigensolver: ScaLAPACK pdsyevd over all ranks against LAPACK dsyevd on each rank
 * alone (MPI_COMM_SELF), on random symmetric matrices of order 1..24, on normalised Laplacians of
 * block-structured similarity matrices (the spectral grouping's input), and on matrices with
 * repeated eigenvalues. Run on 1, 2, 3 and 4 ranks (on 1 rank both paths are dsyevd, and only
 * the checks against the definition below are informative).
 *
 * Checks and tolerances (matrices scaled to norm ~1):
 *  - both solvers: residual max|A v - lambda v| <= 1e-12, orthonormality max|V V^T - I| <= 1e-12;
 *  - eigenvalues agree to 1e-10;
 *  - eigenvector subspaces agree: for each cluster of eigenvalues (gaps below 1e-6 joined), the
 *    projectors onto the two bases differ by at most 1e-10 entrywise; for simple eigenvalues the
 *    sign-fixed vectors themselves agree to 1e-10;
 *  - every rank holds the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/dist_linalg.h"
#include "clipmtl/grouping.h"
#include "clipmtl/log.h"
#include "clipmtl/rng.h"
#include "grouping_test.h"
#include "test_util.h"

#define MAXN 24

static int rank, nranks;
static double worst_values, worst_subspace, worst_vectors, worst_residual, worst_orthonormality;
static int cases, clustered_cases;

static void check_definition(const char *what, int n, const double *a, const double *w, const double *v)
{
    double residual = 0, orthonormality = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double av = 0, dot = 0;
            for (int k = 0; k < n; k++) av += a[i * n + k] * v[j * n + k];
            residual = fmax(residual, fabs(av - w[j] * v[j * n + i]));
            for (int k = 0; k < n; k++) dot += v[i * n + k] * v[j * n + k];
            orthonormality = fmax(orthonormality, fabs(dot - (i == j)));
        }
    for (int j = 1; j < n; j++) CM_TEST(w[j - 1] <= w[j], "%s: eigenvalues not ascending at %d", what, j);
    CM_TEST(residual <= 1e-12 && orthonormality <= 1e-12, "%s: residual %.3g orthonormality %.3g", what, residual,
            orthonormality);
    worst_residual = fmax(worst_residual, residual);
    worst_orthonormality = fmax(worst_orthonormality, orthonormality);
}

/* Compares the eigenvectors of w[lo..hi) through their projector. */
static double projector_difference(int n, int lo, int hi, const double *v1, const double *v2)
{
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double p1 = 0, p2 = 0;
            for (int j = lo; j < hi; j++) {
                p1 += v1[j * n + i] * v1[j * n + k];
                p2 += v2[j * n + i] * v2[j * n + k];
            }
            worst = fmax(worst, fabs(p1 - p2));
        }
    return worst;
}

static void compare_solvers(const char *what, int n, const double *a)
{
    double w[MAXN], w_serial[MAXN], v[MAXN * MAXN], v_serial[MAXN * MAXN];
    CM_TEST_OK(cm_symmetric_eigen(MPI_COMM_WORLD, n, a, w, v));
    CM_TEST_OK(cm_symmetric_eigen(MPI_COMM_SELF, n, a, w_serial, v_serial));
    check_definition(what, n, a, w, v);
    check_definition(what, n, a, w_serial, v_serial);

    double dw = 0, dsub = 0, dvec = 0;
    for (int j = 0; j < n; j++) dw = fmax(dw, fabs(w[j] - w_serial[j]));
    int clustered = 0;
    for (int lo = 0, hi; lo < n; lo = hi) {
        for (hi = lo + 1; hi < n && w_serial[hi] - w_serial[hi - 1] < 1e-6; hi++) {}
        dsub = fmax(dsub, projector_difference(n, lo, hi, v, v_serial));
        if (hi - lo == 1)
            for (int i = 0; i < n; i++) dvec = fmax(dvec, fabs(v[lo * n + i] - v_serial[lo * n + i]));
        else
            clustered = 1;
    }
    CM_TEST(dw <= 1e-10 && dsub <= 1e-10 && dvec <= 1e-10, "%s: eigenvalues %.3g subspaces %.3g vectors %.3g", what, dw,
            dsub, dvec);
    worst_values = fmax(worst_values, dw);
    worst_subspace = fmax(worst_subspace, dsub);
    worst_vectors = fmax(worst_vectors, dvec);
    cases++;
    clustered_cases += clustered;

    CM_TEST(gt_same_doubles_on_all_ranks(v, n * n) && gt_same_doubles_on_all_ranks(w, n),
            "%s: ranks hold different eigenvectors", what);
}

static void random_symmetric(int n, uint64_t seed, double *a)
{
    cm_rng r;
    cm_rng_seed(&r, seed, 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = (2 * cm_rng_uniform_double(&r) - 1) / sqrt(n);
}

/* The normalised Laplacian the spectral rule builds, written out independently:
 * W = (S + 1) / 2 off the diagonal, L = I - D^-1/2 W D^-1/2. */
static void laplacian_of(int n, const double *S, double *L)
{
    double d[MAXN];
    for (int i = 0; i < n; i++) {
        d[i] = 0;
        for (int j = 0; j < n; j++) d[i] += i == j ? 0 : (S[i * n + j] + 1) / 2;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) L[i * n + j] = (i == j) - (i == j ? 0 : (S[i * n + j] + 1) / 2) / sqrt(d[i] * d[j]);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_log_set_rank(rank, nranks);
    double start = cm_now();
    double a[MAXN * MAXN], S[MAXN * MAXN];
    char what[64];

    for (int n = 1; n <= MAXN; n++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            random_symmetric(n, 100 * n + seed, a);
            snprintf(what, sizeof what, "random n=%d seed=%d", n, (int)seed);
            compare_solvers(what, n, a);
        }

    /* Laplacians of block-structured similarities: the 3-block one has a clear gap after the
     * third eigenvalue (what spectral grouping relies on). */
    const int blocks[12] = {0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 1};
    for (int n = 4; n <= 12; n++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            gt_block_similarity(n, blocks, 0.8, -0.2, 0.1, seed, S);
            laplacian_of(n, S, a);
            snprintf(what, sizeof what, "laplacian n=%d seed=%d", n, (int)seed);
            compare_solvers(what, n, a);
        }

    /* Repeated eigenvalues: without noise, equal blocks give a multiple eigenvalue; a diagonal
     * matrix with repeats; the identity. */
    const int equal_blocks[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
    gt_block_similarity(9, equal_blocks, 0.6, 0.0, 0.0, 0, S);
    laplacian_of(9, S, a);
    compare_solvers("laplacian of three equal blocks", 9, a);
    memset(a, 0, sizeof a);
    for (int i = 0; i < 10; i++) a[i * 10 + i] = (i % 3) * 0.5;
    compare_solvers("diagonal with repeats", 10, a);
    memset(a, 0, sizeof a);
    for (int i = 0; i < 7; i++) a[i * 7 + i] = 1;
    compare_solvers("identity", 7, a);

    double nan_matrix[4] = {1, NAN, NAN, 1}, w[2], v[4];
    CM_TEST(cm_symmetric_eigen(MPI_COMM_WORLD, 2, nan_matrix, w, v) == CM_ERR_NUMERIC, "NaN matrix must fail");
    cm_error_clear();

    double worst[5] = {worst_values, worst_subspace, worst_vectors, worst_residual, worst_orthonormality};
    MPI_Allreduce(MPI_IN_PLACE, worst, 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("P=%d: %d matrices (%d with eigenvalue clusters): pdsyevd vs dsyevd eigenvalues %.3g (tol 1e-10), "
               "subspaces %.3g (tol 1e-10), simple eigenvectors %.3g (tol 1e-10); residual %.3g, orthonormality "
               "%.3g (tol 1e-12)\n",
               nranks, cases, clustered_cases, worst[0], worst[1], worst[2], worst[3], worst[4]);
    return gt_finish(start);
}
