/* The text cleaning of CLIP's tokenizer, on strings of Unicode code points.
 *
 * OpenAI's clip/simple_tokenizer.py cleans a text with
 *   ftfy.fix_text  (ftfy 6.x with its default settings),
 *   html.unescape twice, str.strip(),
 *   regex.sub(r'\s+', ' ') and str.strip() again, then str.lower().
 * Each step here reproduces the Python function named in its comment, so that the
 * tokens are bit-identical; docs/tokenizer.md lists the known differences. */
#ifndef CLIPMTL_TEXT_CLEAN_H
#define CLIPMTL_TEXT_CLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"

/* A growable string of code points. Zero-initialise; release with cm_ustr_free. */
typedef struct {
    uint32_t *cp;
    size_t len, cap;
} cm_ustr;

void cm_ustr_free(cm_ustr *s);
/* Makes room for at least `extra` more code points. */
cm_err cm_ustr_reserve(cm_ustr *s, size_t extra);
cm_err cm_ustr_append(cm_ustr *s, const uint32_t *cp, size_t n);

/* Decodes UTF-8 and appends to out: strict (no overlong forms, surrogates or values above
 * U+10FFFF), except that with CM_UTF8_SURROGATES the UTF-8 forms of surrogates (as text converted
 * from UTF-16 one code unit at a time holds them: CESU-8, WTF-8) are kept as surrogates, for
 * ftfy's fix_surrogates to pair or replace. `what` names the text in error messages. */
enum { CM_UTF8_STRICT = 0, CM_UTF8_SURROGATES = 1 };
cm_err cm_utf8_decode(const char *bytes, size_t n, int mode, const char *what, cm_ustr *out);
/* Encodes one valid code point; returns its length in bytes (1..4). */
size_t cm_utf8_encode(uint32_t cp, unsigned char out[4]);

/* ftfy.fix_text(in) with ftfy 6.x's default settings: HTML references, mojibake, C1 controls,
 * ligatures, character widths, curly quotes, line breaks, terminal escapes, control characters,
 * NFC (src/clip/ftfy_*.c). */
cm_err cm_ftfy_fix_text(const cm_ustr *in, cm_ustr *out);
/* unicodedata.normalize('NFC', in): canonical decomposition, canonical ordering, composition. */
cm_err cm_unicode_nfc(const cm_ustr *in, cm_ustr *out);
/* html.unescape(in): numeric and HTML5 named character references. */
cm_err cm_html_unescape(const cm_ustr *in, cm_ustr *out);
/* str.lower(in), including U+0130 -> "i\u0307" and the final-sigma rule. */
cm_err cm_unicode_lower(const cm_ustr *in, cm_ustr *out);
/* regex.sub(r'\s+', ' ', in).strip() after in.strip(): white space runs become one space. */
cm_err cm_clip_fold_whitespace(const cm_ustr *in, cm_ustr *out);

/* The whole cleaning of one UTF-8 text (replaces out's content). `scratch` is a second buffer
 * the steps alternate with, kept by the caller to avoid reallocating for every text. */
cm_err cm_clip_clean_text(const char *utf8, const char *what, cm_ustr *out, cm_ustr *scratch);

#endif
