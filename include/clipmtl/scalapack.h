/* The ScaLAPACK, PBLAS, BLACS and LAPACK symbols clipmtl calls.
 *
 * Debian's libscalapack-openmpi (2.2.1) and OpenBLAS's LAPACK ship no C header for these, so the
 * few routines we use are declared here, and only here.
 *
 * Calling conventions (getting any of these wrong corrupts memory silently):
 *  - Integers are 32-bit `int`: Debian builds ScaLAPACK and LAPACK with default INTEGER (LP64).
 *  - Matrices are column-major. A distributed matrix is described by a 9-int descriptor
 *    {DTYPE=1, CTXT, M, N, MB, NB, RSRC, CSRC, LLD} (indices below); each process stores its
 *    blocks as one local column-major array with leading dimension LLD >= max(1, local rows).
 *  - Routines whose names end in `_` follow the Fortran convention: every argument by pointer,
 *    global matrix indices (IA, JA, ...) 1-based.
 *  - Routines written in Fortran (descinit_, numroc_, pdsyevd_, dsyevd_) take one hidden length
 *    argument per CHARACTER argument, appended after all the others, of type size_t (gfortran >= 8).
 *    Omitting them "works" until the compiler emits a tail call; we always pass them.
 *  - The PBLAS (pdsyrk_) are written in C: CHARACTER arguments are plain `char *` and there are no
 *    hidden lengths.
 *  - The C interface of the BLACS (Cblacs_*) takes values, not pointers, and 0-based process
 *    coordinates. A process outside a grid gets context -1 and nprow = -1 from Cblacs_gridinfo.
 *    Csys2blacs_handle turns an MPI communicator into a system handle that Cblacs_gridinit
 *    replaces by a grid context (built from that communicator's ranks, in rank order). */
#ifndef CLIPMTL_SCALAPACK_H
#define CLIPMTL_SCALAPACK_H

#include <stddef.h>

#include <mpi.h>

/* Positions in a ScaLAPACK array descriptor (0-based C indices). */
enum {
    CM_DESC_DTYPE = 0,
    CM_DESC_CTXT,
    CM_DESC_M,
    CM_DESC_N,
    CM_DESC_MB,
    CM_DESC_NB,
    CM_DESC_RSRC,
    CM_DESC_CSRC,
    CM_DESC_LLD,
    CM_DESC_LEN
};

/* BLACS (C interface). */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int system_handle);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);

/* ScaLAPACK tools (Fortran). */
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *rsrc,
               const int *csrc, const int *context, const int *lld, int *info);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);

/* PBLAS (C): sub(C) := alpha * sub(A)^T sub(A) + beta * sub(C) for trans = "T". */
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc);

/* ScaLAPACK (Fortran): all eigenvalues (ascending) and eigenvectors of a distributed symmetric
 * matrix by divide and conquer. Needs MB == NB for A and Z, identical descriptors apart from LLD,
 * IA = JA = IZ = JZ = 1 here. lwork = liwork = -1 is a workspace query. */
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info, size_t jobz_len, size_t uplo_len);

/* LAPACK (Fortran, from OpenBLAS): the serial counterpart of pdsyevd_. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);

#endif
