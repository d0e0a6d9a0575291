#!/usr/bin/python3
"""Writes src/clip/unicode_tables.c: the Unicode facts the CLIP tokenizer needs, taken from the
unicodedata module and str methods of the Python that runs this script (Debian /usr/bin/python3,
Unicode 14.0.0 for Python 3.11).

OpenAI's tokenizer runs in Python: its cleaning uses str.lower(), str.strip() and ftfy's final
unicodedata.normalize('NFC'), and its pre-tokeniser uses the third-party `regex` module with
\\p{L}, \\p{N}, \\s and IGNORECASE. Tables derived from the same Python therefore reproduce it
exactly; the `regex` module carries its own (usually newer) Unicode tables, so code points
assigned after Unicode 14.0 may be classified differently there (see docs/tokenizer.md).

Usage: tools/gen_unicode_tables.py [output.c]   (default: src/clip/unicode_tables.c)
"""
import os
import sys
import unicodedata

ALL = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]

# Unicode's White_Space property (PropList.txt; unchanged since Unicode 6.3). The `regex` module's
# \s is this set; Python's str.isspace() adds U+001C..U+001F (bidi class B/S).
WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) + \
              [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]


def ranges(cps):
    """Sorted code points -> list of inclusive (lo, hi) runs."""
    out = []
    for cp in cps:
        if out and out[-1][1] + 1 == cp:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def range_table(name, cps, why):
    """The C lines of a cm_uni_range table `name` (and its `name_count`) over sorted code points."""
    rs = ranges(cps)
    lines = ["/* %s */" % why, "const cm_uni_range %s[] = {" % name]
    for i in range(0, len(rs), 6):
        lines.append("    " + " ".join("{0x%X, 0x%X}," % (lo, hi) for lo, hi in rs[i:i + 6]))
    return lines + ["};", "const size_t %s_count = %d;" % (name, len(rs)), ""]


def category(cp):
    return unicodedata.category(chr(cp))


def final_sigma_probe(cp):
    """Python's lower() turns U+03A3 into final sigma after a cased letter, skipping
    case-ignorable characters (CPython's handle_capital_sigma). Probing that rule with each
    character yields the Case_Ignorable and Cased properties exactly as CPython has them."""
    c = chr(cp)
    alone = (c + "\u03a3").lower()[-1]
    after_cased = ("A" + c + "\u03a3").lower()[-1]
    ignorable = alone == "\u03c3" and after_cased == "\u03c2"
    return ignorable


