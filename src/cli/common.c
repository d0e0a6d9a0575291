#include <string.h>

#include "clipmtl/cli.h"

int cm_cli_exit_status(cm_err err)
{
    if (err == CM_OK) return 0;
    cm_error_print(stderr);
    return 1;
}

int cm_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}
