/* ftfy.fix_text(text) with ftfy 6.x's default settings, the first step of OpenAI's cleaning.
 *
 * The text is cut after each newline (and every million characters) and each segment is fixed on
 * its own: repeat until nothing changes
 *   unescape HTML references (only until a segment shows a '<': from then on the text is taken
 *   for HTML, whose references are meant literally), fix_encoding (ftfy_encoding.c), C1 controls
 *   as Windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks,
 *   surrogates (a high one followed by a low one is the character they encode, any other becomes
 *   U+FFFD), ANSI terminal escapes, control characters, NFC.
 * Surrogates come only from the input (cm_utf8_decode keeps their UTF-8 forms for this step): no
 * step makes one (surrogate references become U+FFFD, CESU-8 mojibake decodes whole pairs). */
#include <string.h>

#include "ftfy.h"
#include "html_entities.h"

enum {
    MAX_SEGMENT = 1000000, /* ftfy's max_decode_length */
    MAX_ROUNDS = 1000,     /* bounds the repeat-until-stable loop; real texts settle in two or three */
    ESC = 0x1B,
};

/* Characters that every fix leaves alone in ASCII text: printable ASCII but '&', and the tab,
 * newline and form feed. A text made of them alone is its own fix (the usual prompt), and a
 * round of fixes that arrives at such a text ends the repetition. */
static int ascii_untouched(uint32_t c)
{
    return (c >= 0x20 && c < 0x7F && c != '&') || c == '\t' || c == '\n' || c == '\f';
}

static int all_ascii_untouched(const uint32_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!ascii_untouched(s[i])) return 0;
    return 1;
}

static int ascii_alnum(uint32_t c) { return c < 0x80 && cm_ftfy_is_alnum(c); }

/* ftfy's unescape_html: only references of the form &name; or &#...; with 1..24 ASCII letters or
 * digits; names from HTML5 (with their ';') or an upper-case spelling of a lower-case name;
 * numbers as html.unescape reads them, unless it would not use the whole reference. */
static cm_err unescape_html(const cm_ustr *in, cm_ustr *out, cm_ustr *scratch)
{
    const uint32_t *s = in->cp;
    size_t n = in->len;
    out->len = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '&') {
            size_t plain = i;
            while (plain < n && s[plain] != '&') plain++;
            CM_CHECK(cm_ustr_append(out, s + i, plain - i));
            i = plain;
            continue;
        }
        size_t name = i + 1 + (i + 1 < n && s[i + 1] == '#'), end = name;
        while (end < n && end - name < 25 && ascii_alnum(s[end])) end++;
        if (end == name || end - name > 24 || end >= n || s[end] != ';') {
            CM_CHECK(cm_ustr_append(out, s + i, 1));
            i++;
            continue;
        }
        size_t len = end + 1 - i; /* "&...;" */
        if (s[i + 1] == '#') {
            cm_ustr ref = {(uint32_t *)(uintptr_t)(s + i), len, len}; /* a read-only view */
            CM_CHECK(cm_html_unescape(&ref, scratch));
            int partial = 0;
            for (size_t k = 0; k < scratch->len; k++) partial |= scratch->cp[k] == ';';
            if (partial)
                CM_CHECK(cm_ustr_append(out, s + i, len));
            else
                CM_CHECK(cm_ustr_append(out, scratch->cp, scratch->len));
        } else {
            const cm_html_entity *e = cm_html_find_entity(s + i + 1, len - 1);
            if (!e) e = cm_html_entity_search(cm_ftfy_upper_entities, cm_ftfy_upper_entities_count, s + i + 1, len - 1);
            if (e)
                CM_CHECK(cm_ustr_append(out, e->value, e->len));
            else
                CM_CHECK(cm_ustr_append(out, s + i, len));
        }
        i += len;
    }
    return CM_OK;
}

/* One character through fix_c1_controls, fix_latin_ligatures, fix_character_width and
 * uncurl_quotes, in that order (each maps characters to characters). */
static cm_err map_characters(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, in->len));
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c < 0x80 && out->len < out->cap) {
            out->cp[out->len++] = c;
            continue;
        }
        c = cm_ftfy_c1_as_windows_1252(c);
        uint32_t lig[3] = {c}, wide[9];
        size_t n_lig = 1, n_wide = 0;
        const cm_ftfy_map *m = cm_ftfy_map_find(cm_ftfy_ligatures, cm_ftfy_ligatures_count, c);
        if (m) {
            memcpy(lig, m->to, m->len * sizeof *lig);
            n_lig = m->len;
        }
        for (size_t k = 0; k < n_lig; k++) {
            m = cm_ftfy_map_find(cm_ftfy_widths, cm_ftfy_widths_count, lig[k]);
            if (m) {
                memcpy(wide + n_wide, m->to, m->len * sizeof *wide);
                n_wide += m->len;
            } else {
                wide[n_wide++] = lig[k];
            }
        }
        for (size_t k = 0; k < n_wide; k++) {
            uint32_t w = wide[k];
            if (w == 0x2BC || (w >= 0x2018 && w <= 0x201B)) w = '\'';
            if (w >= 0x201C && w <= 0x201F) w = '"';
            CM_CHECK(cm_ustr_append(out, &w, 1));
        }
    }
    return CM_OK;
}

