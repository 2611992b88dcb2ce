#!/bin/sh
# Kafka end to end against a real Kafka protocol endpoint: librdkafka's mock cluster in its
# own process (tests/kafka-tool mock), reached by kizunad as an ordinary broker. Every
# message is processed exactly once across a SIGTERM and a restart with the same group
# (committed offsets honoured); and the embedded cluster (brokers: embedded) can be fed.
. "$top_srcdir/tests/integration/lib.sh"
TOOL="$top_builddir/tests/kafka-tool"
[ -x "$TOOL" ] || skip_all "tests/kafka-tool not built"

# The mock cluster lives as long as this fifo stays open for writing.
mkfifo "$T/mock.in"
"$TOOL" mock --topics logs.auth --partitions 3 <"$T/mock.in" >"$T/mock.out" 2>"$T/mock.log" &
KZ_PIDS="$KZ_PIDS $!"
exec 9>"$T/mock.in"
wait_for 20 file_has "$T/mock.out" "bootstrap="; ok $? "mock cluster started"
BROKERS=$(sed -n 's/^bootstrap=//p' "$T/mock.out" | head -1)

cat >"$T/rules.yaml" <<YAML
id: hit
title: Test hit
level: low
detection:
  sel:
    message|re: 'HIT seq=(?<seq>[0-9]+)'
  condition: sel
fields: { seq: test.seq }
YAML
cat >"$T/kizunad.yaml" <<YAML
inputs:
  - type: kafka
    brokers: $BROKERS
    topics: [logs.auth]
    group: kz-test
    format: syslog
    commit_interval: 100ms
    kafka: { fetch.wait.max.ms: "10", session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
rules: [$T/rules.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/alerts.ndjson
time: { late_events: process }
YAML
gen() { # gen FIRST COUNT: syslog lines with sequence numbers
    i=$1; end=$(($1 + $2))
    while [ $i -lt $end ]; do echo "Nov 27 10:00:00 host app[1]: HIT seq=$i"; i=$((i + 1)); done
}
gen 0 300 >"$T/batch1"
"$TOOL" produce -b "$BROKERS" -t logs.auth <"$T/batch1"; ok $? "300 messages produced"

start_kizunad kz1 -c "$T/kizunad.yaml"
wait_for 60 at_least_lines "$T/alerts.ndjson" 300; ok $? "first run processed the first 300 messages"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 40
is "$EXIT_STATUS" 0 "SIGTERM: offsets committed, exit 0"

gen 300 200 >"$T/batch2"
"$TOOL" produce -b "$BROKERS" -t logs.auth <"$T/batch2"; ok $? "200 more produced while kizunad was down"
start_kizunad kz2 -c "$T/kizunad.yaml"
wait_for 60 at_least_lines "$T/alerts.ndjson" 500; ok $? "second run processed the rest"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 40
is "$EXIT_STATUS" 0 "second SIGTERM exits 0"

python3 - "$T/alerts.ndjson" <<'PY'
import json, sys, collections
seqs = collections.Counter()
srcs = set()
for l in open(sys.argv[1]):
    a = json.loads(l)
    seqs[int(a["test"]["seq"])] += 1
    srcs.add(a["kizuna"]["evidence"][0]["kizuna"]["source"].rsplit("/", 2)[1])
dups = [s for s, n in seqs.items() if n > 1]
missing = [s for s in range(500) if s not in seqs]
assert not dups, "duplicates: %s" % dups[:10]
assert not missing, "missing: %s" % missing[:10]
assert len(seqs) == 500, len(seqs)
assert srcs == {"0", "1", "2"}, srcs
PY
ok $? "every message processed exactly once across the restart, from all 3 partitions"

# Embedded: kizunad starts its own mock cluster and says where.
cat >"$T/embedded.yaml" <<YAML
inputs:
  - type: kafka
    brokers: embedded
    topics: [logs.auth]
    partitions: 2
    group: kz-emb
    format: syslog
    kafka: { fetch.wait.max.ms: "10" }
rules: [$T/rules.yaml]
outputs:
  - name: soc
    plugin: json
    path: $T/embedded.ndjson
YAML
start_kizunad emb -c "$T/embedded.yaml"
wait_for 20 file_has "$T/emb.log" "in memory only"; ok $? "embedded cluster announced, in memory only"
EMB=$(sed -n 's/.*embedded Kafka (librdkafka mock cluster) on \([0-9.]*:[0-9]*\).*/\1/p' "$T/emb.log" | head -1)
gen 1000 50 | "$TOOL" produce -b "$EMB" -t logs.auth; ok $? "produced to the embedded cluster at $EMB"
wait_for 60 at_least_lines "$T/embedded.ndjson" 50; ok $? "kizunad consumed them from its embedded cluster"
kill -TERM "$KZ_PID"
wait_exit "$KZ_PID" 40
is "$EXIT_STATUS" 0 "embedded: SIGTERM exits 0"
exec 9>&-
done_testing
