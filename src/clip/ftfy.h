/* clipmtl's reimplementation of ftfy.fix_text (ftfy 6.x, default settings), split over
 * ftfy_badness.c (heuristics), ftfy_encoding.c (mojibake repair) and ftfy_fix.c (the whole fix).
 * Internal to src/clip; the entry point cm_ftfy_fix_text is declared in clipmtl/text_clean.h. */
#ifndef CLIPMTL_FTFY_H
#define CLIPMTL_FTFY_H

#include "clipmtl/text_clean.h"
#include "ftfy_tables.h"

/* ftfy.badness.is_bad: does the text contain a sequence that is likely mojibake? */
int cm_ftfy_is_bad(const uint32_t *s, size_t n);
/* Length of the run of UTF-8-looking sequences that decode_inconsistent_utf8 would consider at
 * s[p] (0 if none starts there). */
size_t cm_ftfy_utf8_clue_match(const uint32_t *s, size_t n, size_t p);
/* A C1 control as Windows-1252 reads its byte (the five bytes it leaves undefined stay); any
 * other character unchanged. */
uint32_t cm_ftfy_c1_as_windows_1252(uint32_t c);
/* ftfy.fix_encoding(in) into out (out != in). */
cm_err cm_ftfy_fix_encoding(const uint32_t *in, size_t n, cm_ustr *out);

#endif
