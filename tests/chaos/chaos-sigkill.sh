#!/bin/sh
# Chaos: kizunad killed with SIGKILL at three random moments while it consumes Kafka, and
# restarted each time with the same consumer group and spool. It must lose no alert: every
# record after the last committed offset is read again, every spooled record is delivered
# after the restart. What is processed twice shows up as repeated ids (reported).
#
# With the in-memory state store a SIGKILL loses the correlation state (windows, and the
# matches waiting for the watermark), so only the detection alerts can be compared
# exactly; correlation alerts are reported, not asserted. (With Redis state they would be
# exact too: see chaos-redis.sh.)
. "$top_srcdir/tests/chaos/lib-chaos.sh"

BATCHES=10
chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_prepare 3000 $BATCHES
chaos_conf run kz-chaos <<YAML
partners:
  - name: soc
    format: json
    tlp: red
    deliver: { type: file, path: $T/delivered.ndjson }
YAML
progress() { [ "$(chaos_distinct "$T/delivered.ndjson")" -ge "$(chaos_want "$1")" ]; }

# Three distinct batches, in order, and for each a delay after its production starts:
# the kill lands before, during or after the batch is processed, before or after the
# next offset commit (200 ms), spool fsync and output flush (1 s).
set -- $(python3 -c "
import random
r = random.Random($CHAOS_SEED)
for k in sorted(r.sample(range(2, $BATCHES), 3)):
    print(k, r.randrange(0, 1500))
")
diag "CHAOS_SEED=$CHAOS_SEED: kill points (batch, ms after its production started): $*"

n=1
start_kizunad run.$n -c "$T/run.yaml"
k=1
while [ $k -le $BATCHES ]; do
    chaos_produce "$T/batch.$k" &
    PRODUCER=$!
    if [ $# -gt 0 ] && [ "$1" = $k ]; then
        sleep "$(awk "BEGIN {print $2 / 1000}")" # the kill point itself, not a wait for work
        shift 2
        kill -KILL "$KZ_PID"
        wait_exit "$KZ_PID" 10
        is "$EXIT_STATUS" 137 "kill $n: SIGKILL during batch $k (after $(line_count "$T/delivered.ndjson") deliveries)"
        n=$((n + 1))
        start_kizunad run.$n -c "$T/run.yaml"
    fi
    wait "$PRODUCER" || diag "producing batch $k failed"
    chaos_wait 60 progress $k || break
    k=$((k + 1))
done
is "$k" $((BATCHES + 1)) "every batch was processed, each restart resuming from the committed offsets"
chaos_markers; ok $? "end markers produced"
chaos_wait 60 chaos_has_end "$T/delivered.ndjson"; ok $? "the last kizunad processed the whole stream"
chaos_stop "$KZ_PID" "the last kizunad exits 0 on SIGTERM"
grep -h "recovered\|redeliver\|corrupt" "$T"/run.*.log | sed 's/^/# /' | head -10

chaos_reference
chaos_compare "$T/delivered.ndjson" "delivered: no detection alert lost across 3 SIGKILLs" \
    --exact detection
chaos_compare "$T/run.decided.ndjson" "decided: no detection alert lost across 3 SIGKILLs" \
    --exact detection
diag "scenario took $(elapsed) s"
done_testing
