#!/bin/sh
# Replay real sshd logs through stdin; check the alert file line by line against what an
# independent reading of the input expects; a second replay gives byte-identical alerts.
. "$top_srcdir/tests/integration/lib.sh"

cat >"$T/kizunad.yaml" <<YAML
inputs:
  - type: stdin
    format: syslog
rules: [$top_srcdir/conf/rules/ssh.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/alerts.ndjson
dead_letter: { path: $T/dead.ndjson }
YAML
cat "$top_srcdir"/tests/data/crowdsec/ssh-bf.log "$top_srcdir"/tests/data/crowdsec/ssh-slow-bf.log \
    "$top_srcdir"/tests/data/crowdsec/sshd-logs.log >"$T/input.log"

"$KIZUNAD" -c "$T/kizunad.yaml" <"$T/input.log" 2>"$T/run1.log"
is "$?" 0 "kizunad exits 0 at the end of stdin"

# Expected alerts, from the input with Python's re (independent of kizuna's rules engine).
python3 - "$T/input.log" >"$T/expected" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'^\S+\s+\d+ [\d:]+ \S+ (sshd|sshd-session)\[\d+\]: (.*)$', line.rstrip('\n'))
    if not m: continue
    msg = m.group(2)
    f = re.search(r'Failed password for (?:invalid user )?(\S+) from ([0-9a-fA-F:.]+)', msg)
    if f: print("ssh-failed-password", f.group(2), f.group(1)); continue
    i = re.match(r'Invalid user (\S*) from ([0-9a-fA-F:.]+)', msg)
    if i: print("ssh-invalid-user", i.group(2), i.group(1)); continue
    p = re.search(r'pam_unix\(sshd:auth\): authentication failure.*rhost=([0-9a-fA-F:.]+)', msg)
    if p and m.group(1) == "sshd": print("ssh-pam-auth-failure", p.group(1), "")
PY
python3 - "$T/alerts.ndjson" >"$T/got" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    print(a["rule"]["id"], a.get("source", {}).get("ip", ""), a.get("user", {}).get("name", ""))
PY
ok "$(diff "$T/expected" "$T/got" >/dev/null; echo $?)" "alerts match the input line by line ($(line_count "$T/expected") expected)"
[ "$(line_count "$T/expected")" -ge 20 ]; ok $? "the sample yields a meaningful number of alerts"

python3 - "$T/alerts.ndjson" <<'PY'
import json, sys
ids = set()
for l in open(sys.argv[1]):
    a = json.loads(l)
    assert a["@timestamp"].endswith("Z"), a
    assert a["rule"]["id"] and a["rule"]["name"], a
    assert a["event"]["severity"] in (0, 1, 2, 3, 4), a
    assert a["event"]["kind"] == "alert", a
    aid = a["kizuna"]["alert_id"]
    assert len(aid) == 32 and all(c in "0123456789abcdef" for c in aid), aid
    ids.add(aid)
    assert a["event"]["original"].endswith(a["message"]), a
n = sum(1 for _ in open(sys.argv[1]))
assert len(ids) == n, (len(ids), n)
PY
ok $? "every alert carries @timestamp, rule.id, rule.name, event.severity, a unique alert id and event.original"

mv "$T/alerts.ndjson" "$T/alerts1.ndjson"
"$KIZUNAD" -c "$T/kizunad.yaml" <"$T/input.log" 2>"$T/run2.log"
cmp -s "$T/alerts1.ndjson" "$T/alerts.ndjson"
ok $? "a second replay gives byte-identical alerts"

# The same logs with correlation, once read as fast as possible from files and once
# trickled through stdin in bursts: event time makes the alerts byte-identical.
cat >"$T/corr.yaml" <<YAML
inputs:
  - type: stdin
    format: syslog
rules: [$top_srcdir/conf/rules/*.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/corr-slow.ndjson
YAML
sed "s#$T/corr-slow.ndjson#$T/corr-fast.ndjson#" "$T/corr.yaml" >"$T/corr-fast.yaml"
python3 - "$T/bf.log" <<'PY'
import sys
# Three sources failing at different paces over ten minutes of log time.
lines = []
for i in range(600):
    for n, (ip, step) in enumerate((("198.51.100.7", 3), ("203.0.113.9", 11), ("192.0.2.44", 37))):
        t = i * step
        if t < 600:
            lines.append((t, n, "Nov 27 10:%02d:%02d gw sshd[%d]: Failed password for root from %s port 22 ssh2"
                          % (t // 60, t % 60, 100 + n, ip)))
lines.sort()
open(sys.argv[1], "w").write("".join(l + "\n" for _, _, l in lines))
PY
"$KIZUNAD" -c "$T/corr-fast.yaml" <"$T/bf.log" 2>"$T/fast.log"
python3 - "$T/bf.log" <<'PY' | "$KIZUNAD" -c "$T/corr.yaml" 2>"$T/slow.log"
import sys, time
lines = open(sys.argv[1]).read().splitlines(True)
for i in range(0, len(lines), 40):          # bursts of 40 lines, 20 ms apart
    sys.stdout.write("".join(lines[i:i + 40])); sys.stdout.flush(); time.sleep(0.02)
PY
n=$(json_field "$T/corr-fast.ndjson" rule.id | grep -c '^ssh-bruteforce$')
[ "$n" -ge 3 ]; ok $? "the brute-force correlation fires ($n alerts)"
cmp -s "$T/corr-fast.ndjson" "$T/corr-slow.ndjson"
ok $? "a replay at a different speed gives byte-identical alerts"

grep -q 'totals: records=' "$T/run1.log"
ok $? "counters are logged at shutdown"
is "$(line_count "$T/dead.ndjson")" 0 "nothing dead-lettered from well-formed syslog"
done_testing
