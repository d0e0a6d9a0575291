/* ftfy's view of characters: the class look-ups, the mojibake heuristic (ftfy.badness.is_bad) and
 * the detector of UTF-8 mojibake embedded in other text (the pattern decode_inconsistent_utf8
 * replaces). Both are written as explicit scans over code points, alternative by alternative,
 * following ftfy 6.x's documented rules (docs/heuristic.rst): a text is "bad" when some position
 * starts one of the unlikely sequences below. */
#include "ftfy.h"

int cm_ftfy_is_alnum(uint32_t cp)
{
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
    return cm_uni_in_ranges(cm_ftfy_alnum, cm_ftfy_alnum_count, cp);
}

int cm_ftfy_is_decimal(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return cm_uni_in_ranges(cm_ftfy_decimal, cm_ftfy_decimal_count, cp);
}

uint32_t cm_ftfy_flags(uint32_t cp)
{
    if (cp < 0x80 && cp != ' ') return 0; /* the space is the only classified ASCII character */
    size_t lo = 0, hi = cm_ftfy_char_classes_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cm_ftfy_char_classes[mid].cp)
            hi = mid;
        else if (cp > cm_ftfy_char_classes[mid].cp)
            lo = mid + 1;
        else
            return cm_ftfy_char_classes[mid].flags;
    }
    return 0;
}

const cm_ftfy_map *cm_ftfy_map_find(const cm_ftfy_map *table, size_t count, uint32_t cp)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < table[mid].from)
            hi = mid;
        else if (cp > table[mid].from)
            lo = mid + 1;
        else
            return &table[mid];
    }
    return NULL;
}

