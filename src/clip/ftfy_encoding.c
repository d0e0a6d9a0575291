/* ftfy.fix_encoding (ftfy 6.x, default settings): repairs mojibake, text that was encoded as UTF-8
 * and decoded with a single-byte code page. A step of the repair, repeated until it changes
 * nothing:
 *   - ASCII text, and text the heuristic does not find bad, stay as they are;
 *   - for each code page in ftfy's order that can encode the whole text: encode it, put back the
 *     0xA0 bytes that became spaces (restore_byte_a0, not for Mac Roman), turn the traces of lost
 *     bytes (0x1A for U+FFFD, '?') into U+FFFD (replace_lossy_sequences, sloppy code pages only),
 *     and decode as UTF-8 with its CESU-8 and Java-null variants; the first that decodes wins;
 *   - else fix each run of UTF-8-looking characters that the heuristic finds bad on its own
 *     (decode_inconsistent_utf8);
 *   - else read C1 controls as Windows-1252 (the whole text if it is Latin-1 without the five
 *     bytes Windows-1252 leaves undefined, then each C1 control: fix_c1_controls). */
#include <stdlib.h>
#include <string.h>

#include "ftfy.h"

/* Bounds the repeat-until-stable loop; ftfy's steps shrink or settle the text long before. */
enum { MAX_ROUNDS = 1000 };

typedef struct {
    unsigned char *b;
    size_t len, cap;
} byte_buf;

static cm_err bytes_reserve(byte_buf *buf, size_t need)
{
    if (need <= buf->cap) return CM_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need) cap *= 2;
    unsigned char *grown = realloc(buf->b, cap);
    CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %zu bytes of mojibake repair", cap);
    buf->b = grown;
    buf->cap = cap;
    return CM_OK;
}

uint32_t cm_ftfy_c1_as_windows_1252(uint32_t c)
{
    return c >= 0x80 && c <= 0x9F ? cm_ftfy_charmaps[CM_FTFY_SLOPPY_WINDOWS_1252].high[c - 0x80] : c;
}

/* The byte a single-byte codec encodes c to; 0 with *ok = 0 if it cannot. */
static unsigned char encode_char(const cm_ftfy_charmap *m, uint32_t c, int *ok)
{
    *ok = 1;
    if (c < 0x80 && !(m->sloppy && c == 0x1A)) return (unsigned char)c;
    if (m->sloppy && c == 0xFFFD) return 0x1A;
    for (int k = 0; k < 128; k++)
        if (m->high[k] == c) return (unsigned char)(0x80 + k);
    *ok = 0;
    return 0;
}

/* text.encode(codec); *ok = 0 if some character has no byte there. */
static cm_err encode_text(const cm_ftfy_charmap *m, const uint32_t *s, size_t n, byte_buf *out, int *ok)
{
    CM_CHECK(bytes_reserve(out, n));
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        out->b[out->len++] = encode_char(m, s[i], ok);
        if (!*ok) return CM_OK;
    }
    return CM_OK;
}

static int continuation_byte(unsigned char b) { return b >= 0x80 && b <= 0xBF; }
/* A continuation byte that is neither 0x85 (an ellipsis in Windows-1252) nor 0xA0 itself. */
static int plain_continuation(unsigned char b) { return continuation_byte(b) && b != 0x85 && b != 0xA0; }

/* A UTF-8 sequence at b[i] that would be valid with some space put back to 0xA0: its length,
 * or 0. Lead bytes are limited to those whose characters are likely before a no-break space. */
static size_t altered_utf8_at(const unsigned char *b, size_t n, size_t i)
{
    unsigned char x = b[i];
    if (i + 1 < n && b[i + 1] == ' ' && (x == 0xC2 || x == 0xC3 || x == 0xC5 || x == 0xCE || x == 0xD0 || x == 0xD9))
        return 2;
    if (i + 2 < n && (x == 0xE2 || x == 0xE3) && b[i + 1] == ' ' && plain_continuation(b[i + 2])) return 3;
    if (i + 2 < n && x >= 0xE0 && x <= 0xE3 && plain_continuation(b[i + 1]) && b[i + 2] == ' ') return 3;
    if (i + 3 < n && x == 0xF0) {
        int spaces = 0, others = 0;
        for (size_t k = 1; k <= 3; k++) {
            spaces += b[i + k] == ' ';
            others += continuation_byte(b[i + k]);
        }
        if (spaces == 1 && others == 2) return 4;
    }
    return 0;
}

