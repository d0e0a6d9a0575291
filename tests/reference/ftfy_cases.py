#!/usr/bin/python3
"""Cases of ftfy.fix_text for clipmtl's tokenizer: texts that ftfy repairs (or must leave alone),
tokenized by OpenAI's logic with the real ftfy, written to tests/fixtures/tokenizer/cases_ftfy.tsv
(text TAB 77 ids, truncate=True; in texts backslash, TAB, newline and CR are written \\\\, \\t, \\n
and \\r; surrogates are written in their UTF-8 form).

ftfy is not a Debian package and PyPI is not reachable here, so the script runs ftfy from a
git-ignored checkout of its repository (it only needs the standard library and wcwidth, Debian's
python3-wcwidth):

    git clone https://github.com/rspeer/python-ftfy /tmp/python-ftfy
    mkdir -p tests/reference/.ftfy-scratch
    git -C /tmp/python-ftfy archive v6.3.1 | tar -x -C tests/reference/.ftfy-scratch
    /usr/bin/python3 tests/reference/ftfy_cases.py

The tokenizer after ftfy is tests/reference/tokenizer_reference.py (stdlib only). Classes of texts:
mojibake made by encoding real text as UTF-8 and decoding it with each code page ftfy knows (and
with lost bytes, spaces for 0xA0, twice, or embedded in correct text), curly quotes, ligatures,
full/half-width forms, HTML references in unicode text (with and without a '<' that turns them
off), C1 and other control characters, terminal escapes, line breaks, surrogates, unusual spaces,
number forms, random mixtures; and texts that look like mojibake but are legitimate. The script prints
how many texts of each class ftfy changes.
"""
import codecs
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizer_reference as ref  # noqa: E402

OUT = os.path.join(ref.OUT_DIR, "cases_ftfy.tsv")

SENTENCES = [
    "café crème brûlée à la mode", "naïve résumé façade déjà vu", "señor piñata año español",
    "Straße Größe Übermaß äöü", "coração ação não São Paulo às vezes", "Zażółć gęślą jaźń",
    "Příliš žluťoučký kůň úpěl ďábelské ódy", "İstanbul ığdır şişe çağ", "Ελληνικά γράμματα αβγ",
    "Русский текст съешь ещё", "Українська мова їжак ґанок", "العربية نص قصير", "עברית טקסט",
    "हिन्दी पाठ", "中文文本测试", "日本語のテキスト", "한국어 텍스트", "emoji 😀 🎉 👍🏽 ❤️",
    "“quoted” ‘single’ — dash – en … ellipsis", "price 20€ £5 ¥100 ¢", "5 × 3 ÷ 2 ± 1 ≤ 9 ≥ 0",
    "½ cup ¼ teaspoon ¾ mile", "25°C and 77°F", "© 2024 ® ™ § ¶", "Ångström Øre Æsir", "Đorđe Ćuk Čačak",
    "a photo of a crème brûlée.", "a photo of a piñata.", "the jalapeño", "Ǆemal ǅ", "Łódź ŁÓDŹ",
    "Škoda Šárka", "Œuvre œil cœur", "voilà le travail", "à la carte", "Ça va? Oui, ça va!",
    "fiancé naïveté", "über cool", "ð þ Þ Ð", "Μπορώ να φάω", "Здравствуйте мир", "Ӂ ӂ",
    "ﬁrst ﬂoor", "–dash—", "• bullet", "‹angle› «guillemets»", "Ã©", "smart ’quote’",
]

# Code pages that mojibake is made with: ftfy tries the first ten, the others it cannot undo.
MOJIBAKE_CODECS = ["windows-1252", "latin-1", "windows-1251", "windows-1250", "windows-1253", "windows-1254",
                   "windows-1257", "iso-8859-2", "mac-roman", "cp437", "windows-1255", "iso-8859-15", "cp850",
                   "koi8-r"]


def sloppy_decode(data, codec, errors):
    """bytes.decode(codec) where undefined bytes either pass through as Latin-1 (errors
    'latin-1'), become U+FFFD ('replace') or '?' ('question')."""
    out = []
    for b in data:
        try:
            out.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            out.append({"latin-1": chr(b), "replace": "\ufffd", "question": "?"}[errors])
    return "".join(out)


