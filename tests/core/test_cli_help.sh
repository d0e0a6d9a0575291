#!/usr/bin/env bash
# Every subcommand listed by `clipmtl help` answers --help with a usage text and exit status 0;
# an unknown command fails with status 2.
set -euo pipefail
bin=$CLIPMTL_BUILDDIR/clipmtl
commands=$("$bin" help | awk '/^  [a-z]/ { print $1 }')
[ "$(echo "$commands" | wc -l)" -ge 15 ]
for c in $commands; do
    out=$("$bin" "$c" --help) || { echo "clipmtl $c --help failed"; exit 1; }
    echo "$out" | grep -qi "usage" || { echo "clipmtl $c --help prints no usage"; exit 1; }
    "$bin" help "$c" >/dev/null
done
status=0
"$bin" frobnicate 2>/dev/null || status=$?
[ "$status" -eq 2 ]
echo "$(echo "$commands" | wc -l) commands answer --help"
