/* CLIP's text cleaning (clip/simple_tokenizer.py basic_clean + whitespace_clean + lower), with the
 * Python semantics of each step. The order follows OpenAI: ftfy.fix_text, html.unescape twice, strip, whitespace runs to one space, strip, lower. */
#include "clipmtl/text_clean.h"
#include "unicode_tables.h"

enum { CAPITAL_SIGMA = 0x3A3, SMALL_SIGMA = 0x3C3, FINAL_SIGMA = 0x3C2 };

/* CPython's handle_capital_sigma: U+03A3 lowers to final sigma when a cased letter precedes it and
 * none follows, skipping case-ignorable characters on both sides. */
static uint32_t lower_capital_sigma(const uint32_t *s, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && cm_uni_is_case_ignorable(s[j - 1])) j--;
    if (j == 0 || !cm_uni_is_cased(s[j - 1])) return SMALL_SIGMA;
    j = i + 1;
    while (j < n && cm_uni_is_case_ignorable(s[j])) j++;
    return (j == n || !cm_uni_is_cased(s[j])) ? FINAL_SIGMA : SMALL_SIGMA;
}

cm_err cm_unicode_lower(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, in->len));
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i], low[3];
        if (c == CAPITAL_SIGMA) {
            low[0] = lower_capital_sigma(in->cp, in->len, i);
            CM_CHECK(cm_ustr_append(out, low, 1));
            continue;
        }
        int k = cm_uni_to_lower(c, low);
        if (k == 1 && out->len < out->cap)
            out->cp[out->len++] = low[0];
        else
            CM_CHECK(cm_ustr_append(out, low, (size_t)k));
    }
    return CM_OK;
}

cm_err cm_clip_fold_whitespace(const cm_ustr *in, cm_ustr *out)
{
    out->len = 0;
    CM_CHECK(cm_ustr_reserve(out, in->len));
    /* Python strips, folds and strips again. White_Space is a subset of str.isspace(), so after
     * the first strip both ends are characters the fold keeps and the second strip has nothing
     * left to remove. */
    size_t begin = 0, end = in->len;
    while (begin < end && cm_uni_is_py_space(in->cp[begin])) begin++;
    while (end > begin && cm_uni_is_py_space(in->cp[end - 1])) end--;
    for (size_t i = begin; i < end;) {
        if (cm_uni_is_white_space(in->cp[i])) {
            out->cp[out->len++] = ' ';
            while (i < end && cm_uni_is_white_space(in->cp[i])) i++;
        } else {
            out->cp[out->len++] = in->cp[i++];
        }
    }
    return CM_OK;
}

cm_err cm_clip_clean_text(const char *utf8, const char *what, cm_ustr *out, cm_ustr *scratch)
{
    scratch->len = 0;
    size_t n = 0;
    while (utf8[n]) n++;
    CM_CHECK(cm_utf8_decode(utf8, n, CM_UTF8_SURROGATES, what, scratch));
    CM_CHECK(cm_ftfy_fix_text(scratch, out));
    CM_CHECK(cm_html_unescape(out, scratch));
    CM_CHECK(cm_html_unescape(scratch, out));
    CM_CHECK(cm_clip_fold_whitespace(out, scratch));
    CM_CHECK(cm_unicode_lower(scratch, out));
    return CM_OK;
}