def mojibake(text, codec, errors="latin-1"):
    return sloppy_decode(text.encode("utf-8"), codec, errors)


def mojibake_texts(rng):
    texts = []
    for s in SENTENCES:
        for codec in MOJIBAKE_CODECS:
            texts.append(mojibake(s, codec))
    for s in SENTENCES:
        for errors in ("replace", "question"):
            texts.append(mojibake(s, "windows-1252", errors))
        texts.append(mojibake(mojibake(s, "windows-1252"), "windows-1252"))  # twice
        texts.append(mojibake(s, "windows-1252").replace("\xa0", " "))  # 0xA0 became a space
        texts.append(mojibake(s, "latin-1").replace("\xa0", " "))
        texts.append("ok: " + s + " / " + mojibake(s, "windows-1252"))  # inconsistent
        texts.append(mojibake(s, rng.choice(MOJIBAKE_CODECS[:10])) + " ✔ " + s)
    # Words of two kinds glued together, CESU-8 and Java's null.
    texts += ["the " + mojibake("café", "windows-1252") + " and the " + "café", "Ã la mode", "Ã quelle heure",
              "Ã s vezes", "fÃ cil", mojibake("à", "windows-1252") + " " + mojibake("la", "windows-1252"),
              "\xed\xa0\xbd\xed\xb8\x80 cesu", "null \xc0\x80 here", "\xc3\xa9\xed\xa0\x80 bad surrogate",
              "â€œ like this â€�", "â€œ like this â€\ufffd?", "Ã¢â‚¬Å“mixedÃ¢â‚¬Â", "Ã¼ber", "PÃ©rez",
              "âœ” No problems", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "â€™s", "It‚Äôs Mac", "ÃƒÂ©", "Ã‚Â½",
              "Ã¡", "Ã\xa0", "soup Â½", "Â¿QuÃ© pasa?", "l'Ã©tÃ©", "Ã‰TÃ‰", "Ã\u0192", "\u00c3\u201a\u00c2\u00a3"]
    return texts


def edge_texts():
    """Corners of the decoding: CESU-8 pairs and Java's null whose last byte is a final newline
    (Python's `$`), restore_byte_a0's Portuguese exceptions, segments and the '<' that stops HTML
    unescaping for the rest of the text, the Windows-1251/1253/1257 and Mac Roman patterns."""
    return ["\xed\xa0\xbd\xed\xb8\x80\n", "\xed\xa0\xbd\xed\xb8\n", "\xc0\n", "\xc0\x80",
            "\xc3\xa9\xc0\n", "\xc3\xa9\xc0\x80x", "\xc3\xa9\xed\xa0\xbd\xed\xb8\n",
            "x\nx\nx\n\xc3\xa9\n<\n&amp;\n", "&amp;\n<b>\n&amp;", "\xc3\xa9" * 30, "\x1b[\u0661m", " \xc3 ",
            "\xc3  ", "\xc3 s ", "\xc3 quele", "\xc3 quela", "\xc3 quilo", "\xe2\u20ac", "\xe2\u20ac ",
            "\xc3\xa0\n", "\xc3\xa9\r\n\xc3\xa9\r", "a\u2028\xc3\xa9", "\u0413\u045e\u0412\u0402\u0412\u2122s",
            "\u03b2\u20ac\u2122", "\u0101\u20ac\u017e", "\u201a\xc4\xf4s", "\u221a\xa9", "\u2248\xb0"]


def surrogate_texts():
    """Texts converted from UTF-16 one code unit at a time (their UTF-8 holds surrogates, written
    to the fixture as such): fix_surrogates pairs a high and a low one, any other becomes U+FFFD."""
    return ["\ud83d\ude00 pair", "lone \ud800 high", "\udc00 low first \ud83d", "reversed \ude00\ud83d",
            "\ud83d\x01\ude00 control between", "\ud83d\r\n\ude00", "caf\xc3\xa9 \ud83c\udf89 party",
            "\ud834\udd1e clef \udbff\udfff last", "\ud800\ud800\udc00", "“\ud83d\ude00” ﬁ"]


