#!/bin/sh
# Chaos: the spool's disk fills up. kizunad runs under RLIMIT_FSIZE (prlimit), so spool
# appends fail with EFBIG as they would with ENOSPC:
#  1. 8 KiB: a segment holds a few records, then the next append fails; the spool starts a
#     new segment and the refused alert is submitted again, the inputs pausing meanwhile;
#  2. the limit drops to 512 bytes on the running process: no record fits any more (the disk
#     is full). The inputs must pause, and no record whose alerts are not spooled may be
#     acknowledged to Kafka;
#  3. kizunad is killed (SIGKILL) while the disk is full, and restarted without the limit:
#     every alert reaches the partner.
# Detection alerts must equal the reference run's; correlation alerts are reported only
# (the in-memory state store loses its windows with the process).
. "$top_srcdir/tests/chaos/lib-chaos.sh"
command -v prlimit >/dev/null || skip_all "prlimit (util-linux) not installed"

chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_sink_start; ok $? "loopback HTTP partner on port $SINK_PORT"
chaos_prepare 3000 3
partner_yaml() {
    cat <<YAML
partners:
  - name: remote
    format: json
    tlp: red
    deliver: { type: http, url: "http://127.0.0.1:$SINK_PORT/alerts", timeout: 2s,
               retry: { initial: 50ms, max: 200ms }, drain_timeout: 10s }
YAML
}
# The limited process writes no file but its spool: no out_json output, and its log goes
# through a pipe (RLIMIT_FSIZE applies to every file the process writes).
CHAOS_STATE_DIR=$T/state
CHAOS_NO_DECIDED=1
partner_yaml | chaos_conf limited kz-chaos
CHAOS_NO_DECIDED=0
partner_yaml | chaos_conf run kz-chaos
unset CHAOS_STATE_DIR
sink_has() { [ "$(chaos_sink count)" -ge "$1" ]; }
pending() { chaos_scrape limited && [ "$(chaos_metric kizuna_partner_pending 'partner="remote"')" -gt 0 ]; }

mkfifo "$T/limited.fifo"
cat "$T/limited.fifo" >"$T/limited.log" &
prlimit --fsize=8192 -- "$KIZUNAD" -c "$T/limited.yaml" >/dev/null 2>"$T/limited.fifo" &
KZ_PID=$!
KZ_PIDS="$KZ_PIDS $KZ_PID"
chaos_produce "$T/batch.1"; ok $? "batch 1 produced"
chaos_wait 60 sink_has "$(chaos_want 1)"
ok $? "8 KiB file size limit: batch 1's $(chaos_want 1) alerts reach the partner"
refusals=$(grep -c "spool refuses alerts" "$T/limited.log")
[ "$refusals" -ge 1 ]; ok $? "the spool refused alerts along the way (EFBIG) and took them again ($refusals times)"
diag "spool: $(ls "$T/state/spool/remote" | grep -c '\.seg$') segment files now"

prlimit --pid "$KZ_PID" --fsize=512; ok $? "file size limit down to 512 bytes on the running kizunad: no record fits"
chaos_produce "$T/batch.2"; ok $? "batch 2 produced"
chaos_wait 30 pending; ok $? "an alert waits in memory for the full spool"
chaos_scrape limited
records=$(chaos_metric kizuna_input_records_total)
delivered=$(chaos_sink count)
sleep 1 # the disk stays full for a second: offsets would be committed (every 200 ms) now
chaos_scrape limited
is "$(chaos_metric kizuna_input_records_total)" "$records" "the input is paused: no record read while the spool is full"
lag=$(chaos_metric kizuna_kafka_consumer_lag)
[ "$lag" -gt 0 ]; ok $? "batch 2 is not consumed ($lag records behind)"
is "$(chaos_sink count)" "$delivered" "nothing more reached the partner"
kill -KILL "$KZ_PID"
wait_exit "$KZ_PID" 10
is "$EXIT_STATUS" 137 "SIGKILL while the disk is full"

chaos_produce "$T/batch.3" && chaos_markers; ok $? "batch 3 and the end markers produced"
start_kizunad run -c "$T/run.yaml"
chaos_wait 60 chaos_has_end "$T/run.decided.ndjson"; ok $? "restarted without the limit: the whole stream processed"
chaos_stop "$KZ_PID" "kizunad exits 0 on SIGTERM (the partner drained)"
grep -h "recovered\|undelivered" "$T/run.log" | sed 's/^/# /'
chaos_sink_alerts "$T/remote.ndjson"

chaos_reference
chaos_compare "$T/remote.ndjson" "every detection alert reached the partner" --exact detection
echo quit >&8
diag "scenario took $(elapsed) s"
done_testing
