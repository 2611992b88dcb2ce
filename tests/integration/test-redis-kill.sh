#!/bin/sh
# Redis state survives kill -9 (docs/STATE.md). kizunad reads a Kafka topic (the mock
# cluster in its own process, so records and committed offsets outlive kizunad) with its
# correlation state in a private redis-server. It is killed with SIGKILL while the window of
# 198.51.100.7 holds 3 of the 5 failures it needs, with nothing committed (commit_interval
# 1h): the restarted kizunad reads everything again from the start. Every event already
# applied must be a no-op (else the window would count 3 twice and fire early), the window
# must fire exactly once, at its 5th event, and the alerts must be those of an uninterrupted
# run over the same lines (a file, in-memory state).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/redis-lib.sh"
[ -x "$TOOL" ] || skip_all "tests/kafka-tool not built"

python3 "$STREAM" gen "$T/s" --chunks 3 --lines 6000 --partitions 3 --lateness 20
ok $? "stream generated (3 chunks, 3 partitions)"
reference; ok $? "uninterrupted reference run: $(wc -l <"$T/ref.ids") alerts"
redis_start; ok $? "redis-server on port $REDIS_PORT"
mock_start 3 logs; ok $? "Kafka mock cluster at $BROKERS"

MP1=$(free_port)
COMMIT_INTERVAL=1h kz_conf kz1 "$MP1"
produce_chunk 1; ok $? "chunk 1 produced"
start_kizunad kz1 -c "$T/kz1.yaml"
P1=$KZ_PID
wait_for 90 lag_is 1 "$MP1"
ok $? "chunk 1 read; every released match acknowledged by Redis"
key=$(redis_cli --scan --pattern '{kzt:*}:g:*:198.51.100.7' | head -1)
test -n "$key"; ok $? "the window of 198.51.100.7 is open in Redis ($key)"
kill -9 "$P1"
wait "$P1" 2>/dev/null
ok 0 "kizunad killed with SIGKILL mid-window, no offset committed"

produce_chunk 2 && produce_chunk 3; ok $? "chunks 2 and 3 produced"
# The same instance again (its state_dir: the partner spool of the killed process drains),
# now committing normally.
kz_conf kz1 "$MP1"
start_kizunad kz2 -c "$T/kz1.yaml"
P2=$KZ_PID
wait_for 120 lag_is 3 "$MP1"
ok $? "restarted kizunad read everything again, from the first offset"
kill -TERM "$P2"
wait_exit "$P2" 60
is "$EXIT_STATUS" 0 "SIGTERM: the held matches are released, offsets committed, exit 0"

replays=$(sed -n 's/.*totals: state store redis:.* replays=\([0-9]*\).*/\1/p' "$T/kz2.log")
test "${replays:-0}" -gt 0; ok $? "the re-read events already applied were no-ops ($replays replays)"
late=$(sed -n 's/.*totals: records=.* late=\([0-9]*\).*/\1/p' "$T/kz2.log")
is "$late" 0 "no event was late (the lateness covers the partitions' interleaving)"

python3 - "$T" <<'PY'
import json, sys, re
T = sys.argv[1]
alerts = []
for f in ("kz1",):
    try:
        for l in open("%s/%s.ndjson" % (T, f)):
            try:
                alerts.append(json.loads(l))
            except ValueError:
                pass  # a line cut by SIGKILL
    except FileNotFoundError:
        pass
special = [a for a in alerts if a.get("source", {}).get("ip") == "198.51.100.7"]
fails = [l for l in open(T + "/s/all.log") if "from 198.51.100.7 " in l]
fifth = fails[4].split()[0]
assert len(special) == 1, "198.51.100.7 alerted %d times" % len(special)
a = special[0]
assert a["kizuna"]["count"] == 5, a["kizuna"]["count"]
assert a["@timestamp"] == fifth, (a["@timestamp"], fifth)
assert len(a["kizuna"]["evidence"]) == 5
PY
ok $? "198.51.100.7 alerted exactly once, at its 5th failure, over 5 events"

python3 "$STREAM" ids "$T/kz1.ndjson" >"$T/got.ids"
diff "$T/ref.ids" "$T/got.ids" >"$T/ids.diff"
ok $? "the alert ids equal the uninterrupted run's ($(wc -l <"$T/got.ids") alerts)"
[ -s "$T/ids.diff" ] && head -5 "$T/ids.diff" | sed 's/^/# /'
dups=$(wc -l <"$T/kz1.ndjson")
echo "# $dups alert lines for $(wc -l <"$T/got.ids") ids (a repeat carries the same id)"
exec 9>&-
done_testing
