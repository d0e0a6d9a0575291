/* Distributed Gram matrix and cosine similarity of the task gradients.
 *
 * Layout. A is D x N with D (the number of prompt parameters, up to ~1e6) far larger than N (the
 * number of tasks, ~4-12). It lives on a P x 1 BLACS grid: every rank holds whole rows (all N
 * columns) of some row blocks. With one process column, pdsyrk forms each rank's local A_l^T A_l
 * with local BLAS-3 calls and only combines the N x N partial results, O(N^2 log P) traffic; a grid
 * with several process columns would split the N columns and have to ship panels of A (O(D N))
 * between columns to form the off-diagonal blocks of A^T A.
 *
 * Block size. With a single process column the row block size only decides which rows a rank
 * holds, not how fast the local product runs (the local rows are one contiguous column-major
 * array whatever the blocks). The default, ceil(D / P) rows, gives every rank one contiguous
 * block: no rank holds more than ceil(D / P) rows (the last ranks fall short by fewer than P rows
 * in all), and the redistribution copies one contiguous piece per (task, rank). Smaller blocks (the block_rows argument) give the
 * same result up to rounding and exist to exercise the general block-cyclic mapping.
 *
 * Redistribution. The gradients arrive by task (each holder has a whole vector), not in the
 * block-cyclic layout, and the holders are arbitrary, which ScaLAPACK's redistribution routine
 * (Cpdgemr2d, source matrix on a grid) cannot express. So one MPI_Alltoallv moves the floats: the
 * rows of task t that rank r needs come from r itself when r holds t, else from the holders of t
 * in turn (holder r mod |holders|), spreading the sending over all copies. Every rank derives the
 * same plan from an allgather of who holds what. */
#include "clipmtl/similarity.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/dist_linalg.h"
#include "clipmtl/log.h"
#include "clipmtl/scalapack.h"

typedef struct {
    int ntasks, nranks;
    int64_t dim;
    int block_rows;
    int *holders;      /* [ntasks][nranks], the ranks holding each task in increasing order */
    int *nholders;     /* [ntasks] */
    int *holds;        /* [nranks][ntasks], 1 when the rank holds the task */
} exchange_plan;

/* The rank that sends task t's rows of destination rank r. */
static int source_rank(const exchange_plan *p, int t, int r)
{
    if (p->holds[(size_t)r * p->ntasks + t]) return r;
    return p->holders[(size_t)t * p->nranks + r % p->nholders[t]];
}

static int local_rows(const exchange_plan *p, int rank)
{
    return cm_blacs_local_count((int)p->dim, p->block_rows, rank, p->nranks);
}

/* Copies the rows of the full vector that the block-cyclic layout gives to rank `proc`, in local
 * order, as floats (to send) or straight into a column of A as doubles (rows this rank holds). */
static void gather_rows_of(const exchange_plan *p, int proc, const float *full, float *out_float,
                           double *out_double)
{
    const int64_t mb = p->block_rows;
    for (int64_t start = proc * mb; start < p->dim; start += mb * p->nranks) {
        int64_t len = p->dim - start < mb ? p->dim - start : mb;
        if (out_float) {
            memcpy(out_float, full + start, (size_t)len * sizeof *out_float);
            out_float += len;
        } else {
            for (int64_t l = 0; l < len; l++) out_double[l] = full[start + l];
            out_double += len;
        }
    }
}

static cm_err checked_count(int64_t count, const char *what)
{
    CM_ASSERT(count <= INT_MAX, CM_ERR_ARG,
              "%s of %lld floats exceeds one MPI message (%d): run on more ranks", what,
              (long long)count, INT_MAX);
    return CM_OK;
}

/* Moves the gradients into the local rows of A (column-major, leading dimension lld, converted to
 * double). Rows a rank holds itself skip MPI: copying them through Alltoallv would cost two
 * extra passes over the data, and with one rank that is all the data. */
