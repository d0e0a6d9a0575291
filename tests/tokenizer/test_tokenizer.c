/* Tokenizer against OpenAI's ids: every public case of ../shared/data (made with OpenAI's code),
 * the cases of tests/reference/tokenizer_reference.py (unicode, accents, emoji, CJK, HTML
 * references, numbers, lowercasing, white space, truncation, fuzz), the cases of
 * tests/reference/ftfy_cases.py (texts that ftfy.fix_text repairs or leaves alone: mojibake,
 * quotes, widths, ligatures, HTML, controls, line breaks), the unpadded encode() ids of
 * long texts, and the framing rules (truncation, context lengths, errors). Exact equality. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/tokenizer.h"
#include "test_util.h"

typedef struct {
    char **text;
    int32_t **ids;
    size_t *count;
    size_t n;
} case_file;

/* Undoes the \\, \t, \n, \r escapes of the case files in place; 0 on an unknown escape. */
static int unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        if (*r == '\\')
            *w++ = '\\';
        else if (*r == 't')
            *w++ = '\t';
        else if (*r == 'n')
            *w++ = '\n';
        else if (*r == 'r')
            *w++ = '\r';
        else
            return 0;
    }
    *w = '\0';
    return 1;
}

/* Reads "text TAB id id ..." lines. Returns 0 (and reports) if the file is missing or malformed. */
static int read_cases(const char *path, case_file *cf)
{
    FILE *f = fopen(path, "rb");
    memset(cf, 0, sizeof *cf);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ok = 1;
    long number = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        number++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0) continue;
        char *tab = strchr(line, '\t');
        if (!tab || !unescape((*tab = '\0', line))) {
            fprintf(stderr, "%s:%ld: malformed case\n", path, number);
            ok = 0;
            break;
        }
        cf->text = realloc(cf->text, (cf->n + 1) * sizeof *cf->text);
        cf->ids = realloc(cf->ids, (cf->n + 1) * sizeof *cf->ids);
        cf->count = realloc(cf->count, (cf->n + 1) * sizeof *cf->count);
        cf->text[cf->n] = strdup(line);
        size_t k = 0, kcap = 80;
        int32_t *ids = malloc(kcap * sizeof *ids);
        for (char *p = tab + 1, *end; *p; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            if (k == kcap) ids = realloc(ids, (kcap *= 2) * sizeof *ids);
            ids[k++] = (int32_t)v;
        }
        cf->ids[cf->n] = ids;
        cf->count[cf->n] = k;
        cf->n++;
    }
    free(line);
    fclose(f);
    return ok;
}

