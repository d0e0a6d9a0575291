#!/usr/bin/python3
"""Writes src/clip/ftfy_tables.c: the data of clipmtl's reimplementation of ftfy.fix_text (ftfy 6.x,
default settings), which OpenAI's clip.tokenize runs first. Everything that Python can compute is
computed here from the codecs, unicodedata, html and str of the Python that runs the script (Debian
/usr/bin/python3); the character classes of ftfy's mojibake heuristic are a documented, curated
list (ftfy's docs/heuristic.rst and ftfy.badness) and are spelled out below by Unicode name.

Tables:
- the single-byte codecs ftfy tries, in its order: latin-1, the "sloppy" Windows code pages (bytes
  the code page leaves undefined decode as in Latin-1, byte 0x1A stands for U+FFFD), iso-8859-2,
  mac-roman and cp437: what bytes 0x80..0xFF decode to;
- per character, bit flags: the heuristic's classes and the UTF-8 "clues" (characters that the
  lead and continuation bytes of UTF-8 become when decoded with the common code pages);
- Latin ligatures and digraphs (their compatibility decomposition), half- and full-width forms
  (their NFKC form), the upper-case HTML references ftfy accepts (&EACUTE; -> É);
- str.isalnum() and str.isdecimal() (the \\w and \\d of Python's re).

Usage: tools/gen_ftfy_tables.py [output.c]   (default: src/clip/ftfy_tables.c)
"""
import html
import html.entities
import os
import sys
import unicodedata

from gen_unicode_tables import range_table

ALL = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]

# name in ftfy, Python codec, sloppy (undefined bytes pass through as Latin-1, 0x1A <-> U+FFFD)
CHARMAPS = [
    ("latin-1", "latin-1", False),
    ("sloppy-windows-1252", "windows-1252", True),
    ("sloppy-windows-1251", "windows-1251", True),
    ("sloppy-windows-1250", "windows-1250", True),
    ("sloppy-windows-1253", "windows-1253", True),
    ("sloppy-windows-1254", "windows-1254", True),
    ("sloppy-windows-1257", "windows-1257", True),
    ("iso-8859-2", "iso-8859-2", False),
    ("macroman", "mac-roman", False),
    ("cp437", "cp437", False),
]
# The code pages whose decodings of UTF-8 bytes make the "clue" classes of the inconsistent-UTF-8
# detector.
CLUE_CODECS = ["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253", "windows-1254",
               "windows-1257"]


def chars(*names):
    """Code points of Unicode character names; "A..B" is the inclusive range between two names."""
    out = []
    for name in names:
        if ".." in name:
            lo, hi = (ord(unicodedata.lookup(x)) for x in name.split(".."))
            out.extend(range(lo, hi + 1))
        else:
            out.append(ord(unicodedata.lookup(name)))
    return out


def latin(case, *letters):
    """LATIN CAPITAL/SMALL LETTER X WITH Y for each "X WITH Y"."""
    return chars(*("LATIN %s LETTER %s" % (case, x) for x in letters))


