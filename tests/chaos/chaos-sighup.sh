#!/bin/sh
# Chaos: a burst of SIGHUPs while records flow. 50 reloads (config, rules, outputs rebuilt
# beside the running ones and swapped between two events) during the production of five
# batches. The rules do not change, so correlation state is kept across every swap: the
# alerts decided and delivered must be exactly those of the undisturbed run, none twice.
. "$top_srcdir/tests/chaos/lib-chaos.sh"

chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_prepare 3000 5
chaos_conf run kz-chaos <<YAML
partners:
  - name: soc
    format: json
    tlp: red
    deliver: { type: file, path: $T/delivered.ndjson }
YAML
progress() { at_least_lines "$T/delivered.ndjson" "$(chaos_want "$1")"; }
reloads() { grep -c "reload done" "$T/run.log"; }

start_kizunad run -c "$T/run.yaml"
RUN=$KZ_PID
chaos_wait 30 file_has "$T/run.log" "assigned 3 partition"; ok $? "kizunad joined the group"
sent=0 k=1
while [ $k -le 5 ]; do
    chaos_produce "$T/batch.$k" &
    PRODUCER=$!
    i=0
    while [ $i -lt 10 ]; do
        kill -HUP "$RUN" || break
        sent=$((sent + 1))
        sleep 0.0$(awk "BEGIN {srand($CHAOS_SEED + $sent); printf \"%d\", rand() * 5}") # spread the burst
        i=$((i + 1))
    done
    wait "$PRODUCER" || diag "producing batch $k failed"
    k=$((k + 1))
done
is "$sent" 50 "50 SIGHUPs sent while 5 batches were produced"
chaos_markers; ok $? "end markers produced"
chaos_wait 60 chaos_has_end "$T/delivered.ndjson"; ok $? "the whole stream was processed"
n=$(reloads)
[ "$n" -ge 10 ]; ok $? "kizunad reloaded $n times (signals sent close together may coalesce)"
grep -q "reload refused" "$T/run.log"; is $? 1 "no reload was refused"
chaos_stop "$RUN" "kizunad exits 0 on SIGTERM after the burst"

chaos_reference
chaos_compare "$T/run.decided.ndjson" "decided alerts equal the reference, none decided twice" \
    --no-dup detection,correlation
chaos_compare "$T/delivered.ndjson" "delivered alerts equal the reference, none delivered twice" \
    --no-dup detection,correlation
diag "scenario took $(elapsed) s"
done_testing
