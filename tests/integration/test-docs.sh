#!/bin/sh
# Documentation stays true to the code: docs/CONFIG.md is what --config-reference prints,
# every option of kizunad's --help is in kizunad(8), and the man pages render.
. "$top_srcdir/tests/integration/lib.sh"
"$KIZUNAD" --config-reference >"$T/ref.md"
sed -n '/^## Configuration keys/,$p' "$top_srcdir/docs/CONFIG.md" >"$T/doc.md"
diff -u "$T/doc.md" "$T/ref.md" >"$T/diff" 2>&1
ok $? "docs/CONFIG.md matches kizunad --config-reference"
[ -s "$T/diff" ] && sed 's/^/# /' "$T/diff" | head -20
missing=""
for opt in $("$KIZUNAD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$top_srcdir/docs/kizunad.8" || missing="$missing $opt"
done
is "$missing" "" "every --help option is documented in kizunad(8)"
if command -v man >/dev/null; then
    for page in kizunad.8 kizuna-rules.5 kizuna-plugin.3; do
        [ -f "$top_srcdir/docs/$page" ] || { ok 1 "$page exists"; continue; }
        out=$(MANWIDTH=100 man -l "$top_srcdir/docs/$page" 2>&1 >/dev/null)
        is "$out" "" "$page renders without warnings"
    done
fi
done_testing
