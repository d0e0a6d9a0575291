/* Subcommand entry points and small helpers shared by them. */
#ifndef CLIPMTL_CLI_H
#define CLIPMTL_CLI_H

#include "clipmtl/error.h"

#define CM_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "../../src/cli/commands.def"
#undef CM_COMMAND

/* Prints the error trace (if err != CM_OK) and returns the process exit status. */
int cm_cli_exit_status(cm_err err);
/* True if argv holds -h or --help. */
int cm_cli_wants_help(int argc, char **argv);

#endif