/* "Ã " as a word of its own is "à": the space that follows is kept (restore_byte_a0's exception
 * for Portuguese "às", "àquele", "àquela", "àquilo" and a double space). */
static int a_grave_word_at(const unsigned char *b, size_t n, size_t i)
{
    if (!(b[i] == 0xC3 && i + 1 < n && b[i + 1] == ' ')) return 0;
    const unsigned char *rest = b + i + 2;
    size_t left = n - i - 2;
    static const char *const keep[] = {" ", "quele", "quela", "quilo", "s "};
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
        size_t len = strlen(keep[k]);
        if (left >= len && memcmp(rest, keep[k], len) == 0) return 0;
    }
    return 1;
}

static cm_err restore_byte_a0(const byte_buf *in, byte_buf *out)
{
    byte_buf words = {0};
    cm_err err = CM_OK;
    CM_CHECK_GOTO(err, bytes_reserve(&words, 2 * in->len), done);
    for (size_t i = 0; i < in->len;) {
        if (a_grave_word_at(in->b, in->len, i)) {
            memcpy(words.b + words.len, "\xC3\xA0 ", 3);
            words.len += 3;
            i += 2;
        } else {
            words.b[words.len++] = in->b[i++];
        }
    }
    CM_CHECK_GOTO(err, bytes_reserve(out, words.len), done);
    out->len = 0;
    for (size_t i = 0; i < words.len;) {
        size_t len = altered_utf8_at(words.b, words.len, i);
        if (!len) {
            out->b[out->len++] = words.b[i++];
            continue;
        }
        for (size_t k = 0; k < len; k++) out->b[out->len++] = words.b[i + k] == ' ' ? 0xA0 : words.b[i + k];
        i += len;
    }
done:
    free(words.b);
    return err;
}

static int lost(unsigned char b) { return b == 0x1A || b == '?'; }            /* U+FFFD's byte, or '?' */
static int lost_or_cont(unsigned char b) { return b == 0x1A || continuation_byte(b); }

/* A UTF-8 (or CESU-8) sequence at b[i] with some bytes lost: its length, or 0. A '?' counts as
 * lost at most once per sequence, 0x1A any number of times. */
static size_t lossy_sequence_at(const unsigned char *b, size_t n, size_t i)
{
    unsigned char x = b[i];
    size_t left = n - i;
    if (left >= 2 && x >= 0xC2 && x <= 0xDF && b[i + 1] == 0x1A) return 2;
    if (left >= 2 && (x == 0xC2 || x == 0xC3) && b[i + 1] == '?') return 2;
    if (left >= 6 && x == 0xED && b[i + 1] >= 0xA0 && b[i + 1] <= 0xAF && b[i + 3] == 0xED && b[i + 4] >= 0xB0 &&
        b[i + 4] <= 0xBF) {
        if (lost(b[i + 2]) && (lost(b[i + 5]) || continuation_byte(b[i + 5]))) return 6;
        if ((lost(b[i + 2]) || continuation_byte(b[i + 2])) && lost(b[i + 5])) return 6;
    }
    if (left >= 3 && x >= 0xE0 && x <= 0xEF) {
        if (lost(b[i + 1]) && lost_or_cont(b[i + 2])) return 3;
        if (lost_or_cont(b[i + 1]) && lost(b[i + 2])) return 3;
    }
    if (left >= 4 && x >= 0xF0 && x <= 0xF4) {
        for (size_t q = 1; q <= 3; q++) { /* the position where a '?' may stand */
            int ok = 1;
            for (size_t k = 1; k <= 3 && ok; k++) ok = k == q ? lost(b[i + k]) : lost_or_cont(b[i + k]);
            if (ok) return 4;
        }
    }
    return x == 0x1A;
}

static cm_err replace_lossy_sequences(const byte_buf *in, byte_buf *out)
{
    CM_CHECK(bytes_reserve(out, 3 * in->len));
    out->len = 0;
    for (size_t i = 0; i < in->len;) {
        size_t len = lossy_sequence_at(in->b, in->len, i);
        if (!len) {
            out->b[out->len++] = in->b[i++];
            continue;
        }
        memcpy(out->b + out->len, "\xEF\xBF\xBD", 3);
        out->len += 3;
        i += len;
    }
    return CM_OK;
}