def is_cased(cp):
    c = chr(cp)
    return c.islower() or c.isupper() or c.istitle()


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src", "clip", "unicode_tables.c"))

    letters = [cp for cp in ALL if category(cp)[0] == "L"]
    numbers = [cp for cp in ALL if category(cp)[0] == "N"]
    py_space = [cp for cp in ALL if chr(cp).isspace()]
    assert set(WHITE_SPACE) <= set(py_space)

    # Characters that are neither letters, numbers nor white space but that no alternative of the
    # pre-tokeniser matches: with IGNORECASE, `regex` excludes a character from [^\s\p{L}\p{N}]
    # when one of its case variants is a letter, yet does not put it in [\p{L}]. In Unicode 14.0
    # this is U+0345 COMBINING GREEK YPOGEGRAMMENI only (checked against regex 2026.5.9).
    unmatched = []
    for cp in ALL:
        cat = category(cp)
        if cat[0] in "LN" or cat == "Cn" or cp in WHITE_SPACE:
            continue
        c = chr(cp)
        if any(unicodedata.category(v)[0] == "L" for form in (c.upper(), c.lower(), c.casefold(), c.title())
               for v in form):
            unmatched.append(cp)

    case_ignorable = [cp for cp in ALL if final_sigma_probe(cp)]
    cased = [cp for cp in ALL if is_cased(cp)]

    lower_single, lower_multi = [], []
    for cp in ALL:
        low = chr(cp).lower()
        if low == chr(cp):
            continue
        if len(low) == 1:
            lower_single.append((cp, ord(low)))
        else:
            lower_multi.append((cp, [ord(x) for x in low]))
    assert all(len(m) <= 3 for _, m in lower_multi)

    ccc = [(cp, unicodedata.combining(chr(cp))) for cp in ALL if unicodedata.combining(chr(cp))]
    ccc_runs = []
    for cp, cl in ccc:
        if ccc_runs and ccc_runs[-1][1] + 1 == cp and ccc_runs[-1][2] == cl:
            ccc_runs[-1][1] = cp
        else:
            ccc_runs.append([cp, cp, cl])

    def is_hangul_syllable(cp):
        return 0xAC00 <= cp <= 0xD7A3

    decomp = []
    for cp in ALL:
        if is_hangul_syllable(cp):
            continue
        nfd = unicodedata.normalize("NFD", chr(cp))
        if nfd != chr(cp):
            decomp.append((cp, [ord(x) for x in nfd]))

    compose = []
    for cp in ALL:
        if is_hangul_syllable(cp):
            continue
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(cp):
            compose.append((parts[0], parts[1], cp))
    compose.sort()

    # Below this code point a string is already NFC and nothing can compose with it.
    second_elements = {s for _, s, _ in compose}
    unsafe = [cp for cp in ALL if unicodedata.combining(chr(cp)) or cp in second_elements
              or unicodedata.normalize("NFC", chr(cp)) != chr(cp)]
    nfc_safe_below = min(min(unsafe), 0x1100)  # Hangul jamo compose algorithmically

    lines = []
    emit = lines.append
    emit("/* Generated by tools/gen_unicode_tables.py from Python %s unicodedata (Unicode %s)."
         % (sys.version.split()[0], unicodedata.unidata_version))
    emit(" * Do not edit: rerun the script. */")
    emit('#include "unicode_tables.h"')
    emit("")
    emit('const char cm_unicode_tables_version[] = "%s";' % unicodedata.unidata_version)
    emit("const uint32_t cm_uni_nfc_safe_below = 0x%X;" % nfc_safe_below)
    emit("")

    def emit_ranges(name, cps, why):
        for line in range_table(name, cps, why):
            emit(line)

    emit_ranges("cm_uni_letters", letters, "General category L (Lu Ll Lt Lm Lo): \\p{L}.")
    emit_ranges("cm_uni_numbers", numbers, "General category N (Nd Nl No): \\p{N}.")
    emit_ranges("cm_uni_py_space", py_space, "str.isspace(): what str.strip() removes.")
    emit_ranges("cm_uni_white_space", WHITE_SPACE, "White_Space property: \\s of the regex module.")
    emit_ranges("cm_uni_pretok_unmatched", unmatched,
                "Not matched by any alternative of the pre-tokeniser (IGNORECASE quirk of `regex`).")
    emit_ranges("cm_uni_case_ignorable", case_ignorable, "Case_Ignorable as CPython's final-sigma rule sees it.")
    emit_ranges("cm_uni_cased", cased, "Cased: str.islower() or isupper() or istitle() of the character.")

    emit("/* str.lower() of single characters that map to one other character. */")
    emit("const cm_uni_pair cm_uni_lower[] = {")
    for i in range(0, len(lower_single), 6):
        emit("    " + " ".join("{0x%X, 0x%X}," % p for p in lower_single[i:i + 6]))
    emit("};")
    emit("const size_t cm_uni_lower_count = %d;" % len(lower_single))
    emit("")
    emit("/* str.lower() of single characters that map to several characters. */")
    emit("const cm_uni_multi cm_uni_lower_multi[] = {")
    for cp, m in lower_multi:
        emit("    {0x%X, %d, {%s}}," % (cp, len(m), ", ".join("0x%X" % x for x in m)))
    emit("};")
    emit("const size_t cm_uni_lower_multi_count = %d;" % len(lower_multi))
    emit("")
    emit("/* Canonical combining class, runs of equal non-zero class. */")
    emit("const cm_uni_ccc_run cm_uni_ccc[] = {")
    for i in range(0, len(ccc_runs), 5):
        emit("    " + " ".join("{0x%X, 0x%X, %d}," % tuple(r) for r in ccc_runs[i:i + 5]))
    emit("};")
    emit("const size_t cm_uni_ccc_count = %d;" % len(ccc_runs))
    emit("")
    flat, index = [], []
    for cp, d in decomp:
        index.append((cp, len(flat), len(d)))
        flat.extend(d)
    emit("/* Full canonical decompositions (NFD of one character; Hangul syllables are computed). */")
    emit("const uint32_t cm_uni_decomp_data[] = {")
    for i in range(0, len(flat), 10):
        emit("    " + " ".join("0x%X," % x for x in flat[i:i + 10]))
    emit("};")
    emit("const cm_uni_decomp cm_uni_decomps[] = {")
    for i in range(0, len(index), 5):
        emit("    " + " ".join("{0x%X, %d, %d}," % t for t in index[i:i + 5]))
    emit("};")
    emit("const size_t cm_uni_decomps_count = %d;" % len(index))
    emit("")
    emit("/* Primary composites: (first, second) -> composite, sorted by (first, second). */")
    emit("const cm_uni_compose cm_uni_compositions[] = {")
    for i in range(0, len(compose), 4):
        emit("    " + " ".join("{0x%X, 0x%X, 0x%X}," % t for t in compose[i:i + 4]))
    emit("};")
    emit("const size_t cm_uni_compositions_count = %d;" % len(compose))

    with open(out_path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d letter runs, %d lowercase maps, %d decompositions, %d compositions"
          % (out_path, len(ranges(letters)), len(lower_single), len(decomp), len(compose)))


if __name__ == "__main__":
    main()
