#!/bin/sh
# Run the integration tests (tests/integration/test-*.sh) with every kizunad they start under
# valgrind memcheck, and fail on any memory error or definite/indirect leak.
#
# Needs the environment make check gives the tests (top_srcdir, top_builddir, KIZUNAD,
# KIZUNA_PLUGIN_DIR; `make valgrind` sets it). KIZUNAD is replaced by a wrapper that runs the
# real binary under
#   valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --error-exitcode=99 --log-file=<dir>/<test>.%p.log
# and the tests get KZ_TIME_SCALE (default 30) so that their deadlines allow for valgrind's
# slowdown. A test passes when it passes under valgrind and every valgrind log it left says
# "ERROR SUMMARY: 0 errors"; a log without a summary (a daemon the test killed with SIGKILL)
# is listed but cannot fail the test. Tests whose runtime under valgrind would be
# unreasonable are skipped with the reason (VG_SKIP below).
#
# Output: TAP, one point per integration test, and an automake-style result file
# $top_builddir/tests/valgrind.trs (one ":test-result:" line per test) that tests/run.sh
# counts. Logs stay in $top_builddir/tests/valgrind/. Usage: tests/valgrind.sh [TEST.sh...]
set -u
: "${top_srcdir:?set top_srcdir (or run make valgrind)}" "${top_builddir:?}" "${KIZUNAD:?}"
: "${KIZUNA_PLUGIN_DIR:?}"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "1..0 # SKIP valgrind not installed"
    echo ":test-result: SKIP" >"$top_builddir/tests/valgrind.trs"
    exit 0
fi
VG_DIR="$top_builddir/tests/valgrind"
rm -rf "$VG_DIR"
mkdir -p "$VG_DIR/logs"
REAL_KIZUNAD=$KIZUNAD
# Tests skipped under valgrind, with why (name:reason;name:reason).
VG_SKIP="test-install.sh:runs the daemon it installs, not \$KIZUNAD (nothing to wrap)"

cat >"$VG_DIR/kizunad" <<EOF
#!/bin/sh
# kizunad under valgrind memcheck (written by tests/valgrind.sh).
exec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --error-exitcode=99 --num-callers=30 --track-fds=no \\
    --suppressions="$top_srcdir/tests/valgrind.supp" \\
    --log-file="$VG_DIR/logs/\${KZ_VG_TEST:-kizunad}.%p.log" "$REAL_KIZUNAD" "\$@"
EOF
chmod +x "$VG_DIR/kizunad"

if [ $# -gt 0 ]; then
    tests="$*"
else
    tests=$(ls "$top_srcdir"/tests/integration/test-*.sh)
fi
n=0
failed=0
trs="$top_builddir/tests/valgrind.trs"
: >"$trs"
for t in $tests; do
    name=$(basename "$t")
    n=$((n + 1))
    why=$(echo "$VG_SKIP" | sed -n "s/^$name://p")
    if [ -n "$why" ]; then
        echo "ok $n # SKIP $name: $why"
        echo ":test-result: SKIP" >>"$trs"
        continue
    fi
    start=$(date +%s)
    KZ_VG_TEST=${name%.sh} KIZUNAD="$VG_DIR/kizunad" KZ_TIME_SCALE="${KZ_TIME_SCALE:-30}" \
        sh "$top_srcdir/tests/integration/$name" >"$VG_DIR/$name.log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    bad=""
    unfinished=""
    for log in "$VG_DIR"/logs/"${name%.sh}".*.log; do
        [ -f "$log" ] || continue
        summary=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
        if [ -z "$summary" ]; then
            unfinished="$unfinished ${log##*/}"
        elif [ "$summary" != 0 ]; then
            bad="$bad ${log##*/}"
        fi
    done
    nlogs=$(ls "$VG_DIR"/logs/"${name%.sh}".*.log 2>/dev/null | wc -l)
    if [ $rc -eq 0 ] && [ -z "$bad" ]; then
        echo "ok $n - $name under valgrind: $nlogs kizunad runs clean (${secs} s)"
        echo ":test-result: PASS" >>"$trs"
    else
        echo "not ok $n - $name under valgrind (exit $rc, ${secs} s)"
        [ $rc -ne 0 ] && grep '^not ok' "$VG_DIR/$name.log" | head -5 | sed 's/^/#   /'
        for log in $bad; do
            echo "#   $VG_DIR/logs/$log:"
            what='Invalid|Conditional|Use of|Syscall|Mismatched|Source|[ ]+(at|by) '
            what="$what|[0-9,]+ bytes in .* (definitely|indirectly) lost|ERROR SUMMARY"
            grep -E "^==[0-9]+== ($what)" "$VG_DIR/logs/$log" | head -25 | sed 's/^/#     /'
        done
        echo ":test-result: FAIL" >>"$trs"
        failed=$((failed + 1))
    fi
    [ -n "$unfinished" ] && echo "# note: no valgrind summary (killed by the test):$unfinished"
done
echo "1..$n"
[ $failed -eq 0 ]
