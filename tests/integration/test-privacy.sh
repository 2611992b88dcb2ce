#!/bin/sh
# Privacy profiles end to end with the real daemon (docs/PRIVACY.md): the crowdsec sample
# logs are replayed to file partners in every format under a strict profile; no raw IP
# address or user name of the input reaches any partner; the audit log has one line per
# delivery and none for alerts not sent; --reveal maps pseudonyms back; bad key files are
# refused; a key rotated by SIGHUP changes the pseudonyms, a bad one is refused.
. "$top_srcdir/tests/integration/lib.sh"

D="$top_srcdir/tests/data/crowdsec"
FORMATS="json stix21 misp idmef iodef cef ocsf syslog"
mkdir -p "$T/keys"
openssl rand -hex 32 >"$T/keys/strict.key" 2>/dev/null ||
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$T/keys/strict.key"
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$T/keys/ip.key"
chmod 600 "$T/keys/strict.key" "$T/keys/ip.key"

# profiles KEYDIR: the strict profile of the issue, and a truncating one.
profiles() {
    cat <<YAML
audit: { path: $T/audit.ndjson }
reveal_map: $T/reveal.ndjson
privacy_profiles:
  strict:
    keep: [rule.*, event.severity, "@timestamp", source.ip, destination.port]
    pseudonymize: { fields: [user.name, host.name], key_file: $1/strict.key }
    ip: { fields: [source.ip, destination.ip], method: prefix_preserving,
          key_file: $1/ip.key, truncate_v4: 24, truncate_v6: 48 }
    redact_text: [email, ipv4, ipv6, user]
    time_granularity: 1m
  coarse:
    pseudonymize: { fields: [user.name, host.name], key_file: $1/strict.key }
    ip: { fields: [source.ip], method: truncate, truncate_v4: 16 }
    drop: [event.original, message, log.*, process.*]
YAML
}