/* Strict UTF-8 as Python decodes it: the length of the valid sequence at b[i] and its value, or 0. */
static size_t utf8_sequence_at(const unsigned char *b, size_t n, size_t i, uint32_t *cp)
{
    unsigned char x = b[i];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (x < 0x80) {
        *cp = x;
        return 1;
    }
    if (x >= 0xC2 && x <= 0xDF)
        len = 2;
    else if (x >= 0xE0 && x <= 0xEF) {
        len = 3;
        if (x == 0xE0) lo = 0xA0;
        if (x == 0xED) hi = 0x9F;
    } else if (x >= 0xF0 && x <= 0xF4) {
        len = 4;
        if (x == 0xF0) lo = 0x90;
        if (x == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n - i < len || b[i + 1] < lo || b[i + 1] > hi) return 0;
    uint32_t v = x & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; k++) {
        if (!continuation_byte(b[i + k])) return 0;
        v = (v << 6) | (b[i + k] & 0x3F);
    }
    *cp = v;
    return len;
}

/* The end of the bytes as Python's `$` sees it: the end, or just before a final newline. */
static int at_end(const unsigned char *b, size_t n, size_t k) { return k == n || (k + 1 == n && b[k] == '\n'); }

/* ftfy's "utf-8-variants" decoding: UTF-8, plus C0 80 for U+0000 (Java) and surrogate pairs
 * encoded one by one (CESU-8). Returns 0 (out unspecified) where Python raises. */
static cm_err decode_utf8_variants(const byte_buf *in, cm_ustr *out, int *ok)
{
    const unsigned char *b = in->b;
    size_t n = in->len;
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, n));
    *ok = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (b[i] == 0xC0 && ((i + 1 < n && b[i + 1] == 0x80) || at_end(b, n, i + 1))) {
            if (n - i < 2) return CM_OK;
            cp = 0, i += 2;
        } else if (b[i] == 0xED && ((i + 1 < n && b[i + 1] >= 0xA0 && b[i + 1] <= 0xBF &&
                                     ((i + 2 < n && continuation_byte(b[i + 2])) || at_end(b, n, i + 2))) ||
                                    at_end(b, n, i + 1))) {
            /* A surrogate: only a complete pair decodes (the pattern's `$` lets a final newline
             * stand for the last byte, as Python's does). */
            if (n - i < 6 || !(b[i + 1] <= 0xAF && continuation_byte(b[i + 2]) && b[i + 3] == 0xED &&
                               b[i + 4] >= 0xB0 && b[i + 4] <= 0xBF &&
                               (continuation_byte(b[i + 5]) || at_end(b, n, i + 5))))
                return CM_OK;
            cp = 0x10000 + ((uint32_t)(b[i + 1] & 0x0F) << 16) + ((uint32_t)(b[i + 2] & 0x3F) << 10) +
                 ((uint32_t)(b[i + 4] & 0x0F) << 6) + (b[i + 5] & 0x3F);
            i += 6;
        } else {
            size_t len = utf8_sequence_at(b, n, i, &cp);
            if (!len) return CM_OK;
            i += len;
        }
        out->cp[out->len++] = cp;
    }
    *ok = 1;
    return CM_OK;
}

static int any_clue(const uint32_t *s, size_t n)
{
    for (size_t p = 0; p < n; p++)
        if (cm_ftfy_utf8_clue_match(s, n, p)) return 1;
    return 0;
}

/* decode_inconsistent_utf8: each UTF-8-looking run shorter than the text that is bad on its own
 * is replaced by its fix_encoding. */
static cm_err decode_inconsistent_utf8(const uint32_t *s, size_t n, cm_ustr *out)
{
    cm_ustr fixed = {0};
    cm_err err = CM_OK;
    out->len = 0;
    for (size_t p = 0; p < n;) {
        size_t len = cm_ftfy_utf8_clue_match(s, n, p);
        if (!len) {
            CM_CHECK_GOTO(err, cm_ustr_append(out, s + p, 1), done);
            p++;
            continue;
        }
        if (len < n && cm_ftfy_is_bad(s + p, len)) {
            CM_CHECK_GOTO(err, cm_ftfy_fix_encoding(s + p, len, &fixed), done);
            CM_CHECK_GOTO(err, cm_ustr_append(out, fixed.cp, fixed.len), done);
        } else {
            CM_CHECK_GOTO(err, cm_ustr_append(out, s + p, len), done);
        }
        p += len;
    }
done:
    cm_ustr_free(&fixed);
    return err;
}

