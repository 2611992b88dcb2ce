#!/bin/sh
# make fuzz-smoke: run each libFuzzer target for FUZZ_SECONDS (default 20) from its seed
# corpus and regression inputs, and fail on any crash, leak, sanitizer report (UBSan halts)
# or failed check. Usage: fuzz-smoke.sh SRCDIR BUILDDIR TARGET...
# Prints one line per target with its executions; new inputs go to
# BUILDDIR/tests/fuzz/work-<target>/ (kept between runs), crashes to
# BUILDDIR/tests/fuzz/crash-<target>-*. Also writes BUILDDIR/tests/fuzz/fuzz-smoke.trs (one
# automake test result per target) so tests/run.sh can count the targets.
set -u
src=$1 build=$2
shift 2
secs=${FUZZ_SECONDS:-20}
trs="$build/tests/fuzz/fuzz-smoke.trs"
: >"$trs"
failed=0
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
for t in "$@"; do
    bin="$build/tests/fuzz/fuzz-$t"
    work="$build/tests/fuzz/work-$t"
    log="$build/tests/fuzz/fuzz-smoke-$t.log"
    mkdir -p "$work"
    set -- -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/tests/fuzz/crash-$t-"
    [ -f "$src/tests/fuzz/fuzz-$t.dict" ] && set -- "$@" -dict="$src/tests/fuzz/fuzz-$t.dict"
    set -- "$@" "$work" "$src/tests/fuzz/corpus-$t"
    [ -d "$src/tests/fuzz/regress/$t" ] && set -- "$@" "$src/tests/fuzz/regress/$t"
    "$bin" "$@" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz-$t: ${execs:-?} executions in ${secs} s, no crash"
        echo ":test-result: PASS" >>"$trs"
    else
        echo "fuzz-$t: FAILED (exit $rc) after ${execs:-?} executions; log: $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz-|artifact_prefix|Test unit written)' "$log" |
            head -10 | sed 's/^/    /'
        echo ":test-result: FAIL" >>"$trs"
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ]
