/* Subcommand entry points and small helpers shared by them. */
#ifndef CLIPMTL_CLI_H
#define CLIPMTL_CLI_H

#include "clipmtl/error.h"

#define CM_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef CM_COMMAND

/* True if argv holds -h or --help. */
int cm_cli_wants_help(int argc, char **argv);

/* Option values: errors name the option ("--batch: 'x' is not an integer"). */
cm_err cm_cli_parse_long(const char *option, const char *text, long lo, long hi, long *out);
cm_err cm_cli_parse_double(const char *option, const char *text, double lo, double hi, double *out);

/* For commands that run under mpirun: MPI_Init, and the exit. On an error one message is
 * printed for the job (not one per rank); a failed rank whose peers do not reach the exit (they
 * may be blocked in a collective) aborts the job. Exit status CM_EXIT_FAILURE on every rank when any failed; a clean stop on a signal
 * (CM_ERR_INTERRUPTED, raised on every rank at once) exits CM_EXIT_STOPPED (exit_status.h). */
cm_err cm_cli_mpi_init(int *argc, char ***argv);
int cm_cli_mpi_exit(cm_err err);

#endif
