#!/bin/sh
# tests/kafka-tool, the Kafka helper of the integration tests: a mock cluster in its own
# process keeps records and committed group offsets across consumer restarts; produce
# round-robin and keyed; consume with a deadline; SIGUSR1/SIGUSR2 take the broker down/up;
# stdin EOF (pipe) and SIGTERM stop the cluster, a /dev/null stdin does not.
set -u
tool="${top_builddir:-.}/tests/kafka-tool"
T=$(mktemp -d "${TMPDIR:-/tmp}/kz-kafka-tool.XXXXXX") || exit 1
n=0
failed=0
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$failed" -eq 0 ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap cleanup EXIT
ok() { # ok STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
is() { # is GOT WANT DESCRIPTION
    n=$((n + 1))
    if [ "$1" = "$2" ]; then echo "ok $n - $3"
    else echo "not ok $n - $3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; failed=$((failed + 1)); fi
}
# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
    deadline=$(( $(date +%s) + $1 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}
has_bootstrap() { grep -q '^bootstrap=127\.0\.0\.1:[0-9]*$' "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
X="-X session.timeout.ms=6000 -X heartbeat.interval.ms=300"

echo "1..16"

# a cluster fed through a FIFO: closing our end stops it
mkfifo "$T/in"
"$tool" mock --topics logs,keyed --partitions 3 <"$T/in" >"$T/mock.out" 2>"$T/mock.err" &
mock=$!
pids="$pids $mock"
exec 3>"$T/in"
wait_for 10 has_bootstrap "$T/mock.out"
ok $? "mock prints bootstrap=127.0.0.1:PORT on its first line"
b=$(sed -n 's/^bootstrap=//p' "$T/mock.out")

seq 1 30 | sed 's/^/line-/' >"$T/first"
"$tool" produce -b "$b" -t logs <"$T/first" 2>"$T/produce.err"
ok $? "produce delivers 30 lines"

"$tool" consume -b "$b" -t logs -g g1 --count 30 --timeout 20 --meta $X >"$T/c1" 2>"$T/c1.err"
ok $? "consume gets 30 records"
is "$(cut -f3 "$T/c1" | sort | tr '\n' ' ')" "$(sort "$T/first" | tr '\n' ' ')" \
    "each line exactly once"
is "$(cut -f1 "$T/c1" | sort -u | tr '\n' ' ')" "0 1 2 " "round-robin over the 3 partitions"

printf 'new-1\nnew-2\n\nnew-3\n' | "$tool" produce -b "$b" -t logs 2>/dev/null
ok $? "produce again (an empty line is skipped)"
"$tool" consume -b "$b" -t logs -g g1 --count 3 --timeout 20 $X >"$T/c2" 2>"$T/c2.err"
ok $? "the same group consumes again"
is "$(sort "$T/c2" | tr '\n' ' ')" "new-1 new-2 new-3 " \
    "only the new records: the cluster process kept the committed offsets"

printf 'a\tone\nb\ttwo\na\tthree\nb\tfour\na\tfive\n' | "$tool" produce -b "$b" -t keyed --key-lines 2>/dev/null
ok $? "produce keyed lines"
"$tool" consume -b "$b" -t keyed -g g2 --count 5 --timeout 20 --meta $X >"$T/c3" 2>"$T/c3.err"
pa=$(grep -E '	(one|three|five)$' "$T/c3" | cut -f1 | sort -u | wc -l)
pb=$(grep -E '	(two|four)$' "$T/c3" | cut -f1 | sort -u | wc -l)
is "$pa $pb $(wc -l <"$T/c3" | tr -d ' ')" "1 1 5" "records with the same key share a partition"

kill -USR1 "$mock"
wait_for 5 grep -q "broker down" "$T/mock.err"
echo outage | "$tool" produce -b "$b" -t logs --timeout 2 2>/dev/null
ok $(( $? == 1 ? 0 : 1 )) "SIGUSR1: broker down, produce fails after its timeout"
kill -USR2 "$mock"
wait_for 5 grep -q "broker up" "$T/mock.err"
echo back | "$tool" produce -b "$b" -t logs --timeout 20 2>/dev/null
ok $? "SIGUSR2: broker up again, produce succeeds"

"$tool" consume -b "$b" -t logs -g g1 --count 1 --timeout 20 $X >"$T/c4" 2>/dev/null
is "$(cat "$T/c4")" "back" "nothing lost or repeated across the outage"

exec 3>&-
wait_for 10 gone "$mock"
ok $? "closing the mock's stdin stops it"

# a background job's stdin is /dev/null: that must not stop the cluster, SIGTERM does
"$tool" mock --topics x </dev/null >"$T/mock2.out" 2>"$T/mock2.err" &
mock2=$!
pids="$pids $mock2"
wait_for 10 has_bootstrap "$T/mock2.out"
kill -USR1 "$mock2"
wait_for 5 grep -q "broker down" "$T/mock2.err"
ok $? "with stdin on /dev/null the mock keeps running (and answers SIGUSR1)"
kill -TERM "$mock2"
wait_for 10 gone "$mock2"
ok $? "SIGTERM stops it"

[ "$failed" -eq 0 ]