static int same(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Windows-1252 for C1 controls; only_if_complete: all or nothing, refusing the five bytes that
 * Windows-1252 leaves undefined (which the sloppy table passes through as themselves). */
static cm_err c1_as_windows_1252(const uint32_t *s, size_t n, cm_ustr *out, int only_if_complete, int *ok)
{
    *ok = 1;
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, n));
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cm_ftfy_c1_as_windows_1252(s[i]);
        if (only_if_complete && c == s[i] && c >= 0x80 && c <= 0x9F) {
            *ok = 0;
            return CM_OK;
        }
        out->cp[out->len++] = c;
    }
    return CM_OK;
}

typedef struct {
    byte_buf encoded, restored, lossless;
} step_buffers;

/* One step of fix_encoding: out gets the (possibly unchanged) text. */
static cm_err fix_encoding_step(const uint32_t *s, size_t n, cm_ustr *out, step_buffers *w)
{
    int ascii = 1, has_c1 = 0, ok;
    for (size_t i = 0; i < n; i++) {
        ascii &= s[i] < 0x80;
        has_c1 |= s[i] >= 0x80 && s[i] <= 0x9F;
    }
    if (ascii || !cm_ftfy_is_bad(s, n)) goto unchanged;

    int latin1_possible = 0;
    for (size_t e = 0; e < cm_ftfy_charmaps_count; e++) {
        const cm_ftfy_charmap *m = &cm_ftfy_charmaps[e];
        CM_CHECK(encode_text(m, s, n, &w->encoded, &ok));
        if (!ok) continue;
        if (e == CM_FTFY_LATIN_1) latin1_possible = 1;
        byte_buf *bytes = &w->encoded;
        /* Mac Roman is left out: its en dash followed by a space would look like a lost 0xA0. */
        if (e != CM_FTFY_MAC_ROMAN) {
            int altered = 0;
            for (size_t i = 0; i < bytes->len && !altered; i++) altered = altered_utf8_at(bytes->b, bytes->len, i) != 0;
            if (altered) {
                CM_CHECK(restore_byte_a0(bytes, &w->restored));
                bytes = &w->restored;
            }
        }
        if (m->sloppy) {
            CM_CHECK(replace_lossy_sequences(bytes, &w->lossless));
            bytes = &w->lossless;
        }
        CM_CHECK(decode_utf8_variants(bytes, out, &ok));
        if (ok) return CM_OK;
    }

    if (any_clue(s, n)) {
        CM_CHECK(decode_inconsistent_utf8(s, n, out));
        if (!same(out->cp, out->len, s, n)) return CM_OK;
    }
    /* Latin-1 text with C1 controls was meant as Windows-1252. (ftfy also asks whether the text
     * is possible in "windows-1252", a name its list of tried codecs never holds.) */
    if (latin1_possible) {
        CM_CHECK(c1_as_windows_1252(s, n, out, 1, &ok));
        if (ok && !same(out->cp, out->len, s, n)) return CM_OK;
    }
    if (has_c1) return c1_as_windows_1252(s, n, out, 0, &ok);
unchanged:
    out->len = 0;
    return cm_ustr_append(out, s, n);
}

cm_err cm_ftfy_fix_encoding(const uint32_t *in, size_t n, cm_ustr *out)
{
    cm_ustr next = {0};
    step_buffers w = {0};
    cm_err err = CM_OK;
    out->len = 0;
    CM_CHECK_GOTO(err, cm_ustr_append(out, in, n), done);
    for (int round = 0; round < MAX_ROUNDS; round++) {
        CM_CHECK_GOTO(err, fix_encoding_step(out->cp, out->len, &next, &w), done);
        if (same(next.cp, next.len, out->cp, out->len)) break;
        cm_ustr swap = *out;
        *out = next;
        next = swap;
    }
done:
    cm_ustr_free(&next);
    free(w.encoded.b);
    free(w.restored.b);
    free(w.lossless.b);
    return err;
}
