# clipmtl pack from the command line, on 2 ranks: help, a pack of a generated dataset read back
# by `clipmtl pack`'s own output figures, and refusals that name the problem.
set -u
bin="$CLIPMTL_BUILDDIR/clipmtl"
mpi="$CLIPMTL_SRCDIR/tests/run-mpi"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clipmtl-pack-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if "$@"; then :; else echo "FAIL: $*"; fail=1; fi; }

check "$bin" pack --help >/dev/null
check "$bin" mkdemo --out "$tmp/demo" --domains 2 --classes 3 --per-class 5 --size 48 --seed 1
printf 'run:\n  name: pack-test\nmethod:\n  name: mmap\ndata:\n  kind: folder\n  root: "%s/demo"\n  image_size: 32\n' "$tmp" > "$tmp/exp.yaml"
out=$("$mpi" 2 "$bin" pack "$tmp/exp.yaml" --set data.test_fraction=0.4 --out "$tmp/p.h5" --train-pool 2>&1)
check test $? -eq 0
# 2 domains x 3 classes x 5 images; hold-out 0.4 of 5 = 2 per class -> 12 test, 18 train
case $out in *"packed 30 images (12 test, 18 train, 0 skipped)"*"on 2 ranks"*) ;; *) echo "FAIL: pack output: $out"; fail=1 ;; esac
check test -s "$tmp/p.h5"
out=$("$bin" pack "$tmp/exp.yaml" 2>&1) && { echo "FAIL: missing --out accepted"; fail=1; }
case $out in *"--out"*) ;; *) echo "FAIL: message for missing --out: $out"; fail=1 ;; esac
out=$("$bin" pack "$tmp/exp.yaml" --out "$tmp/q.h5" --set data.colour=1 2>&1) && { echo "FAIL: unknown key accepted"; fail=1; }
case $out in *"colour"*) ;; *) echo "FAIL: message for an unknown key: $out"; fail=1 ;; esac
out=$("$bin" pack "$tmp/exp.yaml" --out "$tmp/q.h5" --set 'data.domains=[Sketch]' 2>&1) && { echo "FAIL: unknown domain accepted"; fail=1; }
case $out in *"'Sketch'"*"available"*) ;; *) echo "FAIL: message for an unknown domain: $out"; fail=1 ;; esac
out=$("$bin" pack "$tmp/exp.yaml" --out "$tmp/q.h5" --train-size 3 2>&1) && { echo "FAIL: --train-size 3 accepted"; fail=1; }
case $out in *"--train-size"*) ;; *) echo "FAIL: message for --train-size 3: $out"; fail=1 ;; esac
test $fail -eq 0 && echo "ok   clipmtl pack: 2 ranks, counts printed, refusals named"
exit $fail
