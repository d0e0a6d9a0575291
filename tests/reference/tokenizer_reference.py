#!/usr/bin/python3
"""Reference for clipmtl's tokenizer, and generator of tests/fixtures/tokenizer/.

OpenAI's clip/simple_tokenizer.py + clip.tokenize, written again from the specification
(../shared/docs/spec.md section 1.6) with the standard library only: Debian's python3 has neither
ftfy nor the `regex` module.
- ftfy.fix_text is the real ftfy 6.x, loaded from the git-ignored checkout
  tests/reference/.ftfy-scratch (ftfy is neither in Debian nor reachable on PyPI here; see
  tests/reference/ftfy_cases.py for how to get it). Without it the script writes nothing, leaving
  the committed fixtures alone: its texts include characters that ftfy rewrites (curly quotes from
  HTML references, full-width digits, controls).
- The pre-tokenisation pattern is evaluated alternative by alternative with unicodedata
  categories. When `regex` is importable (e.g. another Python on the machine) every text is also
  split with the real pattern and the two splits must agree.

Running it checks itself against ../shared/data/tokenizer_cases_public.tsv (produced with OpenAI's
code), then writes
  tests/fixtures/tokenizer/cases_generated.tsv   text TAB 77 ids (truncate=True), public format
  tests/fixtures/tokenizer/encode_generated.tsv  text TAB all ids of encode() (no SOT/EOT)
In texts, backslash, TAB and newline are written as \\\\, \\t and \\n.
"""
import gzip
import html
import html.entities
import os
import random
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.normpath(os.path.join(HERE, "..", ".."))
VOCAB = os.path.join(SRCDIR, "data", "bpe_simple_vocab_16e6.txt.gz")
SHARED = os.environ.get("CLIPMTL_SHARED") or os.path.join(SRCDIR, "..", "shared")
OUT_DIR = os.path.join(SRCDIR, "tests", "fixtures", "tokenizer")
CONTEXT = 77
SOT, EOT = 49406, 49407

# Unicode White_Space: the \s of the regex module (whitespace_clean uses regex.sub(r'\s+', ...)).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
              "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
WHITE_SPACE_RUN = re.compile("[" + re.escape(WHITE_SPACE) + "]+")


FTFY_DIR = os.path.join(HERE, ".ftfy-scratch")


def load_ftfy():
    """The real ftfy from FTFY_DIR (a 6.x release), or None."""
    if FTFY_DIR not in sys.path:
        sys.path.insert(0, FTFY_DIR)
    try:
        import ftfy
    except ImportError:
        return None
    if not ftfy.__version__.startswith("6."):
        sys.exit("%s holds ftfy %s; a 6.x release is needed" % (FTFY_DIR, ftfy.__version__))
    return ftfy


def fix_text_nfc_only(text):
    return unicodedata.normalize("NFC", text)  # what ftfy.fix_text ends with


# OpenAI's basic_clean starts with ftfy.fix_text; main() installs the real one.
FIX_TEXT = fix_text_nfc_only


def bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in chars]))


def is_letter(c):
    return unicodedata.category(c)[0] == "L"


def is_number(c):
    return unicodedata.category(c)[0] == "N"


def unmatched_by_pattern(c):
    """With IGNORECASE, regex leaves out of [^\\s\\p{L}\\p{N}] a character one of whose case
    variants is a letter, without putting it in [\\p{L}] (U+0345 in Unicode 14.0)."""
    if is_letter(c) or is_number(c) or c in WHITE_SPACE:
        return False
    return any(is_letter(v) for form in (c.upper(), c.lower(), c.casefold(), c.title()) for v in form)


def is_symbol(c):
    return not (c in WHITE_SPACE or is_letter(c) or is_number(c) or unmatched_by_pattern(c))


