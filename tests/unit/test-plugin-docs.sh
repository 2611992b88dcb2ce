#!/bin/sh
# The minimal plugin of docs/PLUGINS.md and of the EXAMPLE section of kizuna-plugin(3) must
# be tests/plugins/hello.c, which make check builds and test-plugin runs: so the documented
# example always compiles and works. Also checks the man page renders without warnings.
srcdir=${top_srcdir:-.}
hello="$srcdir/tests/plugins/hello.c"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kz-docs-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..3"

sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' "$srcdir/docs/PLUGINS.md" |
    sed '1,2d' | sed '$d' | sed '$d' > "$tmp/md.c"
if cmp -s "$hello" "$tmp/md.c"; then
    echo "ok 1 - docs/PLUGINS.md example is tests/plugins/hello.c"
else
    echo "not ok 1 - docs/PLUGINS.md example is tests/plugins/hello.c"
    diff "$hello" "$tmp/md.c" | sed 's/^/# /'
fi

# De-troff the man page example: \- is '-', \e is '\', a leading \& protects a '.'.
sed -n '/^\.\\" example:begin/,/^\.\\" example:end/p' "$srcdir/docs/kizuna-plugin.3" |
    sed '1d;$d' | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/^\\&//' > "$tmp/man.c"
if cmp -s "$hello" "$tmp/man.c"; then
    echo "ok 2 - kizuna-plugin(3) example is tests/plugins/hello.c"
else
    echo "not ok 2 - kizuna-plugin(3) example is tests/plugins/hello.c"
    diff "$hello" "$tmp/man.c" | sed 's/^/# /'
fi

if ! command -v groff >/dev/null 2>&1; then
    echo "ok 3 # SKIP groff not installed"
elif groff -man -Tutf8 -ww "$srcdir/docs/kizuna-plugin.3" 2>"$tmp/warn" >/dev/null &&
    [ ! -s "$tmp/warn" ]; then
    echo "ok 3 - kizuna-plugin(3) renders without warnings"
else
    echo "not ok 3 - kizuna-plugin(3) renders without warnings"
    sed 's/^/# /' "$tmp/warn"
fi