static int one_of(uint32_t c, const uint32_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c) return 1;
    return 0;
}
#define ONE_OF(c, ...) \
    one_of((c), (const uint32_t[]){__VA_ARGS__}, sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

static int ascii_letter(uint32_t c) { return c < 0x80 && (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int ascii_lower(uint32_t c) { return c >= 'a' && c <= 'z'; }

enum {
    ACCENTED = CM_FTFY_LOWER_ACCENTED | CM_FTFY_UPPER_ACCENTED,
    /* The classes that make a sequence with a "bad" character unlikely on either side. */
    NEAR_BAD = ACCENTED | CM_FTFY_BOX | CM_FTFY_START | CM_FTFY_END | CM_FTFY_CURRENCY | CM_FTFY_NUMERIC | CM_FTFY_LAW,
    PUNCT = CM_FTFY_START | CM_FTFY_END,
};

/* Characters of some alternatives, by code point (names in the comments). */
enum {
    A_GRAVE = 0xE0, A_CIRCUMFLEX_CAP = 0xC2, A_TILDE_CAP = 0xC3, I_CIRCUMFLEX_CAP = 0xCE, ETH_CAP = 0xD0,
    O_STROKE_CAP = 0xD8, U_GRAVE_CAP = 0xD9, A_DIAERESIS_CAP = 0xC4, MULTIPLICATION = 0xD7, DEGREE = 0xB0,
    NBSP = 0xA0, SOFT_HYPHEN = 0xAD, OE_CAP = 0x152, OE_SMALL = 0x153, EURO = 0x20AC,
    LOW_9_QUOTE = 0x201A, SQUARE_ROOT = 0x221A, ALMOST_EQUAL = 0x2248,
};

/* The second character of a Windows-1252 pair that encodes an Arabic letter. */
static int arabic_second(uint32_t c, uint32_t flags)
{
    return (flags & (CM_FTFY_COMMON | CM_FTFY_CURRENCY | CM_FTFY_BAD | CM_FTFY_NUMERIC | CM_FTFY_START)) ||
           ONE_OF(c, 0x178, 0x160, 0xAE, DEGREE, 0xB5, 0xBB);
}

/* One position of ftfy's heuristic: does an unlikely sequence start at s[p]? */
static int bad_at(const uint32_t *s, size_t n, size_t p)
{
    /* Past the end, a character reads as U+0000: no class and no alternative accepts it (only
     * the "anything but a Latin letter" after the ligature needs an explicit check). */
    int has1 = p + 1 < n;
    uint32_t x0 = s[p], x1 = has1 ? s[p + 1] : 0, x2 = p + 2 < n ? s[p + 2] : 0;
    uint32_t f0 = cm_ftfy_flags(x0), f1 = cm_ftfy_flags(x1), f2 = cm_ftfy_flags(x2);

    if (f0 & CM_FTFY_C1) return 1; /* C1 controls are never intended */
    /* Class pairs and triples that mojibake produces and real text does not. */
    if ((f0 & (CM_FTFY_BAD | NEAR_BAD)) && (f1 & CM_FTFY_BAD)) return 1;
    if (ascii_letter(x0) && (f1 & (CM_FTFY_LOWER_COMMON | CM_FTFY_UPPER_COMMON)) && (f2 & CM_FTFY_BAD)) return 1;
    if ((f0 & CM_FTFY_BAD) && (f1 & NEAR_BAD)) return 1;
    if ((f0 & (CM_FTFY_LOWER_ACCENTED | CM_FTFY_LOWER_COMMON | CM_FTFY_BOX | CM_FTFY_END | CM_FTFY_CURRENCY |
               CM_FTFY_NUMERIC)) &&
        (f1 & CM_FTFY_UPPER_ACCENTED))
        return 1;
    if ((f0 & (CM_FTFY_BOX | CM_FTFY_END | CM_FTFY_CURRENCY | CM_FTFY_NUMERIC)) && (f1 & CM_FTFY_LOWER_ACCENTED))
        return 1;
    if ((f0 & (CM_FTFY_LOWER_ACCENTED | CM_FTFY_BOX | CM_FTFY_END)) && (f1 & CM_FTFY_CURRENCY)) return 1;
    if (cm_uni_is_py_space(x0) && (f1 & CM_FTFY_UPPER_ACCENTED) && (f2 & CM_FTFY_CURRENCY)) return 1;
    if ((f0 & (CM_FTFY_UPPER_ACCENTED | CM_FTFY_BOX)) && (f1 & (CM_FTFY_NUMERIC | CM_FTFY_LAW))) return 1;
    if ((f0 & (ACCENTED | CM_FTFY_BOX | CM_FTFY_CURRENCY | CM_FTFY_END)) && (f1 & CM_FTFY_START) &&
        (f2 & CM_FTFY_NUMERIC))
        return 1;
    if ((f0 & (ACCENTED | CM_FTFY_CURRENCY | CM_FTFY_NUMERIC | CM_FTFY_BOX | CM_FTFY_LAW)) && (f1 & CM_FTFY_END) &&
        (f2 & CM_FTFY_START))
        return 1;
    if ((f0 & (CM_FTFY_CURRENCY | CM_FTFY_NUMERIC | CM_FTFY_BOX)) && (f1 & CM_FTFY_START)) return 1;
    if (ascii_lower(x0) && (f1 & CM_FTFY_UPPER_ACCENTED) && (f2 & (CM_FTFY_START | CM_FTFY_CURRENCY))) return 1;
    if ((f0 & CM_FTFY_BOX) && (f1 & (CM_FTFY_KAOMOJI | CM_FTFY_END))) return 1;
    if ((f0 & (ACCENTED | CM_FTFY_CURRENCY | CM_FTFY_NUMERIC | PUNCT | CM_FTFY_LAW)) && (f1 & CM_FTFY_BOX)) return 1;
    if ((f0 & ACCENTED) && (f1 & PUNCT) && (cm_ftfy_is_alnum(x2) || x2 == '_')) return 1;
    /* The ligature oe before anything but an unaccented Latin letter. */
    if ((x0 == OE_CAP || x0 == OE_SMALL) && has1 && !ascii_letter(x1)) return 1;
    if ((f0 & CM_FTFY_UPPER_ACCENTED) && x1 == DEGREE) return 1;
    /* Windows-1252 mojibake of two-byte sequences not covered above. */
    if (ONE_OF(x0, A_CIRCUMFLEX_CAP, A_TILDE_CAP, I_CIRCUMFLEX_CAP, ETH_CAP) &&
        ((f1 & PUNCT) || ONE_OF(x1, EURO, OE_SMALL, 0x160, 0x161, 0xA2, 0xA3, 0x178, 0x17E, NBSP, SOFT_HYPHEN, 0xAE,
                                0xA9, DEGREE, 0xB7, 0xBB, 0x2013, 0x2014, 0xB4)))
        return 1;
    if (x0 == MULTIPLICATION && (x1 == 0xB2 || x1 == 0xB3)) return 1; /* x followed by superscript 2 or 3 */
    /* Arabic in Windows-1252: two pairs of (O with stroke | U grave, a common or symbol character). */
    if (p + 3 < n && (x0 == O_STROKE_CAP || x0 == U_GRAVE_CAP) && (x2 == O_STROKE_CAP || x2 == U_GRAVE_CAP) &&
        arabic_second(x1, f1) && arabic_second(s[p + 3], cm_ftfy_flags(s[p + 3])))
        return 1;
    /* Windows-1252 starts of three-byte sequences of South Asian scripts. */
    if (x0 == A_GRAVE && ONE_OF(x1, 0xB2, 0xB5, 0xB9, 0xBC, 0xBD, 0xBE)) return 1;
    /* Mac Roman mojibake. */
    if (x0 == SQUARE_ROOT &&
        ONE_OF(x1, 0xB1, 0x2202, 0x2020, 0x2260, 0xAE, 0x2122, 0xB4, 0x2264, 0x2265, 0xA5, 0xB5, 0xF8))
        return 1;
    if (x0 == ALMOST_EQUAL && (x1 == DEGREE || x1 == 0xA2)) return 1;
    if (x0 == LOW_9_QUOTE && x1 == A_DIAERESIS_CAP &&
        ONE_OF(x2, 0xEC, 0xEE, 0xEF, 0xF2, 0xF4, 0xFA, 0xF9, 0xFB, 0x2020, DEGREE, 0xA2, 0x3C0))
        return 1;
    if (x0 == LOW_9_QUOTE && (x1 == 0xE2 || x1 == 0xF3) && ONE_OF(x2, 0xE0, 0xE4, DEGREE, 0xEA)) return 1;
    /* Windows-1251 mojibake: "ve" + "dje" (U+2000 range), and Cyrillic around Latin-1 symbols. */
    if (x0 == 0x432 && x1 == 0x402) return 1;
    if (ONE_OF(x0, 0x412, 0x413, 0x420, 0x421) &&
        ((f1 & (CM_FTFY_C1 | CM_FTFY_BAD | PUNCT | CM_FTFY_CURRENCY)) || x1 == DEGREE || x1 == 0xB5) &&
        ONE_OF(x2, 0x412, 0x413, 0x420, 0x421))
        return 1;
    /* Windows-1251 on top of Latin-1 on top of Windows-1252, next to a Latin letter or space. */
    if (p + 6 < n && x0 == 0x413 && x1 == 0x45E && x2 == 0x412 && s[p + 3] == 0x402 && s[p + 4] == 0x412 &&
        s[p + 5] != '\n' && (ascii_letter(s[p + 6]) || s[p + 6] == ' '))
        return 1;
    /* Windows-1252 forms of a-grave, a-acute and the no-break space itself. */
    if (x0 == A_TILDE_CAP && (x1 == NBSP || x1 == 0xA1)) return 1;
    if (ascii_lower(x0)) {
        if ((x1 == A_TILDE_CAP || x1 == A_CIRCUMFLEX_CAP) && x2 == ' ') return 1;
        if (p + 3 < n && cm_uni_is_py_space(x1) && (x2 == A_TILDE_CAP || x2 == A_CIRCUMFLEX_CAP) && s[p + 3] == ' ')
            return 1;
    }
    if (p == 0 && (x0 == A_TILDE_CAP || x0 == A_CIRCUMFLEX_CAP) && x1 == ' ') return 1;
    /* A-circumflex before a character it was the encoding of. */
    if ((ascii_lower(x0) || x0 == '.' || x0 == ',' || x0 == '?' || x0 == '!' || (f0 & CM_FTFY_END)) &&
        x1 == A_CIRCUMFLEX_CAP && (x2 == ' ' || (f2 & PUNCT)))
        return 1;
    /* Windows-1253: beta + euro before a U+2000-range tail, and Greek around Latin-1 symbols. */
    if (x0 == 0x3B2 && x1 == EURO && ONE_OF(x2, 0x2122, NBSP, 0x386, SOFT_HYPHEN, 0xAE, DEGREE)) return 1;
    if (ONE_OF(x0, 0x392, 0x393, 0x39E, 0x39F) &&
        ((f1 & (CM_FTFY_C1 | CM_FTFY_BAD | PUNCT | CM_FTFY_CURRENCY)) || x1 == DEGREE) &&
        ONE_OF(x2, 0x392, 0x393, 0x39E, 0x39F))
        return 1;
    /* Windows-1257: a-macron + euro. */
    if (x0 == 0x101 && x1 == EURO) return 1;
    return 0;
}

/* The longest sequence bad_at looks at. */
enum { LONGEST_PATTERN = 7 };

int cm_ftfy_is_bad(const uint32_t *s, size_t n)
{
    /* Every sequence holds a classified non-ASCII character within its first LONGEST_PATTERN
     * characters, so only the positions just before such a character need a look. */
    size_t next = 0;
    for (size_t j = 0; j < n; j++) {
        if (s[j] < 0x80 || !cm_ftfy_flags(s[j])) continue;
        size_t p = j + 1 >= LONGEST_PATTERN ? j + 1 - LONGEST_PATTERN : 0;
        for (p = p > next ? p : next; p <= j; p++)
            if (bad_at(s, n, p)) return 1;
        next = j + 1;
    }
    return 0;
}

static int continuation(const uint32_t *s, size_t n, size_t q, size_t count)
{
    if (q + count > n) return 0;
    for (size_t k = 0; k < count; k++)
        if (!(cm_ftfy_flags(s[q + k]) & CM_FTFY_CONTINUATION)) return 0;
    return 1;
}

size_t cm_ftfy_utf8_clue_match(const uint32_t *s, size_t n, size_t p)
{
    /* Not right after a strict continuation character: fixing a piece of a longer garble would
     * make it worse. */
    if (p > 0 && (cm_ftfy_flags(s[p - 1]) & CM_FTFY_CONTINUATION_STRICT)) return 0;
    size_t q = p;
    while (q < n) {
        uint32_t f = cm_ftfy_flags(s[q]);
        if ((f & CM_FTFY_FIRST_OF_2) && continuation(s, n, q + 1, 1))
            q += 2;
        else if ((f & CM_FTFY_FIRST_OF_3) && continuation(s, n, q + 1, 2))
            q += 3;
        else if ((f & CM_FTFY_FIRST_OF_4) && continuation(s, n, q + 1, 3))
            q += 4;
        else
            break;
    }
    return q - p;
}
