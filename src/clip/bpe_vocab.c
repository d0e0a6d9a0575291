/* Reads CLIP's merges file (bpe_simple_vocab_16e6.txt.gz) into vocabulary ids and a table of
 * merge ranks, following SimpleTokenizer.__init__:
 *   vocab = 256 byte symbols (bytes_to_unicode order), the same with "</w>", the 48894 merge
 *   results, "<|startoftext|>", "<|endoftext|>";  encoder = {string: index} (a repeated string
 *   keeps its last index);  bpe_ranks = {(left, right): line - 1} for lines 1..48894.
 * Symbols are handled as the raw bytes they stand for: bytes_to_unicode is a bijection, so
 * string identity is unchanged. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "clipmtl/text_clean.h"
#include "tokenizer_internal.h"
#include "unicode_tables.h"

enum { LINE_MAX_BYTES = 1024, READ_CHUNK = 1 << 16, END_MARK_LEN = 4 };
static const char END_MARK[] = "</w>";

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 for 256 + n in
 * increasing byte order. order[k] is the byte of vocabulary entry k. */
static int byte_is_printable(unsigned b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

static void byte_tables(uint32_t char_of_byte[256], unsigned char order[256])
{
    unsigned n_printable = 0, n_other = 0;
    for (unsigned b = 0; b < 256; b++)
        if (byte_is_printable(b)) n_printable++;
    for (unsigned b = 0; b < 256; b++) {
        if (byte_is_printable(b)) {
            char_of_byte[b] = b;
        } else {
            char_of_byte[b] = 256 + n_other;
            order[n_printable + n_other] = (unsigned char)b;
            n_other++;
        }
    }
    for (unsigned b = 0, k = 0; b < 256; b++)
        if (byte_is_printable(b)) order[k++] = (unsigned char)b;
}

/* ---- byte strings of the vocabulary and their canonical ids ---- */

typedef struct {
    unsigned char *bytes;
    size_t len, cap;
    uint32_t *offset, *length; /* per vocabulary entry */
    int32_t *slot_id;          /* hash slots: entry id, -1 empty */
    size_t slot_mask;
} string_table;

static uint64_t hash_bytes(const unsigned char *b, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int32_t string_find(const string_table *t, const unsigned char *b, size_t n)
{
    for (size_t s = hash_bytes(b, n) & t->slot_mask;; s = (s + 1) & t->slot_mask) {
        int32_t id = t->slot_id[s];
        if (id < 0) return -1;
        if (t->length[id] == n && memcmp(t->bytes + t->offset[id], b, n) == 0) return id;
    }
}

/* Adds entry `id` (ids arrive in increasing order); a string seen before now maps to `id`. */
static cm_err string_add(string_table *t, int32_t id, const unsigned char *b, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 20;
        while (cap < t->len + n) cap *= 2;
        unsigned char *grown = realloc(t->bytes, cap);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for the vocabulary strings (%zu bytes)", cap);
        t->bytes = grown;
        t->cap = cap;
    }
    memcpy(t->bytes + t->len, b, n);
    t->offset[id] = (uint32_t)t->len;
    t->length[id] = (uint32_t)n;
    t->len += n;
    for (size_t s = hash_bytes(b, n) & t->slot_mask;; s = (s + 1) & t->slot_mask) {
        int32_t old = t->slot_id[s];
        if (old < 0 || (t->length[old] == n && memcmp(t->bytes + t->offset[old], b, n) == 0)) {
            t->slot_id[s] = id;
            return CM_OK;
        }
    }
}

static void string_table_free(string_table *t)
{
    free(t->bytes);
    free(t->offset);
    free(t->length);
    free(t->slot_id);
}

/* ---- the gzip file, line by line ---- */

typedef struct {
    gzFile f;
    const char *path;
    unsigned char *buf;
    size_t pos, len;
    long line; /* lines returned so far: the 1-based number of the last one */
} line_reader;

/* Refills the buffer; sets *got to the number of bytes read (0 at the end). zlib reports a
 * truncated stream as an end of file with Z_BUF_ERROR pending, so the end is checked too. */
static cm_err refill(line_reader *r, size_t *got)
{
    int n = gzread(r->f, r->buf, READ_CHUNK), code;
    const char *msg = gzerror(r->f, &code);
    if (n < 0 || code != Z_OK) {
        size_t path_len = strlen(r->path);
        if (strncmp(msg, r->path, path_len) == 0 && strncmp(msg + path_len, ": ", 2) == 0) msg += path_len + 2;
        CM_ERROR(CM_ERR_FORMAT, "%s: corrupt gzip data after line %ld: %s", r->path, r->line,
                 code == Z_ERRNO ? "read error" : msg);
    }
    r->pos = 0;
    r->len = (size_t)n;
    *got = r->len;
    return CM_OK;
}

/* Next line without its '\n' into line[0..*n); *more = 0 at the end of the file. */
static cm_err next_line(line_reader *r, unsigned char *line, size_t *n, int *more)
{
    size_t used = 0;
    for (;;) {
        if (r->pos == r->len) {
            size_t got = 0;
            CM_CHECK(refill(r, &got));
            if (got == 0) {
                *n = used;
                *more = used > 0; /* a last line without '\n' still counts, as in str.split */
                r->line += *more;
                return CM_OK;
            }
        }
        unsigned char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        size_t take = (nl ? (size_t)(nl - (r->buf + r->pos)) : r->len - r->pos);
        CM_ASSERT(used + take <= LINE_MAX_BYTES, CM_ERR_FORMAT, "%s:%ld: line longer than %d bytes", r->path,
                  r->line + 1, LINE_MAX_BYTES);
        memcpy(line + used, r->buf + r->pos, take);
        used += take;
        r->pos += take;
        if (nl) {
            r->pos++;
            *n = used;
            *more = 1;
            r->line++;
            return CM_OK;
        }
    }
}

/* Decodes one merge line into its two symbols as raw bytes: UTF-8, split on white space as
 * str.split() does, each character mapped back through bytes_to_unicode. */
static cm_err parse_merge(const line_reader *r, const unsigned char *line, size_t n, const int byte_of_char[324],
                          unsigned char sym[2][LINE_MAX_BYTES], size_t sym_len[2])
{
    char what[4200];
    snprintf(what, sizeof what, "%s:%ld", r->path, r->line);
    cm_ustr text = {0};
    cm_err err = CM_OK;
    int fields = 0;
    CM_CHECK_GOTO(err, cm_utf8_decode((const char *)line, n, CM_UTF8_STRICT, what, &text), done);
    for (size_t i = 0; i < text.len;) {
        if (cm_uni_is_py_space(text.cp[i])) {
            i++;
            continue;
        }
        if (fields == 2)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: a merge line has two symbols, this one has more", what);
        size_t len = 0;
        for (; i < text.len && !cm_uni_is_py_space(text.cp[i]); i++) {
            uint32_t c = text.cp[i];
            if (c >= 324 || byte_of_char[c] < 0)
                CM_ERROR_GOTO(err, done, CM_ERR_FORMAT,
                              "%s: character U+%04X of symbol %d is not one of the 256 byte characters", what, c,
                              fields + 1);
            sym[fields][len++] = (unsigned char)byte_of_char[c];
        }
        sym_len[fields++] = len;
    }
    if (fields != 2)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: a merge line has two symbols, this one has %d", what, fields);
done:
    cm_ustr_free(&text);
    return err;
}

static cm_err pairs_create(cm_bpe_pairs *p, size_t count)
{
    size_t cap = 1;
    while (cap < 2 * count) cap *= 2;
    p->mask = cap - 1;
    CM_CALLOC(p->keys, cap);
    CM_CALLOC(p->rank, cap);
    CM_CALLOC(p->merged, cap);
    for (size_t i = 0; i < cap; i++) p->keys[i] = CM_BPE_NO_PAIR;
    return CM_OK;
}

/* bpe_ranks is a dict: a pair listed twice keeps its last rank. */
static void pairs_put(cm_bpe_pairs *p, int32_t left, int32_t right, uint32_t rank, int32_t merged)
{
    uint64_t key = cm_bpe_pair_key(left, right);
    size_t s = cm_bpe_pair_slot(key, p->mask);
    while (p->keys[s] != CM_BPE_NO_PAIR && p->keys[s] != key) s = (s + 1) & p->mask;
    p->keys[s] = key;
    p->rank[s] = rank;
    p->merged[s] = merged;
}

void cm_bpe_pairs_free(cm_bpe_pairs *p)
{
    free(p->keys);
    free(p->rank);
    free(p->merged);
    memset(p, 0, sizeof *p);
}

/* The merge lines are needed first to know every vocabulary string (a rule may name a symbol
 * that a later line creates), so they are kept as (left, right) spans of the string table. */
typedef struct {
    uint32_t left_offset, left_len, right_len;
} merge_line;

static cm_err read_merges(line_reader *r, string_table *strings, merge_line *merges, const int byte_of_char[324])
{
    unsigned char line[LINE_MAX_BYTES], sym[2][LINE_MAX_BYTES], joined[2 * LINE_MAX_BYTES];
    size_t n, sym_len[2];
    int more;
    CM_CHECK(next_line(r, line, &n, &more));
    CM_ASSERT(more, CM_ERR_FORMAT, "%s: empty file, expected a header line and %d merges", r->path, CM_BPE_MERGES);
    for (int i = 0; i < CM_BPE_MERGES; i++) {
        CM_CHECK(next_line(r, line, &n, &more));
        CM_ASSERT(more, CM_ERR_FORMAT, "%s: the file ends after %d merge lines, expected %d", r->path, i,
                  CM_BPE_MERGES);
        CM_CHECK(parse_merge(r, line, n, byte_of_char, sym, sym_len));
        memcpy(joined, sym[0], sym_len[0]);
        memcpy(joined + sym_len[0], sym[1], sym_len[1]);
        merges[i].left_offset = (uint32_t)strings->len;
        merges[i].left_len = (uint32_t)sym_len[0];
        merges[i].right_len = (uint32_t)sym_len[1];
        CM_CHECK(string_add(strings, 512 + i, joined, sym_len[0] + sym_len[1]));
    }
    return CM_OK;
}

/* Reads the rest of the stream so that zlib verifies its length and CRC: a file corrupted after
 * the lines CLIP uses is still reported. */
static cm_err drain(line_reader *r)
{
    size_t got = 0;
    do CM_CHECK(refill(r, &got));
    while (got > 0);
    return CM_OK;
}

static cm_err symbol_id(const string_table *strings, const line_reader *r, int line, const unsigned char *b,
                        size_t n, int32_t *id)
{
    *id = string_find(strings, b, n);
    CM_ASSERT(*id >= 0, CM_ERR_FORMAT, "%s:%d: merge symbol \"%.*s\" is not in the vocabulary", r->path, line,
              (int)n, (const char *)b);
    return CM_OK;
}

cm_err cm_bpe_vocab_read(cm_tokenizer *tok, const char *path)
{
    uint32_t char_of_byte[256];
    unsigned char order[256];
    int byte_of_char[324];
    byte_tables(char_of_byte, order);
    for (int c = 0; c < 324; c++) byte_of_char[c] = -1;
    for (int b = 0; b < 256; b++) byte_of_char[char_of_byte[b]] = b;

    cm_err err = CM_OK;
    string_table strings = {0};
    merge_line *merges = NULL;
    line_reader r = {.path = path};
    r.f = gzopen(path, "rb");
    if (!r.f) CM_ERROR(CM_ERR_IO, "cannot open the BPE vocabulary %s", path);
    r.buf = malloc(READ_CHUNK);
    merges = calloc(CM_BPE_MERGES, sizeof *merges);
    strings.offset = calloc(CM_VOCAB_SIZE, sizeof *strings.offset);
    strings.length = calloc(CM_VOCAB_SIZE, sizeof *strings.length);
    strings.slot_mask = (1u << 17) - 1; /* > 2 x CM_VOCAB_SIZE */
    strings.slot_id = malloc((strings.slot_mask + 1) * sizeof *strings.slot_id);
    if (!r.buf || !merges || !strings.offset || !strings.length || !strings.slot_id)
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory reading %s", path);
    for (size_t s = 0; s <= strings.slot_mask; s++) strings.slot_id[s] = -1;

    for (int k = 0; k < 256; k++) CM_CHECK_GOTO(err, string_add(&strings, k, &order[k], 1), done);
    for (int k = 0; k < 256; k++) {
        unsigned char b[1 + END_MARK_LEN] = {order[k]};
        memcpy(b + 1, END_MARK, END_MARK_LEN);
        CM_CHECK_GOTO(err, string_add(&strings, 256 + k, b, sizeof b), done);
    }
    CM_CHECK_GOTO(err, read_merges(&r, &strings, merges, byte_of_char), done);
    CM_CHECK_GOTO(err, string_add(&strings, CM_TOKEN_SOT, (const unsigned char *)"<|startoftext|>", 15), done);
    CM_CHECK_GOTO(err, string_add(&strings, CM_TOKEN_EOT, (const unsigned char *)"<|endoftext|>", 13), done);
    CM_CHECK_GOTO(err, drain(&r), done);

    for (int b = 0; b < 256; b++) {
        unsigned char s[1 + END_MARK_LEN] = {(unsigned char)b};
        memcpy(s + 1, END_MARK, END_MARK_LEN);
        tok->byte_symbol[b] = string_find(&strings, s, 1);
        tok->byte_end_symbol[b] = string_find(&strings, s, sizeof s);
    }
    CM_CHECK_GOTO(err, pairs_create(&tok->pairs, CM_BPE_MERGES), done);
    for (int i = 0; i < CM_BPE_MERGES; i++) {
        const unsigned char *left = strings.bytes + merges[i].left_offset;
        int32_t left_id, right_id, merged_id = string_find(&strings, left, merges[i].left_len + merges[i].right_len);
        CM_CHECK_GOTO(err, symbol_id(&strings, &r, i + 2, left, merges[i].left_len, &left_id), done);
        CM_CHECK_GOTO(err, symbol_id(&strings, &r, i + 2, left + merges[i].left_len, merges[i].right_len, &right_id),
                      done);
        pairs_put(&tok->pairs, left_id, right_id, (uint32_t)i, merged_id);
    }
done:
    gzclose(r.f);
    free(r.buf);
    free(merges);
    string_table_free(&strings);
    return err;
}