def html_texts():
    out = []
    for ref_text in ["&eacute;", "&EACUTE;", "&Eacute;", "&ntilde;", "&NTILDE;", "&nTILDE;", "&SZLIG;", "&amp;",
                     "&AMP;", "&lt;tag&gt;", "&#x2019;", "&#8217;", "&#128;", "&#0;", "&#x110000;", "&#xD800;",
                     "&#65abc;", "&hellip;", "&mdash;", "&ldquo;x&rdquo;", "&checkmark;", "&Jscr;", "&HilbertSpace;",
                     "&fflig;", "&FFLIG;", "&nbsp;", "&NBSP;", "&amp;amp;amp;", "&notit;", "&not", "&amp",
                     "&abcdefghijklmnopqrstuvwx;", "&abcdefghijklmnopqrstuvwxy;", "&#123456789012345678901234;",
                     "&#x41;&#X42;", "&ETH;", "&eth;", "&THORN;", "&macr;\\_(ã\x83\x84)_/&macr;"]:
        out.append("café " + ref_text + " fin")
        out.append("ｆｕｌｌ " + ref_text)
        out.append("<b>café</b> " + ref_text)
        out.append("line one " + ref_text + "\n<p> " + ref_text + "\nthird " + ref_text)
    out.append("Broken text&hellip; it&#x2019;s ﬂubberiﬁc!")
    out.append("P&EACUTE;REZ BUNDESSTRA&SZLIG;E")
    return out


def simple_fix_texts():
    out = [
        "“here’s a test”", "‘single’ ‛reversed‚ „low“ ‟double”", "ʼn and ŉ", "it’s a dog’s life",
        "ﬂuﬃeﬆ ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ", "Ĳssel ĳs Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ", "ＬＯＵＤ　ＮＯＩＳＥＳ", "Ｕﾀｰﾝ",
        "ｈａｌｆ ｶﾀｶﾅ ﾊﾟﾋﾟ", "ＡＢＣ１２３！？", "￠￡￢￣￤￥￦", "￨￩￪￫￬￭￮", "ﾡﾢﾣ ﾤﾥ", "full　width　space",
        "a\r\nb", "a\rb", "a\u2028b\u2029c", "a\x85b", "a\r\r\nb", "tab\tand\x0bvt\x0cff",
        "\x1b[36;44mI'm blue\x1b[0m", "\x1b[1mbold", "\x1b[31", "\x1b[12;١٢mx", "esc\x1balone",
        "ctrl\x01\x02\x03\x07\x08 chars", "del\x7f", "\ufeffbom text", "obj\ufffcrepl", "ann\ufff9x\ufffay\ufffb",
        "arabic\u206a\u206b\u206f controls", "zero\u200bwidth\u200cjoin\u200dx", "rtl\u202emark", "tag\U000e0041",
        "nbsp\xa0here", "thin\u2009space", "narrow\u202fnb", "ogham\u1680space", "mmsp\u205f", "ideo\u3000sp",
        "c1 \x80 \x81 \x8d \x8f \x90 \x9d \x9f", "\x93quoted\x94", "\x96dash\x97", "\x85ellipsis",
        "Ⅻ ⅷ ½ ⅓ ¹²³ ① ⑴ ⒈ ０１２ ٣ ۴", "№ 5", "x² + y³", "ﾟ", "ﬆ", "ĳ",
    ]
    return out


def legitimate_texts():
    """Texts that look like mojibake to a naive eye but that ftfy (by design) leaves alone."""
    return [
        "Ó. Ó.", "ÀÖ", "Ω≈ç√∫˜µ≤≥÷", "(ง ͠° ͟ل͜ ͡°)ง", "┬─┬ノ( º _ ºノ)", "¯\\_(ツ)_/¯", "Hôtel Ça ÉTÉ",
        "naïve café", "ÆØÅ æøå", "Crème brûlée", "TEMPERATURE 25°C", "Ãbc", "ÂBC", "ĂĂĂ", "ÐÐ", "Ñandú",
        "Здравствуйте", "Ελλάδα", "Việt Nam", "Đà Nẵng", "ΒΓΞΟ", "ВГРС", "à² ½", "Ø§", "×2 ×3", "1 × 2",
        "┌─┐ │ │ └─┘", "░▒▓█", "├┤", "ƒ(x)", "‰ per mille", "†dagger", "¤ currency", "£5 and €6",
        "Tʜᴇ sᴍᴀʟʟ ᴄᴀᴘs", "ŁÓDŹ", "Δ∏∑", "Ó", "Ã", "Â", "ô", "à", "Ő", "°C", "§ 5", "© Ñ", "¡Hola!", "¿Qué?",
        "señor ÂÃ", "HÉLÈNE", "ÇA", "MÜNCHEN", "Ślůžek", "ÉÉÉ", "sí € ", "a€", "Ä€", "Æ€",
    ]


