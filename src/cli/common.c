#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include <mpi.h>

#include "cli.h"
#include "clipmtl/exit_status.h"
#include "clipmtl/log.h"

int cm_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

cm_err cm_cli_parse_long(const char *option, const char *text, long lo, long hi, long *out)
{
    CM_ASSERT(text, CM_ERR_ARG, "%s needs a value", option);
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    CM_ASSERT(errno == 0 && end != text && *end == '\0', CM_ERR_ARG, "%s: '%s' is not an integer", option, text);
    CM_ASSERT(v >= lo && v <= hi, CM_ERR_ARG, "%s %ld outside %ld..%ld", option, v, lo, hi);
    *out = v;
    return CM_OK;
}

cm_err cm_cli_parse_double(const char *option, const char *text, double lo, double hi, double *out)
{
    CM_ASSERT(text, CM_ERR_ARG, "%s needs a value", option);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    CM_ASSERT(errno == 0 && end != text && *end == '\0' && isfinite(v), CM_ERR_ARG, "%s: '%s' is not a number",
              option, text);
    CM_ASSERT(v >= lo && v <= hi, CM_ERR_ARG, "%s %g outside %g..%g", option, v, lo, hi);
    *out = v;
    return CM_OK;
}

/* Used only by cm_cli_mpi_exit, so that its agreement never meets another collective that a
 * rank may still be blocked in. */
static MPI_Comm exit_comm = MPI_COMM_NULL;

/* mpirun binds each rank to one core when there are at most two ranks; OpenBLAS then quietly caps
 * its threads at the one CPU it sees, so a rank asked for two threads runs at half speed
 * (measured: ViT-B/16 MmAP, 1 rank, OPENBLAS_NUM_THREADS=2: 2.4 img/s bound, 4.1 with --bind-to
 * none). Collective: rank 0 warns when any rank has fewer CPUs than the threads it was asked for. */
static cm_err warn_if_bound_below_threads(void)
{
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : INT_MAX;
    const char *asked = getenv("OPENBLAS_NUM_THREADS");
    int threads = asked ? atoi(asked) : 0;
    int short_of[2] = {threads > cpus ? threads : 0, threads > cpus ? -cpus : INT_MIN}, worst[2];
    CM_MPI_CHECK(MPI_Allreduce(short_of, worst, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    if (worst[0] > 0)
        cm_log_warn_rank0("a rank may use %d CPU(s) but OPENBLAS_NUM_THREADS asks for %d threads: mpirun binds each "
                          "rank to one core by default; add --bind-to none or --map-by slot:PE=%d (srun: "
                          "--cpus-per-task=%d)",
                          -worst[1], worst[0], worst[0], worst[0]);
    return CM_OK;
}

cm_err cm_cli_mpi_init(int *argc, char ***argv)
{
    int ready;
    MPI_Initialized(&ready);
    if (!ready) CM_MPI_CHECK(MPI_Init(argc, argv));
    /* Errors come back as codes (checked by CM_MPI_CHECK) instead of killing the job silently. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    cm_log_set_rank(rank, size); /* messages every rank would repeat come from rank 0 only */
    if (exit_comm == MPI_COMM_NULL) CM_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &exit_comm));
    MPI_Comm_set_errhandler(exit_comm, MPI_ERRORS_RETURN);
    CM_CHECK(warn_if_bound_below_threads());
    return CM_OK;
}

/* How long a failing rank waits for the others to reach the exit before it aborts the job. */
#define EXIT_AGREEMENT_SECONDS 3.0

/* Every rank reaches cm_cli_mpi_exit, or some are blocked in a collective that a failed rank
 * will never join. A non-blocking allreduce on exit_comm tells the two apart: when it completes,
 * one failing rank reports for all (rank 0 if it failed, else the lowest rank whose error is not
 * just "another rank failed") and the job ends without an abort; when a failing rank's wait times
 * out, it reports itself and aborts the ranks that are stuck. Verbose: every failing rank prints
 * its trace. */
int cm_cli_mpi_exit(cm_err err)
{
    int ready, size = 1, rank = 0;
    MPI_Initialized(&ready);
    if (ready) {
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    }
    if (err == CM_ERR_INTERRUPTED) {
        /* Every rank stopped at the same step after the checkpoint: a clean end, not a failure. */
        if (rank == 0) fprintf(stderr, "%s\n", cm_error_message());
        cm_log_file_close();
        if (exit_comm != MPI_COMM_NULL) MPI_Comm_free(&exit_comm);
        if (ready) MPI_Finalize();
        return CM_EXIT_STOPPED;
    }
    if (!ready || size == 1 || exit_comm == MPI_COMM_NULL) {
        if (err != CM_OK) cm_error_print(stderr);
        cm_log_file_close();
        if (ready) MPI_Finalize();
        return err == CM_OK ? 0 : CM_EXIT_FAILURE;
    }
    const int priority = err == CM_OK ? INT_MAX : err == CM_ERR_MPI ? size + rank : rank;
    int reporter = INT_MAX, agreed = 0;
    MPI_Request request;
    if (MPI_Iallreduce(&priority, &reporter, 1, MPI_INT, MPI_MIN, exit_comm, &request) == MPI_SUCCESS) {
        if (err == CM_OK) {
            agreed = MPI_Wait(&request, MPI_STATUS_IGNORE) == MPI_SUCCESS;
        } else {
            for (double start = cm_now(); !agreed && cm_now() - start < EXIT_AGREEMENT_SECONDS; usleep(10000))
                if (MPI_Test(&request, &agreed, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
        }
    }
    if (err != CM_OK && (!agreed || priority == reporter || cm_error_verbose())) {
        if (rank != 0 || !agreed) fprintf(stderr, "[rank %d] ", rank);
        cm_error_print(stderr);
        fflush(stderr);
    }
    cm_log_file_close();
    if (!agreed && err != CM_OK) {
        /* Give mpirun/srun a moment to forward the message before the abort kills the job. */
        usleep(500000);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Comm_free(&exit_comm);
    MPI_Finalize();
    return reporter == INT_MAX ? 0 : CM_EXIT_FAILURE;
}
