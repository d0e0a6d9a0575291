/* clipmtl: dispatches to one subcommand per file in src/cli/. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/gemm.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
#define CM_COMMAND(name, fn, summary) {#name, fn, summary},
#include "commands.def"
#undef CM_COMMAND
};

static void list_commands(FILE *f)
{
    fprintf(f, "usage: clipmtl [-v|--verbose] <command> [options]   (clipmtl <command> --help for details)\n\n"
               "  -v, --verbose  on an error, also print where in the source it was raised\n"
               "                 (or set CLIPMTL_VERBOSE=1)\n"
               "  --version      print the version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2 || cm_cli_wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
        list_commands(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0 && strcmp(argv[1], "help") != 0) {
            char *sub[] = {argv[1], "--help", NULL};
            return commands[i].fn(2, sub);
        }
    fprintf(stderr, "clipmtl help: unknown command '%s'\n", argv[1]);
    return 2;
}

/* -v/--verbose may stand anywhere on the line; it is taken out before the subcommand parses its
 * options. CLIPMTL_VERBOSE=1 does the same for job scripts. */
static int take_verbose(int *argc, char **argv)
{
    const char *env = getenv("CLIPMTL_VERBOSE");
    int verbose = env && *env && strcmp(env, "0") != 0, n = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) verbose = 1;
        else argv[n++] = argv[i];
    }
    argv[n] = NULL;
    *argc = n;
    return verbose;
}

/* The version, and the GEMM paths this build and CPU can run (compute.gemm/compute.precision):
 * what a user or a script (experiments/run_fmnist_study.sh) checks before asking for bf16. */
static void print_version(void)
{
    printf("clipmtl %s\n", PACKAGE_VERSION);
    static const struct {
        cm_gemm_path path;
        cm_precision precision;
    } paths[] = {{CM_GEMM_OPENBLAS, CM_PRECISION_FP32}, {CM_GEMM_ONEDNN, CM_PRECISION_FP32},
                 {CM_GEMM_ONEDNN, CM_PRECISION_BF16}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        printf("gemm %s/%s: %s\n", cm_gemm_path_name(paths[i].path), cm_precision_name(paths[i].precision),
               cm_gemm_available(paths[i].path, paths[i].precision) ? "yes" : "no");
    if (cm_gemm_select(CM_GEMM_AUTO, CM_PRECISION_FP32) == CM_OK) printf("gemm auto/fp32: %s\n", cm_gemm_describe());
    cm_error_clear();
}

int main(int argc, char **argv)
{
    cm_error_set_verbose(take_verbose(&argc, argv));
    if (argc < 2) {
        list_commands(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0) {
        print_version();
        return 0;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "clipmtl: unknown command '%s'\n\n", name);
    list_commands(stderr);
    return 2;
}
