#!/bin/sh
# make install into a DESTDIR: the program, the library with its headers, a pkg-config file with
# which a small C program compiles, links and runs, the manual page (every command described,
# groff without warnings), the analysis and job scripts, the vocabulary. Also --version and the
# GEMM paths it lists.
set -eu
build=$CLIPMTL_BUILDDIR
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$build/clipmtl" --version >"$dir/version"
grep -Eqx 'clipmtl [0-9]+\.[0-9]+\.[0-9]+' "$dir/version" || fail "--version"
# The GEMM paths it lists: OpenBLAS always; bf16 exactly when oneDNN is built in and the CPU has
# AVX512-BF16 (the kernel's flag), as the study script relies on.
grep -qx 'gemm openblas/fp32: yes' "$dir/version" || fail "--version: no openblas/fp32 line"
bf16=no
grep -qx 'gemm onednn/fp32: yes' "$dir/version" && grep -qw avx512_bf16 /proc/cpuinfo && bf16=yes
grep -qx "gemm onednn/bf16: $bf16" "$dir/version" || { cat "$dir/version"; fail "--version: bf16 should be $bf16"; }

# The test runs inside `make check`: the inner make must not join the outer one's job server.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$build" install DESTDIR="$dir/root" >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log"; fail "make install"; }
prefix=$(pkg-config --variable=prefix "$build/clipmtl.pc")
root=$dir/root$prefix
for f in bin/clipmtl lib/libclipmtl.a lib/pkgconfig/clipmtl.pc include/clipmtl/config.h include/clipmtl/clip_model.h \
         share/man/man1/clipmtl.1 share/clipmtl/bpe_simple_vocab_16e6.txt.gz share/clipmtl/analysis/results_table.py \
         share/clipmtl/jobs/pipeline.sbatch; do
    [ -f "$root/$f" ] || fail "$f not installed"
done
[ -x "$root/share/clipmtl/analysis/results_table.py" ] && [ -x "$root/share/clipmtl/jobs/pipeline.sbatch" ] ||
    fail "scripts installed without the execute bit"
for h in "$CLIPMTL_SRCDIR"/include/clipmtl/*.h; do
    [ -f "$root/include/clipmtl/${h##*/}" ] || fail "public header ${h##*/} not installed (list it in install.mk)"
done
"$root/bin/clipmtl" --version >/dev/null || fail "the installed program does not run"

# A program built only from what pkg-config says about the installed library.
cat >"$dir/tiny.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "clipmtl/clip_weights.h"
#include "clipmtl/config.h"
int main(void)
{
    cm_clip_config model;
    cm_config c;
    if (cm_clip_preset("vit-b16", &model) != CM_OK || cm_config_defaults(&c) != CM_OK) return 1;
    printf("vit-b16 width %d, default lr %g\n", model.vision.width, c.optim.lr);
    cm_config_free(&c);
    return cm_clip_preset("vit_b16", &model) == CM_OK; /* unknown name: must fail */
}
C
# The installed file, its prefix moved to where DESTDIR put the files (its directories use ${prefix}).
mkdir "$dir/pc"
sed "s|^prefix=.*|prefix=$root|" "$root/lib/pkgconfig/clipmtl.pc" >"$dir/pc/clipmtl.pc"
flags=$(PKG_CONFIG_PATH="$dir/pc" pkg-config --cflags --libs clipmtl) || fail "pkg-config clipmtl"
# shellcheck disable=SC2086
${CC:-cc} -o "$dir/tiny" "$dir/tiny.c" $flags || fail "cc tiny.c \$(pkg-config --cflags --libs clipmtl): $flags"
"$dir/tiny" | grep -qx 'vit-b16 width 768, default lr 0.0035' || fail "the linked program"

# The manual page: renders cleanly and describes every command the program lists.
man=$root/share/man/man1/clipmtl.1
groff -man -Tutf8 -ww -z "$man" 2>"$dir/groff.err" && [ ! -s "$dir/groff.err" ] || { cat "$dir/groff.err"; fail "groff"; }
"$build/clipmtl" help | awk '/^commands:/ { on = 1; next } on && NF { print $1 }' >"$dir/commands"
[ -s "$dir/commands" ] || fail "no command list"
while read -r command; do
    grep -A1 '^\.TP' "$man" | grep -qx ".B $command" || fail "the manual page does not describe '$command'"
done <"$dir/commands"
echo "install: $(wc -l <"$dir/commands") commands in the manual page; a program links with pkg-config clipmtl"
