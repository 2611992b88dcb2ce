#!/bin/sh
# Scale-out with Redis state (docs/STATE.md): kizunad processes in one Kafka consumer group
# over a topic of 6 partitions share one redis-server. One process reads chunk 1; two more
# join for chunk 2 (three in the group); one of them is killed with SIGKILL for chunk 3 (two
# left, its partitions move after the session time-out and are read again from their
# committed offsets); a fourth joins for chunk 4; the killed one comes back at the end (its
# partner spool holds the alerts it had decided but not yet delivered). The set of alert ids must equal that of
# one uninterrupted process over the same lines (a file, in-memory state): no alert missing,
# none decided twice (a repeat of a decided alert carries the same id: at-least-once).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/redis-lib.sh"
[ -x "$TOOL" ] || skip_all "tests/kafka-tool not built"

python3 "$STREAM" gen "$T/s" --chunks 4 --lines 4000 --partitions 6 --lateness 20 --seed 11
ok $? "stream generated (4 chunks, 6 partitions)"
# An absence rule too: its deadlines fire from the clock the processes share through Redis.
cat >>"$T/rules.yml" <<'YAML'
---
id: ssh-quiet
title: a failing address went quiet
level: low
correlation: {type: absence, rules: [ssh-failed-password], group-by: [source.ip],
              timespan: 30s}
YAML
reference; ok $? "single-process reference: $(wc -l <"$T/ref.ids") alerts"
# The shared clock ends at the last chunk's end minus the lateness, while one process at
# the end of a file goes to its last event: compared below.
CLOCK=$(cat "$T/s/clock4")
quiet_fired() { # every absence alert of the reference up to the clock was raised
    python3 - "$T" "$CLOCK" <<'PY'
import json, sys, glob
T, clock = sys.argv[1], sys.argv[2]
def quiet(paths):
    s = set()
    for p in paths:
        for l in open(p):
            try:
                a = json.loads(l)
            except ValueError:
                continue
            if a["rule"]["id"] == "ssh-quiet" and a["@timestamp"] <= clock:
                s.add(a["kizuna"]["alert_id"])
    return s
want = quiet([T + "/ref.ndjson"])
got = quiet(glob.glob(T + "/[abcd].ndjson"))
sys.exit(0 if want <= got else 1)
PY
}
redis_start; ok $? "redis-server on port $REDIS_PORT"
mock_start 6 logs; ok $? "Kafka mock cluster at $BROKERS"
# Revoked partitions stop holding a process's clock after idle_source.
conf() { kz_conf "$1" "$2"; sed -i "s/^time: { allowed_lateness: \([0-9]*s\) }/time: { allowed_lateness: \1, idle_source: 2s }/" "$T/$1.yaml"; }

MA=$(free_port); conf a "$MA"
produce_chunk 1; ok $? "chunk 1 produced"
start_kizunad a -c "$T/a.yaml"; PA=$KZ_PID
wait_for 90 lag_is 1 "$MA"; ok $? "one process: chunk 1 read"

MB=$(free_port); conf b "$MB"
MC=$(free_port); conf c "$MC"
start_kizunad b -c "$T/b.yaml"; PB=$KZ_PID
start_kizunad c -c "$T/c.yaml"; PC=$KZ_PID
wait_for 120 owners_are 6 "$MA" "$MB" "$MC"; ok $? "two more processes joined: 6 partitions over 3"
produce_chunk 2; ok $? "chunk 2 produced"
wait_for 120 lag_is 2 "$MA" "$MB" "$MC"; ok $? "three processes: chunk 2 read"

kill -9 "$PB"; wait "$PB" 2>/dev/null
produce_chunk 3; ok $? "one process killed with SIGKILL; chunk 3 produced"
wait_for 120 owners_are 6 "$MA" "$MC"; ok $? "its partitions moved to the two others"
wait_for 120 lag_is 3 "$MA" "$MC"; ok $? "two processes: chunk 3 read"

MD=$(free_port); conf d "$MD"
start_kizunad d -c "$T/d.yaml"; PD=$KZ_PID
wait_for 120 owners_are 6 "$MA" "$MC" "$MD"; ok $? "a fourth process joined: 6 partitions over 3"
produce_chunk 4; ok $? "chunk 4 produced"
wait_for 120 lag_is 4 "$MA" "$MC" "$MD"; ok $? "three processes: chunk 4 read"
wait_for 60 quiet_fired; ok $? "absence deadlines up to the shared clock fired (timer rounds)"

# The killed process comes back (same state_dir): the alerts it had spooled are delivered.
start_kizunad b2 -c "$T/b.yaml"; PB=$KZ_PID
wait_for 120 owners_are 6 "$MA" "$MB" "$MC" "$MD"; ok $? "the killed process is back: 6 partitions over 4"
for p in $PA $PC $PD $PB; do kill -TERM "$p"; done
for p in $PA $PC $PD $PB; do wait_exit "$p" 60; is "$EXIT_STATUS" 0 "process $p stopped (SIGTERM)"; done

# Expected: the reference's alerts, but an absence deadline after the shared clock only
# when a later event of its group fired it (a timer fires before any event at or after
# its deadline: exact, like one process; the others wait for more data).
python3 - "$T" "$CLOCK" >"$T/want.ids" <<'PY'
import json, re, sys, collections
T, clock = sys.argv[1], sys.argv[2]
seen = collections.defaultdict(list)
for l in open(T + "/s/all.log"):
    m = re.match(r"(\S+) .*Failed password for \S+ from (\S+) ", l)
    if m:
        seen[m.group(2)].append(m.group(1))
for l in open(T + "/ref.ndjson"):
    a = json.loads(l)
    if a["rule"]["id"] == "ssh-quiet" and a["@timestamp"] > clock:
        if not any(t >= a["@timestamp"] for t in seen[a["source"]["ip"]]):
            continue
    print(a["kizuna"]["alert_id"])
PY
sort -o "$T/want.ids" "$T/want.ids"
python3 "$STREAM" ids "$T/a.ndjson" "$T/b.ndjson" "$T/c.ndjson" "$T/d.ndjson" >"$T/got.ids"
diff "$T/want.ids" "$T/got.ids" >"$T/ids.diff"
ok $? "alert ids of the group equal the single process's ($(wc -l <"$T/got.ids") alerts)"
[ -s "$T/ids.diff" ] && head -5 "$T/ids.diff" | sed 's/^/# /'
for n in a b c d; do
    [ -f "$T/$n.ndjson" ] && echo "# process $n: $(wc -l <"$T/$n.ndjson") alert lines"
done
late=$(cat "$T/a.log" "$T/c.log" "$T/d.log" | sed -n 's/.*totals: records=.* late=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
echo "# late events (re-read after a hand-over, already applied by the previous owner): $late"
exec 9>&-
done_testing
