#!/bin/sh
# Chaos: a partner goes down for a while. The loopback HTTP partner answers 500, hangs
# (reads the request, never answers), closes connections without answering, then answers
# 500 to everything while two batches are processed, and finally comes back. kizunad keeps
# consuming (the spool absorbs the outage), the other partner is not held up, and once the
# partner is back every alert reaches it: the ids it accepted equal the reference run's.
# A partner may see an id twice only when the outcome of a request was unknown (a reply lost
# to a time-out): such re-deliveries are reported; the alerts decided must be unique.
. "$top_srcdir/tests/chaos/lib-chaos.sh"

chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_sink_start; ok $? "loopback HTTP partner on port $SINK_PORT"
chaos_prepare 3000 4
chaos_conf run kz-chaos <<YAML
partners:
  - name: remote
    format: json
    tlp: red
    deliver: { type: http, url: "http://127.0.0.1:$SINK_PORT/alerts", timeout: 1s,
               retry: { initial: 100ms, max: 400ms }, drain_timeout: 10s }
  - name: local
    format: json
    tlp: red
    deliver: { type: file, path: $T/local.ndjson }
YAML
local_progress() { at_least_lines "$T/local.ndjson" "$(chaos_want "$1")"; }
sink_has() { [ "$(chaos_sink count)" -ge "$1" ]; }
remote_down() {
    chaos_scrape run && [ "$(chaos_metric kizuna_partner_up 'partner="remote"')" = 0 ] &&
        [ "$(chaos_metric kizuna_partner_spool_records 'partner="remote"')" -gt 0 ]
}

chaos_produce "$T/batch.1"; ok $? "batch 1 produced"
start_kizunad run -c "$T/run.yaml"
RUN=$KZ_PID
chaos_wait 60 sink_has "$(chaos_want 1)"; ok $? "partner up: batch 1's alerts delivered"

chaos_sink script 500 hang close 500 hang >/dev/null
chaos_sink default 500 >/dev/null
chaos_produce "$T/batch.2" && chaos_produce "$T/batch.3"; ok $? "batches 2 and 3 produced"
chaos_wait 60 local_progress 3; ok $? "the other partner gets batches 2 and 3 meanwhile"
chaos_wait 30 remote_down; ok $? "kizunad reports the partner down with alerts spooled"
before=$(chaos_sink count)
spooled=$(chaos_metric kizuna_partner_spool_records 'partner="remote"')
diag "partner accepted $before alerts before the outage; $spooled spooled, $(chaos_sink requests) requests so far"
chaos_sink release >/dev/null
chaos_sink default 200 >/dev/null
chaos_wait 60 sink_has "$(chaos_want 3)"; ok $? "partner back: the spooled alerts are delivered"

chaos_produce "$T/batch.4" && chaos_markers; ok $? "batch 4 and the end markers produced"
chaos_wait 60 chaos_has_end "$T/local.ndjson"; ok $? "the whole stream was processed"
total=$(line_count "$T/local.ndjson")
chaos_wait 60 sink_has "$total"; ok $? "the partner has as many alerts as the local file ($total)"
chaos_scrape run
diag "remote partner: failed $(chaos_metric kizuna_partner_failed_total 'partner="remote"')," \
    "retries $(chaos_metric kizuna_partner_retries_total 'partner="remote"')"
chaos_stop "$RUN" "kizunad exits 0 on SIGTERM"
chaos_sink_alerts "$T/remote.ndjson"

chaos_reference
chaos_compare "$T/remote.ndjson" "the partner that was down got every alert"
chaos_compare "$T/local.ndjson" "the other partner got every alert, once" \
    --no-dup detection,correlation
chaos_compare "$T/run.decided.ndjson" "decided alerts equal the reference, none twice" \
    --no-dup detection,correlation
echo quit >&8
diag "scenario took $(elapsed) s"
done_testing
