# Shared helpers of the chaos suite (sourced after tests/integration/lib.sh's variables are
# set by make check). Every scenario runs the real kizunad against a real mock Kafka cluster
# in its own process (tests/chaos/chaos-mock, several brokers, commands on stdin), feeds it
# the deterministic workload of tests/chaos/chaos-gen.py, disturbs it, and compares the
# alerts with an undisturbed reference run over the very same Kafka records
# (tests/chaos/chaos-compare.py). Waits are conditions with deadlines; the only fixed waits
# are the lengths of the disturbances themselves.
#
# Why the runs can be compared id by id: a detection alert's id comes from its record's
# position (topic/partition/offset), identical for every consumer of the topic; records are
# keyed by source address, so each address's events are in one partition, in order; and
# time.allowed_lateness is one day, longer than the whole workload, so no event is ever
# late and correlation sees the matches in (event time, position) order whatever the
# interleaving of partitions at arrival. The end marker (one record per partition, two days
# later) moves the clock past everything, which releases every waiting match.
. "$top_srcdir/tests/integration/lib.sh"

CHAOS_DIR="$top_srcdir/tests/chaos"
KTOOL="$top_builddir/tests/kafka-tool"
CMOCK="$top_builddir/tests/chaos/chaos-mock"
CHAOS_TOPIC=chaos
CHAOS_PARTITIONS=3
# The seed of the random choices of a scenario (kill points ...): CHAOS_SEED=N to replay.
CHAOS_SEED=${CHAOS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
[ -x "$KTOOL" ] || skip_all "tests/kafka-tool not built"
[ -x "$CMOCK" ] || skip_all "tests/chaos/chaos-mock not built"
command -v python3 >/dev/null || skip_all "python3 not installed"
command -v curl >/dev/null || skip_all "curl not installed"

diag() { echo "# $*"; }
# elapsed: seconds since the scenario started
CHAOS_T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - CHAOS_T0 )); }

# chaos_mock_start [BROKERS]: the mock cluster (default 3 brokers), topic $CHAOS_TOPIC with
# $CHAOS_PARTITIONS partitions replicated on every broker; sets BROKERS. It stops when the
# script exits (its stdin, fd 7, closes).
chaos_mock_start() {
    mkfifo "$T/mock.in"
    "$CMOCK" --brokers "${1:-3}" --topics "$CHAOS_TOPIC" --partitions "$CHAOS_PARTITIONS" \
        <"$T/mock.in" >"$T/mock.out" 2>"$T/mock.err" &
    KZ_PIDS="$KZ_PIDS $!"
    exec 7>"$T/mock.in"
    wait_for 20 file_has "$T/mock.out" "^bootstrap=" || return 1
    BROKERS=$(sed -n 's/^bootstrap=//p' "$T/mock.out" | head -1)
}
# chaos_mock CMD...: run a mock command, wait for its answer; status 0 when it says ok.
chaos_mock() {
    n=$(line_count "$T/mock.out")
    echo "$*" >&7
    wait_for 10 at_least_lines "$T/mock.out" $((n + 1)) || return 1
    ans=$(sed -n "$((n + 1))p" "$T/mock.out")
    [ "${ans#ok}" != "$ans" ] || { diag "mock: $* -> $ans"; return 1; }
}

# chaos_gen FIRST COUNT: workload records FIRST..FIRST+COUNT-1 ("KEY<TAB>LINE") on stdout.
chaos_gen() {
    python3 "$CHAOS_DIR/chaos-gen.py" --first "$1" --lines "$2"
}
# chaos_detections FILE: how many detection alerts the records of FILE raise.
chaos_detections() {
    grep -c -E 'Failed password for|sshd [0-9]+ - - Invalid user ' "$1"
}
# chaos_produce FILE: produce the keyed records of FILE; status 0 when all were delivered.
chaos_produce() {
    "$KTOOL" produce -b "$BROKERS" -t "$CHAOS_TOPIC" --key-lines --timeout 60 <"$1" \
        2>>"$T/produce.log"
}
# chaos_markers: the end-of-stream marker, one per partition (3 more detection alerts).
chaos_markers() {
    p=0
    while [ $p -lt $CHAOS_PARTITIONS ]; do
        echo "<38>1 2024-09-12T06:00:00.000Z gw chaos 1 - - CHAOS-END partition=$p" |
            tee -a "$T/markers.log" |
            "$KTOOL" produce -b "$BROKERS" -t "$CHAOS_TOPIC" --partition $p --timeout 60 \
                2>>"$T/produce.log" || return 1
        p=$((p + 1))
    done
}

