#!/bin/sh
# Chaos: the Kafka cluster misbehaves under a running kizunad. Three brokers (chaos-mock);
# mid-stream, every broker goes down and comes back; the partition leaders move to another
# broker while records flow; two brokers go down with the leaders and the group coordinator
# moved to the third; the leaders move back. Afterwards the alerts kizunad decided and
# delivered equal those of an undisturbed run over the same records: nothing lost, nothing
# extra, no alert decided or delivered twice (no restart: nothing may be processed twice).
. "$top_srcdir/tests/chaos/lib-chaos.sh"

chaos_mock_start 3; ok $? "mock cluster of 3 brokers at $BROKERS"
chaos_prepare 3000 6
chaos_conf run kz-chaos <<YAML
partners:
  - name: soc
    format: json
    tlp: red
    deliver: { type: file, path: $T/delivered.ndjson }
YAML
# Detection alerts reach the partner as their records are processed; correlation alerts
# come with the end markers (see lib-chaos.sh), so the partner's line count tracks progress.
progress() { at_least_lines "$T/delivered.ndjson" "$(chaos_want "$1")"; }
brokers_down() { chaos_scrape run && [ "$(chaos_metric kizuna_kafka_brokers_down)" = 1 ]; }
brokers_up() { chaos_scrape run && [ "$(chaos_metric kizuna_kafka_brokers_down)" = 0 ]; }

chaos_produce "$T/batch.1"; ok $? "batch 1 produced"
start_kizunad run -c "$T/run.yaml"
RUN=$KZ_PID
chaos_wait 60 progress 1; ok $? "batch 1 processed ($(chaos_want 1) detection alerts delivered)"

# 1. Every broker down while a batch is being produced; up again once kizunad noticed.
chaos_mock down all; ok $? "all brokers down"
chaos_produce "$T/batch.2" &
PRODUCER=$!
chaos_wait 30 brokers_down; ok $? "kizunad reports the brokers down (kizuna_kafka_brokers_down 1)"
chaos_mock up all; ok $? "all brokers up again"
wait "$PRODUCER"; ok $? "batch 2 produced across the outage"
chaos_wait 60 progress 2; ok $? "batch 2 processed after the outage"
chaos_wait 30 brokers_up; ok $? "kizunad reports the brokers reachable again"

# 2. Leader change while records flow: every partition to the next broker.
chaos_produce "$T/batch.3" &
PRODUCER=$!
chaos_mock leader "$CHAOS_TOPIC" 0 2 && chaos_mock leader "$CHAOS_TOPIC" 1 3 &&
    chaos_mock leader "$CHAOS_TOPIC" 2 1
ok $? "partition leaders moved (0->2, 1->3, 2->1) while batch 3 is produced"
wait "$PRODUCER"; ok $? "batch 3 produced"
chaos_wait 60 progress 3; ok $? "batch 3 processed by the new leaders"

# 3. Leaders and the group coordinator on broker 3, brokers 1 and 2 down.
chaos_mock leader-all "$CHAOS_TOPIC" 3 && chaos_mock coordinator group kz-chaos 3 &&
    chaos_mock down 1 && chaos_mock down 2
ok $? "leaders and coordinator moved to broker 3, brokers 1 and 2 down"
chaos_produce "$T/batch.4"; ok $? "batch 4 produced to broker 3 alone"
chaos_wait 60 progress 4; ok $? "batch 4 processed with two brokers down"
chaos_mock up 1 && chaos_mock up 2; ok $? "brokers 1 and 2 up again"

# 4. Leaders back, one partition at a time, during batch 5.
chaos_produce "$T/batch.5" &
PRODUCER=$!
chaos_mock leader "$CHAOS_TOPIC" 0 1 && chaos_mock leader "$CHAOS_TOPIC" 1 2 &&
    chaos_mock leader "$CHAOS_TOPIC" 2 3
ok $? "leaders moved back while batch 5 is produced"
wait "$PRODUCER"; ok $? "batch 5 produced"
chaos_wait 60 progress 5; ok $? "batch 5 processed"

chaos_produce "$T/batch.6" && chaos_markers; ok $? "batch 6 and the end markers produced"
chaos_wait 60 chaos_has_end "$T/delivered.ndjson"; ok $? "the whole stream was processed"
chaos_stop "$RUN" "kizunad exits 0 on SIGTERM after the disturbances"

chaos_reference
chaos_compare "$T/run.decided.ndjson" "decided alerts equal the reference, none decided twice" \
    --no-dup detection,correlation
chaos_compare "$T/delivered.ndjson" "delivered alerts equal the reference, none delivered twice" \
    --no-dup detection,correlation
diag "scenario took $(elapsed) s"
done_testing
