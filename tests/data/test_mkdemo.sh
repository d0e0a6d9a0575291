# clipmtl mkdemo from the command line: help, the files it writes, repeatability, refusals.
set -u
bin="$CLIPMTL_BUILDDIR/clipmtl"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-mkdemo-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if "$@"; then :; else echo "FAIL: $*"; fail=1; fi; }

check "$bin" mkdemo --help >/dev/null
check "$bin" mkdemo --out "$tmp/a" --domains 2 --classes 4 --per-class 6 --size 64 --seed 3
check "$bin" mkdemo --out "$tmp/b" --domains 2 --classes 4 --per-class 6 --size 64 --seed 3
check diff -r "$tmp/a" "$tmp/b"
n=$(find "$tmp/a" -type f | wc -l)
check test "$n" -eq 48
check test -f "$tmp/a/Noisy Background/triangle/triangle_0005.jpg"
check test -f "$tmp/a/Plain/circle/circle_0000.png"
# Refusals: a non-empty output folder, values out of range, unknown options; each names the problem.
out=$("$bin" mkdemo --out "$tmp/a" 2>&1) && { echo "FAIL: non-empty --out accepted"; fail=1; }
case $out in *"not empty"*) ;; *) echo "FAIL: message for non-empty --out: $out"; fail=1 ;; esac
out=$("$bin" mkdemo --out "$tmp/c" --classes 9 2>&1) && { echo "FAIL: --classes 9 accepted"; fail=1; }
case $out in *"--classes 9"*) ;; *) echo "FAIL: message for --classes 9: $out"; fail=1 ;; esac
out=$("$bin" mkdemo --out "$tmp/c" --size x 2>&1) && { echo "FAIL: --size x accepted"; fail=1; }
case $out in *"--size"*) ;; *) echo "FAIL: message for --size x: $out"; fail=1 ;; esac
out=$("$bin" mkdemo --out "$tmp/c" --colour 2>&1) && { echo "FAIL: unknown option accepted"; fail=1; }
case $out in *"--colour"*) ;; *) echo "FAIL: message for unknown option: $out"; fail=1 ;; esac
test $fail -eq 0 && echo "ok   mkdemo: 48 files, repeatable, refusals named"
exit $fail
