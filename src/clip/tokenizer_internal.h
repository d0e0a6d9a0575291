/* Internals of the tokenizer shared by its files in src/clip: the loaded vocabulary
 * (bpe_vocab.c), the merge loop (bpe_merge.c), the per-batch word cache (bpe_cache.c) and the
 * pre-tokeniser (pretokenize.c). */
#ifndef CLIPMTL_TOKENIZER_INTERNAL_H
#define CLIPMTL_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"
#include "clipmtl/tokenizer.h"

/* Symbols are vocabulary ids. A merge rule (left, right) -> merged has a rank (its line number
 * minus one); the pair table is open-addressed on the packed (left, right) key. */
typedef struct {
    uint64_t *keys; /* CM_BPE_NO_PAIR marks an empty slot */
    uint32_t *rank;
    int32_t *merged;
    size_t mask; /* capacity - 1, capacity a power of two */
} cm_bpe_pairs;

#define CM_BPE_NO_PAIR UINT64_MAX

struct cm_tokenizer {
    char *path;
    int32_t byte_symbol[256];     /* id of the symbol made of one byte */
    int32_t byte_end_symbol[256]; /* id of one byte followed by "</w>" (a word's last symbol) */
    cm_bpe_pairs pairs;
};

static inline uint64_t cm_bpe_pair_key(int32_t left, int32_t right)
{
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

static inline size_t cm_bpe_pair_slot(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

/* Looks up the merge rule (left, right): returns its rank + 1 and sets *merged, or returns 0
 * (and leaves *merged alone) if the pair has no rule. */
static inline uint32_t cm_bpe_pair_find(const cm_bpe_pairs *p, int32_t left, int32_t right, int32_t *merged)
{
    uint64_t key = cm_bpe_pair_key(left, right);
    for (size_t s = cm_bpe_pair_slot(key, p->mask);; s = (s + 1) & p->mask) {
        if (p->keys[s] == key) {
            *merged = p->merged[s];
            return p->rank[s] + 1;
        }
        if (p->keys[s] == CM_BPE_NO_PAIR) return 0;
    }
}

/* bpe_vocab.c: fills byte_symbol, byte_end_symbol and pairs from the merges file. */
cm_err cm_bpe_vocab_read(cm_tokenizer *tok, const char *path);
void cm_bpe_pairs_free(cm_bpe_pairs *p);

/* Growable id list. */
typedef struct {
    int32_t *v;
    size_t len, cap;
} cm_id_list;
cm_err cm_id_list_append(cm_id_list *l, const int32_t *ids, size_t n);
void cm_id_list_free(cm_id_list *l);

/* bpe_merge.c: buffers of the merge loop, kept between words. Zero-initialise. */
typedef struct {
    int32_t *symbol;
    uint32_t *next, *prev;
    size_t symbol_cap;
    struct cm_bpe_candidate *heap;
    size_t heap_len, heap_cap;
    struct cm_bpe_candidate *pass;
    size_t pass_cap;
} cm_bpe_work;
void cm_bpe_work_free(cm_bpe_work *w);
/* simple_tokenizer.bpe() of one pre-token given as its UTF-8 bytes (n >= 1): appends the ids. */
cm_err cm_bpe_merge_word(const cm_tokenizer *tok, const unsigned char *bytes, size_t n, cm_bpe_work *w,
                         cm_id_list *out);

/* bpe_cache.c: pre-token bytes -> ids, filled as words are encoded. Zero-initialise. */
typedef struct {
    uint32_t *slot_entry; /* index + 1 into the entries, 0 = empty */
    size_t slot_mask;
    struct cm_bpe_cache_entry *entries;
    size_t count, entries_cap;
    unsigned char *key_bytes;
    size_t key_len, key_cap;
    cm_id_list ids;
} cm_bpe_cache;
void cm_bpe_cache_free(cm_bpe_cache *c);
/* Returns 1 and the cached ids (valid until the next insert) if the word is known. */
int cm_bpe_cache_find(const cm_bpe_cache *c, const unsigned char *bytes, size_t n, const int32_t **ids,
                      size_t *count);
/* Remembers a word; silently keeps nothing once the cache holds CM_BPE_CACHE_MAX_BYTES. */
cm_err cm_bpe_cache_insert(cm_bpe_cache *c, const unsigned char *bytes, size_t n, const int32_t *ids,
                           size_t count);

/* pretokenize.c: the next match of CLIP's pre-tokenisation pattern
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * (regex module, IGNORECASE) in text[*pos..n). Returns 1 and the match [*start, *start + *len),
 * advancing *pos past it, or 0 when no match is left. */
int cm_clip_next_pretoken(const uint32_t *text, size_t n, size_t *pos, size_t *start, size_t *len);

#endif