# The classes of ftfy's badness heuristic (ftfy/badness.py, MOJIBAKE_CATEGORIES).
HEURISTIC = {
    "COMMON": chars("NO-BREAK SPACE", "SOFT HYPHEN", "MIDDLE DOT", "ACUTE ACCENT", "EN DASH", "EM DASH",
                    "HORIZONTAL BAR", "HORIZONTAL ELLIPSIS", "RIGHT SINGLE QUOTATION MARK"),
    "C1": list(range(0x80, 0xA0)),
    "BAD": chars("BROKEN BAR", "CURRENCY SIGN", "DIAERESIS", "NOT SIGN", "MACRON", "CEDILLA",
                 "LATIN SMALL LETTER F WITH HOOK", "MODIFIER LETTER CIRCUMFLEX ACCENT", "CARON", "BREVE", "OGONEK",
                 "SMALL TILDE", "DAGGER", "DOUBLE DAGGER", "PER MILLE SIGN", "REVERSED NOT SIGN", "LOZENGE",
                 "REPLACEMENT CHARACTER", "FEMININE ORDINAL INDICATOR", "MASCULINE ORDINAL INDICATOR"),
    "LAW": chars("PILCROW SIGN", "SECTION SIGN"),
    "CURRENCY": chars("CENT SIGN", "POUND SIGN", "YEN SIGN", "PESETA SIGN", "EURO SIGN"),
    "START": chars("INVERTED EXCLAMATION MARK", "LEFT-POINTING DOUBLE ANGLE QUOTATION MARK",
                   "INVERTED QUESTION MARK", "COPYRIGHT SIGN", "GREEK TONOS", "GREEK DIALYTIKA TONOS",
                   "LEFT SINGLE QUOTATION MARK", "SINGLE LOW-9 QUOTATION MARK", "LEFT DOUBLE QUOTATION MARK",
                   "DOUBLE LOW-9 QUOTATION MARK", "BULLET", "SINGLE LEFT-POINTING ANGLE QUOTATION MARK")
             + [0xF8FF],  # private use, the Apple logo of Mac code pages
    "END": chars("REGISTERED SIGN", "RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK", "DOUBLE ACUTE ACCENT",
                 "RIGHT DOUBLE QUOTATION MARK", "SINGLE RIGHT-POINTING ANGLE QUOTATION MARK", "TRADE MARK SIGN"),
    "NUMERIC": chars("SUPERSCRIPT TWO", "SUPERSCRIPT THREE", "SUPERSCRIPT ONE", "PLUS-MINUS SIGN",
                     "VULGAR FRACTION ONE QUARTER", "VULGAR FRACTION ONE HALF", "VULGAR FRACTION THREE QUARTERS",
                     "MULTIPLICATION SIGN", "MICRO SIGN", "DIVISION SIGN", "FRACTION SLASH", "PARTIAL DIFFERENTIAL",
                     "INCREMENT", "N-ARY PRODUCT", "N-ARY SUMMATION", "SQUARE ROOT", "INFINITY", "INTERSECTION",
                     "INTEGRAL", "ALMOST EQUAL TO", "NOT EQUAL TO", "IDENTICAL TO", "LESS-THAN OR EQUAL TO",
                     "GREATER-THAN OR EQUAL TO", "NUMERO SIGN"),
    # Letters that make emoticon faces, so they may stand next to box drawings legitimately.
    "KAOMOJI": list(range(0xD2, 0xD7)) + list(range(0xD9, 0xDD)) + list(range(0xF2, 0xF7)) + list(range(0xF8, 0xFD))
               + latin("CAPITAL", "O WITH DOUBLE ACUTE", "O WITH MACRON", "U WITH MACRON", "U WITH OGONEK")
               + chars("DEGREE SIGN"),
    "UPPER_ACCENTED": list(range(0xC0, 0xD2))
                      + latin("CAPITAL", "O WITH STROKE", "U WITH DIAERESIS", "Y WITH ACUTE", "A WITH BREVE",
                              "A WITH MACRON", "A WITH OGONEK", "C WITH ACUTE", "C WITH CARON", "D WITH CARON",
                              "D WITH STROKE", "E WITH OGONEK", "E WITH CARON", "E WITH MACRON", "E WITH DOT ABOVE",
                              "G WITH BREVE", "G WITH CEDILLA", "I WITH DOT ABOVE", "I WITH MACRON", "K WITH CEDILLA",
                              "L WITH ACUTE", "L WITH CARON", "L WITH STROKE", "L WITH CEDILLA", "N WITH ACUTE",
                              "N WITH CARON", "N WITH CEDILLA")
                      + chars("LATIN CAPITAL LIGATURE OE")
                      + latin("CAPITAL", "R WITH CARON", "S WITH ACUTE", "S WITH CEDILLA", "S WITH CARON",
                              "T WITH CEDILLA", "T WITH CARON", "U WITH RING ABOVE", "U WITH DOUBLE ACUTE",
                              "Y WITH DIAERESIS", "Z WITH ACUTE", "Z WITH DOT ABOVE", "Z WITH CARON")
                      + chars("CYRILLIC CAPITAL LETTER GHE WITH UPTURN"),
    "LOWER_ACCENTED": chars("LATIN SMALL LETTER SHARP S") + list(range(0xE0, 0xF2))
                      + latin("SMALL", "A WITH BREVE", "A WITH OGONEK", "A WITH MACRON", "C WITH ACUTE",
                              "C WITH CARON", "D WITH CARON", "D WITH STROKE", "E WITH OGONEK", "E WITH CARON",
                              "E WITH MACRON", "E WITH DOT ABOVE", "G WITH BREVE", "G WITH CEDILLA", "I WITH OGONEK",
                              "I WITH MACRON", "K WITH CEDILLA", "L WITH ACUTE", "L WITH CARON", "L WITH STROKE",
                              "L WITH CEDILLA")
                      + chars("LATIN SMALL LIGATURE OE")
                      + latin("SMALL", "R WITH ACUTE", "S WITH ACUTE", "S WITH CEDILLA", "S WITH CARON",
                              "T WITH CARON", "U WITH DIAERESIS", "Z WITH ACUTE", "Z WITH DOT ABOVE", "Z WITH CARON")
                      + chars("CYRILLIC SMALL LETTER GHE WITH UPTURN", "LATIN SMALL LIGATURE FI",
                              "LATIN SMALL LIGATURE FL"),
    "UPPER_COMMON": chars("LATIN CAPITAL LETTER THORN", "GREEK CAPITAL LETTER ALPHA..GREEK CAPITAL LETTER OMEGA",
                          "GREEK CAPITAL LETTER ALPHA WITH TONOS", "GREEK CAPITAL LETTER EPSILON WITH TONOS",
                          "GREEK CAPITAL LETTER ETA WITH TONOS", "GREEK CAPITAL LETTER IOTA WITH TONOS",
                          "GREEK CAPITAL LETTER OMICRON WITH TONOS", "GREEK CAPITAL LETTER UPSILON WITH TONOS",
                          "GREEK CAPITAL LETTER OMEGA WITH TONOS", "GREEK CAPITAL LETTER IOTA WITH DIALYTIKA",
                          "GREEK CAPITAL LETTER UPSILON WITH DIALYTIKA",
                          "CYRILLIC CAPITAL LETTER IO..CYRILLIC CAPITAL LETTER YA"),
    "LOWER_COMMON": chars("GREEK SMALL LETTER ALPHA..GREEK SMALL LETTER OMEGA", "GREEK SMALL LETTER ALPHA WITH TONOS",
                          "GREEK SMALL LETTER EPSILON WITH TONOS", "GREEK SMALL LETTER ETA WITH TONOS",
                          "GREEK SMALL LETTER IOTA WITH TONOS", "GREEK SMALL LETTER UPSILON WITH DIALYTIKA AND TONOS",
                          "CYRILLIC SMALL LETTER A..CYRILLIC SMALL LETTER DZHE"),
    # Box drawing and block characters of cp437, except the single horizontal line (kaomoji).
    "BOX": chars("BOX DRAWINGS LIGHT VERTICAL", "BOX DRAWINGS LIGHT DOWN AND RIGHT", "BOX DRAWINGS LIGHT DOWN AND LEFT",
                 "BOX DRAWINGS LIGHT UP AND LEFT", "BOX DRAWINGS LIGHT VERTICAL AND RIGHT",
                 "BOX DRAWINGS LIGHT VERTICAL AND LEFT", "BOX DRAWINGS LIGHT DOWN AND HORIZONTAL",
                 "BOX DRAWINGS LIGHT VERTICAL AND HORIZONTAL",
                 "BOX DRAWINGS DOUBLE HORIZONTAL..BOX DRAWINGS DOUBLE VERTICAL AND HORIZONTAL",
                 "UPPER HALF BLOCK", "LOWER HALF BLOCK", "FULL BLOCK", "LEFT HALF BLOCK", "RIGHT HALF BLOCK",
                 "LIGHT SHADE", "MEDIUM SHADE", "DARK SHADE"),
}


