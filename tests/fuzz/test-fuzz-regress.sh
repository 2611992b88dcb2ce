#!/bin/sh
# Replay every fuzz target's seed corpus (tests/fuzz/corpus-<target>/) and regression inputs
# (tests/fuzz/regress/<target>/: one file per crash or failed check the fuzzer found, kept
# after the fix) through the target's code without libFuzzer (tests/fuzz/replay-<target>),
# one process per file so one crash does not hide the others. Runs in every build; under
# --enable-asan the replays run with AddressSanitizer and UBSan. TAP, one point per file.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
n=0
failed=0
out=$(mktemp "${TMPDIR:-/tmp}/kz-replay.XXXXXX")
trap 'rm -f "$out"' EXIT
for t in decode rule-load conf-load yaml-tree format; do
    bin="$top_builddir/tests/fuzz/replay-$t"
    for dir in "$top_srcdir/tests/fuzz/corpus-$t" "$top_srcdir/tests/fuzz/regress/$t"; do
        [ -d "$dir" ] || continue
        for f in "$dir"/*; do
            [ -f "$f" ] || continue
            n=$((n + 1))
            rel=${f#"$top_srcdir/"}
            if "$bin" "$f" >"$out" 2>&1; then
                echo "ok $n - $t: $rel"
            else
                echo "not ok $n - $t: $rel"
                sed 's/^/#   /' "$out" | head -30
                failed=$((failed + 1))
            fi
        done
    done
done
echo "1..$n"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
