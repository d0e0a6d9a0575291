/* clipmtl config: the effective configuration of a file with overrides, or the reference of
 * every key (experiments/README.md is this command's --doc output). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/config.h"

static void usage(FILE *f)
{
    fputs("usage: clipmtl config [CONFIG.yaml] [--set key=value]... [--doc]\n\n"
          "Prints the effective configuration: the defaults, overlaid by CONFIG.yaml, then by each\n"
          "--set in order (value in YAML: --set optim.lr=0.01 --set 'data.domains=[Art, Clipart]'),\n"
          "after checking every key and the rules between keys. Errors name FILE:LINE:COLUMN and the key.\n\n"
          "  --set key=value  override one key (repeatable; also --set=key=value)\n"
          "  --doc            print the Markdown reference of every key instead\n"
          "  -h, --help       this help\n", f);
}

static cm_err run(int argc, char **argv, int *doc)
{
    const char *path = NULL;
    *doc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--doc") == 0) *doc = 1;
        else if (strcmp(argv[i], "--set") == 0) {
            if (++i == argc) CM_ERROR(CM_ERR_ARG, "--set needs key=value");
        } else if (strncmp(argv[i], "--set=", 6) == 0) {
            continue;
        } else if (argv[i][0] == '-') {
            CM_ERROR(CM_ERR_ARG, "unknown option '%s' (clipmtl config --help)", argv[i]);
        } else if (path) {
            CM_ERROR(CM_ERR_ARG, "one configuration file only, got '%s' and '%s'", path, argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (*doc) {
        CM_CHECK(cm_config_doc(stdout));
        return CM_OK;
    }
    cm_config c;
    CM_CHECK(cm_config_defaults(&c));
    cm_err err = CM_OK;
    if (path) CM_CHECK_GOTO(err, cm_config_read_file(&c, path), done);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0) CM_CHECK_GOTO(err, cm_config_set(&c, argv[++i]), done);
        else if (strncmp(argv[i], "--set=", 6) == 0) CM_CHECK_GOTO(err, cm_config_set(&c, argv[i] + 6), done);
    }
    CM_CHECK_GOTO(err, cm_config_validate(&c), done);
    cm_config_warn_ineffective(&c);
    CM_CHECK_GOTO(err, cm_config_dump(&c, stdout), done);
done:
    cm_config_free(&c);
    return err;
}

int cmd_config(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    int doc;
    return cm_error_exit_status(run(argc, argv, &doc));
}