def random_mixtures(rng, count):
    fragments = (SENTENCES + ["the", "photo", "of", "a", "dog", " ", " ", "\n", "\r\n", "&amp;", "&eacute;", "<",
                              "’", "“", "”", "ﬁ", "Ｆ", "\x1b[0m", "\x07", "\ufeff", "\x85", "\x93", "\u2028", "½", "°",
                              "Â", "Ã", "â€", "Ã©", "Ã\xa0", "\ufffd", "?", "À", "€", "©", "¢", "√", "≈", "×", "ª",
                              "º", "Ø", "Ù", "Œ", "œ", "ﾀ", "　", "1", "２"])
    for codec in MOJIBAKE_CODECS[:10]:
        fragments += [mojibake(s, codec) for s in rng.sample(SENTENCES, 4)]
        fragments += [mojibake(w, codec) for w in ("é", "è", "’", "“", "…", "€", "ñ", "ü", "ß", "😀", "ж", "λ")]
    out = []
    for _ in range(count):
        out.append("".join(rng.choice(fragments) for _ in range(rng.randint(1, 8))))
    return out


def random_code_points(rng, count):
    """Characters from the ranges ftfy cares about, strung together."""
    pools = [range(0x20, 0x7F), range(0x80, 0x100), range(0x100, 0x250), range(0x370, 0x460), range(0x2010, 0x2040),
             range(0x2200, 0x2270), range(0x2500, 0x2594), range(0xFF01, 0xFFEF), [0xFFFD, 0xFB01, 0xFB02, 0x20AC]]
    out = []
    for _ in range(count):
        n = rng.randint(1, 12)
        out.append("".join(chr(rng.choice(rng.choice(pools))) for _ in range(n)))
    return out


def main():
    ftfy = ref.load_ftfy()
    if ftfy is None:
        print("SKIPPED: ftfy not found in %s (see this script's docstring); %s left as committed" % (ref.FTFY_DIR, OUT))
        return
    import ftfy.bad_codecs  # noqa: F401  (registers the sloppy codecs for the checks below)
    ref.FIX_TEXT = ftfy.fix_text
    tok = ref.Tokenizer(ref.VOCAB)
    ref.check_public(tok)
    rng = random.Random(20261204)
    classes = [
        ("mojibake", mojibake_texts(rng)),
        ("decoding corners", edge_texts()),
        ("surrogates", surrogate_texts()),
        ("html", html_texts()),
        ("simple fixes", simple_fix_texts()),
        ("legitimate", legitimate_texts()),
        ("random mixtures", random_mixtures(rng, 300)),
        ("random code points", random_code_points(rng, 300)),
    ]
    seen, cases = set(), []
    print("ftfy %s from %s" % (ftfy.__version__, ref.FTFY_DIR))
    for name, texts in classes:
        kept = [t for t in texts if "\0" not in t]  # C strings
        kept = [t for t in kept if not (t in seen or seen.add(t))]
        changed = sum(ftfy.fix_text(t) != t for t in kept)
        print("%-20s %4d texts, ftfy changes %4d" % (name, len(kept), changed))
        cases += kept
    ref.check_against_regex(cases, tok)
    with open(OUT, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        for text in cases:
            escaped = ref.escape(text).replace("\r", "\\r")
            f.write("%s\t%s\n" % (escaped, " ".join(map(str, tok.tokenize(text)))))
    changed = sum(ftfy.fix_text(t) != t for t in cases)
    print("wrote %d cases (ftfy changes %d of them) to %s" % (len(cases), changed, OUT))


if __name__ == "__main__":
    main()
