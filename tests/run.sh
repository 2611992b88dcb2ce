#!/bin/sh
# Run the whole kizuna test suite from a fresh clone: install what is missing, build, run
# `make check` (unit + integration tests against real redis-server and librdkafka's mock
# Kafka cluster, which the tests start themselves on loopback), then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer unless KZ_NO_ASAN=1, the integration tests
# under valgrind unless KZ_NO_VALGRIND=1, and `make fuzz-smoke` unless KZ_NO_FUZZ=1.
# Ends with one line: "N passed, N failed, N skipped" (test points, over all runs).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
./contrib/install-deps.sh || exit 2
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || { echo "autogen failed"; exit 2; }

status=0
run_suite() {
    # $1: build dir, rest: configure arguments
    dir=$1; shift
    mkdir -p "$dir"
    ( cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } ) || return 2
    make -C "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log"; return 2; }
    make -C "$dir" -k check >"$dir/check.log" 2>&1
    r=$?
    grep -a -E '^(FAIL|XPASS|ERROR):' "$dir/check.log" || true
    if [ $r -ne 0 ]; then
        for f in $(grep -l -E '^:test-result: (FAIL|ERROR|XPASS)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
            echo "---- ${f%.trs}.log"; tail -40 "${f%.trs}.log"
        done
    fi
    return $r
}

run_suite "$top/build" --enable-werror || status=1
if [ "${KZ_NO_ASAN:-0}" != 1 ]; then
    CC=clang run_suite "$top/build-asan" --enable-asan || status=1
fi

# ---- Hostile input and memory safety (docs/OPERATIONS.md) -------------------------------
# valgrind: the integration tests again with kizunad under memcheck, against the normal
# build (tests/valgrind.sh; ~6 min). KZ_NO_VALGRIND=1 skips. Its build/tests/valgrind.trs
# (one result per integration test) is counted below; only failures are listed.
rm -f "$top/build/tests/valgrind.trs" "$top/build-fuzz/tests/fuzz/fuzz-smoke.trs"
if [ "${KZ_NO_VALGRIND:-0}" != 1 ]; then
    echo "valgrind: integration tests with kizunad under memcheck"
    make -C "$top/build" valgrind >"$top/build/valgrind.log" 2>&1 || status=1
    grep -E '^(not ok|#   )' "$top/build/valgrind.log"
fi
# fuzz-smoke: every libFuzzer target for FUZZ_SECONDS (default 15 here) from its seeds and
# regression inputs, in build-fuzz (clang, --enable-fuzzing). KZ_NO_FUZZ=1 skips. Its
# build-fuzz/tests/fuzz/fuzz-smoke.trs (one result per target) is counted below.
if [ "${KZ_NO_FUZZ:-0}" != 1 ]; then
    dir="$top/build-fuzz"
    mkdir -p "$dir"
    if ( cd "$dir" && { [ -f Makefile ] || CC=clang "$top/configure" -q --enable-fuzzing; } ) &&
        make -C "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
        make -s -C "$dir" fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-15}" 2>&1 |
            grep -E '^fuzz-|^    ' || true
        trs="$dir/tests/fuzz/fuzz-smoke.trs"
        grep -q PASS "$trs" 2>/dev/null && ! grep -q FAIL "$trs" || status=1
    else
        tail -40 "$dir/build.log"
        status=1
    fi
fi
# ------------------------------------------------------------------------------------------

# Count test points over every .trs file of all runs.
dirs="$top/build $top/build-asan $top/build-fuzz"
set -- $(cat $(find $dirs -name '*.trs' 2>/dev/null) /dev/null |
    awk '/^:test-result: PASS/ {p++} /^:test-result: XFAIL/ {p++}
         /^:test-result: (FAIL|ERROR|XPASS)/ {f++} /^:test-result: SKIP/ {s++}
         END {print p+0, f+0, s+0}')
passed=$1 failed=$2 skipped=$3
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