static cm_err redistribute(MPI_Comm comm, const exchange_plan *p, const float *const *grads,
                           double *a_local, int lld)
{
    cm_err err = CM_OK;
    int rank;
    MPI_Comm_rank(comm, &rank);
    const int nranks = p->nranks, ntasks = p->ntasks, my_rows = local_rows(p, rank);
    int *counts = NULL;
    float *sendbuf = NULL, *recvbuf = NULL;
    CM_CALLOC(counts, 4 * (size_t)nranks);
    int *send_counts = counts, *send_displs = counts + nranks;
    int *recv_counts = counts + 2 * nranks, *recv_displs = counts + 3 * nranks;

    int64_t send_total = 0, recv_total = 0;
    for (int r = 0; r < nranks; r++) {
        int64_t to_r = 0, from_r = 0;
        for (int t = 0; t < ntasks; t++) {
            if (r != rank && source_rank(p, t, r) == rank) to_r += local_rows(p, r);
            if (r != rank && source_rank(p, t, rank) == r) from_r += my_rows;
        }
        CM_CHECK_GOTO(err, checked_count(send_total + to_r, "the data this rank sends"), done);
        CM_CHECK_GOTO(err, checked_count(recv_total + from_r, "the data this rank receives"), done);
        send_counts[r] = (int)to_r;
        send_displs[r] = (int)send_total;
        recv_counts[r] = (int)from_r;
        recv_displs[r] = (int)recv_total;
        send_total += to_r;
        recv_total += from_r;
    }
    sendbuf = malloc((size_t)(send_total ? send_total : 1) * sizeof *sendbuf);
    recvbuf = malloc((size_t)(recv_total ? recv_total : 1) * sizeof *recvbuf);
    if (!sendbuf || !recvbuf)
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the gradient exchange (%lld + %lld floats)",
                      (long long)send_total, (long long)recv_total);

    /* Both sides order a message by task: the receiver knows which tasks each source sends. */
    for (int r = 0; r < nranks; r++) {
        float *out = sendbuf + send_displs[r];
        for (int t = 0; t < ntasks; t++)
            if (r != rank && source_rank(p, t, r) == rank) {
                gather_rows_of(p, r, grads[t], out, NULL);
                out += local_rows(p, r);
            }
    }
    int rc = MPI_Alltoallv(sendbuf, send_counts, send_displs, MPI_FLOAT, recvbuf, recv_counts,
                           recv_displs, MPI_FLOAT, comm);
    if (rc != MPI_SUCCESS) CM_ERROR_GOTO(err, done, CM_ERR_MPI, "MPI_Alltoallv of the task gradients failed");
    for (int t = 0; t < ntasks; t++)
        if (source_rank(p, t, rank) == rank) gather_rows_of(p, rank, grads[t], NULL, a_local + (size_t)t * lld);
    for (int s = 0; s < nranks; s++) {
        const float *in = recvbuf + recv_displs[s];
        for (int t = 0; t < ntasks; t++)
            if (s != rank && source_rank(p, t, rank) == s) {
                double *column = a_local + (size_t)t * lld;
                for (int l = 0; l < my_rows; l++) column[l] = in[l];
                in += my_rows;
            }
    }
done:
    free(recvbuf);
    free(sendbuf);
    free(counts);
    return err;
}

/* Builds the plan from an allgather of which rank holds which task. The caller frees the arrays
 * of *p, also on error. */
static cm_err make_plan(MPI_Comm comm, int ntasks, int64_t dim, const float *const *grads,
                        int block_rows, exchange_plan *p)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    *p = (exchange_plan){.ntasks = ntasks, .nranks = nranks, .dim = dim,
                         .block_rows = block_rows ? block_rows : (int)((dim + nranks - 1) / nranks)};
    CM_CALLOC(p->holds, (size_t)nranks * ntasks);
    CM_CALLOC(p->holders, (size_t)ntasks * nranks);
    CM_CALLOC(p->nholders, ntasks);
    for (int t = 0; t < ntasks; t++) p->holds[(size_t)rank * ntasks + t] = grads[t] != NULL;
    CM_ASSERT(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, p->holds, ntasks, MPI_INT, comm) == MPI_SUCCESS,
              CM_ERR_MPI, "MPI_Allgather of the task ownership failed");
    for (int t = 0; t < ntasks; t++) {
        for (int r = 0; r < nranks; r++)
            if (p->holds[(size_t)r * ntasks + t]) p->holders[(size_t)t * nranks + p->nholders[t]++] = r;
        CM_ASSERT(p->nholders[t] > 0, CM_ERR_ARG,
                  "no rank holds the gradient of task %d (grads[%d] is NULL on all %d ranks)", t, t, nranks);
    }
    return CM_OK;
}

