/* Split lists as Dassl (DomainNet) and LibMTL (Office-Home) ship them: one image a line,
 * "relative/path label", the label after the last blank. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_internal.h"

#define MAX_LINE 4096
#define MAX_LABEL 10000000L

/* A relative path without empty, "." or ".." components: it must stay under the root. */
static int is_safe_relative(const char *p)
{
    if (p[0] == '/' || p[0] == '\0') return 0;
    for (const char *c = p; *c;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) return 0;
        c += len + (end ? 1 : 0);
        if (end && *c == '\0') return 0; /* trailing '/' */
    }
    return 1;
}

static cm_err parse_line(const char *list, int lineno, char *line, cm_split_list_fn fn, void *ctx)
{
    size_t len = strlen(line);
    while (len > 0 && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
    char *start = line;
    while (*start && isspace((unsigned char)*start)) start++;
    if (*start == '\0') return CM_OK; /* blank lines are allowed, e.g. at the end */
    char *blank = start + strlen(start);
    while (blank > start && !isspace((unsigned char)blank[-1])) blank--;
    CM_ASSERT(blank > start, CM_ERR_FORMAT, "%s:%d: expected 'path label', got '%.200s'", list, lineno, start);
    const char *label_text = blank;
    char *path_end = blank;
    while (path_end > start && isspace((unsigned char)path_end[-1])) path_end--;
    *path_end = '\0';
    char *end;
    errno = 0;
    long label = strtol(label_text, &end, 10);
    CM_ASSERT(errno == 0 && *end == '\0' && end != label_text && label >= 0 && label <= MAX_LABEL, CM_ERR_FORMAT,
              "%s:%d: label '%.40s' is not an integer in 0..%ld", list, lineno, label_text, MAX_LABEL);
    CM_ASSERT(is_safe_relative(start), CM_ERR_FORMAT,
              "%s:%d: '%.200s' is not a relative path below the dataset root", list, lineno, start);
    CM_CHECK(fn(ctx, list, lineno, start, label));
    return CM_OK;
}

cm_err cm_split_list_read(const char *list, cm_split_list_fn fn, void *ctx)
{
    FILE *f = fopen(list, "r");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot open split list: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    cm_err err = CM_OK;
    errno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)got != strlen(line))
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s:%d: NUL byte in a text line", list, lineno);
        if (got > MAX_LINE) CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s:%d: line longer than %d bytes", list, lineno, MAX_LINE);
        CM_CHECK_GOTO(err, parse_line(list, lineno, line, fn, ctx), done);
    }
    if (ferror(f)) CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: read failed after line %d", list, lineno);
done:
    free(line);
    fclose(f);
    return err;
}