{
    echo "state_dir: $T/state"
    echo "inputs:"
    for f in "$D"/*.log; do
        printf '  - { type: file, path: %s, format: syslog }\n' "$f"
    done
    echo "rules: [$top_srcdir/conf/rules/*.yaml]"
    profiles "$T/keys"
    echo "outputs:"
    echo "  - { name: local, plugin: json, path: $T/local.ndjson }"
    echo "partners:"
    for fmt in $FORMATS; do
        printf '  - name: jp-%s\n    format: %s\n    privacy: strict\n    tlp: amber\n' "$fmt" "$fmt"
        printf '    deliver: { type: file, path: %s/jp-%s.out }\n' "$T" "$fmt"
    done
    printf '  - name: coarse\n    format: json\n    privacy: coarse\n    tlp: amber\n'
    printf '    deliver: { type: file, path: %s/coarse.out }\n' "$T"
    printf '  - name: green-only\n    format: json\n    privacy: strict\n    tlp: green\n'
    printf '    deliver: { type: file, path: %s/green.out }\n' "$T"
    printf '  - name: critical-only\n    format: json\n    privacy: strict\n    tlp: red\n'
    printf '    filter: { min_level: critical }\n'
    printf '    deliver: { type: file, path: %s/critical.out }\n' "$T"
} >"$T/kizunad.yaml"

"$KIZUNAD" -c "$T/kizunad.yaml" --check-config >"$T/check.out" 2>&1
ok $? "the config with privacy profiles, audit and reveal map passes --check-config"
"$KIZUNAD" -c "$T/kizunad.yaml" 2>"$T/run.log"
is "$?" 0 "replay of the crowdsec logs to 11 partners exits 0"
n_alerts=$(line_count "$T/local.ndjson")
[ "$n_alerts" -ge 20 ]; ok $? "the replay raised alerts ($n_alerts)"

# The personal data of the input: every IPv4 address, user names after the usual sshd
# phrases, and the host names of the syslog headers that look like names of machines.
cat "$D"/*.log | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' | sort -u >"$T/raw.ips"
cat "$D"/*.log | grep -oE '([Ii]nvalid user|password for|authenticating user|for user|user=) [^ ]+|user=[^ ]+' |
    sed -E 's/^.*[ =]//' | grep -vx 'invalid' | grep . | sort -u >"$T/raw.users"
printf '%s\n' sd-126005 ip-172-31-43-28 ip-172-31-20-90 scw-d95986 instance-20240401-2335 >"$T/raw.hosts"
[ "$(line_count "$T/raw.ips")" -ge 20 ] && [ "$(line_count "$T/raw.users")" -ge 12 ]
ok $? "input holds $(line_count "$T/raw.ips") addresses and $(line_count "$T/raw.users") user names ($(tr '\n' ' ' <"$T/raw.users"))"

# The local output (no profile) shows them: the check below can fail.
found=0
while read -r v; do grep -qiF -- "$v" "$T/local.ndjson" && found=$((found + 1)); done <"$T/raw.users"
[ "$found" -ge 10 ]; ok $? "control: the local output without a profile shows $found raw user names"

for fmt in $FORMATS; do
    out="$T/jp-$fmt.out"
    leaks=""
    # Addresses: as a whole token (a cryptopan output may contain another address's digits).
    while read -r ip; do
        grep -qE -- "(^|[^0-9.])$(echo "$ip" | sed 's/\./\\./g')([^0-9]|\.[^0-9]|$)" "$out" &&
            leaks="$leaks $ip"
    done <"$T/raw.ips"
    # Names: anywhere, in any case (also inside longer words), unless it is a word that
    # the format itself uses (checked on a file with no personal data in it).
    while read -r u; do
        grep -qiF -- "$u" "$out" && leaks="$leaks $u"
    done <"$T/raw.users"
    while read -r h; do
        grep -qiF -- "$h" "$out" && leaks="$leaks $h"
    done <"$T/raw.hosts"
    is "$(line_count "$out")" "$n_alerts" "$fmt: every alert delivered"
    is "$leaks" "" "$fmt: no raw address, user name or host name in the delivered bytes"
done
grep -q '"source":{"ip":"[0-9.]*"' "$T/jp-json.out" && grep -q '"user":{"name":"pseu:[0-9a-f]\{32\}"}' "$T/jp-json.out"
ok $? "json: source.ip is an address, user.name a pseudonym"
grep -q 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421' "$T/jp-stix21.out" &&
    grep -q '"tlp":"amber"' "$T/jp-json.out" && grep -q 'cs5=amber cs5Label=tlp' "$T/jp-cef.out" &&
    grep -q 'restriction="amber"' "$T/jp-iodef.out" && grep -q '"name":"tlp:amber"' "$T/jp-misp.out"
ok $? "TLP:AMBER marked (STIX marking, JSON, CEF, IODEF restriction, MISP tag)"
is "$(line_count "$T/green.out")" 0 "a partner cleared for TLP:GREEN gets no TLP:AMBER alert"
is "$(line_count "$T/critical.out")" 0 "a partner filtering for critical alerts gets none"
grep -q '"source":{"ip":"[0-9]*\.[0-9]*\.0\.0"}' "$T/coarse.out" && ! grep -q '"message"' "$T/coarse.out"
ok $? "coarse profile: /16 truncation, text dropped"

# Audit: one line per delivery, matching the delivered records; none for the rest.
A="$T/audit.ndjson"
for fmt in $FORMATS; do
    is "$(grep -c "\"partner\":\"jp-$fmt\",.*\"result\":\"spooled\"" "$A")" "$n_alerts" "audit: jp-$fmt: one spooled line per delivered alert"
done
is "$(grep -c '"partner":"local",.*"result":"written"' "$A")" "$n_alerts" "audit: local output: one written line per alert"
is "$(grep -c '"partner":"green-only"\|"partner":"critical-only"' "$A")" 0 "audit: no line for alerts withheld (TLP) or filtered"
is "$(line_count "$A")" $((n_alerts * 10)) "audit: nothing else"
python3 - "$A" "$T/jp-json.out" "$T/local.ndjson" "$T/raw.users" "$T/raw.ips" <<'PY'
import json, sys
audit = [json.loads(l) for l in open(sys.argv[1])]
shared = [json.loads(l)["kizuna"]["alert_id"] for l in open(sys.argv[2])]
local = [json.loads(l)["kizuna"]["alert_id"] for l in open(sys.argv[3])]
jp = [a for a in audit if a["partner"] == "jp-json"]
assert sorted(a["shared_id"] for a in jp) == sorted(shared), "shared ids differ"
assert sorted(a["alert_id"] for a in jp) == sorted(local), "local ids differ"
assert not set(shared) & set(local), "a local id was shared"
for a in jp:
    assert a["profile"] == "strict" and len(a["profile_hash"]) == 32 and len(a["key_id"]) == 16, a
    assert "user.name" in a["transformed"] or "user.name" not in a["dropped"], a
    assert a["transformed"].get("source.ip") in (None, "ip-prefix-preserving"), a
raw = {l.strip() for l in open(sys.argv[4])} | {l.strip() for l in open(sys.argv[5])}
text = open(sys.argv[1]).read()
leaked = sorted(v for v in raw if '"%s"' % v in text)
assert not leaked, leaked
PY
ok $? "audit: shared ids are exactly what jp-json received, local ids exactly the alerts; no values"

# --reveal: the pseudonym of an alert's user name, and its address, map back.
python3 - "$A" "$T/jp-json.out" "$T/local.ndjson" >"$T/pairs" <<'PY'
import json, sys
audit = {a["shared_id"]: a["alert_id"] for a in map(json.loads, open(sys.argv[1])) if a["partner"] == "jp-json"}
local = {}
for l in open(sys.argv[3]):
    o = json.loads(l)
    local[o["kizuna"]["alert_id"]] = o
for l in open(sys.argv[2]):
    o = json.loads(l)
    raw = local[audit[o["kizuna"]["alert_id"]]]
    if "user" in o and "user" in raw:
        print(o["user"]["name"], raw["user"]["name"])
        print(o["source"]["ip"], raw["source"]["ip"])
        break
PY
set -- $(sed -n 1p "$T/pairs")
pseu=${1:-none} want_user=${2:-none}
is "$("$KIZUNAD" -c "$T/kizunad.yaml" --reveal "$pseu" 2>/dev/null)" "$want_user" "--reveal $pseu: the user name it stands for"
set -- $(sed -n 2p "$T/pairs")
is "$("$KIZUNAD" -c "$T/kizunad.yaml" --reveal "${1:-none}" 2>/dev/null)" "${2:-none}" "--reveal of a prefix-preserved address: the original"
"$KIZUNAD" -c "$T/kizunad.yaml" --reveal pseu:00000000000000000000000000000000 >/dev/null 2>&1
is "$?" 1 "--reveal of an unknown pseudonym exits 1"
is "$(stat -c %a "$T/reveal.ndjson")" 600 "the reveal map is mode 0600"

# Key files that are refused, each with a clear message.
check_key() { # check_key NAME CONTENT MODE EXPECTED-MESSAGE
    mkdir -p "$T/k-$1"
    printf '%s\n' "$2" >"$T/k-$1/strict.key"
    cp "$T/keys/ip.key" "$T/k-$1/ip.key"
    chmod "$3" "$T/k-$1/strict.key"
    { sed -n '/^state_dir/,/^rules/p' "$T/kizunad.yaml"; profiles "$T/k-$1"; } >"$T/k-$1.yaml"
    "$KIZUNAD" -c "$T/k-$1.yaml" --check-config >"$T/k-$1.out" 2>&1
    st=$?
    [ "$st" -eq 1 ] && grep -q -- "$4" "$T/k-$1.out"
    ok $? "key file $1 refused: $(grep -o "key file.*" "$T/k-$1.out" | head -1)"
}
check_key short 00112233445566778899aabbccddeeff 600 'too short: 16 bytes of key, at least 32'
check_key nothex "$(printf 'zz%.0s' $(seq 32))" 600 'not hex: unexpected character at line 1, column 1'
check_key group "$(cat "$T/keys/strict.key")" 640 'has mode 0640: group and others must not read or write it'

# Rotation: a running daemon follows a log; SIGHUP re-reads the keys.
mkdir -p "$T/rot"
cp "$T/keys/strict.key" "$T/keys/ip.key" "$T/rot/"
: >"$T/follow.log"
{
    echo "state_dir: $T/rot-state"
    echo "inputs: [{ type: file, path: $T/follow.log, follow: true, poll_interval: 50ms, format: syslog }]"
    echo "rules: [$top_srcdir/conf/rules/*.yaml]"
    profiles "$T/rot" | sed "s#$T/audit.ndjson#$T/rot-audit.ndjson#"
    echo "partners:"
    printf '  - name: jp\n    format: json\n    privacy: strict\n    tlp: amber\n'
    printf '    deliver: { type: file, path: %s/rot.out }\n' "$T"
} >"$T/rot.yaml"
start_kizunad rot -c "$T/rot.yaml"
line() { echo "Feb 12 14:1$1:00 sd-126005 sshd[1600$1]: Invalid user pascal from 35.188.49.176 port 5350$1" >>"$T/follow.log"; }
user_of() { sed -n "${1}p" "$T/rot.out" | grep -o '"user":{"name":"[^"]*"' | cut -d'"' -f6; }
line 1
wait_for 20 at_least_lines "$T/rot.out" 1; ok $? "following daemon delivered the first alert"
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$T/rot/strict.key"
kill -HUP "$KZ_PID"
wait_for 20 file_has "$T/rot.log" "reload done"; ok $? "SIGHUP reload done"
line 2
wait_for 20 at_least_lines "$T/rot.out" 2; ok $? "second alert delivered after the rotation"
chmod 644 "$T/rot/strict.key"
kill -HUP "$KZ_PID"
wait_for 20 file_has "$T/rot.log" "reload refused"; ok $? "SIGHUP with a world-readable key: reload refused"
grep -q "key file .*strict.key\" has mode 0644" "$T/rot.log"; ok $? "the refusal names the key file and its mode"
line 3
wait_for 20 at_least_lines "$T/rot.out" 3; ok $? "third alert delivered with the previous key still active"
u1=$(user_of 1) u2=$(user_of 2) u3=$(user_of 3)
[ -n "$u1" ] && [ -n "$u2" ] && [ "$u1" != "$u2" ]; ok $? "the rotated key changed the pseudonym of the same user ($u1 -> $u2)"
is "$u3" "$u2" "a refused reload keeps the last good key"
kid=$(grep -o '"key_id":"[0-9a-f]*"' "$T/rot-audit.ndjson" | sort -u | wc -l | tr -d ' ')
is "$kid" 2 "the audit log shows the key id change"
is "$("$KIZUNAD" -c "$T/rot.yaml" --reveal "$u1" 2>/dev/null)/$("$KIZUNAD" -c "$T/rot.yaml" --reveal "$u2" 2>/dev/null)" \
    "pascal/pascal" "--reveal knows pseudonyms from before and after the rotation"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 20
is "$EXIT_STATUS" 0 "SIGTERM: clean exit"
done_testing
