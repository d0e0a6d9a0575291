/* CLIP's pre-tokenisation: the alternatives of the pattern are tried in order at each position,
 * as the `regex` module does. Each alternative is a literal or a greedy run over one character
 * class, so no backtracking is ever needed. */
#include "tokenizer_internal.h"
#include "unicode_tables.h"

enum { LONG_S = 0x17F };

/* A pattern letter against a text character under IGNORECASE (simple case folding): ASCII
 * letters match both cases, and 's' also matches U+017F LATIN SMALL LETTER LONG S. The other
 * letters of the pattern have no non-ASCII case variants (checked against regex 2026.5.9). */
static int literal_matches(char pattern, uint32_t c)
{
    uint32_t p = (unsigned char)pattern;
    if (c == p) return 1;
    if (p >= 'a' && p <= 'z') return c == p - 32 || (p == 's' && c == LONG_S);
    return 0;
}

static size_t match_literal(const uint32_t *text, size_t n, size_t pos, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++)
        if (pos + k >= n || !literal_matches(lit[k], text[pos + k])) return 0;
    return k;
}

static int is_symbol(uint32_t c)
{
    return !cm_uni_is_white_space(c) && !cm_uni_is_letter(c) && !cm_uni_is_number(c) &&
           !cm_uni_is_pretok_unmatched(c);
}

int cm_clip_next_pretoken(const uint32_t *text, size_t n, size_t *pos, size_t *start, size_t *len)
{
    static const char *const literals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve",
                                           "'m", "'ll", "'d"};
    for (size_t p = *pos; p < n; p++) {
        uint32_t c = text[p];
        size_t m = 0;
        if (c == '<' || c == '\'')
            for (size_t k = 0; k < sizeof literals / sizeof literals[0] && !m; k++)
                m = match_literal(text, n, p, literals[k]);
        if (!m) {
            if (cm_uni_is_letter(c)) {
                m = 1;
                while (p + m < n && cm_uni_is_letter(text[p + m])) m++;
            } else if (cm_uni_is_number(c)) {
                m = 1;
            } else if (is_symbol(c)) {
                m = 1;
                while (p + m < n && is_symbol(text[p + m])) m++;
            }
        }
        if (m) {
            *start = p;
            *len = m;
            *pos = p + m;
            return 1;
        }
    }
    *pos = n;
    return 0;
}
