/* Unicode Normalization Form C (UAX #15), as unicodedata.normalize('NFC', s): the last step of
 * ftfy.fix_text in OpenAI's cleaning. Decompose canonically, put each run of combining marks in
 * canonical order, then compose every unblocked mark with the last starter. */
#include <string.h>

#include "clipmtl/text_clean.h"
#include "unicode_tables.h"

/* Hangul syllables decompose and compose arithmetically (Unicode chapter 3.12). */
enum {
    HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7,
    HANGUL_LCOUNT = 19, HANGUL_VCOUNT = 21, HANGUL_TCOUNT = 28,
    HANGUL_NCOUNT = HANGUL_VCOUNT * HANGUL_TCOUNT, HANGUL_SCOUNT = HANGUL_LCOUNT * HANGUL_NCOUNT
};

static cm_err decompose(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, in->len));
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c >= HANGUL_S && c < HANGUL_S + HANGUL_SCOUNT) {
            uint32_t s = c - HANGUL_S, parts[3] = {HANGUL_L + s / HANGUL_NCOUNT,
                                                   HANGUL_V + (s % HANGUL_NCOUNT) / HANGUL_TCOUNT,
                                                   HANGUL_T + s % HANGUL_TCOUNT};
            CM_CHECK(cm_ustr_append(out, parts, parts[2] == HANGUL_T ? 2 : 3));
            continue;
        }
        size_t n;
        const uint32_t *d = c < 0x80 ? NULL : cm_uni_decomposition(c, &n); /* ASCII never decomposes */
        if (d)
            CM_CHECK(cm_ustr_append(out, d, n));
        else
            CM_CHECK(cm_ustr_append(out, &c, 1));
    }
    return CM_OK;
}

/* Stable sort of each run of non-starters by combining class. Runs are usually one or two marks
 * long; a counting pass keeps pathological runs (thousands of marks) linear. */
static cm_err canonical_order(cm_ustr *s, cm_ustr *tmp)
{
    size_t i = 0;
    while (i < s->len) {
        if (cm_uni_combining_class(s->cp[i]) == 0) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < s->len && cm_uni_combining_class(s->cp[i]) != 0) i++;
        size_t n = i - start;
        if (n < 2) continue;
        uint32_t *run = s->cp + start;
        if (n <= 8) {
            for (size_t a = 1; a < n; a++) {
                uint32_t c = run[a];
                int cc = cm_uni_combining_class(c);
                size_t b = a;
                while (b > 0 && cm_uni_combining_class(run[b - 1]) > cc) {
                    run[b] = run[b - 1];
                    b--;
                }
                run[b] = c;
            }
            continue;
        }
        size_t count[257] = {0};
        for (size_t k = 0; k < n; k++) count[cm_uni_combining_class(run[k]) + 1]++;
        for (int c = 1; c < 257; c++) count[c] += count[c - 1];
        tmp->len = 0;
        CM_CHECK(cm_ustr_reserve(tmp, n));
        for (size_t k = 0; k < n; k++) tmp->cp[count[cm_uni_combining_class(run[k])]++] = run[k];
        memcpy(run, tmp->cp, n * sizeof *run);
    }
    return CM_OK;
}

static uint32_t compose_pair(uint32_t first, uint32_t second)
{
    if (first >= HANGUL_L && first < HANGUL_L + HANGUL_LCOUNT && second >= HANGUL_V &&
        second < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((first - HANGUL_L) * HANGUL_VCOUNT + (second - HANGUL_V)) * HANGUL_TCOUNT;
    if (first >= HANGUL_S && first < HANGUL_S + HANGUL_SCOUNT && (first - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        second > HANGUL_T && second < HANGUL_T + HANGUL_TCOUNT)
        return first + (second - HANGUL_T);
    return cm_uni_compose_pair(first, second);
}

/* In place: a mark composes with the last starter unless a character between them is a starter
 * or has a combining class at least its own ("blocked"). */
static void compose(cm_ustr *s)
{
    size_t w = 0, starter = SIZE_MAX;
    int last_ccc = 0;
    for (size_t i = 0; i < s->len; i++) {
        uint32_t c = s->cp[i];
        int ccc = cm_uni_combining_class(c);
        if (starter != SIZE_MAX && (w == starter + 1 || (last_ccc != 0 && last_ccc < ccc))) {
            uint32_t composite = compose_pair(s->cp[starter], c);
            if (composite) {
                s->cp[starter] = composite;
                continue;
            }
        }
        if (ccc == 0) starter = w;
        last_ccc = ccc;
        s->cp[w++] = c;
    }
    s->len = w;
}

cm_err cm_unicode_nfc(const cm_ustr *in, cm_ustr *out)
{
    size_t i = 0;
    while (i < in->len && in->cp[i] < cm_uni_nfc_safe_below) i++;
    if (i == in->len) { /* nothing below the threshold changes under NFC */
        out->len = 0;
        return cm_ustr_append(out, in->cp, in->len);
    }
    cm_ustr tmp = {0};
    cm_err err;
    CM_CHECK_GOTO(err, decompose(in, out), done);
    CM_CHECK_GOTO(err, canonical_order(out, &tmp), done);
    compose(out);
done:
    cm_ustr_free(&tmp);
    return err;
}