# chaos_conf NAME GROUP: write $T/NAME.yaml, a kizunad consuming the chaos topic in consumer
# group GROUP, its decisions written by out_json to $T/NAME.decided.ndjson; YAML on stdin is
# appended (partners: ...). CHAOS_STATE_DIR overrides its state_dir ($T/NAME.state),
# CHAOS_NO_DECIDED=1 leaves the out_json output out.
chaos_conf() {
    cat >"$T/$1.yaml" <<YAML
state_dir: ${CHAOS_STATE_DIR:-$T/$1.state}
inputs:
  - type: kafka
    brokers: $BROKERS
    topics: [$CHAOS_TOPIC]
    group: $2
    format: syslog
    commit_interval: 200ms
    kafka: { fetch.wait.max.ms: "10", session.timeout.ms: "6000", heartbeat.interval.ms: "300" }
rules: [$CHAOS_DIR/rules.yaml]
time: { allowed_lateness: ${CHAOS_LATENESS:-1d} }
metrics: { listen: "127.0.0.1:0" }
YAML
    [ "${CHAOS_NO_DECIDED:-0}" = 1 ] || cat >>"$T/$1.yaml" <<YAML
outputs:
  - name: decided
    plugin: json
    path: $T/$1.decided.ndjson
YAML
    cat >>"$T/$1.yaml"
}

# chaos_port LOGNAME: the metrics port kizunad announced in $T/LOGNAME.log.
chaos_port() {
    sed -n 's/.*metrics: serving .* (port \([0-9]*\)).*/\1/p' "$T/$1.log" | head -1
}
# chaos_scrape LOGNAME: /metrics of that kizunad into $T/metrics.txt.
chaos_scrape() {
    curl -sf --max-time 5 "http://127.0.0.1:$(chaos_port "$1")/metrics" >"$T/metrics.txt"
}
# chaos_metric NAME [LABEL-REGEX]: sum of the samples of NAME in $T/metrics.txt.
chaos_metric() {
    grep -E "^$1(\{[^}]*${2:-}[^}]*\})? " "$T/metrics.txt" | awk '{s += $2} END {print s + 0}'
}
# chaos_count FILE RULE: alerts of RULE in a JSON-lines alert file.
chaos_count() {
    [ -f "$1" ] || { echo 0; return; }
    grep -c "\"id\":\"$2\"" "$1"
}
# chaos_has_end FILE: the file holds the 3 end markers' alerts (the whole stream was seen).
chaos_has_end() { [ "$(chaos_count "$1" chaos-end)" -ge $CHAOS_PARTITIONS ]; }

# chaos_stop PID WHAT: SIGTERM, then a test point that it exited 0 in time.
chaos_stop() {
    kill -TERM "$1" 2>/dev/null
    wait_exit "$1" 40
    is "$EXIT_STATUS" 0 "$2"
}

