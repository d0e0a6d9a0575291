/* Malformed vocabularies: each defect of the merges file must give an error of the right kind
 * that names the file and, when it has one, the line. The variants are the real file with one
 * line changed, written to a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "clipmtl/tokenizer.h"
#include "test_util.h"

/* The header and the merge lines of the real file (what the tokenizer reads), plus a tail. */
enum { KEPT_LINES = CM_BPE_MERGES + 1 + 100 };
static char *lines[KEPT_LINES];

static int read_real(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    char buf[4096];
    int n = 0;
    while (n < KEPT_LINES && gzgets(f, buf, sizeof buf)) {
        buf[strcspn(buf, "\n")] = '\0';
        lines[n++] = strdup(buf);
    }
    gzclose(f);
    return n == KEPT_LINES;
}

/* Writes the kept lines with line `change` (1-based, 0 for none) replaced by `text` (NULL
 * removes everything from that line on). */
static const char *write_variant(const char *name, int change, const char *text, int compress)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", cm_test_tmpdir(), name);
    gzFile f = gzopen(path, compress ? "wb6" : "wbT");
    for (int i = 0; i < KEPT_LINES; i++) {
        const char *line = lines[i];
        if (i + 1 == change) {
            if (!text) break;
            line = text;
        }
        gzputs(f, line);
        gzputs(f, "\n");
    }
    gzclose(f);
    return path;
}

/* Loads `path`, expects `code` and every fragment in the message. */
static void expect_error(const char *what, const char *path, cm_err code, const char *frag1, const char *frag2)
{
    cm_tokenizer *tok = NULL;
    cm_err err = cm_tokenizer_load(&tok, path);
    const char *msg = cm_error_message();
    int ok = err == code && strstr(msg, path) && (!frag1 || strstr(msg, frag1)) && (!frag2 || strstr(msg, frag2));
    CM_TEST(ok, "%s: want %s naming %s %s %s; got %s: %s", what, cm_error_name(code), path, frag1 ? frag1 : "",
            frag2 ? frag2 : "", cm_error_name(err), msg);
    printf("%s %s -> %s\n", ok ? "ok  " : "FAIL", what, msg);
    CM_TEST(tok == NULL, "%s: no tokenizer on error", what);
    cm_tokenizer_free(tok);
    cm_error_clear();
}

/* Copies the real file, then damages it: cut at half, or one byte flipped deep inside. */
static const char *damaged_copy(const char *real, const char *name, int truncate)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", cm_test_tmpdir(), name);
    FILE *in = fopen(real, "rb");
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    rewind(in);
    unsigned char *data = malloc((size_t)size);
    size_t got = fread(data, 1, (size_t)size, in);
    fclose(in);
    if (!truncate) data[size * 3 / 4] ^= 0x5A;
    FILE *out = fopen(path, "wb");
    fwrite(data, 1, truncate ? got / 2 : got, out);
    fclose(out);
    free(data);
    return path;
}

int main(void)
{
    char real[4096];
    const char *src = getenv("CLIPMTL_SRCDIR");
    snprintf(real, sizeof real, "%s/data/" CM_BPE_FILE_NAME, src && *src ? src : CM_SRCDIR);
    CM_TEST(read_real(real), "reading %s", real);

    /* The kept lines, recompressed, load; uncompressed they load too (zlib reads plain files). */
    cm_tokenizer *tok = NULL;
    int32_t ids[CM_CONTEXT_LENGTH];
    CM_TEST_OK(cm_tokenizer_load(&tok, write_variant("good.txt.gz", 0, NULL, 1)));
    if (tok) CM_TEST_OK(cm_tokenize(tok, "a photo of a dog.", CM_CONTEXT_LENGTH, 1, ids));
    CM_TEST(tok && ids[5] == 1929, "recompressed vocabulary tokenizes 'dog' as 1929, got %d", ids[5]);
    cm_tokenizer_free(tok);
    tok = NULL;
    CM_TEST_OK(cm_tokenizer_load(&tok, write_variant("plain.txt", 0, NULL, 0)));
    cm_tokenizer_free(tok);

    expect_error("missing file", "/nonexistent/dir/" CM_BPE_FILE_NAME, CM_ERR_IO, NULL, NULL);
    expect_error("short file", write_variant("short.gz", 1001, NULL, 1), CM_ERR_FORMAT, "after 999 merge lines",
                 NULL);
    expect_error("empty file", write_variant("empty.gz", 1, NULL, 1), CM_ERR_FORMAT, "empty file", NULL);
    expect_error("three symbols", write_variant("three.gz", 5, "a b c", 1), CM_ERR_FORMAT, ":5:", "more");
    expect_error("one symbol", write_variant("one.gz", 7, "ab", 1), CM_ERR_FORMAT, ":7:", "has 1");
    expect_error("blank line", write_variant("blank.gz", 9, "", 1), CM_ERR_FORMAT, ":9:", "has 0");
    expect_error("non-byte character", write_variant("char.gz", 11, "a \xc8\x80", 1), CM_ERR_FORMAT, ":11:",
                 "U+0200");
    expect_error("invalid UTF-8", write_variant("utf8.gz", 13, "a \xff", 1), CM_ERR_FORMAT, ":13:", "UTF-8");
    expect_error("unknown symbol", write_variant("unknown.gz", 15, "qqqzzz x", 1), CM_ERR_FORMAT, ":15:",
                 "not in the vocabulary");
    char long_line[3000];
    memset(long_line, 'a', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\0';
    expect_error("overlong line", write_variant("long.gz", 17, long_line, 1), CM_ERR_FORMAT, ":17:", "longer");
    expect_error("truncated gzip", damaged_copy(real, "cut.gz", 1), CM_ERR_FORMAT, "gzip", NULL);
    expect_error("corrupt gzip", damaged_copy(real, "flipped.gz", 0), CM_ERR_FORMAT, "gzip", NULL);

    const char *written[] = {"good.txt.gz", "plain.txt", "short.gz", "empty.gz", "three.gz", "one.gz", "blank.gz",
                             "char.gz", "utf8.gz", "unknown.gz", "long.gz", "cut.gz", "flipped.gz"};
    for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", cm_test_tmpdir(), written[i]);
        unlink(path);
    }
    rmdir(cm_test_tmpdir());
    for (int i = 0; i < KEPT_LINES; i++) free(lines[i]);
    return cm_test_summary();
}
