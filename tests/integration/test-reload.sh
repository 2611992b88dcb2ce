#!/bin/sh
# SIGHUP: a broken rule file is refused (logged with file:line) and the old rules keep
# working; a valid change is applied between two events; nothing read is lost.
. "$top_srcdir/tests/integration/lib.sh"

mkdir -p "$T/rules"
rule() { # rule ID WORD: a rule matching messages that contain WORD
    printf 'id: %s\ntitle: %s\nlevel: low\ndetection:\n  sel:\n    message|contains: %s\n  condition: sel\n' "$1" "$1" "$2"
}
rule alpha ALPHA >"$T/rules/a.yaml"
cat >"$T/kizunad.yaml" <<YAML
inputs:
  - type: file
    path: $T/in.log
    follow: true
    poll_interval: 20ms
    format: syslog
rules: [rules/*.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/alerts.ndjson
YAML
: >"$T/in.log"
emit() { echo "Nov 27 10:00:0$1 host app[1]: $2" >>"$T/in.log"; }
start_kizunad kz -c "$T/kizunad.yaml"
wait_for 10 file_has "$T/kz.log" "started"; ok $? "daemon started"

emit 1 "one ALPHA"
wait_for 10 at_least_lines "$T/alerts.ndjson" 1; ok $? "rule alpha alerts"

printf 'id: broken\ntitle: x\nlevel: low\ndetection:\n  sel:\n    message|re: "(unclosed"\n  condition: sel\n' >"$T/rules/b.yaml"
kill -HUP "$KZ_PID"
wait_for 10 file_has "$T/kz.log" "reload refused"; ok $? "reload with a broken rule is refused"
grep -q "$T/rules/b.yaml:6:" "$T/kz.log"; ok $? "the refusal names file and line"
emit 2 "two ALPHA"
wait_for 10 at_least_lines "$T/alerts.ndjson" 2; ok $? "the old rules keep working after the refused reload"

rm "$T/rules/b.yaml"
rule beta BETA >"$T/rules/a.yaml"
kill -HUP "$KZ_PID"
wait_for 10 file_has "$T/kz.log" "reload done"; ok $? "a valid reload is applied"
emit 3 "three ALPHA"
emit 4 "four BETA"
wait_for 10 at_least_lines "$T/alerts.ndjson" 3; ok $? "the new rule alerts"
is "$(json_field "$T/alerts.ndjson" rule.id | tr '\n' ' ')" "alpha alpha beta " "the removed rule no longer alerts"

kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 10
is "$EXIT_STATUS" 0 "SIGTERM exits 0"
grep -q 'records=4 ' "$T/kz.log"; ok $? "all four lines were read, none lost across reloads"
done_testing
