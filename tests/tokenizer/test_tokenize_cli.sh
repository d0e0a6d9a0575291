#!/bin/sh
# `clipmtl tokenize`: texts as arguments and from standard input give OpenAI's ids (public cases
# of ../shared/data), options change the context and truncation, errors exit non-zero with a
# message.
set -u
bin="${CLIPMTL_BUILDDIR:-.}/clipmtl"
cases="${CLIPMTL_SHARED:-${CLIPMTL_SRCDIR:-.}/../shared}/data/tokenizer_cases_public.tsv"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, command status (0 = passed)
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
[ -x "$bin" ] || { echo "no $bin"; exit 1; }
[ -r "$cases" ] || { echo "no $cases"; exit 1; }

# Cases without escapes, as plain lines.
grep -v '\\' "$cases" | cut -f1 > "$tmp/texts"
grep -v '\\' "$cases" | cut -f2 > "$tmp/want"
n=$(wc -l < "$tmp/texts")
[ "$n" -ge 100 ]; check "at least 100 public cases without escapes ($n)" $?

# One text as an argument.
text=$(sed -n 1p "$tmp/texts")
"$bin" tokenize "$text" > "$tmp/one" 2> "$tmp/err"
s=$?
sed -n 1p "$tmp/want" | cmp -s - "$tmp/one"
check "tokenize \"$text\"" $(( s + $? ))

# Several texts as arguments: one line each.
"$bin" tokenize "$(sed -n 2p "$tmp/texts")" "$(sed -n 3p "$tmp/texts")" > "$tmp/two"
s=$?
sed -n 2,3p "$tmp/want" | cmp -s - "$tmp/two"
check "tokenize TEXT TEXT" $(( s + $? ))

# All of them through standard input.
"$bin" tokenize - < "$tmp/texts" > "$tmp/all"
s=$?
cmp -s "$tmp/want" "$tmp/all"
check "tokenize - ($n lines of standard input)" $(( s + $? ))

# A text with TAB and newline escapes goes through stdin as one line per text only without
# newlines; the TAB case does.
printf 'tabs\tand spaces\n' | "$bin" tokenize - > "$tmp/tab"
s=$?
"$bin" tokenize "tabs and spaces" | cmp -s - "$tmp/tab"
check "a TAB inside a line is white space" $(( s + $? ))

# --context.
out=$("$bin" tokenize --context 5 "a photo of a dog.")
[ "$out" = "49406 320 1125 539 49407" ]
check "--context 5 truncates to 5 ids ending with EOT ($out)" $?
out=$("$bin" tokenize --context 9 "a photo of a dog.")
[ "$out" = "49406 320 1125 539 320 1929 269 49407 0" ]
check "--context 9 pads ($out)" $?

# --no-truncate refuses a long text and names it.
long=$(grep '^photograph photograph' "$cases" | cut -f1)
"$bin" tokenize --no-truncate "$long" > /dev/null 2> "$tmp/err"
s=$?
[ $s -ne 0 ] && grep -q 'too long' "$tmp/err" && grep -q 'photograph' "$tmp/err"
check "--no-truncate refuses a long text, naming it" $?
"$bin" tokenize "$long" | grep -q ' 49407$'
check "a long text is truncated by default" $?

# Help and bad usage.
"$bin" tokenize --help | grep -q 'usage: clipmtl tokenize'
check "--help" $?
"$bin" help tokenize | grep -q -- '--no-truncate'
check "clipmtl help tokenize" $?
"$bin" tokenize --bogus x > /dev/null 2>&1
[ $? -ne 0 ]; check "unknown option fails" $?
"$bin" tokenize > /dev/null 2>&1
[ $? -ne 0 ]; check "no text fails" $?
"$bin" tokenize --context 0 x > /dev/null 2>&1
[ $? -ne 0 ]; check "--context 0 fails" $?
printf 'caf\303\n' | "$bin" tokenize - > /dev/null 2> "$tmp/err"
[ $? -ne 0 ] && grep -q 'UTF-8' "$tmp/err"
check "invalid UTF-8 on standard input fails" $?
CLIPMTL_BPE=/nonexistent/vocab.gz "$bin" tokenize x > /dev/null 2> "$tmp/err"
[ $? -ne 0 ] && grep -q '/nonexistent/vocab.gz' "$tmp/err"
check "CLIPMTL_BPE pointing nowhere fails naming the path" $?
"$bin" tokenize --bpe "${CLIPMTL_SRCDIR:-.}/data/bpe_simple_vocab_16e6.txt.gz" "$text" | sed -n 1p | cmp -s - "$tmp/one"
check "--bpe PATH" $?

exit $fail
