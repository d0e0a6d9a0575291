/* Spectral grouping into k groups (normalised spectral clustering, Ng-Jordan-Weiss).
 *
 * Affinity: W_ij = (S_ij + 1) / 2 for i != j, W_ii = 0. Cosines live in [-1, 1]; the Laplacian
 * needs non-negative weights, and this monotone map keeps the order of the similarities while
 * turning opposed gradients (S = -1) into no affinity rather than negative affinity. The zero
 * diagonal leaves self-similarity (always 1) out of the degrees.
 *
 * Embedding: L = I - D^-1/2 W D^-1/2 with D = diag(sum_j W_ij) (a task with zero degree keeps
 * L_ii = 1); the eigenvectors of its k smallest eigenvalues give each task a point in R^k, scaled
 * to unit length. The eigen-decomposition is cm_symmetric_eigen: ScaLAPACK pdsyevd over comm when
 * it has several ranks, LAPACK dsyevd on one.
 *
 * k-means (Lloyd) on those points, deterministic: the first centre is task 0, each further centre
 * the point farthest from the centres chosen so far (first index on ties); then at most
 * CM_GROUPING_KMEANS_MAX_ITERATIONS rounds of "assign to the nearest centre (lowest centre on
 * ties), move each centre to its members' mean", stopping when no assignment changes; an emptied
 * cluster keeps its centre. Distances in the embedding do not change under an orthogonal change of
 * basis of the eigenvectors, so neither do the groups: the sign or rotation chosen by the
 * eigensolver within the k-dimensional subspace does not matter, only the subspace does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/dist_linalg.h"
#include "clipmtl/grouping.h"
#include "clipmtl/log.h"

/* W from S as above, then L = I - D^-1/2 W D^-1/2. inv_sqrt_degree: n scratch doubles. */
static void normalised_laplacian(const double *S, int n, double *inv_sqrt_degree, double *laplacian)
{
    for (int i = 0; i < n; i++) {
        double degree = 0;
        for (int j = 0; j < n; j++)
            if (j != i) degree += (S[(size_t)i * n + j] + 1) / 2;
        inv_sqrt_degree[i] = degree > 0 ? 1 / sqrt(degree) : 0;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double affinity = i == j ? 0 : (S[(size_t)i * n + j] + 1) / 2;
            laplacian[(size_t)i * n + j] = (i == j) - inv_sqrt_degree[i] * affinity * inv_sqrt_degree[j];
        }
}

static double squared_distance(int dim, const double *a, const double *b)
{
    double d = 0;
    for (int c = 0; c < dim; c++) d += (a[c] - b[c]) * (a[c] - b[c]);
    return d;
}

/* Farthest-point initialisation from point 0. points: n x dim; centres: k x dim. */
static void initial_centres(int n, int k, int dim, const double *points, double *centres)
{
    memcpy(centres, points, (size_t)dim * sizeof *centres);
    for (int c = 1; c < k; c++) {
        int farthest = 0;
        double farthest_distance = -1;
        for (int i = 0; i < n; i++) {
            double d = INFINITY;
            for (int e = 0; e < c; e++)
                d = fmin(d, squared_distance(dim, points + (size_t)i * dim, centres + (size_t)e * dim));
            if (d > farthest_distance) {
                farthest_distance = d;
                farthest = i;
            }
        }
        memcpy(centres + (size_t)c * dim, points + (size_t)farthest * dim, (size_t)dim * sizeof *centres);
    }
}

/* Lloyd iterations from the given centres. counts: k scratch ints. */
static void kmeans(int n, int k, int dim, const double *points, double *centres, int *label, int *counts)
{
    for (int i = 0; i < n; i++) label[i] = -1;
    for (int iteration = 0; iteration < CM_GROUPING_KMEANS_MAX_ITERATIONS; iteration++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            double best_distance = INFINITY;
            for (int c = 0; c < k; c++) {
                double d = squared_distance(dim, points + (size_t)i * dim, centres + (size_t)c * dim);
                if (d < best_distance) {
                    best_distance = d;
                    best = c;
                }
            }
            changed |= label[i] != best;
            label[i] = best;
        }
        if (!changed) return;
        memset(counts, 0, (size_t)k * sizeof *counts);
        for (int i = 0; i < n; i++) counts[label[i]]++;
        for (int c = 0; c < k; c++) {
            if (!counts[c]) continue;
            double *centre = centres + (size_t)c * dim;
            memset(centre, 0, (size_t)dim * sizeof *centre);
            for (int i = 0; i < n; i++)
                if (label[i] == c)
                    for (int e = 0; e < dim; e++) centre[e] += points[(size_t)i * dim + e];
            for (int e = 0; e < dim; e++) centre[e] /= counts[c];
        }
    }
}

cm_err cm_grouping_spectral(MPI_Comm comm, const double *S, int n, int k, int *group_of_task,
                            int *ngroups)
{
    CM_CHECK(cm_grouping_check_similarity(S, n));
    CM_ASSERT(k >= 1 && k <= n, CM_ERR_CONFIG, "spectral grouping: k = %d groups is outside 1..%d (the number of tasks)",
              k, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            CM_ASSERT(i == j || fabs(S[(size_t)i * n + j]) <= 1, CM_ERR_ARG,
                      "spectral grouping needs cosine similarities in [-1, 1]; S[%d][%d] = %.17g", i, j,
                      S[(size_t)i * n + j]);
    int rank;
    MPI_Comm_rank(comm, &rank);

    cm_err err = CM_OK;
    const size_t nn = (size_t)n * n;
    double *work;
    int *counts = NULL;
    CM_CALLOC(work, 2 * nn + 2 * (size_t)n + (size_t)n * k + (size_t)k * k);
    double *laplacian = work, *eigenvectors = laplacian + nn, *eigenvalues = eigenvectors + nn;
    double *inv_sqrt_degree = eigenvalues + n, *points = inv_sqrt_degree + n, *centres = points + (size_t)n * k;
    counts = calloc((size_t)k, sizeof *counts);
    if (!counts) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %d k-means clusters", k);

    normalised_laplacian(S, n, inv_sqrt_degree, laplacian);
    CM_CHECK_GOTO(err, cm_symmetric_eigen(comm, n, laplacian, eigenvalues, eigenvectors), done);
    if (k < n && eigenvalues[k] - eigenvalues[k - 1] <= 1e-10 && rank == 0)
        cm_log_warn("spectral grouping: eigenvalues %d and %d of the Laplacian coincide (%.17g, %.17g): "
                    "%d groups are not well defined and may depend on rounding", k, k + 1, eigenvalues[k - 1],
                    eigenvalues[k], k);

    for (int i = 0; i < n; i++) {
        double *x = points + (size_t)i * k, length = 0;
        for (int c = 0; c < k; c++) {
            x[c] = eigenvectors[(size_t)c * n + i];
            length += x[c] * x[c];
        }
        length = sqrt(length);
        if (length > 0)
            for (int c = 0; c < k; c++) x[c] /= length;
    }
    initial_centres(n, k, k, points, centres);
    kmeans(n, k, k, points, centres, group_of_task, counts);
    CM_CHECK_GOTO(err, cm_grouping_canonicalize(n, group_of_task, ngroups), done);
    if (*ngroups < k && rank == 0)
        cm_log_warn("spectral grouping: k-means found %d non-empty groups of the %d asked for "
                    "(tasks with identical embeddings)", *ngroups, k);
done:
    free(counts);
    free(work);
    return err;
}
