#!/bin/sh
# The Prometheus endpoint of a running daemon: counters per input, rule and partner match
# what was fed; /healthz and /readyz answer; a bad event shows as dead-lettered.
. "$top_srcdir/tests/integration/lib.sh"
command -v curl >/dev/null || skip_all "curl not installed"
PORT=$(free_port)
cat >"$T/kizunad.yaml" <<YAML
inputs:
  - type: file
    path: $T/in.log
    follow: true
    poll_interval: 20ms
    format: syslog
rules: [$top_srcdir/conf/rules/ssh.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/alerts.ndjson
metrics: { listen: "127.0.0.1:$PORT" }
limits: { max_event_bytes: 300 }
YAML
: >"$T/in.log"
start_kizunad kz -c "$T/kizunad.yaml"
scrape() { curl -s "http://127.0.0.1:$PORT/metrics" >"$T/metrics.txt"; }
metric() { # metric NAME LABELS: the value of one sample
    grep "^$1{$2} " "$T/metrics.txt" | awk '{print $2}'
}
wait_for 10 curl -sf "http://127.0.0.1:$PORT/readyz"; ok $? "/readyz answers 200 once running"
is "$(curl -s "http://127.0.0.1:$PORT/healthz")" "ok" "/healthz says ok"

head -6 "$top_srcdir/tests/data/crowdsec/ssh-bf.log" >>"$T/in.log"
python3 -c 'print("Nov 27 10:00:00 host app[1]: " + "x" * 400)' >>"$T/in.log"
wait_for 10 at_least_lines "$T/alerts.ndjson" 6; ok $? "alerts written"
input="$T/in.log"
counted() { scrape; [ "$(metric kizuna_input_records_total "input=\"$input\"")" = 7 ]; }
wait_for 10 counted; ok $? "kizuna_input_records_total counts the 7 records"
is "$(metric kizuna_input_dead_lettered_total "input=\"$input\"")" 1 "the oversized one is dead-lettered"
is "$(metric kizuna_rule_matches_total 'rule="ssh-invalid-user"')" 6 "per-rule matches"
is "$(metric kizuna_rule_alerts_total 'rule="ssh-invalid-user"')" 6 "per-rule alerts"
is "$(metric kizuna_partner_sent_total 'partner="soc",format="json"')" 6 "per-partner sent"
grep -q '^process_resident_memory_bytes [0-9]' "$T/metrics.txt"; ok $? "process metrics"
grep -q '^# TYPE kizuna_correlation_groups gauge' "$T/metrics.txt"; ok $? "correlation state is visible"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 10
is "$EXIT_STATUS" 0 "SIGTERM exits 0"
done_testing
