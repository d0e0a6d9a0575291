#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "cli.h"

int cm_cli_exit_status(cm_err err) { return cm_error_exit_status(err); }

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

cm_err cm_cli_mpi_init(int *argc, char ***argv)
{
    int ready;
    MPI_Initialized(&ready);
    if (!ready) CM_MPI_CHECK(MPI_Init(argc, argv));
    /* Errors come back as codes (checked by CM_MPI_CHECK) instead of killing the job silently. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return CM_OK;
}

int cm_cli_mpi_exit(cm_err err)
{
    int ready, size = 1, rank = 0;
    MPI_Initialized(&ready);
    if (ready) {
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    }
    if (err != CM_OK) {
        fprintf(stderr, "[rank %d] ", rank);
        cm_error_print(stderr);
        fflush(stderr);
        if (size > 1) {
            /* Give mpirun/srun a moment to forward the message before the abort kills the job. */
            usleep(500000);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    if (ready) MPI_Finalize();
    return err == CM_OK ? 0 : 1;
}
