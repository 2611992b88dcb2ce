#!/bin/sh
# Partners end to end with the real daemon: filters and TLP clearance decide who gets what;
# a partner that is down gets its alerts spooled on disk; the next kizunad run delivers
# them (STIX 2.1 over HTTP to a loopback endpoint), each alert id exactly once.
. "$top_srcdir/tests/integration/lib.sh"

mkfifo "$T/sink.in"
python3 "$top_srcdir/tests/partner-sink.py" http <"$T/sink.in" >"$T/sink.out" 2>"$T/sink.err" &
KZ_PIDS="$KZ_PIDS $!"
exec 8>"$T/sink.in"
wait_for 10 file_has "$T/sink.out" "^PORT "; ok $? "loopback partner endpoint up"
PORT=$(sed -n 's/^PORT //p' "$T/sink.out")
# sink CMD...: send a command, wait for its one-line answer, print it.
sink() {
    n=$(line_count "$T/sink.out")
    echo "$*" >&8
    wait_for 30 at_least_lines "$T/sink.out" $((n + 1)) || return 1
    sed -n "$((n + 1))p" "$T/sink.out"
}
sink default 500 >/dev/null

cat >"$T/kizunad.yaml" <<YAML
state_dir: $T/state
inputs:
  - type: file
    path: $top_srcdir/tests/data/crowdsec/ssh-bf.log
    format: syslog
  - type: file
    path: $top_srcdir/tests/data/crowdsec/ssh-slow-bf.log
    format: syslog
rules: [$top_srcdir/conf/rules/*.yaml]
outputs:
  - name: all
    plugin: json
    path: $T/all.ndjson
partners:
  - name: jp-partner
    format: stix21
    deliver: { type: http, url: "http://127.0.0.1:$PORT/collections/x/objects/", timeout: 2s,
               retry: { initial: 100ms, max: 200ms }, drain_timeout: 500ms }
    filter: { min_level: high, tags: [attack.*] }
    tlp: amber
  - name: lab
    format: cef
    deliver: { type: file, path: $T/lab.cef }
    filter: { rules: [ssh-invalid-*] }
    tlp: red
  - name: public
    format: json
    deliver: { type: file, path: $T/public.ndjson }
    tlp: green
YAML
"$KIZUNAD" -c "$T/kizunad.yaml" 2>"$T/run1.log"
is "$?" 0 "replay with a partner down exits 0"
python3 - "$T/all.ndjson" >"$T/expect.ids" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if a["rule"]["id"] == "ssh-bruteforce": print(a["kizuna"]["alert_id"])
PY
[ "$(line_count "$T/expect.ids")" -ge 1 ]; ok $? "the replay raised brute-force alerts ($(line_count "$T/expect.ids"))"
is "$(sink count)" 0 "nothing accepted while the partner answers 500"
is "$(line_count "$T/public.ndjson")" 0 "a partner cleared for TLP:GREEN gets no TLP:AMBER alert"
n_invalid=$(json_field "$T/all.ndjson" rule.id | grep -c '^ssh-invalid-user$')
is "$(line_count "$T/lab.cef")" "$n_invalid" "the rule filter passes exactly the ssh-invalid-* alerts"
grep -q '^CEF:0|' "$T/lab.cef"; ok $? "the lab partner gets CEF"
ls "$T/state/spool/jp-partner/" >/dev/null 2>&1; ok $? "the down partner's alerts are spooled on disk"

sink default 200 >/dev/null
cat >"$T/empty.yaml" <<YAML
state_dir: $T/state
inputs:
  - type: file
    path: /dev/null
rules: [$top_srcdir/conf/rules/*.yaml]
partners:
  - name: jp-partner
    format: stix21
    deliver: { type: http, url: "http://127.0.0.1:$PORT/collections/x/objects/", timeout: 2s,
               drain_timeout: 10s }
    tlp: amber
YAML
"$KIZUNAD" -c "$T/empty.yaml" 2>"$T/run2.log"
is "$?" 0 "the next run exits 0"
sink ids | tr ' ' '\n' | grep . >"$T/got.ids"
is "$(sort "$T/got.ids" | tr '\n' ' ')" "$(sort "$T/expect.ids" | tr '\n' ' ')" "every spooled alert delivered after the restart"
is "$(sort "$T/got.ids" | uniq -d | wc -l | tr -d ' ')" 0 "no alert id delivered twice"
sink last | python3 -c '
import json, sys
req = json.loads(sys.stdin.read())
body = json.loads(req["body"])
assert body["type"] == "bundle", body
types = {o["type"] for o in body["objects"]}
assert {"identity", "indicator", "sighting", "marking-definition"} <= types, types
'
ok $? "the partner received STIX 2.1 bundles with identity, indicator, sighting and TLP marking"
echo quit >&8
done_testing
