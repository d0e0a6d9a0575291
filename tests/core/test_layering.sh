#!/usr/bin/env bash
# The library does not depend on the command line. The CLI (src/cli) is linked into the clipmtl
# binary only: libclipmtl.a must hold none of its objects and reference none of the symbols that
# only the CLI defines, and no public header may include a file of src/cli.
set -euo pipefail
b=$CLIPMTL_BUILDDIR
lib=$b/libclipmtl.a
shopt -s nullglob
cli_objects=("$b"/src/cli/*.o)
[ "${#cli_objects[@]}" -ge 10 ] || { echo "expected the CLI objects in $b/src/cli, found ${#cli_objects[@]}"; exit 1; }
defined() { nm --defined-only -g "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
cli_symbols=$(defined "${cli_objects[@]}")
[ -n "$cli_symbols" ]
in_lib=$(comm -12 <(echo "$cli_symbols") <(defined "$lib"))
[ -z "$in_lib" ] || { echo "libclipmtl.a defines CLI symbols (a src/cli object in the library?):"; echo "$in_lib"; exit 1; }
called=$(comm -12 <(echo "$cli_symbols") <(nm -u "$lib" | awk '{ print $NF }' | sort -u))
[ -z "$called" ] || { echo "libclipmtl.a calls into the CLI:"; echo "$called"; exit 1; }
if grep -rnE '#include .*(src/cli/|"cli\.h"|"pipeline\.h"|commands\.def)' "$CLIPMTL_SRCDIR/include"; then
    echo "a public header includes the CLI's files"; exit 1
fi
echo "libclipmtl.a: no CLI object, none of the $(echo "$cli_symbols" | wc -l) CLI symbols referenced"
