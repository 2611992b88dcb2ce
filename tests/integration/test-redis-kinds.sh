#!/bin/sh
# Every correlation type through Redis state gives the alerts of in-memory state
# (docs/STATE.md): event_count sliding and at close, value_count, value_sum, value_avg,
# temporal, temporal_ordered fed by a chained correlation, absence as a heartbeat and as
# "A not followed by B" (timers: fired by a later event of the group, or by a round up to
# the shared clock). The daemon replays tests/data/corr/sshd-small.log twice with Redis:
# the second run's operations are all repeats (no-ops), and its alerts carry ids of the
# first's.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/redis-lib.sh"

conf() { # conf NAME [STATE]
    cat >"$T/$1.yaml" <<YAML
inputs:
  - { type: file, path: $top_srcdir/tests/data/corr/sshd-small.log, format: syslog }
rules: [$top_srcdir/tests/data/redis/kinds.yml]
outputs:
  - { name: out, plugin: json, path: $T/$1.ndjson }
time: { allowed_lateness: 0s }
${2:-}
YAML
}
redis_start; ok $? "redis-server on port $REDIS_PORT"
conf mem
conf redis "state: { backend: redis, redis: { url: \"redis://127.0.0.1:$REDIS_PORT/0\", prefix: kinds } }"
"$KIZUNAD" -c "$T/mem.yaml" 2>"$T/mem.log"; ok $? "in-memory run"
"$KIZUNAD" -c "$T/redis.yaml" 2>"$T/redis.log"; ok $? "Redis run"
python3 - "$T/mem.ndjson" "$T/redis.ndjson" <<'PY'
import json, sys, collections
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
ia = {x["kizuna"]["alert_id"]: x["rule"]["id"] for x in a}
ib = {x["kizuna"]["alert_id"]: x["rule"]["id"] for x in b}
kinds = collections.Counter(ia.values())
print("# alerts per rule: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
assert len(kinds) == 9, kinds
assert ia == ib, (len(ia), len(ib), collections.Counter(v for k, v in ia.items() if k not in ib))
assert len(b) == len(ib), "an alert was delivered twice"
PY
ok $? "every alert id equal; 8 correlations and the detection rule alert"
rounds=$(sed -n 's/.*totals: state store redis:.* timer_rounds=\([0-9]*\).*/\1/p' "$T/redis.log")
test "${rounds:-0}" -ge 1; ok $? "timers were fired by rounds of the shared clock ($rounds)"

mv "$T/redis.ndjson" "$T/first.ndjson"
"$KIZUNAD" -c "$T/redis.yaml" 2>"$T/redis2.log"; ok $? "the same log again with the same Redis"
ops=$(sed -n 's/.*totals: state store redis:.* operations=\([0-9]*\).*/\1/p' "$T/redis2.log")
rep=$(sed -n 's/.*totals: state store redis:.* replays=\([0-9]*\).*/\1/p' "$T/redis2.log")
is "$rep" "$ops" "every operation of the replay was a repeat: no-op ($rep)"
python3 - "$T/first.ndjson" "$T/redis.ndjson" <<'PY'
import json, sys
first = {json.loads(l)["kizuna"]["alert_id"] for l in open(sys.argv[1])}
again = [json.loads(l)["kizuna"]["alert_id"] for l in open(sys.argv[2])]
assert again and set(again) <= first, set(again) - first
PY
ok $? "what the replay delivers again carries the first run's ids (no new decision)"
done_testing