static int high_surrogate(uint32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
static int low_surrogate(uint32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

/* fix_line_breaks (CR LF, CR, U+2028, U+2029, U+0085 -> LF), fix_surrogates, then
 * remove_terminal_escapes (ESC '[' digits and ';' then an ASCII letter) and remove_control_chars.
 * The first two touch disjoint characters and never join or part others, so they share a pass. */
static cm_err line_breaks_and_controls(const cm_ustr *in, cm_ustr *out, cm_ustr *scratch)
{
    /* Neither pass lengthens the text. */
    scratch->len = 0;
    CM_CHECK(cm_ustr_reserve(scratch, in->len));
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c == '\r' && i + 1 < in->len && in->cp[i + 1] == '\n') continue; /* the LF follows */
        if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
        if (high_surrogate(c) && i + 1 < in->len && low_surrogate(in->cp[i + 1])) {
            c = 0x10000 + ((c - 0xD800) << 10) + (in->cp[i + 1] - 0xDC00);
            i++;
        } else if (high_surrogate(c) || low_surrogate(c)) {
            c = 0xFFFD;
        }
        scratch->cp[scratch->len++] = c;
    }
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, scratch->len));
    const uint32_t *s = scratch->cp;
    size_t n = scratch->len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ESC && i + 1 < n && s[i + 1] == '[') {
            size_t k = i + 2;
            while (k < n && (cm_ftfy_is_decimal(s[k]) || s[k] == ';')) k++;
            if (k < n && s[k] < 0x80 && ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z')) {
                i = k;
                continue;
            }
        }
        uint32_t c = s[i];
        int control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
                      c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
        if (!control) out->cp[out->len++] = c;
    }
    return CM_OK;
}

typedef struct {
    cm_ustr text, next, work, scratch;
} fix_buffers;

/* ftfy.fix_and_explain of one segment: appends the fixed segment to out. */
static cm_err fix_segment(const uint32_t *seg, size_t n, int unescape, cm_ustr *out, fix_buffers *w)
{
    w->text.len = 0;
    CM_CHECK(cm_ustr_append(&w->text, seg, n));
    for (int round = 0; round < MAX_ROUNDS && !all_ascii_untouched(w->text.cp, w->text.len); round++) {
        if (unescape) {
            CM_CHECK(unescape_html(&w->text, &w->next, &w->scratch));
            CM_CHECK(cm_ftfy_fix_encoding(w->next.cp, w->next.len, &w->work));
        } else {
            CM_CHECK(cm_ftfy_fix_encoding(w->text.cp, w->text.len, &w->work));
        }
        CM_CHECK(map_characters(&w->work, &w->next));
        CM_CHECK(line_breaks_and_controls(&w->next, &w->work, &w->scratch));
        CM_CHECK(cm_unicode_nfc(&w->work, &w->next));
        int stable = w->next.len == w->text.len &&
                     (w->text.len == 0 || memcmp(w->next.cp, w->text.cp, w->text.len * sizeof *w->text.cp) == 0);
        cm_ustr swap = w->text;
        w->text = w->next;
        w->next = swap;
        if (stable) break;
    }
    return cm_ustr_append(out, w->text.cp, w->text.len);
}

cm_err cm_ftfy_fix_text(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    if (all_ascii_untouched(in->cp, in->len)) return cm_ustr_append(out, in->cp, in->len);

    fix_buffers w = {0};
    cm_err err = CM_OK;
    int unescape = 1;
    for (size_t pos = 0; pos < in->len;) {
        size_t end = pos;
        while (end < in->len && end - pos < MAX_SEGMENT && in->cp[end] != '\n') end++;
        if (end < in->len && end - pos < MAX_SEGMENT) end++; /* the newline ends its segment */
        for (size_t k = pos; k < end && unescape; k++) unescape = in->cp[k] != '<';
        CM_CHECK_GOTO(err, fix_segment(in->cp + pos, end - pos, unescape, out, &w), done);
        pos = end;
    }
done:
    cm_ustr_free(&w.text);
    cm_ustr_free(&w.next);
    cm_ustr_free(&w.work);
    cm_ustr_free(&w.scratch);
    return err;
}
