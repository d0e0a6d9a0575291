/* SimpleTokenizer.bpe() for one pre-token. Python repeatedly takes the adjacent pair with the
 * lowest merge rank and merges all its occurrences in one left-to-right pass. Here the word is a
 * linked list of symbols and the candidate pairs sit in a heap ordered by (rank, position): a
 * pass pops every candidate of the lowest rank (in position order), skips the stale ones and
 * merges the rest, then queues the pairs the merges created. That is the same sequence of merges
 * as Python's in O(n log n) rather than O(n^2), which matters for long runs of letters. */
#include <stdlib.h>

#include "tokenizer_internal.h"

struct cm_bpe_candidate {
    uint32_t rank, pos; /* pos: index of the left symbol */
    int32_t left, right, merged;
};

enum { END = UINT32_MAX };

cm_err cm_id_list_append(cm_id_list *l, const int32_t *ids, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap < l->len + n) cap *= 2;
        int32_t *grown = realloc(l->v, cap * sizeof *grown);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %zu token ids", cap);
        l->v = grown;
        l->cap = cap;
    }
    for (size_t i = 0; i < n; i++) l->v[l->len + i] = ids[i];
    l->len += n;
    return CM_OK;
}

void cm_id_list_free(cm_id_list *l)
{
    free(l->v);
    l->v = NULL;
    l->len = l->cap = 0;
}

void cm_bpe_work_free(cm_bpe_work *w)
{
    free(w->symbol);
    free(w->next);
    free(w->prev);
    free(w->heap);
    free(w->pass);
    *w = (cm_bpe_work){0};
}

static cm_err grow(void **array, size_t count, size_t size)
{
    void *grown = realloc(*array, count * size);
    CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %zu symbols of a word", count);
    *array = grown;
    return CM_OK;
}

/* Room for a word of n bytes: its symbols, and as many merge candidates to start with. */
static cm_err reserve(cm_bpe_work *w, size_t n)
{
    if (n <= w->symbol_cap) return CM_OK;
    CM_ASSERT(n < END, CM_ERR_ARG, "a word of %zu bytes is too long to encode", n);
    size_t cap = w->symbol_cap ? w->symbol_cap : 64;
    while (cap < n) cap *= 2;
    CM_CHECK(grow((void **)&w->symbol, cap, sizeof *w->symbol));
    CM_CHECK(grow((void **)&w->next, cap, sizeof *w->next));
    CM_CHECK(grow((void **)&w->prev, cap, sizeof *w->prev));
    w->symbol_cap = cap;
    if (cap > w->heap_cap) {
        CM_CHECK(grow((void **)&w->heap, cap, sizeof *w->heap));
        w->heap_cap = cap;
    }
    if (cap > w->pass_cap) {
        CM_CHECK(grow((void **)&w->pass, cap, sizeof *w->pass));
        w->pass_cap = cap;
    }
    return CM_OK;
}

static int before(const struct cm_bpe_candidate *a, const struct cm_bpe_candidate *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static cm_err heap_push(cm_bpe_work *w, struct cm_bpe_candidate c)
{
    if (w->heap_len == w->heap_cap) {
        size_t cap = 2 * w->heap_cap;
        struct cm_bpe_candidate *grown = realloc(w->heap, cap * sizeof *grown);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %zu merge candidates", cap);
        w->heap = grown;
        w->heap_cap = cap;
    }
    size_t i = w->heap_len++;
    while (i > 0 && before(&c, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
    return CM_OK;
}

static struct cm_bpe_candidate heap_pop(cm_bpe_work *w)
{
    struct cm_bpe_candidate top = w->heap[0], last = w->heap[--w->heap_len];
    size_t i = 0, n = w->heap_len;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && before(&w->heap[child + 1], &w->heap[child])) child++;
        if (!before(&w->heap[child], &last)) break;
        w->heap[i] = w->heap[child];
        i = child;
    }
    if (n > 0) w->heap[i] = last;
    return top;
}

/* Queues the pair starting at symbol `pos` if the merges have a rule for it. */
static cm_err queue_pair(const cm_tokenizer *tok, cm_bpe_work *w, uint32_t pos)
{
    uint32_t right_pos = w->next[pos];
    if (right_pos == END) return CM_OK;
    struct cm_bpe_candidate c = {.pos = pos, .left = w->symbol[pos], .right = w->symbol[right_pos]};
    uint32_t rank1 = cm_bpe_pair_find(&tok->pairs, c.left, c.right, &c.merged);
    if (!rank1) return CM_OK;
    c.rank = rank1 - 1;
    return heap_push(w, c);
}

cm_err cm_bpe_merge_word(const cm_tokenizer *tok, const unsigned char *bytes, size_t n, cm_bpe_work *w,
                         cm_id_list *out)
{
    CM_ASSERT(n >= 1, CM_ERR_INTERNAL, "empty pre-token");
    CM_CHECK(reserve(w, n));
    for (size_t i = 0; i < n; i++) {
        w->symbol[i] = i + 1 < n ? tok->byte_symbol[bytes[i]] : tok->byte_end_symbol[bytes[i]];
        w->next[i] = i + 1 < n ? (uint32_t)(i + 1) : END;
        w->prev[i] = i > 0 ? (uint32_t)(i - 1) : END;
    }
    w->heap_len = 0;
    for (size_t i = 0; i + 1 < n; i++) CM_CHECK(queue_pair(tok, w, (uint32_t)i));

    while (w->heap_len > 0) {
        uint32_t rank = w->heap[0].rank;
        size_t pass_len = 0;
        while (w->heap_len > 0 && w->heap[0].rank == rank) {
            if (pass_len == w->pass_cap) {
                size_t cap = 2 * w->pass_cap;
                struct cm_bpe_candidate *grown = realloc(w->pass, cap * sizeof *grown);
                CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %zu merge candidates", cap);
                w->pass = grown;
                w->pass_cap = cap;
            }
            w->pass[pass_len++] = heap_pop(w);
        }
        for (size_t k = 0; k < pass_len; k++) {
            const struct cm_bpe_candidate *c = &w->pass[k];
            uint32_t p = c->pos, q = w->next[p];
            /* Stale: an earlier merge of this pass (overlapping occurrence, as in "a a a") or of
             * an earlier pass changed one of the two symbols. */
            if (w->symbol[p] != c->left || q == END || w->symbol[q] != c->right) continue;
            w->symbol[p] = c->merged;
            w->symbol[q] = -1;
            w->next[p] = w->next[q];
            if (w->next[q] != END) w->prev[w->next[q]] = p;
            if (w->prev[p] != END) CM_CHECK(queue_pair(tok, w, w->prev[p]));
            CM_CHECK(queue_pair(tok, w, p));
        }
    }
    size_t count = 0;
    for (uint32_t p = 0; p != END; p = w->next[p]) w->symbol[count++] = w->symbol[p];
    return cm_id_list_append(out, w->symbol, count);
}
