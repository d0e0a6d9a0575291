/* Subcommand entry points and small helpers shared by them. */
#ifndef CLIPMTL_CLI_H
#define CLIPMTL_CLI_H

#include "clipmtl/error.h"

#define CM_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef CM_COMMAND

/* Prints the error trace (if err != CM_OK) and returns the process exit status. */
int cm_cli_exit_status(cm_err err);
/* True if argv holds -h or --help. */
int cm_cli_wants_help(int argc, char **argv);

/* Option values: errors name the option ("--batch: 'x' is not an integer"). */
cm_err cm_cli_parse_long(const char *option, const char *text, long lo, long hi, long *out);
cm_err cm_cli_parse_double(const char *option, const char *text, double lo, double hi, double *out);

/* For commands that run under mpirun: MPI_Init, and the exit. A rank that fails prints its
 * trace and, when it has peers, aborts the job (the others may be blocked in a collective);
 * otherwise MPI_Finalize and the usual exit status. */
cm_err cm_cli_mpi_init(int *argc, char ***argv);
int cm_cli_mpi_exit(cm_err err);

#endif
