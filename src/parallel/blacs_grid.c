/* BLACS process grids over an MPI communicator. */
#include "clipmtl/dist_linalg.h"
#include "clipmtl/scalapack.h"

cm_err cm_blacs_grid_create(MPI_Comm comm, int nprow, int npcol, cm_blacs_grid *grid)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    CM_ASSERT(nprow >= 1 && npcol >= 1 && nprow <= size / npcol, CM_ERR_ARG,
              "a %d x %d BLACS grid does not fit in a communicator of %d ranks", nprow, npcol, size);

    /* The system handle only names the communicator for gridinit, which builds the grid's own
     * communicators from it; release the handle at once so that none outlives `comm`. */
    int system_handle = Csys2blacs_handle(comm);
    int context = system_handle;
    Cblacs_gridinit(&context, "Row-major", nprow, npcol);
    Cfree_blacs_system_handle(system_handle);

    *grid = (cm_blacs_grid){.context = -1, .nprow = nprow, .npcol = npcol, .myrow = -1, .mycol = -1};
    if (rank >= nprow * npcol) return CM_OK;
    int rows, cols, myrow, mycol;
    Cblacs_gridinfo(context, &rows, &cols, &myrow, &mycol);
    /* Callers map ranks to grid coordinates themselves; make sure BLACS agrees. */
    if (rows != nprow || cols != npcol || myrow != rank / npcol || mycol != rank % npcol) {
        Cblacs_gridexit(context);
        CM_ERROR(CM_ERR_INTERNAL, "BLACS placed rank %d at (%d, %d) of a %d x %d grid, expected (%d, %d)", rank,
                 myrow, mycol, rows, cols, rank / npcol, rank % npcol);
    }
    grid->context = context;
    grid->myrow = myrow;
    grid->mycol = mycol;
    return CM_OK;
}

void cm_blacs_grid_destroy(cm_blacs_grid *grid)
{
    if (grid->context >= 0) Cblacs_gridexit(grid->context);
    grid->context = -1;
}

int cm_blacs_local_count(int n, int nb, int iproc, int nprocs)
{
    const int first_proc = 0;
    return numroc_(&n, &nb, &iproc, &first_proc, &nprocs);
}
