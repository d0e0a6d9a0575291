/* Symmetric eigen-decomposition: LAPACK dsyevd on one rank, ScaLAPACK pdsyevd on several. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/dist_linalg.h"
#include "clipmtl/scalapack.h"

/* Global index of local index `local` in a block-cyclic dimension (source process 0). */
static int global_index(int local, int nb, int iproc, int nprocs)
{
    return (local / nb * nprocs + iproc) * nb + local % nb;
}

static cm_err eigen_lapack(int n, const double *a, double *eigenvalues, double *eigenvectors)
{
    /* Row-major a read as column-major is a^T: its upper triangle is a's lower one (the triangle
     * pdsyevd reads below). dsyevd overwrites it with the eigenvectors as columns, i.e. one
     * eigenvector per contiguous run, our output layout. */
    memcpy(eigenvectors, a, (size_t)n * n * sizeof *a);
    int info, lwork = -1, liwork = -1, iwork_query;
    double work_query;
    dsyevd_("V", "U", &n, eigenvectors, &n, eigenvalues, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
    CM_ASSERT(info == 0, CM_ERR_LIB, "dsyevd workspace query failed (info %d)", info);
    lwork = (int)work_query;
    liwork = iwork_query;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (work && iwork)
        dsyevd_("V", "U", &n, eigenvectors, &n, eigenvalues, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    CM_ASSERT(work && iwork, CM_ERR_MEM, "out of memory for the dsyevd workspace (%d doubles)", lwork);
    CM_ASSERT(info == 0, CM_ERR_LIB, "LAPACK dsyevd failed on the %d x %d matrix (info %d)", n, n, info);
    return CM_OK;
}

/* The grid: nprow x npcol = size with nprow the largest divisor not above sqrt(size), so that
 * every rank takes part. Block size: the matrix is cut so that each process row and column gets
 * about one block (pdsyevd needs square blocks), capped at 64 for larger matrices. */
static cm_err eigen_scalapack(MPI_Comm comm, int n, const double *a, double *eigenvalues,
                              double *eigenvectors)
{
    int size;
    MPI_Comm_size(comm, &size);
    int nprow = (int)sqrt((double)size);
    while (size % nprow) nprow--;
    const int npcol = size / nprow;
    const int widest = nprow > npcol ? nprow : npcol;
    int nb = (n + widest - 1) / widest;
    if (nb > 64) nb = 64;

    cm_err err = CM_OK;
    cm_blacs_grid grid;
    CM_CHECK(cm_blacs_grid_create(comm, nprow, npcol, &grid));
    double *a_local = NULL, *z_local = NULL, *work = NULL;
    int *iwork = NULL;
    const int rows = cm_blacs_local_count(n, nb, grid.myrow, nprow);
    const int cols = cm_blacs_local_count(n, nb, grid.mycol, npcol);
    const int lld = rows > 1 ? rows : 1, zero_i = 0, one_i = 1;
    int desc[CM_DESC_LEN], info;
    descinit_(desc, &n, &n, &nb, &nb, &zero_i, &zero_i, &grid.context, &lld, &info);
    if (info != 0) CM_ERROR_GOTO(err, done, CM_ERR_INTERNAL, "descinit for pdsyevd failed (info %d)", info);
    a_local = calloc((size_t)lld * (cols ? cols : 1), sizeof *a_local);
    z_local = calloc((size_t)lld * (cols ? cols : 1), sizeof *z_local);
    if (!a_local || !z_local) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the distributed matrix");
    for (int lj = 0; lj < cols; lj++)
        for (int li = 0; li < rows; li++) {
            int i = global_index(li, nb, grid.myrow, nprow), j = global_index(lj, nb, grid.mycol, npcol);
            a_local[li + (size_t)lj * lld] = a[(size_t)i * n + j];
        }

    int lwork = -1, liwork = -1, iwork_query;
    double work_query;
    pdsyevd_("V", "L", &n, a_local, &one_i, &one_i, desc, eigenvalues, z_local, &one_i, &one_i, desc,
             &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
    if (info != 0) CM_ERROR_GOTO(err, done, CM_ERR_LIB, "pdsyevd workspace query failed (info %d)", info);
    /* The query (pdsyevd's LWMIN) can fall short of what the back-transformation PDORMTR then
     * demands from the last 2n doubles (e.g. n = 19 on a 2 x 2 grid of 10 x 10 blocks: 277
     * available, 280 needed on the process holding 9 x 9). PDORMTR then refuses, pdsyevd drops
     * its status and returns info = 0 with wrong eigenvectors. So add PDORMTR's own minimum,
     * with its one-row offset bounded by one extra block. */
    const int mp = rows + nb, nq = cols + nb;
    const int ormtr = 2 * n + (nb * (nb - 1) / 2 > (mp + nq) * nb ? nb * (nb - 1) / 2 : (mp + nq) * nb) + nb * nb;
    lwork = (int)work_query > ormtr ? (int)work_query : ormtr;
    liwork = iwork_query;
    work = malloc((size_t)lwork * sizeof *work);
    iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the pdsyevd workspace");
    pdsyevd_("V", "L", &n, a_local, &one_i, &one_i, desc, eigenvalues, z_local, &one_i, &one_i, desc,
             work, &lwork, iwork, &liwork, &info, 1, 1);
    if (info != 0)
        CM_ERROR_GOTO(err, done, CM_ERR_LIB, "ScaLAPACK pdsyevd failed on the %d x %d matrix (info %d)", n, n, info);

    /* Every rank gets the same bits: one nonzero term per entry in the sum, and rank 0's
     * eigenvalues (pdsyevd does not promise identical copies). */
    memset(eigenvectors, 0, (size_t)n * n * sizeof *eigenvectors);
    for (int lj = 0; lj < cols; lj++)
        for (int li = 0; li < rows; li++) {
            int i = global_index(li, nb, grid.myrow, nprow), j = global_index(lj, nb, grid.mycol, npcol);
            eigenvectors[(size_t)j * n + i] = z_local[li + (size_t)lj * lld];
        }
    if (MPI_Allreduce(MPI_IN_PLACE, eigenvectors, n * n, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS ||
        MPI_Bcast(eigenvalues, n, MPI_DOUBLE, 0, comm) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "collecting the eigenvectors failed");
done:
    free(iwork);
    free(work);
    free(z_local);
    free(a_local);
    cm_blacs_grid_destroy(&grid);
    return err;
}

/* The first component within a factor (1 - 1e-6) of the largest magnitude becomes positive.
 * Taking "the largest" literally would let two components of nearly equal magnitude, which the
 * two solvers may order differently by rounding, flip the sign between them; the slack moves
 * that boundary to components differing by a relative 1e-6, far above rounding. */
static void fix_sign(int n, double *v)
{
    double largest = 0;
    for (int i = 0; i < n; i++) largest = fmax(largest, fabs(v[i]));
    for (int i = 0; i < n; i++)
        if (fabs(v[i]) >= (1 - 1e-6) * largest) {
            if (v[i] < 0)
                for (int k = 0; k < n; k++) v[k] = -v[k];
            return;
        }
}

cm_err cm_symmetric_eigen(MPI_Comm comm, int n, const double *a, double *eigenvalues,
                          double *eigenvectors)
{
    CM_ASSERT(n >= 1, CM_ERR_ARG, "eigen-decomposition of a %d x %d matrix", n, n);
    for (size_t e = 0; e < (size_t)n * n; e++)
        CM_ASSERT(isfinite(a[e]), CM_ERR_NUMERIC, "matrix entry (%zu, %zu) is %g", e / n, e % n, a[e]);
    int size;
    MPI_Comm_size(comm, &size);
    if (size == 1)
        CM_CHECK(eigen_lapack(n, a, eigenvalues, eigenvectors));
    else
        CM_CHECK(eigen_scalapack(comm, n, a, eigenvalues, eigenvectors));
    for (int j = 0; j < n; j++) fix_sign(n, eigenvectors + (size_t)j * n);
    return CM_OK;
}