/* G = A^T A with pdsyrk on the P x 1 grid; the full symmetric G on every rank. */
static cm_err gram_pdsyrk(MPI_Comm comm, const exchange_plan *p, const double *a_local, int lld,
                          double *gram)
{
    cm_err err = CM_OK;
    const int n = p->ntasks, k = (int)p->dim, nranks = p->nranks, zero_i = 0, one_i = 1;
    cm_blacs_grid grid;
    CM_CHECK(cm_blacs_grid_create(comm, nranks, 1, &grid));
    double *c_local = NULL;
    int desc_a[CM_DESC_LEN], desc_c[CM_DESC_LEN], info;
    descinit_(desc_a, &k, &n, &p->block_rows, &n, &zero_i, &zero_i, &grid.context, &lld, &info);
    if (info != 0) CM_ERROR_GOTO(err, done, CM_ERR_INTERNAL, "descinit of the gradient matrix failed (info %d)", info);
    /* G is tiny: one N x N block, held by process row 0. */
    const int c_rows = cm_blacs_local_count(n, n, grid.myrow, nranks);
    const int lld_c = c_rows > 1 ? c_rows : 1;
    descinit_(desc_c, &n, &n, &n, &n, &zero_i, &zero_i, &grid.context, &lld_c, &info);
    if (info != 0) CM_ERROR_GOTO(err, done, CM_ERR_INTERNAL, "descinit of the Gram matrix failed (info %d)", info);
    c_local = calloc((size_t)lld_c * n, sizeof *c_local);
    if (!c_local) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the Gram matrix");

    const double alpha = 1.0, beta = 0.0;
    pdsyrk_("U", "T", &n, &k, &alpha, a_local, &one_i, &one_i, desc_a, &beta, c_local, &one_i, &one_i, desc_c);

    /* pdsyrk wrote the upper triangle (column-major) on process row 0; adding zeros elsewhere is
     * exact, so the allreduce hands every rank the same bits. */
    memset(gram, 0, (size_t)n * n * sizeof *gram);
    if (c_rows > 0)
        for (int j = 0; j < n; j++)
            for (int i = 0; i <= j; i++) gram[(size_t)i * n + j] = gram[(size_t)j * n + i] = c_local[i + (size_t)j * lld_c];
    if (MPI_Allreduce(MPI_IN_PLACE, gram, n * n, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "MPI_Allreduce of the Gram matrix failed");
done:
    free(c_local);
    cm_blacs_grid_destroy(&grid);
    return err;
}

/* Cosines from the Gram matrix; zero gradients get similarity 0 (see similarity.h). */
static cm_err cosines_from_gram(MPI_Comm comm, int n, const double *gram, double *cosine, double *norms)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int i = 0; i < n; i++) {
        double g = gram[(size_t)i * n + i];
        CM_ASSERT(isfinite(g), CM_ERR_NUMERIC,
                  "the gradient of task %d contains NaN or Inf (squared norm %g)", i, g);
        norms[i] = sqrt(g);
        if (g == 0 && rank == 0)
            cm_log_warn("task %d has a zero gradient: its similarity to every other task is set to 0", i);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double c;
            if (i == j)
                c = 1.0;
            else if (norms[i] == 0 || norms[j] == 0)
                c = 0.0;
            else
                c = gram[(size_t)i * n + j] / (norms[i] * norms[j]);
            /* |c| can exceed 1 by a rounding error for (anti)parallel gradients. */
            cosine[(size_t)i * n + j] = c > 1 ? 1 : c < -1 ? -1 : c;
        }
    return CM_OK;
}

cm_err cm_similarity_compute(MPI_Comm comm, int ntasks, int64_t dim, const float *const *grads,
                             int block_rows, double *gram, double *cosine, double *norms)
{
    CM_ASSERT(ntasks >= 1, CM_ERR_ARG, "similarity needs at least one task, got %d", ntasks);
    CM_ASSERT(dim >= 1 && dim <= INT_MAX, CM_ERR_ARG,
              "gradient length %lld is outside 1..%d (ScaLAPACK indices are 32-bit)", (long long)dim, INT_MAX);
    CM_ASSERT(block_rows >= 0, CM_ERR_ARG, "block_rows must be >= 0 (0 = automatic), got %d", block_rows);

    cm_err err = CM_OK;
    exchange_plan plan = {0};
    double *a_local = NULL, *gram_buf = NULL;
    int rank;
    MPI_Comm_rank(comm, &rank);
    CM_CHECK_GOTO(err, make_plan(comm, ntasks, dim, grads, block_rows, &plan), done);

    const int lld = local_rows(&plan, rank) > 1 ? local_rows(&plan, rank) : 1;
    a_local = malloc((size_t)lld * ntasks * sizeof *a_local);
    gram_buf = gram ? gram : malloc((size_t)ntasks * ntasks * sizeof *gram_buf);
    if (!a_local || !gram_buf)
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %d x %d local gradient rows", lld, ntasks);
    CM_CHECK_GOTO(err, redistribute(comm, &plan, grads, a_local, lld), done);
    CM_CHECK_GOTO(err, gram_pdsyrk(comm, &plan, a_local, lld, gram_buf), done);
    CM_CHECK_GOTO(err, cosines_from_gram(comm, ntasks, gram_buf, cosine, norms), done);
done:
    if (gram_buf != gram) free(gram_buf);
    free(a_local);
    free(plan.holders);
    free(plan.nholders);
    free(plan.holds);
    return err;
}