def utf8_clues():
    """What UTF-8 lead and continuation bytes become in the common code pages."""
    def decoded(lo, hi):
        out = set()
        for codec in CLUE_CODECS:
            for b in range(lo, hi + 1):
                try:
                    out.add(ord(bytes([b]).decode(codec)))
                except UnicodeDecodeError:
                    pass
        return sorted(out)
    continuation = decoded(0x80, 0xBF)
    # The strict continuation class leaves out what often stands for itself next to mojibake:
    # dashes, quotation marks (but not the angle quotes), the bullet and the ellipsis.
    self_standing = set(chars("EN DASH", "EM DASH", "HORIZONTAL BAR", "LEFT SINGLE QUOTATION MARK",
                              "RIGHT SINGLE QUOTATION MARK", "SINGLE LOW-9 QUOTATION MARK",
                              "LEFT DOUBLE QUOTATION MARK", "RIGHT DOUBLE QUOTATION MARK",
                              "DOUBLE LOW-9 QUOTATION MARK", "BULLET", "HORIZONTAL ELLIPSIS"))
    return {
        "FIRST_OF_2": decoded(0xC2, 0xDF),
        "FIRST_OF_3": decoded(0xE0, 0xEF),
        # Lead bytes F1, F2 and F4 start only unassigned or private code points in practice.
        "FIRST_OF_4": sorted(set(decoded(0xF0, 0xF0)) | set(decoded(0xF3, 0xF3))),
        # A space may stand for the byte A0 that some program turned into a plain space.
        "CONTINUATION": sorted(set(continuation) | {0x20}),
        "CONTINUATION_STRICT": [cp for cp in continuation if cp not in self_standing],
    }


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src", "clip", "ftfy_tables.c"))
    lines = []
    emit = lines.append
    emit("/* Generated by tools/gen_ftfy_tables.py from Python %s (Unicode %s)." % (sys.version.split()[0],
                                                                                  unicodedata.unidata_version))
    emit(" * Do not edit: rerun the script. */")
    emit('#include "ftfy_tables.h"')
    emit("")

    emit("/* Single-byte codecs in the order ftfy tries them: bytes 0x80..0xFF decode to high[b - 0x80];")
    emit(" * bytes below 0x80 are ASCII, except that a sloppy codec encodes U+FFFD as 0x1A. */")
    emit("const cm_ftfy_charmap cm_ftfy_charmaps[] = {")
    for name, codec, sloppy in CHARMAPS:
        high = []
        for b in range(0x80, 0x100):
            c = bytes([b]).decode(codec, errors="replace")
            high.append(b if sloppy and c == "\ufffd" else ord(c))
        assert all(c >= 0x80 for c in high) and len(set(high)) == 128, name
        assert bytes(range(0x80)).decode(codec) == "".join(map(chr, range(0x80))), name
        emit("    {\"%s\", %d, {" % (name, int(sloppy)))
        for i in range(0, 128, 12):
            emit("        " + " ".join("0x%X," % c for c in high[i:i + 12]))
        emit("    }},")
    emit("};")
    emit("const size_t cm_ftfy_charmaps_count = %d;" % len(CHARMAPS))
    for index_name, name in [("LATIN_1", "latin-1"), ("SLOPPY_WINDOWS_1252", "sloppy-windows-1252"),
                             ("MAC_ROMAN", "macroman")]:
        emit("_Static_assert(CM_FTFY_%s == %d, \"codec index\");" % (index_name, [c[0] for c in CHARMAPS].index(name)))
    emit("")

    classes = dict(HEURISTIC)
    classes.update(utf8_clues())
    names = list(classes)
    assert len(names) <= 32
    flags = {}
    for bit, name in enumerate(names):
        for cp in classes[name]:
            flags[cp] = flags.get(cp, 0) | (1 << bit)
    emit("/* Flag bits of the classes, as declared in ftfy_tables.h. */")
    for bit, name in enumerate(names):
        emit("_Static_assert(CM_FTFY_%s == 1u << %d, \"flag order\");" % (name, bit))
    emit("")
    emit("/* Characters in at least one class, sorted, with their flags. */")
    emit("const cm_ftfy_char_class cm_ftfy_char_classes[] = {")
    items = sorted(flags.items())
    for i in range(0, len(items), 6):
        emit("    " + " ".join("{0x%X, 0x%X}," % kv for kv in items[i:i + 6]))
    emit("};")
    emit("const size_t cm_ftfy_char_classes_count = %d;" % len(items))
    emit("")

    # Ligatures of Latin letters and the legacy digraphs (ftfy's fix_latin_ligatures): one level of
    # compatibility decomposition, recomposed, so that U+FB05 gives "ſt" and U+01C4 "DŽ".
    ligature_cps = [0x132, 0x133, 0x149] + list(range(0x1C4, 0x1CD)) + list(range(0x1F1, 0x1F4)) + \
        list(range(0xFB00, 0xFB07))
    emit("/* Latin ligatures and digraphs -> their letters (compatibility decomposition). */")
    emit("const cm_ftfy_map cm_ftfy_ligatures[] = {")
    for cp in ligature_cps:
        d = unicodedata.decomposition(chr(cp))
        assert d.startswith("<compat> "), hex(cp)
        to = unicodedata.normalize("NFC", "".join(chr(int(x, 16)) for x in d.split()[1:]))
        assert 2 <= len(to) <= 3
        emit("    {0x%X, %d, {%s}}," % (cp, len(to), ", ".join("0x%X" % ord(c) for c in to)))
    emit("};")
    emit("const size_t cm_ftfy_ligatures_count = %d;" % len(ligature_cps))
    emit("")

    width = [(0x3000, " ")]
    for cp in range(0xFF01, 0xFFF0):
        alt = unicodedata.normalize("NFKC", chr(cp))
        if alt != chr(cp):
            width.append((cp, alt))
    assert all(len(v) <= 3 for _, v in width)
    emit("/* Half- and full-width forms U+FF01..U+FFEF -> NFKC, and U+3000 -> space. */")
    emit("const cm_ftfy_map cm_ftfy_widths[] = {")
    for cp, to in width:
        emit("    {0x%X, %d, {%s}}," % (cp, len(to), ", ".join("0x%X" % ord(c) for c in to)))
    emit("};")
    emit("const size_t cm_ftfy_widths_count = %d;" % len(width))
    emit("")

    # Upper-cased references (&NTILDE;) of all-lower-case names, unless html.unescape already
    # decodes the upper-case spelling; they stand for the upper-cased value.
    upper = []
    for name, value in html.entities.html5.items():
        if name.endswith(";") and name == name.lower():
            ref = "&" + name.upper()
            if html.unescape(ref) == ref:
                upper.append((name.upper(), value.upper()))
    upper.sort(key=lambda kv: kv[0].encode("ascii"))
    assert all(len(v) <= 3 for _, v in upper)
    emit("/* Upper-case spellings of lower-case HTML references, sorted by name (with its ';'). */")
    emit("const cm_html_entity cm_ftfy_upper_entities[] = {")
    for name, value in upper:
        emit("    {\"%s\", %d, {%s}}," % (name, len(value), ", ".join("0x%X" % ord(c) for c in value)))
    emit("};")
    emit("const size_t cm_ftfy_upper_entities_count = %d;" % len(upper))
    emit("")

    def emit_ranges(name, cps, why):
        for line in range_table(name, cps, why):
            emit(line)

    emit_ranges("cm_ftfy_alnum", [cp for cp in ALL if chr(cp).isalnum()], "str.isalnum(): \\w of re, without '_'.")
    emit_ranges("cm_ftfy_decimal", [cp for cp in ALL if chr(cp).isdecimal()], "str.isdecimal(): \\d of re.")

    with open(out_path, "w", encoding="ascii") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    print("wrote %s: %d codecs, %d classified characters (%s), %d ligatures, %d widths, %d upper-case references"
          % (out_path, len(CHARMAPS), len(items), ", ".join(names), len(ligature_cps), len(width), len(upper)))


if __name__ == "__main__":
    main()
