#!/bin/sh
# "Why did this (not) fire?": the live correlation state as JSON, at the end of a replay
# (--dump-state FILE) and from a running daemon (SIGUSR1).
. "$top_srcdir/tests/integration/lib.sh"
"$KIZUNAD" -c "$top_srcdir/conf/demo.yaml" --dump-state "$T/end.json" >"$T/alerts.ndjson" 2>"$T/run.log"
is "$?" 0 "demo replay with --dump-state exits 0"
python3 - "$T/end.json" "$T/alerts.ndjson" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = {x["rule"]: x for x in d["rules"]}["ssh-bruteforce"]
alerts = [json.loads(l) for l in open(sys.argv[2])]
n = sum(1 for a in alerts if a["rule"]["id"] == "ssh-bruteforce")
assert r["alerts"] == n >= 1, (r["alerts"], n)
assert r["type"] == "event_count" and r["condition"] == "gte 5", r
PY
ok $? "the dump names the rule, its condition, and counts the alerts it raised"

cat >"$T/kizunad.yaml" <<YAML
state_dir: $T
inputs:
  - type: file
    path: $T/in.log
    follow: true
    poll_interval: 20ms
    format: syslog
rules: [$top_srcdir/conf/rules/*.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/live.ndjson
time: { allowed_lateness: 0s }
YAML
: >"$T/in.log"
start_kizunad kz -c "$T/kizunad.yaml"
wait_for 10 file_has "$T/kz.log" "started"; ok $? "daemon started"
for i in 1 2 3; do
    echo "Nov 27 10:00:0$i host sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2" >>"$T/in.log"
done
wait_for 10 at_least_lines "$T/live.ndjson" 3; ok $? "three failures matched"
kill -USR1 "$KZ_PID"
wait_for 10 test -f "$T/state-dump.json"; ok $? "SIGUSR1 writes state_dir/state-dump.json"
python3 - "$T/state-dump.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = {x["rule"]: x for x in d["rules"]}["ssh-bruteforce"]
g = [s for s in r["state"] if "203.0.113.9" in json.dumps(s)]
assert len(g) == 1, r["state"]
assert "3" in json.dumps(g[0]), g
PY
ok $? "the live group of 203.0.113.9 is in the dump, below the threshold"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 10
is "$EXIT_STATUS" 0 "SIGTERM exits 0"
done_testing
