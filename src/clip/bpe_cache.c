/* Word cache of a tokenizing call: class prompts repeat the same few words ("a", "photo", "of"),
 * so each distinct pre-token is merged once. Keys and ids live in two pools; the open-addressed
 * index stores entry numbers. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

/* Bounds the memory of a call over an endless stream of distinct words; longer words are rare
 * and cheap to merge again. */
#define CM_BPE_CACHE_MAX_BYTES ((size_t)64 << 20)
#define CM_BPE_CACHE_MAX_WORD 64

struct cm_bpe_cache_entry {
    uint64_t hash;
    uint32_t key_offset, key_len, ids_offset, ids_len;
};

static uint64_t hash_word(const unsigned char *b, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

void cm_bpe_cache_free(cm_bpe_cache *c)
{
    free(c->slot_entry);
    free(c->entries);
    free(c->key_bytes);
    cm_id_list_free(&c->ids);
    *c = (cm_bpe_cache){0};
}

static const struct cm_bpe_cache_entry *lookup(const cm_bpe_cache *c, const unsigned char *b, size_t n,
                                               uint64_t h, size_t *slot)
{
    for (size_t s = h & c->slot_mask;; s = (s + 1) & c->slot_mask) {
        uint32_t e = c->slot_entry[s];
        *slot = s;
        if (e == 0) return NULL;
        const struct cm_bpe_cache_entry *entry = &c->entries[e - 1];
        if (entry->hash == h && entry->key_len == n && memcmp(c->key_bytes + entry->key_offset, b, n) == 0)
            return entry;
    }
}

int cm_bpe_cache_find(const cm_bpe_cache *c, const unsigned char *bytes, size_t n, const int32_t **ids,
                      size_t *count)
{
    if (!c->slot_entry || n > CM_BPE_CACHE_MAX_WORD) return 0;
    size_t slot;
    const struct cm_bpe_cache_entry *e = lookup(c, bytes, n, hash_word(bytes, n), &slot);
    if (!e) return 0;
    *ids = c->ids.v + e->ids_offset;
    *count = e->ids_len;
    return 1;
}

static cm_err rehash(cm_bpe_cache *c, size_t slots)
{
    uint32_t *index = calloc(slots, sizeof *index);
    CM_ASSERT(index, CM_ERR_MEM, "out of memory for a word cache of %zu slots", slots);
    for (size_t e = 0; e < c->count; e++) {
        size_t s = c->entries[e].hash & (slots - 1);
        while (index[s]) s = (s + 1) & (slots - 1);
        index[s] = (uint32_t)(e + 1);
    }
    free(c->slot_entry);
    c->slot_entry = index;
    c->slot_mask = slots - 1;
    return CM_OK;
}

cm_err cm_bpe_cache_insert(cm_bpe_cache *c, const unsigned char *bytes, size_t n, const int32_t *ids,
                           size_t count)
{
    if (n > CM_BPE_CACHE_MAX_WORD || c->key_len + c->ids.len * sizeof(int32_t) > CM_BPE_CACHE_MAX_BYTES)
        return CM_OK;
    if (!c->slot_entry) CM_CHECK(rehash(c, 1024));
    if (2 * (c->count + 1) > c->slot_mask + 1) CM_CHECK(rehash(c, 2 * (c->slot_mask + 1)));
    uint64_t h = hash_word(bytes, n);
    size_t slot;
    if (lookup(c, bytes, n, h, &slot)) return CM_OK;
    if (c->count == c->entries_cap) {
        size_t cap = c->entries_cap ? 2 * c->entries_cap : 512;
        struct cm_bpe_cache_entry *grown = realloc(c->entries, cap * sizeof *grown);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for a word cache of %zu words", cap);
        c->entries = grown;
        c->entries_cap = cap;
    }
    if (c->key_len + n > c->key_cap) {
        size_t cap = c->key_cap ? c->key_cap : 4096;
        while (cap < c->key_len + n) cap *= 2;
        unsigned char *grown = realloc(c->key_bytes, cap);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for a word cache of %zu bytes", cap);
        c->key_bytes = grown;
        c->key_cap = cap;
    }
    struct cm_bpe_cache_entry *e = &c->entries[c->count];
    *e = (struct cm_bpe_cache_entry){h, (uint32_t)c->key_len, (uint32_t)n, (uint32_t)c->ids.len, (uint32_t)count};
    memcpy(c->key_bytes + c->key_len, bytes, n);
    c->key_len += n;
    CM_CHECK(cm_id_list_append(&c->ids, ids, count));
    c->slot_entry[slot] = (uint32_t)++c->count;
    return CM_OK;
}