static void free_cases(case_file *cf)
{
    for (size_t i = 0; i < cf->n; i++) {
        free(cf->text[i]);
        free(cf->ids[i]);
    }
    free(cf->text);
    free(cf->ids);
    free(cf->count);
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Each case one by one, then all of them in one batch (its word cache must not change a thing). */
static void check_case_file(const cm_tokenizer *tok, const char *path, size_t min_cases)
{
    case_file cf;
    CM_TEST(read_cases(path, &cf), "reading %s", path);
    CM_TEST(cf.n >= min_cases, "%s: %zu cases, expected at least %zu", path, cf.n, min_cases);
    int32_t ids[CM_CONTEXT_LENGTH];
    size_t mismatches = 0;
    for (size_t i = 0; i < cf.n; i++) {
        if (cf.count[i] != CM_CONTEXT_LENGTH) {
            CM_TEST(0, "%s case %zu has %zu ids", path, i + 1, cf.count[i]);
            continue;
        }
        cm_err err = cm_tokenize(tok, cf.text[i], CM_CONTEXT_LENGTH, 1, ids);
        if (err != CM_OK) {
            cm_error_print(stderr);
            cm_error_clear();
        }
        if (err != CM_OK || memcmp(ids, cf.ids[i], sizeof ids) != 0) {
            if (mismatches++ < 10) {
                fprintf(stderr, "MISMATCH %s line %zu: \"%s\"\n", path, i + 1, cf.text[i]);
                print_ids("want", cf.ids[i], CM_CONTEXT_LENGTH);
                print_ids("got ", ids, CM_CONTEXT_LENGTH);
            }
        }
    }
    CM_TEST(mismatches == 0, "%s: %zu of %zu cases differ", path, mismatches, cf.n);
    printf("%s %s: %zu/%zu cases exact\n", mismatches ? "FAIL" : "ok  ", path, cf.n - mismatches, cf.n);

    int32_t *batch = malloc(cf.n * CM_CONTEXT_LENGTH * sizeof *batch);
    CM_TEST_OK(cm_tokenize_batch(tok, (const char *const *)cf.text, cf.n, CM_CONTEXT_LENGTH, 1, batch));
    size_t batch_mismatches = 0;
    for (size_t i = 0; i < cf.n; i++)
        batch_mismatches += memcmp(batch + i * CM_CONTEXT_LENGTH, cf.ids[i], sizeof ids) != 0;
    CM_TEST(batch_mismatches == 0, "%s: batch differs on %zu cases", path, batch_mismatches);
    free(batch);
    free_cases(&cf);
}

/* encode() ids of long texts; without truncation they must be refused, naming the text. */
static void check_encode_file(const cm_tokenizer *tok, const char *path)
{
    case_file cf;
    CM_TEST(read_cases(path, &cf), "reading %s", path);
    CM_TEST(cf.n >= 10, "%s: only %zu cases", path, cf.n);
    size_t mismatches = 0, long_texts = 0;
    for (size_t i = 0; i < cf.n; i++) {
        int32_t *ids;
        size_t n;
        CM_TEST_OK(cm_tokenizer_encode(tok, cf.text[i], &ids, &n));
        if (n != cf.count[i] || memcmp(ids, cf.ids[i], n * sizeof *ids) != 0) {
            if (mismatches++ < 5) fprintf(stderr, "encode MISMATCH on \"%s\": %zu ids, want %zu\n", cf.text[i], n, cf.count[i]);
        }
        free(ids);
        if (cf.count[i] + 2 > CM_CONTEXT_LENGTH) {
            int32_t out[CM_CONTEXT_LENGTH];
            long_texts++;
            cm_err err = cm_tokenize(tok, cf.text[i], CM_CONTEXT_LENGTH, 0, out);
            char start[16];
            snprintf(start, sizeof start, "%.10s", cf.text[i]);
            CM_TEST(err == CM_ERR_ARG && strstr(cm_error_message(), "too long") && strstr(cm_error_message(), start),
                    "a text of %zu tokens must be refused without truncation, naming it (got %s: %s)", cf.count[i],
                    cm_error_name(err), cm_error_message());
            cm_error_clear();
        }
    }
    CM_TEST(long_texts >= 5, "%s: only %zu texts longer than the context", path, long_texts);
    CM_TEST(mismatches == 0, "%s: encode differs on %zu of %zu texts", path, mismatches, cf.n);
    printf("%s %s: %zu/%zu encodings exact, %zu over-long texts refused without truncation\n",
           mismatches ? "FAIL" : "ok  ", path, cf.n - mismatches, cf.n, long_texts);
    free_cases(&cf);
}

static void check_framing(const cm_tokenizer *tok)
{
    int32_t ids[8];
    int32_t *enc;
    size_t n;
    CM_TEST_OK(cm_tokenizer_encode(tok, "a photo of a dog.", &enc, &n));
    CM_TEST(n == 6, "\"a photo of a dog.\" has 6 tokens, got %zu", n);

    /* Exactly full: SOT + 6 + EOT = 8 fits a context of 8 without truncation. */
    CM_TEST_OK(cm_tokenize(tok, "a photo of a dog.", 8, 0, ids));
    CM_TEST(ids[0] == CM_TOKEN_SOT && ids[7] == CM_TOKEN_EOT && memcmp(ids + 1, enc, 6 * sizeof *ids) == 0,
            "context 8 holds the whole text");
    /* One short: truncation keeps SOT + 5 tokens, the last slot becomes EOT. */
    CM_TEST(cm_tokenize(tok, "a photo of a dog.", 7, 0, ids) == CM_ERR_ARG, "context 7 is too short");
    cm_error_clear();
    CM_TEST_OK(cm_tokenize(tok, "a photo of a dog.", 7, 1, ids));
    CM_TEST(ids[0] == CM_TOKEN_SOT && memcmp(ids + 1, enc, 5 * sizeof *ids) == 0 && ids[6] == CM_TOKEN_EOT,
            "truncated to 7");
    /* As in Python, a context of 1 keeps [SOT] and overwrites it with EOT. */
    CM_TEST_OK(cm_tokenize(tok, "a photo of a dog.", 1, 1, ids));
    CM_TEST(ids[0] == CM_TOKEN_EOT, "context 1 gives [EOT], got %d", ids[0]);
    CM_TEST(cm_tokenize(tok, "x", 0, 1, ids) == CM_ERR_ARG, "context 0 is refused");
    cm_error_clear();
    /* Empty text: SOT, EOT, padding. */
    CM_TEST_OK(cm_tokenize(tok, " \t ", 4, 0, ids));
    CM_TEST(ids[0] == CM_TOKEN_SOT && ids[1] == CM_TOKEN_EOT && ids[2] == 0 && ids[3] == 0, "empty text");
    free(enc);

    /* The UTF-8 forms of surrogates are taken as surrogates for ftfy's fix_surrogates: a pair is
     * the character it encodes, a lone one U+FFFD. */
    int32_t want[CM_CONTEXT_LENGTH], got[CM_CONTEXT_LENGTH];
    CM_TEST_OK(cm_tokenize(tok, "\xf0\x9f\x98\x80 \xef\xbf\xbd", CM_CONTEXT_LENGTH, 1, want));
    CM_TEST_OK(cm_tokenize(tok, "\xed\xa0\xbd\xed\xb8\x80 \xed\xa0\x80", CM_CONTEXT_LENGTH, 1, got));
    CM_TEST(memcmp(want, got, sizeof want) == 0, "surrogates in UTF-8 form are repaired as ftfy does");

    /* Invalid UTF-8 is an error naming the text and the byte. */
    const char *bad[] = {"caf\xc3", "a\xff b", "\xc0\xaf", "\xed\xa0", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cm_err err = cm_tokenize(tok, bad[i], CM_CONTEXT_LENGTH, 1, (int32_t[CM_CONTEXT_LENGTH]){0});
        CM_TEST(err == CM_ERR_FORMAT && strstr(cm_error_message(), "UTF-8") && strstr(cm_error_message(), "byte"),
                "invalid UTF-8 %zu must be refused (got %s: %s)", i, cm_error_name(err), cm_error_message());
        cm_error_clear();
    }

    /* In a batch, the error names the index. */
    const char *texts[] = {"fine", "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "
                                   "photograph photograph photograph photograph photograph photograph photograph "};
    int32_t two[2 * CM_CONTEXT_LENGTH];
    cm_err err = cm_tokenize_batch(tok, texts, 2, CM_CONTEXT_LENGTH, 0, two);
    CM_TEST(err == CM_ERR_ARG && strstr(cm_error_message(), "text 1 "), "batch error names text 1: %s",
            cm_error_message());
    cm_error_clear();
}

static void check_default_path(void)
{
    char buf[4096];
    setenv("CLIPMTL_BPE", "/some/where/vocab.gz", 1);
    CM_TEST_OK(cm_tokenizer_default_path(buf, sizeof buf));
    CM_TEST(strcmp(buf, "/some/where/vocab.gz") == 0, "CLIPMTL_BPE wins: %s", buf);
    cm_tokenizer *tok = NULL;
    cm_err err = cm_tokenizer_load(&tok, NULL);
    CM_TEST(err == CM_ERR_IO && strstr(cm_error_message(), "/some/where/vocab.gz"),
            "a missing vocabulary names its path: %s", cm_error_message());
    cm_error_clear();
    unsetenv("CLIPMTL_BPE");
    CM_TEST_OK(cm_tokenizer_default_path(buf, sizeof buf));
    CM_TEST(strstr(buf, CM_BPE_FILE_NAME) != NULL, "default path %s", buf);
}

int main(void)
{
    check_default_path();
    char path[4096];
    const char *src = getenv("CLIPMTL_SRCDIR");
    snprintf(path, sizeof path, "%s/data/" CM_BPE_FILE_NAME, src && *src ? src : CM_SRCDIR);
    cm_tokenizer *tok;
    CM_TEST_OK(cm_tokenizer_load(&tok, path));
    if (!tok) return cm_test_summary();
    CM_TEST(strcmp(cm_tokenizer_path(tok), path) == 0, "path recorded");

    check_case_file(tok, cm_test_shared("data/tokenizer_cases_public.tsv"), 132);
    check_case_file(tok, cm_test_fixture("tokenizer/cases_generated.tsv"), 600);
    check_case_file(tok, cm_test_fixture("tokenizer/cases_ftfy.tsv"), 1500);
    check_encode_file(tok, cm_test_fixture("tokenizer/encode_generated.tsv"));
    check_framing(tok);
    cm_tokenizer_free(tok);
    return cm_test_summary();
}
