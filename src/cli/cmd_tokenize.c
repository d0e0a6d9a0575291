/* clipmtl tokenize: prints the token ids of texts, one line of context-length ids per text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipmtl tokenize [options] TEXT...\n"
            "       clipmtl tokenize [options] -        (one text per line of standard input)\n"
            "\n"
            "Prints, for each text, the ids of OpenAI's clip.tokenize on one line separated by spaces:\n"
            "<|startoftext|> 49406, the BPE ids, <|endoftext|> 49407, zeros up to the context length.\n"
            "\n"
            "options:\n"
            "  --context N     context length (default %d)\n"
            "  --no-truncate   fail on a text longer than the context instead of cutting it\n"
            "                  (by default its first N tokens are kept, the last one set to EOT)\n"
            "  --bpe PATH      merges file (default: $CLIPMTL_BPE, else the installed %s)\n"
            "  -h, --help      this help\n",
            CM_CONTEXT_LENGTH, CM_BPE_FILE_NAME);
}

static void print_ids(const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
}

static cm_err tokenize_args(const cm_tokenizer *tok, char **texts, int n, int context, int truncate)
{
    int32_t *ids;
    CM_CALLOC(ids, (size_t)n * (size_t)context);
    cm_err err = cm_tokenize_batch(tok, (const char *const *)texts, (size_t)n, context, truncate, ids);
    if (err == CM_OK)
        for (int i = 0; i < n; i++) print_ids(ids + (size_t)i * context, context);
    free(ids);
    if (err != CM_OK) return cm_error_trace(__FILE__, __LINE__, __func__, err);
    return CM_OK;
}

/* Lines are tokenized in blocks so that words repeated across lines hit the batch's word cache
 * while the output still streams. */
enum { LINES_PER_BLOCK = 256 };

static cm_err tokenize_block(const cm_tokenizer *tok, char **lines, size_t n, int context, int truncate,
                             int32_t *ids)
{
    CM_CHECK(cm_tokenize_batch(tok, (const char *const *)lines, n, context, truncate, ids));
    for (size_t i = 0; i < n; i++) print_ids(ids + i * (size_t)context, context);
    return CM_OK;
}

static cm_err tokenize_stdin(const cm_tokenizer *tok, int context, int truncate)
{
    char *lines[LINES_PER_BLOCK] = {0};
    size_t caps[LINES_PER_BLOCK] = {0}, n = 0;
    long line_number = 0;
    int32_t *ids;
    CM_CALLOC(ids, (size_t)LINES_PER_BLOCK * (size_t)context);
    cm_err err = CM_OK;
    for (;;) {
        ssize_t len = getline(&lines[n], &caps[n], stdin);
        if (len < 0) break;
        line_number++;
        if (len > 0 && lines[n][len - 1] == '\n') lines[n][--len] = '\0';
        if (strlen(lines[n]) != (size_t)len)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "standard input line %ld contains a NUL byte", line_number);
        if (++n == LINES_PER_BLOCK) {
            CM_CHECK_GOTO(err, tokenize_block(tok, lines, n, context, truncate, ids), done);
            n = 0;
        }
    }
    if (ferror(stdin)) CM_ERROR_GOTO(err, done, CM_ERR_IO, "error reading standard input after line %ld", line_number);
    if (n) CM_CHECK_GOTO(err, tokenize_block(tok, lines, n, context, truncate, ids), done);
done:
    for (size_t i = 0; i < LINES_PER_BLOCK; i++) free(lines[i]);
    free(ids);
    return err;
}

static cm_err run(int argc, char **argv)
{
    int context = CM_CONTEXT_LENGTH, truncate = 1, first_text = argc;
    const char *bpe = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--context") == 0) {
            CM_ASSERT(i + 1 < argc, CM_ERR_ARG, "--context needs a number");
            char *end;
            long v = strtol(argv[++i], &end, 10);
            CM_ASSERT(*argv[i] && !*end && v >= 1 && v <= 1 << 20, CM_ERR_ARG,
                      "--context must be an integer in [1, %d], got '%s'", 1 << 20, argv[i]);
            context = (int)v;
        } else if (strcmp(argv[i], "--no-truncate") == 0) {
            truncate = 0;
        } else if (strcmp(argv[i], "--bpe") == 0) {
            CM_ASSERT(i + 1 < argc, CM_ERR_ARG, "--bpe needs a path");
            bpe = argv[++i];
        } else if (strcmp(argv[i], "--") == 0) {
            first_text = i + 1;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            CM_ERROR(CM_ERR_ARG, "unknown option '%s' (clipmtl tokenize --help)", argv[i]);
        } else {
            first_text = i;
            break;
        }
    }
    CM_ASSERT(first_text < argc, CM_ERR_ARG, "no text given (clipmtl tokenize --help)");
    int from_stdin = strcmp(argv[first_text], "-") == 0;
    CM_ASSERT(!from_stdin || first_text == argc - 1, CM_ERR_ARG, "'-' (standard input) must be the only text");
    cm_tokenizer *tok;
    CM_CHECK(cm_tokenizer_load(&tok, bpe));
    cm_err err = from_stdin ? tokenize_stdin(tok, context, truncate)
                            : tokenize_args(tok, argv + first_text, argc - first_text, context, truncate);
    cm_tokenizer_free(tok);
    if (err != CM_OK) return cm_error_trace(__FILE__, __LINE__, __func__, err);
    return CM_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    return cm_error_exit_status(run(argc, argv));
}
