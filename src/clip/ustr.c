/* Growable code point strings and strict UTF-8 conversion. */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/text_clean.h"

void cm_ustr_free(cm_ustr *s)
{
    free(s->cp);
    s->cp = NULL;
    s->len = s->cap = 0;
}

cm_err cm_ustr_reserve(cm_ustr *s, size_t extra)
{
    CM_ASSERT(extra <= SIZE_MAX / sizeof(uint32_t) / 2 - s->len, CM_ERR_MEM,
              "text of %zu + %zu code points is too large", s->len, extra);
    size_t need = s->len + extra;
    if (need <= s->cap) return CM_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) cap *= 2;
    uint32_t *grown = realloc(s->cp, cap * sizeof *grown);
    CM_ASSERT(grown, CM_ERR_MEM, "out of memory for a text of %zu code points", cap);
    s->cp = grown;
    s->cap = cap;
    return CM_OK;
}

cm_err cm_ustr_append(cm_ustr *s, const uint32_t *cp, size_t n)
{
    CM_CHECK(cm_ustr_reserve(s, n));
    if (n) memcpy(s->cp + s->len, cp, n * sizeof *cp);
    s->len += n;
    return CM_OK;
}

cm_err cm_utf8_decode(const char *bytes, size_t n, int mode, const char *what, cm_ustr *out)
{
    const unsigned char *b = (const unsigned char *)bytes;
    CM_CHECK(cm_ustr_reserve(out, n)); /* never more code points than bytes */
    size_t i = 0;
    while (i < n) {
        uint32_t c = b[i];
        size_t len;
        uint32_t min;
        if (c < 0x80) {
            out->cp[out->len++] = c;
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            CM_ERROR(CM_ERR_FORMAT, "%s: invalid UTF-8 lead byte 0x%02X at byte %zu", what, b[i], i);
        }
        CM_ASSERT(n - i >= len, CM_ERR_FORMAT, "%s: UTF-8 sequence cut short at byte %zu", what, i);
        for (size_t k = 1; k < len; k++) {
            CM_ASSERT((b[i + k] & 0xC0) == 0x80, CM_ERR_FORMAT, "%s: invalid UTF-8 continuation byte at byte %zu",
                      what, i + k);
            c = (c << 6) | (b[i + k] & 0x3F);
        }
        CM_ASSERT(c >= min, CM_ERR_FORMAT, "%s: overlong UTF-8 sequence at byte %zu", what, i);
        CM_ASSERT(c <= 0x10FFFF && (mode == CM_UTF8_SURROGATES || !(c >= 0xD800 && c <= 0xDFFF)), CM_ERR_FORMAT,
                  "%s: UTF-8 sequence at byte %zu encodes U+%04X, which is not a Unicode scalar value", what, i, c);
        out->cp[out->len++] = c;
        i += len;
    }
    return CM_OK;
}

size_t cm_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}
