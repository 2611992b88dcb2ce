#!/bin/sh
# Bad input loses nothing: undecodable and oversized events go to the dead-letter file with
# the reason and their source (file:line), and the good events around them still alert.
. "$top_srcdir/tests/integration/lib.sh"

cat >"$T/rules.yaml" <<YAML
id: login-failed
title: Login failed
level: medium
detection:
  sel:
    event.action: login_failed
  condition: sel
YAML
cat >"$T/kizunad.yaml" <<YAML
inputs:
  - type: file
    path: $T/events.ndjson
    format: json
rules: [$T/rules.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/alerts.ndjson
dead_letter: { path: $T/dead.ndjson }
limits: { max_event_bytes: 200 }
YAML
long=$(python3 -c 'print("x" * 300)')
cat >"$T/events.ndjson" <<EOF2
{"@timestamp":"2026-11-27T10:00:00Z","event":{"action":"login_failed"},"user":{"name":"alice"}}
{"@timestamp":"2026-11-27T10:00:01Z","event":{"action":"login_failed"
{"@timestamp":"2026-11-27T10:00:02Z","message":"$long"}
not json at all
{"@timestamp":"2026-11-27T10:00:03Z","event":{"action":"login_failed"},"user":{"name":"bob"}}
EOF2
"$KIZUNAD" -c "$T/kizunad.yaml" 2>"$T/run.log"
is "$?" 0 "replay exits 0"
is "$(json_field "$T/alerts.ndjson" user.name | tr '\n' ' ')" "alice bob " "good events on both sides of bad ones alert"
is "$(line_count "$T/dead.ndjson")" 3 "three events dead-lettered"
python3 - "$T/dead.ndjson" "$T/events.ndjson" <<'PY'
import json, sys
raw = open(sys.argv[2]).read().split("\n")
recs = [json.loads(l) for l in open(sys.argv[1])]
lines = [r["source"]["line"] for r in recs]
assert lines == [2, 3, 4], lines
for r in recs:
    assert r["source"]["name"].endswith("events.ndjson"), r
    assert r["event.original"] == raw[r["source"]["line"] - 1], r
    assert r["reason"], r
assert "max_event_bytes" in recs[1]["reason"], recs[1]["reason"]
PY
ok $? "dead letters carry the reason, file:line and the exact raw line"
grep -q 'dead_lettered=3' "$T/run.log"; ok $? "dead-lettered events are counted"
done_testing