LITERALS = ["<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def literal_at(text, i, lit):
    """IGNORECASE match of a pattern literal: ASCII letters in both cases, 's' also U+017F."""
    if i + len(lit) > len(text):
        return False
    for k, p in enumerate(lit):
        c = text[i + k]
        if c == p or (p.isalpha() and c == p.upper()) or (p == "s" and c == "\u017f"):
            continue
        return False
    return True


def pretokenize(text):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        m = 0
        for lit in LITERALS:
            if literal_at(text, i, lit):
                m = len(lit)
                break
        if not m:
            if is_letter(c):
                m = 1
                while i + m < n and is_letter(text[i + m]):
                    m += 1
            elif is_number(c):
                m = 1
            elif is_symbol(c):
                m = 1
                while i + m < n and is_symbol(text[i + m]):
                    m += 1
        if m:
            out.append(text[i:i + m])
            i += m
        else:
            i += 1
    return out


class Tokenizer:
    def __init__(self, path):
        self.byte_encoder = bytes_to_unicode()
        with gzip.open(path) as f:
            lines = f.read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
        vocab = list(self.byte_encoder.values())
        vocab += [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = {s: i for i, s in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {"<|startoftext|>": ["<|startoftext|>"], "<|endoftext|>": ["<|endoftext|>"]}

    @staticmethod
    def clean(text):
        text = FIX_TEXT(text)
        text = html.unescape(html.unescape(text)).strip()
        text = WHITE_SPACE_RUN.sub(" ", text).strip()
        return text.lower()

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[k], word[k + 1]) for k in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, k = [], 0
            while k < len(word):
                if k + 1 < len(word) and word[k] == best[0] and word[k + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    k += 2
                else:
                    merged.append(word[k])
                    k += 1
            word = merged
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for piece in pretokenize(self.clean(text)):
            symbols = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[s] for s in self.bpe(symbols))
        return ids

    def tokenize(self, text, context=CONTEXT):
        tokens = [SOT] + self.encode(text) + [EOT]
        if len(tokens) > context:
            tokens = tokens[:context]
            tokens[-1] = EOT
        return tokens + [0] * (context - len(tokens))


def escape(text):
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def unescape(text):
    return re.sub(r"\\(.)", lambda m: {"\\": "\\", "t": "\t", "n": "\n"}[m.group(1)], text)


def check_public(tok):
    path = os.path.join(SHARED, "data", "tokenizer_cases_public.tsv")
    if not os.path.exists(path):
        print("note: %s not found, public cases not checked" % path)
        return
    with open(path, "rb") as f:
        rows = [line for line in f.read().decode("utf-8").split("\n") if line]
    bad = 0
    for row in rows:
        text, ids = row.split("\t")
        want = [int(x) for x in ids.split()]
        got = tok.tokenize(unescape(text))
        if got != want:
            bad += 1
            print("MISMATCH %r\n  want %s\n  got  %s" % (text, want, got))
    print("public cases: %d/%d match" % (len(rows) - bad, len(rows)))
    if bad:
        sys.exit(1)


def check_against_regex(texts, tok):
    try:
        import regex
    except ImportError:
        print("note: the regex module is not available; pre-tokeniser not cross-checked")
        return
    pat = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"""
                        r"""[^\s\p{L}\p{N}]+""", regex.IGNORECASE)
    for t in texts:
        cleaned = tok.clean(t)
        if regex.sub(r"\s+", " ", cleaned) != cleaned:
            sys.exit("white space folding differs from regex on %r" % t)
        if pat.findall(cleaned) != pretokenize(cleaned):
            sys.exit("pre-tokeniser differs from regex %s on %r:\n  %r\n  %r"
                     % (regex.__version__, t, pat.findall(cleaned), pretokenize(cleaned)))
    print("pre-tokeniser agrees with regex %s on all %d texts" % (regex.__version__, len(texts)))


# ---- generated cases -------------------------------------------------------------------------

def assigned(lo, hi, cats=None):
    out = []
    for cp in range(lo, hi + 1):
        cat = unicodedata.category(chr(cp))
        if cat in ("Cn", "Cs", "Co", "Cc") or (cats and cat[0] not in cats):
            continue
        out.append(chr(cp))
    return out


def pack(tok, items, sep=" ", limit=CONTEXT - 2):
    """Groups items into texts whose encoding fits the context, so nothing is cut off."""
    texts, cur = [], []
    for item in items:
        trial = sep.join(cur + [item])
        if cur and len(tok.encode(trial)) > limit:
            texts.append(sep.join(cur))
            cur = [item]
        else:
            cur.append(item)
    if cur:
        texts.append(sep.join(cur))
    return texts


def words(rng, alphabet, count, lo=1, hi=10):
    return [''.join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))) for _ in range(count)]


def generate(tok):
    rng = random.Random(20240611)
    cases = []

    # Scripts: letters of many alphabets, as words.
    scripts = {
        "latin-ext": (0x00C0, 0x024F), "ipa": (0x0250, 0x02AF), "greek": (0x0370, 0x03FF),
        "cyrillic": (0x0400, 0x04FF), "armenian": (0x0531, 0x058A), "hebrew": (0x05D0, 0x05EA),
        "arabic": (0x0620, 0x064A), "devanagari": (0x0900, 0x097F), "bengali": (0x0980, 0x09FF),
        "thai": (0x0E01, 0x0E5B), "georgian": (0x10A0, 0x10FF), "ethiopic": (0x1200, 0x137F),
        "cherokee": (0x13A0, 0x13FD), "hangul": (0xAC00, 0xD7A3), "hiragana": (0x3041, 0x309F),
        "katakana": (0x30A0, 0x30FF), "cjk": (0x4E00, 0x9FFF), "latin-ext-add": (0x1E00, 0x1EFF),
        "greek-ext": (0x1F00, 0x1FFF), "math-alnum": (0x1D400, 0x1D7FF), "deseret": (0x10400, 0x1044F),
    }
    for name, (lo, hi) in sorted(scripts.items()):
        alphabet = assigned(lo, hi)
        for _ in range(4):
            cases.append(" ".join(words(rng, alphabet, rng.randint(1, 6), 1, 6)))
    cases += ["Ελληνικά λέξεις", "Привет, мир! Как дела?", "שלום עולם", "مرحبا بالعالم",
              "नमस्ते दुनिया", "สวัสดีชาวโลก", "안녕하세요 세계", "こんにちは世界", "你好，世界。", "Ǆemal ǅemal ǆemal"]

    # Accents: precomposed, decomposed in random mark order (canonical ordering), every primary
    # composite written decomposed, Hangul jamo, singletons and composition exclusions.
    precomposed = [c for c in assigned(0xC0, 0x24F, "L") if unicodedata.decomposition(c)]
    cases += pack(tok, precomposed, sep="")
    marks = [c for c in assigned(0x300, 0x36F) + assigned(0x1DC0, 0x1DFF) + assigned(0x20D0, 0x20F0)
             + ["\u0591", "\u05b0", "\u0e48", "\u3099", "\u309a", "\u093c", "\u094d"]
             if unicodedata.combining(c)]
    bases = list("aeiouynAEIOUYNcCsSzZgGkK") + ["\u03b1", "\u03b5", "\u03c9", "\u0430", "\u0435", "\u3046", "\u30ab"]
    for _ in range(60):
        cases.append(" ".join(rng.choice(bases) + "".join(rng.choice(marks) for _ in range(rng.randint(1, 4)))
                              for _ in range(rng.randint(1, 5))))
    pairs = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:
            continue
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<") and len(d.split()) == 2:
            pairs.append(unicodedata.normalize("NFD", chr(cp)))
    cases += pack(tok, pairs, sep=" ")
    jamo_l, jamo_v, jamo_t = assigned(0x1100, 0x1112), assigned(0x1161, 0x1175), assigned(0x11A8, 0x11C2)
    for _ in range(12):
        cases.append("".join(rng.choice(jamo_l) + rng.choice(jamo_v) + (rng.choice(jamo_t) if rng.random() < .5 else "")
                             for _ in range(rng.randint(1, 6))))
    cases += ["\uac00\u11a8 \ud55c\u11ab", "\u212b \u2126 \u212a", "\u0958 \u0915\u093c \u2adc \u0f43",
              "e\u0301\u0327 e\u0327\u0301 \u1e17\u0323", "\u0041\u030a\u0301 \u00c5\u0301",
              "\u0301leading mark", "q\u0307\u0323 \u1e0b\u0323 \u1e0d\u0307", "\u0344 \u0340\u0341 \u0343"]

    # Emoji and symbols.
    emoji = ["\U0001F642", "\U0001F680", "\U0001F600", "\U0001F44D\U0001F3FD", "\U0001F469\u200D\U0001F4BB",
             "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F1EB\U0001F1F7", "\U0001F1EF\U0001F1F5",
             "1\uFE0F\u20E3", "\u2764\uFE0F", "\u263A", "\u2603", "\U0001F436", "\U0001F431", "\U0001F9E0",
             "\u00a9", "\u00ae", "\u2122", "\u20ac", "\u00b0C", "\u2192", "\u221e", "\u2211", "\u266b"]
    for _ in range(30):
        cases.append(" ".join(rng.choice(emoji) + ("" if rng.random() < .5 else rng.choice(["dog", "cat", "!", "ok"]))
                              for _ in range(rng.randint(1, 6))))

    # CJK with punctuation.
    cjk = assigned(0x4E00, 0x9FFF) + assigned(0x3400, 0x4DBF) + assigned(0x20000, 0x2A6DF)
    kana = assigned(0x3041, 0x30FF)
    for _ in range(30):
        cases.append("".join(rng.choice(cjk + kana) for _ in range(rng.randint(1, 20))) + rng.choice(["", "。", "、", "！", "：", " test"]))

    # HTML character references: every named one, numeric ones of all kinds, Python's edge rules.
    names = sorted(html.entities.html5)
    cases += pack(tok, ["&" + n for n in names], sep=" ")
    numeric = []
    for _ in range(120):
        cp = rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x9F), rng.randint(0xA0, 0x2FFF),
                         rng.randint(0xD800, 0xDFFF), rng.randint(0xFDD0, 0xFDEF), rng.randint(0x10000, 0x10FFFF),
                         rng.randint(0x110000, 0xFFFFFFFF)])
        if 0xE000 <= cp <= 0x10FFFF and unicodedata.category(chr(cp)) in ("Cn", "Co"):
            continue
        form = rng.choice(["&#%d;", "&#%d", "&#x%x;", "&#X%X", "&#x%X;", "&#%07d;"])
        numeric.append(form % cp)
    cases += pack(tok, numeric, sep=" ")
    cases += ["&amp; &lt;b&gt;bold&lt;/b&gt; &quot;q&quot;", "&amp;amp; &amp;lt; &amp;amp;amp;", "&ampx &amp;x &notit; &notin; &notin",
              "&AMP &Amp; &copy2021 &copyright &frac12x &lt3 &gtfoo", "&&& & ; &; &#; &#x; &#xZZ; &#a1; &# 1",
              "a&b c&d e&f=g&h", "&" + "a" * 40 + ";", "&" + "x" * 31 + "; &" + "y" * 32 + "; &" + "z" * 33 + ";",
              "&#" + "9" * 40 + "; &#x" + "f" * 40 + ";", "&#0; &#13; &#128; &#150; &#x9F; &#xD800; &#x110000;",
              "&#65&#66;&#x43&#x44;", "&nbsp;&nbsp;x&nbsp;", "&#32;&#9;&#10;word&#8232;", "e&#769; e&#x301;&#x327;",
              "&NotEqualTilde; &bne; &fjlig; &ThickSpace;x", "&Sigma;&Omicron;&Sigma; &Scy;&Tcy;",
              "&lt;|startoftext|&gt; &lt;|endoftext|&gt;", "&#x3c;&#x7c;endoftext&#x7c;&#x3e;"]

    # Numbers.
    digits = assigned(0, 0x10FFFF, "N")
    for _ in range(25):
        cases.append(" ".join("".join(rng.choice(digits) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 8))))
    cases += ["3.14159 and 2718 and 1,000,000", "\u00bd \u00b2 \u00b3 \u2160\u216b \u2460 \u0661\u0662\u0663 \u0967\u0968",
              "1st 2nd 3rd 4th 100km 9am", "0x1F 1e-5 -42 +7", "\uff11\uff12\uff13", "\U0001D7CE\U0001D7CF"]

    # Lowercasing: every character str.lower() changes, final sigma contexts, dotted capital I.
    lower_map = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and chr(cp).lower() != chr(cp)]
    cases += pack(tok, lower_map, sep=" ")
    cases += ["ΟΔΟΣ", "ΟΔΟΣ.", "Σ", "ΑΣ", "ΑΣΑ", "ΑΣ'Α", "ΑΣ'", "Α\u0345Σ", "ΑΣ\u00adΒ", "ΑΣ\u00ad", "ΑΣ:Β",
              "ΑΣ.Β", "1Σ", "ΑΣ1", "ὈΔΥΣΣΕΎΣ", "ΣΑΣ ΣΑΣ", "İstanbul İİ", "ΑΣ\u0301", "ᾼΣ", "\u02b0Σ"]

    # White space: each White_Space and str.isspace() character inside and at the ends.
    spaces = sorted(set(WHITE_SPACE) | {chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and chr(c).isspace()})
    for s in spaces:
        cases.append(s + "a" + s + s + "b" + s)
    cases += ["\x1c\x1dend\x1e", "a\x1cb \x1f c", "zero\u200bwidth\u200cjoin\u200d", "tabs\tand\nnewlines   and    spaces",
              "    leading and trailing    ", "\u3000full\u3000width\u3000space", "nb\u00a0sp", "  ", "",
              "a \u0085 b \u2028 c \u2029 d"]

    # Contractions, special tokens and the IGNORECASE quirks.
    cases += ["it's they're we've I'm you'll he'd don't", "IT'S THEY'RE WE'VE I'M YOU'LL HE'D DON'T",
              "'s's 'S 'ſ 'ſſ 'll 'LL 'lL ''s 's'", "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b",
              "<|STARTOFTEXT|> <|EndOfText|>", "<|ſtartoftext|> <|endoftext|", "!<|startoftext|>", "x\u0345y \u0345",
              "<|startoftext|><|endoftext|><|startoftext|>"]

    # Long texts: truncation.
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    cases += ["".join(rng.choice(letters) for _ in range(400)),
              " ".join(words(rng, letters, 120, 2, 9)),
              "a photo of a " + " ".join(["very"] * 100) + " big dog.",
              "".join(rng.choice(emoji) for _ in range(80)),
              "".join(rng.choice(cjk) for _ in range(200)),
              "9" * 150, "!" * 500, "ab" * 300, "aaaa" * 200]

    # Fuzz: random assigned characters, ASCII-heavy.
    pools = [assigned(0x20, 0x7E)] * 4 + [assigned(0xA0, 0x2FF), assigned(0x300, 0x36F), assigned(0x370, 0x52F),
                                           assigned(0x2000, 0x2BFF), assigned(0x3000, 0x30FF), assigned(0x1F300, 0x1FAFF),
                                           assigned(0xAC00, 0xD7A3), assigned(0x1100, 0x11FF)]
    for _ in range(150):
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 40)))
        cases.append(text)

    cases = [c for c in cases if "\0" not in c]
    return cases


def main():
    global FIX_TEXT
    ftfy = load_ftfy()
    if ftfy is None:  # leave the committed cases alone rather than write them without ftfy
        print("SKIPPED: ftfy not found in %s (see tests/reference/ftfy_cases.py for how to get it); "
              "tests/fixtures/tokenizer left as committed" % FTFY_DIR)
        return
    FIX_TEXT = ftfy.fix_text
    tok = Tokenizer(VOCAB)
    check_public(tok)
    cases = generate(tok)
    check_against_regex(cases, tok)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "cases_generated.tsv"), "w", encoding="utf-8", newline="") as f:
        for text in cases:
            f.write("%s\t%s\n" % (escape(text), " ".join(map(str, tok.tokenize(text)))))
    long_cases = [t for t in cases if len(tok.encode(t)) > CONTEXT - 2]
    some_short = cases[::25]
    with open(os.path.join(OUT_DIR, "encode_generated.tsv"), "w", encoding="utf-8", newline="") as f:
        for text in long_cases + some_short:
            f.write("%s\t%s\n" % (escape(text), " ".join(map(str, tok.encode(text)))))
    print("wrote %d cases (%d longer than the context) to %s" % (len(cases), len(long_cases), OUT_DIR))


if __name__ == "__main__":
    main()
