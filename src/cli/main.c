/* clipmtl: dispatches to one subcommand per file in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    fprintf(f, "usage: clipmtl <command> [options]   (clipmtl <command> --help for details)\n\ncommands:\n");
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "clipmtl: unknown command '%s'\n\n", name);
    list_commands(stderr);
    return 2;
}
