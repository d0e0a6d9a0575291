/* The tokenizer's public API: vocabulary lookup and loading, and clip.tokenize() = clean the
 * text, split it with the pre-tokenisation pattern, byte-pair-encode each piece, then frame the
 * ids with SOT/EOT and pad or truncate to the context length. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/text_clean.h"
#include "clipmtl/tokenizer.h"
#include "tokenizer_internal.h"

static const char SOT_TEXT[] = "<|startoftext|>", EOT_TEXT[] = "<|endoftext|>";

cm_err cm_tokenizer_default_path(char *buf, size_t size)
{
    const char *env = getenv("CLIPMTL_BPE");
    if (env && *env) {
        CM_ASSERT(strlen(env) < size, CM_ERR_ARG, "CLIPMTL_BPE is longer than %zu bytes", size);
        strcpy(buf, env);
        return CM_OK;
    }
    const char *dirs[] = {
#ifdef CM_PKGDATADIR
        CM_PKGDATADIR,
#endif
        CM_SRCDIR "/data"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int n = snprintf(buf, size, "%s/%s", dirs[i], CM_BPE_FILE_NAME);
        if (n > 0 && (size_t)n < size && access(buf, R_OK) == 0) return CM_OK;
    }
    CM_ERROR(CM_ERR_IO,
             "no BPE vocabulary " CM_BPE_FILE_NAME ": set CLIPMTL_BPE to its path, or install clipmtl"
#ifdef CM_PKGDATADIR
             " (looked in " CM_PKGDATADIR " and " CM_SRCDIR "/data)"
#else
             " (looked in " CM_SRCDIR "/data)"
#endif
    );
}

cm_err cm_tokenizer_load(cm_tokenizer **out, const char *bpe_path)
{
    char found[4096];
    *out = NULL;
    if (!bpe_path) {
        CM_CHECK(cm_tokenizer_default_path(found, sizeof found));
        bpe_path = found;
    }
    cm_tokenizer *tok;
    CM_CALLOC(tok, 1);
    cm_err err = CM_OK;
    tok->path = strdup(bpe_path);
    if (!tok->path) CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "out of memory");
    CM_CHECK_GOTO(err, cm_bpe_vocab_read(tok, bpe_path), fail);
    *out = tok;
    return CM_OK;
fail:
    cm_tokenizer_free(tok);
    return err;
}

void cm_tokenizer_free(cm_tokenizer *tok)
{
    if (!tok) return;
    cm_bpe_pairs_free(&tok->pairs);
    free(tok->path);
    free(tok);
}

const char *cm_tokenizer_path(const cm_tokenizer *tok) { return tok->path; }

/* Buffers of one call, reused from text to text. */
typedef struct {
    cm_ustr text, scratch;
    unsigned char *bytes;
    size_t bytes_cap;
    cm_bpe_work bpe;
    cm_bpe_cache cache;
    int use_cache;
    cm_id_list ids;
} encode_work;

static void encode_work_free(encode_work *w)
{
    cm_ustr_free(&w->text);
    cm_ustr_free(&w->scratch);
    free(w->bytes);
    cm_bpe_work_free(&w->bpe);
    cm_bpe_cache_free(&w->cache);
    cm_id_list_free(&w->ids);
}

/* UTF-8 bytes of text[start, start + len) into w->bytes. */
static cm_err piece_bytes(encode_work *w, const uint32_t *cp, size_t len, size_t *n)
{
    CM_ASSERT(len <= SIZE_MAX / 4, CM_ERR_MEM, "pre-token of %zu characters is too long", len);
    if (4 * len > w->bytes_cap) {
        size_t cap = w->bytes_cap ? w->bytes_cap : 256;
        while (cap < 4 * len) cap *= 2;
        unsigned char *grown = realloc(w->bytes, cap);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for a pre-token of %zu characters", len);
        w->bytes = grown;
        w->bytes_cap = cap;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) k += cm_utf8_encode(cp[i], w->bytes + k);
    *n = k;
    return CM_OK;
}

