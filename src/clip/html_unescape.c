/* html.unescape() of Python 3.11 (Lib/html/__init__.py), on code points. Python replaces every
 * match of
 *     &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
 * scanning left to right, and does not rescan replacements (CLIP calls it twice for that). */
#include <string.h>

#include "clipmtl/text_clean.h"
#include "html_entities.h"

enum { REPLACEMENT_CHARACTER = 0xFFFD, BEYOND_UNICODE = 0x110000 };

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }

static int hex_value(uint32_t c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* Characters a named reference cannot contain. */
static int ends_name(uint32_t c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

/* Python's _replace_charref for a number: remapped references first, then surrogates and
 * values beyond Unicode become U+FFFD, then the invalid code points vanish. */
static cm_err append_charref(cm_ustr *out, uint32_t num)
{
    for (size_t i = 0; i < cm_html_remapped_charrefs_count; i++)
        if (cm_html_remapped_charrefs[i].number == num)
            return cm_ustr_append(out, &cm_html_remapped_charrefs[i].replacement, 1);
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        uint32_t r = REPLACEMENT_CHARACTER;
        return cm_ustr_append(out, &r, 1);
    }
    size_t lo = 0, hi = cm_html_dropped_codepoints_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (num < cm_html_dropped_codepoints[mid])
            hi = mid;
        else if (num > cm_html_dropped_codepoints[mid])
            lo = mid + 1;
        else
            return CM_OK;
    }
    return cm_ustr_append(out, &num, 1);
}

/* Compares a code point string with an ASCII name in the byte order the table is sorted in. */
static int compare_name(const uint32_t *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (unsigned char)name[i];
        if (c == 0) return 1;
        if (s[i] != c) return s[i] < c ? -1 : 1;
    }
    return name[n] ? -1 : 0;
}

const cm_html_entity *cm_html_entity_search(const cm_html_entity *table, size_t count, const uint32_t *s, size_t n)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_name(s, n, table[mid].name);
        if (c < 0)
            hi = mid;
        else if (c > 0)
            lo = mid + 1;
        else
            return &table[mid];
    }
    return NULL;
}

const cm_html_entity *cm_html_find_entity(const uint32_t *s, size_t n)
{
    return cm_html_entity_search(cm_html_entities, cm_html_entities_count, s, n);
}

/* A numeric reference starting at in[i] == '#': returns the length matched after '&' (0 if
 * none) and the value, saturated beyond Unicode. */
static size_t match_number(const uint32_t *in, size_t n, size_t i, uint32_t *value)
{
    size_t k = i + 1;
    uint32_t v = 0;
    if (k < n && is_digit(in[k])) {
        for (; k < n && is_digit(in[k]); k++) v = v >= BEYOND_UNICODE ? BEYOND_UNICODE : v * 10 + (in[k] - '0');
    } else if (k + 1 < n && (in[k] == 'x' || in[k] == 'X') && hex_value(in[k + 1]) >= 0) {
        for (k++; k < n && hex_value(in[k]) >= 0; k++)
            v = v >= BEYOND_UNICODE ? BEYOND_UNICODE : v * 16 + (uint32_t)hex_value(in[k]);
    } else {
        return 0;
    }
    if (k < n && in[k] == ';') k++;
    *value = v > BEYOND_UNICODE ? BEYOND_UNICODE : v;
    return k - i;
}

cm_err cm_html_unescape(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, in->len));
    size_t i = 0, n = in->len;
    const uint32_t *s = in->cp;
    while (i < n) {
        size_t plain = i;
        while (plain < n && s[plain] != '&') plain++;
        CM_CHECK(cm_ustr_append(out, s + i, plain - i));
        if (plain == n) break;
        i = plain + 1; /* just after '&' */
        if (i < n && s[i] == '#') {
            uint32_t value;
            size_t len = match_number(s, n, i, &value);
            if (len) {
                CM_CHECK(append_charref(out, value));
                i += len;
            } else {
                CM_CHECK(cm_ustr_append(out, s + i - 1, 1));
            }
            continue;
        }
        size_t end = i;
        while (end < n && end - i < 32 && !ends_name(s[end])) end++;
        if (end == i) { /* a lone '&' */
            CM_CHECK(cm_ustr_append(out, s + i - 1, 1));
            continue;
        }
        size_t len = end - i + (end < n && s[end] == ';'); /* the reference, with its ';' if any */
        const cm_html_entity *e = cm_html_find_entity(s + i, len);
        size_t used = len;
        /* Otherwise the longest prefix of at least two characters that is a name (only the
         * legacy names without ';' can match here). */
        for (size_t x = len - 1; !e && x >= 2; x--) {
            e = cm_html_find_entity(s + i, x);
            used = x;
        }
        if (e) {
            CM_CHECK(cm_ustr_append(out, e->value, e->len));
            CM_CHECK(cm_ustr_append(out, s + i + used, len - used));
        } else {
            CM_CHECK(cm_ustr_append(out, s + i - 1, len + 1));
        }
        i += len;
    }
    return CM_OK;
}