# chaos_reference: the undisturbed run: a fresh consumer group reads the whole topic (the
# markers included) into $T/ref.decided.ndjson. Its correlation alerts are checked against
# a replay of the same lines from one file (one source, in order: correlation ids do not
# depend on positions, detection ids do). Two test points.
chaos_reference() {
    chaos_conf ref chaos-ref </dev/null
    start_kizunad ref -c "$T/ref.yaml"
    chaos_wait 60 chaos_has_end "$T/ref.decided.ndjson"
    r=$?
    kill -TERM "$KZ_PID"
    wait_exit "$KZ_PID" 40
    [ $r -eq 0 ] && [ "$EXIT_STATUS" = 0 ]
    ok $? "undisturbed reference run over the same records: $(line_count "$T/ref.decided.ndjson") alerts"

    cat "$T"/batch.[0-9] "$T"/batch.[0-9][0-9] 2>/dev/null | cut -f2- >"$T/replay.log"
    cat "$T/markers.log" >>"$T/replay.log"
    cat >"$T/replay.yaml" <<YAML
inputs:
  - type: file
    path: $T/replay.log
    format: syslog
rules: [$CHAOS_DIR/rules.yaml]
time: { allowed_lateness: ${CHAOS_LATENESS:-1d} }
outputs:
  - name: decided
    plugin: json
    path: $T/replay.decided.ndjson
YAML
    "$KIZUNAD" -c "$T/replay.yaml" 2>"$T/replay.log.err" &&
        python3 "$CHAOS_DIR/chaos-compare.py" --ref "$T/replay.decided.ndjson" \
            --run "$T/ref.decided.ndjson" --only correlation --label reference \
            >"$T/compare.out" 2>&1
    ok $? "the reference's correlation alerts equal those of a replay from one file"
    cat "$T/compare.out"
}

# chaos_compare RUN WHAT [compare options]: one test point comparing RUN (alert file or
# id list) with the reference; the details go to TAP diagnostics.
chaos_compare() {
    run=$1 what=$2; shift 2
    python3 "$CHAOS_DIR/chaos-compare.py" --ref "$T/ref.decided.ndjson" --run "$run" \
        --label "$what" "$@" >"$T/compare.out" 2>&1
    r=$?
    ok $r "$what"
    cat "$T/compare.out"
}

# The loopback partner (tests/partner-sink.py), commands on fd 8; sets SINK_PORT.
chaos_sink_start() {
    mkfifo "$T/sink.in"
    python3 "$top_srcdir/tests/partner-sink.py" http <"$T/sink.in" >"$T/sink.out" \
        2>"$T/sink.err" &
    KZ_PIDS="$KZ_PIDS $!"
    exec 8>"$T/sink.in"
    wait_for 10 file_has "$T/sink.out" "^PORT " || return 1
    SINK_PORT=$(sed -n 's/^PORT //p' "$T/sink.out")
}
# chaos_sink CMD...: send a command, print its one-line answer.
chaos_sink() {
    n=$(line_count "$T/sink.out")
    echo "$*" >&8
    wait_for 30 at_least_lines "$T/sink.out" $((n + 1)) || return 1
    sed -n "$((n + 1))p" "$T/sink.out"
}

# chaos_prepare LINES BATCHES: the workload cut into batches $T/batch.1 ... (LINES/BATCHES
# records each); $T/batch.K.want holds the detection alerts of batches 1..K.
chaos_prepare() {
    size=$(($1 / $2)) k=1 sum=0
    while [ $k -le "$2" ]; do
        chaos_gen $(((k - 1) * size)) $size >"$T/batch.$k"
        sum=$((sum + $(chaos_detections "$T/batch.$k")))
        echo $sum >"$T/batch.$k.want"
        k=$((k + 1))
    done
}
# chaos_want K: detection alerts raised by batches 1..K.
chaos_want() { cat "$T/batch.$1.want"; }
# chaos_wait SECONDS CMD...: wait_for, but give up at once when the kizunad under test
# ($KZ_PID) is gone.
chaos_wait() {
    deadline=$(( $(date +%s) + $1 )); shift
    while ! "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ] || ! running "$KZ_PID"; then
            return 1
        fi
        sleep 0.05
    done
    return 0
}
# chaos_sink_alerts FILE: the alerts the loopback partner accepted (json format), one per
# line, in arrival order.
chaos_sink_alerts() {
    chaos_sink dump | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(r["body"].strip())' >"$1"
}
# chaos_distinct FILE: the number of distinct alert ids in a JSON-lines alert file (after a
# restart a file holds repeats, which must not count as progress).
chaos_distinct() {
    [ -f "$1" ] || { echo 0; return; }
    grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort -u | wc -l | tr -d ' '
}