/* SimpleTokenizer.encode(text) into w->ids. */
static cm_err encode_text(const cm_tokenizer *tok, const char *text, const char *what, encode_work *w)
{
    w->ids.len = 0;
    CM_CHECK(cm_clip_clean_text(text, what, &w->text, &w->scratch));
    size_t pos = 0, start, len, n = 0;
    while (cm_clip_next_pretoken(w->text.cp, w->text.len, &pos, &start, &len)) {
        CM_CHECK(piece_bytes(w, w->text.cp + start, len, &n));
        /* The two special strings are in the BPE cache from the start in Python: they map to
         * their own ids, never to merged pieces. */
        int32_t special = 0;
        if (n == sizeof SOT_TEXT - 1 && memcmp(w->bytes, SOT_TEXT, n) == 0) special = CM_TOKEN_SOT;
        if (n == sizeof EOT_TEXT - 1 && memcmp(w->bytes, EOT_TEXT, n) == 0) special = CM_TOKEN_EOT;
        const int32_t *cached;
        size_t count;
        if (special) {
            CM_CHECK(cm_id_list_append(&w->ids, &special, 1));
        } else if (w->use_cache && cm_bpe_cache_find(&w->cache, w->bytes, n, &cached, &count)) {
            CM_CHECK(cm_id_list_append(&w->ids, cached, count));
        } else {
            size_t first = w->ids.len;
            CM_CHECK(cm_bpe_merge_word(tok, w->bytes, n, &w->bpe, &w->ids));
            if (w->use_cache) CM_CHECK(cm_bpe_cache_insert(&w->cache, w->bytes, n, w->ids.v + first, w->ids.len - first));
        }
    }
    return CM_OK;
}

/* Names a text in messages: its first bytes, cut at a character boundary, control characters
 * shown as '?' so that the message stays on one line. */
static void describe_text(char *buf, size_t size, const char *text, size_t index, int batch)
{
    enum { SHOWN = 60 };
    char shown[SHOWN + 1];
    size_t n = 0;
    while (n < SHOWN && text[n]) {
        unsigned char c = (unsigned char)text[n];
        shown[n++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    int more = text[n] != '\0';
    if (more)
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    shown[n] = '\0';
    if (batch)
        snprintf(buf, size, "text %zu \"%s%s\"", index, shown, more ? "..." : "");
    else
        snprintf(buf, size, "text \"%s%s\"", shown, more ? "..." : "");
}

/* clip.tokenize's framing of one text. */
static cm_err frame(const cm_id_list *ids, int context_length, int truncate, const char *what, int32_t *out)
{
    size_t total = ids->len + 2, ctx = (size_t)context_length;
    if (total > ctx && !truncate)
        CM_ERROR(CM_ERR_ARG, "%s is too long for context length %d: it has %zu tokens with SOT and EOT", what,
                 context_length, total);
    memset(out, 0, ctx * sizeof *out);
    out[0] = CM_TOKEN_SOT;
    size_t body = ids->len < ctx - 1 ? ids->len : ctx - 1;
    if (body) memcpy(out + 1, ids->v, body * sizeof *out);
    out[total > ctx ? ctx - 1 : total - 1] = CM_TOKEN_EOT;
    return CM_OK;
}

cm_err cm_tokenize_batch(const cm_tokenizer *tok, const char *const *utf8_texts, size_t n, int context_length,
                         int truncate, int32_t *ids)
{
    CM_ASSERT(context_length >= 1, CM_ERR_ARG, "context length must be at least 1, got %d", context_length);
    encode_work w = {.use_cache = n > 1};
    cm_err err = CM_OK;
    char what[128];
    for (size_t i = 0; i < n; i++) {
        CM_ASSERT(utf8_texts[i], CM_ERR_ARG, "text %zu is NULL", i);
        describe_text(what, sizeof what, utf8_texts[i], i, n > 1);
        CM_CHECK_GOTO(err, encode_text(tok, utf8_texts[i], what, &w), done);
        CM_CHECK_GOTO(err, frame(&w.ids, context_length, truncate, what, ids + i * (size_t)context_length), done);
    }
done:
    encode_work_free(&w);
    return err;
}

cm_err cm_tokenize(const cm_tokenizer *tok, const char *utf8_text, int context_length, int truncate, int32_t *ids)
{
    CM_CHECK(cm_tokenize_batch(tok, &utf8_text, 1, context_length, truncate, ids));
    return CM_OK;
}

cm_err cm_tokenizer_encode(const cm_tokenizer *tok, const char *utf8_text, int32_t **ids, size_t *count)
{
    encode_work w = {0};
    char what[128];
    cm_err err = CM_OK;
    *ids = NULL;
    *count = 0;
    describe_text(what, sizeof what, utf8_text, 0, 0);
    CM_CHECK_GOTO(err, encode_text(tok, utf8_text, what, &w), done);
    *ids = w.ids.v ? w.ids.v : malloc(sizeof **ids);
    if (!*ids) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    *count = w.ids.len;
    w.ids = (cm_id_list){0};
done:
    encode_work_free(&w);
    return err;
}
